"""Hypothesis against every reader, in-process: each generated file either reads (and then evaluates to a valid,
deterministic outcome that the reference evaluator agrees with) or is refused with an NtmInputError that says
where and what. Any other exception is a bug.

CI: a few hundred derandomised examples in all. `--runslow`: thousands, random.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from fuzzkit import COMMUNE, EXAMPLES, OVERLAY, ci, long
from hypothesis import given, note
from hypothesis import strategies as st

from ntm.casefile import load_cases, run_case
from ntm.criteria.dossier import load_dossier, observations
from ntm.criteria.loader import load_ruleset, load_ruleset_file, shipped_paths
from ntm.criteria.overlay import load_overlay
from ntm.criteria.yamlsrc import load, parse
from ntm.engine import oracle
from ntm.engine.evaluate import evaluate, evaluate_file, gather, resolved_for, to_json
from ntm.errors import EngineFailure, NtmInputError

COMMUNES = sorted(p for p in EXAMPLES.glob("xa-*.yaml"))
DISTRICT = EXAMPLES / "huyen-vi-du.yaml"
RULESET_2021 = Path(shipped_paths()["vn-2021-2025"])
CASE_FILES = sorted(Path(RULESET_2021).parent.glob("tests/*.yaml"))
_SEQ = itertools.count()

TIER_STATUS = {"met", "not_met", "indeterminate"}
IND_STATUS = {"pass", "fail", "missing", "not_applicable", "indeterminate"}

# ---------------------------------------------------------------- generated values and mutations

NFD_XA = unicodedata.normalize("NFD", "Xã Tân Lộc")
NASTY_SCALARS = [
    None, True, False, 0, -0.0, 1, -1, 1e308, -1e308, 5e-324, 1e-320, 10**400, -(10**400), 2**63, 0.1 + 0.2,
    1.0000001, 99.9999999, "61,2", "1e3", " 61 ", "61.2%", "NaN", ".inf", "-.inf", "∞", "", " ", "\u200b",
    "\u202eĐNB", "ĐNB\u200d", "yes", "no", "on", "null", "~", "0x10", "010", "1:30", "2024-02-30", "2024-10-20",
    NFD_XA, unicodedata.normalize("NFD", "ĐNB"), "x" * 5000, "!!python/object/apply:os.system", "*alias",
    "&anchor", "{{}}", "[[[", "'\"", "\t", "\r\n", "\x85", "\u2028", "\ufeff", "😀", "\U0010ffff",
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(2024, 1, 1, 12, 0), [], {}, [[]], {"value": None},
    {"value": {"value": 1}}, {"evidence": "x"}, [1, 2, 3],
]

scalars = st.one_of(
    st.sampled_from(NASTY_SCALARS),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.booleans(),
    st.dates(),
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def locations(data, loc=()):
    yield loc
    if isinstance(data, dict):
        for k, v in data.items():
            yield from locations(v, loc + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from locations(v, loc + (i,))


def _parent(data, loc):
    for part in loc[:-1]:
        data = data[part]
    return data


def rename_key(key: str, how: str) -> str:
    return {"nfd": unicodedata.normalize("NFD", key), "upper": key.upper(), "zw": key + "\u200b",
            "space": f" {key} ", "typo": key[:-1] or "_", "rtl": "\u202e" + key}[how]


@st.composite
def mutated(draw, data, max_ops: int = 3):
    """A copy of `data` with 1..max_ops mutations at drawn locations: replace, delete, rename, wrap, add."""
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, max_ops))):
        locs = list(locations(data))
        loc = draw(st.sampled_from(locs))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "rename", "wrap", "add"]))
        if not loc:
            if op == "replace":
                data = draw(values)
            continue
        parent, key = _parent(data, loc), loc[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict) and isinstance(key, str):
            new = rename_key(key, draw(st.sampled_from(["nfd", "upper", "zw", "space", "typo", "rtl"])))
            parent[new] = parent.pop(key)
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}, {"x": parent[key]}]))
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif op == "add" and isinstance(parent, list):
            parent.append(draw(values))
        if not isinstance(data, (dict, list)):
            break
    return data


def dump(data, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=bool(len(str(data)) % 2), default=str, allow_nan=True)
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True,
                     sort_keys=False)


@st.composite
def line_edits(draw, text: str) -> str:
    """Text-level damage a hand edit or a bad export does: drop/duplicate/indent a line, splice junk, truncate."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["drop", "dup", "indent", "dedent", "junk", "truncate", "tab", "crlf"]))
        if op == "drop" and lines:
            del lines[i]
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "indent" and lines:
            lines[i] = "  " + lines[i]
        elif op == "dedent" and lines:
            lines[i] = lines[i].lstrip()
        elif op == "tab" and lines:
            lines[i] = "\t" + lines[i]
        elif op == "crlf" and lines:
            lines[i] += "\r"
        elif op == "junk" and lines:
            junk = draw(st.sampled_from(["&a", "*a", "*nope", "!!python/name:os.system", "<<: *a", "? [x]", "{",
                                         "[", "]", "}", "'", '"', "%YAML 1.1", "---", "...", ": :", "- -", "|",
                                         ">", "#", "@", "`", "\x7f", "\u0085", "\ufeff", "!!binary AAAA",
                                         "!!timestamp 2024-99-99", "!!int x", "!!float y", "!!bool z", "!!set"]))
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + junk + lines[i][pos:]
        elif op == "truncate":
            cut = draw(st.integers(0, len(text)))
            return "\n".join(lines)[:cut]
    return "\n".join(lines)


# ---------------------------------------------------------------- properties


def refused_clearly(e: NtmInputError) -> None:
    assert e.problems, "an NtmInputError without problems"
    for p in e.problems:
        assert p.message.strip(), e.render()
        assert p.file or p.field, f"a problem that names neither a file nor a field: {p}"
    assert "Traceback" not in e.render()


def check_outcome(outcome, inputs=None) -> None:
    """A successful evaluation is well-formed, canonical and agrees with the reference evaluator."""
    text = to_json(outcome)
    assert text == to_json(outcome)
    parsed = json.loads(text)
    assert parsed["unit"]["code"] == outcome.unit.code
    for t in outcome.tiers:
        assert t.status in TIER_STATUS
        for c in t.criteria:
            for i in c.indicators:
                assert i.status in IND_STATUS
    if inputs is not None and not inputs.dossier.dossier.communes:
        ref = oracle.evaluate(resolved_for(inputs), observations(inputs.dossier, inputs.ruleset.ruleset))
        for t in outcome.tiers:
            want = ref.get(("tier", t.id), "indeterminate")  # the oracle leaves undecided tiers out
            assert want == t.status, (t.id, t.status, want)


def read_and_evaluate(path: str, overlay: str | None = None, ruleset: str | None = None):
    try:
        inputs = gather(path, ruleset, overlay)
        outcome = evaluate(inputs)
    except NtmInputError as e:
        refused_clearly(e)
        return None
    check_outcome(outcome, inputs)
    return outcome


def write(folder: Path, suffix: str, text: str | bytes) -> str:
    """A fresh name per example: readers memoise by (path, mtime, size), and a rewrite can share all three."""
    p = folder / f"f{next(_SEQ)}{suffix}"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8", errors="surrogatepass")
    return str(p)


_BASES = {p: load(str(p)).data for p in COMMUNES}


def _dossier_mutation(tmp_path, data):
    base = data.draw(st.sampled_from(COMMUNES))
    fmt = data.draw(st.sampled_from(["yaml", "json"]))
    doc = data.draw(mutated(_BASES[base]))
    try:
        text = dump(doc, fmt)
    except (ValueError, UnicodeEncodeError, yaml.YAMLError):  # unrepresentable (e.g. a lone surrogate)
        return
    note(text[:2000])
    with_overlay = data.draw(st.booleans()) and "2018" not in base.name
    read_and_evaluate(write(tmp_path, "." + fmt, text), str(OVERLAY) if with_overlay else None)


