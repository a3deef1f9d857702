"""Dossiers: a unit's measured evidence, keyed by fact id, validated against a ruleset's fact catalogue.

Numbers become exact Fractions here (ratios too), so nothing downstream ever compares a float.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

from ntm.criteria.codes import unit_code
from ntm.criteria.model import Level, Ruleset, Strict
from ntm.criteria.validation import validate
from ntm.criteria.yamlsrc import Source, load
from ntm.errors import NtmInputError, Problem, did_you_mean

# a unit code compared as it is meant: invisible characters and full-width digits do not make a second commune
Code = Annotated[StrictStr, BeforeValidator(unit_code), Field(min_length=1, max_length=64)]
Number = Union[StrictInt, StrictFloat]
MAX_UNKNOWN_LISTED = 20  # unknown facts reported one by one (with a suggestion); the rest in one line


def _iso_date(v):
    """JSON has no date type: a dossier written as JSON gives dates as "YYYY-MM-DD" text (YAML's own dates too)."""
    if isinstance(v, str):
        s = v.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            try:
                return dt.date.fromisoformat(s)
            except ValueError:
                raise ValueError(f"'{s}' is not a date of the calendar (expected a date YYYY-MM-DD)") from None
        raise ValueError(f"got the text '{s[:60]}' (expected a date YYYY-MM-DD, such as 2024-10-20)")
    return v


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Value = Union[StrictBool, StrictInt, StrictFloat, None]


class EvidenceRef(Strict):
    """Where a number comes from: the document a council can open."""

    document: StrictStr | None = None
    date: IsoDate | None = None
    note: StrictStr | None = None


class PartValue(Strict):
    """One part's value and evidence behind a merged commune's combined fact (`ntm merge`)."""

    code: Code
    value: Any = None
    base: Any = None  # the weighting base's value for a weighted share
    evidence: EvidenceRef | None = None


class FactEntry(Strict):
    value: Any = None  # checked against the fact's type in observations(), where the type is known
    evidence: EvidenceRef | None = None
    note: StrictStr | None = None
    from_parts: list[PartValue] = []  # a merged commune's fact combined from its parts' dossiers


class Unit(Strict):
    level: Level
    code: Code
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    province: StrictStr | None = None
    district: StrictStr | None = None
    region: StrictStr | None = None  # a commune group may instead be resolved from the facts (51/2025)
    flags: list[StrictStr] = []


class Assessment(Strict):
    year: Annotated[StrictInt, Field(ge=1990, le=2100)] | None = None
    date: IsoDate | None = None

    @model_validator(mode="after")
    def _one(self) -> "Assessment":
        if self.year is None and self.date is None:
            raise ValueError("give the assessment year or date")
        if self.year is not None and self.date is not None and self.date.year != self.year:
            raise ValueError(f"year {self.year} does not match date {self.date}")
        return self

    @property
    def effective_year(self) -> int:
        return self.year if self.year is not None else self.date.year

    @property
    def effective_date(self) -> dt.date:
        return self.date if self.date is not None else dt.date(self.year, 12, 31)


class Decision(Strict):
    """The recognition decision (quyết định công nhận) behind a declared status."""

    number: Annotated[StrictStr, Field(min_length=1)]
    date: IsoDate
    issuer: StrictStr | None = None


class CommuneRef(Strict):
    """A commune of a district: its dossier (evaluated in the same run) or its declared, decided status."""

    code: Code
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    dossier: StrictStr | None = None
    status: Literal["none", "standard", "advanced", "model"] | None = None
    decision: Decision | None = None
    satisfaction_pct: Annotated[Number, Field(ge=0, le=100)] | None = Field(
        default=None, description="the commune's lowest residents' satisfaction (%) across NTM contents (320 App. I)")

    @model_validator(mode="after")
    def _one_source(self) -> "CommuneRef":
        if (self.dossier is None) == (self.status is None):
            raise ValueError("give either the commune's dossier (a file) or its declared status, not both")
        if self.status not in (None, "none") and self.decision is None:
            raise ValueError(f"a declared status '{self.status}' needs the recognition decision (number, date)")
        return self


class MergedPart(Strict):
    """A commune a merged commune was formed from (2025 reorganisation): its recognised tier and decision, or
    its own (pre-merger) dossier. A part with neither is reported as missing its recognition."""

    code: Code
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    status: StrictStr | None = None
    decision: Decision | None = None
    dossier: StrictStr | None = None
    note: StrictStr | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "MergedPart":
        if self.dossier is not None and (self.status is not None or self.decision is not None):
            raise ValueError("give either the part's recognised status (with its decision) or its dossier, not both")
        return self


class NeedsEvidence(Strict):
    fact: StrictStr
    reason: StrictStr


class TownshipRef(Strict):
    """A township (thị trấn) of a district and whether it meets the civilised urban area standard (320 App. I)."""

    code: Code
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    civilised: StrictBool
    decision: Decision | None = None


class DistrictRef(Strict):
    """A district, town or provincial city of a province: its dossier (evaluated in the same run) or its declared,
    decided status (district: none/standard/advanced; town: none/completed)."""

    code: Code
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    kind: Literal["district", "town"] = "district"
    dossier: StrictStr | None = None
    status: Literal["none", "standard", "advanced", "completed"] | None = None
    decision: Decision | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "DistrictRef":
        if (self.dossier is None) == (self.status is None):
            raise ValueError("give either the district's dossier (a file) or its declared status, not both")
        allowed = ("none", "completed") if self.kind == "town" else ("none", "standard", "advanced")
        if self.status is not None and self.status not in allowed:
            raise ValueError(f"a {self.kind}'s declared status is one of {', '.join(allowed)}, not '{self.status}'")
        if self.status not in (None, "none") and self.decision is None:
            raise ValueError(f"a declared status '{self.status}' needs the recognition decision (number, date)")
        return self


class Dossier(Strict):
    unit: Unit
    assessment: Assessment
    ruleset: StrictStr | None = None
    communes: list[CommuneRef] = []
    merged_from: list[MergedPart] = []
    needs_own_evidence: list[NeedsEvidence] = []  # written by `ntm merge`: facts the parts cannot give
    townships: list[TownshipRef] | None = None
    districts: list[DistrictRef] = []
    facts: dict[StrictStr, Any] = Field(
        default={}, description="fact id -> value, or {value, evidence: {document, date, note}, note}")
    note: StrictStr | None = None


@dataclass(frozen=True)
class Observation:
    value: Fraction | bool
    given_as: str  # "value" | "ratio"
    evidence: EvidenceRef | None


@dataclass(frozen=True)
class LoadedDossier:
    dossier: Dossier
    path: str
    source: Source


def load_dossier(path: str) -> LoadedDossier:
    return dossier_from_source(load(path))


def dossier_from_source(src: Source) -> LoadedDossier:
    path = src.path
    if not isinstance(src.data, dict):
        raise NtmInputError.single("a dossier must be a mapping with unit, assessment and facts", file=path,
                                   line=src.line_of(()), expected="unit:, assessment:, facts:")
    _nfc_keys(src)
    return LoadedDossier(validate(Dossier, src), path, src)


def _nfc_keys(src: Source) -> None:
    """Vietnamese text may arrive decomposed (NFD); region ids and flags are compared in NFC."""
    unit = src.data.get("unit") if isinstance(src.data, dict) else None
    if isinstance(unit, dict):
        if isinstance(unit.get("region"), str):
            unit["region"] = unicodedata.normalize("NFC", unit["region"].strip())
        if isinstance(unit.get("flags"), list):
            unit["flags"] = [unicodedata.normalize("NFC", f) if isinstance(f, str) else f for f in unit["flags"]]


def _fraction(v) -> Fraction:
    return Fraction(Decimal(str(v))) if isinstance(v, float) else Fraction(v)


def _looks_numeric(s: str) -> bool:
    return bool(re.fullmatch(r"\s*[-+]?[0-9][0-9.,\s]*%?\s*", s))


def _plain(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", s) if unicodedata.category(ch) != "Cf").strip().casefold()


def _same_but_hidden(fid: str, catalogue) -> str | None:
    """'INCOME_PER_CAPITA' or an id with a zero-width/RTL mark pasted in: name the id it hides."""
    plain = _plain(str(fid))
    hit = next((c for c in catalogue if _plain(c) == plain), None)
    return f"did you mean '{hit}'? (the id differs in case, spacing or invisible characters)" if hit else None


# a unit written in millions (triệu đồng) or thousands: a value typed in plain đồng is off by exactly that scale
_SCALES = ((("tỷ", "billion"), 10**9, "billion"), (("triệu", "million"), 10**6, "million"),
           (("nghìn", "ngàn", "thousand"), 10**3, "thousand"))


def unit_scale_hint(fact, value: Fraction, lo: Fraction, hi: Fraction) -> str | None:
    """'61200000 looks like VND: 61.2 million?' for any fact whose unit counts money in a multiple of đồng."""
    units = f"{fact.unit} {fact.unit_en or ''}".casefold()
    if not any(m in units for m in ("đồng", "vnd", "dong")):
        return None
    for words, scale, name in _SCALES:
        if any(wd in units for wd in words):
            scaled = value / scale
            if lo <= scaled <= hi:
                shown = format(Decimal(scaled.numerator) / Decimal(scaled.denominator), "f")
                shown = shown.rstrip("0").rstrip(".") if "." in shown else shown
                return f"{format(value.numerator if value.denominator == 1 else float(value), '')} looks like VND: " \
                       f"{shown} {name}? ({fact.unit})"
            return None
    return None


def check_unit(ld: LoadedDossier, rs: Ruleset) -> list[Problem]:
    src, u = ld.source, ld.dossier.unit
    problems = []
    regions = [r.id for r in rs.regions]
    if u.region is None:
        if rs.commune_groups is None or u.level != "commune":
            problems.append(Problem(f"the unit's {rs.region_kind.replace('_', ' ')} is required (unit.region)", file=ld.path,
                                    line=src.line_of(("unit",)), field="unit.region",
                                    expected="one of " + ", ".join(regions)))
    elif u.region not in regions:
        # accept labels and accent-less spellings: 'Dong Nam Bo' -> ĐNB is still an error, with the hint
        hint = did_you_mean(u.region, regions)
        labels = {r.label.vi.casefold(): r.id for r in rs.regions} | {r.label.en.casefold(): r.id for r in rs.regions}
        if u.region.casefold() in labels:
            hint = f"write the region id '{labels[u.region.casefold()]}'"
        problems.append(Problem(f"unknown region '{u.region}'", file=ld.path, line=src.line_of(("unit", "region")),
                                field="unit.region", expected="one of " + ", ".join(regions), hint=hint))
    flags = [f.id for f in rs.unit_flags]
    for i, fl in enumerate(u.flags):
        if fl not in flags:
            problems.append(Problem(f"unknown flag '{fl}'", file=ld.path, line=src.line_of(("unit", "flags", i)),
                                    field=f"unit.flags[{i}]", expected="one of " + ", ".join(flags) if flags else "no flags",
                                    hint=did_you_mean(fl, flags)))
    if rs.level(u.level) is None:
        problems.append(Problem(f"ruleset {rs.id} has no criteria for level '{u.level}'", file=ld.path,
                                line=src.line_of(("unit", "level")), field="unit.level",
                                expected="one of " + ", ".join(ls.level for ls in rs.levels)))
    return problems


def observations(ld: LoadedDossier, rs: Ruleset, extra: dict | None = None) -> dict[str, Observation]:
    """Validate every fact against the catalogue and return exact observed values (ratios computed).

    `extra` holds what-if overrides (fact id -> value), validated exactly like the dossier's own facts.
    """
    catalogue = rs.fact_map()
    src, path = ld.source, ld.path
    problems = check_unit(ld, rs)
    raw: dict[str, tuple[object, EvidenceRef | None, tuple]] = {}
    items = dict(ld.dossier.facts)
    for fid, entry in items.items():
        if isinstance(entry, dict):
            try:
                entry = validate(FactEntry, src, ("facts", fid))
            except NtmInputError as e:
                problems.extend(e.problems)
                continue
            raw[fid] = (entry.value, entry.evidence, ("facts", fid, "value"))
        else:
            raw[fid] = (entry, None, ("facts", fid))
    for fid, value in (extra or {}).items():
        raw[fid] = (value, None, ("--set", fid))

    out: dict[str, Observation] = {}
    unknown: list[str] = []
    level = ld.dossier.unit.level
    for fid, (value, ev, loc) in raw.items():
        line = src.line_of(loc) if loc[0] == "facts" else None
        fname = ".".join(str(p) for p in loc) if loc[0] == "facts" else f"--set {fid}"
        fact = catalogue.get(fid)
        if fact is None:
            unknown.append(fid)
            if len(unknown) > MAX_UNKNOWN_LISTED:
                continue  # summed up below: a fuzzy match per fact made 10,000 unknown facts take 20 s
            hint = _same_but_hidden(fid, catalogue) or did_you_mean(fid, catalogue) or (
                "run `ntm rulesets show " + rs.id + "` for the fact ids; a provincial fact needs the overlay "
                "that defines it (--overlay)")
            problems.append(Problem(f"unknown fact '{fid}'", file=path, line=line, field=fname, hint=hint))
            continue
        if fact.level != level:
            problems.append(Problem(f"fact '{fid}' belongs to level {fact.level}, not {level}", file=path,
                                    line=line, field=fname))
            continue
        if value is None:
            continue  # absent: missing evidence
        if isinstance(value, (list, dict, dt.date)):
            problems.append(Problem(f"got {type(value).__name__}", file=path, line=line, field=fname,
                                    expected="true/false" if fact.type == "boolean" else f"a number in {fact.unit}"))
            continue
        if fact.type == "boolean":
            if not isinstance(value, bool):
                problems.append(Problem(f"got {value!r}", file=path, line=line, field=fname,
                                        expected="true or false", hint=f"{fact.label.vi} ({fact.unit})"))
                continue
            out[fid] = Observation(value, "value", ev)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = None
            if isinstance(value, str) and _looks_numeric(value):
                hint = "write the number without quotes, with a dot for decimals (52.3, not \"52,3\")"
            problems.append(Problem(f"got {value!r}", file=path, line=line, field=fname,
                                    expected=f"a number in {fact.unit}", hint=hint))
            continue
        try:
            frac = _fraction(value)
        except (ValueError, OverflowError, InvalidOperation):
            problems.append(Problem(f"{value!r} is not a finite number", file=path, line=line, field=fname,
                                    expected=f"a number in {fact.unit}"))
            continue
        lo, hi = Fraction(Decimal(str(fact.range.min))), Fraction(Decimal(str(fact.range.max)))
        if not lo <= frac <= hi:
            problems.append(Problem(f"{value} is outside the valid range", file=path, line=line, field=fname,
                                    expected=f"{fact.range.min}..{fact.range.max} {fact.unit}",
                                    hint=unit_scale_hint(fact, frac, lo, hi)))
            continue
        if fact.type == "count" and frac.denominator != 1:
            problems.append(Problem(f"{value} is not a whole number", file=path, line=line, field=fname,
                                    expected=f"a count ({fact.unit})"))
            continue
        if frac.denominator != 1 and Fraction(frac * 10**6).denominator != 1:
            problems.append(Problem(f"{value} has more than 6 decimal places", file=path, line=line, field=fname,
                                    expected="at most 6 decimal places"))
            continue
        out[fid] = Observation(frac, "value", ev)

    if len(unknown) > MAX_UNKNOWN_LISTED:
        rest = unknown[MAX_UNKNOWN_LISTED:]
        shown = ", ".join(str(f)[:40] for f in rest[:5]) + (", …" if len(rest) > 5 else "")
        problems.append(Problem(f"and {len(rest)} more unknown facts ({shown})", file=path, field="facts",
                                hint="is this a dossier for this ruleset? run `ntm rulesets show " + rs.id
                                + "` for the fact ids"))
    for fact in rs.facts:
        if fact.ratio_of is None:
            continue
        n, d = fact.ratio_of.numerator, fact.ratio_of.denominator
        parts = [p for p in (n, d) if p in out]
        if not parts:
            continue
        where = ("facts", n if n in raw else d)
        line = src.line_of(where) if where[1] in items else None
        if extra and fact.id in extra:
            continue  # a what-if value for the share replaces whatever its parts said
        if fact.id in out and out[fact.id].given_as == "value" and not (extra and ({n, d} & set(extra))):
            problems.append(Problem(f"'{fact.id}' is given both directly and as {n}/{d}", file=path, line=line,
                                    field=f"facts.{fact.id}", hint="give either the share or its two parts, not both"))
            continue
        if len(parts) == 1:
            missing = d if n in out else n
            problems.append(Problem(f"'{parts[0]}' is given without '{missing}'", file=path, line=line,
                                    field=f"facts.{missing}", hint=f"both are needed to compute {fact.id}"))
            continue
        num, den = out[n].value, out[d].value
        if den == 0:
            problems.append(Problem(f"'{d}' is 0, so {fact.id} cannot be computed", file=path, line=line,
                                    field=f"facts.{d}", hint=f"give {fact.id} directly"))
            continue
        if num > den:
            problems.append(Problem(f"'{n}' ({float(num)}) is larger than '{d}' ({float(den)})", file=path,
                                    line=line, field=f"facts.{n}", expected=f"{n} ≤ {d}"))
            continue
        out[fact.id] = Observation(num * 100 / den, "ratio", None)
    if problems:
        raise NtmInputError(problems)
    return out
