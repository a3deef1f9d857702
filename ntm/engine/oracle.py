"""The reference evaluator: the same decisions in plain Python, written from the law's logic, not the rules.

It is a test oracle: the engine of record is durable-rules, and the two must agree on every dossier.
"""

from __future__ import annotations

from fractions import Fraction

from ntm.criteria.dossier import Observation
from ntm.criteria.resolve import RCondition, Resolved

Verdict = dict[tuple, str]


def compare(observed: Fraction | bool, op: str, threshold) -> bool:
    if op == "is_true":
        return observed is True
    t = Fraction(threshold)
    return {">=": observed >= t, ">": observed > t, "<=": observed <= t, "<": observed < t, "==": observed == t}[op]


def condition_status(c: RCondition, obs: dict[str, Observation]) -> str | None:
    o = obs.get(c.fact)
    if o is None or c.threshold.value is None:
        return None
    return "pass" if compare(o.value, c.op, c.threshold.value) else "fail"


def evaluate(res: Resolved, obs: dict[str, Observation]) -> Verdict:
    v: Verdict = {}
    for tier in res.tiers:
        T = tier.id
        crit_states = []
        for crit in tier.criteria:
            ind_states = []
            for ind in crit.indicators:
                conds = [condition_status(c, obs) for c in ind.conditions]
                for c, s in zip(ind.conditions, conds):
                    if s is not None:
                        v[("cond", T, ind.code, c.index)] = s
                app = obs.get(ind.applies_if).value if ind.applies_if and ind.applies_if in obs else None
                status = None
                if ind.applies_if and app is False:
                    status = "not_applicable"
                elif ind.applies_if is None or app is True:
                    if conds.count("pass") >= ind.required:
                        status = "pass"
                    elif conds.count("fail") >= len(conds) - ind.required + 1:
                        status = "fail"
                if status:
                    v[("ind", T, ind.code)] = status
                ind_states.append(status)
            if all(s in ("pass", "not_applicable") for s in ind_states):
                cs = "met"
            elif "fail" in ind_states:
                cs = "not_met"
            else:
                cs = None
            if cs:
                v[("crit", T, crit.number)] = cs
            crit_states.append(cs)
        req = v.get(("tier", tier.requires)) if tier.requires else "met"
        if all(s == "met" for s in crit_states) and req == "met":
            v[("tier", T)] = "met"
        elif "not_met" in crit_states or req == "not_met":
            v[("tier", T)] = "not_met"
    return v
