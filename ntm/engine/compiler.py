"""Compile a resolved ruleset into durable-rules JSON: real forward chaining, inside the engine's safe subset.

Evidence facts:  {t: ev, f: <fact>, lo: floor(v·1e6), hi: ceil(v·1e6)}  or  {t: ev, f: <fact>, b: <bool>}
Comparing lo/hi against an integer threshold T·1e6 is exact for any real v (see `PASS_FAIL`), so a ratio such
as 79.99996 % never rounds onto a threshold of 80.

Derived facts (each asserted once per evaluation):
  kp/kx  condition passed/failed      (only for multi-condition or "if any" indicators)
  ip/ix  indicator passed (or n/a)/failed
  cp/cx  criterion met/failed
  tp/tx  tier met/failed (a failed prerequisite fails the tier)
  gp     partial join, when a join has more than 8 patterns
Whatever the engine derives neither way is undecided: missing evidence or a threshold nobody has set.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal

from ntm.criteria.resolve import RCondition, RIndicator, Resolved
from ntm.errors import EngineFailure

SCALE = 10**6
MAX_JOIN = 8
MAX_DISTINCT_PER_FACT = 60

# op -> (pass comparison, fail comparison) over the lo/hi encoding, T an integer
PASS_FAIL = {
    ">=": (lambda T: {"$gte": {"lo": T}}, lambda T: {"$lt": {"lo": T}}),
    ">": (lambda T: {"$gt": {"hi": T}}, lambda T: {"$lte": {"hi": T}}),
    "<=": (lambda T: {"$lte": {"hi": T}}, lambda T: {"$gt": {"hi": T}}),
    "<": (lambda T: {"$lt": {"lo": T}}, lambda T: {"$gte": {"lo": T}}),
}


def scaled(v: Decimal) -> int:
    s = v * SCALE
    if s != s.to_integral_value():
        raise EngineFailure(f"threshold {v} has more than 6 decimal places")
    return int(s)


def pat(t: str, **fields) -> dict:
    return {"$and": [{"t": t}] + [{k: v} for k, v in fields.items()]}


def ev(fact: str, *cmps: dict) -> dict:
    return {"$and": [{"t": "ev"}, {"f": fact}, *cmps]}


@dataclass(frozen=True)
class RuleMeta:
    """What a firing means: the verdict keys it decides and the fact it derives."""

    decides: tuple[tuple[tuple, str], ...]
    derive: dict | None


@dataclass
class Compiled:
    definition: dict[str, dict]
    meta: dict[str, RuleMeta]
    facts_used: tuple[str, ...]
    sha256: str = ""
    lint_notes: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self):
        self.definition: dict[str, dict] = {}
        self.meta: dict[str, RuleMeta] = {}
        self.facts: set[str] = set()

    def rule(self, name: str, patterns: list[dict], decides=(), derive: dict | None = None) -> None:
        if name in self.definition:
            raise EngineFailure(f"compiler produced rule {name} twice")
        if len(patterns) > MAX_JOIN:
            chunks = [patterns[i:i + MAX_JOIN] for i in range(0, len(patterns), MAX_JOIN)]
            parts = []
            for i, chunk in enumerate(chunks):
                g = {"t": "gp", "g": name, "i": i}
                self.rule(f"{name}#{i}", chunk, (), g)
                parts.append(pat("gp", g=name, i=i))
            return self.rule(name, parts, decides, derive)
        if not patterns:
            patterns = [pat("begin")]
        self.definition[name] = {"all": [{f"p{i}": p} for i, p in enumerate(patterns)]}
        self.meta[name] = RuleMeta(tuple(decides), derive)


def _cond_patterns(c: RCondition) -> tuple[dict, dict] | None:
    th = c.threshold.value
    if th is None:
        return None
    if c.op == "is_true":
        return ev(c.fact, {"b": True}), ev(c.fact, {"b": False})
    T = scaled(th)
    if c.op == "==":
        return (ev(c.fact, {"lo": T}, {"hi": T}),
                ev(c.fact, {"$or": [{"$neq": {"lo": T}}, {"$and": [{"lo": T}, {"$neq": {"hi": T}}]}]}))
        # exclusive branches: durable fires an $or once per true branch
    p, f = PASS_FAIL[c.op]
    return ev(c.fact, p(T)), ev(c.fact, f(T))


def _indicator(b: _Builder, ind: RIndicator) -> None:
    T, code = ind.tier, ind.code
    ip, ix = {"t": "ip", "tier": T, "ind": code}, {"t": "ix", "tier": T, "ind": code}
    key = ("ind", T, code)
    n = len(ind.conditions)
    compiled = {c.index: _cond_patterns(c) for c in ind.conditions}
    for c in ind.conditions:
        b.facts.add(c.fact)
    if n == 1 and ind.applies_if is None:
        pf = compiled[0]
        if pf is not None:
            ck = ("cond", T, code, 0)
            b.rule(f"ind|{T}|{code}|pass", [pf[0]], ((ck, "pass"), (key, "pass")), ip)
            b.rule(f"ind|{T}|{code}|fail", [pf[1]], ((ck, "fail"), (key, "fail")), ix)
        return
    usable = [k for k, pf in compiled.items() if pf is not None]
    for k in usable:
        ck = ("cond", T, code, k)
        b.rule(f"cond|{T}|{code}|{k}|pass", [compiled[k][0]], ((ck, "pass"),), {"t": "kp", "tier": T, "ind": code, "k": k})
        b.rule(f"cond|{T}|{code}|{k}|fail", [compiled[k][1]], ((ck, "fail"),), {"t": "kx", "tier": T, "ind": code, "k": k})
    gate = []
    if ind.applies_if is not None:
        b.facts.add(ind.applies_if)
        gate = [ev(ind.applies_if, {"b": True})]
        b.rule(f"ind|{T}|{code}|na", [ev(ind.applies_if, {"b": False})], ((key, "not_applicable"),), ip)
    need_fail = n - ind.required + 1
    for combo in itertools.combinations(usable, ind.required):
        b.rule(f"ind|{T}|{code}|pass|{'+'.join(map(str, combo))}",
               gate + [pat("kp", tier=T, ind=code, k=k) for k in combo], ((key, "pass"),), ip)
    for combo in itertools.combinations(usable, need_fail):
        b.rule(f"ind|{T}|{code}|fail|{'+'.join(map(str, combo))}",
               gate + [pat("kx", tier=T, ind=code, k=k) for k in combo], ((key, "fail"),), ix)


def compile_resolved(res: Resolved) -> Compiled:
    b = _Builder()
    b.rule("begin", [pat("begin")])
    for tier in res.tiers:
        T = tier.id
        for crit in tier.criteria:
            for ind in crit.indicators:
                _indicator(b, ind)
            ck = ("crit", T, crit.number)
            cp, cx = {"t": "cp", "tier": T, "crit": crit.number}, {"t": "cx", "tier": T, "crit": crit.number}
            b.rule(f"crit|{T}|{crit.number}|met", [pat("ip", tier=T, ind=i.code) for i in crit.indicators],
                   ((ck, "met"),), cp)
            for i in crit.indicators:
                b.rule(f"crit|{T}|{crit.number}|fail|{i.code}", [pat("ix", tier=T, ind=i.code)], ((ck, "not_met"),), cx)
        tk = ("tier", T)
        req = [pat("tp", tier=tier.requires)] if tier.requires else []
        b.rule(f"tier|{T}|met", req + [pat("cp", tier=T, crit=c.number) for c in tier.criteria],
               ((tk, "met"),), {"t": "tp", "tier": T})
        for c in tier.criteria:
            b.rule(f"tier|{T}|fail|{c.number}", [pat("cx", tier=T, crit=c.number)], ((tk, "not_met"),), {"t": "tx", "tier": T})
        if tier.requires:
            b.rule(f"tier|{T}|fail|requires", [pat("tx", tier=tier.requires)], ((tk, "not_met"),), {"t": "tx", "tier": T})
    comp = Compiled(b.definition, b.meta, tuple(sorted(b.facts)))
    lint(comp)
    comp.sha256 = hashlib.sha256(json.dumps(comp.definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return comp


FORBIDDEN = ('"$s"', '"$div"', '"$nex"', '"$ex"', '"$not"', '"$add"', '"$sub"', '"$mul"', '"$state"', '"$flow"',
             '"$l"', '"$r"', '"any"', '"$any"', '"$all"')


def lint(comp: Compiled) -> None:
    """Refuse any compiled rule outside the subset of durable-rules that is known to be safe."""
    problems = []
    if len(comp.definition) >= 4096:
        problems.append(f"{len(comp.definition)} rules; durable allows fewer than 4096")
    per_fact: dict[str, set[str]] = {}
    for name, rule in comp.definition.items():
        text = json.dumps(rule, ensure_ascii=False)
        for bad in FORBIDDEN:
            if bad in text:
                problems.append(f"{name}: forbidden construct {bad}")
        pats = rule.get("all", [])
        if set(rule) != {"all"} or not 1 <= len(pats) <= MAX_JOIN:
            problems.append(f"{name}: must be one 'all' join of 1..{MAX_JOIN} patterns")
        for p in pats:
            (alias, cond), = p.items()
            first = cond.get("$and", [cond])[0]
            if set(first) != {"t"}:
                problems.append(f"{name}: pattern {alias} does not start with a type tag")
            if first.get("t") == "ev":
                fid = cond["$and"][1].get("f")
                per_fact.setdefault(fid, set()).add(json.dumps(cond, sort_keys=True))
            if any(isinstance(v, float) for v in _leaves(cond)):
                problems.append(f"{name}: pattern {alias} compares a float; thresholds must be scaled integers")
        derive = comp.meta[name].derive
        if derive and any(k in ("id", "sid") or k.startswith("$") for k in derive):
            problems.append(f"{name}: derived fact uses a reserved field")
    for fid, pats in per_fact.items():
        # durable shares identical patterns, but a fact satisfying more than 64 distinct ones crashes the
        # process (SIGSEGV, measured): keep a margin
        if len(pats) > MAX_DISTINCT_PER_FACT:
            problems.append(f"fact {fid} is tested by {len(pats)} distinct patterns; durable crashes above 64")
    if problems:
        raise EngineFailure("compiled ruleset failed lint:\n  " + "\n  ".join(problems))


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj
