"""Decision records, `ntm verify`, signing keys, the hash-chained register and `ntm recheck`."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ntm.audit import keys, record, register
from ntm.audit import verify as V
from ntm.audit.canonical import canonical, digest, embeddable, restored, sha256_hex
from ntm.audit.recheck import recheck
from ntm.engine.evaluate import evaluate, gather
from ntm.errors import NtmInputError

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
OVERLAY = str(EX / "overlays" / "tinh-minh-hoa.yaml")
GOOD = str(EX / "xa-dat-chuan.yaml")
TWO_SHORT = str(EX / "xa-thieu-hai-tieu-chi.yaml")
DISTRICT = str(EX / "huyen-vi-du.yaml")
# every shipped example, with the illustrative overlay wherever its ruleset is the one the overlay is for
OVERLAY_FOR = {"xa-2018.yaml": None, "xa-nhom-3-2026.yaml": str(EX / "overlays" / "tinh-minh-hoa-2026.yaml")}
CASES = [(p.name, OVERLAY_FOR.get(p.name, OVERLAY)) for p in sorted(EX.glob("*.yaml"))]


def ntm(*args, env=None, check=None, cwd=ROOT):
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "ntm", *args], check=False, capture_output=True, text=True, env=e,
                          timeout=120, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def cli(*args):
    """In-process CLI run (fast); bad input surfaces as result.exception (main() turns it into exit 2)."""
    from typer.testing import CliRunner

    from ntm.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=True)


def make(dossier: str, overlay: str | None = OVERLAY, *, tier: str | None = None, as_of=None,
         ruleset: str | None = None, confine=True) -> dict:
    inputs = gather(dossier, ruleset, overlay, as_of, confine=confine)
    return record.build(inputs, evaluate(inputs, trace=True, tier=tier, as_of=as_of), tier=tier, as_of=as_of)


def reseal(rec: dict) -> dict:
    """What a careful forger does after editing: recompute every hash so the record looks intact."""
    rec = json.loads(json.dumps(rec))
    rec.pop("signature", None)
    inp = rec["inputs"]
    inp["dossier_sha256"] = digest(inp["dossier"])
    rec["decision_id"] = record.decision_id(inp)
    rec["outcome_sha256"] = digest(rec["outcome"])
    rec["record_sha256"] = record.body_sha256(rec)
    return rec


@pytest.fixture(scope="module")
def two_short() -> dict:
    return make(TWO_SHORT)


@pytest.fixture(scope="module")
def good() -> dict:
    return make(GOOD)


# ---------------------------------------------------------------- canonical JSON


def test_canonical_json_is_sorted_compact_utf8_and_refuses_non_finite_numbers():
    assert canonical({"b": 1, "a": "Xã", "c": [1.5, None, True]}) == '{"a":"Xã","b":1,"c":[1.5,null,true]}'
    for bad in (float("nan"), float("inf"), {"x": [float("-inf")]}, {1: "non-text key"}, {"d": object()},
                {"s": "\ud800"}):
        with pytest.raises(NtmInputError):
            canonical(bad)


def test_dates_survive_embedding_and_stay_apart_from_date_like_text():
    import datetime as dt

    data = {"assessment": {"date": dt.date(2024, 10, 20)}, "note": "2024-10-20"}
    emb = embeddable(data)
    assert emb == {"assessment": {"date": {"$date": "2024-10-20"}}, "note": "2024-10-20"}
    assert restored(json.loads(canonical(emb))) == data


# ---------------------------------------------------------------- records round-trip on every example


@pytest.mark.parametrize("name,overlay", CASES, ids=[c[0] for c in CASES])
def test_record_round_trips_on_every_example(name, overlay, tmp_path):
    rec = make(str(EX / name), overlay)
    text = record.to_text(rec)
    back = record.parse(text)
    assert record.tampering(back) == []
    assert back["outcome"]["unit"]["code"] == back["unit"]["code"]
    assert back["trace"] and back["trace"][0] == "begin"
    v = V.verify(back)
    assert (v.status, v.diffs, v.problems) == ("REPRODUCED", [], []), v
    if name == "huyen-vi-du.yaml":  # the district's commune dossiers travel inside the record
        assert sorted(back["inputs"]["communes"]) == ["xa-dat-chuan.yaml", "xa-kieu-mau.yaml",
                                                      "xa-thieu-hai-tieu-chi.yaml"]


def test_tier_as_of_and_explicit_ruleset_are_recorded_and_reproduced():
    import datetime as dt

    rec = make(TWO_SHORT, tier="standard", as_of=dt.date(2023, 6, 1),
               ruleset=str(ROOT / "ntm" / "rulesets" / "vn-2021-2025" / "ruleset.yaml"))
    assert rec["inputs"]["tier"] == "standard" and rec["inputs"]["as_of"] == "2023-06-01"
    assert [t["id"] for t in rec["outcome"]["tiers"]] == ["standard"]
    assert rec["inputs"]["ruleset"]["shipped"] is True
    assert V.verify(rec).status == "REPRODUCED"


def test_district_with_commune_dossiers_in_other_folders_round_trips(tmp_path):
    (tmp_path / "huyen").mkdir()
    (tmp_path / "xa").mkdir()
    text = Path(DISTRICT).read_text(encoding="utf-8")
    for name in ("xa-dat-chuan.yaml", "xa-thieu-hai-tieu-chi.yaml", "xa-kieu-mau.yaml"):
        shutil.copy(EX / name, tmp_path / "xa" / name)
        text = text.replace(f"dossier: {name}", f"dossier: ../xa/{name}")
    (tmp_path / "huyen" / "h.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(NtmInputError, match="allow-outside-paths"):  # outside the district's folder: only if asked
        make(str(tmp_path / "huyen" / "h.yaml"))
    rec = make(str(tmp_path / "huyen" / "h.yaml"), confine=False)
    assert sorted(rec["inputs"]["communes"])[0] == "../xa/xa-dat-chuan.yaml"
    assert rec["decision_id"] != make(DISTRICT)["decision_id"]  # the references are part of the dossier
    shutil.rmtree(tmp_path / "xa")  # verify needs nothing but the record
    assert V.verify(rec).status == "REPRODUCED"
    bad = json.loads(json.dumps(rec))
    bad["inputs"]["communes"]["/etc/x.yaml"] = bad["inputs"]["communes"].pop("../xa/xa-kieu-mau.yaml")
    with pytest.raises(NtmInputError, match="absolute"):
        V.verify(reseal(bad))


def test_record_holds_what_the_issue_lists(two_short):
    r = two_short
    assert r["schema"] == "ntm-record/1"
    assert r["unit"]["code"] == "99002" and r["assessment_date"] == "2024-10-20"
    rs = r["inputs"]["ruleset"]
    assert rs["id"] == "vn-2021-2025" and rs["shipped"] is True
    shipped = ROOT / "ntm" / "rulesets" / "vn-2021-2025" / "ruleset.yaml"
    assert rs["sha256"] == sha256_hex(shipped.read_text(encoding="utf-8"))
    assert r["inputs"]["overlay"]["sha256"] == sha256_hex(Path(OVERLAY).read_text(encoding="utf-8"))
    assert r["inputs"]["dossier"]["facts"]["income_per_capita"]["value"] == 61.2
    assert r["inputs"]["dossier_sha256"] == digest(r["inputs"]["dossier"])
    assert set(r["tool"]) == {"ntm", "durable_rules"}  # no Python version: records are the same on every machine
    assert r["outcome"]["tiers"][0]["unmet_criteria"] == ["10", "17"]
    assert r["outcome"]["engine"]["trace"] is None and len(r["trace"]) == r["outcome"]["engine"]["firings"]


def test_decision_id_depends_only_on_inputs(two_short, tmp_path):
    # the same dossier under another file name, re-formatted: same canonical data, same decision
    copy = tmp_path / "renamed.yaml"
    copy.write_text("# a comment\n" + Path(TWO_SHORT).read_text(encoding="utf-8"), encoding="utf-8")
    again = make(str(copy))
    assert again["decision_id"] == two_short["decision_id"]
    assert make(TWO_SHORT, None)["decision_id"] != two_short["decision_id"]  # no overlay: another decision
    assert make(TWO_SHORT, tier="standard")["decision_id"] != two_short["decision_id"]
    tool_changed = {**two_short, "tool": {"ntm": "9.9", "durable_rules": "0"}}
    assert record.decision_id(tool_changed["inputs"]) == two_short["decision_id"]


def test_cli_record_verify_round_trip_and_byte_identical_across_seeds_and_locales(tmp_path):
    key = tmp_path / "council.key"
    keys.generate(str(key))
    signer = "Hội đồng thẩm định tỉnh Minh Họa"
    outs = []
    for i, env in enumerate(({"PYTHONHASHSEED": "1", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
                             {"PYTHONHASHSEED": "4242", "LC_ALL": "vi_VN.UTF-8", "LANG": "vi_VN.UTF-8",
                              "TZ": "Asia/Ho_Chi_Minh", "NTM_CACHE_DIR": str(tmp_path / "cold-cache")})):
        out = tmp_path / f"r{i}.json"
        ntm("evaluate", DISTRICT, "--overlay", OVERLAY, "--record", str(out), "--sign-key", str(key),
            "--signer", signer, "-f", "json", env=env, check=0, cwd=tmp_path)
        outs.append(out.read_bytes())
    here = record.to_text(keys.sign(make(DISTRICT), str(key), signer)).encode("utf-8")  # this process's seed
    assert outs[0] == outs[1] == here
    rec = json.loads(outs[0])
    assert rec["signature"]["signer"] == signer
    p = ntm("verify", str(tmp_path / "r0.json"), "--trusted-key", str(key) + ".pub", check=0, cwd=tmp_path)
    assert p.stdout.startswith("TÁI LẬP ĐÚNG") and rec["signature"]["key_id"] in p.stdout  # Vietnamese by default


def test_record_is_never_overwritten_without_force(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("a council's file", encoding="utf-8")
    p = ntm("evaluate", GOOD, "--overlay", OVERLAY, "--record", str(out), check=2)
    assert "--force" in p.stderr and out.read_text(encoding="utf-8") == "a council's file"
    assert cli("evaluate", GOOD, "--overlay", OVERLAY, "--record", str(out), "--force").exit_code == 0
    assert record.tampering(record.load(str(out))) == []
    for args in (("--record", str(out), "--output", str(out), "--force"), ("--sign-key", str(out))):
        r = cli("evaluate", GOOD, *args)
        assert isinstance(r.exception, NtmInputError), args  # exit 2 through main()


def test_record_write_is_atomic(tmp_path, monkeypatch):
    from ntm.cli import write_output

    target = tmp_path / "r.json"

    def crash(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_output(record.to_text(make(GOOD)), str(target), False)
    assert list(tmp_path.iterdir()) == []  # neither a half-written record nor a temporary file is left


# ---------------------------------------------------------------- tampering


def test_flipped_outcome_is_caught_by_hash_then_by_re_evaluation(two_short, tmp_path):
    edited = json.loads(json.dumps(two_short))
    std = edited["outcome"]["tiers"][0]
    assert std["id"] == "standard" and std["status"] == "not_met"
    std["status"] = "met"
    bad = V.verify(edited)
    assert bad.status == "TAMPERED" and bad.exit_code == 2
    assert any(p.startswith("outcome was edited") for p in bad.problems)
    forged = reseal(edited)  # hashes recomputed: only re-running the engine can tell
    v = V.verify(forged)
    assert v.status == "DIFFERENT" and v.exit_code == 1
    assert "tier standard › status: recorded 'met', now 'not_met'" in v.diffs
    assert "mức standard › status: hồ sơ ghi 'met', nay 'not_met'" in v.rendered("vi")  # Vietnamese by default
    path = tmp_path / "forged.json"
    path.write_text(record.to_text(forged), encoding="utf-8")
    p = ntm("verify", str(path), "--lang", "en", check=1)
    assert p.stdout.startswith("DIFFERENT") and "tier standard › status" in p.stdout
    path.write_text(record.to_text(edited), encoding="utf-8")
    r = cli("verify", str(path))
    assert r.exit_code == 2 and r.output.startswith("BỊ SỬA") and "phần kết quả (outcome) đã bị sửa" in r.output
    r = cli("verify", str(path), "--lang", "en")
    assert r.exit_code == 2 and r.output.startswith("TAMPERED") and "outcome was edited" in r.output


def test_edited_evidence_is_caught(two_short):
    edited = json.loads(json.dumps(two_short))
    edited["inputs"]["dossier"]["facts"]["income_per_capita"]["value"] = 80
    bad = V.verify(edited)
    assert bad.status == "TAMPERED" and any(p.startswith("inputs.dossier was edited") for p in bad.problems)
    v = V.verify(reseal(edited))  # a resealed edit is a different decision: the recorded outcome no longer follows
    assert v.status == "DIFFERENT"
    assert any("criterion 10" in d and "observed: recorded 61.2, now 80" in d for d in v.diffs), v.diffs
    assert any(d.startswith("decision_id") or "tier standard" in d for d in v.diffs)


def test_edited_commune_dossier_and_overlay_inside_a_district_record_are_named():
    rec = make(DISTRICT)
    edited = json.loads(json.dumps(rec))
    edited["inputs"]["communes"]["xa-kieu-mau.yaml"]["dossier"]["unit"]["name"] = "Xã Khác"
    edited["inputs"]["overlay"]["text"] += "\n# edited\n"
    problems = V.verify(edited).problems
    assert any("inputs.communes[xa-kieu-mau.yaml] was edited" in p for p in problems)
    assert any("inputs.overlay was edited" in p for p in problems)


@pytest.mark.parametrize("text,needle", [
    ("not json at all", "not valid JSON"),
    ('{"schema": "ntm-outcome/1"}', "schema"),
    ('{"schema": "ntm-record/1", "decision_id": "x"}', "incomplete"),
    ('{"schema": "ntm-record/1", "schema": "ntm-record/1"}', "duplicate key"),
    ('{"schema": "ntm-record/1", "x": NaN}', "not a number"),
    ('[1, 2]', "JSON object"),
])
def test_unreadable_records_are_refused_with_a_clear_message(tmp_path, text, needle):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NtmInputError, match=needle) as e:
        record.load(str(path))
    assert e.value.problems[0].file == str(path)


def test_unreadable_record_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{truncated", encoding="utf-8")
    p = ntm("verify", str(path), check=2)
    assert "not valid JSON" in p.stderr and str(path) in p.stderr


def test_changed_shipped_ruleset_is_named_and_a_given_file_is_used(two_short, tmp_path, monkeypatch):
    from ntm.criteria import loader

    shipped = loader.shipped_paths()
    changed = tmp_path / "vn-2021-2025" / "ruleset.yaml"
    changed.parent.mkdir()
    changed.write_text(Path(shipped["vn-2021-2025"]).read_text(encoding="utf-8") + "\n# amended\n", encoding="utf-8")
    new_sha = sha256_hex(changed.read_text(encoding="utf-8"))
    monkeypatch.setattr(loader, "shipped_paths", lambda: {**shipped, "vn-2021-2025": str(changed)})
    v = V.verify(two_short)
    assert v.status == "REPRODUCED"  # only a comment changed
    want = f"shipped ruleset vn-2021-2025 changed: recorded sha256 {two_short['inputs']['ruleset']['sha256']}, now {new_sha}"
    assert any(n.startswith(want) for n in v.notes), v.notes
    original = tmp_path / "original.yaml"
    shutil.copy(shipped["vn-2021-2025"], original)
    v = V.verify(two_short, str(original))
    assert v.status == "REPRODUCED" and v.notes == []
    with pytest.raises(NtmInputError, match="decided by 'vn-2021-2025'"):
        V.verify(two_short, shipped["vn-2016-2020"])


# ---------------------------------------------------------------- signing


def test_keys_are_private_and_never_overwritten(tmp_path):
    key = tmp_path / "council.key"
    priv, _pub, kid = keys.generate(str(key))
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600 and len(kid) == 16
    before = key.read_bytes()
    with pytest.raises(NtmInputError, match="never overwritten"):
        keys.generate(str(key))
    assert key.read_bytes() == before
    r = cli("keys", "generate", "--out", str(key))
    assert "never overwritten" in str(r.exception) and key.read_bytes() == before
    r = cli("keys", "generate", "--out", str(tmp_path / "second.key"))
    assert r.exit_code == 0 and "key id" in r.output and (tmp_path / "second.key.pub").exists()


def test_signed_record_verifies_and_tampered_signature_fails(good, tmp_path):
    k1, k2 = str(tmp_path / "a.key"), str(tmp_path / "b.key")
    keys.generate(k1)
    keys.generate(k2)
    signed = keys.sign(good, k1, "Hội đồng thẩm định tỉnh Minh Họa")
    assert signed["record_sha256"] == good["record_sha256"]  # the signature sits outside the hashed body
    v = V.verify(signed, trusted=keys.load_public(k1 + ".pub"))
    assert v.status == "REPRODUCED" and any("Hội đồng thẩm định tỉnh Minh Họa" in n for n in v.notes)
    assert V.verify(signed, trusted=keys.load_public(k2 + ".pub")).status == "UNTRUSTED"  # another council's key
    assert V.verify(good, trusted=keys.load_public(k1 + ".pub")).status == "UNSIGNED"  # unsigned
    other = keys.sign(good, k2)
    for forged in ({**signed["signature"], "value": other["signature"]["value"]},
                   {**signed["signature"], "signer": "Hội đồng khác"},
                   {**signed["signature"], "public_key": other["signature"]["public_key"]},
                   {**signed["signature"], "value": "!!not base64"}):
        v = V.verify({**signed, "signature": forged})
        assert v.status == "TAMPERED" and "signature" in v.problems[0], forged
    resealed = keys.sign(reseal({**signed, "assessment_year": 2023}), k1, "x")
    assert keys.check(resealed)[0] is None  # a resealed record signed again verifies only as the new signer's


# ---------------------------------------------------------------- the register


@pytest.fixture
def reg(tmp_path, two_short, good):
    db = str(tmp_path / "reg.sqlite")
    recs = [two_short, good, make(DISTRICT)]
    for r in recs:
        assert register.add(db, record.to_text(r)).new
    return db, recs


def _attack(db: str, *sql: str, args=()) -> None:
    """An attacker with the file: drop the append-only triggers, then change rows directly."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("DROP TRIGGER IF EXISTS entries_no_update")
    c.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    for s in sql:
        c.execute(s, args)
    c.close()


