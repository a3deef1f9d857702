"""Evaluate one batch job through the engine and reduce the Outcome to the batch's per-unit record.

This is what a worker process runs; it never decides anything itself: every status comes from `evaluate()`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace

from ntm.batch.inputs import Job
from ntm.errors import NtmError, NtmInputError, Problem


@dataclass(frozen=True)
class Settings:
    """What every unit of a batch is evaluated with (sent once to each worker)."""

    ruleset: str | None = None
    overlay: str | None = None
    as_of: dt.date | None = None
    columns: dict = field(default_factory=dict)  # table input: dossier field path -> the user's header


def gather_job(job: Job, s: Settings):
    """`gather()` for a file or a table row (rows are validated by the same dossier model as files)."""
    from ntm.criteria.dossier import dossier_from_source
    from ntm.criteria.loader import LoadedRuleset, load_ruleset
    from ntm.criteria.overlay import load_overlay, merge
    from ntm.criteria.yamlsrc import Source
    from ntm.engine.evaluate import Inputs, gather

    if job.file is not None:
        return gather(job.file, s.ruleset, s.overlay, s.as_of)
    ld = dossier_from_source(Source(job.dossier, {}, f"row {job.row}"))
    d = ld.dossier
    if s.ruleset:
        lr = load_ruleset(s.ruleset)
    else:
        lr = _in_force(s.as_of or d.assessment.effective_date, d.unit.level)
    lo = load_overlay(s.overlay, lr.ruleset) if s.overlay else None
    if lo is not None and (lo.overlay.facts or lo.overlay.indicators):
        lr = LoadedRuleset(merge(lr.ruleset, lo.overlay), lr.path, lr.sha256)
    return Inputs(ld, lr, lo)


_IN_FORCE: dict = {}


def _in_force(date: dt.date, level: str):
    """ruleset_for_date, memoised for the batch (it re-reads ruleset headers on every call)."""
    from ntm.criteria.loader import ruleset_for_date

    key = (date, level)
    if key not in _IN_FORCE:
        if len(_IN_FORCE) > 4096:
            _IN_FORCE.clear()
        _IN_FORCE[key] = ruleset_for_date(date, level)
    return _IN_FORCE[key]


def run_job(job: Job, s: Settings) -> tuple[str, object]:
    """("ok", record) or ("error", reason): a bad dossier is that unit's error, never the batch's."""
    _fault(job)
    try:
        inp = gather_job(job, s)
        rec = evaluate_record(inp, s.as_of)
    except NtmInputError as e:
        return "error", "; ".join(describe(p, job, s.columns) for p in e.problems)
    except NtmError as e:
        return "error", f"engine failure: {e}"
    except RecursionError:
        return "error", "input is nested too deeply"
    return "ok", rec


def evaluate_record(inp, as_of: dt.date | None = None) -> dict:
    """`record(evaluate(inp))`, without building the Outcome (~370 objects a commune) the record does not need:
    the same validation and engine run (`decide`), the record read straight from the engine's verdict."""
    from ntm.engine.evaluate import decide

    dec = decide(inp, as_of=as_of)
    return record_from_verdict(inp, dec.res, dec.obs, dec.run.verdict)


def describe(p: Problem, job: Job, columns: dict) -> str:
    """A problem in the user's terms: 'row 7, column Thu nhập…: …' for rows, 'file:line: …' for files."""
    if job.file is not None:
        return p.render()
    field = (p.field or "").removesuffix(".value")
    where = f"row {job.row}"
    if field in columns:
        where += f", column {columns[field]}"
    elif field:
        where += f", {field}"
    return f"{where}: " + replace(p, file=None, line=None, field=None).render()


def record(o) -> dict:
    """The per-unit record of the batch JSON (see ntm.batch.summary for the whole shape)."""
    tiers = {t.id: t.status for t in o.tiers}
    criteria, failed, gaps, labels = {}, {}, [], {}
    for t in o.tiers:
        labels[f"t:{t.id}"] = {"vi": t.label.vi, "en": t.label.en}
        criteria[t.id] = {"met": t.criteria_met, "total": t.criteria_total, "unmet": list(t.unmet_criteria),
                          "undecided": list(t.undecided_criteria)}
        codes = []
        for c in t.criteria:
            if c.status != "met":
                labels[f"c:{t.id}:{c.number}"] = {"vi": c.name.vi, "en": c.name.en}
            for ind in c.indicators:
                if ind.status != "fail":
                    continue
                codes.append(ind.code)
                labels[f"i:{t.id}:{ind.code}"] = {"vi": ind.label.vi, "en": ind.label.en}
                for cond in ind.conditions:
                    if cond.status == "fail":
                        gaps.append({"tier": t.id, "criterion": c.number, "indicator": ind.code, "fact": cond.fact,
                                     "op": cond.op, "observed": cond.observed, "threshold": cond.threshold,
                                     "gap": cond.gap, "unit": cond.unit})
        failed[t.id] = codes
    scope = f"{o.ruleset.sha256}/{o.overlay.sha256 if o.overlay else ''}"
    new = {k: v for k, v in labels.items() if (scope, k) not in _SENT}
    _SENT.update((scope, k) for k in new)
    u = o.unit
    return {
        "code": u.code, "name": u.name, "level": u.level, "district": u.district, "province": u.province,
        "region": u.region, "status": "ok", "highest_tier": o.summary.highest_tier, "tiers": tiers,
        "criteria": criteria, "failed_indicators": failed, "decided_by_provisional": o.summary.decided_by_provisional,
        "gaps": gaps, "_labels": {"scope": scope, "labels": new},
        "_ruleset": {"id": o.ruleset.id, "version": o.ruleset.version, "sha256": o.ruleset.sha256},
        "_overlay": None if o.overlay is None else {"id": o.overlay.id, "sha256": o.overlay.sha256,
                                                    "title": {"vi": o.overlay.title.vi, "en": o.overlay.title.en},
                                                    "province": o.overlay.province,
                                                    "illustrative": o.overlay.illustrative},
    }


