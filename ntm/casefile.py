"""Rule-author test cases: YAML files of dossier facts in, expected statuses out.

Each case is decided by the engine *and* by the reference evaluator; both must give the expected answer.
Collected by pytest from `<ruleset>/tests/*.yaml` (see conftest.py).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Literal

from pydantic import StrictInt, StrictStr

from ntm.criteria.dossier import dossier_from_source, observations
from ntm.criteria.loader import load_ruleset
from ntm.criteria.model import Level, Strict
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import Source, load
from ntm.engine import oracle
from ntm.engine.evaluate import evaluate, gather_loaded, resolved_for
from ntm.errors import NtmInputError

TierStatus = Literal["met", "not_met", "indeterminate"]
IndStatus = Literal["pass", "fail", "missing", "not_applicable", "indeterminate"]


class CaseUnit(Strict):
    level: Level = "commune"
    region: StrictStr | None = None  # a commune group may be placed from the case's facts instead
    flags: list[StrictStr] = []


class Expect(Strict):
    tiers: dict[StrictStr, TierStatus] = {}
    criteria: dict[StrictStr, dict[StrictStr, TierStatus]] = {}
    indicators: dict[StrictStr, dict[StrictStr, IndStatus]] = {}
    region: dict[StrictStr, StrictStr] = {}
    criteria_met: dict[StrictStr, StrictInt] = {}
    decided_by_provisional: bool | None = None
    commune_group: StrictStr | None = None  # the group placed (51/2025)
    group_rule: StrictStr | None = None  # the group rule that decided, "default" or "stated"
    group_by_precedence: bool | None = None
    error: StrictStr | None = None  # the dossier must be refused with a message containing this text


class Case(Strict):
    name: StrictStr
    unit: CaseUnit
    year: StrictInt
    base: StrictStr | None = None
    facts: dict = {}
    overlay: StrictStr | None = None
    expect: Expect


class CaseFile(Strict):
    ruleset: StrictStr
    bases: dict[StrictStr, dict] = {}
    cases: list[Case]


@dataclass
class CaseResult:
    name: str
    failures: list[str]


def load_cases(path: str) -> tuple[CaseFile, Source]:
    src = load(path)
    return validate(CaseFile, src), src


def _dossier(cf: CaseFile, case: Case, path: str) -> Source:
    facts = {}
    if case.base is not None:
        if case.base not in cf.bases:
            raise NtmInputError.single(f"case '{case.name}': unknown base '{case.base}'", file=path)
        facts.update(copy.deepcopy(cf.bases[case.base]))
    for k, v in case.facts.items():
        if v is None:
            facts.pop(k, None)
        else:
            facts[k] = v
    unit = {"level": case.unit.level, "code": "case", "name": case.name, "flags": list(case.unit.flags)}
    if case.unit.region is not None:
        unit["region"] = case.unit.region
    data = {"unit": unit,
            "assessment": {"year": case.year}, "facts": facts}
    return Source(data, {}, f"{path} [{case.name}]")


def run_case(cf: CaseFile, case: Case, path: str, ruleset_path: str | None = None) -> CaseResult:
    base = os.path.dirname(os.path.abspath(path))
    lr = load_ruleset(ruleset_path or cf.ruleset)
    fails: list[str] = []
    try:
        ld = dossier_from_source(_dossier(cf, case, path))
        # the one input path every evaluation takes: an overlay's facts and indicators are merged here too
        inp = gather_loaded(ld, lr.path, os.path.join(base, case.overlay) if case.overlay else None)
        outcome = evaluate(inp)
    except NtmInputError as e:
        if case.expect.error and case.expect.error in e.render():
            return CaseResult(case.name, [])
        return CaseResult(case.name, [f"refused: {e.render()}"])
    if case.expect.error:
        return CaseResult(case.name, [f"expected an error containing '{case.expect.error}', but it evaluated"])
    # the oracle must agree with the engine on every status, not only the expected ones
    ref = oracle.evaluate(resolved_for(inp), observations(inp.dossier, inp.ruleset.ruleset))
    got = {}
    every_tier = outcome.tiers + ([outcome.recognition] if outcome.recognition else [])
    for t in every_tier:
        got[("tier", t.id)] = t.status
        for c in t.criteria:
            got[("crit", t.id, c.number)] = c.status
            for i in c.indicators:
                got[("ind", t.id, i.code)] = i.status
    for key, status in ref.items():
        if key[0] != "cond" and got.get(key) != status:
            fails.append(f"engine and oracle disagree on {key}: engine {got.get(key)}, oracle {status}")
    for key, status in got.items():
        if status in ("met", "not_met", "pass", "fail", "not_applicable") and ref.get(key) != status:
            fails.append(f"engine and oracle disagree on {key}: engine {status}, oracle {ref.get(key)}")
    e = case.expect
    fails += _group_checks(inp, outcome, e)
    by_id = {t.id: t for t in every_tier}
    for tier, want in e.tiers.items():
        have = by_id[tier].status if tier in by_id else "absent"
        if have != want:
            fails.append(f"tier {tier}: expected {want}, got {have}")
    for tier, crits in e.criteria.items():
        for num, want in crits.items():
            have = got.get(("crit", tier, num), "absent")
            if have != want:
                fails.append(f"{tier} criterion {num}: expected {want}, got {have}")
    for tier, inds in e.indicators.items():
        for code, want in inds.items():
            have = got.get(("ind", tier, code), "absent")
            if have != want:
                fails.append(f"{tier} indicator {code}: expected {want}, got {have}")
    for tier, want in e.region.items():
        have = by_id[tier].region if tier in by_id else "absent"
        if have != want:
            fails.append(f"tier {tier}: expected region {want}, got {have}")
    for tier, want in e.criteria_met.items():
        have = by_id[tier].criteria_met if tier in by_id else -1
        if have != want:
            fails.append(f"tier {tier}: expected {want} criteria met, got {have}")
    if e.decided_by_provisional is not None and outcome.summary.decided_by_provisional != e.decided_by_provisional:
        fails.append(f"decided_by_provisional: expected {e.decided_by_provisional}")
    return CaseResult(case.name, fails)


def _group_checks(inp: Inputs, outcome, e: Expect) -> list[str]:
    """The commune group: engine and oracle agree, and the expected group and deciding rule."""
    fails = []
    g = outcome.commune_group
    if g is not None:
        from ntm.engine.groups import precedence_for, reference

        rs = inp.ruleset.ruleset
        ref = reference(rs.commune_groups, tuple(precedence_for(rs, inp.overlay)[0].order),
                        observations(inp.dossier, rs)).get(("group",))
        if g.decided_by != "stated" and ref != g.group:
            fails.append(f"engine and oracle disagree on the commune group: engine {g.group}, oracle {ref}")
    have = g.group if g else None
    if e.commune_group is not None and have != e.commune_group:
        fails.append(f"commune group: expected {e.commune_group}, got {have}")
    if e.group_rule is not None and (g.decided_by if g else None) != e.group_rule:
        fails.append(f"group decided by: expected {e.group_rule}, got {g.decided_by if g else None}")
    if e.group_by_precedence is not None and (g.by_precedence if g else None) != e.group_by_precedence:
        fails.append(f"group by precedence: expected {e.group_by_precedence}")
    return fails


def case_files(ruleset_dir: str) -> list[str]:
    d = os.path.join(ruleset_dir, "tests")
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".yaml", ".yml")))
