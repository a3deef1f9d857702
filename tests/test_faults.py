"""Faults around the run, not the law: output I/O failures, interrupted writes, kills, hangs, lost workers.

Every output I/O failure is a clear exit-2 error naming the user's file (never a temp file), the old file
survives and no temp file is left; a killed batch leaves no process; a killed worker costs only its units."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ntm.fileout import TMP_TAG, temp_name, write_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(ROOT, "examples")
DOSSIER = os.path.join(EX, "xa-dat-chuan.yaml")
OVERLAY = os.path.join(EX, "overlays", "tinh-minh-hoa.yaml")
TABLE = os.path.join(EX, "batch", "xa-tinh-minh-hoa.csv")


def ntm(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "ntm", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NTM_PROJECT": "none", **(env or {})}, check=False, **kw)


def leftovers(folder) -> list[str]:
    return [n for n in os.listdir(folder) if TMP_TAG in n or n.startswith(".ntm-")]


def assert_clear(r, output: str):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert output in r.stderr and TMP_TAG not in r.stderr and ".tmp" not in r.stderr, r.stderr


# ------------------------------------------------------------------ 1. one writer, clear I/O errors


def test_missing_folder_names_the_output(tmp_path):
    out = str(tmp_path / "no-such" / "x.json")
    r = ntm("evaluate", DOSSIER, "-f", "json", "-o", out)
    assert_clear(r, out)
    assert "does not exist" in r.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_is_a_clear_error():
    r = ntm("evaluate", DOSSIER, "-f", "json", "-o", "/dev/full")
    assert_clear(r, "/dev/full")
    assert "no space" in r.stderr


def _limit(nbytes):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


@pytest.mark.parametrize("fmt,name", [("json", "out.json"), ("xlsx", "out.xlsx")])
def test_file_size_limit_keeps_the_old_file(tmp_path, fmt, name):
    """EFBIG from the kernel (json) and from lxml under openpyxl (xlsx: SerialisationError IO_EFBIG)."""
    out = tmp_path / name
    out.write_bytes(b"old content")
    r = subprocess.run([sys.executable, "-m", "ntm", "batch", TABLE, "--overlay", OVERLAY, "-f", fmt, "-o", str(out),
                        "--force", "--no-isolation"], capture_output=True, text=True, timeout=120,
                       preexec_fn=_limit(4096), env={**os.environ, "NTM_PROJECT": "none"}, check=False)
    assert_clear(r, str(out))
    assert "file-size limit" in r.stderr and "Exception ignored" not in r.stderr
    assert out.read_bytes() == b"old content"
    assert leftovers(tmp_path) == []


def test_immutable_or_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    old = folder / "r.md"
    old.write_text("old", encoding="utf-8")
    locked = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode == 0 \
        if shutil.which("chattr") else False
    if not locked:
        folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("x")
            probe.unlink()
            pytest.skip("this user can write into a read-only folder and chattr is not available")
        except OSError:
            pass
        r = ntm("evaluate", DOSSIER, "-f", "markdown", "-o", str(old), "--force")
        assert_clear(r, str(old))
        assert "permission denied" in r.stderr
        assert old.read_text(encoding="utf-8") == "old"
        assert leftovers(folder) == []
    finally:
        if locked:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
        folder.chmod(0o755)


def test_mode_follows_the_umask(tmp_path):
    out = tmp_path / "o.json"
    r = subprocess.run([sys.executable, "-m", "ntm", "evaluate", DOSSIER, "-f", "json", "-o", str(out)],
                       capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o027),
                       env={**os.environ, "NTM_PROJECT": "none"}, check=False)
    assert r.returncode == 0, r.stderr
    assert (out.stat().st_mode & 0o777) == 0o640


def test_every_command_writes_through_the_one_writer():
    """No private temp-file-and-rename left in the commands (they all go through ntm.fileout)."""
    import pathlib

    for p in list(pathlib.Path(ROOT, "ntm", "commands").glob("*.py")) + [pathlib.Path(ROOT, "ntm", "cli.py")]:
        text = p.read_text(encoding="utf-8")
        assert "mkstemp" not in text and "os.replace" not in text, p


# ------------------------------------------------------------------ 2. --record only for a run that succeeded


def test_record_is_not_written_when_the_output_fails(tmp_path):
    rec = tmp_path / "r.json"
    r = ntm("evaluate", DOSSIER, "--overlay", OVERLAY, "-f", "json", "-o", str(tmp_path / "nope" / "o.json"),
            "--record", str(rec))
    assert r.returncode == 2
    assert not rec.exists() and leftovers(tmp_path) == []


def test_record_and_output_are_written_on_success(tmp_path):
    rec, out = tmp_path / "r.json", tmp_path / "o.json"
    r = ntm("evaluate", DOSSIER, "--overlay", OVERLAY, "-f", "json", "-o", str(out), "--record", str(rec))
    assert r.returncode == 0, r.stderr
    assert json.loads(rec.read_text(encoding="utf-8"))["outcome"] and json.loads(out.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ 3. temp files of killed writers


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temp_of_a_dead_writer_is_removed(tmp_path):
    out = tmp_path / "o.json"
    dead = temp_name(str(out), _dead_pid())
    live = temp_name(str(out), os.getppid())  # a running process: its write may be in progress
    other = temp_name(str(tmp_path / "other.json"), _dead_pid())
    for p in (dead, live, other):
        open(p, "w").close()
    assert os.path.basename(dead).startswith(".o.json" + TMP_TAG)
    write_file("{}\n", str(out), force=False)
    assert out.read_text() == "{}\n"
    assert not os.path.exists(dead) and os.path.exists(live) and os.path.exists(other)


def test_folder_batch_ignores_temp_files(tmp_path):
    shutil.copy(DOSSIER, tmp_path / "xa.yaml")
    shutil.copy(DOSSIER, temp_name(str(tmp_path / "xa2.yaml"), _dead_pid()))
    r = ntm("batch", str(tmp_path), "--overlay", OVERLAY, "-f", "json", "--no-isolation")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["units"] == 1 and not doc["errors"]


# ------------------------------------------------------------------ 4. dangling symlink at -o


def test_dangling_symlink_needs_force(tmp_path):
    link = tmp_path / "o.json"
    link.symlink_to(tmp_path / "target-not-there")
    r = ntm("evaluate", DOSSIER, "-f", "json", "-o", str(link))
    assert r.returncode == 2 and "file exists" in r.stderr
    assert link.is_symlink() and not (tmp_path / "target-not-there").exists()
    r = ntm("batch", TABLE, "--overlay", OVERLAY, "-f", "json", "-o", str(link), "--no-isolation")
    assert r.returncode == 2 and "file exists" in r.stderr and link.is_symlink()
    r = ntm("evaluate", DOSSIER, "-f", "json", "-o", str(link), "--force")
    assert r.returncode == 0 and not link.is_symlink() and json.loads(link.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ 5. FIFOs given as input files


@pytest.mark.parametrize("opt", ["--sign-key", "--overlay", "--ruleset", "dossier"])
def test_fifo_inputs_are_refused_without_hanging(tmp_path, opt):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    if opt == "dossier":
        args = ["evaluate", str(fifo)]
    elif opt == "--sign-key":
        args = ["evaluate", DOSSIER, "--record", str(tmp_path / "r.json"), "--sign-key", str(fifo)]
    else:
        args = ["evaluate", DOSSIER, opt, str(fifo)]
    r = ntm(*args)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr


def test_fifo_trusted_key_is_refused(tmp_path):
    rec = tmp_path / "r.json"
    assert ntm("evaluate", DOSSIER, "--overlay", OVERLAY, "--record", str(rec)).returncode == 0
    fifo = tmp_path / "pipe.pub"
    os.mkfifo(fifo)
    r = ntm("verify", str(rec), "--trusted-key", str(fifo))
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stdout + r.stderr


# ------------------------------------------------------------------ 6. timeouts


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-3", "1e12"])
def test_unusable_timeouts_are_refused(value):
    r = ntm("batch", TABLE, "--timeout", value, "-f", "json")
    assert r.returncode == 2 and "--timeout" in r.stderr and "internal" not in r.stderr, r.stderr


# ------------------------------------------------------------------ 7. no process outlives a killed batch


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 3000-row table: long enough to be killed mid-batch."""
    spec = importlib.util.spec_from_file_location("make_example", os.path.join(EX, "batch", "make_example.py"))
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    rows = mk.table()
    header, body = rows[0], [r for r in rows[1:] if r[0] != "99107"]
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(3000):
            r = list(body[i % len(body)])
            r[0] = str(100000 + i)
            w.writerow(r)
    return str(path)


