"""Evaluate a dossier: pick the rules in force, resolve thresholds, run durable-rules, explain the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from ntm.criteria.dossier import LoadedDossier, load_dossier, observations
from ntm.criteria.loader import LoadedRuleset, load_ruleset, ruleset_for_date
from ntm.criteria.overlay import LoadedOverlay, load_overlay
from ntm.criteria.resolve import Resolved, resolve
from ntm.engine import outcome as out
from ntm.engine.run import run_engine
from ntm.errors import NtmInputError


def durable_version() -> str:
    try:
        return version("durable-rules")
    except PackageNotFoundError:  # pragma: no cover - only without an installed distribution
        return "unknown"


@dataclass(frozen=True)
class Inputs:
    """Everything one evaluation depends on: auditors can reproduce a decision from exactly this."""

    dossier: LoadedDossier
    ruleset: LoadedRuleset
    overlay: LoadedOverlay | None


def gather(dossier_path: str, ruleset: str | None = None, overlay: str | None = None) -> Inputs:
    ld = load_dossier(dossier_path)
    d = ld.dossier
    ref = ruleset or d.ruleset
    if ref:
        lr = load_ruleset(ref)
    else:
        try:
            lr = ruleset_for_date(d.assessment.effective_date, d.unit.level)
        except NtmInputError as e:
            for p in e.problems:
                p.file, p.line = ld.path, ld.source.line_of(("assessment",))
            raise
    lo = load_overlay(overlay, lr.ruleset) if overlay else None
    return Inputs(ld, lr, lo)


def resolved_for(inp: Inputs) -> Resolved:
    d = inp.dossier.dossier
    return resolve(inp.ruleset.ruleset, d.unit.level, d.unit.region, d.assessment.effective_year,
                   tuple(d.unit.flags), inp.overlay)


def evaluate(inp: Inputs, *, extra: dict | None = None, trace: bool = False, tier: str | None = None) -> out.Outcome:
    rs = inp.ruleset.ruleset
    obs = observations(inp.dossier, rs, extra)
    res = resolved_for(inp)
    if tier is not None and tier not in [t.id for t in res.tiers]:
        from ntm.errors import did_you_mean

        ids = [t.id for t in res.tiers]
        raise NtmInputError.single(f"unknown tier '{tier}'", field="--tier", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(tier, ids))
    run = run_engine(res, obs)
    d = inp.dossier.dossier
    u = d.unit
    lo = inp.overlay
    result = out.build(
        res, obs, run.verdict, rs.fact_map(),
        unit=out.UnitOut(level=u.level, code=u.code, name=u.name, province=u.province, district=u.district,
                         region=u.region, flags=sorted(u.flags)),
        assessment=(d.assessment.effective_year, d.assessment.date),
        ruleset=out.RulesetOut(id=rs.id, version=rs.version, sha256=inp.ruleset.sha256,
                               title=out.Label(vi=rs.title.vi, en=rs.title.en)),
        overlay=None if lo is None else out.OverlayOut(
            id=lo.overlay.overlay.id, title=out.Label(vi=lo.overlay.overlay.title.vi, en=lo.overlay.overlay.title.en),
            province=lo.overlay.overlay.province, sha256=lo.sha256, illustrative=lo.overlay.overlay.illustrative),
        engine=out.EngineOut(name="durable-rules", version=durable_version(), compiled_sha256=run.ruleset_sha256,
                             rules=run.rules, firings=len(run.trace), trace=list(run.trace) if trace else None),
    )
    if tier is not None:
        keep = _with_prerequisites(res, tier)
        result = result.model_copy(update={"tiers": [t for t in result.tiers if t.id in keep]})
    return result


def _with_prerequisites(res: Resolved, tier: str) -> set[str]:
    keep, cur = set(), tier
    while cur:
        keep.add(cur)
        cur = res.tier(cur).requires
    return keep


def evaluate_file(dossier_path: str, *, ruleset: str | None = None, overlay: str | None = None,
                  trace: bool = False, tier: str | None = None) -> out.Outcome:
    """The library entry point: a dossier file in, a typed Outcome out."""
    return evaluate(gather(dossier_path, ruleset, overlay), trace=trace, tier=tier)


def to_json(outcome: out.Outcome) -> str:
    """Canonical JSON: fixed key order, UTF-8, no floats beyond 6 decimals: byte-identical run to run."""
    return json.dumps(outcome.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2) + "\n"
