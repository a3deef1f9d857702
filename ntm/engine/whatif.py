"""What-if: change some evidence, re-run the engine, and say exactly what the change does.

Every scenario is a fresh `evaluate(inputs, extra=...)` (a fresh durable-rules session); the dossier and the
baseline are never mutated. The diff only compares what the engine decided before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from ntm.criteria.dossier import Observation, observations
from ntm.criteria.model import Ruleset, Strict, Text
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import load
from ntm.engine import outcome as out
from ntm.engine.evaluate import COMMUNE_COUNT_FACTS, Inputs, evaluate
from ntm.errors import NtmInputError, Problem, did_you_mean

SCHEMA = "ntm-whatif/1"
Status = Literal["met", "not_met", "indeterminate"]
Value = out.Num | bool | None

_TRUE = {"true", "yes", "có", "co", "đúng", "dung", "đạt", "dat", "1"}
_FALSE = {"false", "no", "không", "khong", "sai", "chưa", "chua", "0"}
_INT = re.compile(r"[-+]?[0-9]+")
_DEC = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)")


# ---------------------------------------------------------------- scenarios in


@dataclass(frozen=True)
class Scenario:
    """A named set of evidence changes (fact id -> new value; None removes the evidence)."""

    id: str
    label: out.Label
    changes: dict[str, Any]
    origin: tuple[str, dict[str, int | None], str] | None = field(default=None, compare=False)  # file, lines, field


class ScenarioIn(Strict):
    id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
    label: Text | None = None
    set_: dict[StrictStr, Any] = Field(default={}, alias="set", description="fact id -> new value")
    unset: list[StrictStr] = Field(default=[], description="fact ids whose evidence is removed")

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class ScenarioFile(Strict):
    scenarios: Annotated[list[ScenarioIn], Field(min_length=1, max_length=500)]


def load_scenarios(path: str, rs: Ruleset) -> list[Scenario]:
    """Read a YAML/JSON scenario file; unknown facts and duplicate ids are reported with file:line."""
    src = load(path)
    return scenarios_from_model(validate(ScenarioFile, src), src, rs)


def scenarios_from_model(sf: ScenarioFile, src, rs: Ruleset) -> list[Scenario]:
    """Scenarios validated against the ruleset's fact catalogue (from a file or from memory)."""
    path = src.path
    catalogue = rs.fact_map()
    problems, result, seen = [], [], set()
    for i, s in enumerate(sf.scenarios):
        base = ("scenarios", i)
        if s.id in seen:
            problems.append(Problem(f"scenario id '{s.id}' is used twice", file=path,
                                    line=src.line_of(base + ("id",)), field=f"scenarios[{i}].id"))
        seen.add(s.id)
        changes: dict[str, Any] = {}
        lines: dict[str, int | None] = {}
        for key, items in (("set", list(s.set_.items())), ("unset", [(f, None) for f in s.unset])):
            for j, (fid, value) in enumerate(items):
                loc = base + (key, fid) if key == "set" else base + (key, j)
                where = f"scenarios[{i}].{key}." + fid if key == "set" else f"scenarios[{i}].unset[{j}]"
                if fid not in catalogue:
                    problems.append(Problem(f"unknown fact '{fid}'", file=path, line=src.line_of(loc), field=where,
                                            hint=did_you_mean(fid, catalogue) or f"run `ntm rulesets show {rs.id}` "
                                            "for the fact ids; a provincial fact needs its overlay (--overlay)"))
                    continue
                if fid in changes:
                    problems.append(Problem(f"fact '{fid}' is both set and unset", file=path,
                                            line=src.line_of(loc), field=where))
                    continue
                changes[fid] = value
                lines[fid] = src.line_of(loc)
        if not changes and not problems:
            problems.append(Problem("the scenario changes nothing", file=path, line=src.line_of(base),
                                    field=f"scenarios[{i}]", expected="set: {fact: value} and/or unset: [fact]"))
        label = out.Label(vi=s.label.vi, en=s.label.en) if s.label else out.Label(vi=s.id, en=s.id)
        result.append(Scenario(s.id, label, changes, (path, lines, f"scenarios[{i}]")))
    if problems:
        raise NtmInputError(problems)
    return result


