"""The web application: `create_app(config)` builds the FastAPI app (pages, HTTP API, static files).

Everything a request needs lives on `app.state` (config, the engine executor, the result store, batch jobs);
nothing is kept in module globals, so two apps (two tests) never share state.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ntm import __version__
from ntm.errors import EngineFailure, NtmInputError, Problem
from ntm.web.config import WebConfig
from ntm.web.i18n import t as translate
from ntm.web.isolation import Busy, EngineCrashed, EngineTimeout, InProcess, Isolated

HERE = Path(__file__).resolve().parent
COOKIE = "ntm_token"


class Store:
    """Results the pages link to (JSON, printable, what-if), keyed by a hash of their inputs; bounded."""

    def __init__(self, size: int = 512):
        self._items: OrderedDict[str, object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, item, key_material: str) -> str:
        key = hashlib.sha256(key_material.encode("utf-8")).hexdigest()[:24]
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return key

    def put_as(self, key: str, item) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: str):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item


def request_key(req) -> str:
    """Canonical text of a service.Request: equal inputs give the same result link."""
    return json.dumps({"data": req.source.data, "name": req.source.path, "ruleset": req.ruleset,
                       "overlay": _file_sha(req.overlay), "as_of": req.as_of, "tier": req.tier},
                      sort_keys=True, default=str, ensure_ascii=False)


def _file_sha(path: str | None) -> str | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def save_upload(app: FastAPI, data: bytes, kind: str, name: str) -> str:
    """Keep an upload under its own name in a folder named by its content hash (errors then name the file the
    user chose, and the same file twice is one file)."""
    import re

    digest = hashlib.sha256(data).hexdigest()
    base = re.sub(r"[^\w.-]+", "_", os.path.basename(name or "").strip())[-100:].lstrip(".") or f"{kind}.yaml"
    folder = os.path.join(app.state.config.tmpdir, f"{kind}-{digest[:32]}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, base)
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return path


def user_paths(problems: list[Problem], tmpdir: str) -> list[Problem]:
    """Uploads are named by the file name the user gave, never by where the server keeps them."""
    for p in problems:
        if p.file and tmpdir and p.file.startswith(tmpdir):
            p.file = os.path.basename(p.file)
    return problems


def error_body(e: NtmInputError, lang: str = "en") -> dict:
    """The API's 4xx body: the message and every problem (field, expected, hint) in the request's language."""
    from ntm.report.messages import problem, render

    return {"error": "invalid_input", "lang": lang, "message": "\n".join(render(p, lang) for p in e.problems),
            "problems": [problem(p, lang).as_dict() for p in e.problems]}


def api_lang(scope_or_request) -> str:
    """The API answers in `?lang=`, else the first of vi/en in Accept-Language, else Vietnamese (the default
    language of every output)."""
    from urllib.parse import parse_qs

    scope = getattr(scope_or_request, "scope", scope_or_request)
    q = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get("lang", [""])[0]
    if q in ("vi", "en"):
        return q
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    best, best_q = None, -1.0
    for i, part in enumerate(accept.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()[:2]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag in ("vi", "en") and weight - i * 1e-6 > best_q:
            best, best_q = tag, weight - i * 1e-6
    return best or "vi"


def page_lang(scope) -> str:
    """A page's language: `?lang=`, else the language cookie, else Vietnamese (as ntm.web.pages.lang_of)."""
    from http.cookies import SimpleCookie
    from urllib.parse import parse_qs

    q = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get("lang", [""])[0]
    if q in ("vi", "en"):
        return q
    raw = dict(scope.get("headers") or []).get(b"cookie", b"").decode("latin-1")
    try:
        c = SimpleCookie(raw).get("ntm_lang")
    except Exception:  # noqa: BLE001 - a malformed cookie header means no cookie
        c = None
    return c.value if c is not None and c.value in ("vi", "en") else "vi"


