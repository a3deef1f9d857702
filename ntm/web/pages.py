"""The pages: choose the rules, fill or upload a dossier, read the appraisal, what-if, plan, batch, register.

Each handler reads the request, calls ntm.web.service through the engine executor, and renders a template.
Bad input re-renders the same form with everything the user typed and the CLI's message beside the field.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ntm.errors import EngineFailure, NtmInputError, Problem
from ntm.web import api, forms, service
from ntm.web.i18n import t as tr

router = APIRouter(include_in_schema=False)
LANG_COOKIE = "ntm_lang"

# printable formats: format -> (module, function, media type, file suffix) of the renderer in ntm.report
# (`function(outcome, lang) -> str | bytes`; for a batch `function(doc, lang)`). A format appears on the pages as
# soon as its module is installed; adding one is one line here.
PRINTABLE = {
    "html": ("ntm.report.html", "render", "text/html; charset=utf-8", ".html"),
    "pdf": ("ntm.report.pdf", "render_pdf", "application/pdf", ".pdf"),
    "docx": ("ntm.report.docx", "render_docx",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
}
BATCH_PRINTABLE = {
    "pdf": ("ntm.report.pdf", "render_batch_pdf", "application/pdf", ".pdf"),
    "docx": ("ntm.report.docx", "render_batch_docx",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
}


def available_formats(table: dict | None = None) -> list[str]:
    import importlib.util

    out = []
    for f, (mod, _fn, _media, _suffix) in (table or PRINTABLE).items():
        try:
            if importlib.util.find_spec(mod) is not None:
                out.append(f)
        except ImportError:
            pass
    return out


# ---------------------------------------------------------------- helpers


def lang_of(request: Request) -> str:
    q = request.query_params.get("lang")
    if q in ("vi", "en"):
        return q
    c = request.cookies.get(LANG_COOKIE)
    return c if c in ("vi", "en") else "vi"


def render(request: Request, name: str, ctx: dict, status: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    ctx = {"request": request, "lang": lang, "t": lambda k: tr(k, lang), **ctx}
    resp = request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)
    if request.query_params.get("lang") in ("vi", "en"):
        resp.set_cookie(LANG_COOKIE, lang, samesite="lax", httponly=True)
    return resp


def error_page(request: Request, problems: list[Problem], status: int, title_key: str = "error") -> HTMLResponse:
    lang = lang_of(request)
    return render(request, "error.html", {"problems": [service.problem_message(p, lang) for p in problems],
                                          "title_key": title_key},
                  status)


def engine(request: Request):
    return request.app.state.engine


def _rulesets():
    return service.rulesets()


def _in_force_today(entries) -> str:
    today = dt.date.today()
    live = [r for r in entries if "commune" in r.levels and r.start <= today and (r.end is None or today <= r.end)]
    return (live or [r for r in entries if "commune" in r.levels] or entries)[-1].id


def _stored(request: Request, key: str) -> service.Request:
    req = request.app.state.store.get(key)
    if req is None:
        raise _Expired()
    return req


class _Expired(Exception):
    pass


def _expired(request: Request) -> HTMLResponse:
    return render(request, "error.html", {"problems": [tr("expired", lang_of(request))], "title_key": "not_found"},
                  404)


def _keep(request: Request, req: service.Request) -> str:
    from ntm.web.app import request_key

    return request.app.state.store.put(req, request_key(req))


def _overlay_from_form(request: Request, oid: str | None, upload) -> str | None:
    """The overlay chosen in a list (the server's --overlay files) or uploaded with the form."""
    if upload is not None and getattr(upload, "filename", ""):
        data = upload.file.read()
        if data:
            from ntm.web.app import save_upload

            return save_upload(request.app, data, "overlay", upload.filename)
    return api.overlay_path(request.app, oid or None, None)


# ---------------------------------------------------------------- home: choose the rules


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    entries = _rulesets()
    q = request.query_params
    chosen = q.get("ruleset") or _in_force_today(entries)
    return render(request, "home.html", choose_context(request, entries, chosen, q))


def choose_context(request: Request, entries, chosen: str, values, errors: dict | None = None) -> dict:
    current = next((r for r in entries if r.id == chosen), entries[-1])
    return {"rulesets": entries, "current": current, "overlays": request.app.state.config.overlays,
            "values": values, "errors": errors or {}, "max_upload_mb": request.app.state.config.max_upload / 2**20}


@router.get("/choices", response_class=HTMLResponse)
def choices(request: Request):
    """The region/flag choices of one ruleset (htmx swaps them in when the ruleset changes)."""
    entries = _rulesets()
    chosen = request.query_params.get("ruleset") or _in_force_today(entries)
    return render(request, "_choices.html", choose_context(request, entries, chosen, request.query_params))


# ---------------------------------------------------------------- the dossier form


@router.get("/form", response_class=HTMLResponse)
def form_page(request: Request):
    q = request.query_params
    try:
        spec = forms.spec_from(request, q)
    except NtmInputError as e:
        entries = _rulesets()
        errs = forms.choice_errors(e.problems, lang_of(request))
        return render(request, "home.html", choose_context(request, entries, q.get("ruleset") or
                                                           _in_force_today(entries), q, errs), 422)
    return render(request, "form.html", forms.form_context(spec, q, {}, q))


@router.post("/form", response_class=HTMLResponse)
async def form_submit(request: Request):
    form = await request.form()
    try:
        spec = forms.spec_from(request, form)
    except NtmInputError as e:
        entries = _rulesets()
        chosen = form.get("ruleset") if any(r.id == form.get("ruleset") for r in entries) else _in_force_today(entries)
        return render(request, "home.html", choose_context(request, entries, chosen, form,
                                                           forms.choice_errors(e.problems, lang_of(request))), 422)
    try:
        req = forms.request_from_form(request, spec, form)
        req = _checked(request, req)
    except NtmInputError as e:
        ctx = forms.form_context(spec, form, forms.field_errors(e.problems, spec, lang_of(request)), form)
        return render(request, "form.html", ctx, 422)
    return RedirectResponse(f"/r/{_keep(request, req)}", status_code=303)


def _checked(request: Request, req: service.Request) -> service.Request:
    """Evaluate once now, so that bad evidence is reported on the form it came from, not on the result page."""
    engine(request).call(service.outcome_json, req)
    return req


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request):
    form = await request.form()
    entries = _rulesets()
    f = form.get("file")
    name = getattr(f, "filename", "") or ""
    try:
        if not name:
            raise NtmInputError.single("choose a file to upload", field="file",
                                       expected="a .yaml/.yml/.json dossier or a filled .xlsx/.csv template")
        data = f.file.read()
        ruleset = api.ruleset_id(form.get("ruleset") or None) if form.get("ruleset") != "auto" else None
        overlay = _overlay_from_form(request, form.get("overlay"), form.get("overlay_file"))
        as_of = forms.parse_date(form.get("as_of"), "as_of")
        if name.lower().endswith((".xlsx", ".csv")):
            from ntm.web.app import save_upload

            path = save_upload(request.app, data, "template", name)
            rows = api.check_rows(request, path, ruleset, overlay)
            if rows > 1:  # a filled template of many communes: every row is evaluated, as on the batch page
                return start_batch(request, path, name, ruleset, overlay, as_of, rows)
        src = forms.uploaded_source(request, name, data, ruleset, overlay)
        req = _checked(request, service.Request(src, ruleset, overlay, as_of, None))
    except NtmInputError as e:
        from ntm.web.app import user_paths

        user_paths(e.problems, request.app.state.config.tmpdir)
        errs = {"upload": [service.problem_message(p, lang_of(request)) for p in e.problems]}
        chosen = form.get("ruleset") if form.get("ruleset") not in (None, "", "auto") else _in_force_today(entries)
        ctx = choose_context(request, entries, chosen if any(r.id == chosen for r in entries) else
                             _in_force_today(entries), form, errs)
        return render(request, "home.html", ctx, 422)
    return RedirectResponse(f"/r/{_keep(request, req)}", status_code=303)


