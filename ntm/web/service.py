"""The web app's one door into the library: every page and endpoint calls these functions, nothing else.

They take plain, picklable values (a parsed `Source`, ids, paths), so that an isolated engine worker can run
them (see ntm.web.isolation), and they decide nothing themselves: every status comes from the engine through
the library's input path (`ntm.engine.evaluate.gather_loaded`, the one `ntm.api` stands on). They keep the
uploaded file's own name and line numbers in every message, which `ntm.api`'s in-memory inputs do not (yet);
when they do, these bodies switch to `ntm.api` here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass

from ntm.errors import NtmInputError, Problem

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Request:
    """One evaluation's inputs: the dossier as parsed (data and line numbers), the rules and the date."""

    source: object  # ntm.criteria.yamlsrc.Source, or Text (parsed in the engine worker)
    ruleset: str | None = None  # shipped id or file; None: the one in force on the assessment date
    overlay: str | None = None  # overlay file path (the server's own, or an upload saved by content hash)
    as_of: dt.date | None = None
    tier: str | None = None


@dataclass(frozen=True)
class Text:
    """A dossier file's text, parsed where the evaluation runs (an engine worker, not the server's thread)."""

    text: str
    name: str


# ---------------------------------------------------------------- reading inputs (in the server process)


def parse_dossier(text: str, name: str):
    """An uploaded YAML/JSON dossier -> Source, with the same file:line errors as the CLI."""
    from ntm.criteria.yamlsrc import parse

    src = parse(text, name)
    if not isinstance(src.data, dict):
        raise NtmInputError.single("a dossier must be a mapping with unit, assessment and facts", file=name,
                                   line=src.line_of(()), expected="unit:, assessment:, facts:")
    if name.lower().endswith(".json"):
        src.data.update(json_dates(src.data))
    _no_file_references(src)
    return src


def source_from_mapping(data, name: str = "dossier"):
    """A dossier sent as JSON (the HTTP API) or built from the form -> Source (no line numbers)."""
    from ntm.criteria.yamlsrc import Source

    if not isinstance(data, dict):
        raise NtmInputError.single("a dossier must be a mapping with unit, assessment and facts", field=name,
                                   expected="{unit: {...}, assessment: {...}, facts: {...}}")
    src = Source(json_dates(data), {}, name)
    _no_file_references(src)
    return src


def json_dates(data: dict) -> dict:
    """JSON has no dates: 'YYYY-MM-DD' text where the dossier model wants a date becomes one (a copy).

    Only the fields that are dates in the dossier schema, and only valid ISO dates; anything else stays as it
    was, so the dossier model reports it exactly as the CLI does."""
    def conv(v):
        if isinstance(v, str) and _ISO.fullmatch(v):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                return v
        return v

    out = dict(data)
    if isinstance(out.get("assessment"), dict):
        out["assessment"] = {**out["assessment"]}
        if "date" in out["assessment"]:
            out["assessment"]["date"] = conv(out["assessment"]["date"])
    if isinstance(out.get("facts"), dict):
        facts = {}
        for k, v in out["facts"].items():
            if isinstance(v, dict) and isinstance(v.get("evidence"), dict) and "date" in v["evidence"]:
                v = {**v, "evidence": {**v["evidence"], "date": conv(v["evidence"]["date"])}}
            facts[k] = v
        out["facts"] = facts
    if isinstance(out.get("communes"), list):
        cs = []
        for c in out["communes"]:
            if isinstance(c, dict) and isinstance(c.get("decision"), dict) and "date" in c["decision"]:
                c = {**c, "decision": {**c["decision"], "date": conv(c["decision"]["date"])}}
            cs.append(c)
        out["communes"] = cs
    return out


def _no_file_references(src) -> None:
    """A district sent over the web may list communes by declared status, never by a file name: the server
    must not open files a request names."""
    communes = src.data.get("communes") if isinstance(src.data, dict) else None
    if not isinstance(communes, list):
        return
    for i, c in enumerate(communes):
        if isinstance(c, dict) and c.get("dossier") is not None:
            raise NtmInputError.single(
                "a district sent to the server cannot refer to commune dossier files", file=src.path,
                line=src.line_of(("communes", i, "dossier")), field=f"communes[{i}].dossier",
                expected="the commune's declared status and decision (status:, decision:)",
                hint="evaluate each commune on its own, or run `ntm evaluate` on the district file")


# ---------------------------------------------------------------- engine calls (run in a worker)


def inputs(req: Request):
    """`gather()` for a dossier already read (the library's own input path, so the CLI's rules apply)."""
    from ntm.criteria.dossier import dossier_from_source
    from ntm.engine.evaluate import gather_loaded

    src = parse_dossier(req.source.text, req.source.name) if isinstance(req.source, Text) else req.source
    ld = dossier_from_source(src)
    _fault(ld.dossier.unit.code)
    return gather_loaded(ld, req.ruleset, req.overlay, req.as_of)


