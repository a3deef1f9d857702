"""Tampering and trust (#16, #15): what an attacker with a record, a register, a cache or a dossier can do."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from ntm.audit import keys, record, register
from ntm.audit import verify as V
from ntm.audit.canonical import digest
from ntm.engine.evaluate import evaluate, gather
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
GOOD = str(EX / "xa-dat-chuan.yaml")
DISTRICT = str(EX / "huyen-vi-du.yaml")


def cli(*args):
    from typer.testing import CliRunner

    from ntm.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=True)


def run_main(*args) -> int:
    """The real entry point, in process (errors -> exit 2, internal errors -> exit 3)."""
    import sys

    from ntm.cli import main

    old = sys.argv
    sys.argv = ["ntm", *args]
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    finally:
        sys.argv = old
    return 0


def make(dossier: str, overlay: str | None = OVERLAY) -> dict:
    inputs = gather(dossier, None, overlay)
    return record.build(inputs, evaluate(inputs, trace=True))


def reseal(rec: dict) -> dict:
    """A careful forger: recompute every hash after editing."""
    rec = json.loads(json.dumps(rec))
    rec.pop("signature", None)
    inp = rec["inputs"]
    inp["dossier_sha256"] = digest(inp["dossier"])
    for c in inp["communes"].values():
        c["sha256"] = digest(c["dossier"])
    rec["decision_id"] = record.decision_id(inp)
    rec["outcome_sha256"] = digest(rec["outcome"])
    rec["record_sha256"] = record.body_sha256(rec)
    return rec


@pytest.fixture(scope="module")
def good() -> dict:
    return make(GOOD)


@pytest.fixture(scope="module")
def district() -> dict:
    return make(DISTRICT)


# ---------------------------------------------------------------- 1. the headline is bound to the content


def _false_headline(rec: dict, both: bool) -> dict:
    forged = json.loads(json.dumps(rec))
    for table in ([forged, forged["outcome"]] if both else [forged]):
        table["unit"]["code"] = "12345"
        table["unit"]["name"] = "Xã Khác"
        table["assessment_year"] = 2019
        table["assessment_date"] = "2019-06-01"
    return reseal(forged)


@pytest.mark.parametrize("both", [False, True], ids=["headline-only", "headline-and-outcome"])
def test_resealed_record_claiming_another_unit_and_year_is_not_reproduced(good, both, tmp_path):
    forged = _false_headline(good, both)
    assert record.tampering(good) == []
    v = V.verify(forged)
    assert v.status == "TAMPERED", v
    assert any("unit.code says '12345', but the embedded dossier says '99001'" in p for p in v.problems)
    assert any("assessment_year says 2019" in p for p in v.problems)
    db = str(tmp_path / "reg.sqlite")
    with pytest.raises(NtmInputError, match="headline does not match"):
        register.add(db, record.to_text(forged))
    assert not os.path.exists(db) or register.rows(db) == []  # never indexed under the false unit


def test_register_verify_names_a_stored_record_with_a_false_headline(good, tmp_path):
    db = str(tmp_path / "reg.sqlite")
    register.add(db, record.to_text(good))
    forged = record.to_text(_false_headline(good, True))
    row = register.get(db, "1")
    row.update(record=forged, unit_code="12345", unit_name="Xã Khác", year=2019,
               record_sha256=json.loads(forged)["record_sha256"], decision_id=json.loads(forged)["decision_id"])
    row["entry_hash"] = register.entry_hash(row["prev_hash"], row)
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("DROP TRIGGER entries_no_update")
    c.execute("UPDATE entries SET record=?, unit_code=?, unit_name=?, year=?, record_sha256=?, decision_id=?, "
              "entry_hash=? WHERE seq=1", (row["record"], row["unit_code"], row["unit_name"], row["year"],
                                           row["record_sha256"], row["decision_id"], row["entry_hash"]))
    c.execute("UPDATE anchor SET head=?", (row["entry_hash"],))
    c.close()
    problems = register.verify(db).problems
    assert any("headline does not match" in p for p in problems), problems


def test_headline_mismatch_is_worded_in_vietnamese(good, tmp_path):
    f = tmp_path / "forged.json"
    f.write_text(record.to_text(_false_headline(good, False)), encoding="utf-8")
    r = cli("verify", str(f))
    assert r.exit_code == 2 and "BỊ SỬA" in r.output and "hồ sơ đánh giá đi kèm ghi '99001'" in r.output, r.output


# ---------------------------------------------------------------- 6. forged records and corrupt entries: exit 2


def test_forged_record_with_an_empty_commune_key_is_a_clear_error(district, tmp_path):
    forged = json.loads(json.dumps(district))
    comm = forged["inputs"]["communes"]
    first = sorted(comm)[0]
    comm[""] = comm.pop(first)
    f = tmp_path / "forged.json"
    f.write_text(record.to_text(reseal(forged)), encoding="utf-8")
    assert run_main("verify", str(f)) == 2
    with pytest.raises(NtmInputError, match="names no file"):
        record.unpack(reseal(forged), str(tmp_path / "work"))


def test_register_show_on_a_corrupt_entry_is_a_clear_error(good, tmp_path, capsys):
    db = str(tmp_path / "reg.sqlite")
    register.add(db, record.to_text(good))
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("DROP TRIGGER entries_no_update")
    c.execute("UPDATE entries SET record='{\"outcome\": 7' WHERE seq=1")
    c.close()
    assert run_main("register", "show", "1", "--db", db) == 2
    err = capsys.readouterr().err
    assert "seq 1" in err or "entry 1" in err, err
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("UPDATE entries SET record='{\"outcome\": {\"summary\": 3}}' WHERE seq=1")
    c.close()
    assert run_main("register", "show", "1", "--db", db) == 2


# ---------------------------------------------------------------- 7. trust is not integrity


@pytest.mark.parametrize("lang,untrusted,unsigned", [
    ("en", "signed by an untrusted key", "NOT SIGNED"),
    ("vi", "ký bởi khoá không được tin cậy", "CHƯA KÝ"),
])
def test_untrusted_or_missing_signature_is_reported_as_such_never_as_tampered(good, tmp_path, lang, untrusted,
                                                                             unsigned):
    mine, theirs = str(tmp_path / "council.key"), str(tmp_path / "forger.key")
    keys.generate(mine)
    keys.generate(theirs)
    by_forger = tmp_path / "forger.json"
    by_forger.write_text(record.to_text(keys.sign(reseal(good), theirs, "Tự xưng")), encoding="utf-8")
    plain = tmp_path / "plain.json"
    plain.write_text(record.to_text(good), encoding="utf-8")
    r = cli("verify", str(by_forger), "--trusted-key", mine + ".pub", "--lang", lang)
    assert r.exit_code == 2 and untrusted in r.output and "TAMPERED" not in r.output and "BỊ SỬA" not in r.output, \
        r.output
    r = cli("verify", str(plain), "--trusted-key", mine + ".pub", "--lang", lang)
    assert r.exit_code == 2 and unsigned in r.output and "TAMPERED" not in r.output and "BỊ SỬA" not in r.output, \
        r.output
    # genuinely altered content signed by the trusted key stays TAMPERED
    signed = keys.sign(good, mine, "Hội đồng")
    altered = json.loads(json.dumps(signed))
    altered["outcome"]["summary"]["highest_tier"] = "model"
    f = tmp_path / "altered.json"
    f.write_text(record.to_text(altered), encoding="utf-8")
    r = cli("verify", str(f), "--trusted-key", mine + ".pub", "--lang", lang)
    assert r.exit_code == 2 and ("TAMPERED" if lang == "en" else "BỊ SỬA") in r.output, r.output
    # re-sealed after signing (hashes recomputed, old signature kept): the signature no longer matches
    resealed = {**reseal({**signed, "assessment_year": signed["assessment_year"]}), "signature": signed["signature"]}
    resealed["outcome"] = {**resealed["outcome"]}
    edited = json.loads(json.dumps(resealed))
    edited["inputs"]["dossier"]["facts"]["plan_management_rules"] = False
    edited = {**reseal(edited), "signature": signed["signature"]}
    assert V.verify(edited, trusted=keys.load_public(mine + ".pub")).status == "TAMPERED"


def test_signed_record_without_a_trusted_key_says_the_key_was_not_checked(good, tmp_path):
    k = str(tmp_path / "k.key")
    keys.generate(k)
    v = V.verify(keys.sign(good, k, "Ai đó"))
    assert v.status == "REPRODUCED" and any("not checked" in n for n in v.notes)


# ---------------------------------------------------------------- 3. the register: WAL, read-only readers


def _journal(db: str) -> str:
    c = sqlite3.connect(db)
    try:
        return c.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        c.close()


def test_losing_the_wal_file_loses_no_acknowledged_entry(good, tmp_path):
    db = str(tmp_path / "reg.sqlite")
    other = make(GOOD, None)
    # a reader holds the file open, as a long `register list` or a web page would: without a checkpoint on add,
    # the acknowledged entries would sit in the -wal file only
    register.add(db, record.to_text(make(DISTRICT)))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("SELECT count(*) FROM entries").fetchall()  # idle, but the file stays open
    register.add(db, record.to_text(good))
    register.add(db, record.to_text(other))
    assert os.path.getsize(db + "-wal") == 0 if os.path.exists(db + "-wal") else True
    snapshot = tmp_path / "copy.sqlite"
    snapshot.write_bytes(Path(db).read_bytes())  # the main file alone, as a backup without its -wal would be
    holder.close()
    check = register.verify(str(snapshot))
    assert check.ok and check.count == 3, check.problems


def test_damaged_wal_file_after_adds_changes_nothing(good, tmp_path):
    db = str(tmp_path / "reg.sqlite")
    register.add(db, record.to_text(make(DISTRICT)))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("SELECT count(*) FROM entries").fetchall()
    register.add(db, record.to_text(good))
    head = register.verify(db).head
    snapshot = tmp_path / "copy.sqlite"
    snapshot.write_bytes(Path(db).read_bytes())
    holder.close()
    Path(str(snapshot) + "-wal").write_bytes(os.urandom(8192))  # a damaged -wal next to it
    check = register.verify(str(snapshot), expect_head=head)
    assert check.ok and check.count == 2 and check.head == head, check.problems


def test_reading_commands_never_write(good, tmp_path):
    db = tmp_path / "reg.sqlite"
    register.add(str(db), record.to_text(good))
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=DELETE")  # a register kept in rollback-journal mode (or copied by a tool)
    c.close()
    before = db.read_bytes()
    for args in (["register", "verify"], ["register", "list"], ["register", "show", "1"]):
        r = cli(*args, "--db", str(db))
        assert r.exit_code == 0, (args, r.output, r.exception)
    assert db.read_bytes() == before and _journal(str(db)) == "delete"
    assert not os.path.exists(str(db) + "-wal")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert run_main("register", "verify", "--db", str(empty)) == 2
    assert empty.read_bytes() == b""  # not turned into a database
    missing = tmp_path / "missing.sqlite"
    assert run_main("register", "list", "--db", str(missing)) == 2 and not missing.exists()


def test_a_register_on_read_only_media_can_be_verified(good, tmp_path):
    import shutil
    import subprocess

    d = tmp_path / "media"
    d.mkdir()
    db = d / "reg.sqlite"
    register.add(str(db), record.to_text(good))
    for extra in ("-wal", "-shm"):
        if os.path.exists(str(db) + extra):
            os.unlink(str(db) + extra)
    os.chmod(db, 0o444)
    os.chmod(d, 0o555)
    locked = False
    if os.geteuid() == 0:  # root ignores permissions: make the folder immutable if the file system allows it
        locked = shutil.which("chattr") is not None and subprocess.run(
            ["chattr", "+i", str(d)], capture_output=True).returncode == 0
        if not locked:
            os.chmod(d, 0o755)
            pytest.skip("running as root without chattr: cannot make a read-only folder here")
    try:
        check = register.verify(str(db))
        assert check.ok and check.count == 1, check.problems
        assert [r["seq"] for r in register.rows(str(db))] == [1]
    finally:
        if locked:
            subprocess.run(["chattr", "-i", str(d)], check=False)
        os.chmod(d, 0o755)


# ---------------------------------------------------------------- 2. the validated-ruleset cache


def _poisoned(payload: str) -> str:
    """The genuine ruleset with every '>=' turned into '<=': a cache entry that flips decisions."""
    flipped = payload.replace('"op":">="', '"op":"<="')
    assert flipped != payload
    return flipped


def test_poisoned_ruleset_cache_changes_no_decision(tmp_path, monkeypatch):
    from ntm.criteria import loader

    monkeypatch.setenv("NTM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    loader._load_cached.cache_clear()
    genuine = evaluate(gather(GOOD, None, OVERLAY)).model_dump(mode="json")
    path = loader.shipped_paths()["vn-2021-2025"]
    lr = loader.load_ruleset_file(path)
    entry = Path(loader._cache_path(lr.sha256))
    assert entry.exists()
    payload = lr.ruleset.model_dump_json(by_alias=True, exclude_unset=True)
    entry.write_text(_poisoned(payload), encoding="utf-8")  # bare JSON under the genuine hash
    loader._load_cached.cache_clear()
    assert evaluate(gather(GOOD, None, OVERLAY)).model_dump(mode="json") == genuine
    key = loader._cache_key()
    attacks = [
        "0" * 64 + "\n" + _poisoned(payload),  # a made-up MAC
        loader._mac(os.urandom(32), lr.sha256, _poisoned(payload)) + "\n" + _poisoned(payload),  # another key
        loader._mac(key, "f" * 64, _poisoned(payload)) + "\n" + _poisoned(payload),  # our entry for other source
    ]
    for text in attacks:
        entry.write_text(text, encoding="utf-8")
        loader._load_cached.cache_clear()
        again = evaluate(gather(GOOD, None, OVERLAY)).model_dump(mode="json")
        assert again == genuine
    # a cache folder anyone may write, a key anyone may read: no cache at all (still correct)
    os.chmod(loader._key_path(), 0o644)
    assert loader._cache_key() is None
    entry.write_text(loader._mac(key, lr.sha256, _poisoned(payload)) + "\n" + _poisoned(payload), encoding="utf-8")
    loader._load_cached.cache_clear()
    assert evaluate(gather(GOOD, None, OVERLAY)).model_dump(mode="json") == genuine
    loader._load_cached.cache_clear()


# ---------------------------------------------------------------- 4. files a dossier or a record names


def _district_naming(tmp_path: Path, ref: str) -> Path:
    d = tmp_path / "huyen"
    d.mkdir(exist_ok=True)
    for name in ("xa-dat-chuan.yaml", "xa-thieu-hai-tieu-chi.yaml", "xa-kieu-mau.yaml"):
        (d / name).write_bytes((EX / name).read_bytes())
    text = Path(DISTRICT).read_text(encoding="utf-8").replace("dossier: xa-kieu-mau.yaml", f"dossier: '{ref}'")
    f = d / "huyen.yaml"
    f.write_text(text, encoding="utf-8")
    return f


@pytest.mark.parametrize("ref", ["../../../../../../etc/passwd", "/etc/passwd", "/proc/self/environ", "/dev/stdin",
                                 "link/passwd"])
def test_district_dossier_cannot_name_files_outside_its_folder(tmp_path, ref, capsys):
    f = _district_naming(tmp_path, ref)
    (f.parent / "link").symlink_to("/etc")
    assert run_main("evaluate", str(f), "--overlay", OVERLAY) == 2
    err = capsys.readouterr().err
    assert "huyen.yaml" in err and "communes[2].dossier" in err and "--allow-outside-paths" in err, err
    assert "root:" not in err  # nothing of /etc/passwd is echoed


def test_outside_paths_are_allowed_only_when_asked(tmp_path, capsys):
    (tmp_path / "xa").mkdir()
    (tmp_path / "xa" / "xa-kieu-mau.yaml").write_bytes((EX / "xa-kieu-mau.yaml").read_bytes())
    f = _district_naming(tmp_path, "../xa/xa-kieu-mau.yaml")
    assert run_main("evaluate", str(f), "--overlay", OVERLAY, "-f", "json") == 2
    capsys.readouterr()
    assert run_main("evaluate", str(f), "--overlay", OVERLAY, "-f", "json", "--allow-outside-paths") == 0
    assert json.loads(capsys.readouterr().out)["unit"]["code"] == "990"
    assert run_main("evaluate", DISTRICT, "--overlay", OVERLAY, "-f", "json") == 0  # the shipped example is fine


@pytest.mark.parametrize("ref", ["/etc/passwd", "/dev/stdin", "../../../../../../../../etc/passwd"])
def test_verify_reads_only_what_a_forged_record_embeds(district, ref, tmp_path, capsys):
    forged = json.loads(json.dumps(district))
    for c in forged["inputs"]["dossier"]["communes"]:
        if c.get("dossier") == "xa-kieu-mau.yaml":
            c["dossier"] = ref
    f = tmp_path / "forged.json"
    f.write_text(record.to_text(reseal(forged)), encoding="utf-8")
    assert run_main("verify", str(f), "--lang", "en") == 2
    out = capsys.readouterr()
    assert "root:" not in out.out + out.err and "outside" in out.err + out.out, out