def test_register_add_verify_list_show(reg, two_short):
    db, recs = reg
    check = register.verify(db)
    assert check.ok and check.count == 3
    again = register.add(db, record.to_text(two_short))
    assert (again.new, again.seq) == (False, 1)  # idempotent
    assert register.verify(db).count == 3
    rows = register.rows(db)
    assert [r["unit_code"] for r in rows] == ["99002", "99001", "990"]
    assert [r["highest_tier"] for r in register.rows(db, unit="99001")] == ["standard"]
    assert register.rows(db, year=2018) == []
    assert register.get(db, recs[2]["decision_id"][:12])["seq"] == 3
    assert register.get(db, "2")["record"] == record.to_text(recs[1])
    with pytest.raises(NtmInputError, match="no entry"):
        register.get(db, "ffff0000")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # the database itself refuses edits
        sqlite3.connect(db).execute("UPDATE entries SET unit_name='x' WHERE seq=1")


def test_register_refuses_tampered_records(reg, two_short):
    db, _ = reg
    edited = json.loads(json.dumps(two_short))
    edited["outcome"]["summary"]["highest_tier"] = "model"
    with pytest.raises(NtmInputError, match="tampered"):
        register.add(db, json.dumps(edited))
    assert register.verify(db).count == 3


def test_edited_row_is_named(reg):
    db, _ = reg
    _attack(db, "UPDATE entries SET highest_tier='model' WHERE seq=2")
    check = register.verify(db)
    assert not check.ok and check.problems[0].startswith("seq 2: edited")