def json_error(kind: str, message: str, problems: list[Problem], status: int, lang: str, **kw) -> JSONResponse:
    from ntm.report.messages import problem, text

    return JSONResponse({"error": kind, "lang": lang, "message": text("message", message, lang),
                         "problems": [problem(p, lang).as_dict() for p in problems]}, status_code=status, **kw)


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body",)]
        etype = err.get("type", "")
        expected = {"missing": None, "dict_type": "a JSON object", "string_type": "text", "int_type": "a whole number",
                    "float_type": "a number", "bool_type": "true or false", "json_invalid": "valid JSON",
                    "list_type": "a list", "extra_forbidden": None}.get(etype, None)
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        hint = None
        if etype == "missing":
            msg = "this field is required"
        elif etype == "extra_forbidden":
            msg = f"unknown field '{loc[-1] if loc else '?'}'"
            hint = "see the request schema at /openapi.json"
        elif etype == "json_invalid":
            msg = "the request body is not valid JSON"
            hint = (err.get("ctx") or {}).get("error")
        out.append(Problem(msg, field=".".join(loc) or None, expected=expected, hint=hint))
    return out


class BodyLimit:
    """Refuse request bodies above the limit (413) before a handler reads them, with a clear message."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await _too_large(scope, send, self.limit, int(length))
        seen = 0
        started = False

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return msg

        async def tracked(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _too_large(scope, send, self.limit, seen)


class _TooLarge(Exception):
    pass


async def _too_large(scope, send, limit: int, size: int) -> None:
    mb = limit / (1024 * 1024)
    if not _is_api(scope.get("path", "")):
        from html import escape

        lang = page_lang(scope)
        text = (f"The upload is too large: {size} bytes; the limit is {mb:g} MB (ntm serve --max-upload)."
                if lang == "en" else
                f"Tệp tải lên quá lớn: {size} byte; giới hạn là {mb:g} MB (ntm serve --max-upload).")
        page = (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><link rel="stylesheet" '
                f'href="/static/style.css"><main><h1>413</h1><p class="danger" id="too-large">{escape(text)}</p>'
                f'<p><a href="javascript:history.back()">←</a> <a href="/">ntm</a></p></main></html>').encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(page)).encode())]})
        await send({"type": "http.response.body", "body": page})
        return
    from ntm.report.messages import problem

    lang = api_lang(scope)
    p = problem(Problem("the upload is too large", field="file", expected=f"at most {mb:g} MB",
                        hint="split the workbook, or start the server with a larger --max-upload"), lang)
    message = (f"the upload is too large ({size} bytes; the limit is {limit} bytes = {mb:g} MB)" if lang == "en"
               else f"tệp tải lên quá lớn ({size} byte; giới hạn {limit} byte = {mb:g} MB)")
    body = json.dumps({"error": "too_large", "lang": lang, "message": message, "problems": [p.as_dict()]},
                      ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/openapi.json"


def _template_helpers(env) -> None:
    """The report's own number and word formatting, so a page says exactly what the printed report says."""
    from ntm.report import i18n
    from ntm.report.batch_html import tier_name
    from ntm.web.forms import shown

    def plan_status(status: str, lang: str) -> str:
        from ntm.engine.plan_view import W

        vi, en = W.get(status, (status, status))
        return en if lang == "en" else vi

    from ntm.report.words import row_error_text

    env.globals.update(row_error=row_error_text, status_word=i18n.status_word, observed_text=i18n.observed_text,
                       requirement=i18n.requirement, reason_text=i18n.reason_text, set_by_word=i18n.set_by_word,
                       fmt_num=i18n.fmt_num, tier_name=tier_name, plan_status=plan_status, shown=shown)


