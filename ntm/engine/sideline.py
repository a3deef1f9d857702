"""Small durable-rules rule sets beside the criteria: commune group placement, a merged commune's status.

They follow the same safe subset as the criteria compiler (type-tagged patterns, joins of at most 8, no
negation, no arithmetic, one fresh sid per run) and are cached by the hash of their definition.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ntm.engine.compiler import PASS_FAIL, SCALE, Compiled, RuleMeta, _Builder, ev, lint, scaled
from ntm.engine.driver import Ruleset, dumps

_CACHE: dict[str, tuple[Compiled, Ruleset]] = {}
_CACHE_MAX = 32


def compare_patterns(fact: str, op: str, value) -> tuple[dict, dict]:
    """(holds, does not hold) patterns for `fact op value` over the evidence encoding of the criteria."""
    if op == "is_true":
        return ev(fact, {"b": True}), ev(fact, {"b": False})
    T = scaled(Decimal(str(value)))
    if op == "==":
        return (ev(fact, {"lo": T}, {"hi": T}),
                ev(fact, {"$or": [{"$neq": {"lo": T}}, {"$and": [{"lo": T}, {"$neq": {"hi": T}}]}]}))
    p, f = PASS_FAIL[op]
    return ev(fact, p(T)), ev(fact, f(T))


def evidence(facts: list[str], obs: dict) -> list[dict]:
    """The begin fact and one evidence fact per observed value, in the criteria's lo/hi encoding."""
    out = [{"t": "begin"}]
    for fid in sorted(set(facts)):
        o = obs.get(fid)
        if o is None:
            continue
        v = o.value if hasattr(o, "value") else o
        if isinstance(v, bool):
            out.append({"t": "ev", "f": fid, "b": v})
        else:
            x = Fraction(v) * SCALE
            out.append({"t": "ev", "f": fid, "lo": math.floor(x), "hi": math.ceil(x)})
    return out


def finish(b: _Builder) -> Compiled:
    comp = Compiled(b.definition, b.meta, tuple(sorted(b.facts)))
    lint(comp)
    comp.sha256 = hashlib.sha256(json.dumps(comp.definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return comp


@dataclass(frozen=True)
class SideRun:
    verdict: dict
    trace: tuple[str, ...]
    sha256: str


def run(comp: Compiled, facts: list[dict]) -> SideRun:
    """Run a compiled side rule set on a fresh sid; the verdict is what the fired rules decided."""
    hit = _CACHE.get(comp.sha256)
    if hit is None:
        holder: dict = {}

        def make_action(meta: RuleMeta):
            body = dumps(meta.derive)[1:] if meta.derive else None

            def action(sid, rname):
                st = holder["state"]
                st["trace"].append(rname)
                for key, status in meta.decides:
                    st["verdict"].setdefault(key, status)
                if body is None or body in st["derived"]:
                    return None
                st["derived"].add(body)
                return body
            return action

        rs = Ruleset(f"side_{comp.sha256[:20]}", comp.definition, {n: make_action(m) for n, m in comp.meta.items()})
        rs.holder = holder
        if len(_CACHE) >= _CACHE_MAX:
            _, (_, old) = _CACHE.popitem()
            old.close()
        hit = _CACHE[comp.sha256] = (comp, rs)
    comp, rs = hit
    state = {"trace": [], "verdict": {}, "derived": set()}
    rs.holder["state"] = state
    try:
        rs.run(facts, max_actions=4 * len(comp.definition) + 16)
    finally:
        rs.holder.pop("state", None)
    return SideRun(state["verdict"], tuple(state["trace"]), comp.sha256)