# ---------------------------------------------------------------- the appraisal view


@router.get("/r/{key}", response_class=HTMLResponse)
def result(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    o = engine(request).call(service.outcome, req)
    return render(request, "result.html", {"o": o, "key": key, "formats": available_formats(),
                                           "signed": bool(request.app.state.config.key), "view": forms.view(o)})


@router.get("/r/{key}/json")
def result_json(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        from ntm.web.app import api_lang

        lang = api_lang(request) if request.query_params.get("lang") or request.headers.get("accept-language") \
            else lang_of(request)
        return JSONResponse({"error": "not_found", "lang": lang, "message": tr("expired", lang), "problems": []},
                            404)
    text = engine(request).call(service.outcome_json, req)
    return Response(text.encode("utf-8"), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="ntm-{key}.json"'})


@router.get("/r/{key}/report")
def result_report(request: Request, key: str, format: str = "html"):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    if format not in available_formats():
        return error_page(request, [Problem(f"unknown format '{format}'", field="format",
                                            expected="one of " + ", ".join(available_formats()))], 404)
    module, fn, media, suffix = PRINTABLE[format]
    body = engine(request).call(printable, req, module, fn, lang_of(request))
    disposition = "inline" if format == "html" else "attachment"
    return Response(body if isinstance(body, bytes) else body.encode("utf-8"), media_type=media,
                    headers={"Content-Disposition": f'{disposition}; filename="ntm-{key}{suffix}"'})


def printable(req: service.Request, module: str, fn: str, lang: str):
    """The outcome through a report renderer (`fn(outcome, lang)` -> str or bytes), in an engine worker."""
    import importlib

    return getattr(importlib.import_module(module), fn)(service.outcome(req), lang)


@router.post("/r/{key}/record")
def result_record(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    cfg = request.app.state.config
    text = engine(request).call(service.record, req, cfg.key, cfg.signer)
    from ntm.audit import register

    added = register.add(cfg.register, text, "web")
    return RedirectResponse(f"/register/{added.seq}", status_code=303)


# ---------------------------------------------------------------- what-if


@router.get("/r/{key}/whatif", response_class=HTMLResponse)
def whatif_page(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    o = engine(request).call(service.outcome, req)
    rows = forms.whatif_rows(o, req)
    request.app.state.store.put_as("rows:" + key, rows)
    return render(request, "whatif.html", {"o": o, "key": key, "rows": rows, "result": None, "problems": []})


@router.post("/r/{key}/whatif", response_class=HTMLResponse)
async def whatif_run(request: Request, key: str):
    """htmx posts the form on every change and swaps in the result; without scripts the whole page comes back
    with the values typed and the result beside them."""
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    form = await request.form()
    rows = request.app.state.store.get("rows:" + key)
    if rows is None:
        rows = forms.whatif_rows(engine(request).call(service.outcome, req), req)
        request.app.state.store.put_as("rows:" + key, rows)
    ctx: dict = {"result": None, "problems": []}
    try:
        changes = forms.whatif_changes(rows, form)
        if changes:
            res = engine(request).call(service.whatif, req, changes)
            ctx = {"result": res, "s": res.scenarios[0], "problems": []}
    except NtmInputError as e:
        ctx = {"problems": [service.problem_message(p, lang_of(request)) for p in e.problems], "result": None}
    if request.headers.get("hx-request"):
        return render(request, "_whatif_result.html", ctx)
    o = engine(request).call(service.outcome, req)
    typed = {r.id: str(form.get(f"w.{r.id}")) for r in rows if f"w.{r.id}" in form}
    return render(request, "whatif.html", {"o": o, "key": key, "rows": rows, "typed": typed, **ctx})


# ---------------------------------------------------------------- plan


@router.get("/r/{key}/plan", response_class=HTMLResponse)
def plan_page(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    o = engine(request).call(service.outcome, req)
    target = request.query_params.get("target") or next((t.id for t in o.tiers if t.status != "met"), o.tiers[-1].id)
    return render(request, "plan.html", {"o": o, "key": key, "values": {"target": target}, "doc": None,
                                         "errors": {}})


@router.post("/r/{key}/plan", response_class=HTMLResponse)
async def plan_run(request: Request, key: str):
    try:
        req = _stored(request, key)
    except _Expired:
        return _expired(request)
    form = await request.form()
    o = engine(request).call(service.outcome, req)
    values = {"target": form.get("target") or "", "fixed": form.get("fixed") or ""}
    costs = None
    up = form.get("costs")
    try:
        if up is not None and getattr(up, "filename", ""):
            from ntm.web.app import save_upload

            data = up.file.read()
            if data:
                costs = save_upload(request.app, data, "costs", up.filename)
        fixed = tuple(f.strip() for f in values["fixed"].split(",") if f.strip())
        doc = engine(request).call(service.plan, req, values["target"], costs, fixed)
    except NtmInputError as e:
        from ntm.web.app import user_paths

        user_paths(e.problems, request.app.state.config.tmpdir)
        errs = {}
        for p in e.problems:
            slot = "target" if p.field in ("--target", "target") else "fixed" if p.field == "--fixed" else "costs"
            errs.setdefault(slot, []).append(service.problem_message(p, lang_of(request)))
        return render(request, "plan.html", {"o": o, "key": key, "values": values, "doc": None, "errors": errs}, 422)
    return render(request, "plan.html", {"o": o, "key": key, "values": values, "doc": doc, "errors": {},
                                         "costs_name": getattr(up, "filename", None) if costs else None})


# ---------------------------------------------------------------- batch


@dataclass
class BatchJob:
    id: str
    name: str
    total: int = 0
    done: int = 0
    doc: dict | None = None
    error: list[str] = field(default_factory=list)
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cancel(self) -> None:
        pass  # the batch runner's workers are daemons; a stopped server stops them


@router.get("/batch", response_class=HTMLResponse)
def batch_page(request: Request):
    return render(request, "batch.html", batch_context(request, {}, {}))


def batch_context(request: Request, values, errors) -> dict:
    entries = _rulesets()
    cfg = request.app.state.config
    return {"rulesets": entries, "overlays": cfg.overlays, "values": values, "errors": errors,
            "max_rows": cfg.max_rows, "max_upload_mb": cfg.max_upload / 2**20}


@router.post("/batch", response_class=HTMLResponse)
async def batch_start(request: Request):
    form = await request.form()
    f = form.get("file")
    try:
        if not getattr(f, "filename", ""):
            raise NtmInputError.single("choose a workbook to upload", field="file", expected="a .xlsx or .csv file")
        path = api.save_batch_upload(request, f)
        ruleset = api.ruleset_id(form.get("ruleset") or None) if form.get("ruleset") != "auto" else None
        overlay = _overlay_from_form(request, form.get("overlay"), form.get("overlay_file"))
        as_of = forms.parse_date(form.get("as_of"), "as_of")
        rows = api.check_rows(request, path, ruleset, overlay)
    except NtmInputError as e:
        from ntm.web.app import user_paths

        user_paths(e.problems, request.app.state.config.tmpdir)
        errs = {"file": [service.problem_message(p, lang_of(request)) for p in e.problems]}
        return render(request, "batch.html", batch_context(request, form, errs),
                      422)
    return start_batch(request, path, f.filename, ruleset, overlay, as_of, rows)


def start_batch(request: Request, path: str, name: str, ruleset, overlay, as_of, rows: int) -> RedirectResponse:
    """Run a checked workbook in the background and send the browser to its progress page."""
    job = BatchJob(uuid.uuid4().hex[:16], name, total=rows)
    lang = lang_of(request)
    jobs = request.app.state.jobs
    while len(jobs) >= 32:  # keep the latest batches only
        jobs.pop(next(iter(jobs)))
    jobs[job.id] = job

    def tick(total):
        job.total = total

        def one():
            with job.lock:
                job.done += 1
        return one

    def work():
        try:
            job.doc = api.run_batch(request, path, ruleset, overlay, as_of, progress=tick)
        except NtmInputError as e:
            from ntm.web.app import user_paths

            job.error = [service.problem_message(p, lang)
                         for p in user_paths(e.problems, request.app.state.config.tmpdir)]
        except EngineFailure as e:
            job.error = [service.problem_message(Problem(str(e)), lang)]
        except Exception as e:  # noqa: BLE001 - shown on the page, never a dead progress bar
            job.error = [(f"internal error: {type(e).__name__}: {e} — please report" if lang == "en" else
                          f"lỗi nội bộ: {type(e).__name__}: {e} — xin hãy báo lỗi")]
        finally:
            job.finished = True

    threading.Thread(target=work, name=f"ntm-batch-{job.id}", daemon=True).start()
    return RedirectResponse(f"/batch/{job.id}", status_code=303)


def _job(request: Request, jid: str) -> BatchJob | None:
    return request.app.state.jobs.get(jid)


@router.get("/batch/{jid}", response_class=HTMLResponse)
def batch_job(request: Request, jid: str):
    job = _job(request, jid)
    if job is None:
        return _expired(request)
    return render(request, "batch_job.html", {"job": job, "formats": available_formats(BATCH_PRINTABLE),
                                              **forms.batch_view(job.doc, lang_of(request))})


@router.get("/batch/{jid}/status", response_class=HTMLResponse)
def batch_status(request: Request, jid: str):
    job = _job(request, jid)
    if job is None:
        return _expired(request)
    return render(request, "_batch_status.html", {"job": job, "formats": available_formats(BATCH_PRINTABLE),
                                                  **forms.batch_view(job.doc, lang_of(request))})


@router.get("/batch/{jid}/download")
def batch_download(request: Request, jid: str, format: str = "json"):
    job = _job(request, jid)
    if job is None or job.doc is None:
        return _expired(request)
    from ntm.batch import outputs

    lang = lang_of(request)
    stem = os.path.splitext(job.name)[0] or "batch"
    if format == "json":
        return Response(outputs.to_json(job.doc).encode("utf-8"), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{stem}-ntm.json"'})
    if format == "csv":
        return Response(outputs.to_csv(job.doc, lang).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}-ntm.csv"'})
    if format == "xlsx":
        return Response(outputs.to_xlsx(job.doc, lang),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{stem}-ntm.xlsx"'})
    if format == "html":
        from ntm.report.batch_html import render as batch_render

        return HTMLResponse(batch_render(job.doc, lang))
    if format in available_formats(BATCH_PRINTABLE):
        import importlib

        module, fn, media, suffix = BATCH_PRINTABLE[format]
        body = getattr(importlib.import_module(module), fn)(job.doc, lang)
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{stem}-ntm{suffix}"'})
    return error_page(request, [Problem(f"unknown format '{format}'", field="format",
                                        expected="json, csv, xlsx or html")], 404)


# ---------------------------------------------------------------- register


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request):
    from ntm.audit import register

    path = request.app.state.config.register
    entries = register.rows(path) if os.path.exists(path) else []
    check = None
    if request.query_params.get("check") and os.path.exists(path):
        check = register.verify(path)
    return render(request, "register.html", {"entries": entries, "check": check,
                                             "register_name": os.path.basename(path)})


@router.get("/register/{ident}", response_class=HTMLResponse)
def register_entry(request: Request, ident: str):
    import json

    from ntm.audit import register

    path = request.app.state.config.register
    if not os.path.exists(path):
        return _expired(request)
    e = register.get(path, ident)
    rec = json.loads(e["record"])
    verdict = None
    if request.query_params.get("verify"):
        verdict = engine(request).call(service.verify, e["record"], f"seq-{e['seq']}.json")
    sig = rec.get("signature") or {}
    return render(request, "register_entry.html", {"e": e, "rec": rec, "verdict": verdict, "sig": sig})


@router.get("/register/{ident}/download")
def register_download(request: Request, ident: str):
    from ntm.audit import register

    path = request.app.state.config.register
    if not os.path.exists(path):
        return _expired(request)
    e = register.get(path, ident)
    return Response(e["record"].encode("utf-8"), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="record-{e["seq"]}-'
                                                    f'{e["decision_id"][:12]}.json"'})


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request):
    form = await request.form()
    f = form.get("file")
    try:
        if not getattr(f, "filename", ""):
            raise NtmInputError.single("choose a record file", field="file", expected="a .json decision record")
        data = f.file.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise NtmInputError.single("is not UTF-8 text", file=f.filename) from None
        verdict = engine(request).call(service.verify, text, f.filename)
    except NtmInputError as e:
        from ntm.audit import register

        path = request.app.state.config.register
        entries = register.rows(path) if os.path.exists(path) else []
        return render(request, "register.html", {"entries": entries, "check": None, "verify_errors":
                                                 [service.problem_message(p, lang_of(request))
                                                  for p in e.problems],
                                                 "register_name": os.path.basename(path)}, 422)
    return render(request, "verify_result.html", {"verdict": verdict, "name": f.filename})


# ---------------------------------------------------------------- login (bearer token for browsers), API page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request):
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next")), "bad": False})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request):
    import hmac

    form = await request.form()
    token = request.app.state.config.token or ""
    given = str(form.get("token") or "").strip()
    nxt = _safe_next(form.get("next"))
    if not token or not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return render(request, "login.html", {"next": nxt, "bad": True}, 401)
    from ntm.web.app import COOKIE

    resp = RedirectResponse(nxt, status_code=303)
    resp.set_cookie(COOKIE, given, httponly=True, samesite="strict")
    return resp


def _safe_next(nxt) -> str:
    nxt = str(nxt or "/")
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request):
    doc = request.app.openapi()
    ops = []
    for path, items in doc.get("paths", {}).items():
        for method, op in items.items():
            ops.append((method.upper(), path, op.get("summary", "")))
    return render(request, "api.html", {"ops": ops})
