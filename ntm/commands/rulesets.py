"""`ntm rulesets ...`: list, show and inspect rulesets."""

from __future__ import annotations

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
