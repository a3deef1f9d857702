"""The fuzz campaign (tests/fuzz/campaign.py): a short deterministic run in CI, the >= 100,000-input run behind
`--runslow`, and one test per failure the campaign found and we fixed (reproducers in corpus/campaign/)."""

from __future__ import annotations

import os
from pathlib import Path

import campaign
import pytest

from ntm.errors import NtmInputError

CORPUS = Path(__file__).parent / "corpus" / "campaign"


# the CI run: every reader, a few seconds in all (the workbook and HTTP readers cost most per input)
CI_COUNTS = {"dossier": 30, "overlay": 14, "ruleset": 3, "workbook": 2, "scenario": 14, "costs": 14, "targets": 14,
             "csv": 20, "xlsx": 8, "records": 8, "register": 6, "keys": 14, "http": 6}


def test_every_reader_has_a_ci_share():
    assert set(CI_COUNTS) == {r.name for r in campaign.READERS}


def test_short_campaign_has_no_failures(tmp_path, monkeypatch):
    """~150 derandomised inputs over every reader, in this process, sharing one set of seed files: no
    traceback, no internal error, no hang, no partial write. A failure prints the table and the reproducers."""
    monkeypatch.setenv("NTM_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "env").mkdir()
    env = campaign.Env(tmp_path / "env")
    try:
        results = {name: campaign.run_reader(name, 0, n, 20261202, tmp_path / "failures", 10.0, 0, env=env)
                   for name, n in CI_COUNTS.items()}
    finally:
        env.close()
    failures = [(r, f) for r, s in results.items() for f in s["failures"]]
    assert all(results[r]["inputs"] == n for r, n in CI_COUNTS.items())
    assert not failures, campaign.table(results) + f"\nsaved under {tmp_path / 'failures'}\n" + repr(failures)


@pytest.mark.slow
def test_full_campaign_has_no_failures(tmp_path):
    """The long run: NTM_FUZZ_INPUTS inputs (default 100,000) in child processes, one in 500 through the CLI."""
    inputs = int(os.environ.get("NTM_FUZZ_INPUTS", "100000"))
    code = campaign.main(["--inputs", str(inputs), "--seed", os.environ.get("NTM_FUZZ_SEED", "1"), "--jobs", "2",
                          "--save", str(tmp_path / "failures")])
    assert code == 0, f"failing inputs saved under {tmp_path / 'failures'}"


def test_classification_counts_a_crash_a_hang_and_a_partial_write(tmp_path, monkeypatch):
    """The campaign itself can fail: a reader that raises, hangs or leaves a file is counted as such."""
    env = campaign.Env(tmp_path)
    inp = campaign.Input(b"x", ".yaml")

    def crash(env, path, inp):
        raise KeyError("boom")

    def slow(env, path, inp):  # busy: hangs are counted in CPU seconds
        import time

        t = time.process_time()
        while time.process_time() - t < 5:
            pass

    def partial(env, path, inp):
        raise campaign.PartialWrite("left out.yaml")

    def refuse(env, path, inp):
        raise NtmInputError.single("bad", file=str(path))

    for run, want in ((crash, "internal"), (slow, "hang"), (partial, "partial"), (refuse, "user")):
        r = campaign.Reader("t", None, run, 1.0)
        assert campaign.classify(env, r, tmp_path / "x", inp, 0.2)[0] == want


# ---------------------------------------------------------------- failures the campaign found (fixed here)


@pytest.mark.parametrize("reader", ["load_public", "load_private"])
def test_a_key_naming_an_unsupported_curve_is_a_clear_error(reader):
    """A damaged EC key whose curve OID cryptography does not support raised UnsupportedAlgorithm (exit 3)."""
    from ntm.audit import keys

    with pytest.raises(NtmInputError) as e:
        getattr(keys, reader)(str(CORPUS / ("keys-unsupported-curve" + (".pub" if reader == "load_public" else ".key"))))
    assert "not a" in e.value.render() and "keys-unsupported-curve" in e.value.render()


def test_an_api_body_that_cannot_be_decoded_is_a_json_error(tmp_path):
    """A body with bytes that are not UTF-8 made FastAPI answer 400 {"detail": ...}, outside the API's
    documented error shape; unknown paths too. Both now carry {error, message, problems}."""
    from fastapi.testclient import TestClient

    from ntm.web.app import create_app
    from ntm.web.config import WebConfig

    with TestClient(create_app(WebConfig(register=str(tmp_path / "r.sqlite"), workers=0))) as c:
        r = c.post("/api/v1/record", content=(CORPUS / "http-undecodable-body.json").read_bytes(),
                   headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500
        body = r.json()
        assert body["error"] == "invalid_input" and body["message"] and body["problems"], body
        r = c.get("/api/v1/no-such-thing")
        assert r.status_code == 404 and r.json()["error"] == "not_found" and r.json()["message"]
        assert c.get("/no-such-page").status_code == 404


@pytest.mark.parametrize("name", ["workbook-bad-sheet-xml.xlsx", "workbook-cell-ref-past-zzz.xlsx"])
def test_a_damaged_authoring_workbook_is_a_clear_error_and_writes_nothing(tmp_path, name):
    """Sheet XML openpyxl cannot parse (ParseError) or a cell reference past column ZZZ (ValueError) surfaced
    while the rows were read, as an internal error of `ntm rulesets import`."""
    from fuzzkit import assert_clean_refusal, run_main

    run = run_main("rulesets", "import", CORPUS / name, "-o", tmp_path / "out.yaml", cwd=tmp_path)
    assert_clean_refusal(run)
    assert "this sheet cannot be read" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_price_too_large_for_exact_arithmetic_is_refused_at_its_line(tmp_path):
    """per_unit: 10**400 read fine, then the plan's cost could not be written with 6 decimals (InvalidOperation,
    exit 3). A price is now at most 10**12, refused at its file:line."""
    from fuzzkit import COMMUNE, OVERLAY, assert_clean_refusal, run_main

    run = run_main("plan", COMMUNE, "-t", "standard", "--overlay", OVERLAY, "--costs", CORPUS / "costs-huge-price.yaml",
                   "-f", "json", "-o", tmp_path / "plan.json", cwd=tmp_path)
    assert_clean_refusal(run)
    assert "costs-huge-price.yaml:78: costs.solid_waste_treated_pct.per_unit" in run.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- found, owned by another branch
# Reproducers the campaign saved for failures fixed on the branch named in the file (h-<owner>-...), now merged:
# each must be a clean refusal or a correct answer.
OWNED = sorted((CORPUS / "owned").glob("h-*"))


@pytest.mark.parametrize("path", OWNED, ids=[p.name for p in OWNED])
def test_owned_reproducers_are_refused_clearly_and_quickly(tmp_path, path):
    from fuzzkit import COMMUNE, OVERLAY, assert_clean_refusal, run_ntm

    if path.suffix == ".sqlite":  # a copy: reading a register may still write to it (owned by h-trust too)
        import shutil

        db = tmp_path / "register.sqlite"
        shutil.copy(path, db)
        args = ["register", "verify", "--db", db]
    elif path.suffix == ".xlsx" and "batch" in path.name:
        args = ["batch", path, "--no-isolation", "-f", "json", "-o", tmp_path / "o.json"]
    elif path.suffix == ".xlsx":
        args = ["rulesets", "import", path, "-o", tmp_path / "o.yaml"]
    elif "overlay" in path.name:
        args = ["evaluate", COMMUNE, "--overlay", path]
    else:
        args = ["evaluate", path, "--overlay", OVERLAY]
    run = run_ntm(*args, cwd=tmp_path, timeout=10)
    assert run.code in (0, 1, 2) and "Traceback" not in run.stderr and "internal error" not in run.stderr, run
    if run.code == 2:
        assert_clean_refusal(run)
