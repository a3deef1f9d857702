"""The register under real parallel processes and crashes: nothing lost, the chain never corrupted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ntm.audit import keys, record, register
from ntm.audit.canonical import sha256_hex
from ntm.engine.evaluate import evaluate, gather
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
GOOD = str(ROOT / "examples" / "xa-dat-chuan.yaml")
OVERLAY = str(ROOT / "examples" / "overlays" / "tinh-minh-hoa.yaml")
WRITERS = 6
EACH = 10

# a writer: announce readiness, wait for the common start signal, then append its records one by one
CHILD = r"""
import json, os, sys, time
from ntm.audit import register
db, batch, ready, go = sys.argv[1:5]
files = json.load(open(batch, encoding="utf-8"))
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
for f in files:
    with open(f, encoding="utf-8") as fh:
        a = register.add(db, fh.read(), f)
    print(a.seq, a.new, flush=True)
"""

# a writer that dies inside an open transaction, after inserting (but before committing) an entry
CRASH = r"""
import os, sys
from ntm.audit import register
conn = register.connect(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO entries(decision_id, unit_code, unit_name, level, year, ruleset, highest_tier, "
             "record_sha256, record, prev_hash, entry_hash) VALUES ('half', 'x', 'x', 'commune', 2024, 'r', NULL, "
             "'h', '{}', 'p', 'e')")
conn.execute("UPDATE anchor SET count = count + 1")
os._exit(1)
"""


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """WRITERS*EACH distinct records of one decision (each signed by another council) + one shared record."""
    d = tmp_path_factory.mktemp("records")
    inputs = gather(GOOD, None, OVERLAY)
    base = record.build(inputs, evaluate(inputs, trace=True))
    key = str(d / "council.key")
    keys.generate(key)
    files = []
    for i in range(WRITERS * EACH + 40):
        f = d / f"r{i:03d}.json"
        f.write_text(record.to_text(keys.sign(base, key, f"Hội đồng {i:03d}")), encoding="utf-8")
        files.append(str(f))
    shared = d / "shared.json"
    shared.write_text(record.to_text(base), encoding="utf-8")
    return files, str(shared)


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def test_parallel_writers_lose_nothing_and_keep_the_chain(tmp_path, variants):
    files, shared = variants
    db = str(tmp_path / "reg.sqlite")
    go = str(tmp_path / "go")
    procs, readies = [], []
    for w in range(WRITERS):
        batch = tmp_path / f"batch{w}.json"
        # every writer also tries to add the same shared record: it must end up registered exactly once
        mine = [shared] + files[w * EACH:(w + 1) * EACH]
        batch.write_text(json.dumps(mine), encoding="utf-8")
        ready = str(tmp_path / f"ready{w}")
        readies.append(ready)
        procs.append(_spawn(CHILD, db, str(batch), ready, go))
    deadline = time.time() + 120
    while not all(os.path.exists(r) for r in readies):
        assert time.time() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    Path(go).touch()  # all writers start appending at once
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(out.split("\n"))
    check = register.verify(db)
    assert check.ok, check.problems
    assert check.count == WRITERS * EACH + 1
    rows = register.rows(db)
    assert [r["seq"] for r in rows] == list(range(1, WRITERS * EACH + 2))
    signers = sorted(json.loads(register.get(db, str(r["seq"]))["record"]).get("signature", {}).get("signer") or ""
                     for r in rows)
    assert signers == sorted([""] + [f"Hội đồng {i:03d}" for i in range(WRITERS * EACH)])
    new_flags = [line.split()[1] for out in outs for line in out if line]
    assert new_flags.count("True") == WRITERS * EACH + 1 and new_flags.count("False") == WRITERS - 1
    c = sqlite3.connect(db)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()


def test_crash_inside_a_transaction_leaves_the_register_valid(tmp_path, variants):
    files, _ = variants
    db = str(tmp_path / "reg.sqlite")
    for f in files[:3]:
        register.add(db, Path(f).read_text(encoding="utf-8"))
    head = register.verify(db).head
    p = _spawn(CRASH, db)
    p.communicate(timeout=120)
    assert p.returncode == 1
    check = register.verify(db)
    assert check.ok and check.count == 3 and check.head == head  # the half-written entry was rolled back
    a = register.add(db, Path(files[3]).read_text(encoding="utf-8"))
    assert a.new and a.seq == 4 and register.verify(db).ok


def _count(db: str) -> int:
    try:
        return len(register.rows(db))
    except NtmInputError:  # the first writer has not created the schema yet
        return 0


def test_writer_killed_mid_append_leaves_a_valid_chain(tmp_path, variants):
    files, _ = variants
    db = str(tmp_path / "reg.sqlite")
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(files), encoding="utf-8")
    go = tmp_path / "go"
    go.touch()
    p = _spawn(CHILD, db, str(batch), str(tmp_path / "ready"), str(go))
    deadline = time.time() + 120
    while True:  # kill it (SIGKILL: no cleanup at all) once it is busy appending
        assert time.time() < deadline and p.poll() is None, p.communicate()
        if os.path.exists(db) and _count(db) >= 5:
            break
        time.sleep(0.01)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=60)
    check = register.verify(db)
    assert check.ok, check.problems
    assert 5 <= check.count < len(files)
    a = register.add(db, Path(files[-1]).read_text(encoding="utf-8"))
    assert a.seq == check.count + 1 and register.verify(db).ok


# ---------------------------------------------------------------- writers killed at random (#15, #16)

# a writer that says "ACK <record_sha256>" only after add() returned: that is what "acknowledged" means
ACKER = r"""
import hashlib, json, sys
from ntm.audit import register
db, batch = sys.argv[1:3]
for f in json.load(open(batch, encoding="utf-8")):
    with open(f, encoding="utf-8") as fh:
        text = fh.read()
    register.add(db, text, f)
    print("ACK", hashlib.sha256(text.encode("utf-8")).hexdigest(), flush=True)
"""


def _signed_variants(d: Path, n: int) -> list[str]:
    inputs = gather(GOOD, None, OVERLAY)
    base = record.build(inputs, evaluate(inputs, trace=True))
    key = str(d / "storm.key")
    keys.generate(key)
    files = []
    for i in range(n):
        f = d / f"s{i:04d}.json"
        f.write_text(record.to_text(keys.sign(base, key, f"Hội đồng {i:04d}")), encoding="utf-8")
        files.append(str(f))
    return files


def _kill_storm(tmp_path: Path, writers: int, each: int, seed: int, rounds: int = 6) -> None:
    """`writers` processes append `each` records apiece; some are SIGKILLed at random moments and restarted on
    what they had not acknowledged. Nothing acknowledged may be lost, in the file or in its main part alone."""
    import random

    rnd = random.Random(seed)
    files = _signed_variants(tmp_path, writers * each)
    db = str(tmp_path / "storm.sqlite")
    todo = {w: files[w * each:(w + 1) * each] for w in range(writers)}
    acked: set[str] = set()
    sha_of = {f: sha256_hex(Path(f).read_text(encoding="utf-8")) for f in files}
    kills = 0
    for round_ in range(rounds):
        live = {w: fs for w, fs in todo.items() if fs}
        if not live:
            break
        procs = {}
        for w, fs in live.items():
            batch = tmp_path / f"storm{w}-{round_}.json"
            batch.write_text(json.dumps(fs), encoding="utf-8")
            procs[w] = _spawn(ACKER, db, str(batch))
        last = round_ == rounds - 1
        victims = [] if last else [w for w in procs if rnd.random() < 0.5]
        start = time.time()
        for w in victims:  # each victim dies after a random moment, most likely mid-append
            time.sleep(max(0.0, start + rnd.uniform(0.5, 0.5 + each * 0.08) - time.time()))
            if procs[w].poll() is None:
                os.kill(procs[w].pid, signal.SIGKILL)
                kills += 1
        for w, p in procs.items():
            out, err = p.communicate(timeout=300)
            assert p.returncode in (0, -signal.SIGKILL), (seed, err[-2000:])
            done = {line.split()[1] for line in out.splitlines() if line.startswith("ACK ")}
            acked |= done
            todo[w] = [f for f in todo[w] if sha_of[f] not in done]
    assert not any(todo.values()), (seed, {w: len(fs) for w, fs in todo.items()})
    assert kills > 0, seed
    check = register.verify(db)
    assert check.ok, (seed, check.problems)
    stored = _stored(db)
    assert acked <= stored and len(stored) == writers * each, (seed, len(acked - stored))
    main_only = tmp_path / "main-only.sqlite"  # the main file without its -wal: still everything acknowledged
    main_only.write_bytes(Path(db).read_bytes())
    assert acked <= _stored(str(main_only)) and register.verify(str(main_only)).ok


def _stored(db: str) -> set[str]:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {sha256_hex(t) for (t,) in c.execute("SELECT record FROM entries")}
    finally:
        c.close()


def test_random_kills_lose_no_acknowledged_entry(tmp_path):
    _kill_storm(tmp_path, writers=4, each=5, seed=20261202, rounds=2)  # small for CI; 8 x 50 with --runslow


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_kills_lose_no_acknowledged_entry_8x50(tmp_path, seed):
    _kill_storm(tmp_path, writers=8, each=50, seed=seed)