def group(pgid: int) -> list[int]:
    """Live processes of a process group (from /proc: psutil is not needed)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        if int(f[2]) == pgid and f[0] != "Z":
            out.append(int(d))
    return out


def _start(big, out, errfile, lang="vi"):
    return subprocess.Popen([sys.executable, "-m", "ntm", "batch", big, "--overlay", OVERLAY, "-j", "2", "-f", "json",
                             "-o", out, "--force", "--lang", lang], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=errfile, env={**os.environ, "NTM_PROJECT": "none"})


def _wait_workers(p, n=3, limit=60.0):
    t0 = time.monotonic()
    while len(group(p.pid)) < n and time.monotonic() - t0 < limit:
        time.sleep(0.05)
    assert len(group(p.pid)) >= n, "the batch did not start its workers"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig,code,lang", [(signal.SIGKILL, -9, "vi"), (signal.SIGTERM, 143, "vi"),
                                           (signal.SIGINT, 130, "en")])
def test_a_killed_batch_leaves_no_process(big, tmp_path, sig, code, lang):
    out = tmp_path / "o.json"
    out.write_text("old", encoding="utf-8")
    with open(tmp_path / "err.txt", "w") as err:
        p = _start(big, str(out), err, lang)
        try:
            _wait_workers(p)
            time.sleep(0.5)
            os.kill(p.pid, sig)
            rc = p.wait(timeout=30)
            t0 = time.monotonic()
            while group(p.pid) and time.monotonic() - t0 < 10:
                time.sleep(0.1)
            left = group(p.pid)
        finally:
            for q in group(p.pid):
                os.kill(q, signal.SIGKILL)
    assert left == [], "processes outlived the batch"
    assert rc == code
    text = (tmp_path / "err.txt").read_text(encoding="utf-8")
    assert "Traceback" not in text and "Aborted" not in text
    if sig != signal.SIGKILL:
        assert ("interrupted; no output written" if lang == "en" else "đã dừng") in text, text
    assert out.read_text(encoding="utf-8") == "old" and leftovers(tmp_path) == []


# ------------------------------------------------------------------ 8. a killed worker fails only its units


def test_a_killed_worker_is_named_in_every_output(tmp_path):
    env = {"NTM_FAULT": "kill:99103"}
    r = ntm("batch", TABLE, "--overlay", OVERLAY, "-j", "2", "-f", "json", env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["lost"] == ["99103"]
    assert [e["code"] for e in doc["errors"]] == ["99107", "99103"] or \
        sorted(e["code"] for e in doc["errors"]) == ["99103", "99107"]
    assert len(doc["units"]) == 10 and "SIGKILL" in next(e for e in doc["errors"] if e["code"] == "99103")["reason"]
    for lang, words in (("vi", "dừng bất thường"), ("en", "crashed, was killed or timed out")):
        t = ntm("batch", TABLE, "--overlay", OVERLAY, "--lang", lang, env=env)
        assert words in t.stdout and "99103" in t.stdout, t.stdout
        c = ntm("batch", TABLE, "--overlay", OVERLAY, "--lang", lang, "-f", "csv", env=env)
        assert any(line.split(",")[2] == "99103" and "SIGKILL" in line for line in c.stdout.splitlines())
        x = tmp_path / f"o-{lang}.xlsx"
        assert ntm("batch", TABLE, "--overlay", OVERLAY, "--lang", lang, "-f", "xlsx", "-o", str(x),
                   env=env).returncode == 0
        import openpyxl

        cells = [str(c.value) for row in openpyxl.load_workbook(x).worksheets[0].iter_rows() for c in row]
        assert any(words in c for c in cells) and "99103" in cells
        batch_json = tmp_path / "b.json"
        batch_json.write_text(r.stdout, encoding="utf-8")
        for fmt in ("html", "md"):  # the province reports say it at the top, in the report's language
            rep = ntm("report", str(batch_json), "-f", fmt, "--lang", lang)
            assert rep.returncode == 0, rep.stderr
            head = rep.stdout.split("99107")[0] if fmt == "md" else rep.stdout
            assert words in rep.stdout and "99103" in head, rep.stdout[:3000]


def test_a_clean_batch_loses_nothing():
    doc = json.loads(ntm("batch", TABLE, "--overlay", OVERLAY, "-f", "json", "--no-isolation").stdout)
    assert doc["summary"]["lost"] == []


# ------------------------------------------------------------------ 9. ntm report on a damaged batch JSON


@pytest.fixture(scope="module")
def batch_json(tmp_path_factory):
    r = ntm("batch", TABLE, "--overlay", OVERLAY, "-f", "json", "--no-isolation")
    return json.loads(r.stdout)


@pytest.mark.parametrize("damage", [
    lambda d: d["units"].__setitem__(1, 7),
    lambda d: d["summary"].__setitem__("districts", 5),
    lambda d: d["units"][1]["criteria"]["standard"].__setitem__("unmet", 3),
    lambda d: d.__setitem__("input", "x"),
])
def test_report_on_a_damaged_batch_json(tmp_path, batch_json, damage):
    d = json.loads(json.dumps(batch_json))
    damage(d)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    for fmt in ("docx", "html"):
        r = ntm("report", str(path), "-f", fmt, "-o", str(tmp_path / f"r.{fmt}"))
        assert r.returncode in (0, 2) and "internal error" not in r.stderr, r.stderr
        if r.returncode == 2:
            assert str(path) in r.stderr


# ------------------------------------------------------------------ 10. interrupted writes: old or complete new


WRITER = """
import sys
from ntm.fileout import write_file
out, n = sys.argv[1], 0
while True:
    n += 1
    body = '{"n": %d, "pad": "%s"}\\n' % (n, "x" * 4_000_000)  # 4 MB: kills land mid-write as well
    write_file(body, out, force=True)
    print(n, flush=True)