def record_from_verdict(inp, res, obs: dict, verdict: dict) -> dict:
    """Exactly what `record(outcome.build(...))` gives, read from the verdict (tests/test_batch_record.py)."""
    from fractions import Fraction

    from ntm.engine.outcome import number

    facts = inp.ruleset.ruleset.fact_map()
    tiers, criteria, failed, gaps, labels = {}, {}, {}, [], {}
    highest, by_prov_any = None, False
    for tier in res.tiers:
        if tier.kind == "recognition":
            continue
        T = tier.id
        labels[f"t:{T}"] = {"vi": tier.label.vi, "en": tier.label.en}
        ts = verdict.get(("tier", T), "indeterminate")
        tiers[T] = ts
        if ts == "met":
            highest = T
        met, unmet, undecided, codes = 0, [], [], []
        prov_pass, n_fail, fail_all_prov = False, 0, True
        for crit in tier.criteria:
            cs = verdict.get(("crit", T, crit.number), "indeterminate")
            if cs == "met":
                met += 1
            else:
                (unmet if cs == "not_met" else undecided).append(crit.number)
                labels[f"c:{T}:{crit.number}"] = {"vi": crit.name.vi, "en": crit.name.en}
            for ind in crit.indicators:
                for c in ind.conditions:
                    st = verdict.get(("cond", T, ind.code, c.index))
                    if st is None:
                        continue
                    provisional = c.threshold.provenance.status == "provisional"
                    if st == "pass":
                        prov_pass = prov_pass or provisional
                    elif st == "fail":
                        n_fail += 1
                        fail_all_prov = fail_all_prov and provisional
                if verdict.get(("ind", T, ind.code)) != "fail":
                    continue
                codes.append(ind.code)
                labels[f"i:{T}:{ind.code}"] = {"vi": ind.label.vi, "en": ind.label.en}
                for c in ind.conditions:
                    if verdict.get(("cond", T, ind.code, c.index)) != "fail":
                        continue
                    o = obs[c.fact]
                    th = c.threshold.value
                    if isinstance(th, bool):
                        gap = None
                    else:
                        diff = Fraction(th) - o.value if c.op in (">=", ">") else o.value - Fraction(th)
                        gap = number(abs(diff))
                    gaps.append({"tier": T, "criterion": crit.number, "indicator": ind.code, "fact": c.fact,
                                 "op": c.op, "observed": o.value if isinstance(o.value, bool) else number(o.value),
                                 "threshold": th if isinstance(th, bool) or th is None else number(th),
                                 "gap": gap, "unit": facts[c.fact].unit})
        criteria[T] = {"met": met, "total": len(tier.criteria), "unmet": unmet, "undecided": undecided}
        failed[T] = codes
        if ts == "met":
            by_prov_any = by_prov_any or prov_pass
        elif ts == "not_met":
            by_prov_any = by_prov_any or (n_fail > 0 and fail_all_prov)
    lo = inp.overlay
    scope = f"{inp.ruleset.sha256}/{lo.sha256 if lo else ''}"
    new = {k: v for k, v in labels.items() if (scope, k) not in _SENT}
    _SENT.update((scope, k) for k in new)
    rs = inp.ruleset.ruleset
    u = inp.dossier.dossier.unit
    return {
        "code": u.code, "name": u.name, "level": u.level, "district": u.district, "province": u.province,
        "region": res.region, "status": "ok", "highest_tier": highest, "tiers": tiers,
        "criteria": criteria, "failed_indicators": failed, "decided_by_provisional": by_prov_any,
        "gaps": gaps, "_labels": {"scope": scope, "labels": new},
        "_ruleset": {"id": rs.id, "version": rs.version, "sha256": inp.ruleset.sha256},
        "_overlay": None if lo is None else {"id": lo.overlay.overlay.id, "sha256": lo.sha256,
                                             "title": {"vi": lo.overlay.overlay.title.vi,
                                                       "en": lo.overlay.overlay.title.en},
                                             "province": lo.overlay.overlay.province,
                                             "illustrative": lo.overlay.overlay.illustrative},
    }


# labels already sent by this process in this batch: each worker sends a criterion's name once, not per unit
_SENT: set = set()


def new_batch() -> None:
    _SENT.clear()


FAULT_ENV = "NTM_FAULT"


def _fault(job: Job) -> None:
    """TEST HOOK (only read inside batch workers): NTM_FAULT="crash:CODE,hang:CODE2,fpe:CODE3,exit:CODE4,
    kill:CODE5" makes the worker segfault / loop forever / raise SIGFPE / exit abruptly / be SIGKILLed (as by the
    out-of-memory killer) on that unit, the way a fault in the C engine would. Never set it in production."""
    spec = os.environ.get(FAULT_ENV)
    if not spec or not _in_worker:
        return
    code = job.code if job.code is not None else (os.path.splitext(os.path.basename(job.file or ""))[0])
    for part in spec.split(","):
        kind, _, target = part.partition(":")
        if target != code:
            continue
        import signal

        if kind == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif kind == "fpe":
            os.kill(os.getpid(), signal.SIGFPE)
        elif kind == "exit":
            os._exit(70)
        elif kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "hang":
            while True:
                pass


_in_worker = False


def mark_worker() -> None:
    global _in_worker
    _in_worker = True