def parse_value(text: str, fact_id: str, rs: Ruleset, option: str = "--set"):
    """A command-line value typed by the fact's catalogue entry: booleans as true/false/có/không, numbers with a
    dot for decimals, empty for 'no evidence'. Range and precision are checked later, like a dossier's."""
    fact = rs.fact_map()[fact_id]
    s = text.strip()
    where = f"{option} {fact_id}"
    if s == "":
        return None
    if fact.type == "boolean":
        low = s.casefold()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise NtmInputError.single(f"got '{s}'", field=where, expected="true or false (có/không)",
                                   hint=f"{fact.label.vi} ({fact.unit})")
    if len(s) > 40:
        raise NtmInputError.single(f"'{s[:20]}…' is too long for a number", field=where,
                                   expected=f"a number in {fact.unit}")
    if _INT.fullmatch(s):
        return int(s)
    if _DEC.fullmatch(s):
        v = float(s)
        if math.isfinite(v):
            return v
    low = s.casefold().lstrip("+-")
    if low in {"nan", "inf", "infinity"}:
        raise NtmInputError.single(f"'{s}' is not a finite number", field=where, expected=f"a number in {fact.unit}")
    hint = "use a dot for decimals (52.3, not 52,3)" if re.fullmatch(r"[-+]?[0-9]+,[0-9]+", s) else None
    raise NtmInputError.single(f"got '{s}'", field=where, expected=f"a number in {fact.unit}", hint=hint)


def scenario_from_options(sets: list[str], unsets: list[str], rs: Ruleset, sid: str = "cli") -> Scenario:
    """`--set FACT=VALUE` / `--unset FACT` → one scenario."""
    catalogue = rs.fact_map()
    changes: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise NtmInputError.single(f"got '{item}'", field="--set", expected="FACT=VALUE (e.g. income_per_capita=52)")
        fid, text = item.split("=", 1)
        fid = fid.strip()
        _known(fid, catalogue, "--set", rs)
        if fid in changes:
            raise NtmInputError.single(f"fact '{fid}' is set twice", field="--set")
        changes[fid] = parse_value(text, fid, rs)
    for fid in unsets:
        fid = fid.strip()
        _known(fid, catalogue, "--unset", rs)
        if fid in changes:
            raise NtmInputError.single(f"fact '{fid}' is both set and unset", field="--unset")
        changes[fid] = None
    text = ", ".join(f"{k}={'∅' if v is None else _show(v)}" for k, v in changes.items())
    return Scenario(sid, out.Label(vi=text, en=text), changes)


def _known(fid: str, catalogue: dict, option: str, rs: Ruleset) -> None:
    if fid not in catalogue:
        hint = did_you_mean(fid, catalogue) or (f"run `ntm rulesets show {rs.id}` for the fact ids; a provincial "
                                                "fact needs the overlay that defines it (--overlay)")
        raise NtmInputError.single(f"unknown fact '{fid}'", field=option, hint=hint)


