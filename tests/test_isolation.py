"""Crash isolation: a segfault, SIGFPE, abrupt exit or hang while evaluating one unit fails only that unit."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
import time

import pytest

from ntm.batch.pool import death_reason
from ntm.batch.run import run_batch
from ntm.batch.work import FAULT_ENV

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OVERLAY = os.path.join(ROOT, "examples", "overlays", "tinh-minh-hoa.yaml")
spec = importlib.util.spec_from_file_location("make_example", os.path.join(ROOT, "examples", "batch", "make_example.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)
CODES = ["99101", "99102", "99103", "99104", "99105"]


@pytest.fixture(scope="module")
def five(tmp_path_factory):
    path = tmp_path_factory.mktemp("iso") / "five.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(mk.table()[:6])
    return str(path)


@pytest.fixture(scope="module")
def clean(five):
    return run_batch(five, overlay=OVERLAY, isolate=False)


def _faulty(monkeypatch, five, spec_, **kw):
    monkeypatch.setenv(FAULT_ENV, spec_)
    return run_batch(five, overlay=OVERLAY, **kw)


@pytest.mark.parametrize("kind,signal_text", [("crash", "signal 11, SIGSEGV"), ("fpe", "signal 8, SIGFPE"),
                                              ("exit", "exit code 70")])
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_crashing_unit_fails_alone(monkeypatch, five, clean, kind, signal_text, jobs):
    doc = _faulty(monkeypatch, five, f"{kind}:99102", jobs=jobs)
    assert [u["code"] for u in doc["units"]] == ["99101", "99103", "99104", "99105"]
    (e,) = doc["errors"]
    assert e["code"] == "99102" and e["row"] == 3 and signal_text in e["reason"]
    assert "not evaluated" in e["reason"]
    # the others are exactly what a clean run gives (the replacement worker is fresh and correct)
    assert doc["units"] == [u for u in clean["units"] if u["code"] != "99102"]


def test_a_hanging_unit_times_out_and_the_batch_goes_on(monkeypatch, five, clean):
    t0 = time.monotonic()
    doc = _faulty(monkeypatch, five, "hang:99104", jobs=2, timeout=4)
    assert time.monotonic() - t0 < 60
    (e,) = doc["errors"]
    assert e["code"] == "99104" and "timed out after 4 s" in e["reason"]
    assert doc["units"] == [u for u in clean["units"] if u["code"] != "99104"]


def test_several_faults_and_replacements(monkeypatch, five, clean):
    doc = _faulty(monkeypatch, five, "crash:99101,hang:99103,fpe:99105", jobs=1, timeout=4)
    assert [e["code"] for e in doc["errors"]] == ["99101", "99103", "99105"]
    assert doc["units"] == [u for u in clean["units"] if u["code"] in ("99102", "99104")]


def test_the_fault_hook_is_inert_outside_workers(monkeypatch, five, clean):
    doc = _faulty(monkeypatch, five, "crash:99102", isolate=False)  # would kill pytest if it fired here
    assert doc["units"] == clean["units"]


def test_the_cli_reports_a_crash_and_exits_cleanly(five):
    env = {**os.environ, FAULT_ENV: "crash:99103"}
    r = subprocess.run([sys.executable, "-m", "ntm", "batch", five, "--overlay", OVERLAY, "-f", "json"],
                       capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and '"code": "99103"' in r.stdout and "SIGSEGV" in r.stdout


def test_death_reasons():
    assert death_reason(-11) == "engine crashed (signal 11, SIGSEGV); the unit was not evaluated"
    assert "exit code 3" in death_reason(3)


def test_bad_rows_and_crashes_together_lose_nothing(monkeypatch, tmp_path):
    path = tmp_path / "all.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(mk.table())
    doc = _faulty(monkeypatch, str(path), "crash:99110,exit:99112", jobs=2)
    rows = sorted([u["row"] for u in doc["units"]] + [e["row"] for e in doc["errors"]])
    assert rows == list(range(2, 2 + len(mk.COMMUNES)))
    assert [e["code"] for e in doc["errors"]] == ["99107", "99110", "99112"]
    bad, crash, gone = (e["reason"] for e in doc["errors"])
    assert "row 8, column" in bad and "SIGSEGV" in crash and "exited unexpectedly (exit code 70)" in gone