def _fault(code: str) -> None:
    """The batch's crash/hang test hook (NTM_FAULT, read only inside engine workers) for server workers too."""
    from types import SimpleNamespace

    from ntm.batch.work import _fault as hook

    hook(SimpleNamespace(code=code, file=None))


def outcome(req: Request, trace: bool = False):
    """The engine's Outcome for one request (a fresh engine session, as every evaluation)."""
    from ntm.engine.evaluate import evaluate

    return evaluate(inputs(req), trace=trace, tier=req.tier, as_of=req.as_of)


def outcome_json(req: Request) -> str:
    """Exactly the bytes `ntm evaluate --format json` prints for the same inputs."""
    from ntm.engine.evaluate import to_json

    return to_json(outcome(req))


def report_html(req: Request, lang: str) -> str:
    from ntm.report.html import render

    return render(outcome(req), lang)


def whatif(req: Request, changes: dict):
    """Baseline and one scenario (fact -> new value, None removes the evidence), each on a fresh session."""
    from ntm.engine.outcome import Label
    from ntm.engine.whatif import Scenario
    from ntm.engine.whatif import whatif as run

    inp = inputs(req)
    known = inp.ruleset.ruleset.fact_map()
    unknown = [f for f in changes if f not in known]
    if unknown:
        from ntm.errors import did_you_mean

        raise NtmInputError.single(f"unknown fact '{unknown[0]}'", field=f"changes.{unknown[0]}",
                                   hint=did_you_mean(unknown[0], known))
    text = ", ".join(f"{k}={'∅' if v is None else v}" for k, v in changes.items())
    return run(inp, [Scenario("web", Label(vi=text, en=text), dict(changes))], as_of=req.as_of)


def whatif_json(req: Request, changes: dict) -> str:
    from ntm.engine.whatif import to_json

    return to_json(whatif(req, changes))


def plan(req: Request, target: str, costs: str | None = None, fixed: tuple[str, ...] = ()) -> dict:
    """The cheapest exact plan (the document `ntm plan --format json` prints): for a commune or a province judged
    on its districts, the unit's plan; for a district listing its communes, which communes to lift first."""
    import json

    from ntm.engine.plan import plan_unit, unit_document
    from ntm.engine.plan_costs import load_costs

    from ntm.commands.tiernames import resolve_tier

    inp = inputs(req)
    d = inp.dossier.dossier
    target = resolve_tier(target, inp.ruleset.ruleset, d.unit.level, "target")
    cm = load_costs(costs, inp.ruleset.ruleset) if costs else None
    if d.communes:  # a district (or province) with its communes: the group plan, as `ntm plan` on its file
        doc = _group_plan(req, target, cm, frozenset(fixed))
    else:  # a commune, or a province judged on its districts: the unit's own cheapest plan
        p = plan_unit(inp, target, costs=cm, fixed=frozenset(fixed), as_of=req.as_of)
        doc = unit_document(inp, p, cm)
    return json.loads(json.dumps(doc, ensure_ascii=False, sort_keys=True))


def _group_plan(req: Request, target: str, cm, fixed: frozenset) -> dict:
    """`plan_group` reads a file: the request's dossier (whose communes are declared, never files: see
    `_no_file_references`) is written to a private folder under the user's file name, and errors name that."""
    import shutil
    import tempfile

    import yaml

    from ntm.engine.plan_group import group_document, plan_group

    name = os.path.basename(req.source.name if isinstance(req.source, Text) else (req.source.path or "dossier"))
    if not name.lower().endswith((".yaml", ".yml", ".json")):
        name += ".yaml"
    folder = tempfile.mkdtemp(prefix="ntm-plan-")
    try:
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(req.source.text if isinstance(req.source, Text) else
                     yaml.safe_dump(req.source.data, allow_unicode=True, sort_keys=False))
        try:
            gp, ginp = plan_group(path, target, costs=cm, fixed=fixed, ruleset=req.ruleset, overlay=req.overlay,
                                  as_of=req.as_of)
        except NtmInputError as e:
            for p in e.problems:
                if p.file and p.file.startswith(folder):
                    p.file = os.path.basename(p.file)
            raise NtmInputError(e.problems) from None
        return group_document(gp, ginp, cm)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def record(req: Request, key: str | None = None, signer: str | None = None) -> str:
    """A decision record (canonical JSON text), signed with the council key when the server has one."""
    from ntm.audit import record as rec_mod

    inp = inputs(req)
    from ntm.engine.evaluate import evaluate

    o = evaluate(inp, trace=True, tier=req.tier, as_of=req.as_of)
    rec = rec_mod.build(inp, o, as_of=req.as_of, tier=req.tier)
    if key:
        from ntm.audit.keys import sign

        rec = sign(rec, key, signer)
    return rec_mod.to_text(rec)


