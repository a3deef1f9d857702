"""`ntm template`: a fillable dossier (YAML) or multi-unit sheet (CSV/XLSX) with labels, ranges and thresholds."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from ntm.cli import Lang, app, write_output
from ntm.errors import NtmInputError


class TemplateFmt(str, enum.Enum):
    xlsx = "xlsx"
    csv = "csv"
    yaml = "yaml"


def write_bytes(data, output: str, force: bool) -> None:
    """Binary counterpart of write_output: atomic, and never replaces a file unless asked to (ntm.fileout)."""
    from ntm.fileout import write_file

    write_file(data, output, force)


@app.command()
def template(
    ruleset: Annotated[str, typer.Option("--ruleset", "-r", help="Ruleset id or file (e.g. vn-2021-2025).")],
    level: Annotated[str, typer.Option("--level", help="commune or district.")] = "commune",
    region: Annotated[str | None, typer.Option("--region", help="Region id: list its thresholds (default: all "
                                               "regions side by side).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Assessment year (default: the last year the "
                                             "ruleset's tables cover).")] = None,
    flag: Annotated[list[str] | None, typer.Option("--flag", help="Unit flag (repeatable), e.g. "
                                                   "especially_difficult.")] = None,
    overlay: Annotated[str | None, typer.Option("--overlay", help="Provincial overlay: include its "
                                                "values.")] = None,
    fmt: Annotated[TemplateFmt, typer.Option("--format", "-f", help="xlsx, csv (many units) or yaml "
                                             "(one dossier).")] = TemplateFmt.xlsx,
    lang: Annotated[Lang, typer.Option("--lang", help="Label language (Vietnamese by default).")] = Lang.vi,
    rows: Annotated[int, typer.Option("--rows", help="xlsx: rows that get data validation.")] = 200,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (required for "
                                               "xlsx).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Allow --output to replace an existing file.")] = False,
) -> None:
    """Write a fillable template: every fact with its label, unit, valid range and the thresholds that apply."""
    from ntm.templates.spec import build_spec
    from ntm.templates.writers import to_csv, to_xlsx, to_yaml

    if fmt is TemplateFmt.xlsx and output is None:
        raise NtmInputError.single("an xlsx template needs a file name", field="--output",
                                   hint="add -o mau-ho-so.xlsx")
    if not 1 <= rows <= 100_000:
        raise NtmInputError.single(f"{rows} rows", field="--rows", expected="1..100000")
    spec = build_spec(ruleset, level, region, year, tuple(flag or ()), overlay)
    if fmt is TemplateFmt.xlsx:
        write_bytes(lambda: to_xlsx(spec, lang.value, rows), output, force)
    elif fmt is TemplateFmt.csv:
        write_output(to_csv(spec, lang.value), output, force)
    else:
        write_output(to_yaml(spec, lang.value), output, force)
