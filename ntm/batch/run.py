"""Run a batch: read the input, evaluate every unit (isolated workers by default), summarise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ntm.batch import pool, summary
from ntm.batch.inputs import BatchInput, Entry, Job, read_input
from ntm.batch.work import Settings
from ntm.errors import NtmInputError


def catalogue(ruleset: str | None, overlay: str | None) -> dict:
    """Facts a table header may name: those of the chosen ruleset (or every shipped one) and the overlay's."""
    from ntm.criteria.loader import all_shipped, load_ruleset
    from ntm.criteria.overlay import load_overlay

    lrs = [load_ruleset(ruleset)] if ruleset else sorted(all_shipped(), key=lambda lr: lr.ruleset.id, reverse=True)
    facts: dict = {}
    for lr in lrs:
        for fid, f in lr.ruleset.fact_map().items():
            facts.setdefault(fid, f)
    if overlay:
        err = None
        for lr in lrs:
            try:
                lo = load_overlay(overlay, lr.ruleset)
            except NtmInputError as e:
                err = e
                continue
            for f in lo.overlay.facts:
                facts.setdefault(f.id, f)
            err = None
            break
        if err is not None:
            raise err
    return facts


MAX_TIMEOUT = 86_400.0  # a day per unit: anything longer is a typo, and `inf` would overflow the deadline


def check_timeout(value: float, field: str = "--timeout") -> float:
    """A usable per-unit timeout: finite, more than 0 and at most a day (`nan` would never expire and spin)."""
    import math

    if not isinstance(value, (int, float)) or math.isnan(value) or not 0 < value <= MAX_TIMEOUT:
        raise NtmInputError.single(f"{value} is not a usable timeout", field=field,
                                   expected=f"seconds, more than 0 and at most {MAX_TIMEOUT:g}",
                                   hint="e.g. --timeout 30")
    return float(value)


def run_batch(path: str, *, ruleset: str | None = None, overlay: str | None = None, as_of: dt.date | None = None,
              sheet: str | None = None, jobs: int = 1, timeout: float = 30.0, isolate: bool = True,
              previous: str | None = None, progress: Callable[[int], Callable[[], None]] | None = None) -> dict:
    """The batch document ("ntm-batch/1"). `progress(total)` returns a callback called once per finished unit."""
    if jobs < 1:
        raise NtmInputError.single(f"{jobs} is not a number of workers", field="--jobs", expected="1 or more")
    check_timeout(timeout)
    prev = None
    if previous is not None:
        from ntm.batch.previous import load_previous

        prev = {"doc": load_previous(previous), "path": previous}
    inp: BatchInput = read_input(path, catalogue(ruleset, overlay), sheet=sheet)
    settings = Settings(ruleset, overlay, as_of, inp.columns)
    tick = progress(inp.rows) if progress else None
    entries: list = []  # (index, row, file, code) of jobs, RowErrors as they are: the document's order

    def stream():
        for item in inp.items:
            if isinstance(item, Job):
                entries.append(Entry(item.index, item.row, item.file, item.code))
                yield item
            else:
                entries.append(item)
                if tick:
                    tick()

    if isolate:
        results = pool.run_isolated(stream(), settings, jobs, timeout, tick)
    else:
        results = pool.run_in_process(stream(), settings, tick)
    if inp.kind == "folder":
        results = one_per_unit(entries, results)
    return summary.build(inp, entries, results, compare=prev, laws=_laws(ruleset))


def one_per_unit(entries: list, results: dict) -> dict:
    """A folder holding the same unit twice (codes compared normalised) would count it twice: the second file is
    an error naming the first, as a repeated row is in a table. Files are taken in name order."""
    from ntm.batch.inputs import shown_code
    from ntm.criteria.codes import unit_code

    out, seen, kept, orphans = dict(results), {}, [], {}
    for e in entries:
        if not isinstance(e, Entry):
            continue
        kind, rec = out.get(e.index, (None, None))
        if kind != "ok":
            continue
        key = (rec.get("level"), unit_code(rec.get("code")))
        if key in seen:
            out[e.index] = ("error", f"{e.file}: unit.code: {rec.get('level')} {shown_code(rec.get('code'))} is "
                                     f"already in {seen[key]}")
            lab = rec["_labels"]  # a worker sends each label once: keep the dropped record's for the others
            orphans.setdefault(lab["scope"], {}).update(lab["labels"])
            continue
        seen[key] = e.file
        kept.append(e.index)
    for i in kept:
        rec = out[i][1]
        lab = rec["_labels"]
        if lab["scope"] in orphans:
            extra = orphans.pop(lab["scope"])
            out[i] = ("ok", {**rec, "_labels": {"scope": lab["scope"], "labels": {**extra, **lab["labels"]}}})
    return out


def _laws(ruleset: str | None) -> dict:
    """ruleset file sha256 -> Ruleset, for what the summary takes from the law (bands, tier order): the named
    ruleset and every shipped one (units are judged by the one in force on their date)."""
    from ntm.criteria.loader import all_shipped, load_ruleset

    lrs = all_shipped() + ([load_ruleset(ruleset)] if ruleset else [])
    return {lr.sha256: lr.ruleset for lr in lrs}
