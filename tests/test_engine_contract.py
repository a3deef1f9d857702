"""Contract tests for the durable-rules C engine (``durable-rules==2.0.28``, module
``durable_rules_engine``).

These tests drive the C API directly (no ``durable.lang`` / ``durable.engine``) and pin the
engine behaviours the NTM design relies on (see the durable-rules reference, sections 0, 2.5,
3 and 6.2), so that a rebuilt wheel, a compiler change or a platform change that alters them
fails CI instead of silently changing evaluation results.

Ground rules followed by every test, so that nothing here can crash the test process:

* every ruleset has a ``begin`` rule and every batch asserts a ``{"t": "begin"}`` fact first,
  so at least one action runs on the sid and ``delete_state`` is safe;
* every fact carries ``sid``; every pattern starts with a type-tag equality such as
  ``{"t": "ev"}``;
* one fresh sid per batch, ``delete_state`` always called in ``finally``;
* no retract, ``$s``, ``$nex``, ``$not``, arithmetic or cross-fact references;
* a unique ruleset name per test, ``delete_ruleset`` at the end;
* the agenda runs with an action budget; exceeding it abandons the action and fails the test.

Where the engine's actual behaviour differs from the reference document, the test pins what the
engine actually does and the docstring says so (marked "DIFFERS FROM DOC").
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import subprocess
import sys
import textwrap
from typing import Any, Callable, Iterator, NamedTuple

import pytest

dre = pytest.importorskip("durable_rules_engine")


# --------------------------------------------------------------------------------------------
# Local driver helpers (deliberately independent of ntm's own adapter).
# --------------------------------------------------------------------------------------------

_ruleset_counter = itertools.count()
_sid_counter = itertools.count()

BEGIN_RULE = {"begin": {"all": [{"m": {"t": "begin"}}]}}
DEFAULT_BUDGET = 500


class Raw(str):
    """A JSON fragment emitted verbatim into the fact batch (e.g. ``1e-05`` or ``NaN``)."""


class BatchResult(NamedTuple):
    code: int  # return code of the initial assert_facts
    fired: list[str]  # rule names in firing order
    frames: list[dict]  # the frames of each firing, same order as ``fired``
    derived_codes: list[int]  # return codes of the assert_facts calls made for derived facts


def _dumps(obj: Any) -> str:
    """json.dumps, but ``Raw`` values are spliced in verbatim."""
    raws: dict[str, str] = {}

    def swap(o: Any) -> Any:
        if isinstance(o, Raw):
            key = f"__raw_{len(raws)}__"
            raws[key] = str(o)
            return key
        if isinstance(o, dict):
            return {k: swap(v) for k, v in o.items()}
        if isinstance(o, list):
            return [swap(v) for v in o]
        return o

    text = json.dumps(swap(obj), allow_nan=False)
    for key, raw in raws.items():
        text = text.replace(json.dumps(key), raw)
    return text


def _new_sid() -> str:
    return f"c{os.getpid()}_{next(_sid_counter)}"


@contextlib.contextmanager
def ruleset(rules: dict) -> Iterator[int]:
    """Create a ruleset under a unique name, always delete it afterwards."""
    assert "begin" in rules, "every contract ruleset needs a begin rule (delete_state safety)"
    name = f"ntm_contract_{os.getpid()}_{next(_ruleset_counter)}"
    handle = dre.create_ruleset(name, json.dumps(rules))
    try:
        yield handle
    finally:
        dre.delete_ruleset(handle)


Action = Callable[[dict], "list[dict] | None"]


def run_batch_full(
    handle: int,
    facts: list[dict],
    *,
    actions: dict[str, Action] | None = None,
    budget: int = DEFAULT_BUDGET,
    probe: Callable[[int, str], None] | None = None,
) -> BatchResult:
    """Assert ``facts`` (begin first) on a fresh sid in ONE assert_facts call, run the agenda to
    completion, return what fired. ``actions[rule](frames)`` may return derived facts, which are
    asserted with ``dre.assert_facts`` from inside the agenda loop (as lean_core does).
    ``probe(handle, sid)`` runs after the agenda, before the state is deleted.
    ``delete_state`` is always called."""
    assert facts and facts[0] == {"t": "begin"}, "the begin fact must be first in every batch"
    actions = actions or {}
    sid = _new_sid()
    batch = [dict(f, sid=sid) for f in facts]
    fired: list[str] = []
    frames_seen: list[dict] = []
    derived_codes: list[int] = []
    try:
        code, state_offset = dre.assert_facts(handle, _dumps(batch))
        started = dre.start_action_for_state(handle, state_offset)
        msgs = started[1] if started else None
        while msgs:
            if len(fired) >= budget:
                dre.abandon_action(handle, state_offset)
                pytest.fail(f"action budget {budget} exceeded: probable rule loop; fired={fired[:20]}...")
            (rule_name, frames), = json.loads(msgs).items()
            fired.append(rule_name)
            frames_seen.append(frames)
            try:
                derived = actions[rule_name](frames) if rule_name in actions else None
                if derived:
                    c, _ = dre.assert_facts(handle, _dumps([dict(d, sid=sid) for d in derived]))
                    derived_codes.append(c)
            except BaseException:
                dre.abandon_action(handle, state_offset)
                raise
            msgs = dre.complete_and_start_action(handle, state_offset)
        if probe is not None:
            probe(handle, sid)
        return BatchResult(code, fired, frames_seen, derived_codes)
    finally:
        dre.delete_state(handle, sid)


def run_batch(handle: int, facts: list[dict], **kw: Any) -> list[str]:
    """Ordered list of fired rule names for one fresh-sid batch."""
    return run_batch_full(handle, facts, **kw).fired


def fired_set(handle: int, facts: list[dict], **kw: Any) -> set[str]:
    fired = run_batch(handle, facts, **kw)
    assert len(fired) == len(set(fired)), f"a rule fired twice: {fired}"
    return set(fired)


def pat(tag: str, *conds: dict) -> dict:
    """A single pattern: type-tag equality first, then the given conditions."""
    return {"$and": [{"t": tag}, *conds]} if conds else {"t": tag}


def rule1(tag: str, *conds: dict, **extra: Any) -> dict:
    """A one-pattern rule."""
    return {"all": [{"m": pat(tag, *conds)}], **extra}


# --------------------------------------------------------------------------------------------
# 1. Integer comparisons are exact on int64-sized values
# --------------------------------------------------------------------------------------------

INT_THRESHOLDS = [
    0,
    1,
    -1,
    10**12,
    -(10**12),
    9 * 10**15,
    -9 * 10**15,
    2**53 - 1,
    2**53,
    2**53 + 1,  # first integer a double cannot represent: proves comparison is not via double
    2**62,
    2**63 - 2,  # T+1 == INT64_MAX
    -(2**63) + 1,  # T-1 == INT64_MIN
]

_PY_OPS: dict[str, Callable[[int, int], bool]] = {
    "gte": lambda a, b: a >= b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "neq": lambda a, b: a != b,
    "eq": lambda a, b: a == b,
}


def test_int64_comparisons_are_exact_at_threshold():
    """Evidence is quantised to integers (1/100 units) precisely so the engine compares exactly.
    Pass/fail correctness at the threshold (value == T, T-1, T+1, on both sides of zero and up to
    the int64 limits) therefore depends on $gte/$lte/$gt/$lt/$neq and equality being exact integer
    comparisons, not double comparisons (2**53 + 1 would collapse onto 2**53 as a double)."""
    mismatches = []
    for T in INT_THRESHOLDS:
        rules = dict(BEGIN_RULE)
        for op in ("gte", "lte", "gt", "lt", "neq"):
            rules[op] = rule1("ev", {f"${op}": {"v": T}})
        rules["eq"] = rule1("ev", {"v": T})
        with ruleset(rules) as h:
            for value in (T - 1, T, T + 1):
                got = fired_set(h, [{"t": "begin"}, {"t": "ev", "v": value}])
                want = {"begin"} | {op for op, f in _PY_OPS.items() if f(value, T)}
                if got != want:
                    mismatches.append((T, value, sorted(got), sorted(want)))
    assert mismatches == []


# --------------------------------------------------------------------------------------------
# 2. The lo/hi value encoding: exactly one of pass/fail fires
# --------------------------------------------------------------------------------------------

ENCODING_THRESHOLDS = [0, 7, -3, 6_500, 10**12, 9 * 10**15]


def _encoding_rules(T: int) -> dict:
    x = {"f": "x"}
    return {
        **BEGIN_RULE,
        "ge|pass": rule1("ev", x, {"$gte": {"lo": T}}),
        "ge|fail": rule1("ev", x, {"$lt": {"lo": T}}),
        "le|pass": rule1("ev", x, {"$lte": {"hi": T}}),
        "le|fail": rule1("ev", x, {"$gt": {"hi": T}}),
        "eq|pass": rule1("ev", x, {"lo": T}, {"hi": T}),
        # $or nested inside the pattern's $and; NOTE: fires twice when both disjuncts hold
        "eq|fail": rule1("ev", x, {"$or": [{"$neq": {"lo": T}}, {"$neq": {"hi": T}}]}),
        # the same condition written with mutually exclusive disjuncts: fires at most once
        "eqx|fail": rule1(
            "ev", x, {"$or": [{"$neq": {"lo": T}}, {"$and": [{"lo": T}, {"$neq": {"hi": T}}]}]}
        ),
    }


def test_lo_hi_encoding_exactly_one_of_pass_fail_fires():
    """Our compiler encodes each indicator as a complementary pass/fail rule pair over the
    evidence fact {t:ev, f:<ind>, lo, hi}: ">=T" is pass `$gte lo T` / fail `$lt lo T`, "<=T" is
    pass `$lte hi T` / fail `$gt hi T`, "==T" is pass `lo==T and hi==T` / fail
    `$or[$neq lo T, $neq hi T]` (an $or nested inside the pattern's $and). Indicator status is
    read off which rule fired, so for every present value exactly one of the pair must fire,
    including exactly at the threshold; evidence for another indicator must fire neither.

    DIFFERS FROM EXPECTATION (not in the doc): an `$or` is expanded into one alpha path per
    disjunct, so when BOTH disjuncts hold (lo != T and hi != T) the "==" fail rule fires TWICE,
    with identical frames. Exactly one RULE of the pair fires, but not exactly once. Consumers
    must treat firings idempotently, or the compiler must emit mutually exclusive disjuncts:
    `$or[$neq lo T, $and[lo == T, $neq hi T]]` (rule `eqx|fail`) fires exactly once; pinned too."""
    for T in ENCODING_THRESHOLDS:
        near = (T - 1, T, T + 1)
        with ruleset(_encoding_rules(T)) as h:

            def status(op: str, lo: int, hi: int) -> list[str]:
                got = run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x", "lo": lo, "hi": hi}])
                return sorted(r for r in got if r.startswith(op + "|"))

            for v in near:
                for hi in (v, v + 5):  # ">=" reads only lo
                    want = ["ge|pass"] if v >= T else ["ge|fail"]
                    assert status("ge", v, hi) == want, (T, v, hi)
                for lo in (v, v - 5):  # "<=" reads only hi
                    want = ["le|pass"] if v <= T else ["le|fail"]
                    assert status("le", lo, v) == want, (T, lo, v)
            for lo in near:
                for hi in near:
                    if lo == T and hi == T:
                        want, want_x = ["eq|pass"], []
                    elif lo != T and hi != T:
                        want, want_x = ["eq|fail", "eq|fail"], ["eqx|fail"]  # double firing
                    else:
                        want, want_x = ["eq|fail"], ["eqx|fail"]
                    assert status("eq", lo, hi) == want, (T, lo, hi)
                    assert status("eqx", lo, hi) == want_x, (T, lo, hi)

            # evidence for a different indicator matches none of x's rules
            other = [{"t": "begin"}, {"t": "ev", "f": "y", "lo": T, "hi": T}]
            assert run_batch(h, other) == ["begin"]


# --------------------------------------------------------------------------------------------
# 3. Boolean fields
# --------------------------------------------------------------------------------------------


def test_boolean_fields_match_only_their_own_value():
    """Boolean indicators compile to pass `{b: true}` / fail `{b: false}` (or the reverse) and the
    validator only lets JSON booleans through (StrictBool). With boolean evidence, each pattern
    must match only its own value, so exactly one of the pair fires."""
    rules = {
        **BEGIN_RULE,
        "is_true": rule1("ev", {"f": "x"}, {"b": True}),
        "is_false": rule1("ev", {"f": "x"}, {"b": False}),
    }
    with ruleset(rules) as h:
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x", "b": True}]) == ["begin", "is_true"]
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x", "b": False}]) == ["begin", "is_false"]
        # absent boolean evidence fires neither
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x"}]) == ["begin"]


# --------------------------------------------------------------------------------------------
# 4. Missing fields never match
# --------------------------------------------------------------------------------------------


def test_missing_field_matches_neither_pass_nor_fail():
    """Missing evidence is reported as "missing" because NEITHER the pass nor the fail rule fires
    (we never use $not/none for it). That requires every comparison on a field the fact does not
    have to be false: $gte/$lt/$lte/$gt, equality, $neq, and the $or-of-$neq fail rule of "==".
    (Only right-hand-side field references / arithmetic evaluate true on missing fields, and we
    never emit those.)"""
    T = 50
    with ruleset(_encoding_rules(T)) as h:
        # indicator fact present, but no lo/hi at all
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x"}]) == ["begin"]
        # unrelated fields present, lo/hi absent
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "f": "x", "v": T, "b": True}]) == ["begin"]
        # no evidence fact at all
        assert run_batch(h, [{"t": "begin"}]) == ["begin"]
        # lo present and == T, hi absent: ">=" is decided, "<=" and "==" fire nothing
        assert fired_set(h, [{"t": "begin"}, {"t": "ev", "f": "x", "lo": T}]) == {"begin", "ge|pass"}

    # a bare $neq on a missing field does not match either
    rules = {**BEGIN_RULE, "neq": rule1("ev", {"$neq": {"v": 1}}), "eq": rule1("ev", {"v": 1})}
    with ruleset(rules) as h:
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "w": 1}]) == ["begin"]


# --------------------------------------------------------------------------------------------
# 5. Chaining, 8- and 16-pattern joins, deterministic firing order
# --------------------------------------------------------------------------------------------


def _chain_rules(n: int) -> tuple[dict, dict[str, Action]]:
    """n indicators (pass/fail pairs); pass asserts {t:ip}; one criterion rule joins all n ip
    facts and asserts {t:cp}; a tier rule consumes cp. Some rules carry distinct pri values."""
    rules: dict = dict(BEGIN_RULE)
    actions: dict[str, Action] = {}
    for i in range(n):
        ind = f"i{i:02d}"
        rules[f"ind|{ind}|pass"] = rule1("ev", {"f": ind}, {"$gte": {"lo": 50}})
        rules[f"ind|{ind}|fail"] = rule1("ev", {"f": ind}, {"$lt": {"lo": 50}})
        actions[f"ind|{ind}|pass"] = lambda frames, ind=ind: [{"t": "ip", "ind": ind}]
    rules["crit|C"] = {"all": [{f"p{i}": pat("ip", {"ind": f"i{i:02d}"})} for i in range(n)]}
    actions["crit|C"] = lambda frames: [{"t": "cp", "crit": "C"}]
    rules["tier|standard"] = rule1("cp", {"crit": "C"})
    return rules, actions


def _evidence(n: int, failing: set[int] = frozenset()) -> list[dict]:
    return [{"t": "ev", "f": f"i{i:02d}", "lo": 10 if i in failing else 90} for i in range(n)]


@pytest.mark.parametrize("n", [8, 16])
def test_chaining_and_joins_of_8_and_16_patterns(n):
    """Indicator pass rules assert derived {t:ip} facts from the agenda loop, criterion rules
    join them (the compiler emits <= 8 patterns per join and chunks through group facts; 16 is
    the engine maximum), and the tier rule consumes the derived {t:cp}. All n pass rules, then the
    join, then the tier must fire, in rule order; a single failing indicator must block the join."""
    rules, actions = _chain_rules(n)
    inds = [f"i{i:02d}" for i in range(n)]
    with ruleset(rules) as h:
        res = run_batch_full(h, [{"t": "begin"}, *_evidence(n)], actions=actions)
        assert res.code == 0
        assert res.fired == ["begin", *[f"ind|{i}|pass" for i in inds], "crit|C", "tier|standard"]
        assert res.derived_codes == [0] * (n + 1)  # every derived fact was consumed
        join_frames = res.frames[res.fired.index("crit|C")]
        assert sorted(f["ind"] for f in join_frames.values()) == inds

        # one failing indicator: no ip for it, so no criterion and no tier
        res = run_batch_full(h, [{"t": "begin"}, *_evidence(n, failing={n // 2})], actions=actions)
        want = ["begin"] + [
            f"ind|{ind}|fail" if k == n // 2 else f"ind|{ind}|pass" for k, ind in enumerate(inds)
        ]
        assert res.fired == want


def test_firing_order_is_deterministic_and_independent_of_fact_order():
    """The ordered fired-rule list is our audit trace and is hashed, so for a fixed ruleset it
    must be identical across runs and across any order of the evidence facts in the batch.
    Rules here each fire at most once per sid and have distinct `pri` values or none.

    Pinned ordering rule (matches the doc's "pri, then JSON order"): pending activations fire by
    ascending `pri` (absent pri == 0), ties in ruleset JSON order, and an activation created by a
    chained (derived) fact is queued by the same key, so it can overtake older pending ones.
    DIFFERS FROM / NOT IN DOC:
    a negative `pri` sorts AFTER every positive pri (it behaves like a huge unsigned value), so
    the compiler must not emit negative pri. Also not in the doc (and not relied on): several
    activations of the SAME rule fire in reverse assertion order, i.e. that order does depend on
    fact order; our design has each rule fire at most once per sid."""
    rules, actions = _chain_rules(8)
    rules.update(
        {
            "p3": rule1("ev", {"f": "a"}, pri=3),
            "p1": rule1("ev", {"f": "b"}, pri=1),
            "nopri_c": rule1("ev", {"f": "c"}),
            "p100": rule1("ev", {"f": "d"}, pri=100),
            "neg5": rule1("ev", {"f": "e"}, pri=-5),
            "p2": rule1("ev", {"f": "g"}, pri=2),
            "neg1": rule1("ev", {"f": "h"}, pri=-1),
        }
    )
    extra = [{"t": "ev", "f": f} for f in "abcdegh"]
    evidence = _evidence(8, failing={3}) + extra
    expected = (
        ["begin"]
        + [f"ind|i{i:02d}|{'fail' if i == 3 else 'pass'}" for i in range(8)]
        + ["nopri_c", "p1", "p2", "p3", "p100", "neg5", "neg1"]
    )
    with ruleset(rules) as h:
        traces = [run_batch(h, [{"t": "begin"}, *evidence], actions=actions) for _ in range(3)]
        rng = random.Random(20240601)
        for _ in range(5):
            shuffled = list(evidence)
            rng.shuffle(shuffled)
            traces.append(run_batch(h, [{"t": "begin"}, *shuffled], actions=actions))
        assert all(t == expected for t in traces), traces

        # full pass: activations created later by chaining (crit|C, tier|standard, no pri, JSON
        # position before nopri_c) jump ahead of still-pending ones: the agenda is one priority
        # queue ordered by (pri, JSON position), not by creation time.
        ok = _evidence(8) + extra
        for _ in range(3):
            rng.shuffle(ok)
            fired = run_batch(h, [{"t": "begin"}, *ok], actions=actions)
            assert fired == (
                ["begin"]
                + [f"ind|i{i:02d}|pass" for i in range(8)]
                + ["crit|C", "tier|standard", "nopri_c", "p1", "p2", "p3", "p100", "neg5", "neg1"]
            )


def test_join_of_17_patterns_is_rejected_with_error_304():
    """The compiler relies on the engine's 16-facts-per-join limit (it emits <= 8 and chunks).
    Pin that a 17th pattern still gives error 304, raised from assert_facts of the fact that
    completes the join (i.e. inside the agenda loop, not at create_ruleset). Run in a subprocess
    so a corrupted state after the error cannot affect this process."""
    code = textwrap.dedent(
        """
        import json, durable_rules_engine as dre
        n = 17
        rules = {"begin": {"all": [{"m": {"t": "begin"}}]},
                 "j": {"all": [{"p%d" % i: {"$and": [{"t": "ip"}, {"k": i}]}} for i in range(n)]}}
        h = dre.create_ruleset("ntm_contract_304", json.dumps(rules))
        code, off = dre.assert_facts(h, json.dumps([{"t": "begin", "sid": "s"}]))
        assert dre.start_action_for_state(h, off) is not None
        assert dre.complete_and_start_action(h, off) is None
        for i in range(n - 1):
            dre.assert_facts(h, json.dumps([{"t": "ip", "k": i, "sid": "s"}]))
        try:
            dre.assert_facts(h, json.dumps([{"t": "ip", "k": n - 1, "sid": "s"}]))
        except dre.error as e:
            print("ERR", e)
        else:
            print("NOERR")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "ERR Could not assert facts, error code: 304" in proc.stdout, (proc.stdout, proc.stderr)


# --------------------------------------------------------------------------------------------
# 6. Duplicate facts
# --------------------------------------------------------------------------------------------


def test_identical_fact_twice_in_one_state_returns_code_2():
    """Duplicate evidence must be detectable (lean_core raises on code 2). Pinned: asserting a
    fact identical to one already in the state is NOT an exception; assert_facts returns code 2.
    Within a batch the duplicate is dropped (its rule fires once) and the facts AFTER it are
    still asserted. A derived fact identical to an existing one, asserted from an action, also
    returns 2 (so a pass action re-asserting an existing fact is visible)."""
    rules = {
        **BEGIN_RULE,
        "x": rule1("ev", {"f": "x"}),
        "y": rule1("ev", {"f": "y"}),
        "z": rule1("ev", {"f": "z"}),
    }
    with ruleset(rules) as h:
        x = {"t": "ev", "f": "x", "lo": 1, "hi": 1}
        res = run_batch_full(h, [{"t": "begin"}, x, {"t": "ev", "f": "y"}, dict(x)])
        assert res.code == 2
        assert res.fired == ["begin", "x", "y"]

        res = run_batch_full(h, [{"t": "begin"}, x, dict(x), {"t": "ev", "f": "y"}])
        assert res.code == 2
        assert res.fired == ["begin", "x", "y"]  # fact after the duplicate still asserted

        res = run_batch_full(h, [{"t": "begin"}, x, {"t": "ev", "f": "y"}])
        assert res.code == 0

        # derived duplicate asserted from the agenda loop
        res = run_batch_full(
            h, [{"t": "begin"}, x, {"t": "ev", "f": "y"}], actions={"y": lambda fr: [dict(x)]}
        )
        assert res.derived_codes == [2]
        assert res.fired == ["begin", "x", "y"]

        # identical fact in a later call on the same state
        seen = []

        def probe(handle, sid):
            seen.append(dre.assert_facts(handle, _dumps([dict(x, sid=sid)]))[0])

        run_batch_full(h, [{"t": "begin"}, x], probe=probe)
        assert seen == [2]


# --------------------------------------------------------------------------------------------
# 7. Exponent numbers, NaN, Infinity
# --------------------------------------------------------------------------------------------


def test_python_json_emits_forms_the_engine_cannot_parse():
    """Premise of the quantise-to-int guard: Python's json writes these floats in forms the
    engine mis-handles (see the engine tests below)."""
    assert json.dumps(1e-05) == "1e-05"
    assert json.dumps(1e16) == "1e+16"
    assert json.dumps(float("nan")) == "NaN"
    assert json.dumps(float("inf")) == "Infinity"
    with pytest.raises(ValueError):
        json.dumps(float("nan"), allow_nan=False)


_NUM_RULES = {
    **BEGIN_RULE,
    "any_ev": rule1("ev"),
    "ge": rule1("ev", {"$gte": {"v": 0}}),
    "lt": rule1("ev", {"$lt": {"v": 0}}),
    "eq": rule1("ev", {"v": 0}),
    "neq": rule1("ev", {"$neq": {"v": 0}}),
}


@pytest.mark.parametrize("raw", ["1e-05", "1e5", "1E5", "1e+16", "-1e-05"])
def test_exponent_without_dot_is_rejected(raw):
    """Numbers in exponent notation without a '.' are rejected by the engine's JSON parser.

    Single-fact assert_fact raises durable_rules_engine.error "... error code: 204" (as the doc
    says). DIFFERS FROM DOC (and this is the dangerous part): batch assert_facts -- the call our
    driver uses -- raises NOTHING and returns code 0; it silently drops the offending fact AND
    EVERY FACT AFTER IT in the batch, keeping the ones before. Evidence must therefore never
    reach the engine as a float: it is quantised to int in Python. A float written with a '.'
    (e.g. 1.0e-05) is accepted."""
    rules = _NUM_RULES
    with ruleset(rules) as h:
        errors: list[str] = []
        stored: list[list[dict]] = []

        def probe(handle, sid):
            with pytest.raises(dre.error) as exc:
                dre.assert_fact(handle, '{"t":"ev","sid":"%s","v":%s}' % (sid, raw))
            errors.append(str(exc.value))
            stored.append(json.loads(dre.get_facts(handle, sid)))

        before = {"t": "ev", "v": -7}
        bad = {"t": "ev", "v": Raw(raw)}
        after = {"t": "ev", "v": 7}
        res = run_batch_full(h, [{"t": "begin"}, before, bad, after], probe=probe)
        assert res.code == 0  # nothing reported
        # 'before' matched (any_ev, lt, neq); 'bad' and 'after' were silently dropped
        assert sorted(res.fired) == sorted(["begin", "any_ev", "lt", "neq"])
        assert errors == ["Could not assert fact, error code: 204"]
        assert sorted((f["t"], f.get("v")) for f in stored[0] if f["t"] == "ev") == [("ev", -7)]

        # control: with a '.', the same magnitude is accepted and compared as a number
        mantissa, exponent = raw.lower().split("e")
        control = Raw(f"{mantissa}.0e{exponent}")  # e.g. -1.0e-05
        fired = fired_set(h, [{"t": "begin"}, {"t": "ev", "v": control}])
        assert fired == {"begin", "any_ev", "neq", "lt" if raw.startswith("-") else "ge"}


def test_nan_and_infinity_are_not_numbers_to_the_engine():
    """DIFFERS FROM DOC (doc: "NaN/Infinity too" are rejected): the engine ACCEPTS the token
    `NaN` (what json.dumps(float('nan')) emits): the fact is stored and matches a type-only
    pattern, but no comparison at all ($gte/$lt/==/$neq against 0 are all false), so a NaN
    value would read as "missing" rather than raising. `Infinity` (json.dumps(float('inf'))) is
    a parse error: assert_fact raises error 202, and batch assert_facts silently drops it and
    every later fact, returning code 0, exactly like exponent numbers. Hence allow_nan=False and
    finite-value validation on the Python side."""
    with ruleset(_NUM_RULES) as h:
        fired = run_batch(h, [{"t": "begin"}, {"t": "ev", "v": Raw("NaN")}, {"t": "ev", "v": 5}])
        assert sorted(fired) == sorted(["begin", "any_ev", "any_ev", "ge", "neq"])

        errors: list[str] = []

        def probe(handle, sid):
            with pytest.raises(dre.error) as exc:
                dre.assert_fact(handle, '{"t":"ev","sid":"%s","v":Infinity}' % sid)
            errors.append(str(exc.value))

        res = run_batch_full(
            h,
            [{"t": "begin"}, {"t": "ev", "v": -5}, {"t": "ev", "v": Raw("Infinity")}, {"t": "ev", "v": 5}],
            probe=probe,
        )
        assert res.code == 0
        assert sorted(res.fired) == sorted(["begin", "any_ev", "lt", "neq"])  # v=5 dropped too
        assert errors == ["Could not assert fact, error code: 202"]


# --------------------------------------------------------------------------------------------
# 8. Known-wrong behaviours our Python guards exist for
# --------------------------------------------------------------------------------------------


def test_known_wrong_string_vs_number_and_bool_vs_int():
    """These are WRONG answers the engine gives silently; the strict pydantic validator (no
    strings for numbers, StrictBool, bool is not a number) exists because of them. Pinned so that
    we notice if they ever change (then the guards may be revisited, never dropped silently):
    * a string compared with a number compares wrongly: "9" >= 10, "abc" >= 10, "10" == 10;
    * true == 1 and false == 0 (both directions: {v:1} matches true, {b:true} matches 1),
      and {b:true} also matches the string "true"; true < 10."""
    rules = {
        **BEGIN_RULE,
        "ge10": rule1("ev", {"$gte": {"v": 10}}),
        "lt10": rule1("ev", {"$lt": {"v": 10}}),
        "eq10": rule1("ev", {"v": 10}),
        "eq1": rule1("ev", {"v": 1}),
        "eq0": rule1("ev", {"v": 0}),
        "btrue": rule1("ev", {"b": True}),
        "bfalse": rule1("ev", {"b": False}),
    }
    with ruleset(rules) as h:

        def fs(**ev):
            return fired_set(h, [{"t": "begin"}, {"t": "ev", **ev}]) - {"begin"}

        assert fs(v="9") == {"ge10"}  # "9" >= 10 is TRUE (and "9" < 10 is false)
        assert fs(v="abc") == {"ge10"}
        assert fs(v="10") == {"ge10", "eq10"}  # "10" == 10
        assert fs(v=True) == {"lt10", "eq1"}  # true == 1
        assert fs(v=False) == {"lt10", "eq0"}  # false == 0
        assert fs(b=1) == {"btrue"}  # {b:true} matches 1
        assert fs(b=0) == {"bfalse"}
        assert fs(b="true") == {"btrue"}
        # sanity: genuine ints behave
        assert fs(v=9) == {"lt10"}
        assert fs(v=10) == {"ge10", "eq10"}


# --------------------------------------------------------------------------------------------
# 9. Many sequential fresh sids
# --------------------------------------------------------------------------------------------


def test_many_sequential_fresh_sids_with_delete_state():
    """One fresh sid per evaluation is only sustainable because delete_state frees the slot:
    a ruleset holds at most 1024 live sids. 1500 sequential evaluations, each deleted after use,
    must all work and keep giving correct answers."""
    rules = {**BEGIN_RULE, "pass": rule1("ev", {"$gte": {"lo": 5}}), "fail": rule1("ev", {"$lt": {"lo": 5}})}
    with ruleset(rules) as h:
        for i in range(1500):
            fired = run_batch(h, [{"t": "begin"}, {"t": "ev", "lo": i % 10}])
            assert fired == ["begin", "pass" if i % 10 >= 5 else "fail"], (i, fired)


# --------------------------------------------------------------------------------------------
# 10. The session state fact never matches type-tagged rules
# --------------------------------------------------------------------------------------------


def test_state_fact_never_matches_type_tagged_rules():
    """After every action the engine re-asserts the session state fact
    {sid, id:"sid-<sid>", $s:1} through the same alpha network as user facts; a rule that can
    match it loops forever (doc section 0). Every pattern of ours starts with a type-tag equality,
    which the state fact (no `t`) can never satisfy. Pinned: a ruleset of only t-tagged rules
    (all comparison kinds we emit, plus joins) given just the begin fact fires exactly `begin`,
    once, within a tiny budget; and the state fact still has the shape we guard against."""
    rules = {
        **BEGIN_RULE,
        **_encoding_rules(0),
        "ev_any": rule1("ev"),
        "bool": rule1("ev", {"b": True}),
        "join": {"all": [{"a": pat("ip", {"ind": "a"})}, {"b": pat("ip", {"ind": "b"})}]},
    }
    with ruleset(rules) as h:
        sid = _new_sid()
        code, off = dre.assert_facts(h, json.dumps([{"t": "begin", "sid": sid}]))
        try:
            started = dre.start_action_for_state(h, off)
            assert started is not None
            state_json, msgs = started
            assert json.loads(state_json) == {"sid": sid, "id": f"sid-{sid}", "$s": 1}
            assert json.loads(msgs) == {"begin": {"m": {"t": "begin", "sid": sid}}}
            fired = ["begin"]
            budget = 5
            while True:
                msgs = dre.complete_and_start_action(h, off)
                if not msgs:
                    break
                fired.append(next(iter(json.loads(msgs))))
                if len(fired) > budget:
                    dre.abandon_action(h, off)
                    pytest.fail(f"state-fact loop: {fired}")
            assert code == 0
            assert fired == ["begin"]
        finally:
            dre.delete_state(h, sid)
        # the driver helper agrees, repeatedly
        for _ in range(3):
            assert run_batch(h, [{"t": "begin"}], budget=5) == ["begin"]


def test_distinct_alpha_patterns_per_fact_limit_is_64_and_identical_ones_are_shared():
    """Measured: a fact satisfying 65 *distinct* conditions segfaults the process, while 200 identical
    patterns are shared. The compiler's lint (MAX_DISTINCT_PER_FACT) relies on both; run in a subprocess."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent('''
        import json, sys, durable_rules_engine as dre
        n, identical = int(sys.argv[1]), sys.argv[2] == "1"
        rules = {"begin": {"all": [{"m": {"t": "begin"}}]}}
        for i in range(n):
            c = {"b": True} if identical else {"$gte": {"lo": i}}
            rules["r%d" % i] = {"all": [{"m": {"$and": [{"t": "ev"}, {"f": "x"}, c]}}]}
        h = dre.create_ruleset("p", json.dumps(rules))
        code, off = dre.assert_facts(h, json.dumps([{"t": "begin", "sid": "a"},
                                                    {"t": "ev", "f": "x", "b": True, "lo": 1000, "sid": "a"}]))
        fired, res = 0, dre.start_action_for_state(h, off)
        msgs = res[1] if res else None
        while msgs:
            fired += 1
            msgs = dre.complete_and_start_action(h, off)
        dre.delete_state(h, "a")
        print(fired)
    ''')
    def run(n, identical):
        return subprocess.run([sys.executable, "-c", code, str(n), "1" if identical else "0"],
                              capture_output=True, text=True, timeout=60)
    ok = run(64, False)
    assert ok.returncode == 0 and ok.stdout.strip() == "65"
    assert run(200, True).stdout.strip() == "201"
    crash = run(65, False)
    assert crash.returncode != 0  # the limit still exists: the lint must keep guarding it
    from ntm.engine.compiler import MAX_DISTINCT_PER_FACT

    assert MAX_DISTINCT_PER_FACT < 64


# --------------------------------------------------------------------------------------------
# 11. Fact ids: the session's fact index, return codes, one session name reused (issue #17)
# --------------------------------------------------------------------------------------------


def _fnv1a32(text: str) -> int:
    """FNV-1a 32 (written here independently of ntm.engine.driver, which must agree)."""
    h = 0x811C9DC5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _colliding_ids(prefix: str = "c") -> tuple[str, str]:
    """Two distinct short ids with the same FNV-1a 32 hash, by a deterministic birthday search."""
    seen: dict[int, str] = {}
    n = 0
    while True:
        s = f"{prefix}{n}"
        h = _fnv1a32(s)
        if h in seen:
            return seen[h], s
        seen[h] = s
        n += 1


@pytest.fixture(scope="module")
def collision() -> tuple[str, str]:
    return _colliding_ids()


_ID_RULES = {**BEGIN_RULE, **{f: rule1("ev", {"f": f}) for f in ("a", "b", "c")}}


def test_fact_index_is_fnv1a32_of_the_id_and_a_hash_match_drops_the_fact(collision):
    """The cause of issue #17, pinned. durable indexes a session's facts by the 32-bit FNV-1a hash of the fact's
    id ALONE and takes a fact whose hash is already indexed for one it has seen: assert_facts returns 2 and the
    new fact is dropped (its rules never fire), although the two ids and facts differ. Ids whose hashes differ
    are both kept. (Without an explicit id the engine makes one from the content including the sid, so such a
    match depends on the session name: see test_engine_ids.py for a real commune.)"""
    x, y = collision
    assert x != y and _fnv1a32(x) == _fnv1a32(y)
    from ntm.engine.driver import fnv1a32

    assert [fnv1a32(s) for s in (x, y, "sid-s", "i0", "ế")] == [_fnv1a32(s) for s in (x, y, "sid-s", "i0", "ế")]
    with ruleset(_ID_RULES) as h:
        res = run_batch_full(h, [{"t": "begin"}, {"t": "ev", "f": "a", "id": x}, {"t": "ev", "f": "b", "id": y}])
        assert res.code == 2 and res.fired == ["begin", "a"]  # b dropped
        # the same ids in separate calls: the second is dropped too
        res = run_batch_full(h, [{"t": "begin"}, {"t": "ev", "f": "a", "id": x}],
                             actions={"a": lambda fr: [{"t": "ev", "f": "b", "id": y}]})
        assert res.derived_codes == [2] and res.fired == ["begin", "a"]
        # distinct hashes: both kept
        res = run_batch_full(h, [{"t": "begin"}, {"t": "ev", "f": "a", "id": x}, {"t": "ev", "f": "b", "id": x + "z"}])
        assert res.code == 0 and res.fired == ["begin", "a", "b"]


def test_state_fact_id_is_in_the_same_index():
    """The session state fact {"id": "sid-<sid>"} lives in the same index: a fact whose id is (or hashes like)
    "sid-<sid>" is dropped with code 2. The driver's id allocator therefore excludes that hash."""
    with ruleset(_ID_RULES) as h:
        sid = _new_sid()
        code, off = dre.assert_facts(h, json.dumps([{"t": "begin", "sid": sid, "id": "b0"},
                                                    {"t": "ev", "f": "a", "sid": sid, "id": f"sid-{sid}"}]))
        try:
            fired = []
            started = dre.start_action_for_state(h, off)
            msgs = started[1] if started else None
            while msgs:
                fired.append(next(iter(json.loads(msgs))))
                msgs = dre.complete_and_start_action(h, off)
        finally:
            dre.delete_state(h, sid)
        assert code == 2 and fired == ["begin"]


def test_batch_return_code_is_the_last_non_zero_one(collision):
    """assert_facts on a batch returns the code of the LAST fact that gave a non-zero one: a fact that matches
    no rule (1) after a dropped one (2) hides the drop. So the driver cannot detect a dropped evidence fact from
    the batch's code: its ids make drops impossible by construction, and a 2 that shows anyway is an error.
    Codes: 0 every fact handled, 1 some fact matched no pattern (stored nowhere), 2 a fact was dropped."""
    x, y = collision
    with ruleset(_ID_RULES) as h:
        drop, unmatched = {"t": "ev", "f": "b", "id": y}, {"t": "ev", "f": "zz", "id": "u1"}
        res = run_batch_full(h, [{"t": "begin"}, {"t": "ev", "f": "a", "id": x}, drop, unmatched])
        assert res.code == 1 and res.fired == ["begin", "a"]  # the drop is hidden
        res = run_batch_full(h, [{"t": "begin"}, unmatched, {"t": "ev", "f": "a", "id": x}, drop])
        assert res.code == 2
        res = run_batch_full(h, [{"t": "begin"}, unmatched])
        assert res.code == 1 and res.fired == ["begin"]
        res = run_batch_full(h, [{"t": "begin"}, {"t": "ev", "f": "c"}])
        assert res.code == 0 and res.fired == ["begin", "c"]


def test_one_session_name_reused_after_delete_state_starts_empty():
    """The driver evaluates every dossier on the same session name, deleted after each use. Pinned: after
    delete_state nothing of the previous evaluation survives (a join over a fact of run k and one of run k+1
    never fires; the same explicit ids are accepted again with code 0), for 1,500 evaluations in a row."""
    rules = {**BEGIN_RULE, "a": rule1("ev", {"f": "a"}), "b": rule1("ev", {"f": "b"}),
             "ab": {"all": [{"x": pat("ev", {"f": "a"})}, {"y": pat("ev", {"f": "b"})}]},
             "d": rule1("ip", {"k": 1})}
    with ruleset(rules) as h:
        for i in range(1500):
            f = "a" if i % 2 == 0 else "b"
            batch = [{"t": "begin", "sid": "s", "id": "i0"}, {"t": "ev", "f": f, "sid": "s", "id": "i1"}]
            code, off = dre.assert_facts(h, json.dumps(batch))
            fired, codes = [], []
            try:
                started = dre.start_action_for_state(h, off)
                msgs = started[1] if started else None
                while msgs:
                    name = next(iter(json.loads(msgs)))
                    fired.append(name)
                    if name in ("a", "b"):
                        codes.append(dre.assert_facts(h, json.dumps([{"t": "ip", "k": 1, "sid": "s", "id": "i2"}]))[0])
                    msgs = dre.complete_and_start_action(h, off)
            finally:
                dre.delete_state(h, "s")
            assert (code, fired, codes) == (0, ["begin", f, "d"], [0]), (i, code, fired, codes)


# the product's driver: how it handles every return code and failure, and that it recovers after each

def _driver(rules: dict, table: dict):
    from ntm.engine.driver import Ruleset

    rs = Ruleset(f"ntm_contract_drv_{os.getpid()}_{next(_ruleset_counter)}", rules)
    rs.table.update(table)
    return rs


def test_driver_handles_every_return_code_and_recovers(collision):
    from ntm.engine.driver import FactIds, fnv1a32
    from ntm.errors import EngineFailure

    x, y = collision
    rules = {**BEGIN_RULE, "a": rule1("ev", {"f": "a"}), "b": rule1("ev", {"f": "b"}), "d": rule1("ip", {"k": 1})}
    ok_table = {"begin": ((), None), "a": (((("ind", "a"), "pass"),), '"id":"i9","t":"ip","k":1}'),
                "b": (((("ind", "b"), "pass"),), None), "d": (((("crit", "d"), "met"),), None)}
    rs = _driver(rules, ok_table)
    good = ['"id":"i0","t":"begin"}', '"id":"i1","t":"ev","f":"a"}', '"id":"i2","t":"ev","f":"b"}']
    try:
        def check_good():
            s = rs.run(good, 50)
            assert s.trace == ["begin", "a", "b", "d"]
            assert s.verdict == {("ind", "a"): "pass", ("ind", "b"): "pass", ("crit", "d"): "met"}

        check_good()  # code 0
        s = rs.run(good + ['"id":"i3","t":"ev","f":"nobody"}'], 50)  # code 1: accepted
        assert s.trace == ["begin", "a", "b", "d"]
        # code 2 in the evidence: an error, never a silently smaller verdict
        with pytest.raises(EngineFailure, match="already seen"):
            rs.run(['"id":"i0","t":"begin"}', f'"id":"{x}","t":"ev","f":"a"}}', f'"id":"{y}","t":"ev","f":"b"}}'], 50)
        check_good()
        # code 2 for a derived fact (its id collides with an evidence fact's)
        rs.table["a"] = (ok_table["a"][0], f'"id":"{y}","t":"ip","k":1}}')
        with pytest.raises(EngineFailure, match="derived by a"):
            rs.run(['"id":"i0","t":"begin"}', f'"id":"{x}","t":"ev","f":"a"}}'], 50)
        rs.table["a"] = ok_table["a"]
        check_good()
        # a derived fact the engine cannot parse is dropped SILENTLY (code 0, like a bad number in a batch):
        # derived facts are therefore only ever serialised by the compiler (dumps of str/int fields, linted)
        rs.table["a"] = (ok_table["a"][0], '"id":"i9","t":"ip","k":}')
        assert rs.run(good, 50).trace == ["begin", "a", "b"]
        rs.table["a"] = ok_table["a"]
        check_good()
        # the action budget
        with pytest.raises(EngineFailure, match="budget"):
            rs.run(good, 2)
        check_good()
        # a fired rule the table does not know
        del rs.table["b"]
        with pytest.raises(EngineFailure, match="does not have"):
            rs.run(good, 50)
        rs.table["b"] = ok_table["b"]
        check_good()
        # the same derived fact from two rules is asserted once (a second assert would be a code 2)
        rs.table["b"] = (ok_table["b"][0], ok_table["a"][1])
        assert rs.run(good, 50).trace == ["begin", "a", "b", "d"]
    finally:
        rs.close()
    ids = FactIds()
    allocated = [ids.new() for _ in range(5000)]
    hashes = {fnv1a32(i) for i in allocated}
    assert len(hashes) == 5000 and fnv1a32("sid-s") not in hashes


def test_every_shipped_ruleset_gets_distinct_fact_id_hashes():
    """Every fact the product can assert in one session (begin, each evidence fact, each derived fact) has an id
    whose hash no other fact of that ruleset shares, nor the state fact's."""
    from ntm.criteria.loader import all_shipped
    from ntm.criteria.resolve import resolve
    from ntm.engine.driver import SID, fnv1a32
    from ntm.engine.run import engine_for

    for lr in all_shipped():
        rs = lr.ruleset
        for ls in rs.levels:
            res = resolve(rs, ls.level, rs.regions[0].id, rs.effective.start.year, ())
            eng = engine_for(res)
            ids = [json.loads("{" + eng.begin)["id"]]
            ids += [json.loads("{" + h + '"b":true}')["id"] for h in eng.heads.values()]
            ids += sorted({json.loads("{" + body)["id"] for _, body in eng.rs.table.values() if body})
            hashes = [fnv1a32(i) for i in ids] + [fnv1a32("sid-" + SID)]
            assert len(set(hashes)) == len(hashes), (rs.id, ls.level)


def test_property_names_are_told_apart_by_their_hash_only(collision):
    """The engine's run encoding (ntm.engine.run.Keys) names what a fact is about as a property name
    (`{"t": "ev", "k7": true}`), which durable finds by the name's FNV-1a 32 hash. Pinned: a pattern on property x
    is matched by a fact that has a *different* property y with the same hash, so Keys must allocate names
    whose hashes differ (and differ from t, sid, id, lo, hi, b). Names with different hashes are told apart."""
    x, y = collision
    rules = {**BEGIN_RULE, "x": rule1("ev", {x: True}), "other": rule1("ev", {x + "z": True})}
    with ruleset(rules) as h:
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", y: True}]) == ["begin", "x"]  # wrong match, by hash
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", x: True}]) == ["begin", "x"]
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", "q": True}]) == ["begin"]
        assert run_batch(h, [{"t": "begin"}, {"t": "ev", x + "z": True}]) == ["begin", "other"]


def test_engine_keys_hash_distinctly_and_fire_the_same_rules():
    """Every property name the run encoding gives a shipped ruleset hashes distinctly from the others and from
    the reserved ones; and on random evidence the encoded ruleset fires exactly the rules, in exactly the order,
    of the plain compiled definition run through this file's own reference loop."""
    import random as rnd_mod

    from ntm.criteria.dossier import Observation
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.overlay import load_overlay, merge
    from ntm.criteria.resolve import resolve
    from ntm.engine.driver import fnv1a32
    from ntm.engine.run import Keys, engine_for, evidence_facts

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = load_ruleset("vn-2021-2025").ruleset
    lo = load_overlay(os.path.join(root, "examples", "overlays", "tinh-minh-hoa.yaml"), base)
    rs = merge(base, lo.overlay)
    res = resolve(rs, "commune", "ĐNB", 2024, (), lo)
    eng = engine_for(res)
    keys = Keys(eng.comp)
    names = list(keys.key.values()) + list(Keys.RESERVED)
    assert len({fnv1a32(n) for n in names}) == len(names)
    plain = {n: (dumps_plain(m.derive) if m.derive else None) for n, m in eng.comp.meta.items()}
    rnd = rnd_mod.Random(5)
    with ruleset(eng.comp.definition) as h:
        for _ in range(30):
            obs = {}
            for f in rs.facts:
                if f.level != "commune" or rnd.random() < 0.1:
                    continue
                if f.type == "boolean":
                    obs[f.id] = Observation(rnd.random() < 0.8, "value", None)
                else:
                    obs[f.id] = Observation(__import__("fractions").Fraction(rnd.randint(0, 100)), "value", None)
            seen: set = set()

            def derive(name):
                def act(frames):
                    body = plain[name]
                    if body is None or body in seen:
                        return None
                    seen.add(body)
                    return [json.loads(body)]
                return act

            ref = run_batch(h, evidence_facts(eng.comp, obs), actions={n: derive(n) for n in plain},
                            budget=4 * len(plain) + 16)
            assert eng.run(obs).trace == tuple(ref)


def dumps_plain(obj) -> str:
    return json.dumps(obj, sort_keys=True)
