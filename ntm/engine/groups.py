"""Commune groups (51/2025): place a commune in group 1/2/3 from its facts, through durable-rules.

The group definitions and their precedence are ruleset data (`commune_groups`); this module compiles them to
rules, runs them, and explains which rule decided. A dossier may also state its group (`unit.region`): it is
accepted only when the facts given do not contradict it. `reference()` is the plain-Python oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

from ntm.criteria.model import CommuneGroups, GroupPrecedence, Ruleset
from ntm.engine import sideline
from ntm.engine.compiler import _Builder, pat
from ntm.errors import NtmInputError, Problem


@dataclass(frozen=True)
class GroupDecision:
    group: str | None  # None: the facts given do not decide it
    decided_by: str  # a rule id, "default", "stated", or "undecided"
    by_precedence: bool  # several groups fitted and the precedence order chose
    stated: str | None
    matched: tuple[str, ...]  # rule ids whose conditions all hold
    not_matched: tuple[str, ...]
    undecided: tuple[str, ...]  # rule ids that lack evidence
    groups_fitted: tuple[str, ...]
    order: tuple[str, ...]
    precedence_source: str  # "national" or "overlay <id>"
    precedence: GroupPrecedence
    missing_facts: tuple[str, ...]
    trace: tuple[str, ...] = ()


def compile_groups(cg: CommuneGroups, order: tuple[str, ...]):
    """Rules: each condition holds/fails, each group rule matches/fails, each group fits/does not, then one
    decision rule per group in precedence order (every earlier group must not fit), and the default."""
    b = _Builder()
    b.rule("begin", [pat("begin")])
    by_group: dict[str, list[str]] = {}
    for r in cg.rules:
        by_group.setdefault(r.group, []).append(r.id)
        for k, c in enumerate(r.conditions):
            b.facts.add(c.fact)
            yes, no = sideline.compare_patterns(c.fact, c.op, c.value)
            b.rule(f"gc|{r.id}|{k}|holds", [yes], ((("gcond", r.id, k), "holds"),), {"t": "gch", "r": r.id, "k": k})
            b.rule(f"gc|{r.id}|{k}|fails", [no], ((("gcond", r.id, k), "fails"),), {"t": "gcx", "r": r.id, "k": k})
        b.rule(f"gr|{r.id}|match", [pat("gch", r=r.id, k=k) for k in range(len(r.conditions))],
               ((("grule", r.id), "matched"),), {"t": "grm", "r": r.id})
        for k in range(len(r.conditions)):
            b.rule(f"gr|{r.id}|nomatch|{k}", [pat("gcx", r=r.id, k=k)], ((("grule", r.id), "not_matched"),),
                   {"t": "grx", "r": r.id})
    for g in order:
        for rid in by_group[g]:
            b.rule(f"gg|{g}|fits|{rid}", [pat("grm", r=rid)], ((("ggroup", g), "fits"),), {"t": "gga", "g": g})
        b.rule(f"gg|{g}|none", [pat("grx", r=rid) for rid in by_group[g]], ((("ggroup", g), "not"),),
               {"t": "ggn", "g": g})
    for i, g in enumerate(order):
        b.rule(f"decide|{g}", [pat("ggn", g=h) for h in order[:i]] + [pat("gga", g=g)], ((("group",), g),))
    b.rule("decide|default", [pat("ggn", g=h) for h in order], ((("group",), cg.default),))
    return sideline.finish(b)


_COMPILED: dict[tuple, tuple] = {}


def _compiled(cg: CommuneGroups, order: tuple[str, ...]):
    """Compile once per ruleset and order (identity-checked: a recycled id never matches)."""
    hit = _COMPILED.get((id(cg), order))
    if hit is not None and hit[0] is cg:
        return hit[1]
    if len(_COMPILED) >= 64:
        _COMPILED.clear()
    comp = compile_groups(cg, order)
    _COMPILED[(id(cg), order)] = (cg, comp)
    return comp


def _holds(op: str, observed, value) -> bool:
    from fractions import Fraction

    if op == "is_true":
        return observed is True
    o, v = Fraction(observed), Fraction(str(value))
    return {">=": o >= v, ">": o > v, "<=": o <= v, "<": o < v, "==": o == v}[op]


def reference(cg: CommuneGroups, order: tuple[str, ...], obs: dict) -> dict:
    """The oracle: the same placement written directly from 51/2025's definitions."""
    v: dict = {}
    fits: dict[str, str | None] = {}
    for r in cg.rules:
        states = []
        for k, c in enumerate(r.conditions):
            o = obs.get(c.fact)
            if o is None:
                states.append(None)
                continue
            s = "holds" if _holds(c.op, o.value, c.value) else "fails"
            v[("gcond", r.id, k)] = s
            states.append(s)
        if all(s == "holds" for s in states):
            v[("grule", r.id)] = "matched"
        elif "fails" in states:
            v[("grule", r.id)] = "not_matched"
    for g in order:
        rs = [v.get(("grule", r.id)) for r in cg.rules if r.group == g]
        if "matched" in rs:
            fits[g] = "fits"
        elif all(s == "not_matched" for s in rs):
            fits[g] = "not"
        else:
            fits[g] = None
        if fits[g]:
            v[("ggroup", g)] = fits[g]
    for g in order:
        if fits[g] == "fits":
            v[("group",)] = g
            break
        if fits[g] is None:
            break
    else:
        v[("group",)] = cg.default
    return v


