"""A synchronous driver over durable-rules' C engine: no background threads, every error surfaced.

durable's own Host starts dispatcher threads and swallows action exceptions; we keep only its Rete network,
joins and agenda, and move JSON in and out ourselves (see shared/reference/durable-rules.md §6).
"""

from __future__ import annotations

import json
import threading
from typing import Callable

import durable_rules_engine as dre

from ntm.errors import EngineFailure

Action = Callable[[str, str], "str | None"]


def dumps(obj) -> str:
    """durable's parser rejects NaN and exponents without '.', so only ints, bools and strings ever reach it."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Ruleset:
    """One compiled durable ruleset. Evaluate with `run`; never reuse a sid, never retract."""

    def __init__(self, name: str, definition: dict, actions: dict[str, Action]):
        self.name = name
        self.actions = actions
        self.lock = threading.Lock()
        self._n = 0
        try:
            self.handle = dre.create_ruleset(name, dumps(definition))
        except Exception as e:  # durable_rules_engine.error
            raise EngineFailure(f"durable-rules refused the compiled ruleset {name}: {e}") from None

    def close(self) -> None:
        dre.delete_ruleset(self.handle)

    def run(self, facts: list[dict], max_actions: int) -> int:
        """Assert the facts on a fresh sid, run the agenda to completion, delete the state. Returns firings."""
        with self.lock:
            self._n += 1
            sid = f"e{self._n}"
            for f in facts:
                f["sid"] = sid
            try:
                try:
                    code, offset = dre.assert_facts(self.handle, dumps(facts))
                except Exception as e:
                    raise EngineFailure(f"durable-rules rejected the evidence: {e}") from None
                if code == 2:
                    raise EngineFailure("duplicate fact in one evaluation")
                return self._agenda(offset, sid, max_actions)
            finally:
                dre.delete_state(self.handle, sid)

    def _agenda(self, offset: int, sid: str, max_actions: int) -> int:
        res = dre.start_action_for_state(self.handle, offset)
        if not res:
            return 0
        msgs = res[1]
        prefix = '[{"sid":' + dumps(sid) + ","
        n = 0
        while msgs:
            n += 1
            if n > max_actions:
                dre.abandon_action(self.handle, offset)
                raise EngineFailure(f"action budget exceeded ({max_actions}): probable rule loop")
            rname = _rule_name(msgs)
            try:
                derived = self.actions[rname](sid, rname)
            except BaseException:
                dre.abandon_action(self.handle, offset)
                raise
            if derived:
                # derived is the fact's JSON without its opening brace, serialised once at compile time
                try:
                    dre.assert_facts(self.handle, prefix + derived + "]")
                except Exception as e:
                    dre.abandon_action(self.handle, offset)
                    raise EngineFailure(f"durable-rules failed while chaining {rname}: {e}") from None
            msgs = dre.complete_and_start_action(self.handle, offset)
        return n


def _rule_name(msgs: str) -> str:
    """The fired rule's name: the first key of the action message (names are plain ASCII by construction)."""
    end = msgs.find('"', 2)
    name = msgs[2:end]
    if msgs.startswith('{"') and "\\" not in name:
        return name
    return next(iter(json.loads(msgs)))