def create_app(config: WebConfig) -> FastAPI:
    """The app for one server; the engine workers start with the app (lifespan) and stop with it."""
    owned_tmp = None
    if not config.tmpdir:
        owned_tmp = tempfile.mkdtemp(prefix="ntm-web-")
        from dataclasses import replace

        config = replace(config, tmpdir=owned_tmp)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = (Isolated(config.workers, config.timeout) if config.workers > 0
                            else InProcess(config.timeout))
        try:
            yield
        finally:
            app.state.engine.close()
            for job in list(app.state.jobs.values()):
                job.cancel()
            if owned_tmp:
                import shutil

                shutil.rmtree(owned_tmp, ignore_errors=True)

    app = FastAPI(
        title="ntm-rules HTTP API",
        version=__version__,
        description=("Evaluate Nông thôn mới dossiers through the durable-rules engine. Every decision is the "
                     "engine's; `POST /api/v1/evaluate` returns the same bytes as `ntm evaluate --format json`. "
                     "The dossier, overlay, ruleset and outcome JSON Schemas are those `ntm schema` prints, served "
                     "at `/api/v1/schema/{kind}`. Errors are JSON: `{error, message, problems: [{message, file, "
                     "line, field, expected, hint}]}`."),
        docs_url=None, redoc_url=None,  # the stock docs pages load scripts from the internet
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.store = Store()
    app.state.jobs = {}
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.globals["tr"] = translate
    app.state.templates.env.globals["version"] = __version__
    _template_helpers(app.state.templates.env)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        token = config.token
        path = request.url.path
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin and origin != "null":
            from urllib.parse import urlsplit

            if urlsplit(origin).netloc != request.headers.get("host", ""):
                return json_error("forbidden", "cross-site request refused",
                                  [Problem("the request came from another site", field="Origin",
                                           expected="this server's own pages")], 403,
                                  api_lang(request) if _is_api(path) else page_lang(request.scope))
        if token and not (path.startswith("/static/") or path == "/login"):
            given = ""
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            elif request.cookies.get(COOKIE):
                given = request.cookies[COOKIE]
            if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
                if _is_api(path):
                    return json_error(
                        "unauthorized", "a bearer token is required",
                        [Problem("missing or wrong bearer token", field="Authorization",
                                 expected="Authorization: Bearer <token>",
                                 hint="the token is in the file given to `ntm serve --token-file`")],
                        401, api_lang(request), headers={"WWW-Authenticate": "Bearer"})
                from urllib.parse import quote

                return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not _is_api(path):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'")
        return response

    app.add_middleware(BodyLimit, limit=config.max_upload)
    if config.allowed_hosts != ("*",):
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))

    @app.exception_handler(NtmInputError)
    async def _input_error(request: Request, exc: NtmInputError):
        user_paths(exc.problems, config.tmpdir)
        exc = NtmInputError(exc.problems)
        if _is_api(request.url.path):
            return JSONResponse(error_body(exc, api_lang(request)), status_code=422)
        from ntm.web.pages import error_page

        return error_page(request, exc.problems, 422)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        problems = _validation_problems(exc)
        e = NtmInputError(problems)
        if _is_api(request.url.path):
            return JSONResponse(error_body(e, api_lang(request)), status_code=422)
        from ntm.web.pages import error_page

        return error_page(request, problems, 422)

    @app.exception_handler(EngineFailure)
    async def _engine(request: Request, exc: EngineFailure):
        status = 504 if isinstance(exc, EngineTimeout) else 503 if isinstance(exc, Busy) else 500
        kind = ("timeout" if isinstance(exc, EngineTimeout) else "busy" if isinstance(exc, Busy)
                else "engine_crashed" if isinstance(exc, EngineCrashed) else "engine_failure")
        if _is_api(request.url.path):
            return json_error(kind, str(exc), [], status, api_lang(request))
        from ntm.web.pages import error_page

        return error_page(request, [Problem(str(exc))], status, title_key="engine_failed")

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        """404, 405…: the API's JSON error shape, or the error page, in the request's language."""
        if exc.status_code == 404:
            message, field = "no such page", "path"
        elif exc.status_code == 405:
            message, field = "method not allowed", "method"
        elif exc.status_code == 400:
            message, field = "the request body cannot be read", "body"
        else:
            message, field = str(exc.detail), None
        problems = [Problem(message, field=field, expected=None)]
        if _is_api(request.url.path):
            kind = {404: "not_found", 400: "invalid_input"}.get(exc.status_code, "http_error")
            return json_error(kind, message, problems,
                              exc.status_code, api_lang(request), headers=getattr(exc, "headers", None))
        from ntm.web.pages import error_page

        return error_page(request, problems, exc.status_code, title_key="not_found" if exc.status_code == 404
                          else "error")

    from ntm.web import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    return app
