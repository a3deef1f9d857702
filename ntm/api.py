"""The library's front door: evaluate, what-if, plan, batch and verify, from files or from memory.

Every interface (CLI, web app, HTTP API) is meant to stand on these functions. Each call reads its inputs,
decides through durable-rules on a fresh engine session and returns a typed, validated result; nothing is
printed and nothing is written. The functions are safe to call from many threads at once: the answer for a
dossier never depends on what other threads evaluate (tests/test_api.py checks 8 threads against a
sequential run).

Inputs are given as
- a dossier: a path (``str`` or ``os.PathLike``) to a YAML/JSON file, the bytes of such a file (an upload),
  a mapping with the dossier's fields (``unit``, ``assessment``, ``facts``, ...), or a
  :class:`ntm.criteria.dossier.Dossier` model;
- a ruleset: a shipped id (``"vn-2021-2025"``), a path to a ruleset file, or ``None`` for the ruleset in
  force on the assessment date (or on ``as_of``);
- an overlay: a path to a provincial overlay file, its bytes, a mapping with its fields, or ``None``. From a
  path or bytes the outcome carries the file's sha256; from a mapping, the sha256 of its canonical JSON.

Bad input raises :class:`ntm.errors.NtmInputError`, whose ``problems`` say where (file, line, field), what was
expected and a hint; ``str(error)`` is the same message the CLI prints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from ntm.errors import NtmInputError

__all__ = [
    "DossierInput",
    "OverlayInput",
    "RulesetInfo",
    "evaluate",
    "evaluate_json",
    "whatif",
    "plan",
    "batch",
    "verify",
    "rulesets",
    "load_inputs",
    "merge",
]

DossierInput = Union[str, "os.PathLike[str]", Mapping[str, Any], Any]
OverlayInput = Union[str, "os.PathLike[str]", Mapping[str, Any], None]

IN_MEMORY = "<dossier>"
IN_MEMORY_OVERLAY = "<overlay>"


@dataclass(frozen=True)
class RulesetInfo:
    """One shipped ruleset as a catalogue entry: enough to choose a period without loading the law."""

    id: str
    version: str
    title_vi: str
    title_en: str
    effective_from: dt.date
    effective_to: dt.date | None
    levels: tuple[str, ...]
    sha256: str
    path: str


def _as_date(value: dt.date | str | None, field: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise NtmInputError.single(f"got {value!r}", field=field, expected="a date (datetime.date or 'YYYY-MM-DD')")


def _plain(value: Any, where: str) -> Any:
    """A deep copy of plain data (dicts, lists, str, numbers, bools, dates, None): the caller's object is never
    changed, and nothing else (a set, an object) reaches the validators in disguise."""
    if isinstance(value, Mapping):
        return {k: _date_text(k, _plain(v, f"{where}.{k}")) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float, dt.date)):
        return value
    raise NtmInputError.single(f"got a {type(value).__name__}", field=where,
                               expected="plain data: mappings, lists, text, numbers, true/false, dates")


def _date_text(key, value):
    """Mappings often come from JSON, which has no dates: an ISO text under a `date` key is that date."""
    if isinstance(key, str) and key.endswith("date") and isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value  # refused by the validator, with the field named
    return value


def _mapping_source(data: Mapping, name: str):
    from ntm.criteria.yamlsrc import Source

    return Source(_plain(data, name.strip("<>")), {(): None}, name)


def _text_source(data: bytes, name: str):
    """The bytes of an uploaded file, read exactly as the file would be (so its hash is the file's)."""
    from ntm.criteria.yamlsrc import decode, parse

    text = decode(bytes(data), name)
    return parse(text, name + (".json" if text.lstrip().startswith("{") else ".yaml")), text


def _loaded_dossier(dossier: DossierInput):
    """A path, a mapping or a Dossier model -> the LoadedDossier every evaluation starts from."""
    from ntm.criteria.dossier import Dossier, dossier_from_source, load_dossier

    if isinstance(dossier, (str, os.PathLike)):
        return load_dossier(os.fspath(dossier))
    if isinstance(dossier, (bytes, bytearray)):
        return dossier_from_source(_text_source(dossier, IN_MEMORY)[0])
    if isinstance(dossier, Dossier):
        dossier = dossier.model_dump(mode="python", by_alias=True, exclude_unset=True)
    if isinstance(dossier, Mapping):
        return dossier_from_source(_mapping_source(dossier, IN_MEMORY))
    raise NtmInputError.single(f"got a {type(dossier).__name__}", field="dossier",
                               expected="a file path, a mapping of dossier fields, or a Dossier model")


def _loaded_overlay(overlay: OverlayInput, ruleset):
    from ntm.criteria.overlay import load_overlay, overlay_from_source

    if overlay is None:
        return None
    if isinstance(overlay, (str, os.PathLike)):
        return load_overlay(os.fspath(overlay), ruleset)
    if isinstance(overlay, (bytes, bytearray)):
        from ntm.criteria.loader import sha256_text

        src, text = _text_source(overlay, IN_MEMORY_OVERLAY)
        return overlay_from_source(src, sha256_text(text), ruleset)
    if isinstance(overlay, Mapping):
        src = _mapping_source(overlay, IN_MEMORY_OVERLAY)
        canonical = json.dumps(src.data, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
        return overlay_from_source(src, hashlib.sha256(canonical.encode("utf-8")).hexdigest(), ruleset)
    raise NtmInputError.single(f"got a {type(overlay).__name__}", field="overlay",
                               expected="a file path or a mapping of overlay fields")


def load_inputs(dossier: DossierInput, *, ruleset: str | os.PathLike | None = None, overlay: OverlayInput = None,
                as_of: dt.date | str | None = None, audit_past: bool = False):
    """Read and check everything one evaluation depends on (dossier, the rules, the overlay), without deciding.

    Returns the ``Inputs`` that :func:`evaluate` decides on; useful to evaluate one dossier several ways.
    """
    from ntm.engine.evaluate import gather_loaded

    when = _as_date(as_of, "as_of")
    ld = _loaded_dossier(dossier)
    return gather_loaded(ld, os.fspath(ruleset) if ruleset is not None else None,
                         lambda rs: _loaded_overlay(overlay, rs), when, audit_past=audit_past)


def evaluate(dossier: DossierInput, *, ruleset: str | os.PathLike | None = None, overlay: OverlayInput = None,
             as_of: dt.date | str | None = None, tier: str | None = None, trace: bool = False,
             audit_past: bool = False):
    """Decide which tiers a dossier meets, with every indicator's observed value, threshold, gap and citation.

    >>> import ntm
    >>> o = ntm.evaluate("examples/xa-dat-chuan.yaml")          # doctest: +SKIP
    >>> o.tier("standard").status                               # doctest: +SKIP
    'met'

    ``tier`` keeps only that tier and the tiers it requires; ``trace`` adds the engine's ordered firing list.
    ``audit_past`` applies a level's rules after the level ended (districts after 2025-07-01), to audit a past
    decision; the outcome's ``warnings`` say so. Without it such a dossier is an ``NtmInputError``.
    Returns an :class:`ntm.engine.outcome.Outcome`.
    """
    from ntm.engine.evaluate import evaluate as decide

    inputs = load_inputs(dossier, ruleset=ruleset, overlay=overlay, as_of=as_of, audit_past=audit_past)
    return decide(inputs, trace=trace, tier=tier, as_of=_as_date(as_of, "as_of"))


def evaluate_json(dossier: DossierInput, **options) -> str:
    """:func:`evaluate`, as the canonical JSON text ``ntm evaluate --format json`` prints (byte for byte)."""
    from ntm.engine.evaluate import to_json

    return to_json(evaluate(dossier, **options))


def _scenarios(scenarios, rs) -> list:
    """Scenarios as a mapping {fact: value or None} (one scenario), or a list of mappings
    {id, label?, set?: {fact: value}, unset?: [fact]}, validated like a scenario file."""
    from ntm.engine.whatif import Scenario, ScenarioFile, scenarios_from_model
    from ntm.criteria.validation import validate

    if isinstance(scenarios, Mapping):
        if "set" in scenarios or "unset" in scenarios or "id" in scenarios:
            scenarios = [scenarios]
        else:
            from ntm.engine.outcome import Label

            changes = _plain(scenarios, "scenario")
            text = ", ".join(f"{k}={'∅' if v is None else v}" for k, v in changes.items())
            return [Scenario("api", Label(vi=text, en=text), changes)]
    if not isinstance(scenarios, Sequence) or isinstance(scenarios, (str, bytes)):
        raise NtmInputError.single(f"got a {type(scenarios).__name__}", field="scenarios",
                                   expected="a mapping {fact: value} or a list of scenarios {id, set, unset}")
    src = _mapping_source({"scenarios": list(scenarios)}, "<scenarios>")
    return scenarios_from_model(validate(ScenarioFile, src), src, rs)


def whatif(dossier: DossierInput, scenarios, *, ruleset: str | os.PathLike | None = None,
           overlay: OverlayInput = None, as_of: dt.date | str | None = None):
    """What if the evidence were different? The baseline and each scenario, each on a fresh engine session,
    with the tiers, criteria and indicators that flip. ``scenarios`` is ``{fact: new value or None}`` or a list
    of ``{"id": ..., "set": {...}, "unset": [...]}``. Returns a ``WhatIfResult``."""
    from ntm.engine.whatif import whatif as run

    inputs = load_inputs(dossier, ruleset=ruleset, overlay=overlay, as_of=as_of)
    return run(inputs, _scenarios(scenarios, inputs.ruleset.ruleset), as_of=_as_date(as_of, "as_of"))


def plan(dossier: DossierInput, target: str, *, costs: str | os.PathLike | None = None,
         fixed: Sequence[str] = (), ruleset: str | os.PathLike | None = None, overlay: OverlayInput = None,
         as_of: dt.date | str | None = None):
    """The cheapest exact set of changes that reaches ``target`` for one commune, re-checked by the engine.

    ``costs`` is a cost-model file; ``fixed`` lists facts the plan may not change. Returns a ``PlanResult``
    (``.plan.status``, ``.plan.changes``, ``.plan.verification``): the document ``ntm plan --format json``
    prints, typed. District and folder plans: ``ntm plan`` for now.
    """
    from ntm.engine.plan import plan_unit, unit_document
    from ntm.engine.plan_costs import load_costs

    when = _as_date(as_of, "as_of")
    inputs = load_inputs(dossier, ruleset=ruleset, overlay=overlay, as_of=when)
    if inputs.dossier.dossier.communes:
        raise NtmInputError.single("ntm.plan plans one commune; this dossier lists communes", field="dossier",
                                   hint="use `ntm plan` on the district file for a district plan")
    cm = load_costs(os.fspath(costs), inputs.ruleset.ruleset) if costs is not None else None
    from ntm.engine.plan_result import plan_result

    p = plan_unit(inputs, target, costs=cm, fixed=frozenset(fixed), as_of=when)
    return plan_result(unit_document(inputs, p, cm))


def batch(source: str | os.PathLike, *, ruleset: str | os.PathLike | None = None,
          overlay: str | os.PathLike | None = None, as_of: dt.date | str | None = None, sheet: str | None = None,
          jobs: int = 1, timeout: float = 30.0, isolate: bool = True) -> dict:
    """Evaluate a province's communes from a folder of dossiers, a CSV or an XLSX workbook.

    Returns the batch document (``ntm-batch/1``, the JSON ``ntm batch --format json`` prints): the summary,
    one result per unit and the rows that could not be read (row, column, reason). ``isolate`` runs the
    engine in worker processes, so a crash fails only its units.
    """
    from ntm.batch.run import run_batch

    return run_batch(os.fspath(source), ruleset=os.fspath(ruleset) if ruleset is not None else None,
                     overlay=os.fspath(overlay) if overlay is not None else None, as_of=_as_date(as_of, "as_of"),
                     sheet=sheet, jobs=jobs, timeout=timeout, isolate=isolate)


def verify(record: str | os.PathLike | Mapping[str, Any], *, ruleset: str | os.PathLike | None = None,
           trusted_key: str | os.PathLike | bytes | None = None):
    """Re-run a decision record and say whether it is REPRODUCED, DIFFERENT or TAMPERED (``.status``), with the
    differences. ``trusted_key``: a public key file (or its raw bytes) whose signature the record must carry."""
    from ntm.audit import record as rec_mod
    from ntm.audit.verify import verify as run

    if isinstance(record, (str, os.PathLike)):
        rec = rec_mod.load(os.fspath(record))
    elif isinstance(record, Mapping):
        rec = rec_mod.parse(json.dumps(_plain(record, "record"), ensure_ascii=False, default=str))
    else:
        raise NtmInputError.single(f"got a {type(record).__name__}", field="record",
                                   expected="a record file path or the record as a mapping")
    trusted = trusted_key
    if isinstance(trusted_key, (str, os.PathLike)):
        from ntm.audit.keys import load_public

        trusted = load_public(os.fspath(trusted_key))
    return run(rec, os.fspath(ruleset) if ruleset is not None else None, trusted)


def merge(parts: Sequence[str | os.PathLike], *, code: str, name: str, ruleset: str | os.PathLike | None = None,
          date: dt.date | str | None = None, recognised: Sequence[Any] = (),
          relative_to: str | os.PathLike | None = None):
    """A merged commune's dossier from its parts' dossier files (what ``ntm merge`` writes), as a
    :class:`ntm.criteria.merging.MergeResult`: ``.dossier`` (a mapping), ``.needs_evidence`` (fact, reason),
    ``.combined``. ``recognised``: ``"CODE=TIER:NUMBER:YYYY-MM-DD"`` strings or ``Recognition`` objects; paths in
    the result are relative to ``relative_to`` (the folder the dossier will be written to; default: here)."""
    from ntm.criteria.merging import Recognition, merge_dossiers, parse_recognised

    recs = [r if isinstance(r, Recognition) else parse_recognised(str(r)) for r in recognised]
    where = os.path.join(os.fspath(relative_to) if relative_to is not None else os.getcwd(), "merged.yaml")
    return merge_dossiers([os.fspath(p) for p in parts], code=code, name=name, out_path=where,
                          ruleset=os.fspath(ruleset) if ruleset is not None else None,
                          date=_as_date(date, "date"), recognised=recs)


def rulesets() -> list[RulesetInfo]:
    """The shipped rulesets, oldest period first."""
    from ntm.criteria.loader import all_shipped

    out = []
    for lr in all_shipped():
        rs = lr.ruleset
        out.append(RulesetInfo(rs.id, rs.version, rs.title.vi, rs.title.en, rs.effective.start, rs.effective.end,
                               tuple(ls.level for ls in rs.levels), lr.sha256, lr.path))
    return sorted(out, key=lambda r: (r.effective_from, r.id))
