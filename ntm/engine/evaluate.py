"""Evaluate a dossier: pick the rules in force, resolve thresholds, run durable-rules, explain the result."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from dataclasses import dataclass
from fractions import Fraction

from ntm.criteria.members import member_path
from ntm.criteria.dossier import LoadedDossier, load_dossier, observations
from ntm.criteria.loader import LoadedRuleset, load_ruleset, ruleset_for_date
from ntm.criteria.overlay import LoadedOverlay, load_overlay
from ntm.criteria.resolve import Resolved, in_force, resolve
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
    audit_past: bool = False  # the user asked for a level's old rules after it ended (to audit a past decision)
    root: str | None = None  # member dossiers must be inside this folder (None: anywhere; see criteria.members)


AUDIT_PAST = "--audit-past"


def check_level_period(ld: LoadedDossier, rs, when: dt.date, audit_past: bool, as_of_given: bool) -> None:
    """A level that no longer exists on the day judged (districts after 2025-07-01) is an error, unless the
    user explicitly asks for the old rules to audit a past decision."""
    level = ld.dossier.unit.level
    ls = rs.level(level)
    if ls is None or ls.effective is None or in_force(ls.effective, when) or audit_past:
        return
    e = ls.effective
    span = f"{e.start} → {e.end or '…'}"
    if when < e.start:
        msg = f"the {level} level of ruleset {rs.id} is in force only from {e.start} ({span}); the dossier is judged on {when}"
    else:
        why = f": {ls.end_note.en}" if ls.end_note else ""
        cite = f" ({ls.end_citation.render()})" if ls.end_citation else ""
        msg = f"the {level} level of ruleset {rs.id} ended on {e.end}{why}{cite}; the dossier is judged on {when}"
    field = "--as-of" if as_of_given else "assessment.date"
    raise NtmInputError.single(
        msg, file=None if as_of_given else ld.path,
        line=None if as_of_given else ld.source.line_of(("assessment",)), field=field,
        expected=f"a date from {span}",
        hint=f"to audit a decision taken under the old {level} rules, add {AUDIT_PAST} to ntm evaluate or "
             f"ntm report (the result then says it applies rules no longer in force)")


def gather(dossier_path: str, ruleset: str | None = None, overlay: str | None = None,
           as_of: dt.date | None = None, *, audit_past: bool = False, confine: bool | str | None = True) -> Inputs:
    """Read a dossier and pick the rules: an explicit ruleset, the dossier's own, or the one in force on the
    as-of date (default: the assessment date). `confine`: where member dossiers may be (criteria.members)."""
    return gather_loaded(load_dossier(dossier_path), ruleset, overlay, as_of, audit_past=audit_past,
                         confine=confine)


def gather_loaded(ld: LoadedDossier, ruleset: str | None = None, overlay=None,
                  as_of: dt.date | None = None, *, audit_past: bool = False,
                  confine: bool | str | None = True) -> Inputs:
    """`gather` for a dossier already read (from a file or from memory). `overlay` is a path, or a function
    that loads the overlay for the chosen ruleset (in-memory overlays)."""
    from ntm.criteria.members import root_for

    root = root_for(ld.path, confine)
    d = ld.dossier
    ref = ruleset or d.ruleset
    when = as_of or d.assessment.effective_date
    if ref:
        lr = load_ruleset(ref)
    else:
        try:
            lr = ruleset_for_date(when, d.unit.level, audit_past=audit_past)
        except NtmInputError as e:
            for p in e.problems:
                if as_of is None:
                    p.file, p.line = ld.path, ld.source.line_of(("assessment",))
                else:
                    p.field = "--as-of"
            raise
    check_level_period(ld, lr.ruleset, when, audit_past, as_of is not None)
    if callable(overlay):
        lo = overlay(lr.ruleset)
    else:
        lo = load_overlay(overlay, lr.ruleset) if overlay else None
    if lo is not None and (lo.overlay.facts or lo.overlay.indicators):
        from ntm.criteria.loader import LoadedRuleset
        from ntm.criteria.overlay import merge

        lr = LoadedRuleset(merge(lr.ruleset, lo.overlay), lr.path, lr.sha256)  # the file hash stays the national one
    return Inputs(ld, lr, lo, audit_past, root)


def resolved_for(inp: Inputs, as_of: dt.date | None = None, obs: dict | None = None, group=None) -> Resolved:
    d = inp.dossier.dossier
    region = group.group if group is not None else unit_region(inp, obs)
    return resolve(inp.ruleset.ruleset, d.unit.level, region, d.assessment.effective_year,
                   tuple(d.unit.flags), inp.overlay, as_of or d.assessment.effective_date)


def unit_region(inp: Inputs, obs: dict | None = None) -> str:
    """The unit's region, or its commune group placed from its facts (51/2025) when the ruleset defines groups."""
    g = commune_group(inp, obs)
    return g.group if g is not None else inp.dossier.dossier.unit.region