def verify(text: str, name: str = "record.json", trusted: bytes | None = None) -> dict:
    """Re-run a decision record: REPRODUCED / DIFFERENT / TAMPERED, with the differences."""
    from ntm.audit import record as rec_mod
    from ntm.audit.verify import verify as run

    rec = rec_mod.parse(text, name)
    v = run(rec, None, trusted)
    return {"status": v.status, "decision_id": rec.get("decision_id"), "problems": list(v.problems),
            "notes": list(v.notes), "differences": list(v.diffs),
            "differences_vi": list(v.rendered("vi")), "differences_en": list(v.rendered("en")),
            "unit": rec.get("unit")}


# ---------------------------------------------------------------- in the server process (no engine run)


def batch(path: str, *, ruleset: str | None, overlay: str | None, as_of: dt.date | None, jobs: int,
          timeout: float, isolate: bool, progress=None) -> dict:
    """A province's workbook/CSV through the batch runner (its own crash-isolated workers)."""
    from ntm.batch.run import run_batch

    return run_batch(path, ruleset=ruleset, overlay=overlay, as_of=as_of, jobs=jobs, timeout=timeout,
                     isolate=isolate, progress=progress)


def batch_rows(path: str, ruleset: str | None, overlay: str | None) -> int:
    """Count an upload's data rows before running it (the upload limit), with the batch reader's errors."""
    from ntm.batch.inputs import read_input
    from ntm.batch.run import catalogue

    return read_input(path, catalogue(ruleset, overlay)).rows


def template_dossier(path: str, ruleset: str | None, overlay: str | None):
    """A filled template (xlsx/csv, one commune per row) -> the first row's dossier as a Source."""
    from ntm.batch.inputs import Job, RowError, read_input
    from ntm.batch.run import catalogue
    from ntm.criteria.yamlsrc import Source

    inp = read_input(path, catalogue(ruleset, overlay))
    for item in inp.items:
        if isinstance(item, RowError):
            raise NtmInputError.single(item.reason, file=os.path.basename(path))
        if isinstance(item, Job):
            if inp.rows > 1:
                pass  # the first commune; a workbook of many communes belongs on the batch page
            return Source(item.dossier, {}, os.path.basename(path)), inp.rows
    raise NtmInputError.single("the template has no filled row", file=os.path.basename(path),
                               hint="fill one row: the commune's code, name, region and its facts")


@dataclass(frozen=True)
class RulesetEntry:
    id: str
    version: str
    title_vi: str
    title_en: str
    start: dt.date
    end: dt.date | None
    levels: tuple[str, ...]
    regions: tuple[tuple[str, str, str], ...]  # (id, label vi, label en)
    flags: tuple[tuple[str, str, str], ...]
    sha256: str
    region_kind: str = "region"  # or "commune_group" (2026–2030: commune groups 1/2/3)


def rulesets() -> list[RulesetEntry]:
    """The shipped rulesets, oldest period first (the web's and the API's catalogue)."""
    from ntm.criteria.loader import all_shipped

    out = []
    for lr in all_shipped():
        rs = lr.ruleset
        out.append(RulesetEntry(
            rs.id, rs.version, rs.title.vi, rs.title.en, rs.effective.start, rs.effective.end,
            tuple(ls.level for ls in rs.levels), tuple((r.id, r.label.vi, r.label.en) for r in rs.regions),
            tuple((f.id, f.label.vi, f.label.en) for f in rs.unit_flags), lr.sha256, rs.region_kind))
    return sorted(out, key=lambda r: (r.start, r.id))


def form_spec(ruleset: str, level: str, region: str | None, year: int | None, flags: tuple[str, ...],
              overlay: str | None):
    """The fact catalogue with the thresholds that apply (the same spec `ntm template` writes)."""
    from ntm.templates.spec import build_spec

    return build_spec(ruleset, level, region, year, flags, overlay)


def schema(kind: str) -> dict:
    """The JSON Schemas `ntm schema` prints (tests/test_web_api.py checks they are the same bytes)."""
    from ntm.criteria.dossier import Dossier
    from ntm.criteria.model import Ruleset
    from ntm.criteria.overlay import Overlay
    from ntm.engine.outcome import Outcome
    from ntm.engine.plan_result import PlanResult
    from ntm.engine.whatif import WhatIfResult

    model = {"ruleset": Ruleset, "dossier": Dossier, "overlay": Overlay, "outcome": Outcome,
             "whatif": WhatIfResult, "plan": PlanResult}[kind]
    mode = "serialization" if kind in ("outcome", "whatif", "plan") else "validation"
    doc = model.model_json_schema(by_alias=True, mode=mode)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://ntm-rules.invalid/schema/{kind}.json"
    return doc


def problem_dicts(e: NtmInputError) -> list[dict]:
    return [p.as_dict() for p in e.problems]


def field_message(p: Problem, lang: str = "en") -> str:
    """A problem as shown beside its form field: the CLI's message without the file and field prefix, in the
    page's language."""
    from ntm.report.messages import render

    return render(p, lang, where=False)


def problem_message(p: Problem, lang: str = "en") -> str:
    """A whole problem (file, line, field, message) in the page's language."""
    from ntm.report.messages import render

    return render(p, lang)