def test_edited_row_with_recomputed_hash_is_named(reg):
    db, _ = reg
    row = register.get(db, "2")
    row["unit_name"] = "Xã Giả Mạo"
    forged = register.entry_hash(row["prev_hash"], row)
    _attack(db, "UPDATE entries SET unit_name='Xã Giả Mạo', entry_hash=? WHERE seq=2", args=(forged,))
    problems = register.verify(db).problems
    assert any(p.startswith("seq 2: column unit_name") for p in problems)
    assert any(p.startswith("seq 3: does not follow") for p in problems)


def test_deleted_middle_row_is_named(reg):
    db, _ = reg
    _attack(db, "DELETE FROM entries WHERE seq=2")
    problems = register.verify(db).problems
    assert problems[0].startswith("seq 2: missing (deleted)")
    assert any(p.startswith("seq 3: does not follow") for p in problems)


def test_swapped_rows_are_named(reg):
    db, _ = reg
    _attack(db, "UPDATE entries SET seq=-1 WHERE seq=1", "UPDATE entries SET seq=1 WHERE seq=2",
            "UPDATE entries SET seq=2 WHERE seq=-1")
    problems = register.verify(db).problems
    assert any(p.startswith("seq 1:") for p in problems) and any(p.startswith("seq 2:") for p in problems)