"""


def test_kills_at_random_times_leave_the_old_or_a_complete_new_file(tmp_path):
    out = tmp_path / "o.json"
    out.write_text('{"n": 0}\n', encoding="utf-8")
    rng = random.Random(15)
    for _ in range(6):
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True)
        p.stdout.readline()  # one complete write done
        time.sleep(rng.uniform(0.0, 0.3))
        p.send_signal(rng.choice([signal.SIGKILL, signal.SIGINT, signal.SIGTERM]))
        p.wait(timeout=30)
        p.stdout.close()
        doc = json.loads(out.read_text(encoding="utf-8"))  # never a partial file
        assert doc["n"] >= 1 and (doc["n"] == 0 or len(doc["pad"]) == 4_000_000)
    # temp files of killed writers are removed by the next write of the same file
    write_file("{}\n", str(out), force=True)
    assert leftovers(tmp_path) == []


def test_record_killed_mid_write_leaves_no_partial_record(tmp_path, monkeypatch):
    """A failure between the staged write and the rename (here: the rename of the second of two files) leaves
    both targets as they were."""
    from ntm.errors import NtmInputError
    from ntm.fileout import write_all

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("old a")
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(NtmInputError) as e:
        write_all([("new a", str(a), None), ("new b", str(b), "--record")], force=True)
    assert str(a) in e.value.render()
    assert a.read_text() == "old a" and not b.exists() and leftovers(tmp_path) == []
