"""Every bad input ends in one clear message (file, line, field, expectation, hint) and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from ntm.cli import app, main

GOOD_UNIT = """\
unit:
  level: commune
  code: xa-a
  name: Xã A
  region: ĐBSH
assessment:
  year: 2024
"""


def run_cli(*args) -> tuple[int, str]:
    """Run the real entry point in-process (the same error handling as the console script)."""
    import contextlib
    import io

    err, out = io.StringIO(), io.StringIO()
    code = 0
    old = sys.argv
    sys.argv = ["ntm", *args]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = old
    return code, out.getvalue() + err.getvalue()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(p)


CASES = {
    "string_number": (GOOD_UNIT + "facts:\n  income_per_capita: \"52,3\"\n",
                      ["facts.income_per_capita", ":9", "without quotes"]),
    "percent_140": (GOOD_UNIT + "facts:\n  hygienic_water_household_pct: 140\n",
                    ["outside the valid range", "0..100", ":9"]),
    "nan": (GOOD_UNIT + "facts:\n  income_per_capita: .nan\n", ["not a finite number", ":9"]),
    "infinity": (GOOD_UNIT + "facts:\n  income_per_capita: .inf\n", ["not a finite number"]),
    "unknown_fact": (GOOD_UNIT + "facts:\n  income_per_capit: 50\n",
                     ["unknown fact 'income_per_capit'", "did you mean 'income_per_capita'"]),
    "missing_region": ("unit:\n  level: commune\n  code: x\n  name: X\nassessment: {year: 2024}\nfacts: {}\n",
                       ["unit.region", "required"]),
    "unknown_region": (GOOD_UNIT.replace("ĐBSH", "DBSH") + "facts: {}\n", ["unknown region 'DBSH'", "ĐBSH"]),
    "wrong_level": (GOOD_UNIT.replace("level: commune", "level: comune") + "facts: {}\n",
                    ["unit.level", "did you mean 'commune'"]),
    "unknown_field": (GOOD_UNIT + "fact: {}\n", ["unknown field 'fact'", "did you mean 'facts'"]),
    "bool_for_number": (GOOD_UNIT + "facts:\n  income_per_capita: true\n", ["expected a number"]),
    "number_for_bool": (GOOD_UNIT + "facts:\n  commune_plan_approved: 1\n", ["expected true or false"]),
    "duplicate_key": (GOOD_UNIT + "facts:\n  income_per_capita: 50\n  income_per_capita: 51\n", ["duplicate key", ":10"]),
    "not_yaml": ("unit: [not, a, mapping\n", ["not valid YAML"]),
    "empty": ("", ["is empty"]),
    "list_top": ("- a\n- b\n", ["mapping"]),
    "no_ruleset_for_date": (GOOD_UNIT.replace("year: 2024", "year: 2010") + "facts: {}\n",
                            ["no shipped ruleset", "2010"]),
    "negative": (GOOD_UNIT + "facts:\n  income_per_capita: -5\n", ["outside the valid range"]),
    "fractional_count": (GOOD_UNIT + "facts:\n  temporary_houses: 1.5\n", ["not a whole number"]),
    "ratio_both": (GOOD_UNIT + "facts:\n  commune_road_km: 10\n  commune_road_hardened_km: 9\n"
                   "  commune_road_hardened_pct: 90\n", ["both directly"]),
    "ratio_half": (GOOD_UNIT + "facts:\n  commune_road_km: 10\n", ["without"]),
    "ratio_zero": (GOOD_UNIT + "facts:\n  commune_road_km: 0\n  commune_road_hardened_km: 0\n", ["is 0"]),
    "ratio_over": (GOOD_UNIT + "facts:\n  commune_road_km: 10\n  commune_road_hardened_km: 11\n", ["larger than"]),
    "year_date_mismatch": (GOOD_UNIT.replace("  year: 2024", "  year: 2024\n  date: 2023-05-01") + "facts: {}\n",
                           ["does not match"]),
    "unknown_flag": (GOOD_UNIT.replace("region: ĐBSH", "region: ĐBSH\n  flags: [especialy_difficult]") + "facts: {}\n",
                     ["unknown flag", "did you mean 'especially_difficult'"]),
    "alias_bomb": ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                   "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", ["too many values"]),
    "python_tag": ("!!python/object/apply:os.system ['echo pwned']\n", ["not valid YAML"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_dossier_is_refused_clearly(tmp_path, name):
    text, needles = CASES[name]
    path = write(tmp_path, "dossier.yaml", text)
    code, out = run_cli("evaluate", path)
    assert code == 2, out
    assert "Traceback" not in out
    assert "dossier.yaml" in out
    for n in needles:
        assert n in out, (n, out)


def test_binary_and_non_utf8_files(tmp_path):
    b = tmp_path / "bin.yaml"
    b.write_bytes(b"\x00\x01\x02unit")
    code, out = run_cli("evaluate", str(b))
    assert code == 2 and "binary" in out
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: X\xe3 A\n".encode("latin-1"))
    code, out = run_cli("evaluate", str(latin))
    assert code == 2 and "UTF-8" in out


def test_missing_file_and_folder(tmp_path):
    code, out = run_cli("evaluate", str(tmp_path / "nope.yaml"))
    assert code == 2 and "cannot read" in out
    code, out = run_cli("evaluate", str(tmp_path))
    assert code == 2 and "folder" in out


def test_json_dossier_errors_have_lines(tmp_path):
    path = write(tmp_path, "d.json", '{"unit": {"level": "commune", "code": "x", "name": "X", "region": "ĐBSH"},\n'
                                     ' "assessment": {"year": 2024},\n "facts": {"income_per_capita": NaN}}\n')
    code, out = run_cli("evaluate", path)
    assert code == 2 and "NaN" in out
    path = write(tmp_path, "e.json", '{"unit": {"level": "commune", "code": "x", "name": "X", "region": "ĐBSH"},\n'
                                     ' "assessment": {"year": 2024},\n "facts": {"income_per_capita": "50"}}\n')
    code, out = run_cli("evaluate", path)
    assert code == 2 and "e.json:3" in out and "without quotes" in out


def test_all_problems_are_reported_at_once(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD_UNIT + "facts:\n  income_per_capita: 'x'\n  hygienic_water_household_pct: 101\n")
    code, out = run_cli("evaluate", path)
    assert code == 2
    assert "income_per_capita" in out and "hygienic_water_household_pct" in out


def test_bad_options_exit_2(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD_UNIT + "facts: {}\n")
    assert run_cli("evaluate", path, "--format", "pdf")[0] == 2
    code, out = run_cli("evaluate", path, "--require", "standrd")
    assert code == 2 and "did you mean 'standard'" in out
    code, out = run_cli("evaluate", path, "--tier", "gold")
    assert code == 2 and "unknown tier" in out
    code, out = run_cli("evaluate", path, "--ruleset", "vn-2021-2026")
    assert code == 2 and "did you mean 'vn-2021-2025'" in out


def test_output_file_is_never_overwritten(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD_UNIT + "facts: {}\n")
    target = tmp_path / "out.json"
    target.write_text("precious", encoding="utf-8")
    code, out = run_cli("evaluate", path, "-f", "json", "-o", str(target))
    assert code == 2 and "--force" in out
    assert target.read_text(encoding="utf-8") == "precious"
    code, _ = run_cli("evaluate", path, "-f", "json", "-o", str(target), "--force")
    assert code == 0 and target.read_text(encoding="utf-8").startswith("{")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".ntm-")]


def test_malformed_dossier_through_a_real_process(tmp_path):
    """The console script itself, as a user runs it: no traceback, exit 2."""
    path = write(tmp_path, "bad.yaml", "unit: [not, a, mapping\n")
    proc = subprocess.run([sys.executable, "-m", "ntm.cli", "evaluate", path], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "bad.yaml:2" in proc.stderr or "bad.yaml:1" in proc.stderr


def test_typer_runner_bad_input(tmp_path):
    path = write(tmp_path, "d.yaml", GOOD_UNIT + "facts:\n  income_per_capita: 'abc'\n")
    result = CliRunner().invoke(app, ["evaluate", path])
    # through typer's runner the library error surfaces as an exception the entry point would format
    from ntm.errors import NtmInputError

    assert isinstance(result.exception, NtmInputError)
    assert "income_per_capita" in result.exception.render()


def test_output_to_a_device_writes_through_it(tmp_path):
    """`-o /dev/stdout` (or a pipe) must be written to, never renamed over: that would destroy the device."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, encoding="utf-8").read()))
    reader.start()
    path = write(tmp_path, "d.yaml", GOOD_UNIT + "facts: {}\n")
    code, _ = run_cli("evaluate", path, "-f", "json", "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 0 and got and got[0].startswith("{")
    import stat

    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    code, out = run_cli("evaluate", path, "-f", "json", "-o", str(tmp_path))
    assert code == 2 and "folder" in out