def test_inserted_forged_row_is_named(reg, good):
    db, _ = reg
    row = register.get(db, "2")
    _attack(db, "UPDATE entries SET seq=-seq-1 WHERE seq>=2", "UPDATE entries SET seq=-seq WHERE seq<0")  # make room
    cols = ",".join(register.COLUMNS)
    c = sqlite3.connect(db, isolation_level=None)
    c.execute(f"INSERT INTO entries({cols}) VALUES ({','.join('?' * len(register.COLUMNS))})",
              [row[k] for k in register.COLUMNS[:-1]] + ["f" * 64])
    c.close()
    problems = register.verify(db).problems
    assert any(p.startswith("seq 2: edited") for p in problems) and any(p.startswith("seq 3:") for p in problems)


def test_deleted_last_row_is_caught_by_the_anchor_and_the_published_head(reg):
    db, _ = reg
    head = register.verify(db).head
    assert register.verify(db, expect_head=head).ok
    _attack(db, "DELETE FROM entries WHERE seq=3")
    problems = register.verify(db, expect_head=head).problems
    assert any("anchor records 3 entries" in p for p in problems)
    assert any(p.startswith(f"the published head {head}") for p in problems)
    _attack(db, "UPDATE anchor SET count=2, head=(SELECT entry_hash FROM entries WHERE seq=2)")
    assert not register.verify(db, expect_head=head).ok  # a rewritten anchor is still caught by the head
    with pytest.raises(NtmInputError):  # not appending to a damaged register... once the anchor is broken
        _attack(db, "UPDATE anchor SET count=7")
        register.add(db, record.to_text(make(GOOD, None)))