def commune_group(inp: Inputs, obs: dict | None = None):
    """The commune group decision (through durable-rules), or None when the ruleset has no group rules."""
    rs, d = inp.ruleset.ruleset, inp.dossier.dossier
    if rs.commune_groups is None or d.unit.level != "commune":
        return None
    from ntm.engine.groups import decide

    if obs is None:
        obs = observations(inp.dossier, rs)
    src = inp.dossier.source
    line = src.line_of(("unit", "region")) if d.unit.region is not None else src.line_of(("facts",))
    return decide(rs, obs, d.unit.region, inp.overlay, path=inp.dossier.path, line=line)


# facts a district's evaluation computes from its list of communes (never typed in by hand)
COMMUNE_COUNT_FACTS = {
    "communes_count": None,
    "communes_standard_count": "standard",
    "communes_advanced_count": "advanced",
    "communes_model_count": "model",
}
LADDER = ("none", "standard", "advanced", "model")
# what else a district computes from its lists (320 App. I): the least satisfied commune, its townships
DISTRICT_LIST_FACTS = ("communes_satisfaction_min_pct", "district_has_townships", "townships_count",
                       "townships_civilised_count")
COMMUNE_SATISFACTION_FACT = "resident_satisfaction_pct"  # a commune dossier's own satisfaction figure
# what a province computes from its districts, towns and communes (321/QĐ-TTg)
PROVINCE_LIST_FACTS = ("districts_count", "districts_standard_count", "districts_advanced_count",
                       "province_has_towns", "towns_count", "towns_completed_count", "province_communes_count",
                       "province_communes_advanced_count")


def _L(vi: str, en: str) -> out.Label:
    return out.Label.model_construct(vi=vi, en=en)


def _commune_satisfaction(ref, o: out.Outcome | None):
    """The commune's satisfaction: given on the district's list, else read from the commune's own dossier."""
    if ref.satisfaction_pct is not None:
        return ref.satisfaction_pct
    if o is None:
        return None
    for t in o.tiers + ([o.recognition] if o.recognition else []):
        for c in t.criteria:
            for i in c.indicators:
                for k in i.conditions:
                    if k.fact == COMMUNE_SATISFACTION_FACT and k.observed is not None:
                        return k.observed
    return None


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
            path = member_path(inp.dossier, inp.root, ref.dossier, where + ("dossier",), f"communes[{i}].dossier")
            cin = gather(path, inp.ruleset.path, (lambda _rs, lo=inp.overlay: lo) if inp.overlay else None,
                         confine=inp.root or False)
            cu = cin.dossier.dossier.unit
            if cu.level != "commune" or cu.code != ref.code:
                raise NtmInputError.single(
                    f"the dossier is for {cu.level} {cu.code}, but the district lists commune {ref.code} here",
                    file=inp.dossier.path, line=inp.dossier.source.line_of(where + ("dossier",)),
                    field=f"communes[{i}].dossier")
            o = evaluate(cin, as_of=as_of)
            tiers = {t.id: t.status for t in o.tiers}
            met = [t for t in LADDER[1:] if tiers.get(t) == "met"]
            st = tiers.get("standard")
            reasons = [] if st == "met" else [_L(
                "chưa đạt chuẩn nông thôn mới" + (" (chưa xác định được)" if st == "indeterminate" else ""),
                "not NTM" + (" (undecided: see its dossier)" if st == "indeterminate" else ""))]
            result.append(out.CommuneOut(code=ref.code, name=ref.name, source="dossier", dossier=ref.dossier,
                                         decision_number=None, decision_date=None, tiers=tiers,
                                         highest_tier=met[-1] if met else None,
                                         holding_back=bool(reasons), satisfaction_pct=_commune_satisfaction(ref, o),
                                         holding_back_reasons=reasons))
        else:
            rank = LADDER.index(ref.status)
            reasons = []
            start = inp.ruleset.ruleset.effective.start
            if rank == 0:
                reasons.append(_L("chưa được công nhận đạt chuẩn nông thôn mới", "not recognised as NTM"))
            elif ref.decision and ref.decision.date < start:
                # 320 App. I counts communes that are NTM under the commune set of this period
                rank = 0
                reasons.append(_L(
                    f"công nhận ngày {ref.decision.date} theo bộ tiêu chí trước {start}: chưa được công nhận theo "
                    f"bộ tiêu chí của {inp.ruleset.ruleset.id}",
                    f"recognised on {ref.decision.date}, under the set in force before {start}: not yet recognised "
                    f"under the {inp.ruleset.ruleset.id} set"))
            tiers = {t: ("met" if LADDER.index(t) <= rank else "not_met") for t in LADDER[1:]}
            result.append(out.CommuneOut(code=ref.code, name=ref.name, source="declared", dossier=None,
                                         decision_number=ref.decision.number if ref.decision else None,
                                         decision_date=ref.decision.date if ref.decision else None, tiers=tiers,
                                         highest_tier=None if rank == 0 else ref.status, holding_back=bool(reasons),
                                         satisfaction_pct=ref.satisfaction_pct, holding_back_reasons=reasons))
    counts = {"communes_count": len(result)}
    for fid, t in COMMUNE_COUNT_FACTS.items():
        if t is not None:
            counts[fid] = sum(1 for c in result if c.tiers.get(t) == "met")
    sats = [c.satisfaction_pct for c in result]
    if result and all(v is not None for v in sats):
        counts["communes_satisfaction_min_pct"] = min(sats, key=lambda v: Fraction(str(v)))
    return result, counts