def precedence_for(rs: Ruleset, overlay) -> tuple[GroupPrecedence, str]:
    """The national precedence, or the one a provincial overlay states."""
    ov = getattr(overlay.overlay, "commune_groups", None) if overlay is not None else None
    if ov is not None:
        return ov.precedence, f"overlay {overlay.overlay.overlay.id}"
    return rs.commune_groups.precedence, "national"


def decide(rs: Ruleset, obs: dict, stated: str | None, overlay=None, *, path: str | None = None,
           line=None) -> GroupDecision:
    """Place the commune; a stated group that the facts contradict is an error (file, line, which rule)."""
    cg = rs.commune_groups
    prec, source = precedence_for(rs, overlay)
    order = tuple(prec.order)
    comp = _compiled(cg, order)
    result = sideline.run(comp, sideline.evidence(list(comp.facts_used), obs))
    v = result.verdict
    matched = tuple(r.id for r in cg.rules if v.get(("grule", r.id)) == "matched")
    not_matched = tuple(r.id for r in cg.rules if v.get(("grule", r.id)) == "not_matched")
    undecided = tuple(r.id for r in cg.rules if ("grule", r.id) not in v)
    fitted = tuple(g for g in order if v.get(("ggroup", g)) == "fits")
    missing = tuple(dict.fromkeys(c.fact for r in cg.rules if r.id in undecided for c in r.conditions
                                  if c.fact not in obs))
    group = v.get(("group",))
    decider = next((n for n in result.trace if n.startswith("decide|")), None)
    if group is not None:
        if decider == "decide|default":
            by = "default"
        else:
            by = next(r.id for r in cg.rules if r.group == group and r.id in matched)
    else:
        by = "undecided"
    d = GroupDecision(group, by, len(fitted) > 1 and group is not None and by != "default", stated, matched,
                      not_matched, undecided, fitted, order, source, prec, missing, result.trace)
    if stated is None:
        if group is None:
            raise NtmInputError([Problem(
                "the commune group cannot be determined from the facts given", file=path, line=line,
                field="facts", expected="the facts of 51/2025's group definitions: " + ", ".join(missing),
                hint="give those facts (with their evidence), or state the group in unit.region "
                     f"({', '.join(r.id for r in rs.regions)})")])
        return d
    if group is not None and group != stated:
        why = (f"rule {by}" if by != "default" else f"no group-1/3 definition fits, so {cg.default}")
        raise NtmInputError([Problem(
            f"unit.region states {stated}, but the facts place the commune in {group} ({why})", file=path,
            line=line, field="unit.region", expected=f"{group}, or facts that fit {stated}",
            hint="remove unit.region to let the facts decide, or correct the facts")])
    if group is None and not _possible(stated, cg, order, v):
        fitting = ", ".join(f"{r.id} ({r.group})" for r in cg.rules if r.id in matched) or "—"
        raise NtmInputError([Problem(
            f"unit.region states {stated}, but the facts given rule it out (fitting rules: {fitting})", file=path,
            line=line, field="unit.region", hint="remove unit.region, or correct the facts")])
    if group is None:
        return GroupDecision(stated, "stated", False, stated, matched, not_matched, undecided, fitted, order, source,
                             prec, missing, result.trace)
    return d


def _possible(g: str, cg: CommuneGroups, order: tuple[str, ...], v: dict) -> bool:
    """Could the missing facts still place the commune in g? Every group ranked before g must be able not to fit."""
    ranked = list(order) + [cg.default]
    for h in ranked[:ranked.index(g)]:
        if v.get(("ggroup", h)) == "fits":
            return False
    return g == cg.default or v.get(("ggroup", g)) != "not"
