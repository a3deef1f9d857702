"""`ntm batch`: a province's communes in one run — summary, per-commune results, gaps, bad rows."""

from __future__ import annotations

import enum
import os
import sys
from typing import Annotated

import typer

from ntm.cli import Lang, app, parse_date, write_output, write_rendered
from ntm.errors import NtmInputError


class BatchFmt(str, enum.Enum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


@app.command()
def batch(
    input: str = typer.Argument(..., help="A folder of dossiers, a CSV file or an XLSX workbook (row 1 = headers)."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file (default: the one in "
                                          "force on each unit's assessment date)."),
    overlay: str | None = typer.Option(None, "--overlay", help="Provincial overlay file (YAML)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Judge by the rules in force on this date (YYYY-MM-DD)."),
    sheet: str | None = typer.Option(None, "--sheet", help="XLSX sheet to read (default: the first)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Engine worker processes."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds allowed per unit before its worker is stopped."),
    no_isolation: bool = typer.Option(False, "--no-isolation", help="Evaluate in this process (no worker "
                                      "processes; a crash in the engine then stops the batch)."),
    compare: str | None = typer.Option(None, "--compare", help="An earlier batch JSON to compare with."),
    fmt: Annotated[BatchFmt, typer.Option("--format", "-f", help="Output format (xlsx needs -o).")] = BatchFmt.table,
    lang: Annotated[Lang, typer.Option("--lang", help="Labels language (Vietnamese by default).")] = Lang.vi,
    strict: bool = typer.Option(False, "--strict", help="Exit with code 2 if any row could not be evaluated."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bar (default: on a "
                                            "terminal, for more than 20 units)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """Evaluate many communes at once and print the province summary. Bad rows are listed with their row
    number and reason; the others are evaluated. Exit 0 when the batch ran (use --strict to fail on bad rows)."""
    from ntm.batch.outputs import render_table, to_csv, to_json, to_xlsx
    from ntm.batch.run import run_batch

    if fmt is BatchFmt.xlsx and not output:
        raise NtmInputError.single("an XLSX workbook needs a file name", field="--format xlsx",
                                   hint="add -o ket-qua.xlsx")
    if output:
        from ntm.fileout import check_target

        check_target(output, force)  # before the work: an existing path (a dangling link too) needs --force
    when = parse_date(as_of, "--as-of")
    from rich.console import Console

    err = Console(stderr=True, highlight=False, emoji=False)
    show = progress if progress is not None else err.is_terminal

    def bar(total: int):
        if not show or (progress is None and total <= 20):
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TimeRemainingColumn,
        )

        p = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                     TimeRemainingColumn(), console=err, auto_refresh=False, transient=True)
        p.start()
        bars.append(p)
        task = p.add_task("đánh giá" if lang.value == "vi" else "evaluating", total=total)
        state = {"n": 0}

        def tick():
            state["n"] += 1
            p.advance(task)
            p.refresh()
            if state["n"] >= total:
                p.stop()
        return tick

    bars: list = []
    try:
        doc = run_batch(input, ruleset=ruleset, overlay=overlay, as_of=when, sheet=sheet, jobs=jobs,
                        timeout=timeout, isolate=not no_isolation, previous=compare, progress=bar)
    finally:
        for p in bars:
            p.stop()  # idempotent; restores the cursor if the batch stopped early
    if fmt is BatchFmt.json:
        write_output(to_json(doc), output, force)
    elif fmt is BatchFmt.csv:
        write_output(to_csv(doc, lang.value), output, force)
    elif fmt is BatchFmt.xlsx:
        _write_bytes(lambda: to_xlsx(doc, lang.value), output, force)
    else:
        write_rendered(lambda c: render_table(doc, c, lang.value), output, force)
    if overlay is None and doc.get("rulesets"):
        from ntm.criteria.loader import load_ruleset
        from ntm.project import no_overlay_note, province_set_in_ruleset

        items: list[str] = []
        for rs in doc["rulesets"]:
            try:
                model = load_ruleset(ruleset or rs["id"]).ruleset
            except NtmInputError:
                continue
            items += [c for c in province_set_in_ruleset(model) if c not in items]
        if items:
            err.print(no_overlay_note(items, lang.value), markup=False)
    if doc["errors"]:
        n = len(doc["errors"])
        err.print(f"{n} dòng chưa đánh giá được (có trong kết quả)" if lang.value == "vi"
                  else f"{n} row(s) not evaluated (listed in the output)", markup=False)
        lost = doc["summary"].get("lost") or []
        if lost:
            from ntm.batch.outputs import lost_label

            err.print(f"{lost_label(lang.value)}: {', '.join(str(x) for x in lost)}", markup=False)
        if strict:
            sys.exit(2)


def _write_bytes(data, output: str, force: bool) -> None:
    """Atomic binary write (ntm.fileout); `data` may be a builder, so its I/O failures name `output` too."""
    from ntm.fileout import write_file

    write_file(data, output, force)