def district_townships(d) -> tuple[list[out.TownshipOut] | None, dict]:
    """The district's townships (thị trấn) and what they give the engine (320 App. I: 100% civilised)."""
    if d.townships is None:
        return None, {}
    seen, rows = set(), []
    for t in d.townships:
        if t.code in seen:
            raise NtmInputError.single(f"township {t.code} is listed twice", field="townships")
        seen.add(t.code)
        rows.append(out.TownshipOut(code=t.code, name=t.name, civilised=t.civilised,
                                    decision_number=t.decision.number if t.decision else None,
                                    decision_date=t.decision.date if t.decision else None,
                                    holding_back=not t.civilised))
    facts = {"district_has_townships": bool(rows)}
    if rows:
        facts |= {"townships_count": len(rows), "townships_civilised_count": sum(r.civilised for r in rows)}
    return rows, facts


def _satisfaction_reasons(communes: list[out.CommuneOut], res: Resolved) -> list[out.CommuneOut]:
    """Name the communes below the resolved per-commune satisfaction threshold (and those without a figure)."""
    ths = [c.threshold.value for t in res.tiers for cr in t.criteria for i in cr.indicators for c in i.conditions
           if c.fact == "communes_satisfaction_min_pct" and c.threshold.value is not None]
    if not ths and not any(c.fact == "communes_satisfaction_min_pct" for t in res.tiers for cr in t.criteria
                           for i in cr.indicators for c in i.conditions):
        return communes
    fixed = []
    for c in communes:
        reasons = list(c.holding_back_reasons)
        if c.satisfaction_pct is None:
            reasons.append(_L("chưa có tỷ lệ hài lòng của người dân (satisfaction_pct)",
                              "no residents' satisfaction figure (satisfaction_pct)"))
        elif ths and Fraction(str(c.satisfaction_pct)) < Fraction(max(ths)):
            reasons.append(_L(f"tỷ lệ hài lòng {c.satisfaction_pct}% dưới {max(ths)}%",
                              f"satisfaction {c.satisfaction_pct}% below {max(ths)}%"))
        fixed.append(c.model_copy(update={"holding_back_reasons": reasons, "holding_back": bool(reasons)}))
    return fixed


