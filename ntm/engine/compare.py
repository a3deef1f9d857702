"""Compare: the same dossiers under two configurations (two rulesets, two overlays or two dates).

This is how a province sees what a stricter provincial value or new national criteria would do to its
communes. Every evaluation goes through the engine (a fresh session each); a dossier that cannot be evaluated
under one side becomes an error row, never a crash.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field

from ntm.criteria.dossier import LoadedDossier
from ntm.engine import outcome as out
from ntm.engine.evaluate import Inputs, evaluate, gather
from ntm.errors import EngineFailure, NtmInputError

SCHEMA = "ntm-compare/1"
Status = Literal["met", "not_met", "indeterminate"]
DOSSIER_EXT = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Side:
    """One configuration: an explicit ruleset (or the one in force), an overlay (or none), an as-of date."""

    ruleset: str | None = None
    overlay: str | None = None
    as_of: dt.date | None = None

    def describe(self) -> str:
        parts = [f"ruleset {self.ruleset or '(in force)'}", f"overlay {self.overlay or 'none'}"]
        if self.as_of:
            parts.append(f"as of {self.as_of.isoformat()}")
        return ", ".join(parts)


class SideOut(out.Out):
    ruleset: str | None
    overlay: str | None
    as_of: dt.date | None
    description: str


class SideResult(out.Out):
    ruleset: str
    version_in_force: str
    overlay: str | None
    tiers: dict[str, Status]
    recognition: Status | None
    highest_tier: str | None
    dropped_facts: list[str] = Field(description="dossier facts this ruleset does not know (--drop-unknown-facts)")


class IndicatorDiff(out.Out):
    criterion: str
    code: str
    label: out.Label
    a: str | None = Field(description="status under A; null when A has no such indicator")
    b: str | None
    rule_a: list[str]
    rule_b: list[str]


class TierDiff(out.Out):
    tier: str
    a: Status | None
    b: Status | None
    criteria_met_a: int | None
    criteria_met_b: int | None
    why: list[IndicatorDiff]


class UnitRow(out.Out):
    path: str
    level: str | None
    code: str | None
    name: str | None
    a: SideResult | None
    b: SideResult | None
    error_a: list[str] | None
    error_b: list[str] | None
    changed: bool
    tiers: list[TierDiff]


class TierCount(out.Out):
    level: str
    tier: str
    gained: int
    lost: int
    other_changes: int
    unchanged: int
    only_a: int = Field(description="units for which only side A's rules have this tier")
    only_b: int


class CompareResult(out.Out):
    schema_: str = Field(alias="schema")
    varies: Literal["ruleset", "overlay", "as_of"]
    a: SideOut
    b: SideOut
    units: list[UnitRow]
    counts: list[TierCount]
    units_total: int
    units_changed: int
    units_with_errors: int
    summary: out.Label

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def dossier_paths(items: list[str]) -> list[str]:
    """Files as given; a folder → its *.yaml/*.yml/*.json files, sorted (not recursive)."""
    result = []
    for p in items:
        if os.path.isdir(p):
            names = sorted(n for n in os.listdir(p) if n.lower().endswith(DOSSIER_EXT) and not n.startswith("."))
            files = [os.path.join(p, n) for n in names if os.path.isfile(os.path.join(p, n))]
            if not files:
                raise NtmInputError.single("the folder has no dossier files", file=p,
                                           expected="*.yaml, *.yml or *.json dossiers")
            result.extend(files)
        elif os.path.exists(p):
            result.append(p)
        else:
            raise NtmInputError.single("no such file or folder", file=p)
    return result


def _drop_unknown(inp: Inputs) -> tuple[Inputs, list[str]]:
    known = inp.ruleset.ruleset.fact_map()
    d = inp.dossier.dossier
    dropped = sorted(f for f in d.facts if f not in known)
    if not dropped:
        return inp, []
    kept = {k: v for k, v in d.facts.items() if k in known}
    ld = LoadedDossier(d.model_copy(update={"facts": kept}), inp.dossier.path, inp.dossier.source)
    return Inputs(ld, inp.ruleset, inp.overlay), dropped


def _run(path: str, side: Side, drop_unknown: bool) -> tuple[out.Outcome | None, list[str], list[str] | None]:
    try:
        inp = gather(path, side.ruleset, side.overlay, side.as_of)
        dropped: list[str] = []
        if drop_unknown:
            inp, dropped = _drop_unknown(inp)
        return evaluate(inp, as_of=side.as_of), dropped, None
    except NtmInputError as e:
        return None, [], [p.render() for p in e.problems]
    except EngineFailure as e:
        return None, [], [f"engine failure: {e}"]


def _side_result(o: out.Outcome, dropped: list[str]) -> SideResult:
    return SideResult(ruleset=o.ruleset.id, version_in_force=o.ruleset.version_in_force,
                      overlay=o.overlay.id if o.overlay else None, tiers={t.id: t.status for t in o.tiers},
                      recognition=o.recognition.status if o.recognition else None,
                      highest_tier=o.summary.highest_tier, dropped_facts=dropped)


def _rules(i: out.IndicatorOut) -> list[str]:
    def th(v):
        return str(v).lower() if isinstance(v, bool) else ("∅" if v is None else str(v))
    return [f"{c.fact} {c.op} {th(c.threshold)}" for c in i.conditions]


def _indicators(t: out.TierOut | None) -> dict[tuple[str, str], out.IndicatorOut]:
    keyed = {}
    for c in (t.criteria if t else []):
        for i in c.indicators:
            k, n = (c.number, i.code), 1
            while k in keyed:  # a code repeated within a criterion: keep each occurrence
                n += 1
                k = (c.number, f"{i.code}#{n}")
            keyed[k] = i
    return keyed


def _why(ta: out.TierOut | None, tb: out.TierOut | None) -> list[IndicatorDiff]:
    ia, ib = _indicators(ta), _indicators(tb)
    result = []
    for key in sorted(set(ia) | set(ib), key=_code_key):
        a, b = ia.get(key), ib.get(key)
        ra, rb = (_rules(a) if a else []), (_rules(b) if b else [])
        sa, sb = (a.status if a else None), (b.status if b else None)
        if sa == sb and ra == rb:
            continue
        label = (b or a).label
        result.append(IndicatorDiff(criterion=key[0], code=(b or a).code, label=label, a=sa, b=sb, rule_a=ra,
                                    rule_b=rb))
    return result


def _code_key(key: tuple[str, str]) -> tuple:
    from ntm.report.words import natural_key

    return natural_key(key[0].replace("#", ".")), natural_key(key[1].replace("#", "."))


def _tiers(o: out.Outcome | None) -> dict[str, out.TierOut]:
    if o is None:
        return {}
    return {t.id: t for t in list(o.tiers) + ([o.recognition] if o.recognition else [])}


def compare_one(path: str, a: Side, b: Side, drop_unknown: bool = False) -> UnitRow:
    oa, da, ea = _run(path, a, drop_unknown)
    ob, db, eb = _run(path, b, drop_unknown)
    u = (oa or ob).unit if (oa or ob) else None
    ta, tb = _tiers(oa), _tiers(ob)
    diffs = []
    if oa is not None and ob is not None:
        order = list(ta) + [t for t in tb if t not in ta]
        for tid in order:
            x, y = ta.get(tid), tb.get(tid)
            sa, sb = (x.status if x else None), (y.status if y else None)
            if sa != sb:
                diffs.append(TierDiff(tier=tid, a=sa, b=sb, criteria_met_a=x.criteria_met if x else None,
                                      criteria_met_b=y.criteria_met if y else None, why=_why(x, y)))
    return UnitRow(path=path, level=u.level if u else None, code=u.code if u else None, name=u.name if u else None,
                   a=_side_result(oa, da) if oa else None, b=_side_result(ob, db) if ob else None,
                   error_a=ea, error_b=eb, changed=bool(diffs), tiers=diffs)


_LEVEL_WORD = {"commune": ("xã", "commune(s)"), "district": ("huyện", "district(s)")}


def _summary(counts: list[TierCount], errors: int) -> out.Label:
    vi, en = [], []
    for c in counts:
        w = _LEVEL_WORD.get(c.level, ("đơn vị", "unit(s)"))
        if c.lost:
            vi.append(f"{c.lost} {w[0]} mất mức {c.tier}")
            en.append(f"{c.lost} {w[1]} lose {c.tier}")
        if c.gained:
            vi.append(f"{c.gained} {w[0]} đạt thêm mức {c.tier}")
            en.append(f"{c.gained} {w[1]} gain {c.tier}")
        for n, side in ((c.only_a, "A"), (c.only_b, "B")):
            if n:
                vi.append(f"{n} {w[0]}: mức {c.tier} chỉ có theo phía {side}")
                en.append(f"{n} {w[1]}: tier {c.tier} exists only under side {side}")
        if c.other_changes:
            vi.append(f"{c.other_changes} {w[0]} đổi trạng thái khác ở mức {c.tier}")
            en.append(f"{c.other_changes} {w[1]} change status otherwise on {c.tier}")
    if not vi:
        vi, en = ["không đơn vị nào đổi trạng thái"], ["no unit changes status"]
    if errors:
        vi.append(f"{errors} hồ sơ không đánh giá được ở một phía")
        en.append(f"{errors} dossier(s) could not be evaluated on one side")
    return out.Label(vi="; ".join(vi), en="; ".join(en))


def compare(paths: list[str], a: Side, b: Side, *, varies: str, drop_unknown: bool = False) -> CompareResult:
    """Evaluate every dossier under A and under B and report which units change status and why."""
    files = dossier_paths(paths)
    rows = [compare_one(p, a, b, drop_unknown) for p in files]
    tally: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        if r.a is None or r.b is None:
            continue
        statuses_a = {**r.a.tiers, **({"recognition": r.a.recognition} if r.a.recognition else {})}
        statuses_b = {**r.b.tiers, **({"recognition": r.b.recognition} if r.b.recognition else {})}
        for tid in list(statuses_a) + [t for t in statuses_b if t not in statuses_a]:
            sa, sb = statuses_a.get(tid), statuses_b.get(tid)
            k = tally.setdefault((r.level, tid), [0, 0, 0, 0, 0, 0])
            if sa == sb:
                k[3] += 1
            elif sb is None:
                k[4] += 1
            elif sa is None:
                k[5] += 1
            elif sb == "met":
                k[0] += 1
            elif sa == "met":
                k[1] += 1
            else:
                k[2] += 1
    counts = [TierCount(level=lv, tier=t, gained=g, lost=lo, other_changes=o, unchanged=u, only_a=xa, only_b=xb)
              for (lv, t), (g, lo, o, u, xa, xb) in tally.items()]
    errors = sum(1 for r in rows if r.error_a or r.error_b)

    def side_out(s: Side) -> SideOut:
        return SideOut(ruleset=s.ruleset, overlay=s.overlay, as_of=s.as_of, description=s.describe())

    return CompareResult(schema=SCHEMA, varies=varies, a=side_out(a), b=side_out(b), units=rows, counts=counts,
                         units_total=len(rows), units_changed=sum(1 for r in rows if r.changed),
                         units_with_errors=errors, summary=_summary(counts, errors))
