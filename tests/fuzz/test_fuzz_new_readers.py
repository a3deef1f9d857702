"""Hostile input for the newer readers: batch tables (CSV/XLSX), what-if scenario files, plan cost files and
budgets, decision records. Same contract as the others: a result, or NtmInputError / exit 2 with a message;
never another exception, never exit 3, never a traceback.

Crashes this suite found (a huge `--budget`, a re-sealed record with a malformed outcome, truncated XLSX files)
were fixed in the readers; their reproducers stay here as ordinary cases.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import itertools
import json
import zipfile
from pathlib import Path

import pytest
from fuzzkit import (
    COMMUNE,
    EXAMPLES,
    OVERLAY,
    assert_clean_refusal,
    ci,
    leftovers,
    long,
    run_main,
    run_ntm,
)
from hypothesis import given, note
from hypothesis import strategies as st

from ntm.criteria.loader import load_ruleset
from ntm.errors import NtmInputError

batch_inputs = pytest.importorskip("ntm.batch.inputs")
whatif = pytest.importorskip("ntm.engine.whatif")
plan_costs = pytest.importorskip("ntm.engine.plan_costs")
record = pytest.importorskip("ntm.audit.record")

BATCH_CSV = EXAMPLES / "batch" / "xa-tinh-minh-hoa.csv"
SCENARIOS = EXAMPLES / "scenarios" / "xa-thieu-hai-tieu-chi.yaml"
COSTS = EXAMPLES / "costs" / "chi-phi-minh-hoa.yaml"
DISTRICT = EXAMPLES / "huyen-vi-du.yaml"
_SEQ = itertools.count()

CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "1e308", "1e-320", "9" * 5000, "61,2", "61.2", "1.234", "1,234",
         "1.234,5", "61 2", "61.2%", "-0", "0x10", "١٢", "có", "không", "x", "yes", "maybe", "true", "=1+1",
         "=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1", "\u200b", "\u202e61", "Xã\u0300", "2024-02-30", "31/02/2024",
         "20/10/2024", "2024-10-20", "\x7f", '"', "'", ";", ",", "\r", "\n", "x" * 1000, "ĐNB", "DNB", "#comment"]


def _csv(*rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _write(folder: Path, suffix: str, data) -> Path:
    p = folder / f"n{next(_SEQ)}{suffix}"
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8", newline="")
    return p


def _rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(BATCH_CSV.read_text(encoding="utf-8-sig"))))


_CSV = _rows()
_CATALOGUE = load_ruleset("vn-2021-2025").ruleset.fact_map()


def _refused(e: NtmInputError) -> None:
    assert e.problems and all(p.message for p in e.problems), e


# ---------------------------------------------------------------- batch tables


@st.composite
def mutated_table(draw) -> str:
    rows = copy.deepcopy(_CSV[: draw(st.integers(1, min(4, len(_CSV))))])
    for _ in range(draw(st.integers(1, 4))):
        r = draw(st.integers(0, len(rows) - 1))
        op = draw(st.sampled_from(["cell", "cell", "cell", "drop-cell", "add-cell", "dup-row", "header"]))
        if op == "cell" and rows[r]:
            rows[r][draw(st.integers(0, len(rows[r]) - 1))] = draw(st.one_of(st.sampled_from(CELLS), st.text(max_size=12)))
        elif op == "drop-cell" and rows[r]:
            del rows[r][draw(st.integers(0, len(rows[r]) - 1))]
        elif op == "add-cell":
            rows[r].append(draw(st.sampled_from(CELLS)))
        elif op == "dup-row":
            rows.insert(r, list(rows[r]))
        elif op == "header" and rows[0]:
            j = draw(st.integers(0, len(rows[0]) - 1))
            rows[0][j] = draw(st.sampled_from([rows[0][j].upper(), rows[0][j] + "\u200b", " " + rows[0][j] + " ",
                                               rows[0][j][:-1], "", rows[0][(j + 1) % len(rows[0])]]))
    out = io.StringIO()
    csv.writer(out, delimiter=draw(st.sampled_from([",", ";"]))).writerows(rows)
    return out.getvalue()


def _table(tmp_path, data):
    text = data.draw(mutated_table())
    note(text[:3000])
    path = _write(tmp_path, ".csv", text)
    try:
        batch_inputs.read_input(str(path), _CATALOGUE)
    except NtmInputError as e:
        _refused(e)


@given(data=st.data())
@ci(60)
def test_mutated_batch_tables_read_or_refuse(tmp_path, data):
    _table(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(2000)
def test_mutated_batch_tables_read_or_refuse_long(tmp_path, data):
    _table(tmp_path, data)


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _bad_xlsx() -> dict[str, bytes]:
    return {
        "not-a-zip": BATCH_CSV.read_bytes(),
        "empty-zip": b"PK\x05\x06" + b"\0" * 18,
        "other-zip": _zip({"hello.txt": b"x"}),
        "truncated-zip": _zip({"[Content_Types].xml": b"<x/>" * 1000})[:200],
    }


@pytest.mark.parametrize("name", sorted(_bad_xlsx()))
def test_broken_workbooks_are_refused(tmp_path, name):
    path = _write(tmp_path, ".xlsx", _bad_xlsx()[name])
    run = run_main("batch", path, "--no-isolation", "-f", "json", "-o", tmp_path / "o.json", cwd=tmp_path)
    assert_clean_refusal(run)
    assert "XLSX" in run.stderr
    assert not (tmp_path / "o.json").exists() and leftovers(tmp_path) == []


def test_zip_of_garbage_xml_named_xlsx_is_refused(tmp_path):
    """A 'workbook' whose [Content_Types].xml is 20 MB of NUL bytes (compresses to ~20 KB)."""
    path = _write(tmp_path, ".xlsx", _zip({"[Content_Types].xml": b"\0" * (20 * 1024 * 1024)}))
    run = run_ntm("batch", path, "--no-isolation", cwd=tmp_path)
    assert_clean_refusal(run)


@pytest.mark.parametrize("name, text, fragment", [
    ("empty", "", "empty"),
    ("binary", bytes(range(256)) * 4, "binary"),
    ("utf16", BATCH_CSV.read_text(encoding="utf-8").encode("utf-16"), "binary"),
    ("long-field", _csv(_CSV[0], ["x" * 300_000]), "field"),
    ("unknown-columns", _csv(_CSV[0] + [f"c{i}" for i in range(5000)]), "unknown column"),
    ("duplicate-column", _csv(_CSV[0] + [_CSV[0][0]]), "repeats column"),
])
def test_batch_table_refusals(tmp_path, name, text, fragment):
    path = _write(tmp_path, ".csv", text)
    run = run_main("batch", path, "--no-isolation", "-f", "json", "-o", tmp_path / "o.json", cwd=tmp_path)
    assert_clean_refusal(run)
    assert fragment in run.stderr
    assert not (tmp_path / "o.json").exists() and leftovers(tmp_path) == []


# ---------------------------------------------------------------- what-if scenarios

_RS = load_ruleset("vn-2021-2025").ruleset
SCENARIO_VALUES = st.one_of(st.sampled_from([None, True, False, 0, -0.0, 1e308, 10**400, "61,2", "1e3", [], {}, "nan",
                                             float("nan"), float("inf"), "x" * 500]),
                            st.integers(), st.floats(), st.text(max_size=10))


@st.composite
def scenario_files(draw) -> str:
    import yaml

    facts = sorted(_CATALOGUE)
    scenarios = []
    for i in range(draw(st.integers(0, 4))):
        sc = {"id": draw(st.sampled_from([f"s{i}", "s0", "", "Kịch bản", 5, None])),
              "label": draw(st.sampled_from([{"vi": "a", "en": "a"}, "a", None, {"vi": "a"}])),
              "set": {draw(st.sampled_from(facts + ["nope", "INCOME_PER_CAPITA"])): draw(SCENARIO_VALUES)
                      for _ in range(draw(st.integers(0, 3)))}}
        if draw(st.booleans()):
            sc["unset"] = draw(st.sampled_from([[], ["income_per_capita"], "income_per_capita", [1], {"a": 1}]))
        if draw(st.booleans()):
            sc[draw(st.sampled_from(["extra", "sets", "Set"]))] = 1
        scenarios.append(sc)
    doc = draw(st.sampled_from([{"scenarios": scenarios}, scenarios, {"scenario": scenarios}, {"scenarios": None}]))
    return yaml.safe_dump(doc, allow_unicode=True)


def _scenario(tmp_path, data):
    text = data.draw(scenario_files())
    note(text)
    path = _write(tmp_path, ".yaml", text)
    try:
        whatif.load_scenarios(str(path), _RS)
    except NtmInputError as e:
        _refused(e)


@given(data=st.data())
@ci(60)
def test_generated_scenario_files_load_or_refuse(tmp_path, data):
    _scenario(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(2000)
def test_generated_scenario_files_load_or_refuse_long(tmp_path, data):
    _scenario(tmp_path, data)


@given(value=st.one_of(st.sampled_from(["nan", "inf", "-inf", "1e308", "9" * 5000, "61,2", " 61 ", "0x10", "1_0",
                                        "١٢", "-0", "", "=", "1e-320", "có", "maybe"]), st.text(max_size=12)),
       fact=st.sampled_from(["income_per_capita", "commune_plan_approved", "temporary_houses", "nope"]))
@ci(80)
def test_set_option_values_parse_or_refuse(value, fact):
    try:
        whatif.scenario_from_options([f"{fact}={value}"], [], _RS)
    except NtmInputError as e:
        _refused(e)


# ---------------------------------------------------------------- plan cost files and budgets


@st.composite
def cost_files(draw) -> str:
    import yaml

    doc = yaml.safe_load(COSTS.read_text(encoding="utf-8"))
    costs = doc["costs"]
    for _ in range(draw(st.integers(1, 3))):
        fid = draw(st.sampled_from(sorted(costs)))
        key = draw(st.sampled_from(["per_unit", "unit", "purchasable", "note", "extra"]))
        entry = costs[fid] if isinstance(costs[fid], dict) else {}
        entry[key] = draw(SCENARIO_VALUES)
        costs[fid] = entry
    if draw(st.booleans()):
        costs[draw(st.sampled_from(["nope", "INCOME_PER_CAPITA", "alley_hardened"]))] = {"per_unit": 1, "unit": "x"}
    return yaml.safe_dump(doc, allow_unicode=True)


def _costs(tmp_path, data):
    text = data.draw(cost_files())
    note(text[:3000])
    path = _write(tmp_path, ".yaml", text)
    try:
        plan_costs.load_costs(str(path), _RS)
    except NtmInputError as e:
        _refused(e)


@given(data=st.data())
@ci(40)
def test_generated_cost_files_load_or_refuse(tmp_path, data):
    _costs(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(2000)
def test_generated_cost_files_load_or_refuse_long(tmp_path, data):
    _costs(tmp_path, data)


@pytest.mark.parametrize("budget", [
    "nan", "-1", "abc", "1,5", "", "0",
    "1e400",
    "9" * 5000,
])
def test_budget_values(tmp_path, budget):
    run = run_main("plan", DISTRICT, "--target", "standard", "--overlay", OVERLAY, "--costs", COSTS, "--budget", budget,
                   "-f", "json", "-o", tmp_path / "o.json", cwd=tmp_path)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    assert run.code in (0, 1, 2), run.stderr
    if run.code == 2:
        assert run.stderr.startswith("error:") and not (tmp_path / "o.json").exists()
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- decision records


@pytest.fixture(scope="module")
def a_record(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("record")
    path = folder / "rec.json"
    run = run_main("evaluate", COMMUNE, "--overlay", OVERLAY, "--record", path, "-o", folder / "out.txt")
    assert run.code in (0, 1), run.stderr
    return json.loads(path.read_text(encoding="utf-8"))


def rehash(rec: dict) -> dict:
    """Re-seal an edited record the way a forger would (no signature): only the content then speaks."""
    inp = rec["inputs"]
    inp["dossier_sha256"] = record.digest(inp["dossier"])
    if isinstance(inp.get("overlay"), dict) and isinstance(inp["overlay"].get("text"), str):
        inp["overlay"]["sha256"] = hashlib.sha256(inp["overlay"]["text"].encode()).hexdigest()
    rec["decision_id"] = record.decision_id(inp)
    rec["outcome_sha256"] = record.digest(rec["outcome"])
    rec["record_sha256"] = record.body_sha256(rec)
    return rec


def _paths(data, loc=()):
    yield loc
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, loc + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, loc + (i,))


def _record_mutation(tmp_path, a_record, data):
    rec = copy.deepcopy(a_record)
    locs = [p for p in _paths(rec) if p and p[0] not in ("trace",)]
    for _ in range(data.draw(st.integers(1, 2))):
        loc = data.draw(st.sampled_from(locs))
        try:
            parent = rec
            for part in loc[:-1]:
                parent = parent[part]
            parent[loc[-1]] = data.draw(st.one_of(SCENARIO_VALUES, st.sampled_from(
                ["../../x.yaml", "/etc/passwd", "!!python/object/apply:os.system ['touch PWNED']", {"a": [1]}])))
        except (KeyError, IndexError, TypeError):
            continue
    if data.draw(st.booleans()):
        with contextlib.suppress(Exception):  # a record too broken to re-seal is still a fine input
            rec = rehash(rec)
    text = json.dumps(rec, ensure_ascii=False, allow_nan=True, default=str)
    path = _write(tmp_path, ".json", text)
    run = run_main("verify", path, cwd=tmp_path)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
    assert run.code in (0, 1, 2), run.stderr
    assert not (tmp_path / "PWNED").exists()


@given(data=st.data())
@ci(15)
def test_edited_decision_records_verify_or_refuse(tmp_path, a_record, data):
    _record_mutation(tmp_path, a_record, data)


@pytest.mark.slow
@given(data=st.data())
@long(1000)
def test_edited_decision_records_verify_or_refuse_long(tmp_path, a_record, data):
    _record_mutation(tmp_path, a_record, data)


@pytest.mark.parametrize("name, text", [
    ("not-json", "hello"), ("empty", ""), ("list", "[]"), ("nan", '{"schema": NaN}'),
    ("deep", "[" * 100_000 + "]" * 100_000), ("binary", b"\x00\x01\x02"),
])
def test_unreadable_records_exit_2(tmp_path, name, text):
    run = run_main("verify", _write(tmp_path, ".json", text), cwd=tmp_path)
    assert_clean_refusal(run)


def test_a_forged_record_cannot_write_outside_its_folder_or_execute(tmp_path, a_record):
    """Commune references that climb out, are absolute or hold thousands of '..': re-created inside a private
    folder or refused (exit 2), never written elsewhere, never a crash."""
    for ref in ("../../../../etc/ntm-fuzz-escape.yaml", "../" * 3000 + "ntm-fuzz-escape.yaml", "/ntm-fuzz-escape.yaml"):
        rec = copy.deepcopy(a_record)
        rec["inputs"]["communes"] = {ref: {"dossier": rec["inputs"]["dossier"],
                                           "sha256": record.digest(rec["inputs"]["dossier"])}}
        run = run_main("verify", _write(tmp_path, ".json", json.dumps(rehash(rec))), cwd=tmp_path)
        assert run.code in (0, 1, 2) and "Traceback" not in run.stderr and "internal error" not in run.stderr, run.stderr
        assert not Path("/etc/ntm-fuzz-escape.yaml").exists() and not Path("/ntm-fuzz-escape.yaml").exists()
        assert not list(tmp_path.parent.glob("ntm-fuzz-escape.yaml"))
    rec = copy.deepcopy(a_record)
    rec["inputs"]["overlay"]["text"] = "overlay: !!python/object/apply:os.system ['touch PWNED']\n"
    run = run_main("verify", _write(tmp_path, ".json", json.dumps(rehash(rec))), cwd=tmp_path)
    assert_clean_refusal(run)
    assert "is not allowed" in run.stderr and not (tmp_path / "PWNED").exists()


def test_resealed_record_with_a_mapping_where_a_tier_id_belongs(tmp_path, a_record):
    rec = copy.deepcopy(a_record)
    rec["outcome"]["tiers"][0]["id"] = {"a": [1]}
    run = run_main("verify", _write(tmp_path, ".json", json.dumps(rehash(rec))), cwd=tmp_path)
    assert run.code in (1, 2) and "internal error" not in run.stderr, run.stderr
