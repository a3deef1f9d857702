"""Run a resolved ruleset on evidence through durable-rules and collect what the engine concluded."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ntm.criteria.dossier import Observation
from ntm.criteria.resolve import Resolved
from ntm.engine.compiler import SCALE, Compiled, compile_resolved
from ntm.engine.driver import SID, Closed, Ruleset, dumps, fnv1a32
from ntm.errors import EngineFailure

Verdict = dict[tuple, str]


@dataclass(frozen=True)
class EngineRun:
    verdict: Verdict
    trace: tuple[str, ...]  # fired rules, in firing order: the audit trail
    ruleset_sha256: str
    rules: int


class Keys:
    """The compiled rules as durable runs them: which fact (or derived fact) a pattern is about is spelled as a
    property NAME (`{"k12": true}`) instead of string values (`{"f": "income_per_capita"}`, `{"tier": ..,
    "ind": ..}`). durable finds the alpha nodes of a property name by hash, but tests sibling values one by one:
    with ~90 facts and ~60 indicators a fact was string-compared with every sibling (about 40 % of the engine's
    time). Same rules, names, order, joins and comparisons (lo/hi/b untouched), so the same firings; the compiled
    hash stays the one of `Compiled.definition`. Property names are checked to hash distinctly (as durable
    hashes them), since two names with one hash would match each other's patterns."""

    RESERVED = ("t", "sid", "id", "lo", "hi", "b", "$s")

    def __init__(self, comp: Compiled):
        self.key: dict[str, str] = {}  # canonical JSON of (type, fields) -> property name
        used = {fnv1a32(n) for n in self.RESERVED}
        if len(used) != len(self.RESERVED):  # pragma: no cover - constants
            raise EngineFailure("reserved property names collide")
        self._used, self._n = used, 0
        self.definition = {name: {"all": [{alias: self.pattern(cond)} for p in rule["all"]
                                          for alias, cond in p.items()]}
                           for name, rule in comp.definition.items()}

    def of(self, t: str, fields: dict) -> str:
        canon = dumps([t, sorted(fields.items())])
        k = self.key.get(canon)
        if k is None:
            while True:
                k = f"k{self._n}"
                self._n += 1
                if fnv1a32(k) not in self._used:
                    break
            self._used.add(fnv1a32(k))
            self.key[canon] = k
        return k

    def pattern(self, cond: dict) -> dict:
        parts = cond["$and"]
        t = parts[0]["t"]
        if t == "ev":  # {t: ev}, {f: <fact>}, comparisons on lo/hi/b
            return {"$and": [parts[0], {self.of("ev", {"f": parts[1]["f"]}): True}, *parts[2:]]}
        if len(parts) == 1:
            return cond
        fields = {}
        for q in parts[1:]:
            (k, v), = q.items()
            if k.startswith("$") or isinstance(v, (dict, list)):
                raise EngineFailure(f"cannot key a derived-fact pattern with a comparison: {cond}")
            fields[k] = v
        return {"$and": [parts[0], {self.of(t, fields): True}]}

    def derived(self, derive: dict) -> dict:
        return {"t": derive["t"], self.of(derive["t"], {k: v for k, v in derive.items() if k != "t"}): True}


class Engine:
    """A compiled ruleset live in durable-rules, with the explicit id of every fact it can be given or derive."""

    def __init__(self, comp: Compiled, sid: str = SID):
        self.comp = comp
        keys = Keys(comp)
        self.rs = Ruleset(f"ntm_{comp.sha256[:20]}" + ("" if sid == SID else f"_{sid}"), keys.definition, sid)
        ids = self.rs.ids
        self.begin = dumps({"id": ids.new(), "t": "begin"})[1:]
        # evidence: '"id":"i3","t":"ev","k7":true,' + the value part, one id per fact (ids are per session)
        self.heads = {fid: '"id":' + dumps(ids.new()) + ',"t":"ev",' + dumps(keys.of("ev", {"f": fid})) + ":true,"
                      for fid in comp.facts_used}
        derived_id: dict[str, str] = {}
        for name, m in comp.meta.items():
            body = None
            if m.derive:
                key = dumps(m.derive)
                body = derived_id.get(key)
                if body is None:
                    body = derived_id[key] = dumps({"id": ids.new(), **keys.derived(m.derive)})[1:]
            self.rs.table[name] = (m.decides, body)
        self.max_actions = 4 * len(comp.definition) + 16

    def evidence(self, obs: dict[str, Observation]) -> list[str]:
        """The begin fact, then one fact per measured quantity the ruleset tests, in a canonical order."""
        out = [self.begin]
        heads = self.heads
        for fid in self.comp.facts_used:
            o = obs.get(fid)
            if o is None:
                continue
            v = o.value
            if v is True:
                out.append(heads[fid] + '"b":true}')
            elif v is False:
                out.append(heads[fid] + '"b":false}')
            else:
                x = v * SCALE
                lo, hi = math.floor(x), math.ceil(x)
                out.append(f'{heads[fid]}"lo":{lo},"hi":{hi}}}')
        return out

    def run(self, obs: dict[str, Observation]) -> EngineRun:
        s = self.rs.run(self.evidence(obs), self.max_actions)
        return EngineRun(s.verdict, tuple(s.trace), self.comp.sha256, len(self.comp.definition))


def evidence_facts(compiled: Compiled, obs: dict[str, Observation]) -> list[dict]:
    """The evidence as plain facts (without ids): what `Engine.evidence` sends, for tests and tools."""
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


_CACHE: dict[tuple[str, str], Engine] = {}
_CACHE_MAX = 64
# resolve() memoises, and Resolved objects that differ only by the as-of day share one tiers tuple: key the
# compiled form on that tuple (identity-checked, so a recycled id can never match)
_BY_TIERS: dict[int, tuple[tuple, str]] = {}
_LOCK = threading.Lock()  # the caches are filled by whichever thread needs a ruleset first


def engine_for(res: Resolved, sid: str = SID) -> Engine:
    """Compile once per resolved ruleset; equal compilations share one durable ruleset (by content hash).
    `sid`: the session name (the product always uses the default; tests and benchmarks vary it)."""
    entry = _BY_TIERS.get(id(res.tiers))
    if entry is not None and entry[0] is res.tiers:
        hit = _CACHE.get((entry[1], sid))
        if hit is not None:
            return hit
    comp = compile_resolved(res)
    with _LOCK:
        if len(_BY_TIERS) >= 1024:
            _BY_TIERS.clear()
        _BY_TIERS[id(res.tiers)] = (res.tiers, comp.sha256)
    return engine_of(comp, sid)


def engine_of(comp: Compiled, sid: str = SID) -> Engine:
    """The live engine of a compiled rule set (criteria or a side rule set), created once per content hash."""
    hit = _CACHE.get((comp.sha256, sid))
    if hit is not None:
        return hit
    with _LOCK:
        hit = _CACHE.get((comp.sha256, sid))
        if hit is not None:
            return hit
        if len(_CACHE) >= _CACHE_MAX:
            old = _CACHE.pop(next(iter(_CACHE)))
            old.rs.close()
        eng = _CACHE[(comp.sha256, sid)] = Engine(comp, sid)
        return eng


def compiled_for(res: Resolved) -> tuple[Compiled, Ruleset]:
    eng = engine_for(res)
    return eng.comp, eng.rs


def run_engine(res: Resolved, obs: dict[str, Observation], sid: str = SID) -> EngineRun:
    try:
        return engine_for(res, sid).run(obs)
    except Closed:  # another thread evicted it meanwhile: compile again
        return engine_for(res, sid).run(obs)
