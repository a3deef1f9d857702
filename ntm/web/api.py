# ruff: noqa: B008  (FastAPI declares form fields as argument defaults)
"""The HTTP API: JSON in, JSON out, thin over ntm.web.service (and so over the library)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ntm.errors import NtmInputError, did_you_mean
from ntm.web import service

router = APIRouter(prefix="/api/v1", tags=["api"])

SCHEMA_KINDS = ("dossier", "overlay", "ruleset", "outcome", "whatif", "plan")


class Problem(BaseModel):
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    expected: str | None = None
    hint: str | None = None


class ErrorOut(BaseModel):
    error: str = Field(description="invalid_input | not_found | http_error | too_large | unauthorized | timeout | engine_crashed | busy")
    message: str = Field(description="the same text the CLI prints")
    problems: list[Problem]


ERRORS = {422: {"model": ErrorOut, "description": "bad input: where, what was expected, a hint"},
          401: {"model": ErrorOut, "description": "missing or wrong bearer token (--token-file)"},
          413: {"model": ErrorOut, "description": "the request body is larger than the server's limit"},
          500: {"model": ErrorOut, "description": "the engine worker crashed on this request (others go on)"},
          504: {"model": ErrorOut, "description": "the evaluation overran the server's timeout"}}


def _schema_ref(kind: str) -> dict:
    return {"$ref": f"/api/v1/schema/{kind}"}


class Inputs(BaseModel):
    """What one evaluation depends on. Give the dossier as a JSON object (`dossier`) or as the text of a YAML or
    JSON file (`dossier_text`, errors then carry line numbers)."""

    model_config = ConfigDict(extra="forbid")

    dossier: dict[str, Any] | None = Field(None, description="the dossier, a JSON object valid against the JSON "
                                           "Schema at /api/v1/schema/dossier (`ntm schema dossier`); dates as "
                                           "'YYYY-MM-DD'")
    dossier_text: str | None = Field(None, description="the dossier as YAML or JSON text")
    dossier_name: str = Field("dossier.yaml", description="file name shown in errors; .json reads JSON")
    ruleset: str | None = Field(None, description="a shipped ruleset id (GET /api/v1/rulesets); default: the "
                                "one in force on the assessment date")
    overlay: str | None = Field(None, description="the id of an overlay this server offers (GET /api/v1/rulesets)")
    overlay_text: str | None = Field(None, description="a provincial overlay as YAML text")
    as_of: dt.date | None = Field(None, description="judge by the rules in force on this date")
    tier: str | None = Field(None, description="only this tier and the tiers it requires")


class WhatIfIn(Inputs):
    changes: dict[str, bool | int | float | None] = Field(
        ..., description="fact id -> new value; null removes the evidence")


class PlanIn(Inputs):
    target: str = Field(..., description="standard, advanced or model (the ruleset's tier ids)")
    costs_text: str | None = Field(None, description="a cost model as YAML text (examples/costs/)")
    fixed: list[str] = Field([], description="facts the plan may not change")


class RecordIn(Inputs):
    add_to_register: bool = Field(True, description="also append the record to the server's register")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any] | None = Field(None, description="a decision record (from `ntm evaluate --record`)")
    record_text: str | None = Field(None, description="the record file's text")


def build_request(request: Request, body: Inputs) -> service.Request:
    """Check the options the way the CLI does and read the dossier (parse errors are the caller's 422)."""
    app = request.app
    if (body.dossier is None) == (body.dossier_text is None):
        raise NtmInputError.single("give the dossier once", field="dossier",
                                   expected="either dossier (a JSON object) or dossier_text (YAML/JSON text)")
    if body.dossier is not None:
        src = service.source_from_mapping(body.dossier, "dossier")
    else:
        src = service.Text(body.dossier_text, body.dossier_name)  # parsed by the engine worker
    return service.Request(src, ruleset_id(body.ruleset), overlay_path(app, body.overlay, body.overlay_text),
                           body.as_of, body.tier)


def ruleset_id(ref: str | None) -> str | None:
    """A shipped ruleset id; the server never opens a ruleset file a request names."""
    if ref is None or ref == "":
        return None
    from ntm.criteria.loader import shipped_paths

    ids = sorted(shipped_paths())
    if ref not in ids:
        raise NtmInputError.single(f"unknown ruleset '{ref}'", field="ruleset", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(ref, ids))
    return ref


def overlay_path(app, oid: str | None, text: str | None) -> str | None:
    if oid and text:
        raise NtmInputError.single("give the overlay once", field="overlay",
                                   expected="either overlay (an id this server offers) or overlay_text")
    if text:
        from ntm.web.app import save_upload

        return save_upload(app, text.encode("utf-8"), "overlay", "overlay.yaml")
    if not oid:
        return None
    offered = dict(app.state.config.overlays)
    if oid not in offered:
        ids = sorted(offered)
        raise NtmInputError.single(f"unknown overlay '{oid}'", field="overlay",
                                   expected="one of " + ", ".join(ids) if ids else "none: this server offers no "
                                   "overlay (start it with --overlay FILE, or send overlay_text)",
                                   hint=did_you_mean(oid, ids))
    return offered[oid]


def _json(text: str) -> Response:
    return Response(content=text.encode("utf-8"), media_type="application/json")


@router.get("/rulesets", summary="The shipped rulesets and the overlays this server offers")
def rulesets(request: Request) -> dict:
    out = []
    for r in service.rulesets():
        out.append({"id": r.id, "version": r.version, "title": {"vi": r.title_vi, "en": r.title_en},
                    "effective": {"start": r.start.isoformat(), "end": r.end.isoformat() if r.end else None},
                    "levels": list(r.levels), "sha256": r.sha256, "region_kind": r.region_kind,
                    "regions": [{"id": i, "label": {"vi": vi, "en": en}} for i, vi, en in r.regions],
                    "flags": [{"id": i, "label": {"vi": vi, "en": en}} for i, vi, en in r.flags]})
    return {"rulesets": out, "overlays": [{"id": i} for i, _ in request.app.state.config.overlays]}


@router.get("/schema/{kind}", summary="A JSON Schema, as `ntm schema KIND` prints it")
def schema(kind: Literal["dossier", "overlay", "ruleset", "outcome", "whatif", "plan"]) -> Response:
    return _json(json.dumps(service.schema(kind), ensure_ascii=False, indent=2, sort_keys=True) + "\n")


@router.post("/evaluate", summary="Evaluate a dossier: the same bytes as `ntm evaluate --format json`",
             responses={200: {"content": {"application/json": {"schema": _schema_ref("outcome")}},
                              "description": "the outcome (ntm-outcome/1)"}, **ERRORS})
def evaluate(request: Request, body: Inputs) -> Response:
    req = build_request(request, body)
    return _json(request.app.state.engine.call(service.outcome_json, req))


@router.post("/whatif", summary="Baseline and one scenario of changed evidence, with what flips",
             responses={200: {"content": {"application/json": {"schema": _schema_ref("whatif")}},
                              "description": "the what-if result, as `ntm whatif -f json`"}, **ERRORS})
def whatif(request: Request, body: WhatIfIn) -> Response:
    req = build_request(request, body)
    return _json(request.app.state.engine.call(service.whatif_json, req, dict(body.changes)))


@router.post("/plan", summary="The cheapest exact plan to a target tier, re-checked by the engine",
             responses={200: {"content": {"application/json": {"schema": _schema_ref("plan")}},
                              "description": "the plan document, as `ntm plan -f json`"}, **ERRORS})
def plan(request: Request, body: PlanIn) -> Response:
    req = build_request(request, body)
    costs = None
    if body.costs_text:
        from ntm.web.app import save_upload

        costs = save_upload(request.app, body.costs_text.encode("utf-8"), "costs", "costs.yaml")
    doc = request.app.state.engine.call(service.plan, req, body.target, costs, tuple(body.fixed))
    return _json(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


@router.post("/record", summary="Evaluate and write a decision record (signed with the council key if the "
             "server has one); optionally append it to the register", responses=ERRORS)
def record(request: Request, body: RecordIn) -> Response:
    cfg = request.app.state.config
    req = build_request(request, body)
    text = request.app.state.engine.call(service.record, req, cfg.key, cfg.signer)
    headers = {}
    if body.add_to_register:
        from ntm.audit import register

        added = register.add(cfg.register, text, "web")
        headers = {"X-Register-Seq": str(added.seq), "X-Register-Entry": added.entry_hash}
    return Response(content=text.encode("utf-8"), media_type="application/json", headers=headers)


@router.post("/verify", summary="Re-run a decision record: REPRODUCED, DIFFERENT or TAMPERED", responses=ERRORS)
def verify(request: Request, body: VerifyIn) -> dict:
    if (body.record is None) == (body.record_text is None):
        raise NtmInputError.single("give the record once", field="record",
                                   expected="either record (a JSON object) or record_text")
    text = body.record_text if body.record_text is not None else json.dumps(body.record, ensure_ascii=False)
    return request.app.state.engine.call(service.verify, text, "record.json")


@router.post("/batch", summary="Evaluate a province's workbook (.xlsx) or CSV: the `ntm batch -f json` document",
             responses=ERRORS)
def batch(request: Request, file: UploadFile = File(..., description=".xlsx or .csv, one commune per row"),
          ruleset: str | None = Form(None), overlay: str | None = Form(None),
          as_of: dt.date | None = Form(None)) -> Response:
    path = save_batch_upload(request, file)
    doc = run_batch(request, path, ruleset_id(ruleset), overlay_path(request.app, overlay, None), as_of)
    from ntm.batch.outputs import to_json

    return _json(to_json(doc))


def user_doc(doc: dict, path: str) -> dict:
    """The batch document names the uploaded file, not the server's copy."""
    import os

    inp = doc.get("input")
    if isinstance(inp, dict) and inp.get("path") == path:
        doc["input"] = {**inp, "path": os.path.basename(path)}
    elif inp == path:
        doc["input"] = os.path.basename(path)
    return doc


def save_batch_upload(request: Request, file: UploadFile) -> str:
    import os

    from ntm.web.app import save_upload

    name = file.filename or ""
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".xlsx", ".csv"):
        raise NtmInputError.single("unknown input type", file=name or "upload", field="file",
                                   expected="a .xlsx workbook or a .csv file",
                                   hint="`ntm template --format xlsx` writes a workbook to fill")
    return save_upload(request.app, file.file.read(), "batch", name)


def check_rows(request: Request, path: str, ruleset: str | None, overlay: str | None) -> int:
    import os

    limit = request.app.state.config.max_rows
    rows = service.batch_rows(path, ruleset, overlay)
    if rows > limit:
        raise NtmInputError.single(f"{rows} rows; this server takes at most {limit} per upload",
                                   file=os.path.basename(path), field="file",
                                   expected=f"at most {limit} rows",
                                   hint="split the workbook by district, or use `ntm batch` on the command line")
    if rows == 0:
        raise NtmInputError.single("the workbook has no data rows", file=os.path.basename(path), field="file")
    return rows


def run_batch(request: Request, path: str, ruleset, overlay, as_of, progress=None) -> dict:
    cfg = request.app.state.config
    check_rows(request, path, ruleset, overlay)
    doc = service.batch(path, ruleset=ruleset, overlay=overlay, as_of=as_of, jobs=max(1, cfg.batch_jobs),
                        timeout=cfg.timeout, isolate=cfg.workers > 0, progress=progress)
    return user_doc(doc, path)


def problems_json(e: NtmInputError) -> JSONResponse:
    from ntm.web.app import error_body

    return JSONResponse(error_body(e), status_code=422)