def test_register_cli(reg, tmp_path, two_short):
    db, _ = reg
    r = cli("register", "verify", "--db", db)
    assert r.exit_code == 0 and "3 mục" in r.output and register.verify(db).head in r.output
    r = cli("register", "list", "--db", db, "--unit", "990")
    assert "Huyện Ví Dụ" in r.output and "99002" not in r.output
    rec_file = tmp_path / "r.json"
    rec_file.write_text(cli("register", "show", "1", "--db", db, "--record").output, encoding="utf-8")
    assert V.verify(record.load(str(rec_file))).status == "REPRODUCED"
    r = cli("register", "add", str(rec_file), "--db", db, "--lang", "en")
    assert r.exit_code == 0 and "Already registered as seq 1" in r.output
    _attack(db, "UPDATE entries SET year=2020 WHERE seq=1")
    p = ntm("register", "verify", "--db", db, "--lang", "en", check=2)
    assert "seq 1: edited" in p.stdout
    notdb = tmp_path / "x.sqlite"
    notdb.write_text("not a database " * 100, encoding="utf-8")
    assert "not a usable register" in str(cli("register", "verify", "--db", str(notdb)).exception)
    assert isinstance(cli("register", "list", "--db", str(tmp_path / "none.sqlite")).exception, NtmInputError)
    assert not (tmp_path / "none.sqlite").exists()