@given(data=st.data())
@ci(60)
def test_mutated_dossiers_read_or_refuse(tmp_path, data):
    _dossier_mutation(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(3000)
def test_mutated_dossiers_read_or_refuse_long(tmp_path, data):
    _dossier_mutation(tmp_path, data)


def _dossier_text_edit(tmp_path, data):
    base = data.draw(st.sampled_from(COMMUNES))
    text = data.draw(line_edits(base.read_text(encoding="utf-8")))
    note(text)
    read_and_evaluate(write(tmp_path, ".yaml", text))


@given(data=st.data())
@ci(40)
def test_hand_edited_dossiers_read_or_refuse(tmp_path, data):
    _dossier_text_edit(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(3000)
def test_hand_edited_dossiers_read_or_refuse_long(tmp_path, data):
    _dossier_text_edit(tmp_path, data)


def _district_mutation(tmp_path, data):
    folder = tmp_path / f"d{next(_SEQ)}"
    folder.mkdir()
    for p in COMMUNES:
        shutil.copy(p, folder / p.name)
    doc = data.draw(mutated(load(str(DISTRICT)).data, max_ops=2))
    try:
        text = dump(doc, "yaml")
    except (ValueError, yaml.YAMLError):
        return
    note(text)
    (folder / "huyen.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    read_and_evaluate(str(folder / "huyen.yaml"), str(OVERLAY))


@given(data=st.data())
@ci(12)
def test_mutated_district_dossiers_read_or_refuse(tmp_path, data):
    _district_mutation(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(500)
def test_mutated_district_dossiers_read_or_refuse_long(tmp_path, data):
    _district_mutation(tmp_path, data)


YAMLISH = st.lists(st.sampled_from(
    ["a", "unit", "facts", ":", ": ", "\n", "\n  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "!!str ",
     "!!python/object:os.system ", "<<: ", "? ", "|", ">", "'", '"', "#", "1", "0", "-", ".", "e", "_", "x" * 30,
     "Đ", "ã", "\u0303", "\t", "\r", "\ufeff", "\x00", "\x85", "---", "...", "%TAG ! tag:x,2000:\n", "\\u00e3"]),
    max_size=60).map("".join)


def _raw_text(tmp_path, data):
    kind = data.draw(st.sampled_from(["yamlish", "text", "bytes"]))
    body = {"yamlish": YAMLISH, "text": st.text(max_size=300), "bytes": st.binary(max_size=300)}[kind]
    raw = data.draw(body)
    suffix = data.draw(st.sampled_from([".yaml", ".json", ".yml", ""]))
    path = write(tmp_path, suffix, raw)
    for reader in (lambda: load_dossier(path), lambda: load_overlay(path, load_ruleset("vn-2021-2025").ruleset),
                   lambda: load_ruleset_file(path), lambda: load_cases(path)):
        try:
            reader()
        except NtmInputError as e:
            refused_clearly(e)


@given(data=st.data())
@ci(120)
def test_arbitrary_bytes_and_text_never_crash_a_reader(tmp_path, data):
    _raw_text(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(5000)
def test_arbitrary_bytes_and_text_never_crash_a_reader_long(tmp_path, data):
    _raw_text(tmp_path, data)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20)


@given(value=json_values, ascii_only=st.booleans())
@ci(120)
def test_valid_json_reads_as_the_same_value(tmp_path, value, ascii_only):
    """A JSON file is read with the YAML composer (for line numbers): it must mean exactly what JSON says."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    path = write(tmp_path, ".json", text)
    try:
        got = load(path).data
    except NtmInputError as e:
        if value is None or value == {} or value == []:
            return
        raise AssertionError(f"valid JSON refused: {text!r}: {e.render()}") from None
    assert got == value


# ---------------------------------------------------------------- rulesets, overlays, case files

_RS_TEXT = RULESET_2021.read_text(encoding="utf-8")
_RS_LINES = _RS_TEXT.split("\n")
_EDITABLE = [i for i, line in enumerate(_RS_LINES) if ":" in line and not line.lstrip().startswith("#")]


@st.composite
def ruleset_edits(draw) -> str:
    """Change one value on one line of the shipped ruleset (a threshold, an op, a fact, a type, a key)."""
    lines = list(_RS_LINES)
    for _ in range(draw(st.integers(1, 2))):
        i = draw(st.sampled_from(_EDITABLE))
        key, _, rest = lines[i].partition(":")
        new = draw(st.one_of(
            st.sampled_from([" 0", " -1", " 1e308", " .nan", " .inf", " 101", " 010", " 1:30", " '61,2'", " yes",
                             " null", " ~", " []", " {}", " '>='", " '=>'", " '!='", " percent", " boolean",
                             " money", " count", " area", " text", " 2024-02-30", " 1900-01-01", " *x", " &x 1",
                             " !!python/object/apply:os.system ['touch PWNED']", " 99999999999999999999999",
                             " income_per_capita", " no_such_fact", " ĐNB", " " + unicodedata.normalize("NFD", "ĐNB")]),
            st.text(max_size=12).map(lambda s: " " + json.dumps(s, ensure_ascii=False)),
        ))
        how = draw(st.sampled_from(["value", "value", "value", "key", "drop", "dup"]))
        if how == "value":
            lines[i] = f"{key}:{new}" if rest.strip() else lines[i]
        elif how == "key":
            lines[i] = rename_key(key, draw(st.sampled_from(["nfd", "upper", "zw", "typo"]))) + ":" + rest
        elif how == "drop":
            del lines[i]
        else:
            lines.insert(i, lines[i])
    return "\n".join(lines)


def _ruleset_mutation(tmp_path, data):
    text = data.draw(ruleset_edits())
    path = write(tmp_path, ".yaml", text)
    try:
        load_ruleset_file(path)
    except NtmInputError as e:
        refused_clearly(e)
        assert any(p.file == path for p in e.problems), e.render()
        return
    # it still reads: a dossier judged by it evaluates, or is refused clearly; the engine never fails on it
    try:
        read_and_evaluate(str(COMMUNE), ruleset=path)
    except EngineFailure as e:  # pragma: no cover - a finding, reported with the ruleset text
        raise AssertionError(f"engine failure on a ruleset that validated: {e}") from None


@given(data=st.data())
@ci(10)
def test_mutated_rulesets_validate_or_refuse_with_a_line(tmp_path, data):
    _ruleset_mutation(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(800)
def test_mutated_rulesets_validate_or_refuse_with_a_line_long(tmp_path, data):
    _ruleset_mutation(tmp_path, data)


_OV_DATA = load(str(OVERLAY)).data


def _overlay_mutation(tmp_path, data):
    doc = data.draw(mutated(_OV_DATA, max_ops=2))
    try:
        text = dump(doc, data.draw(st.sampled_from(["yaml", "json"])))
    except (ValueError, yaml.YAMLError):
        return
    note(text[:3000])
    read_and_evaluate(str(COMMUNE), overlay=write(tmp_path, ".yaml", text))


@given(data=st.data())
@ci(25)
def test_mutated_overlays_apply_or_refuse(tmp_path, data):
    _overlay_mutation(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(1500)
def test_mutated_overlays_apply_or_refuse_long(tmp_path, data):
    _overlay_mutation(tmp_path, data)


def _case_mutation(tmp_path, data):
    src = data.draw(st.sampled_from(CASE_FILES))
    doc = data.draw(mutated(load(str(src)).data, max_ops=2))
    try:
        text = dump(doc, "yaml")
    except (ValueError, yaml.YAMLError):
        return
    path = write(tmp_path, ".yaml", text)
    try:
        cf, _ = load_cases(path)
        for case in cf.cases[:3]:
            run_case(cf, case, path)
    except NtmInputError as e:
        refused_clearly(e)


@given(data=st.data())
@ci(10)
def test_mutated_case_files_load_or_refuse(tmp_path, data):
    _case_mutation(tmp_path, data)


@pytest.mark.slow
@given(data=st.data())
@long(800)
def test_mutated_case_files_load_or_refuse_long(tmp_path, data):
    _case_mutation(tmp_path, data)


# ---------------------------------------------------------------- targeted properties


def test_an_overlay_that_loosens_a_threshold_is_refused(tmp_path):
    """15.1 is >= 90 nationally; the example overlay tightens it to 95. Lowering it to 80 must be refused."""
    rs = load_ruleset("vn-2021-2025").ruleset
    doc = copy.deepcopy(_OV_DATA)
    entry = next(t for t in doc["thresholds"] if t["tier"] == "standard" and t["indicator"] == "15.1")
    assert load_overlay(write(tmp_path, ".yaml", dump(doc, "yaml")), rs)  # as shipped: fine
    entry["threshold"]["value"] = 80
    with pytest.raises(NtmInputError) as e:
        load_overlay(write(tmp_path, ".yaml", dump(doc, "yaml")), rs)
    assert "looser than the national >= 90" in e.value.render()
    assert "thresholds[1].threshold" in e.value.render()


def test_decomposed_vietnamese_is_read_like_composed(tmp_path):
    """NFD text (as macOS and some exports write it) must not change a decision."""
    nfc = COMMUNE.read_text(encoding="utf-8")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    a = evaluate_file(write(tmp_path, ".yaml", nfc))
    b = evaluate_file(write(tmp_path, ".yaml", nfd))
    assert b.unit.region == a.unit.region == "ĐNB"
    assert [(t.id, t.status, t.criteria_met) for t in a.tiers] == [(t.id, t.status, t.criteria_met) for t in b.tiers]


@pytest.mark.parametrize("how", ["zw", "rtl", "upper", "typo"])
def test_invisible_or_changed_characters_in_a_fact_id_are_refused_with_a_hint(tmp_path, how):
    text = COMMUNE.read_text(encoding="utf-8").replace("  income_per_capita:",
                                                      "  " + rename_key("income_per_capita", how) + ":")
    with pytest.raises(NtmInputError) as e:
        evaluate_file(write(tmp_path, ".yaml", text))
    assert "did you mean 'income_per_capita'" in e.value.render()


@pytest.mark.parametrize("literal, fragment", [
    ("010", "not a plain decimal"), ("0x10", "not a plain decimal"), ("1:30", "not a plain decimal"),
    ("0b11", "not a plain decimal"), ("'61,2'", "without quotes"), ("1e3", "got '1e3'"), (".nan", "not a finite"),
    ("-.inf", "not a finite"), ("1.0e+400", "not a finite"), ("9" * 5000, "cannot be read as a whole number"),
    ("!!float abc", "cannot be read as a number"), ("!!int 0x", "cannot be read"), ("!!bool maybe", "cannot be read"),
    ("2024-02-30", "cannot be read as a date"), ("!!timestamp x", "cannot be read as a date"),
    ("[1, 2]", "got list"), ("{a: 1}", "unknown field 'a'"), ("yes", "expected a number"),
])
def test_numbers_that_are_not_what_they_seem(tmp_path, literal, fragment):
    text = COMMUNE.read_text(encoding="utf-8").replace("multidim_poverty_rate_pct: 0.82",
                                                      f"multidim_poverty_rate_pct: {literal}")
    with pytest.raises(NtmInputError) as e:
        evaluate_file(write(tmp_path, ".yaml", text))
    assert fragment in e.value.render()
    assert ":49" in e.value.render() or "multidim_poverty_rate_pct" in e.value.render()


@pytest.mark.parametrize("literal", ["1_0", "+1", ".5", "1.", "0.50", "1.5e-1", "-0.0", "0"])
def test_plain_decimal_forms_still_read(tmp_path, literal):
    text = COMMUNE.read_text(encoding="utf-8").replace("multidim_poverty_rate_pct: 0.82",
                                                      f"multidim_poverty_rate_pct: {literal}")
    read = load(write(tmp_path, ".yaml", text)).data["facts"]["multidim_poverty_rate_pct"]
    assert read == float(literal.replace("_", ""))


def test_nothing_in_a_file_is_ever_executed(tmp_path, monkeypatch):
    marker = tmp_path / "PWNED"
    monkeypatch.chdir(tmp_path)
    payloads = [
        f"!!python/object/apply:os.system ['touch {marker}']",
        f"!!python/object/apply:subprocess.call [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
        f"!!python/object/new:os.system ['touch {marker}']",
    ]
    base = COMMUNE.read_text(encoding="utf-8")
    for payload in payloads:
        for text in (payload + "\n", base + f"note: {payload}\n", base.replace("income_per_capita: {", f"x: {payload}\n  income_per_capita: {{")):
            for reader in (load_dossier, lambda p: load_ruleset_file(p), lambda p: load_cases(p)):
                with pytest.raises(NtmInputError):
                    reader(write(tmp_path, ".yaml", text))
        with pytest.raises(NtmInputError):
            load_overlay(write(tmp_path, ".yaml", payload + "\n"), load_ruleset("vn-2021-2025").ruleset)
    assert not marker.exists()


@pytest.mark.parametrize("depth", [66, 1000, 100_000])
def test_deep_nesting_is_refused_fast(tmp_path, depth):
    block = min(depth, 2000)
    for text, suffix in (("[" * depth + "]" * depth, ".yaml"), ("{a: " * depth + "1" + "}" * depth, ".yaml"),
                         ('{"a": ' * depth + "1" + "}" * depth, ".json"), ("[" * depth + "]" * depth, ".json"),
                         ("".join("  " * i + "a:\n" for i in range(block)) + "  " * block + "b: 1\n", ".yaml")):
        with pytest.raises(NtmInputError) as e:
            parse(text, "deep" + suffix)
        assert "deep" in e.value.render() or "nest" in e.value.render()


def test_billion_laughs_is_refused(tmp_path):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(NtmInputError) as e:
        load_dossier(write(tmp_path, ".yaml", "\n".join(lines) + "\n"))
    assert "too many values" in e.value.render()


def test_anchors_and_merge_keys_mean_what_they_say(tmp_path):
    """Aliases and << are plain YAML: allowed, expanded, and a merged key never duplicates silently."""
    text = COMMUNE.read_text(encoding="utf-8").replace(
        "unit:\n", "unit: &u\n").replace("assessment:\n", "x_unit: *u\nassessment:\n", 1)
    with pytest.raises(NtmInputError) as e:
        load_dossier(write(tmp_path, ".yaml", text))
    assert "unknown field 'x_unit'" in e.value.render()
    merged = ("base: &b {level: commune, code: '1', name: X, region: ĐNB}\n"
              "unit:\n  <<: *b\n  name: Y\nassessment: {year: 2024}\nfacts: {}\n")
    data = parse(merged, "m.yaml").data
    assert data["unit"]["name"] == "Y" and data["unit"]["region"] == "ĐNB"
