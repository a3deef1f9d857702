"""Run a resolved ruleset on evidence through durable-rules and collect what the engine concluded."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ntm.criteria.dossier import Observation
from ntm.criteria.resolve import Resolved
from ntm.engine.compiler import SCALE, Compiled, compile_resolved
from ntm.engine.driver import Ruleset, dumps

Verdict = dict[tuple, str]


@dataclass(frozen=True)
class EngineRun:
    verdict: Verdict
    trace: tuple[str, ...]  # fired rules, in firing order: the audit trail
    ruleset_sha256: str
    rules: int


_CACHE: dict[str, tuple[Compiled, Ruleset]] = {}
_CACHE_MAX = 64


def evidence_facts(compiled: Compiled, obs: dict[str, Observation]) -> list[dict]:
    """The begin fact, then one fact per measured quantity the ruleset tests, in a canonical order."""
    facts = [{"t": "begin"}]
    for fid in compiled.facts_used:
        o = obs.get(fid)
        if o is None:
            continue
        if isinstance(o.value, bool):
            facts.append({"t": "ev", "f": fid, "b": o.value})
        else:
            x = o.value * SCALE
            facts.append({"t": "ev", "f": fid, "lo": math.floor(x), "hi": math.ceil(x)})
    return facts


# resolve() memoises, and Resolved objects that differ only by the as-of day share one tiers tuple: key the
# compiled form on that tuple (identity-checked, so a recycled id can never match)
_BY_TIERS: dict[int, tuple[tuple, str]] = {}


def compiled_for(res: Resolved) -> tuple[Compiled, Ruleset]:
    """Compile once per resolved ruleset; equal compilations share one durable ruleset (by content hash)."""
    entry = _BY_TIERS.get(id(res.tiers))
    if entry is not None and entry[0] is res.tiers and entry[1] in _CACHE:
        return _CACHE[entry[1]]
    comp = compile_resolved(res)
    if len(_BY_TIERS) >= 1024:
        _BY_TIERS.clear()
    _BY_TIERS[id(res.tiers)] = (res.tiers, comp.sha256)
    hit = _CACHE.get(comp.sha256)
    if hit is not None:
        return hit
    if len(_CACHE) >= _CACHE_MAX:
        _, (_, old) = _CACHE.popitem()
        old.close()
    holder: dict = {}

    def make_action(meta):
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

    actions = {name: make_action(m) for name, m in comp.meta.items()}
    rs = Ruleset(f"ntm_{comp.sha256[:20]}", comp.definition, actions)
    rs.holder = holder
    _CACHE[comp.sha256] = (comp, rs)
    return comp, rs


# The compiled-ruleset cache and each ruleset's action holder are shared by every caller of this process:
# one evaluation at a time (the C engine holds the GIL throughout, so threads lose no parallelism), and a
# ruleset is never closed by the cache while another thread's evaluation runs on it.
_ENGINE_LOCK = threading.RLock()


def run_engine(res: Resolved, obs: dict[str, Observation]) -> EngineRun:
    with _ENGINE_LOCK:
        comp, rs = compiled_for(res)
        state = {"trace": [], "verdict": {}, "derived": set()}
        rs.holder["state"] = state
        try:
            rs.run(evidence_facts(comp, obs), max_actions=4 * len(comp.definition) + 16)
        finally:
            rs.holder.pop("state", None)
    return EngineRun(state["verdict"], tuple(state["trace"]), comp.sha256, len(comp.definition))