def province_members(inp: Inputs, as_of: dt.date | None) -> tuple[list[out.DistrictOut], dict]:
    """Evaluate (or take the declared status of) every district, town and provincial city of a province."""
    d = inp.dossier.dossier
    base = os.path.dirname(os.path.abspath(inp.dossier.path))
    rows, seen = [], set()
    for i, ref in enumerate(d.districts):
        where = ("districts", i)
        line = inp.dossier.source.line_of(where)
        if ref.code in seen:
            raise NtmInputError.single(f"district {ref.code} is listed twice", file=inp.dossier.path, line=line,
                                       field=f"districts[{i}].code")
        seen.add(ref.code)
        if ref.dossier is not None:
            dpath = member_path(inp.dossier, inp.root, ref.dossier, ("districts", i, "dossier"),
                                f"districts[{i}].dossier")
            din = gather(dpath, inp.ruleset.path, inp.overlay.path if inp.overlay else None, as_of,
                         audit_past=inp.audit_past, confine=inp.root or False)
            du = din.dossier.dossier.unit
            kind = "town" if "town" in du.flags else "district"
            if du.level != "district" or du.code != ref.code or kind != ref.kind:
                raise NtmInputError.single(
                    f"the dossier is for {du.level} {du.code} ({kind}), but the province lists {ref.kind} {ref.code} here",
                    file=inp.dossier.path, line=inp.dossier.source.line_of(where + ("dossier",)),
                    field=f"districts[{i}].dossier")
            o = evaluate(din, as_of=as_of)
            tiers = {t.id: t.status for t in o.tiers}
            if kind == "town":
                st = tiers.get("town_completed", "indeterminate")
                status = {"met": "completed", "not_met": "none"}.get(st, "indeterminate")
            else:
                std = "met" if "met" in (tiers.get("standard"), tiers.get("special_standard")) else (
                    tiers.get("standard") or tiers.get("special_standard") or "indeterminate")
                status = ("advanced" if tiers.get("advanced") == "met" else "standard") if std == "met" else (
                    "none" if std == "not_met" else "indeterminate")
            rows.append(out.DistrictOut(code=ref.code, name=ref.name, kind=kind, source="dossier", dossier=ref.dossier,
                                        decision_number=None, decision_date=None, tiers=tiers, status=status,
                                        holding_back=status in ("none", "indeterminate")))
        else:
            rows.append(out.DistrictOut(code=ref.code, name=ref.name, kind=ref.kind, source="declared", dossier=None,
                                        decision_number=ref.decision.number if ref.decision else None,
                                        decision_date=ref.decision.date if ref.decision else None, tiers={},
                                        status=ref.status, holding_back=ref.status == "none"))
    facts: dict = {}
    if rows:
        dists = [r for r in rows if r.kind == "district"]
        towns = [r for r in rows if r.kind == "town"]
        if dists:
            facts |= {"districts_count": len(dists),
                      "districts_standard_count": sum(r.status in ("standard", "advanced") for r in dists),
                      "districts_advanced_count": sum(r.status == "advanced" for r in dists)}
        facts["province_has_towns"] = bool(towns)
        if towns:
            facts |= {"towns_count": len(towns), "towns_completed_count": sum(r.status == "completed" for r in towns)}
    return rows, facts


def _check_lists(inp: Inputs) -> None:
    """Lists belong to the level that consumes them: communes to a district or province, townships to a
    district, districts to a province."""
    d = inp.dossier.dossier
    level = d.unit.level
    for key, given, levels in (("communes", bool(d.communes), ("district", "province")),
                               ("townships", d.townships is not None, ("district",)),
                               ("districts", bool(d.districts), ("province",))):
        if given and level not in levels:
            raise NtmInputError.single(f"a {level} dossier has no '{key}' list", file=inp.dossier.path,
                                       line=inp.dossier.source.line_of((key,)), field=key,
                                       expected=f"'{key}' only in a {' or '.join(levels)} dossier")


