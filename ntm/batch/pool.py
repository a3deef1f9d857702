"""Crash-isolated engine workers: each unit is evaluated in a worker process with a deadline.

A worker that dies (a segfault or SIGFPE in the C engine, an abrupt exit) or overruns the per-unit timeout fails
only the unit it was on; it is replaced by a fresh worker and the batch goes on. Results are keyed by the job's
input index, so the output order never depends on scheduling.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from multiprocessing.connection import wait

from ntm.batch.inputs import Job
from ntm.batch.work import Settings, mark_worker, new_batch, run_job

Result = tuple[str, object]  # ("ok", record) | ("error", reason) | ("lost", reason): its worker died or overran


def run_in_process(jobs: Iterable[Job], settings: Settings, on_done: Callable[[], None] | None = None) -> dict[int, Result]:
    """No isolation (--no-isolation): fastest start, but a crash in the C engine ends the whole batch."""
    new_batch()
    out = {}
    for job in jobs:
        out[job.index] = _safe(job, settings)
        if on_done:
            on_done()
    return out


def _safe(job: Job, settings: Settings) -> Result:
    try:
        return run_job(job, settings)
    except Exception as e:  # noqa: BLE001 - a bug on one unit must not cost the others
        return "error", f"internal error: {type(e).__name__}: {e}"


def _worker(conn, settings: Settings, inherited=(), parent: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops its workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: a TERM just ends a worker
    die_with_parent(parent)
    for c in inherited:  # the parent's ends of every pipe (its own too): without this a worker whose parent was
        c.close()        # killed waits on its pipe forever, since it holds the other end open itself
    _quiet_crashes()
    mark_worker()
    new_batch()
    from ntm.engine.malloc import tune

    tune()  # each durable session allocates ~12 KB per pattern: without this glibc maps and unmaps it every unit
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for job in chunk:  # one answer per unit, as soon as it is done: a crash costs only the unit it was on
            conn.send((job.index, _safe(job, settings)))


def _quiet_crashes() -> None:
    """A crash is reported once, by the parent, as that unit's error: no Python fault dump on the user's
    terminal (pytest and -X faulthandler enable it) and no core file per crashed unit in their folder."""
    import faulthandler

    faulthandler.disable()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ImportError, ValueError, OSError):
        pass


def die_with_parent(parent: int | None) -> None:
    """Linux: the kernel kills this worker when the batch process dies, however it dies (SIGKILL included)."""
    if parent is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class _Slot:
    def __init__(self, ctx, settings: Settings, others=()):
        parent, child = ctx.Pipe(duplex=True)
        forked = ctx.get_start_method() == "fork"  # a spawned worker inherits no descriptors (and none pickle)
        inherited = [parent, *others] if forked else []
        self.proc = ctx.Process(target=_worker, args=(child, settings, inherited, os.getpid()), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.jobs: deque[Job] = deque()  # the units given and not yet answered, in the worker's order
        self.deadline = 0.0

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    def give(self, jobs: list[Job], timeout: float) -> None:
        self.jobs.extend(jobs)
        self.deadline = time.monotonic() + timeout
        try:
            self.conn.send(jobs)
        except OSError:
            pass  # the worker just died: its sentinel fires and the unit it was on is reported as crashed

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        return f"engine crashed (signal {-exitcode}, {name}); the unit was not evaluated"
    return f"engine worker exited unexpectedly (exit code {exitcode}); the unit was not evaluated"


CHUNK = 8  # units per message to a worker: fewer round trips, while a crash still costs only its own unit


def run_isolated(jobs: Iterable[Job], settings: Settings, workers: int = 1, timeout: float = 30.0,
                 on_done: Callable[[], None] | None = None, chunk: int = CHUNK) -> dict[int, Result]:
    """Evaluate every job in `workers` processes; crashes and timeouts become that unit's error.

    Units go to the workers in chunks and come back one by one. A worker that dies or overruns the timeout
    (counted from its last answer) fails the unit it was on; the rest of its chunk goes to a fresh worker.
    """
    source = iter(jobs)
    pending: deque[Job] = deque()  # read ahead by at most a chunk per worker: the input is read as needed
    results: dict[int, Result] = {}

    def take(n: int) -> list[Job]:
        while len(pending) < n:
            nxt = next(source, None)
            if nxt is None:
                break
            pending.append(nxt)
        return [pending.popleft() for _ in range(min(n, len(pending)))]

    first = take(1)
    if not first:
        return results
    pending.extendleft(first)
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    slots: list[_Slot] = []
    for _ in range(max(1, workers)):
        slots.append(_Slot(ctx, settings, [s.conn for s in slots]))

    def finish(index: int, result: Result) -> None:
        results[index] = result
        if on_done:
            on_done()

    def fail_current(i: int, reason: str) -> None:
        """The slot's worker is gone or stopped: its current unit fails, the others are given out again."""
        s = slots[i]
        finish(s.jobs.popleft().index, ("lost", reason))
        pending.extendleft(reversed(s.jobs))
        s.jobs.clear()
        s.kill()

    def assign(i: int) -> None:
        s = slots[i]
        if s.busy:
            return
        # chunks grow from 1 to `chunk` as units finish: a small batch still spreads over every worker
        batch = take(max(1, min(chunk, 1 + len(results) // (2 * len(slots)))))
        if batch:
            if not s.proc.is_alive():  # died between units: a fresh worker takes its place
                s.kill()
                slots[i] = s = _Slot(ctx, settings, [x.conn for x in slots if x is not s])
            s.give(batch, timeout)

    done = False
    try:
        for i in range(len(slots)):
            assign(i)
        while any(s.busy for s in slots):
            busy = [s for s in slots if s.busy]
            wait_for = min(s.deadline for s in busy) - time.monotonic()
            ready = set(wait([x for s in busy for x in (s.conn, s.proc.sentinel)], timeout=max(0.0, wait_for)))
            now = time.monotonic()
            for i, s in enumerate(slots):
                if not s.busy:
                    continue
                if s.conn in ready or s.proc.sentinel in ready:
                    try:
                        while s.busy and s.conn.poll():
                            index, result = s.conn.recv()
                            job = s.jobs.popleft()
                            if job.index != index:  # pragma: no cover - the worker answers in order
                                raise RuntimeError(f"worker answered unit {index} for {job.index}")
                            finish(index, result)
                            s.deadline = time.monotonic() + timeout
                        if s.busy and not s.proc.is_alive() and not s.conn.poll():
                            raise EOFError
                    except (EOFError, OSError):
                        s.proc.join(5)
                        fail_current(i, death_reason(s.proc.exitcode))
                elif now >= s.deadline:
                    fail_current(i, f"timed out after {timeout:g} s; the engine was stopped")
                assign(i)
        for job in [*pending, *source]:  # a safety net: never reached while workers can be started
            results[job.index] = ("lost", "not evaluated (no engine worker)")
        done = True
    finally:
        if done:  # finished: let each worker end by itself
            for s in slots:
                try:
                    if s.proc.is_alive():
                        s.conn.send(None)
                except (OSError, ValueError):
                    pass
            for s in slots:
                s.proc.join(2)
        for s in slots:  # interrupted (Ctrl-C, SIGTERM) or stuck: stop them now, none is left behind
            s.kill()
    return results


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
