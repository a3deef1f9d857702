"""The typed plan document (schema "ntm-plan/1"): what `ntm plan --format json` prints and `ntm.plan` returns."""

from __future__ import annotations

import json
from typing import Literal, Union

from pydantic import ConfigDict, Field

from ntm.engine.outcome import Out
from ntm.engine.plan import SourceOut, UnitPlan
from ntm.engine.plan_group import GroupPlan


class PlanResult(Out):
    """A plan for one unit (`kind: unit`) or for a district's or a folder's communes (`district`, `province`),
    with where its inputs came from and the stated tie rule."""

    schema_: Literal["ntm-plan/1"] = Field(alias="schema")
    kind: Literal["unit", "district", "province"]
    source: SourceOut
    tie_rule: str
    step: str
    plan: Union[UnitPlan, GroupPlan]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def plan_result(doc: dict) -> PlanResult:
    """Validate a plan document (the planners build it from already-validated parts; this is the contract)."""
    return PlanResult.model_validate(doc)


def to_json(result: PlanResult | dict) -> str:
    """Canonical JSON (sorted keys, UTF-8): byte-identical to `ntm plan --format json`."""
    data = result.model_dump(mode="json", by_alias=True) if isinstance(result, PlanResult) else result
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"