def period_warnings(inp: Inputs, when: dt.date) -> list[out.WarningOut]:
    """What the reader must see first: rules applied outside their period, a level applied after it ended."""
    rs = inp.ruleset.ruleset
    warns = []
    e = rs.effective
    if not in_force(e, when):
        span = f"{e.start} → {e.end or '…'}"
        warns.append(out.WarningOut.model_construct(code="ruleset_not_in_force", text=_L(
            f"Bộ tiêu chí {rs.id} chỉ có hiệu lực {span}; ngày áp dụng {when} nằm ngoài thời hạn này: đây không "
            f"phải là đánh giá theo quy định có hiệu lực vào ngày đó",
            f"Ruleset {rs.id} is in force {span}; {when} is outside that period: this is not an assessment under "
            f"the rules in force that day")))
    ls = rs.level(inp.dossier.dossier.unit.level)
    if ls is not None and ls.effective is not None and not in_force(ls.effective, when):
        le = ls.effective
        span = f"{le.start} → {le.end or '…'}"
        note_vi = f"{ls.end_note.vi}. " if ls.end_note else ""
        note_en = f"{ls.end_note.en}. " if ls.end_note else ""
        warns.append(out.WarningOut.model_construct(code="level_not_in_force", text=_L(
            f"{note_vi}Quy định cấp {ls.level} của {rs.id} chỉ áp dụng {span}; được áp dụng cho ngày {when} theo "
            f"yêu cầu ({AUDIT_PAST}) chỉ để kiểm tra lại một quyết định trước đây",
            f"{note_en}The {ls.level} rules of {rs.id} apply {span}; applied to {when} on request ({AUDIT_PAST}) "
            f"only to audit a past decision")))
    return warns


@dataclass(frozen=True)
class Decision:
    """What the engine decided for a dossier, before it is explained: `evaluate` builds the Outcome from it;
    the batch and the planner, which read only statuses, use it as it is."""

    res: Resolved
    obs: dict
    run: object  # ntm.engine.run.EngineRun
    communes: list | None
    townships: list | None
    districts: list | None
    group: object = None  # the commune group decision (51/2025), when the ruleset places communes in groups


def evaluate(inp: Inputs, *, extra: dict | None = None, trace: bool = False, tier: str | None = None,
             as_of: dt.date | None = None) -> out.Outcome:
    dec = decide(inp, extra=extra, tier=tier, as_of=as_of)
    res, obs, run = dec.res, dec.obs, dec.run
    communes, townships, districts = dec.communes, dec.townships, dec.districts
    rs = inp.ruleset.ruleset
    d = inp.dossier.dossier
    u = d.unit
    lo = inp.overlay
    result = out.build(
        res, obs, run.verdict, rs.fact_map(),
        unit=out.UnitOut(level=u.level, code=u.code, name=u.name, province=u.province, district=u.district,
                         region=res.region, flags=sorted(u.flags)),
        assessment=(d.assessment.effective_year, d.assessment.date),
        ruleset=out.RulesetOut(id=rs.id, version=rs.version, version_in_force=res.version, as_of=res.as_of,
                               sha256=inp.ruleset.sha256, title=out.Label(vi=rs.title.vi, en=rs.title.en),
                               effective_from=rs.effective.start, effective_to=rs.effective.end,
                               in_force=in_force(rs.effective, res.as_of)),
        overlay=None if lo is None else out.OverlayOut(
            id=lo.overlay.overlay.id, title=out.Label(vi=lo.overlay.overlay.title.vi, en=lo.overlay.overlay.title.en),
            province=lo.overlay.overlay.province, sha256=lo.sha256, illustrative=lo.overlay.overlay.illustrative),
        engine=out.EngineOut(name="durable-rules", version=durable_version(), compiled_sha256=run.ruleset_sha256,
                             rules=run.rules, firings=len(run.trace), trace=list(run.trace) if trace else None),
        communes=communes, townships=townships, districts=districts, warnings=period_warnings(inp, res.as_of),
    )
    result = _law26(result, inp, res, dec.group, as_of)
    if tier is not None:
        result = only_tiers(result, _with_prerequisites(res, tier))
    return result


def only_tiers(result: out.Outcome, keep) -> out.Outcome:
    """The outcome of `--tier`: the tiers asked for, and a summary that names no other tier (the summary is
    the engine's verdicts on the kept tiers, counted again)."""
    tiers = [t for t in result.tiers if t.id in keep]
    recognition = result.recognition if result.recognition is not None and result.recognition.id in keep else None
    met = [t.id for t in tiers if t.status == "met"]
    summary = result.summary.model_copy(update={
        "tiers_met": met, "highest_tier": met[-1] if met else None,
        "decided_by_provisional": any(t.decided_by_provisional for t in tiers),
        "recognition": recognition.status if recognition else None})
    return result.model_copy(update={"tiers": tiers, "recognition": recognition, "summary": summary})


