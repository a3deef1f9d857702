"""Engine calls for the server, in worker processes with a deadline (the batch's crash and hang isolation).

A request's evaluation runs in one of N long-lived worker processes. A worker that dies (a segfault in the C
engine, an abrupt exit) or overruns the deadline fails only the request it was serving: it is killed, a fresh
worker takes its place and the server goes on. Workers are started with the "spawn" method: the server has
threads, and a forked child of a threaded process can inherit a lock some other thread held.

`InProcess` is the same interface without isolation (``ntm serve --workers 0``): every call on the calling
thread, one engine run at a time.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ntm.batch.pool import death_reason
from ntm.errors import EngineFailure, NtmInputError, Problem


class EngineCrashed(EngineFailure):
    """The worker serving this call died; the call was not completed."""


class EngineTimeout(EngineFailure):
    """The call overran its deadline; its worker was stopped."""


class Busy(EngineFailure):
    """No worker became free in time (the server is overloaded)."""


def _worker(conn) -> None:
    """Receive (function, args, kwargs); send ("ok", value) | ("input", [problem dicts]) | ("failure", text)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server handles Ctrl-C and stops its workers
    from ntm.batch.pool import _quiet_crashes
    from ntm.batch.work import mark_worker

    _quiet_crashes()
    mark_worker()  # the batch's test hook (NTM_FAULT) is honoured in these workers too
    import ntm.web.service  # noqa: F401 - pay the imports once, before the first request

    conn.send(("ready", None))  # a call's deadline starts after this: start-up is not the evaluation's time
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        fn, args, kwargs = msg
        try:
            reply = ("ok", fn(*args, **kwargs))
        except NtmInputError as e:
            reply = ("input", [p.as_dict() for p in e.problems])
        except EngineFailure as e:
            reply = ("failure", str(e))
        except RecursionError:
            reply = ("input", [{"message": "input is nested too deeply"}])
        except Exception as e:  # noqa: BLE001 - a bug on one request must not cost the worker
            reply = ("failure", f"internal error: {type(e).__name__}: {e}")
        try:
            conn.send(reply)
        except Exception as e:  # noqa: BLE001 - an unpicklable result is this call's failure
            conn.send(("failure", f"internal error: result could not be returned ({type(e).__name__})"))


def _unwrap(reply):
    kind, payload = reply
    if kind == "ok":
        return payload
    if kind == "input":
        raise NtmInputError([Problem(**p) for p in payload])
    raise EngineFailure(payload)


class _Slot:
    def __init__(self, ctx):
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker, args=(child,), daemon=True, name="ntm-engine")
        self.proc.start()
        child.close()
        self.conn = parent
        self.ready = False

    def wait_ready(self, limit: float) -> None:
        """The first call on a fresh worker waits for its imports (seconds on a busy machine), then its own
        deadline starts."""
        if self.ready:
            return
        if not self.conn.poll(limit):
            raise EOFError
        kind, _ = self.conn.recv()
        if kind != "ready":
            raise EOFError
        self.ready = True

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(2)
        self.kill()


class Isolated:
    """A pool of engine worker processes; `call(fn, *args)` runs a module-level function in one of them."""

    def __init__(self, workers: int, timeout: float = 30.0, wait: float = 60.0):
        self.timeout = timeout
        self.wait = wait  # how long a request may queue for a free worker
        self._ctx = mp.get_context("spawn")
        self._free: queue.Queue[_Slot] = queue.Queue()
        self._all: list[_Slot] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(max(1, workers)):
            self._add()

    @property
    def workers(self) -> int:
        return len(self._all)

    def _add(self) -> None:
        slot = _Slot(self._ctx)
        with self._lock:
            self._all.append(slot)
        self._free.put(slot)

    def _replace(self, slot: _Slot) -> None:
        slot.kill()
        with self._lock:
            if slot in self._all:
                self._all.remove(slot)
            closed = self._closed
        if not closed:
            self._add()

    def call(self, fn: Callable, *args, timeout: float | None = None, **kwargs) -> Any:
        try:
            slot = self._free.get(timeout=self.wait)
        except queue.Empty:
            raise Busy(f"no engine worker became free within {self.wait:g} s; try again later") from None
        limit = self.timeout if timeout is None else timeout
        try:
            slot.wait_ready(max(120.0, limit))
            slot.conn.send((fn, args, kwargs))
            deadline = time.monotonic() + limit
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._replace(slot)
                    slot = None
                    raise EngineTimeout(f"the evaluation took longer than {limit:g} s and was stopped")
                if slot.conn.poll(min(left, 0.5)):
                    reply = slot.conn.recv()
                    break
                if not slot.proc.is_alive() and not slot.conn.poll():
                    raise EOFError
        except (EOFError, OSError, BrokenPipeError):
            if slot is not None:
                slot.proc.join(5)
                reason = death_reason(slot.proc.exitcode)
                self._replace(slot)
                slot = None
                raise EngineCrashed(reason) from None
            raise
        finally:
            if slot is not None and slot in self._all:
                self._free.put(slot)
        return _unwrap(reply)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slots = list(self._all)
            self._all.clear()
        for s in slots:
            s.stop()


class InProcess:
    """No isolation: fastest, but a crash in the C engine ends the server. One engine run at a time."""

    workers = 0

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout
        self._lock = threading.Lock()

    def call(self, fn: Callable, *args, timeout: float | None = None, **kwargs) -> Any:
        with self._lock:
            return fn(*args, **kwargs)

    def close(self) -> None:
        pass
