"""A threshold as rows of a decision table, and back.

One row holds the values that share one provenance (status, note, set by, source, verifier): a single value
for every region (column "Mọi vùng"), or one value per region column, optionally for one assessment year. A
threshold whose region values differ in provenance takes several rows. A reference (319: 1.1 × the advanced
threshold) takes one row. Anything else (a note on a by_region table, by_region nested over by_year) is not
table-shaped: `rows_of` returns None and the exporter writes the threshold as YAML.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ntm.criteria.model import Threshold

LEAF_FIELDS = {"value", "status", "note", "set_by", "source", "verified_by", "verified_on"}
SOURCE_FIELDS = ("document", "item", "page", "url")


@dataclass
class Prov:
    status: str | None = None
    note: str | None = None
    set_by: str = "national"
    source: dict | None = None  # document, item, page, url (the ones given)
    verified_by: str | None = None
    verified_on: object = None  # a date

    def key(self) -> tuple:
        src = tuple(sorted((self.source or {}).items()))
        return (self.status, self.note, self.set_by, src, self.verified_by,
                self.verified_on.isoformat() if self.verified_on else None)


@dataclass
class Row:
    """One row of one condition. `all` is the value for every region (ALL_ABSENT when not given)."""

    year: int | None = None
    all: object = None
    has_all: bool = False
    regions: dict = field(default_factory=dict)  # region id -> value (None = not known)
    ref: object = None  # a ThresholdRef
    prov: Prov = field(default_factory=Prov)


def _leaf(th: Threshold) -> Prov | None:
    if th.by_region is not None or th.by_year is not None or th.ref is not None:
        return None
    src = None
    if th.source is not None:
        d = th.source.model_dump(exclude_none=True)
        if set(d) - set(SOURCE_FIELDS):
            return None  # appendix/article of a source: not a column; written as YAML
        src = d
    return Prov(th.status, th.note, th.set_by, src, th.verified_by, th.verified_on)


def _plain_table(th: Threshold) -> bool:
    return th.note is None and th.set_by == "national" and th.status is None


def _region_rows(by_region: dict, year) -> list[Row] | None:
    rows: dict[tuple, Row] = {}
    for region, sub in by_region.items():
        p = _leaf(sub)
        if p is None:
            return None
        row = rows.setdefault(p.key(), Row(year=year, prov=p))
        row.regions[region] = sub.value
    return list(rows.values())


def rows_of(th: Threshold) -> list[Row] | None:
    """The rows for a threshold, or None when it is not table-shaped."""
    p = _leaf(th)
    if p is not None:
        return [Row(all=th.value, has_all=True, prov=p)]
    if not _plain_table(th):
        return None
    if th.ref is not None:
        return [Row(ref=th.ref)]
    if th.by_region is not None:
        return _region_rows(th.by_region, None)
    out: list[Row] = []
    for year, sub in th.by_year.items():
        p = _leaf(sub)
        if p is not None:
            out.append(Row(year=year, all=sub.value, has_all=True, prov=p))
        elif sub.by_region is not None and _plain_table(sub):
            rows = _region_rows(sub.by_region, year)
            if rows is None:
                return None
            out += rows
        else:
            return None
    return out


def leaf_data(value, p: Prov) -> dict:
    d: dict = {"value": value, "status": p.status}
    if p.note is not None:
        d["note"] = p.note
    if p.set_by != "national":
        d["set_by"] = p.set_by
    if p.source:
        d["source"] = dict(p.source)
    if p.verified_by is not None:
        d["verified_by"] = p.verified_by
    if p.verified_on is not None:
        d["verified_on"] = p.verified_on
    return d


def fingerprint(level, tier, code, cond: int, fact, op, row: Row, regions: list[str]) -> str:
    """A short hash of what one row says (keys, value cells, provenance). The exporter stores it in a hidden
    column; the importer recomputes it, so it knows which rows a person changed."""
    vals = [row.all if row.has_all else "<absent>"] + [row.regions.get(r, "<absent>") for r in regions]
    ref = (row.ref.tier, row.ref.indicator, row.ref.condition, row.ref.factor) if row.ref is not None else None
    doc = [level, tier, code, cond, fact, op, row.year, [[type(v).__name__, v] for v in vals], ref,
           list(row.prov.key())]
    text = json.dumps(doc, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
