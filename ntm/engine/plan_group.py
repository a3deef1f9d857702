"""Plans for many communes: a district (its commune list) or a province (a folder of commune dossiers).

Each commune with a dossier is planned on its own (`plan.plan_unit`, re-evaluated through the engine); declared
statuses without a dossier cannot be planned ("needs a dossier"). Communes are listed cheapest first; a
district's own requirement on the share of communes (e.g. 100% standard) says how many must be lifted, and the
district itself is then re-planned and re-evaluated with the lifted communes counted.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from fractions import Fraction
from typing import Literal

from ntm.engine.evaluate import (
    COMMUNE_COUNT_FACTS,
    LADDER,
    Inputs,
    evaluate,
    gather,
    resolved_for,
)
from ntm.engine.outcome import Label, Num, Out, number
from ntm.engine.plan import (
    SCHEMA,
    STEP,
    TIE_RULE,
    Planner,
    UnitPlan,
    chain,
    engine_verdict,
    plan_unit,
    plan_values,
    source_info,
)
from ntm.engine.plan_budget import partial, select
from ntm.engine.plan_costs import LoadedCosts
from ntm.engine.plan_targets import LoadedTargets
from ntm.errors import NtmInputError

_RANK = {"already_met": 0, "reachable": 1, "conditional": 2, "blocked_by_missing_threshold": 3, "unreachable": 4,
         "needs_dossier": 5}


class CommuneLine(Out):
    code: str
    name: str
    source: Literal["dossier", "declared"]
    dossier: str | None
    highest_tier: str | None
    criteria_met: dict[str, int]
    status: Literal["already_met", "reachable", "conditional", "unreachable", "blocked_by_missing_threshold",
                    "needs_dossier"]
    total_cost: Num | None
    cost_complete: bool
    changes: int
    conditions: list[str]
    plan: UnitPlan | None


class BudgetOut(Out):
    budget: Num
    selected: list[str]
    spent: Num
    remaining: Num
    reaching_target: int
    not_buyable: dict[str, Literal["unpriced", "conditional", "needs_dossier", "unreachable",
                                   "blocked_by_missing_threshold"]]
    next_commune: str | None
    next_buys: list[str]
    next_spent: Num
    algorithm: str


class TierGapOut(Out):
    tier: str
    want: int
    have: int
    gap: int
    cheapest: list[str]
    cost: Num | None
    closable: bool


class CriteriaGapOut(Out):
    code: str
    criteria_met: int
    want: int
    cheapest_criteria: list[str]
    cost: Num | None
    criteria_met_after: int | None


class TargetsOut(Out):
    id: str
    by: int | None
    illustrative: bool
    tiers: list[TierGapOut]
    min_criteria_tier: str | None
    min_criteria: list[CriteriaGapOut]
    note: Label


class GroupPlan(Out):
    kind: Literal["district", "province"]
    code: str | None
    name: str | None
    target: str
    commune_target: str
    communes_total: int
    at_target: int
    needed: int | None
    must_lift: list[str]
    lift_cost: Num | None
    communes: list[CommuneLine]
    district: UnitPlan | None
    budget: BudgetOut | None
    targets: TargetsOut | None


def _baseline_line(code, name, source, dossier, outcome, plan: UnitPlan | None, status=None) -> CommuneLine:
    crit = {t.id: t.criteria_met for t in outcome.tiers} if outcome else {}
    met = [t.id for t in outcome.tiers if t.status == "met"] if outcome else []
    return CommuneLine.model_construct(
        code=code, name=name, source=source, dossier=dossier, highest_tier=met[-1] if met else None,
        criteria_met=crit, status=status or plan.status, total_cost=plan.total_cost if plan else None,
        cost_complete=plan.cost_complete if plan else False, changes=len(plan.changes) if plan else 0,
        conditions=plan.conditions if plan else [], plan=plan)


def _order(line: CommuneLine) -> tuple:
    cost = Fraction(str(line.total_cost)) if line.total_cost is not None else Fraction(10**30)
    return (_RANK[line.status], cost, line.changes, line.code)


class _Member:
    """One commune: its inputs and baseline outcome (None for a declared status) and its plans per tier."""

    def __init__(self, code, name, source, dossier, inp, outcome, declared=None):
        self.code, self.name, self.source, self.dossier = code, name, source, dossier
        self.inp, self.outcome, self.declared = inp, outcome, declared
        self.plans: dict[str, UnitPlan] = {}

    def met(self, tier: str) -> bool:
        if self.outcome is None:
            return LADDER.index(self.declared) >= LADDER.index(tier) if tier in LADDER else False
        return any(t.id == tier and t.status == "met" for t in self.outcome.tiers)

    def plan(self, tier, costs, fixed, as_of) -> UnitPlan | None:
        if self.inp is None:
            return None
        if tier not in self.plans:
            self.plans[tier] = plan_unit(self.inp, tier, costs=costs, fixed=fixed, as_of=as_of, baseline=self.outcome)
        return self.plans[tier]

    def line(self, tier, costs, fixed, as_of) -> CommuneLine:
        p = self.plan(tier, costs, fixed, as_of)
        if p is None:
            line = _baseline_line(self.code, self.name, self.source, self.dossier, None, None,
                                  "already_met" if self.met(tier) else "needs_dossier")
            if self.met(tier):
                line = line.model_copy(update={"total_cost": 0, "cost_complete": True, "highest_tier": self.declared})
            return line
        return _baseline_line(self.code, self.name, self.source, self.dossier, self.outcome, p)


def _members_district(inp: Inputs, as_of) -> list[_Member]:
    d = inp.dossier.dossier
    base = os.path.dirname(os.path.abspath(inp.dossier.path))
    members = []
    for i, ref in enumerate(d.communes):
        if ref.dossier is not None:
            from ntm.criteria.members import member_path

            path = member_path(inp.dossier, inp.root, ref.dossier, ("communes", i, "dossier"), f"communes[{i}].dossier")
            cin = gather(path, inp.ruleset.path, inp.overlay.path if inp.overlay else None, confine=inp.root or False)
            members.append(_Member(ref.code, ref.name, "dossier", ref.dossier, cin, evaluate(cin, as_of=as_of)))
        else:
            members.append(_Member(ref.code, ref.name, "declared", None, None, None, ref.status))
    return members


def dossier_files(folder: str) -> list[str]:
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".yaml", ".yml", ".json")))
    if not names:
        raise NtmInputError.single("the folder holds no dossiers (*.yaml, *.yml, *.json)", file=folder)
    return [os.path.join(folder, n) for n in names]


def _members_folder(folder: str, ruleset, overlay, as_of) -> tuple[list[_Member], Inputs]:
    members, first = [], None
    seen: dict[str, str] = {}
    for path in dossier_files(folder):
        cin = gather(path, ruleset, overlay, as_of)
        u = cin.dossier.dossier.unit
        if u.level != "commune":
            raise NtmInputError.single(f"a province folder holds commune dossiers; this one is a {u.level}", file=path,
                                       line=cin.dossier.source.line_of(("unit", "level")), field="unit.level")
        if u.code in seen:
            raise NtmInputError.single(f"commune {u.code} is also in {seen[u.code]}", file=path, field="unit.code")
        seen[u.code] = path
        first = first or cin
        members.append(_Member(u.code, u.name, "dossier", os.path.basename(path), cin, evaluate(cin, as_of=as_of)))
    return members, first


def needed_communes(inp: Inputs, tiers: list[str], commune_tier: str, total: int, as_of) -> int | None:
    """How many communes at `commune_tier` the district's own rules ask for (None: a threshold is not set)."""
    res = resolved_for(inp, as_of)
    facts = inp.ruleset.ruleset.fact_map()
    count_fact = f"communes_{commune_tier}_count"
    need = 0
    for tid in tiers:
        for crit in res.tier(tid).criteria:
            for ind in crit.indicators:
                for c in ind.conditions:
                    f = facts[c.fact]
                    pct = f.ratio_of is not None and f.ratio_of.numerator == count_fact
                    if c.fact != count_fact and not pct:
                        continue
                    if c.threshold.value is None:
                        return None
                    t = Fraction(c.threshold.value)
                    n = math.ceil(t * total / 100) if pct else math.ceil(t)
                    if c.op == ">":
                        n = math.floor(t * total / 100) + 1 if pct else math.floor(t) + 1
                    need = max(need, min(n, total) if c.op in (">=", ">") else 0)
    return need