# ---------------------------------------------------------------- recheck


def test_recheck_lists_the_criteria_no_longer_maintained(good, tmp_path):
    text = Path(GOOD).read_text(encoding="utf-8")
    assert "income_per_capita: {value: 71.8" in text
    new = tmp_path / "2025.yaml"
    new.write_text(text.replace("income_per_capita: {value: 71.8", "income_per_capita: {value: 50")
                   .replace("  date: 2024-10-20", "  date: 2025-10-20"), encoding="utf-8")
    r = recheck(good, str(new))
    assert r.recognised == "standard" and r.status_now == "not_met" and not r.maintained
    assert "standard" in r.tiers_lost
    lost = [x for x in r.losses if x.tier == "standard"]
    assert [x.criterion for x in lost] == ["10"] and "income_per_capita 50" in lost[0].indicators[0]
    assert r.maintained is False
    ok = recheck(good, GOOD)
    assert ok.maintained and ok.losses == [] and ok.tiers_lost == []
    rec_file = tmp_path / "good.json"
    rec_file.write_text(record.to_text(good), encoding="utf-8")
    p = ntm("recheck", str(rec_file), str(new), check=1)
    assert "KHÔNG DUY TRÌ" in p.stdout and "10 Thu nhập" in p.stdout
    r = cli("recheck", str(rec_file), GOOD, "--lang", "en")
    assert r.exit_code == 0 and r.output.startswith("MAINTAINED")
    r = cli("recheck", str(rec_file), TWO_SHORT)  # another commune's dossier
    assert isinstance(r.exception, NtmInputError) and "99002" in str(r.exception)


def test_recheck_refuses_a_tampered_record(good):
    edited = json.loads(json.dumps(good))
    edited["outcome"]["summary"]["highest_tier"] = "model"
    with pytest.raises(NtmInputError, match="not intact"):
        recheck(edited, GOOD)


def test_another_tool_build_is_noted_not_counted_as_a_difference(good):
    other = {**good, "tool": {"ntm": "0.0.9", "durable_rules": good["tool"]["durable_rules"]}}
    other["record_sha256"] = record.body_sha256(other)
    assert record.decision_id(other["inputs"]) == good["decision_id"]
    v = V.verify(other)
    assert v.status == "REPRODUCED" and v.notes == ["recorded with ntm 0.0.9, now 0.1.0"]
