"""`ntm merge`: build a merged commune's dossier from the dossiers of the communes it was formed from."""

from __future__ import annotations

from typing import Optional

import typer

from ntm.cli import app, parse_date, write_output


@app.command()
def merge(
    parts: list[str] = typer.Argument(..., help="The part communes' dossiers (two or more)."),
    output: str = typer.Option(..., "--output", "-o", help="The merged commune's dossier to write (YAML)."),
    code: str = typer.Option(..., "--code", help="The merged commune's code."),
    name: str = typer.Option(..., "--name", help="The merged commune's name."),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", "-r", help="Fact catalogue to combine by (default: "
                                          "the parts' own, or the one in force on the assessment date)."),
    date: Optional[str] = typer.Option(None, "--date", help="The merged commune's assessment date (YYYY-MM-DD; "
                                       "default: the parts' common date)."),
    recognised: list[str] = typer.Option([], "--recognised", help="A part's recognised level and decision: "
                                         "CODE=TIER:DECISION-NUMBER:YYYY-MM-DD (repeat per part)."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """Lengths, counts and amounts add up; shares are recombined from their parts or weighted by the base the
    fact catalogue names; what cannot be combined is listed as needing the merged commune's own evidence."""
    import os

    from ntm.api import merge as run
    from ntm.criteria.merging import to_yaml

    res = run(parts, code=code, name=name, ruleset=ruleset, date=parse_date(date, "--date"), recognised=recognised,
              relative_to=os.path.dirname(os.path.abspath(output)))
    write_output(to_yaml(res, parts), output, force)
    typer.echo(f"{output}: {len(parts)} parts, {len(res.combined)} fact(s) combined"
               + (f" ({len(res.rounded)} rounded to 6 decimals)" if res.rounded else ""), err=True)
    for fid, why in res.needs_evidence:
        typer.echo(f"  needs the merged commune's own evidence: {fid} — {why}", err=True)
