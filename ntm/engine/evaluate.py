"""Evaluate a dossier: pick the rules in force, resolve thresholds, run durable-rules, explain the result."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from dataclasses import dataclass

from ntm.criteria.dossier import LoadedDossier, load_dossier, observations
from ntm.criteria.loader import LoadedRuleset, load_ruleset, ruleset_for_date
from ntm.criteria.overlay import LoadedOverlay, load_overlay
from ntm.criteria.resolve import Resolved, resolve
from ntm.engine import outcome as out
from ntm.engine.run import run_engine
from ntm.errors import NtmInputError


@functools.lru_cache(maxsize=1)
def durable_version() -> str:
    """Read once, from the installed distribution's dist-info folder beside the engine module: importing
    importlib.metadata and scanning every distribution costs ~20 ms of each command's start-up."""
    import durable_rules_engine

    site = os.path.dirname(os.path.abspath(durable_rules_engine.__file__))
    try:
        found = sorted(n for n in os.listdir(site) if n.startswith("durable_rules-") and n.endswith(".dist-info"))
    except OSError:
        found = []
    if len(found) == 1:
        return found[0][len("durable_rules-"):-len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

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


def gather(dossier_path: str, ruleset: str | None = None, overlay: str | None = None,
           as_of: dt.date | None = None) -> Inputs:
    """Read a dossier and pick the rules: an explicit ruleset, the dossier's own, or the one in force on the
    as-of date (default: the assessment date)."""
    ld = load_dossier(dossier_path)
    d = ld.dossier
    ref = ruleset or d.ruleset
    if ref:
        lr = load_ruleset(ref)
    else:
        try:
            lr = ruleset_for_date(as_of or d.assessment.effective_date, d.unit.level)
        except NtmInputError as e:
            for p in e.problems:
                if as_of is None:
                    p.file, p.line = ld.path, ld.source.line_of(("assessment",))
                else:
                    p.field = "--as-of"
            raise
    lo = load_overlay(overlay, lr.ruleset) if overlay else None
    if lo is not None and (lo.overlay.facts or lo.overlay.indicators):
        from ntm.criteria.loader import LoadedRuleset
        from ntm.criteria.overlay import merge

        lr = LoadedRuleset(merge(lr.ruleset, lo.overlay), lr.path, lr.sha256)  # the file hash stays the national one
    return Inputs(ld, lr, lo)


def resolved_for(inp: Inputs, as_of: dt.date | None = None) -> Resolved:
    d = inp.dossier.dossier
    return resolve(inp.ruleset.ruleset, d.unit.level, d.unit.region, d.assessment.effective_year,
                   tuple(d.unit.flags), inp.overlay, as_of or d.assessment.effective_date)


# facts a district's evaluation computes from its list of communes (never typed in by hand)
COMMUNE_COUNT_FACTS = {
    "communes_count": None,
    "communes_standard_count": "standard",
    "communes_advanced_count": "advanced",
    "communes_model_count": "model",
}
LADDER = ("none", "standard", "advanced", "model")


def district_communes(inp: Inputs, as_of: dt.date | None) -> tuple[list[out.CommuneOut], dict]:
    """Evaluate (or take the declared status of) every commune of a district, through the engine."""
    d = inp.dossier.dossier
    base = os.path.dirname(os.path.abspath(inp.dossier.path))
    result, seen = [], set()
    for i, ref in enumerate(d.communes):
        where = ("communes", i)
        if ref.code in seen:
            raise NtmInputError.single(f"commune {ref.code} is listed twice", file=inp.dossier.path,
                                       line=inp.dossier.source.line_of(where), field=f"communes[{i}].code")
        seen.add(ref.code)
        if ref.dossier is not None:
            path = os.path.join(base, ref.dossier)
            cin = gather(path, inp.ruleset.path, inp.overlay.path if inp.overlay else None)
            cu = cin.dossier.dossier.unit
            if cu.level != "commune" or cu.code != ref.code:
                raise NtmInputError.single(
                    f"the dossier is for {cu.level} {cu.code}, but the district lists commune {ref.code} here",
                    file=inp.dossier.path, line=inp.dossier.source.line_of(where + ("dossier",)),
                    field=f"communes[{i}].dossier")
            o = evaluate(cin, as_of=as_of)
            tiers = {t.id: t.status for t in o.tiers}
            met = [t for t in LADDER[1:] if tiers.get(t) == "met"]
            result.append(out.CommuneOut(code=ref.code, name=ref.name, source="dossier", dossier=ref.dossier,
                                         decision_number=None, decision_date=None, tiers=tiers,
                                         highest_tier=met[-1] if met else None,
                                         holding_back=tiers.get("standard") != "met"))
        else:
            rank = LADDER.index(ref.status)
            tiers = {t: ("met" if LADDER.index(t) <= rank else "not_met") for t in LADDER[1:]}
            result.append(out.CommuneOut(code=ref.code, name=ref.name, source="declared", dossier=None,
                                         decision_number=ref.decision.number if ref.decision else None,
                                         decision_date=ref.decision.date if ref.decision else None, tiers=tiers,
                                         highest_tier=None if rank == 0 else ref.status, holding_back=rank == 0))
    counts = {"communes_count": len(result)}
    for fid, t in COMMUNE_COUNT_FACTS.items():
        if t is not None:
            counts[fid] = sum(1 for c in result if c.tiers.get(t) == "met")
    return result, counts


def evaluate(inp: Inputs, *, extra: dict | None = None, trace: bool = False, tier: str | None = None,
             as_of: dt.date | None = None) -> out.Outcome:
    rs = inp.ruleset.ruleset
    d0 = inp.dossier.dossier
    communes = None
    if d0.communes:
        communes, counts = district_communes(inp, as_of)
        given = [f for f in counts if f in d0.facts]
        if given:
            raise NtmInputError.single(f"'{given[0]}' is computed from the communes list; do not give it",
                                       file=inp.dossier.path, line=inp.dossier.source.line_of(("facts", given[0])),
                                       field=f"facts.{given[0]}")
        known = rs.fact_map()
        extra = {**{k: v for k, v in counts.items() if k in known}, **(extra or {})}
    obs = observations(inp.dossier, rs, extra)
    res = resolved_for(inp, as_of)
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
        ruleset=out.RulesetOut(id=rs.id, version=rs.version, version_in_force=res.version, as_of=res.as_of,
                               sha256=inp.ruleset.sha256, title=out.Label(vi=rs.title.vi, en=rs.title.en)),
        overlay=None if lo is None else out.OverlayOut(
            id=lo.overlay.overlay.id, title=out.Label(vi=lo.overlay.overlay.title.vi, en=lo.overlay.overlay.title.en),
            province=lo.overlay.overlay.province, sha256=lo.sha256, illustrative=lo.overlay.overlay.illustrative),
        engine=out.EngineOut(name="durable-rules", version=durable_version(), compiled_sha256=run.ruleset_sha256,
                             rules=run.rules, firings=len(run.trace), trace=list(run.trace) if trace else None),
        communes=communes,
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
                  trace: bool = False, tier: str | None = None, as_of: dt.date | None = None) -> out.Outcome:
    """The library entry point: a dossier file in, a typed Outcome out."""
    return evaluate(gather(dossier_path, ruleset, overlay, as_of), trace=trace, tier=tier, as_of=as_of)


def to_json(outcome: out.Outcome) -> str:
    """Canonical JSON: fixed key order, UTF-8, no floats beyond 6 decimals: byte-identical run to run."""
    return json.dumps(outcome.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2) + "\n"
