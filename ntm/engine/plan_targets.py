"""A province's own targets (e.g. "50 communes standard, 10 advanced, no commune below 15 criteria by 2025"),
read from a user's YAML with file:line errors; `plan_group` reports the gap to each as a plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

from ntm.criteria.model import Ruleset, Strict
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import load
from ntm.errors import NtmInputError, Problem, did_you_mean


class TargetLabel(Strict):
    vi: StrictStr
    en: StrictStr


class TargetsInfo(Strict):
    id: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    title: TargetLabel
    province: StrictStr | None = None
    by: Annotated[StrictInt, Field(ge=1990, le=2100)] | None = None
    illustrative: StrictBool = False
    note: StrictStr | None = None


class MinCriteria(Strict):
    tier: StrictStr
    count: Annotated[StrictInt, Field(ge=0)]


class Targets(Strict):
    targets: TargetsInfo
    communes_at_least: dict[StrictStr, Annotated[StrictInt, Field(ge=0)]] = {}
    min_criteria: MinCriteria | None = None


@dataclass(frozen=True)
class LoadedTargets:
    model: Targets
    path: str


def load_targets(path: str, rs: Ruleset) -> LoadedTargets:
    """Read province targets; tier ids are checked against the ruleset's commune tiers (did-you-mean)."""
    src = load(path)
    if not isinstance(src.data, dict):
        raise NtmInputError.single("a targets file must be a mapping with targets: and communes_at_least:",
                                   file=path, line=src.line_of(()))
    t = validate(Targets, src)
    ls = rs.level("commune")
    tiers = [x.id for x in ls.tiers if x.kind == "tier"] if ls else []
    problems = []
    for tid in t.communes_at_least:
        if tid not in tiers:
            problems.append(Problem(f"unknown tier '{tid}'", file=path, line=src.line_of(("communes_at_least", tid)),
                                    field=f"communes_at_least.{tid}", expected="one of " + ", ".join(tiers),
                                    hint=did_you_mean(tid, tiers)))
    if t.min_criteria is not None and t.min_criteria.tier not in tiers:
        problems.append(Problem(f"unknown tier '{t.min_criteria.tier}'", file=path,
                                line=src.line_of(("min_criteria", "tier")), field="min_criteria.tier",
                                expected="one of " + ", ".join(tiers), hint=did_you_mean(t.min_criteria.tier, tiers)))
    if problems:
        raise NtmInputError(problems)
    return LoadedTargets(t, path)
