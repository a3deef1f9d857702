"""Cost models for planning: what one unit of change in a fact costs, or that it cannot be bought.

A cost model is a user's file (YAML/JSON), read with file:line errors. Prices are exact (Fractions), so a plan's
total never depends on float rounding. Income and poverty are usually marked `purchasable: false`: the planner
then reports them as conditions to reach, never as something money buys directly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from ntm.criteria.dossier import Observation
from ntm.criteria.model import Ruleset, Strict
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import load, read_text
from ntm.errors import NtmInputError, Problem, did_you_mean

Number = StrictInt | StrictFloat
# a price above this is a typo (or an attack): totals stay within exact 6-decimal arithmetic (Decimal, 28 digits)
MAX_PRICE = 10**12


class CostLabel(Strict):
    vi: StrictStr
    en: StrictStr


class CostInfo(Strict):
    id: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    title: CostLabel
    currency: Annotated[StrictStr, Field(min_length=1)]
    illustrative: StrictBool = False
    note: StrictStr | None = None


class CostEntry(Strict):
    """Price of one unit of change (a percentage point, a km, a million VND of income, one 'false → true')."""

    per_unit: Annotated[Number, Field(ge=0, le=MAX_PRICE)] | None = None
    unit: StrictStr | None = None
    purchasable: StrictBool = True
    note: StrictStr | None = None

    @model_validator(mode="after")
    def _shape(self) -> CostEntry:
        if self.purchasable and self.per_unit is None:
            raise ValueError("give per_unit (the price of one unit of change), or purchasable: false")
        if not self.purchasable and self.per_unit is not None:
            raise ValueError("a fact that is not purchasable has no per_unit price")
        return self


class MissingCost(Strict):
    """What it costs to measure a fact the dossier does not give (a survey, an inspection)."""

    per_fact: Annotated[Number, Field(ge=0, le=MAX_PRICE)]
    note: StrictStr | None = None


class CostModel(Strict):
    cost_model: CostInfo
    costs: dict[StrictStr, CostEntry] = {}
    default: CostEntry | None = None
    missing: MissingCost | None = None


@dataclass(frozen=True)
class LoadedCosts:
    model: CostModel
    path: str
    sha256: str


def _exact(v) -> Fraction:
    return Fraction(Decimal(str(v))) if isinstance(v, float) else Fraction(v)


def load_costs(path: str, rs: Ruleset) -> LoadedCosts:
    """Read and check a cost model against the ruleset's fact catalogue (unknown ids → did-you-mean)."""
    src = load(path)
    if not isinstance(src.data, dict):
        raise NtmInputError.single("a cost model must be a mapping with cost_model and costs", file=path,
                                   line=src.line_of(()), expected="cost_model:, costs:")
    cm = validate(CostModel, src)
    catalogue = rs.fact_map()
    problems = []
    for fid in cm.costs:
        if fid not in catalogue:
            problems.append(Problem(f"unknown fact '{fid}'", file=path, line=src.line_of(("costs", fid)),
                                    field=f"costs.{fid}", hint=did_you_mean(fid, catalogue)
                                    or f"run `ntm rulesets show {rs.id}` for the fact ids"))
    if problems:
        raise NtmInputError(problems)
    digest = hashlib.sha256(read_text(path).encode("utf-8")).hexdigest()
    return LoadedCosts(cm, path, digest)


@dataclass(frozen=True)
class Price:
    """The price of one change: `kind` priced | unpriced (no price known) | not_purchasable."""

    kind: str
    cost: Fraction | None
    how: str  # how it was priced, for the report


UNPRICED = Price("unpriced", None, "no cost model")


def price(costs: LoadedCosts | None, fact, observed: Fraction | bool | None, target: Fraction | bool,
          obs: dict[str, Observation]) -> Price:
    """Price moving `fact` from observed to target. Ratio facts (a share of km) are priced by the share when the
    model prices it, else by their numerator (km to harden) when the dossier gives the parts."""
    if costs is None:
        return UNPRICED
    cm = costs.model
    if observed is None:
        if cm.missing is not None:
            return Price("priced", _exact(cm.missing.per_fact), "measurement (missing.per_fact)")
        return Price("unpriced", None, "must be measured; the cost model has no 'missing' price")
    entry = cm.costs.get(fact.id)
    how = f"costs.{fact.id}"
    amount: Fraction | None = None
    if entry is None and fact.ratio_of is not None and fact.ratio_of.numerator in cm.costs:
        n, d = fact.ratio_of.numerator, fact.ratio_of.denominator
        if d in obs and n in obs and obs[fact.id].given_as == "ratio":
            entry = cm.costs[n]
            amount = abs(Fraction(target) - Fraction(observed)) * obs[d].value / 100
            how = f"costs.{n}: {float(amount):g} {entry.unit or ''} of {n} (priced by the parts)".replace("  ", " ")
    if entry is None:
        entry, how = cm.default, "default"
    if entry is None:
        return Price("unpriced", None, "not in the cost model (no default)")
    if not entry.purchasable:
        return Price("not_purchasable", None, how)
    if amount is None:
        amount = Fraction(1) if isinstance(target, bool) else abs(Fraction(target) - Fraction(observed))
    return Price("priced", amount * _exact(entry.per_unit), how)
