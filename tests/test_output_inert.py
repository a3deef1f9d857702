"""User text never becomes live in an output (#16): no formula in any workbook/CSV we write, no escape sequence
or rich markup from a cell reaching the terminal, no Markdown syntax from user text in titles and cells."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ntm.cli import app
from ntm.report.inert import inert, md_safe, rich_safe, terminal_safe

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"
OVERLAY = EX / "overlays" / "tinh-minh-hoa.yaml"
PAYLOAD = '=HYPERLINK("http://example.invalid","x")'


def _hostile_overlay(tmp_path: Path) -> str:
    data = yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))
    fact = next(f for f in data["facts"] if f["id"] == "waste_sorted_at_source_pct")
    fact["label"] = {"vi": PAYLOAD, "en": "+" + PAYLOAD[1:]}
    fact["unit"] = "@SUM(A1)"
    p = tmp_path / "hostile.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(p)


def test_template_xlsx_and_csv_hold_no_live_formula(tmp_path):
    ov = _hostile_overlay(tmp_path)
    for lang in ("vi", "en"):
        out = tmp_path / f"t-{lang}.xlsx"
        r = CliRunner().invoke(app, ["template", "-r", "vn-2021-2025", "--overlay", ov, "-f", "xlsx", "--lang",
                                     lang, "-o", str(out)])
        assert r.exit_code == 0, r.output
        with zipfile.ZipFile(out) as z:
            sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
            strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
        assert "<f>" not in sheets and "HYPERLINK" in strings + sheets  # kept, as text
        r = CliRunner().invoke(app, ["template", "-r", "vn-2021-2025", "--overlay", ov, "-f", "csv", "--lang", lang])
        assert r.exit_code == 0, r.output
        cells = [c for row in csv.reader(io.StringIO(r.output)) for c in row]
        assert any("HYPERLINK" in c for c in cells)
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], \
            [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_one_neutraliser_for_every_spreadsheet_writer():
    from ntm.batch import outputs

    assert outputs._inert is inert  # the batch outputs and the templates share it
    assert inert("=1+1") == "'=1+1" and inert("-2") == "'-2" and inert("\tx") == "'\tx" and inert("a=b") == "a=b"
    assert inert(5) == 5


def test_terminal_text_loses_escape_sequences_and_markup():
    hostile = "Xã \x1b[2J\x1b]0;pwned\x07A\x1b[31m\x9b1m\x07\x08 [bold red]x[/] [link=http://e]y[/link]"
    t = terminal_safe(hostile)
    assert "\x1b" not in t and "\x07" not in t and "\x9b" not in t and "\x08" not in t and "pwned" not in t
    assert t.startswith("Xã A")
    from rich.console import Console

    con = Console(file=io.StringIO(), force_terminal=True, highlight=False, width=200)
    con.print(rich_safe(hostile))
    shown = con.file.getvalue()
    assert "[bold red]x[/]" in shown and "[link=http://e]" in shown and "pwned" not in shown
    assert "\x1b[2J" not in shown and "\x1b]" not in shown


def test_markdown_specials_and_pipes_are_escaped():
    s = md_safe("Xã *A* | [x](http://e) <b>#1</b>\nsecond")
    assert "|" not in s.replace("\\|", "") and "\n" not in s
    assert "\\*A\\*" in s and "\\[x\\](http" in s and "&lt;b&gt;" in s and "<" not in s


ESC_NAME = "Xã \x1b]0;pwned\x07\x1b[2J\x1b[31mĐỏ\x9b1m\x08"


def _csv_with_name(tmp_path: Path, name: str) -> str:
    src = EX / "batch" / "xa-tinh-minh-hoa.csv"
    rows = list(csv.reader(src.open(encoding="utf-8")))
    col = next(i for i, h in enumerate(rows[0]) if h.strip().lower() in ("name", "tên xã"))
    rows[1][col] = name
    p = tmp_path / "in.csv"
    with p.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return str(p)


def test_escape_sequences_from_a_csv_cell_do_not_reach_the_table_output(tmp_path):
    src = _csv_with_name(tmp_path, ESC_NAME)
    r = CliRunner().invoke(app, ["batch", src, "--overlay", str(OVERLAY), "--jobs", "1"])
    assert r.exit_code in (0, 1), r.output
    out = r.output
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\x08" not in out
    assert "pwned" not in out


def test_escape_sequences_in_a_dossier_name_do_not_reach_the_terminal(tmp_path):
    data = yaml.safe_load((EX / "xa-dat-chuan.yaml").read_text(encoding="utf-8"))
    data["unit"]["name"] = ESC_NAME + " [bold]x[/bold]"
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(p), "--overlay", str(OVERLAY)])
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output and "pwned" not in r.output
    assert "Xã Đỏ [bold]x[/bold]" in r.output  # the name itself is kept, markup as typed


HOSTILE_MD = "Xã *A* | [x](http://e) <img src=x> `c` _u_\n# not a heading"


def test_markdown_report_title_and_cells_hold_user_text_literally(tmp_path):
    data = yaml.safe_load((EX / "xa-dat-chuan.yaml").read_text(encoding="utf-8"))
    data["unit"]["name"] = HOSTILE_MD
    data["unit"]["province"] = "Tỉnh | **B**"
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(p), "--overlay", str(OVERLAY), "-f", "markdown"])
    assert r.exit_code == 0, r.output
    title = r.output.splitlines()[0]
    assert title.startswith("# Xã \\*A\\* \\| \\[x\\](http://e) &lt;img src=x&gt; \\`c\\` \\_u\\_ # not a heading")
    assert "\n# not a heading" not in r.output and "<img" not in r.output, r.output
    assert "Tỉnh \\| \\*\\*B\\*\\*" in r.output


def test_markdown_district_table_cells_cannot_add_columns(tmp_path):
    import shutil

    for f in EX.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    d = yaml.safe_load((EX / "huyen-vi-du.yaml").read_text(encoding="utf-8"))
    d["communes"][0]["name"] = "A | B | C"
    (tmp_path / "huyen.yaml").write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(tmp_path / "huyen.yaml"), "--overlay", str(OVERLAY), "-f",
                                 "markdown"])
    assert r.exit_code == 0, r.output
    row = next(x for x in r.output.splitlines() if "A \\| B \\| C" in x)
    assert row.replace("\\|", "").count("|") == 6  # five cells, as in the header


def test_batch_markdown_and_whatif_markdown_escape_user_text():
    from ntm.report.batch_md import _c
    from ntm.report.whatif_view import Block, to_markdown

    assert _c("*x* [l](u) `c`") == "\\*x\\* \\[l\\](u) \\`c\\`"
    md = to_markdown([Block("h1", "Xã *A*\n# B"), Block("table", headers=("a",), rows=(("x | y",),))])
    assert md.splitlines()[0] == "# Xã \\*A\\* # B" and "| x \\| y |" in md


def test_plan_terminal_text_loses_escape_sequences(tmp_path, capsys):
    from ntm.cli import main
    import sys

    data = yaml.safe_load((EX / "xa-thieu-hai-tieu-chi.yaml").read_text(encoding="utf-8"))
    data["unit"]["name"] = ESC_NAME
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    old = sys.argv
    sys.argv = ["ntm", "plan", str(p), "--target", "standard", "--overlay", str(OVERLAY), "--costs",
                str(EX / "costs" / "chi-phi-minh-hoa.yaml")]
    try:
        main()
    except SystemExit as e:
        assert e.code in (0, None, 1), capsys.readouterr().err
    finally:
        sys.argv = old
    out = capsys.readouterr().out
    assert out and "\x1b" not in out and "\x07" not in out and "pwned" not in out
