"""The minimal plan: what one unit (a commune, or a district's own facts) must change to reach a tier, and at
what cost. Every plan is re-evaluated through the engine; the planner only proposes values, never decides.

How a plan is found (exact, deterministic):
- Every condition of every applicable indicator of the target tier and the tiers it requires is a requirement
  on one fact (`>=`/`>`/`<=`/`<`/`==`/`is_true`, with the resolved threshold). Requirements on one fact are
  intersected (the strictest bound wins), so a fact needed by standard and advanced is changed once, to the
  higher value, and paid once. `>`/`<` use the smallest step: 1 for counts, 0.01 for every other number.
- An indicator that needs at least k of its n conditions contributes one of its C(n, k) choices. All choices
  of all such indicators are enumerated (the rulesets have at most a handful, n ≤ 12), and the plan with the
  smallest key wins: (changes impossible (fixed, out of range, contradictory), conditions without a threshold,
  changes money cannot buy, changes without a price, total cost, number of changes, chosen condition codes).
  Adding a requirement never makes a fact cheaper to satisfy, so choosing exactly k is never worse than more.
- The cost of a change is the cost model's price per unit × |target − observed| (`plan_costs.price`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from ntm.criteria.dossier import Observation, observations
from ntm.criteria.resolve import RCondition, Resolved, RIndicator
from ntm.engine import outcome as out
from ntm.engine.evaluate import Inputs, evaluate, resolved_for
from ntm.engine.outcome import Label, Num, Out, number
from ntm.engine.plan_costs import LoadedCosts, price
from ntm.errors import NtmInputError, did_you_mean

SCHEMA = "ntm-plan/1"
STEP = Fraction(1, 100)  # the smallest change for a strict bound on a non-count fact
MAX_CHOICES = 200_000
TIE_RULE = ("lowest cost, then fewest changes, then the chosen conditions' codes in lexicographic order "
            "(choices needing a fixed fact, a missing threshold, a change money cannot buy or an unpriced change "
            "rank after every choice that needs none)")


# ---------------------------------------------------------------- output shape


class ChangeOut(Out):
    fact: str
    fact_label: Label
    unit: str
    action: Literal["raise", "lower", "set", "set_true", "provide"]
    observed: Num | bool | None
    target: Num | bool | None
    requirement: str
    change: Num | None
    pricing: Literal["priced", "unpriced", "not_purchasable", "impossible"]
    cost: Num | None
    priced_by: str | None
    needed_by: list[str]
    provisional: bool
    note: str | None


class ChoiceOut(Out):
    tier: str
    indicator: str
    required: int
    of: int
    chosen: list[int]
    chosen_facts: list[str]


class BlockerOut(Out):
    kind: Literal["missing_threshold", "fixed", "out_of_range", "contradictory"]
    fact: str | None
    indicator: str | None
    message: Label


class VerifyOut(Out):
    evaluated: bool
    tiers: dict[str, Literal["met", "not_met", "indeterminate"]]
    reaches_target: bool
    note: Label


class UnitPlan(Out):
    code: str
    name: str
    level: str
    target: str
    tiers: list[str]
    current: dict[str, Literal["met", "not_met", "indeterminate"]]
    status: Literal["already_met", "reachable", "conditional", "unreachable", "blocked_by_missing_threshold"]
    changes: list[ChangeOut]
    conditions: list[str]
    to_measure: list[str]
    choices: list[ChoiceOut]
    blockers: list[BlockerOut]
    total_cost: Num | None
    cost_complete: bool
    uses_provisional: bool
    verification: VerifyOut


class SourceOut(Out):
    ruleset: str
    ruleset_version: str
    ruleset_sha256: str
    overlay: str | None
    overlay_sha256: str | None
    cost_model: str | None
    cost_model_sha256: str | None
    currency: str | None
    illustrative_costs: bool


# ---------------------------------------------------------------- requirements


@dataclass(frozen=True)
class Req:
    tier: str
    indicator: str
    cond: RCondition

    @property
    def code(self) -> str:
        return f"{self.tier}:{self.indicator}"


def chain(res: Resolved, target: str, with_recognition: bool = False) -> list[str]:
    """The target tier and every tier it requires, lowest first (plus recognition tiers when asked)."""
    ids = [t.id for t in res.tiers]
    if target not in ids:
        raise NtmInputError.single(f"unknown tier '{target}'", field="--target", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(target, ids))
    keep, cur = [], target
    while cur:
        keep.append(cur)
        cur = res.tier(cur).requires
    keep.reverse()
    if with_recognition:
        keep += [t.id for t in res.tiers if t.kind == "recognition" and t.id not in keep]
    return keep


def _bounds(fact, reqs: list[Req]) -> tuple[Fraction | None, Fraction | None, set]:
    count = fact.type == "count"
    lo = hi = None
    eq = set()
    for r in reqs:
        t = Fraction(r.cond.threshold.value)
        op = r.cond.op
        if op == ">=":
            v = Fraction(math.ceil(t)) if count else t
            lo = v if lo is None else max(lo, v)
        elif op == ">":
            v = Fraction(math.floor(t) + 1) if count else t + STEP
            lo = v if lo is None else max(lo, v)
        elif op == "<=":
            v = Fraction(math.floor(t)) if count else t
            hi = v if hi is None else min(hi, v)
        elif op == "<":
            v = Fraction(math.ceil(t) - 1) if count else t - STEP
            hi = v if hi is None else min(hi, v)
        elif op == "==":
            eq.add(t)
    return lo, hi, eq


def _msg(vi: str, en: str) -> Label:
    return Label.model_construct(vi=vi, en=en)


def fact_target(fact, observed, reqs: list[Req]):
    """The value closest to the observed one that passes every requirement: (target, None) or (None, blocker)."""
    if fact.type == "boolean":
        return True, None
    lo, hi, eq = _bounds(fact, reqs)
    rlo, rhi = Fraction(Decimal(str(fact.range.min))), Fraction(Decimal(str(fact.range.max)))
    if len(eq) > 1 or (eq and ((lo is not None and min(eq) < lo) or (hi is not None and max(eq) > hi))) or (
            lo is not None and hi is not None and lo > hi):
        return None, ("contradictory", _msg(f"các yêu cầu về '{fact.id}' mâu thuẫn nhau",
                                            f"the requirements on '{fact.id}' contradict each other"))
    if eq:
        v = next(iter(eq))
    elif observed is None:
        v = lo if lo is not None else hi
    else:
        v = Fraction(observed)
        if lo is not None and v < lo:
            v = lo
        if hi is not None and v > hi:
            v = hi
    if not rlo <= v <= rhi:
        return None, ("out_of_range", _msg(f"'{fact.id}' phải đạt {float(v):g}, ngoài miền giá trị hợp lệ",
                                           f"'{fact.id}' would need {float(v):g}, outside its valid range"))
    return v, None


def _requirement_text(reqs: list[Req]) -> str:
    parts = sorted({f"{r.cond.op} {r.cond.threshold.value}" if r.cond.op != "is_true" else "true" for r in reqs})
    return ", ".join(parts)


# ---------------------------------------------------------------- the search


@dataclass
class _Eval:
    key: tuple
    targets: dict  # fact -> (target, price, reqs) for facts needing a change
    blockers: list
    choice: tuple


class Planner:
    """Plans one unit from its resolved thresholds and observations (pure; no engine calls)."""

    def __init__(self, res: Resolved, obs: dict[str, Observation], facts: dict, tiers: list[str],
                 costs: LoadedCosts | None, fixed: frozenset = frozenset(), only_criteria: set | None = None,
                 computed: frozenset = frozenset()):
        self.res, self.obs, self.facts, self.costs = res, obs, facts, costs
        self.fixed, self.computed = fixed | computed, computed
        self.mandatory: list[Req] = []
        self.groups: list[tuple[RIndicator, str, list[tuple[Req, ...]]]] = []
        self.assumed: list[str] = []  # applies_if facts that are missing: the indicator is assumed to apply
        for tid in tiers:
            for crit in res.tier(tid).criteria:
                if only_criteria is not None and (tid, crit.number) not in only_criteria:
                    continue
                for ind in crit.indicators:
                    if ind.applies_if is not None:
                        a = obs.get(ind.applies_if)
                        if a is not None and a.value is False:
                            continue
                        if a is None and ind.applies_if not in self.assumed:
                            self.assumed.append(ind.applies_if)
                    reqs = [Req(tid, ind.code, c) for c in ind.conditions]
                    if ind.required >= len(reqs):
                        self.mandatory += reqs
                    else:
                        self.groups.append((ind, tid, list(itertools.combinations(reqs, ind.required))))
        n = 1
        for g in self.groups:
            n *= len(g[2])
        if n > MAX_CHOICES:
            raise NtmInputError.single(f"too many alternative combinations to plan exactly ({n})",
                                       hint="fix some facts with --fixed")
        self._cache: dict[str, tuple] = {}

    def _fact(self, fid: str, reqs: list[Req]):
        """(target, price | None, blocker | None) for one fact under a set of requirements (memoised)."""
        ck = (fid, tuple(sorted((r.tier, r.indicator, r.cond.index) for r in reqs)))
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        fact = self.facts[fid]
        o = self.obs.get(fid)
        observed = None if o is None else o.value
        target, blocker = fact_target(fact, observed, reqs)
        if blocker is not None:
            r = (None, None, blocker)
        elif observed is not None and target == observed:
            r = (target, None, None)
        elif fid in self.computed:
            r = (target, None, ("fixed", _msg(f"'{fid}' tính từ danh sách xã: cần thêm xã đạt chuẩn",
                                              f"'{fid}' is computed from the communes: more communes must reach "
                                              "the tier")))
        elif fid in self.fixed:
            r = (target, None, ("fixed", _msg(f"'{fid}' được giữ cố định (--fixed) nhưng cần thay đổi",
                                              f"'{fid}' is fixed (--fixed) but would have to change")))
        else:
            r = (target, price(self.costs, fact, observed, target, self.obs), None)
        self._cache[ck] = r
        return r

    def _evaluate(self, choice: tuple[tuple[Req, ...], ...]) -> _Eval:
        reqs = list(self.mandatory) + [r for combo in choice for r in combo]
        by_fact: dict[str, list[Req]] = {}
        blockers = []
        for r in reqs:
            if r.cond.threshold.value is None:
                blockers.append(("missing_threshold", r))
                continue
            by_fact.setdefault(r.cond.fact, []).append(r)
        for fid in self.assumed:
            by_fact.setdefault(fid, [])
        targets = {}
        n_bad = n_np = n_unpriced = 0
        cost = Fraction(0)
        for fid in sorted(by_fact):
            target, pr, blocker = self._fact(fid, by_fact[fid])
            if blocker is not None:
                blockers.append((blocker, fid))
                n_bad += 1
                continue
            if pr is None:
                continue
            targets[fid] = (target, pr, by_fact[fid])
            if pr.kind == "not_purchasable":
                n_np += 1
            elif pr.kind == "unpriced":
                n_unpriced += 1
            else:
                cost += pr.cost
        n_missing_th = sum(1 for b in blockers if b[0] == "missing_threshold")
        codes = tuple(sorted(f"{r.tier}:{r.indicator}#{r.cond.index}" for combo in choice for r in combo))
        key = (n_bad, n_missing_th, n_np, n_unpriced, cost, len(targets), codes)
        return _Eval(key, targets, blockers, choice)

    def best(self) -> _Eval:
        best = None
        for choice in itertools.product(*[g[2] for g in self.groups]):
            e = self._evaluate(choice)
            if best is None or e.key < best.key:
                best = e
        return best


# ---------------------------------------------------------------- one unit, end to end


def _value(v):
    """A planned value as dossier data (what a user would type): bool, int, or a float with ≤ 6 decimals."""
    if isinstance(v, bool):
        return v
    return number(v)


def _action(observed, target) -> str:
    if observed is None:
        return "provide"
    if isinstance(target, bool):
        return "set_true"
    return "raise" if target > observed else "lower" if target < observed else "set"


def plan_values(plan: UnitPlan) -> dict:
    """The fact values a plan proposes, as `evaluate(extra=...)` takes them."""
    return {c.fact: c.target for c in plan.changes if c.target is not None}


def plan_unit(inp: Inputs, target: str, *, costs: LoadedCosts | None = None, fixed: frozenset = frozenset(),
              preset: dict | None = None, as_of: dt.date | None = None, with_recognition: bool = False,
              baseline: out.Outcome | None = None) -> UnitPlan:
    """Plan one dossier to `target` and re-evaluate the planned dossier through the engine.

    `preset`: fact values the caller decides (a district's planned commune counts); they are applied as
    evidence and never changed by this plan.
    """
    rs = inp.ruleset.ruleset
    facts = rs.fact_map()
    res = resolved_for(inp, as_of)
    tiers = chain(res, target, with_recognition)
    unknown = sorted(f for f in fixed if f not in facts)
    if unknown:
        raise NtmInputError.single(f"unknown fact '{unknown[0]}'", field="--fixed", hint=did_you_mean(unknown[0], facts))
    obs = observations(inp.dossier, rs, preset)
    computed = frozenset(preset or ())
    # a share computed from preset parts (communes_standard_pct from the counts) is as fixed as its parts
    computed |= frozenset(f.id for f in rs.facts
                          if f.ratio_of and {f.ratio_of.numerator, f.ratio_of.denominator} & computed)
    if baseline is None:
        baseline = evaluate(inp, extra=preset, as_of=as_of)
    current = _statuses(baseline, tiers)
    u = inp.dossier.dossier.unit
    if all(current[t] == "met" for t in tiers):
        return UnitPlan.model_construct(
            code=u.code, name=u.name, level=u.level, target=target, tiers=tiers, current=current,
            status="already_met", changes=[], conditions=[], to_measure=[], choices=[], blockers=[],
            total_cost=0, cost_complete=True, uses_provisional=baseline.summary.decided_by_provisional,
            verification=VerifyOut.model_construct(
                evaluated=True, tiers=current, reaches_target=True,
                note=_msg("hồ sơ hiện tại đã đạt mức mục tiêu (theo bộ máy luật)",
                          "the dossier already reaches the target (engine decision)")))
    planner = Planner(res, obs, facts, tiers, costs, frozenset(fixed), computed=computed)
    best = planner.best()
    changes = []
    for fid, (tv, pr, reqs) in sorted(best.targets.items()):
        fact = facts[fid]
        o = obs.get(fid)
        observed = None if o is None else o.value
        delta = None if isinstance(tv, bool) or observed is None else number(abs(Fraction(tv) - observed))
        needed = sorted({r.code for r in reqs}) or [f"applies_if:{fid}"]
        note = None
        if not reqs:
            note = "assumed to apply (true) until the commune states otherwise"
        changes.append(ChangeOut.model_construct(
            fact=fid, fact_label=Label.model_construct(vi=fact.label.vi, en=fact.label.en), unit=fact.unit,
            action=_action(observed, tv), observed=_value(observed) if observed is not None else None,
            target=_value(tv), requirement=_requirement_text(reqs) if reqs else "true", change=delta,
            pricing=pr.kind, cost=number(pr.cost) if pr.cost is not None else None, priced_by=pr.how,
            needed_by=needed, provisional=any(r.cond.threshold.provenance.status == "provisional" for r in reqs),
            note=note))
    blockers = []
    for b, what in best.blockers:
        if b == "missing_threshold":
            r = what
            blockers.append(BlockerOut.model_construct(
                kind="missing_threshold", fact=r.cond.fact, indicator=r.code,
                message=_msg(f"{r.code}: chưa có ngưỡng ({r.cond.threshold.provenance.set_by} quy định) — "
                             "không thể chứng minh đạt mức",
                             f"{r.code}: threshold missing (set by {r.cond.threshold.provenance.set_by}) — "
                             "the plan cannot prove the target")))
        else:
            kind, msg = b
            blockers.append(BlockerOut.model_construct(kind=kind, fact=what, indicator=None, message=msg))
    choices = []
    for (ind, tid, _), combo in zip(planner.groups, best.choice):
        choices.append(ChoiceOut.model_construct(tier=tid, indicator=ind.code, required=ind.required,
                                                 of=len(ind.conditions), chosen=[r.cond.index for r in combo],
                                                 chosen_facts=[r.cond.fact for r in combo]))
    if any(b.kind != "missing_threshold" for b in blockers):
        status = "unreachable"
    elif blockers:
        status = "blocked_by_missing_threshold"
    elif any(c.pricing == "not_purchasable" for c in changes):
        status = "conditional"
    else:
        status = "reachable"
    priced = [c.cost for c in changes if c.pricing == "priced"]
    total = number(sum(Fraction(str(x)) for x in priced)) if costs is not None else None
    extra = {**(preset or {}), **{c.fact: c.target for c in changes}}
    verify = _verify(inp, extra, tiers, status, as_of)
    return UnitPlan.model_construct(
        code=u.code, name=u.name, level=u.level, target=target, tiers=tiers, current=current, status=status,
        changes=changes, conditions=[c.fact for c in changes if c.pricing == "not_purchasable"],
        to_measure=[c.fact for c in changes if c.action == "provide"], choices=choices, blockers=blockers,
        total_cost=total, cost_complete=costs is not None and not any(c.pricing == "unpriced" for c in changes),
        uses_provisional=any(c.provisional for c in changes), verification=verify)


def _statuses(o: out.Outcome, tiers: list[str]) -> dict[str, str]:
    st = {t.id: t.status for t in o.tiers}
    if o.recognition is not None:
        st[o.recognition.id] = o.recognition.status
    return {t: st.get(t, "indeterminate") for t in tiers}


def engine_verdict(inp: Inputs, extra: dict | None, as_of) -> tuple[Resolved, dict]:
    """What `evaluate(inp, extra=extra)` decides, as the engine's verdict, without building the Outcome (the
    planner only reads statuses)."""
    from ntm.engine.evaluate import decide

    dec = decide(inp, extra=extra, as_of=as_of)
    return dec.res, dec.run.verdict


def _verify(inp: Inputs, extra: dict, tiers: list[str], status: str, as_of) -> VerifyOut:
    """Apply the plan's values and ask the engine again: the plan's claim rests on this, not on the planner."""
    if status == "unreachable":
        return VerifyOut.model_construct(
            evaluated=False, tiers={}, reaches_target=False,
            note=_msg("không lập được kế hoạch: có điều kiện không thể thay đổi",
                      "no plan: some requirement cannot be met by any allowed change"))
    verdict = engine_verdict(inp, extra, as_of)[1]
    st = {t: verdict.get(("tier", t), "indeterminate") for t in tiers}
    ok = all(v == "met" for v in st.values())
    if ok:
        note = _msg("hồ sơ theo kế hoạch được bộ máy luật đánh giá lại: đạt mức mục tiêu",
                    "the planned dossier, re-evaluated by the engine, reaches the target")
        if status == "conditional":
            note = _msg(note.vi + " (nếu các điều kiện không mua được cũng đạt)",
                        note.en + " (provided the conditions money cannot buy are also reached)")
    elif status == "blocked_by_missing_threshold":
        note = _msg("chưa chứng minh được: còn ngưỡng chưa được quy định (bộ máy luật trả về 'chưa xác định')",
                    "not provable: some thresholds are not set (the engine says indeterminate)")
    else:
        note = _msg("LỖI: hồ sơ theo kế hoạch không đạt khi đánh giá lại", "ERROR: the planned dossier does not "
                    "reach the target when re-evaluated")
    return VerifyOut.model_construct(evaluated=True, tiers=st, reaches_target=ok, note=note)


def source_info(inp: Inputs, costs: LoadedCosts | None) -> SourceOut:
    rs = inp.ruleset.ruleset
    return SourceOut.model_construct(
        ruleset=rs.id, ruleset_version=rs.version, ruleset_sha256=inp.ruleset.sha256,
        overlay=inp.overlay.overlay.overlay.id if inp.overlay else None,
        overlay_sha256=inp.overlay.sha256 if inp.overlay else None,
        cost_model=costs.model.cost_model.id if costs else None, cost_model_sha256=costs.sha256 if costs else None,
        currency=costs.model.cost_model.currency if costs else None,
        illustrative_costs=bool(costs and costs.model.cost_model.illustrative))


def unit_document(inp: Inputs, plan: UnitPlan, costs: LoadedCosts | None) -> dict:
    return {"schema": SCHEMA, "kind": "unit", "source": source_info(inp, costs).model_dump(mode="json"),
            "tie_rule": TIE_RULE, "step": "strict bounds (> and <) use the smallest step: 1 for counts, 0.01 otherwise",
            "plan": plan.model_dump(mode="json")}
