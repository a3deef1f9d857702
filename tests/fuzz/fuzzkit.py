"""Helpers for the fuzz suite: a private ruleset cache, bounded child processes, clean-failure checks.

CI runs a modest, derandomised number of examples (deterministic); `--runslow` adds random runs with thousands.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OVERLAY = EXAMPLES / "overlays" / "tinh-minh-hoa.yaml"
COMMUNE = EXAMPLES / "xa-thieu-hai-tieu-chi.yaml"

CHILD_TIMEOUT = 20  # seconds: any single command on hostile input must end well within this
CHILD_MEMORY = 1536 * 1024 * 1024  # bytes of address space for a child (RLIMIT_AS)

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                       HealthCheck.data_too_large]}


def ci(n: int) -> settings:
    """Deterministic settings for the default (CI) run."""
    return settings(max_examples=n, derandomize=True, database=None, **_COMMON)


def long(n: int) -> settings:
    """Random settings for `--runslow`: many more examples (NTM_FUZZ_EXAMPLES overrides), a new seed each run."""
    return settings(max_examples=int(os.environ.get("NTM_FUZZ_EXAMPLES", n)), derandomize=False, database=None,
                    **_COMMON)


def _limit_child() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


@dataclass
class Run:
    args: tuple
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_ntm(*args, cwd=None, env=None, timeout=CHILD_TIMEOUT) -> Run:
    """The real entry point in a child process with bounded time and memory (a timeout is a failed Run)."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    t0 = time.monotonic()
    try:
        p = subprocess.run([sys.executable, "-m", "ntm", *map(str, args)], capture_output=True, text=True,
                           check=False, timeout=timeout, cwd=cwd or ROOT, env=full_env, preexec_fn=_limit_child,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return Run(tuple(args), -1, "", f"TIMEOUT after {timeout}s", time.monotonic() - t0)
    return Run(tuple(args), p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def run_main(*args, cwd=None) -> Run:
    """The same entry point in this process (fast; for inputs that cannot hang): exit code, stdout, stderr."""
    import contextlib
    import io

    from ntm.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["ntm", *map(str, args)]
    code = 0
    t0 = time.monotonic()
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    return Run(tuple(args), code, out.getvalue(), err.getvalue(), time.monotonic() - t0)


def assert_clean_refusal(run: Run, *, want: int = 2) -> None:
    """Exit code `want`, an `error:` message naming the problem, no traceback, no internal error."""
    shown = f"args={run.args}\nexit={run.code}\nstderr={run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr + run.stdout, shown
    assert "internal error" not in run.stderr, shown
    assert run.code == want, shown
    if want == 2:
        assert run.stderr.startswith("error:"), shown


def leftovers(folder: Path) -> list[str]:
    """Temporary files an interrupted/failed atomic write would leave behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".ntm-") or p.name.endswith(".tmp"))