def decide(inp: Inputs, *, extra: dict | None = None, tier: str | None = None,
           as_of: dt.date | None = None) -> Decision:
    """Validate, compute the facts the lists give, resolve and run the engine: `evaluate` minus the
    explanation."""
    rs = inp.ruleset.ruleset
    d0 = inp.dossier.dossier
    when = as_of or d0.assessment.effective_date
    check_level_period(inp.dossier, rs, when, inp.audit_past, as_of is not None)
    communes = townships = districts = None
    computed: dict = {}
    _check_lists(inp)
    if d0.communes:
        communes, counts = district_communes(inp, as_of)
        if d0.unit.level == "province":
            # the province's own list of communes: only the counts its rules test (321: share advanced)
            counts = {"province_communes_count": counts["communes_count"],
                      "province_communes_advanced_count": counts["communes_advanced_count"]}
            # 321 asks a share of advanced communes, not that each is NTM: no commune "holds the province back"
            communes = [c.model_copy(update={"holding_back": False, "holding_back_reasons": []}) for c in communes]
        computed |= counts
    if d0.unit.level == "district":
        townships, tcounts = district_townships(d0)
        computed |= tcounts
    if d0.districts:
        districts, pcounts = province_members(inp, as_of)
        computed |= pcounts
    forbidden = {}
    if d0.communes:
        names = (["province_communes_count", "province_communes_advanced_count"] if d0.unit.level == "province"
                 else list(COMMUNE_COUNT_FACTS) + ["communes_satisfaction_min_pct"])
        forbidden |= dict.fromkeys(names, "communes")
    if d0.townships is not None:
        forbidden |= dict.fromkeys(DISTRICT_LIST_FACTS[1:], "townships")
    if d0.districts:
        forbidden |= {k: "districts" for k in PROVINCE_LIST_FACTS if not k.startswith("province_communes")}
    given = [f for f in forbidden if f in d0.facts]
    if given:
        f = given[0]
        raise NtmInputError.single(f"'{f}' is computed from the {forbidden[f]} list; do not give it",
                                   file=inp.dossier.path, line=inp.dossier.source.line_of(("facts", f)),
                                   field=f"facts.{f}")
    if computed:
        known = rs.fact_map()
        extra = {**{k: v for k, v in computed.items() if k in known}, **(extra or {})}
    obs = observations(inp.dossier, rs, extra)
    group = commune_group(inp, obs)
    res = resolved_for(inp, as_of, obs, group)
    if communes is not None and d0.unit.level == "district":
        communes = _satisfaction_reasons(communes, res)
    if tier is not None and tier not in [t.id for t in res.tiers]:
        from ntm.errors import did_you_mean

        ids = [t.id for t in res.tiers]
        raise NtmInputError.single(f"unknown tier '{tier}'", field="--tier", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(tier, ids))
    return Decision(res, obs, run_engine(res, obs), communes, townships, districts, group)


def _law26(result: out.Outcome, inp: Inputs, res: Resolved, group, as_of) -> out.Outcome:
    """The 2026–2030 additions: commune group, what is not transcribed, a merged commune's status."""
    from ntm.engine import law26

    update = {}
    if group is not None:
        update["commune_group"] = law26.group_out(inp.ruleset.ruleset, group)
    tr = law26.transcription_out(inp.ruleset.ruleset, res, inp.overlay)
    if tr:
        update["transcription"] = tr
    if inp.dossier.dossier.merged_from:
        update["merged"] = law26.merged_out(inp, as_of)
    return result.model_copy(update=update) if update else result


def _with_prerequisites(res: Resolved, tier: str) -> set[str]:
    keep, cur = set(), tier
    while cur:
        keep.add(cur)
        cur = res.tier(cur).requires
    return keep


def evaluate_file(dossier_path: str, *, ruleset: str | None = None, overlay: str | None = None,
                  trace: bool = False, tier: str | None = None, as_of: dt.date | None = None,
                  audit_past: bool = False) -> out.Outcome:
    """The library entry point: a dossier file in, a typed Outcome out."""
    return evaluate(gather(dossier_path, ruleset, overlay, as_of, audit_past=audit_past), trace=trace, tier=tier,
                    as_of=as_of)


def to_json(outcome: out.Outcome) -> str:
    """Canonical JSON: fixed key order, UTF-8, no floats beyond 6 decimals: byte-identical run to run."""
    return json.dumps(outcome.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2) + "\n"