def plan_group(path: str, target: str, *, costs: LoadedCosts | None = None, fixed: frozenset = frozenset(),
               ruleset: str | None = None, overlay: str | None = None, as_of: dt.date | None = None,
               commune_target: str | None = None, budget: Fraction | None = None,
               targets: LoadedTargets | None = None) -> tuple[GroupPlan, Inputs]:
    """A district dossier or a folder of commune dossiers → which communes to lift, cheapest first."""
    district = None
    if os.path.isdir(path):
        members, ref_inp = _members_folder(path, ruleset, overlay, as_of)
        kind, code, name = "province", None, None
        ctier = commune_target or target
        chain(resolved_for(ref_inp, as_of), ctier)  # checks the tier id
        dtiers: list[str] = []
    else:
        inp = gather(path, ruleset, overlay, as_of)
        if not inp.dossier.dossier.communes:
            raise NtmInputError.single("not a district with a communes list", file=path, field="communes",
                                       hint="plan one commune without --budget/--targets, or give a folder")
        members = _members_district(inp, as_of)
        u = inp.dossier.dossier.unit
        kind, code, name, ref_inp = "district", u.code, u.name, inp
        dtiers = chain(resolved_for(inp, as_of), target, with_recognition=True)
        ctier = commune_target or (target if target in LADDER[1:] else "standard")
    lines = [m.line(ctier, costs, fixed, as_of) for m in members]
    lines.sort(key=_order)
    at_target = sum(1 for m in members if m.met(ctier))
    below = [ln for ln in lines if ln.status != "already_met"]
    liftable = [ln for ln in below if ln.status in ("reachable", "conditional")]
    if kind == "district":
        needed = needed_communes(inp, dtiers, ctier, len(members), as_of)
        n_lift = max(0, (needed or 0) - at_target) if needed is not None else len(below)
    else:
        needed, n_lift = len(members), len(below)
    must = [ln.code for ln in liftable[:n_lift]]
    lift_cost = _sum_cost([ln for ln in lines if ln.code in must]) if costs else None
    if kind == "district":
        district = _district_plan(inp, target, members, must, ctier, costs, fixed, as_of)
    b = _budget(lines, budget, costs) if budget is not None else None
    tg = _targets(members, targets, costs, fixed, as_of) if targets is not None else None
    gp = GroupPlan.model_construct(
        kind=kind, code=code, name=name, target=target, commune_target=ctier, communes_total=len(members),
        at_target=at_target, needed=needed, must_lift=must, lift_cost=lift_cost, communes=lines, district=district,
        budget=b, targets=tg)
    return gp, ref_inp


