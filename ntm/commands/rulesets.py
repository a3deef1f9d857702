"""`ntm rulesets ...`: list, show and inspect rulesets."""

from __future__ import annotations

import enum
import sys
from typing import Optional

import typer

from ntm.cli import Fmt, Lang, console, rulesets_app
from ntm.errors import NtmInputError


@rulesets_app.command("list")
def rulesets_list() -> None:
    """The shipped rulesets and the periods they cover."""
    from rich.table import Table

    from ntm.criteria.loader import all_shipped

    t = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("id", "version", "in force", "levels / tiers", "title", "sha256"):
        t.add_column(col)
    for lr in all_shipped():
        rs = lr.ruleset
        tiers = "; ".join(f"{ls.level}: {', '.join(x.id for x in ls.tiers)}" for ls in rs.levels)
        t.add_row(rs.id, rs.version, f"{rs.effective.start} → {rs.effective.end or '…'}", tiers, rs.title.vi,
                  lr.sha256[:12])
    console().print(t)


@rulesets_app.command("show")
def rulesets_show(
    ruleset: str = typer.Argument(..., help="Ruleset id or file."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table or json."),
    region: Optional[str] = typer.Option(None, "--region", help="Show the values that apply in one region."),
    year: Optional[int] = typer.Option(None, "--year", help="Assessment year for year-dependent values."),
    lang: Lang = typer.Option(Lang.vi, "--lang"),
) -> None:
    """Criteria, indicators, facts and thresholds per region, with each value's provenance."""
    from ntm.criteria.loader import load_ruleset
    from ntm.report.ruleset_view import render_json, render_table

    lr = load_ruleset(ruleset)
    if region is not None and region not in [r.id for r in lr.ruleset.regions]:
        from ntm.errors import did_you_mean

        ids = [r.id for r in lr.ruleset.regions]
        raise NtmInputError.single(f"unknown region '{region}'", field="--region", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(region, ids))
    if fmt is Fmt.json:
        sys.stdout.write(render_json(lr))
    else:
        render_table(lr, console(), region, year, lang.value)


@rulesets_app.command("check")
def rulesets_check(
    path: str = typer.Argument(..., help="Ruleset id, folder or file, or an overlay file."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Base ruleset for an overlay "
                                          "(default: the one the overlay names)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table or json."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when there are warnings."),
) -> None:
    """Check a ruleset or overlay: every problem at once, as file:line: severity: field: message (hint).

    Exit codes: 0 no errors (warnings are printed), 1 warnings with --strict, 2 errors."""
    from ntm.criteria.check import check

    rep = check(path, ruleset)
    if fmt is Fmt.json:
        sys.stdout.write(rep.to_json())
    else:
        for f in rep.sorted():
            typer.echo(f.render())
        typer.echo(rep.summary())
    if rep.errors:
        raise typer.Exit(2)
    if strict and rep.warnings:
        raise typer.Exit(1)


@rulesets_app.command("test")
def rulesets_test(
    path: str = typer.Argument(..., help="Ruleset id, folder or file (its case files), a case file, or a folder "
                               "of case files."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Judge the cases by this ruleset instead."),
    only: str | None = typer.Option(None, "--only", "-k", help="Only cases whose name contains this text."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table or json."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List passing cases too."),
) -> None:
    """Run a ruleset's YAML test cases through the engine and the reference evaluator (both must agree).

    Exit codes: 0 all pass, 1 a case failed, 2 a bad case file or no case files."""
    import json

    from ntm.criteria.casetests import find_case_files, run_file

    files = find_case_files(path)
    if not files:
        raise NtmInputError.single("no test case files found", file=path,
                                   hint="cases live in <ruleset dir>/tests/*.yaml or <ruleset>.cases.yaml")
    results = [run_file(f, ruleset, only) for f in files]
    passed = sum(not r.failures for fr in results for r in fr.results)
    failed = sum(bool(r.failures) for fr in results for r in fr.results)
    if fmt is Fmt.json:
        doc = {"passed": passed, "failed": failed,
               "files": [{"path": fr.path, "ruleset": fr.ruleset,
                          "cases": [{"name": r.name, "ok": not r.failures, "failures": r.failures}
                                    for r in fr.results]} for fr in results]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    else:
        for fr in results:
            ok = sum(not r.failures for r in fr.results)
            typer.echo(f"{fr.path}: {ok}/{len(fr.results)} passed")
            for r in fr.results:
                if r.failures:
                    typer.echo(f"  FAIL {r.name}")
                    for line in r.failures:
                        typer.echo(f"       {line}")
                elif verbose:
                    typer.echo(f"  ok   {r.name}")
        typer.echo(f"{passed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


@rulesets_app.command("diff")
def rulesets_diff(
    a: str = typer.Argument(..., help="Ruleset id or file, ID@VERSION, or an overlay file (on its base)."),
    b: str = typer.Argument(..., help="Same forms as A."),
    overlay: str | None = typer.Option(None, "--overlay", help="Apply this provincial overlay to B."),
    overlay_a: str | None = typer.Option(None, "--overlay-a", help="Apply this provincial overlay to A."),
    year: int | None = typer.Option(None, "--year", help="Assessment year for both sides "
                                       "(default: each side's own reference year, shown in the header)."),
    show_all: bool = typer.Option(False, "--all", help="Also list rows whose only change is the citation."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table or json."),
    lang: Lang = typer.Option(Lang.vi, "--lang"),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """What changed from A to B: tiers and indicators added/removed, thresholds stricter/looser per region,
    provenance and citation changes."""
    from ntm.cli import write_output
    from ntm.criteria.diff import diff, load_side, render_text, to_json

    doc = diff(load_side(a, overlay_a, year), load_side(b, overlay, year), show_all)
    write_output(to_json(doc) if fmt is Fmt.json else render_text(doc, lang.value), output, force)


class ProvStatus(str, enum.Enum):
    provisional = "provisional"
    missing = "missing"


@rulesets_app.command("provenance")
def rulesets_provenance(
    ruleset: str = typer.Argument(..., help="Ruleset id or file."),
    status: ProvStatus | None = typer.Option(None, "--status", help="Only this status in the to-do list."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table, json or markdown."),
    lang: Lang = typer.Option(Lang.vi, "--lang"),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """Which thresholds are verified, provisional or missing (counts per level and tier), and the to-do list:
    each threshold still to check, with the document it must be checked against."""
    from ntm.cli import write_output, write_rendered
    from ntm.criteria import provenance as prov
    from ntm.criteria.loader import load_ruleset

    rep = prov.report(load_ruleset(ruleset).ruleset, status.value if status else None)
    if fmt is Fmt.json:
        write_output(prov.to_json(rep), output, force)
    elif fmt is Fmt.markdown:
        write_output(prov.render_markdown(rep, lang.value), output, force)
    else:
        write_rendered(lambda c: prov.render_table(rep, c, lang.value), output, force, width=160)


class BookFormat(str, enum.Enum):
    xlsx = "xlsx"


@rulesets_app.command("export")
def rulesets_export(
    ruleset: Optional[str] = typer.Argument(None, help="Ruleset id or file (or an overlay file; with --overlay, "
                                            "the base ruleset, default: the one the overlay names)."),
    output: str = typer.Option(..., "--output", "-o", help="The workbook to write (.xlsx)."),
    fmt: BookFormat = typer.Option(BookFormat.xlsx, "--format", "-f", help="xlsx (an authoring workbook)."),
    overlay: Optional[str] = typer.Option(None, "--overlay", help="Export this provincial overlay instead."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a ruleset or overlay as an authoring workbook: a sheet per part, one row per indicator condition
    with a column per region, provenance columns, drop-down lists. Correct it in Excel or LibreOffice and bring
    it back with `ntm rulesets import`. The workbook is read back before it is written (exact round trip)."""
    from ntm.authoring.workbook_export import export

    info = export(ruleset, output, overlay, force)
    typer.echo(f"wrote {info['path']}: {info['kind']} {info['id']} (content sha256 {info['content_sha256'][:16]})")


@rulesets_app.command("import")
def rulesets_import(
    workbook: str = typer.Argument(..., help="An authoring workbook (.xlsx) from `ntm rulesets export`."),
    output: str = typer.Option(..., "--output", "-o", help="The ruleset (or overlay) YAML file to write."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Turn an authoring workbook back into ruleset YAML (an overlay when the workbook is one). Every mistake is
    reported at its cell (sheet!cell: what is wrong (expected ...)), all at once, exit 2, and nothing is written.
    A value marked verified must name its source (document, item, page or URL), who verified it and when."""
    from ntm.authoring.content import content_hash
    from ntm.authoring.workbook_import import check_target, read_workbook, write_yaml

    check_target(output, force)
    imp = read_workbook(workbook)
    warnings = write_yaml(imp, workbook, output, force)
    for w in warnings:
        typer.echo(w, err=True)
    name = imp.model.id if imp.kind == "ruleset" else imp.model.overlay.id
    typer.echo(f"wrote {output}: {imp.kind} {name} (content sha256 {content_hash(imp.model)[:16]})"
               + (f", {len(warnings)} warning(s)" if warnings else ""))
