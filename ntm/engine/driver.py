"""A synchronous driver over durable-rules' C engine: no background threads, every error surfaced.

durable's own Host starts dispatcher threads and swallows action exceptions; we keep only its Rete network,
joins and agenda, and move JSON in and out ourselves (see shared/reference/durable-rules.md §6).

Fact ids (issue #17). durable indexes a session's facts by a 32-bit FNV-1a hash of each fact's id and takes a
new fact whose hash is already indexed for one it has seen: `assert_facts` returns 2 and the fact is dropped,
its rules never fire. Left to itself the engine makes the id from the fact's content *including the session
id*, so about one evaluation in 10,000 lost a derived fact, and which one depended on the session names (on
the number of batch workers). Here every fact carries an explicit id from `FactIds`, whose hashes are checked
pairwise distinct (and distinct from the session state fact's id) when the ruleset is built, and every
evaluation runs on the same session name, deleted after each use: no evaluation can depend on a hash
accident or on what ran before it. A return code of 2 can then only mean a bug, and is an error.
"""

from __future__ import annotations

import json
import threading

import durable_rules_engine as dre

from ntm.errors import EngineFailure

SID = "s"  # the one session name: reused after every delete_state (tests/test_engine_contract.py pins it)

# assert_facts return codes (durable's rules.h); anything else is raised by the C module as durable_rules_engine.error
RULES_OK = 0
EVENT_NOT_HANDLED = 1  # no pattern matched the fact: legitimate (evidence no rule tests, a top tier's fact)
EVENT_OBSERVED = 2  # a fact with the same id hash is already in the session: the new one was dropped

Decides = tuple[tuple[tuple, str], ...]


def dumps(obj) -> str:
    """durable's parser rejects NaN and exponents without '.', so only ints, bools and strings ever reach it."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def fnv1a32(text: str) -> int:
    """durable's fnv1Hash32 (FNV-1a, 32 bit) of a fact id: the key of the session's fact index."""
    h = 2166136261
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


class FactIds:
    """Short explicit fact ids whose index hashes are pairwise distinct within a session."""

    def __init__(self, sid: str = SID):
        self._used = {fnv1a32("sid-" + sid)}  # the state fact durable keeps in every session
        self._k = 0

    def new(self) -> str:
        while True:
            cand = f"i{self._k}"
            self._k += 1
            h = fnv1a32(cand)
            if h not in self._used:
                self._used.add(h)
                return cand


class Session:
    """What one evaluation concluded: per-call state, so concurrent evaluations share nothing."""

    __slots__ = ("verdict", "trace")

    def __init__(self):
        self.verdict: dict[tuple, str] = {}
        self.trace: list[str] = []


class Ruleset:
    """One compiled durable ruleset and what each rule's firing means.

    `table[rule] = (decides, derived)`: the verdict keys the firing decides (the first decision of a key wins)
    and the fact it derives, as JSON without its opening brace (`"id":"i7","t":"ip",...}`), or None. Evidence
    is given to `run` the same way. Ids come from `self.ids`, allocated before the first run.
    """

    def __init__(self, name: str, definition: dict, sid: str = SID):
        self.name = name
        self.sid = sid  # any name works (the agreement benchmark uses several); the ids avoid its state fact
        self.prefix = '{"sid":' + dumps(sid) + ","
        self.ids = FactIds(sid)
        self.table: dict[str, tuple[Decides, str | None]] = {}
        self.lock = threading.Lock()  # one session name: one evaluation at a time per ruleset
        self.closed = False
        try:
            self.handle = dre.create_ruleset(name, dumps(definition))
        except Exception as e:  # durable_rules_engine.error
            raise EngineFailure(f"durable-rules refused the compiled ruleset {name}: {e}") from None

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                dre.delete_ruleset(self.handle)

    def run(self, evidence: list[str], max_actions: int) -> Session:
        """Assert the evidence in one call, run the agenda to completion, delete the state."""
        s = Session()
        prefix = self.prefix
        payload = "[" + ",".join(prefix + body for body in evidence) + "]"
        with self.lock:
            if self.closed:
                raise Closed(self.name)
            try:
                try:
                    code, offset = dre.assert_facts(self.handle, payload)
                except Exception as e:
                    raise EngineFailure(f"durable-rules rejected the evidence: {e}") from None
                # in a batch the code is the LAST fact's non-zero code (a 1 can hide a 2): the ids make a 2
                # impossible by construction; a 2 that shows anyway is a bug, never ignored
                _check(code, "the evidence")
                self._agenda(offset, s, max_actions)
            finally:
                dre.delete_state(self.handle, self.sid)
        return s

    def _agenda(self, offset: int, s: Session, max_actions: int) -> None:
        res = dre.start_action_for_state(self.handle, offset)
        if not res:
            return
        msgs = res[1]
        table, verdict, trace = self.table, s.verdict, s.trace
        derived_seen: set[str] = set()
        n = 0
        while msgs:
            n += 1
            if n > max_actions:
                dre.abandon_action(self.handle, offset)
                raise EngineFailure(f"action budget exceeded ({max_actions}): probable rule loop")
            rname = _rule_name(msgs)
            entry = table.get(rname)
            if entry is None:
                dre.abandon_action(self.handle, offset)
                raise EngineFailure(f"durable-rules fired {rname!r}, which the compiled ruleset does not have")
            decides, derived = entry
            trace.append(rname)
            for key, status in decides:
                if key not in verdict:
                    verdict[key] = status
            if derived is not None and derived not in derived_seen:
                # several rules may derive the same fact (any failing criterion fails the tier): assert it once
                derived_seen.add(derived)
                try:
                    code, _ = dre.assert_facts(self.handle, "[" + self.prefix + derived + "]")
                    _check(code, f"the fact derived by {rname}")
                except BaseException as e:
                    dre.abandon_action(self.handle, offset)
                    if isinstance(e, EngineFailure):
                        raise
                    raise EngineFailure(f"durable-rules failed while chaining {rname}: {e}") from None
            msgs = dre.complete_and_start_action(self.handle, offset)


class Closed(Exception):
    """The ruleset was evicted from a cache (and deleted in the engine) before this call took its lock."""


def _check(code: int, what: str) -> None:
    if code == RULES_OK or code == EVENT_NOT_HANDLED:
        return
    if code == EVENT_OBSERVED:
        raise EngineFailure(f"durable-rules dropped {what} as already seen (fact id hash collision): "
                            "the evaluation would be incomplete")
    raise EngineFailure(f"durable-rules returned code {code} for {what}")


def _rule_name(msgs: str) -> str:
    """The fired rule's name: the first key of the action message (names are plain ASCII by construction)."""
    end = msgs.find('"', 2)
    name = msgs[2:end]
    if msgs.startswith('{"') and "\\" not in name:
        return name
    return next(iter(json.loads(msgs)))