def _sum_cost(lines) -> Num | None:
    if any(ln.total_cost is None for ln in lines):
        return None
    return number(sum((Fraction(str(ln.total_cost)) for ln in lines), Fraction(0)))


def _district_plan(inp, target, members, must, ctier, costs, fixed, as_of) -> UnitPlan:
    """The district's own plan, with the lifted communes counted at the commune target (engine re-evaluated)."""
    known = inp.ruleset.ruleset.fact_map()
    counts = {"communes_count": len(members)}
    for fid, t in COMMUNE_COUNT_FACTS.items():
        if t is None:
            continue
        lifted = LADDER.index(t) <= LADDER.index(ctier) if ctier in LADDER else False
        counts[fid] = sum(1 for m in members if m.met(t) or (lifted and m.code in must))
    preset = {k: v for k, v in counts.items() if k in known}
    p = plan_unit(inp, target, costs=costs, fixed=fixed, preset=preset, as_of=as_of, with_recognition=True)
    if p.status == "already_met" and must:
        cond = any(m.plans.get(ctier) is not None and m.plans[ctier].status == "conditional" for m in members
                   if m.code in must)
        p = p.model_copy(update={"status": "conditional" if cond else "reachable", "verification": p.verification.model_copy(
            update={"note": Label.model_construct(
                vi="huyện được đánh giá lại với các xã được nâng lên (số xã theo kế hoạch): đạt mức mục tiêu",
                en="the district, re-evaluated with the lifted communes counted, reaches the target")})})
    return p


BUDGET_NOTE = ("exact: each commune is an item of weight = its minimal plan cost and value 1; the cheapest-first "
               "prefix maximises the count (the m cheapest items have the least total of any m items); O(n log n); "
               "ties by commune code. The remainder is spent greedily on the next commune's cheapest changes.")


def _budget(lines: list[CommuneLine], budget: Fraction, costs) -> BudgetOut:
    if costs is None:
        raise NtmInputError.single("--budget needs a cost model", field="--budget", hint="add --costs FILE")
    items, not_buyable = [], {}
    for ln in lines:
        if ln.status == "already_met":
            continue
        if ln.status == "reachable" and ln.cost_complete:
            items.append((ln.code, Fraction(str(ln.total_cost))))
        else:
            not_buyable[ln.code] = "unpriced" if ln.status == "reachable" else ln.status
    chosen, spent = select(items, budget)
    rest = budget - spent
    nxt = next((c for c, _ in sorted(items, key=lambda it: (it[1], it[0])) if c not in chosen), None)
    buys, nspent = [], Fraction(0)
    if nxt is not None:
        plan = next(ln.plan for ln in lines if ln.code == nxt)
        buys, nspent = partial([(c.fact, Fraction(str(c.cost))) for c in plan.changes if c.pricing == "priced"], rest)
    return BudgetOut.model_construct(
        budget=number(budget), selected=chosen, spent=number(spent), remaining=number(rest),
        reaching_target=sum(1 for ln in lines if ln.status == "already_met") + len(chosen),
        not_buyable=dict(sorted(not_buyable.items())), next_commune=nxt, next_buys=buys, next_spent=number(nspent),
        algorithm=BUDGET_NOTE)