def _show(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


# ---------------------------------------------------------------- result out


class FactChange(out.Out):
    fact: str
    label: out.Label
    unit: str
    unit_en: str
    before: Value
    after: Value
    derived: bool = Field(description="a share computed from changed parts (e.g. km hardened / km total)")


class StatusLine(out.Out):
    tier: str
    label: out.Label
    status: Status
    criteria_met: int
    criteria_total: int


class Snapshot(out.Out):
    summary: out.Summary
    tiers: list[StatusLine]
    recognition: StatusLine | None


class TierChange(out.Out):
    tier: str
    label: out.Label
    before: Status
    after: Status
    criteria_met_before: int
    criteria_met_after: int


class CriterionFlip(out.Out):
    tier: str
    number: str
    name: out.Label
    before: Status
    after: Status


class ConditionChange(out.Out):
    fact: str
    op: str
    threshold: Value
    unit: str
    unit_en: str
    observed_before: Value
    observed_after: Value
    status_before: str
    status_after: str
    gap_before: out.Num | None
    gap_after: out.Num | None


class IndicatorChange(out.Out):
    tier: str
    criterion: str
    code: str
    label: out.Label
    before: str
    after: str
    conditions: list[ConditionChange]


class ScenarioOut(out.Out):
    id: str
    label: out.Label
    changes: list[FactChange]
    tiers_gained: list[str]
    tiers_lost: list[str]
    tiers_changed: list[TierChange]
    criteria_flipped: list[CriterionFlip]
    indicators_changed: list[IndicatorChange]
    after: Snapshot


class WhatIfResult(out.Out):
    schema_: str = Field(alias="schema")
    unit: out.UnitOut
    ruleset: out.RulesetOut
    overlay: out.OverlayOut | None
    baseline: Snapshot
    scenarios: list[ScenarioOut]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------- the diff


_BASELINES: dict[tuple[int, dt.date | None], tuple[Inputs, out.Outcome, dict]] = {}


def _baseline(inputs: Inputs, as_of: dt.date | None) -> tuple[out.Outcome, dict]:
    """The baseline outcome and evidence, evaluated once per loaded inputs: a planner trying scenario after
    scenario on one dossier pays for one evaluation each, not two. Keyed by the (immutable) Inputs object."""
    key = (id(inputs), as_of)
    hit = _BASELINES.get(key)
    if hit is not None and hit[0] is inputs:
        return hit[1], hit[2]
    base = evaluate(inputs, as_of=as_of)
    base_obs = observations(inputs.dossier, inputs.ruleset.ruleset)
    if len(_BASELINES) >= 16:
        _BASELINES.pop(next(iter(_BASELINES)), None)
    _BASELINES[key] = (inputs, base, base_obs)
    return base, base_obs


def whatif(inputs: Inputs, scenarios: list[Scenario], as_of: dt.date | None = None) -> WhatIfResult:
    """Evaluate the baseline and every scenario (each on a fresh engine session) and diff the decisions."""
    rs = inputs.ruleset.ruleset
    base, base_obs = _baseline(inputs, as_of)
    parts = {p for f in rs.facts if f.ratio_of for p in (f.ratio_of.numerator, f.ratio_of.denominator)}
    results = []
    for sc in scenarios:
        computed = [f for f in COMMUNE_COUNT_FACTS if f in sc.changes] if inputs.dossier.dossier.communes else []
        if computed:
            raise _relocate(NtmInputError.single(
                f"'{computed[0]}' is computed from the district's communes", field=f"--set {computed[0]}",
                hint="change a commune's dossier or declared status instead"), sc)
        try:
            after = evaluate(inputs, extra=sc.changes, as_of=as_of)  # validates the values like dossier facts
            # shares computed from changed parts need the full evidence; otherwise only the changed facts move
            obs = (observations(inputs.dossier, rs, sc.changes) if parts & set(sc.changes)
                   else {**base_obs, **_direct(sc.changes)})
        except NtmInputError as e:
            raise _relocate(e, sc) from None
        results.append(diff(sc, base, after, base_obs, obs, rs))
    return WhatIfResult(schema=SCHEMA, unit=base.unit, ruleset=base.ruleset, overlay=base.overlay,
                        baseline=snapshot(base), scenarios=results)


def _relocate(e: NtmInputError, sc: Scenario) -> NtmInputError:
    """A bad value from a scenario file is reported at its line in that file, not as a `--set` option."""
    problems = []
    for p in e.problems:
        fid = p.field[len("--set "):] if p.field and p.field.startswith("--set ") else None
        if sc.origin is not None and fid in sc.origin[1]:
            path, lines, where = sc.origin
            kind = "unset" if sc.changes.get(fid) is None else "set"
            p = Problem(p.message, file=path, line=lines[fid], field=f"{where}.{kind}.{fid}", expected=p.expected,
                        hint=p.hint)
        elif sc.origin is not None:
            p = Problem(f"in scenario '{sc.id}': {p.message}", file=p.file, line=p.line, field=p.field,
                        expected=p.expected, hint=p.hint)
        problems.append(p)
    return NtmInputError(problems)


def _direct(changes: dict) -> dict[str, Observation | None]:
    return {fid: None if v is None else Observation(v if isinstance(v, bool) else Fraction(Decimal(str(v))), "value",
                                                    None) for fid, v in changes.items()}


def _value(o: Observation | None) -> Value:
    if o is None:
        return None
    return o.value if isinstance(o.value, bool) else out.number(o.value)


def _line(t: out.TierOut) -> StatusLine:
    return StatusLine(tier=t.id, label=t.label, status=t.status, criteria_met=t.criteria_met,
                      criteria_total=t.criteria_total)


def snapshot(o: out.Outcome) -> Snapshot:
    return Snapshot(summary=o.summary, tiers=[_line(t) for t in o.tiers],
                    recognition=_line(o.recognition) if o.recognition else None)


def _all_tiers(o: out.Outcome) -> list[out.TierOut]:
    return list(o.tiers) + ([o.recognition] if o.recognition else [])


def _indicators(t: out.TierOut) -> dict[tuple[str, str, int], tuple[out.CriterionOut, out.IndicatorOut]]:
    """Indicators keyed by (criterion, code, occurrence): a code may repeat when wordings change over time."""
    keyed, seen = {}, {}
    for c in t.criteria:
        for i in c.indicators:
            k = (c.number, i.code)
            n = seen.get(k, 0)
            seen[k] = n + 1
            keyed[(c.number, i.code, n)] = (c, i)
    return keyed


def _cond_changes(a: out.IndicatorOut, b: out.IndicatorOut, catalogue: dict) -> list[ConditionChange]:
    result = []
    for ca, cb in zip(a.conditions, b.conditions):
        if (ca.status, ca.observed, ca.gap, ca.threshold) == (cb.status, cb.observed, cb.gap, cb.threshold):
            continue
        f = catalogue.get(cb.fact)
        result.append(ConditionChange(fact=cb.fact, op=cb.op, threshold=cb.threshold, unit=cb.unit,
                                      unit_en=(f.unit_en or f.unit) if f else cb.unit,
                                      observed_before=ca.observed, observed_after=cb.observed,
                                      status_before=ca.status, status_after=cb.status, gap_before=ca.gap,
                                      gap_after=cb.gap))
    return result


def diff(sc: Scenario, base: out.Outcome, after: out.Outcome, base_obs: dict, obs: dict, rs: Ruleset) -> ScenarioOut:
    catalogue = rs.fact_map()
    order = {f.id: k for k, f in enumerate(rs.facts)}
    changes = []
    moved = {f for f in set(base_obs) | set(obs) if base_obs.get(f) is not obs.get(f)} | set(sc.changes)
    for fid in sorted(moved, key=lambda f: (order.get(f, len(order)), f)):
        b, a = _value(base_obs.get(fid)), _value(obs.get(fid))
        if b == a and type(b) is type(a) and fid not in sc.changes:
            continue
        f = catalogue[fid]
        changes.append(FactChange(fact=fid, label=out.Label(vi=f.label.vi, en=f.label.en), unit=f.unit,
                                  unit_en=f.unit_en or f.unit, before=b,
                                  after=a, derived=fid not in sc.changes))
    before_t = {t.id: t for t in _all_tiers(base)}
    tiers_changed, gained, lost, flips, inds = [], [], [], [], []
    for t in _all_tiers(after):
        bt = before_t[t.id]
        if bt.status != t.status:
            tiers_changed.append(TierChange(tier=t.id, label=t.label, before=bt.status, after=t.status,
                                            criteria_met_before=bt.criteria_met, criteria_met_after=t.criteria_met))
            if t.status == "met":
                gained.append(t.id)
            elif bt.status == "met":
                lost.append(t.id)
        bc = {c.number: c for c in bt.criteria}
        for c in t.criteria:
            if c.number in bc and bc[c.number].status != c.status:
                flips.append(CriterionFlip(tier=t.id, number=c.number, name=c.name, before=bc[c.number].status,
                                           after=c.status))
        bi = _indicators(bt)
        for key, (c, i) in _indicators(t).items():
            if key not in bi:
                continue
            old = bi[key][1]
            conds = _cond_changes(old, i, catalogue)
            if old.status != i.status or conds:
                inds.append(IndicatorChange(tier=t.id, criterion=c.number, code=i.code, label=i.label,
                                            before=old.status, after=i.status, conditions=conds))
    return ScenarioOut(id=sc.id, label=sc.label, changes=changes, tiers_gained=gained, tiers_lost=lost,
                       tiers_changed=tiers_changed, criteria_flipped=flips, indicators_changed=inds,
                       after=snapshot(after))


def to_json(result) -> str:
    """Canonical JSON (same inputs → the same bytes)."""
    return json.dumps(result.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2) + "\n"
