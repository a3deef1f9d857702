"""Hand-made nasty files (tests/fuzz/corpus) and generated hostile files, through the real `ntm` command.

Each corpus file says on its first line (or, for files that cannot hold a comment, in `<name>.expect`):
    # expect: <exit code> <dossier|overlay|ruleset> — what it attacks
    # message: <text the error must contain>            (optional)
Every refusal must be exit code 2 with an `error:` message, no traceback, within bounded time and memory, and
`-o out.json` must leave neither the output nor a temporary file behind (nor replace an existing file).
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fuzzkit import (
    COMMUNE,
    OVERLAY,
    ROOT,
    assert_clean_refusal,
    leftovers,
    run_main,
    run_ntm,
)

from ntm.engine.evaluate import evaluate_file, to_json

CORPUS = Path(__file__).parent / "corpus"
MARKER = "PWNED"  # what the corpus's exec payloads would create (relative to the working folder)
_EXPECT = re.compile(r"#\s*expect:\s*(\d)\s+(dossier|overlay|ruleset)\b")
_MESSAGE = re.compile(r"#\s*message:\s*(.+)")


def expectation(path: Path) -> tuple[int, str, str | None]:
    side = path.with_name(path.name + ".expect")
    head = (side if side.exists() else path).read_bytes()[:600].decode("utf-8", "replace")
    m = _EXPECT.search(head.split("\n", 1)[0])
    assert m, f"{path.name}: first line must be '# expect: <code> <kind> — ...' (or give {side.name})"
    msg = _MESSAGE.search(head)
    return int(m.group(1)), m.group(2), msg.group(1).strip() if msg else None


# files only: corpus/campaign/ holds the fuzz campaign's reproducers (tests/fuzz/test_campaign.py)
CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.endswith(".expect"))


def command(kind: str, path, out: Path) -> list:
    if kind == "dossier":
        return ["evaluate", path, "-f", "json", "-o", out]
    if kind == "overlay":
        return ["evaluate", COMMUNE, "--overlay", path, "-f", "json", "-o", out]
    return ["rulesets", "show", path, "-f", "json"]


# the files whose danger is time or memory also run in a separate, rlimit-bounded process (all do with --runslow)
IN_A_PROCESS = {"billion-laughs.yaml", "self-alias.yaml", "deep-flow.yaml", "deep-block.yaml", "deep.json",
                "tag-python-exec.yaml", "tag-python-new.yaml", "huge-int.yaml", "bigint.json", "anchors-valid.yaml",
                "escaped-astral.json", "overlay-loosens.yaml", "ruleset-laughs.yaml", "district-self.yaml"}


def _run_corpus(base: Path, path: Path, runner):
    code, kind, msg = expectation(path)
    work = base / path.name
    work.mkdir()
    out = work / "out.json"
    return code, kind, msg, work, out, runner(*command(kind, path, out), cwd=work)


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    """Every corpus file once, through the real entry point in this process (fast)."""
    base = tmp_path_factory.mktemp("corpus-runs")
    return {p.name: _run_corpus(base, p, run_main) for p in CORPUS_FILES}


def test_every_corpus_file_declares_what_it_expects():
    assert len(CORPUS_FILES) >= 40
    for p in CORPUS_FILES:
        expectation(p)


def check_corpus_run(name, code, kind, msg, work, out, run):
    assert run.seconds < 20, f"{name} took {run.seconds:.1f}s"
    assert not (work / MARKER).exists() and not (CORPUS / MARKER).exists(), "a payload in a file was executed"
    if code == 0:
        assert run.code == 0, f"{name} should be valid: {run.stderr}"
        if kind in ("dossier", "overlay"):
            outcome = json.loads(out.read_text(encoding="utf-8"))
            assert outcome["tiers"], name
    else:
        assert_clean_refusal(run, want=code)
        assert run.stdout == "", f"{name}: nothing may be printed on stdout when refusing"
        if msg:
            assert msg in run.stderr, f"{name}: expected '{msg}' in: {run.stderr}"
        assert not out.exists(), f"{name}: an output file was written for a refused input"
    assert leftovers(work) == [], f"{name}: temporary files left behind"


@pytest.mark.parametrize("name", [p.name for p in CORPUS_FILES])
def test_corpus_file(corpus_runs, name):
    check_corpus_run(name, *corpus_runs[name])


@pytest.mark.parametrize("name", [pytest.param(p.name, marks=() if p.name in IN_A_PROCESS else pytest.mark.slow)
                                  for p in CORPUS_FILES])
def test_corpus_file_in_a_bounded_process(tmp_path, name):
    check_corpus_run(name, *_run_corpus(tmp_path, CORPUS / name, run_ntm))


def test_nfd_dossier_decides_like_its_nfc_original(corpus_runs, tmp_path):
    """The decomposed (NFD) corpus dossier must give the same decision as its composed (NFC) form."""
    _, _, _, _, out, run = corpus_runs["nfd-names.yaml"]
    assert run.code == 0
    nfd = json.loads(out.read_text(encoding="utf-8"))
    nfc_path = tmp_path / "nfc.yaml"
    nfc_path.write_text(unicodedata.normalize("NFC", (CORPUS / "nfd-names.yaml").read_text(encoding="utf-8")),
                        encoding="utf-8")
    nfc = json.loads(to_json(evaluate_file(str(nfc_path))))
    assert nfd["unit"]["region"] == nfc["unit"]["region"] == "ĐNB"
    assert [(t["id"], t["status"], t["criteria_met"]) for t in nfd["tiers"]] == \
        [(t["id"], t["status"], t["criteria_met"]) for t in nfc["tiers"]]


# ---------------------------------------------------------------- files made at test time


def _big(path: Path, size: int, chunk: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(b"# filler\n")
        block = chunk * (1 << 20 // len(chunk) + 1)
        while fh.tell() < size:
            fh.write(block[: size - fh.tell()])


def _generated(tmp: Path) -> dict[str, tuple[list, str]]:
    """name -> (ntm arguments, text the error must contain). Large files are sparse-free real bytes."""
    base = COMMUNE.read_text(encoding="utf-8")
    cases: dict[str, tuple[list, str]] = {}

    def dossier(name, data: bytes, fragment):
        p = tmp / name
        p.write_bytes(data)
        cases[name] = (["evaluate", p, "-f", "json", "-o", tmp / f"{name}.out.json"], fragment)

    dossier("utf16.yaml", base.encode("utf-16"), "binary file")
    dossier("utf16-no-bom.yaml", base.encode("utf-16-le"), "binary file")
    dossier("latin1.yaml", base.encode("cp1258", "replace"), "not UTF-8")
    dossier("nul.yaml", base.encode() + b"\x00\n", "binary file")
    dossier("random.bin", bytes((i * 7919 + 13) % 256 for i in range(4096)), "")
    dossier("random.json", bytes((i * 104729 + 7) % 256 for i in range(4096)), "")
    dossier("truncated-utf8.yaml", base.encode()[: base.encode().index("Tân".encode()) + 2], "not UTF-8")
    p = tmp / "too-large.yaml"
    _big(p, 21 * 1024 * 1024, b"# " + b"x" * 70 + b"\n")
    cases["too-large.yaml"] = (["evaluate", p], "too large")
    p = tmp / "fifty-mb.json"
    _big(p, 50 * 1024 * 1024, b" ")
    cases["fifty-mb.json"] = (["evaluate", p], "too large")
    p = tmp / "many-values.yaml"
    with open(p, "w", encoding="utf-8") as fh:  # under the size limit, over the value limit: refused early
        fh.write("a: [" + "1," * 600_000 + "1]\n")
    cases["many-values.yaml"] = (["evaluate", p], "too many values")
    p = tmp / "long-comment.yaml"  # near the size limit but harmless: must still be read (and refused on content)
    with open(p, "w", encoding="utf-8") as fh:
        fh.write(base.replace("unit:\n", "#" + "x" * (12 * 1024 * 1024) + "\nunit:\n", 1).replace("region: ĐNB", "region: XYZ"))
    cases["long-comment.yaml"] = (["evaluate", p], "unknown region 'XYZ'")
    cases["folder"] = (["evaluate", tmp], "folder")
    cases["missing"] = (["evaluate", tmp / "nope.yaml"], "No such file")
    link = tmp / "dangling.yaml"
    link.symlink_to(tmp / "nowhere.yaml")
    cases["dangling-symlink"] = (["evaluate", link], "cannot read")
    fifo = tmp / "fifo.yaml"
    os.mkfifo(fifo)
    cases["fifo-without-writer"] = (["evaluate", fifo], "not a regular file")  # refused before opening
    if os.path.exists("/dev/zero"):
        cases["dev-zero"] = (["evaluate", "/dev/zero"], "not a regular file")
        cases["dev-zero-overlay"] = (["evaluate", COMMUNE, "--overlay", "/dev/zero"], "not a regular file")
        cases["dev-zero-ruleset"] = (["rulesets", "show", "/dev/zero"], "not a regular file")
    cases["overlay-folder"] = (["evaluate", COMMUNE, "--overlay", tmp], "folder")
    cases["overlay-missing"] = (["evaluate", COMMUNE, "--overlay", tmp / "nope.yaml"], "No such file")
    cases["ruleset-missing"] = (["evaluate", COMMUNE, "--ruleset", tmp / "nope.yaml"], "no shipped ruleset")
    cases["ruleset-typo"] = (["evaluate", COMMUNE, "--ruleset", "vn-2021-2052"], "did you mean 'vn-2021-2025'")
    for junk in ("2024-02-30", "yesterday", "", "2024-10-20T00:00", "١٢٣٤-٠١-٠١"):  # 20241020 is ISO basic: read
        cases[f"as-of {junk!r}"] = (["evaluate", COMMUNE, "--as-of", junk], "--as-of")
    cases["tier-typo"] = (["evaluate", COMMUNE, "--tier", "standrad"], "did you mean 'standard'")
    cases["require-typo"] = (["evaluate", COMMUNE, "--require", "modle"], "did you mean 'model'")
    cases["format-typo"] = (["evaluate", COMMUNE, "-f", "jsn"], "'jsn' is not one of")
    cases["lang-typo"] = (["evaluate", COMMUNE, "--lang", "vn"], "'vn' is not one of")
    cases["region-typo"] = (["rulesets", "show", "vn-2021-2025", "--region", "DNB"], "unknown region")
    return cases


@pytest.fixture(scope="module")
def generated_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generated")
    cases = _generated(tmp)

    def one(item):
        name, (args, fragment) = item
        work = tmp_path_factory.mktemp("work")
        runner = run_main if name in IN_THIS_PROCESS else run_ntm
        return name, (fragment, work, runner(*args, cwd=work))

    quick = [c for c in cases.items() if c[0] in IN_THIS_PROCESS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(pool.map(one, [c for c in cases.items() if c[0] not in IN_THIS_PROCESS]))
    runs.update(map(one, quick))  # in-process runs change the working folder: one at a time
    return tmp, runs


IN_THIS_PROCESS = {"utf16.yaml", "utf16-no-bom.yaml", "latin1.yaml", "nul.yaml", "random.bin", "random.json",
                   "truncated-utf8.yaml", "folder", "missing", "dangling-symlink", "overlay-folder", "overlay-missing",
                   "ruleset-missing", "ruleset-typo", "tier-typo", "require-typo", "format-typo", "lang-typo",
                   "region-typo"} | {n for n in ("as-of '2024-02-30'", "as-of 'yesterday'", "as-of ''",
                                                 "as-of '2024-10-20T00:00'", "as-of '١٢٣٤-٠١-٠١'")}
USAGE = {"format-typo", "lang-typo"}  # refused by the option parser (click): exit 2 and its own "Error" box
GENERATED_NAMES = ["utf16.yaml", "utf16-no-bom.yaml", "latin1.yaml", "nul.yaml", "random.bin", "random.json",
                   "truncated-utf8.yaml", "too-large.yaml", "fifty-mb.json", "many-values.yaml",
                   "long-comment.yaml", "folder", "missing", "dangling-symlink", "fifo-without-writer", "dev-zero",
                   "dev-zero-overlay", "dev-zero-ruleset", "overlay-folder", "overlay-missing", "ruleset-missing",
                   "ruleset-typo", "as-of '2024-02-30'", "as-of 'yesterday'", "as-of ''",
                   "as-of '2024-10-20T00:00'", "as-of '١٢٣٤-٠١-٠١'", "tier-typo", "require-typo", "format-typo",
                   "lang-typo", "region-typo"]


@pytest.mark.parametrize("name", GENERATED_NAMES)
def test_generated_hostile_input(generated_runs, name):
    tmp, runs = generated_runs
    if name not in runs:
        pytest.skip("not available on this system")
    fragment, work, run = runs[name]
    if name in USAGE:
        assert run.code == 2 and "Traceback" not in run.stderr and "Invalid value" in run.stderr, run.stderr
    else:
        assert_clean_refusal(run)
    assert fragment in run.stderr, f"{name}: expected '{fragment}' in {run.stderr}"
    assert run.seconds < 20, f"{name}: {run.seconds:.1f}s"
    assert leftovers(tmp) == [] and leftovers(work) == []
    assert not list(tmp.glob("*.out.json")), "an output file was written for refused input"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.yaml"
    p.write_text(COMMUNE.read_text(encoding="utf-8"), encoding="utf-8")
    p.chmod(0)
    try:
        run = run_ntm("evaluate", p)
    finally:
        p.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert_clean_refusal(run)
    assert "Permission denied" in run.stderr


def test_refusal_never_touches_an_existing_output_file(tmp_path):
    """Bad input with -o pointing at a user's file: the file keeps its bytes, even with --force."""
    out = tmp_path / "report.json"
    out.write_bytes(b"user data\n")
    for args in (["evaluate", CORPUS / "nan.yaml", "-f", "json", "-o", out, "--force"],
                 ["evaluate", CORPUS / "billion-laughs.yaml", "-o", out, "--force"],
                 ["evaluate", COMMUNE, "--overlay", CORPUS / "overlay-loosens.yaml", "-o", out, "--force"],
                 ["evaluate", COMMUNE, "-f", "json", "-o", out]):  # valid input, but no --force: refused
        run = run_main(*args)
        assert_clean_refusal(run)
        assert out.read_bytes() == b"user data\n"
    assert leftovers(tmp_path) == []
    ok = run_main("evaluate", COMMUNE, "--overlay", OVERLAY, "-f", "json", "-o", out, "--force")
    assert ok.code == 0 and json.loads(out.read_text(encoding="utf-8"))["unit"]["code"]
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- mutated shipped ruleset, through the CLI