def _targets(members: list[_Member], lt: LoadedTargets, costs, fixed, as_of) -> TargetsOut:
    t = lt.model
    gaps = []
    for tier, want in sorted(t.communes_at_least.items(), key=lambda kv: LADDER.index(kv[0]) if kv[0] in LADDER else 99):
        have = sum(1 for m in members if m.met(tier))
        gap = max(0, want - have)
        cand = [m.line(tier, costs, fixed, as_of) for m in members if not m.met(tier)]
        cand = sorted([ln for ln in cand if ln.status in ("reachable", "conditional")], key=_order)
        pick = cand[:gap]
        gaps.append(TierGapOut.model_construct(
            tier=tier, want=want, have=have, gap=gap, cheapest=[ln.code for ln in pick],
            cost=_sum_cost(pick) if costs else None, closable=len(pick) == gap))
    mins = []
    mc = t.min_criteria
    if mc is not None:
        for m in members:
            if m.outcome is None:
                continue
            tout = next((x for x in m.outcome.tiers if x.id == mc.tier), None)
            if tout is None or tout.criteria_met >= mc.count:
                continue
            mins.append(_criteria_gap(m, tout, mc.tier, mc.count, costs, fixed, as_of))
    return TargetsOut.model_construct(
        id=t.targets.id, by=t.targets.by, illustrative=t.targets.illustrative, tiers=gaps,
        min_criteria_tier=mc.tier if mc else None, min_criteria=mins,
        note=Label.model_construct(
            vi="khoảng cách = mục tiêu − hiện có; xã rẻ nhất được chọn trước. Với số tiêu chí tối thiểu: chi phí "
               "từng tiêu chí được tính riêng (cận trên khi các tiêu chí dùng chung chỉ tiêu)",
            en="gap = wanted − have; the cheapest communes first. For the minimum number of criteria: each "
               "criterion is costed on its own (an upper bound when criteria share facts)"))


def _criteria_gap(m: _Member, tout, tier, want, costs, fixed, as_of) -> CriteriaGapOut:
    """The cheapest criteria to bring a commune up to `want` met criteria; the result is re-evaluated."""
    from ntm.criteria.dossier import observations

    inp = m.inp
    rs = inp.ruleset.ruleset
    res = resolved_for(inp, as_of)
    obs = observations(inp.dossier, rs)
    options = []
    for crit in tout.criteria:
        if crit.status == "met":
            continue
        best = Planner(res, obs, rs.fact_map(), [tier], costs, frozenset(fixed), {(tier, crit.number)}).best()
        if best.key[0] or best.key[1]:
            continue  # impossible or no threshold: cannot be bought
        values = {f: v[0] for f, v in best.targets.items()}
        cost = sum((v[1].cost for v in best.targets.values() if v[1].cost is not None), Fraction(0))
        options.append((best.key[2:4], cost, len(values), crit.number, values))
    options.sort(key=lambda o: (o[0], o[1], o[2], o[3]))
    pick = options[:max(0, want - tout.criteria_met)]
    extra = {}
    for o in pick:
        extra.update({f: (v if isinstance(v, bool) else number(v)) for f, v in o[4].items()})
    after = None
    if pick:
        res2, verdict = engine_verdict(inp, extra, as_of)
        rt = next((t for t in res2.tiers if t.id == tier), None)
        if rt is None or rt.kind == "recognition":  # not among the outcome's tiers: as before
            o2 = evaluate(inp, extra=extra, as_of=as_of)
            after = next(x.criteria_met for x in o2.tiers if x.id == tier)
        else:
            after = sum(1 for c in rt.criteria if verdict.get(("crit", tier, c.number)) == "met")
    return CriteriaGapOut.model_construct(
        code=m.code, criteria_met=tout.criteria_met, want=want, cheapest_criteria=[o[3] for o in pick],
        cost=number(sum((o[1] for o in pick), Fraction(0))) if costs and pick else None, criteria_met_after=after)


def group_document(gp: GroupPlan, inp: Inputs, costs: LoadedCosts | None) -> dict:
    return {"schema": SCHEMA, "kind": gp.kind, "source": source_info(inp, costs).model_dump(mode="json"),
            "tie_rule": TIE_RULE, "step": f"strict bounds use the smallest step: 1 for counts, {float(STEP)} otherwise",
            "plan": gp.model_dump(mode="json")}


__all__ = ["GroupPlan", "group_document", "plan_group", "plan_values"]
