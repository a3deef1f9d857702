"""Small durable-rules rule sets beside the criteria: commune group placement, a merged commune's status.

They follow the same safe subset as the criteria compiler (type-tagged patterns, joins of at most 8, no
negation, no arithmetic, explicit fact ids on one reused session name) and are cached by the hash of their
definition.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ntm.engine.compiler import PASS_FAIL, SCALE, Compiled, _Builder, ev, lint, scaled
from ntm.engine.driver import Closed, Ruleset, dumps


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


class _Side:
    """A side rule set live in durable-rules: explicit fact ids (derived ones fixed at creation, the k-th fact
    of a run always the k-th spare id), whose index hashes are distinct within the session (see driver)."""

    def __init__(self, comp: Compiled):
        self.rs = Ruleset(f"side_{comp.sha256[:20]}", comp.definition)
        bodies: dict[str, str] = {}
        for name, m in comp.meta.items():
            body = None
            if m.derive:
                key = dumps(m.derive)
                body = bodies.get(key)
                if body is None:
                    body = bodies[key] = dumps({"id": self.rs.ids.new(), **m.derive})[1:]
            self.rs.table[name] = (m.decides, body)
        self.max_actions = 4 * len(comp.definition) + 16
        self._spare: list[str] = []
        self._lock = threading.Lock()

    def ids(self, n: int) -> list[str]:
        with self._lock:
            while len(self._spare) < n:
                self._spare.append(self.rs.ids.new())
            return self._spare[:n]


_SIDES: dict[str, _Side] = {}
_SIDES_MAX = 32
_LOCK = threading.Lock()


def run(comp: Compiled, facts: list[dict]) -> SideRun:
    """Run a compiled side rule set through the criteria's driver (one session name, explicit ids, per-call
    state); the verdict is what the fired rules decided."""
    for _ in range(2):
        with _LOCK:
            side = _SIDES.get(comp.sha256)
            if side is None:
                if len(_SIDES) >= _SIDES_MAX:
                    _SIDES.pop(next(iter(_SIDES))).rs.close()
                side = _SIDES[comp.sha256] = _Side(comp)
        bodies = [dumps({"id": i, **f})[1:] for i, f in zip(side.ids(len(facts)), facts)]
        try:
            s = side.rs.run(bodies, side.max_actions)
        except Closed:  # evicted by another thread meanwhile: take it again
            continue
        return SideRun(s.verdict, tuple(s.trace), comp.sha256)
    raise Closed(comp.sha256)