RULESET = ROOT / "ntm" / "rulesets" / "vn-2021-2025" / "ruleset.yaml"
RULESET_EDITS = {
    "op": (r'op: ">="', 'op: "=>"', 1, "op"),
    "threshold-nan": (r"(\n\s+value: )\d+(\.\d+)?\n", r"\1.nan\n", 1, "not a finite number"),
    "threshold-text": (r"(\n\s+value: )\d+(\.\d+)?\n", r"\1'ninety'\n", 1, "value"),
    "fact-type": (r"type: percent", "type: percentage", 1, "did you mean 'percent'"),
    "unknown-fact": (r"fact: income_per_capita", "fact: income_per_capit", 1, "income_per_capit"),
    "python-tag": (r"\nid: [^\n]*", "\nid: !!python/object/apply:os.system ['touch PWNED']", 1, "is not allowed"),
    "duplicate-key": (r"\nversion: ", "\nid: again\nversion: ", 1, "duplicate key 'id'"),
}


@pytest.mark.parametrize("edit", sorted(RULESET_EDITS))
def test_mutated_ruleset_through_the_cli(tmp_path, edit):
    pattern, repl, count, fragment = RULESET_EDITS[edit]
    text, n = re.subn(pattern, repl, RULESET.read_text(encoding="utf-8"), count=count)
    assert n == count, f"the edit '{edit}' no longer matches the shipped ruleset"
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    run = run_main("evaluate", COMMUNE, "--ruleset", path, "-f", "json", "-o", tmp_path / "o.json", cwd=tmp_path)
    assert_clean_refusal(run)
    assert fragment in run.stderr
    assert re.search(re.escape(str(path)) + r":\d+", run.stderr), "a ruleset error must give file:line"
    assert not (tmp_path / "o.json").exists() and not (tmp_path / MARKER).exists()
    assert leftovers(tmp_path) == []
