"""`ntm plan`: what it takes to reach a tier — for a commune, a district's communes, or a folder (province)."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from fractions import Fraction

import typer

from ntm.cli import Fmt, Lang, app, console, parse_date, write_output
from ntm.errors import NtmInputError


def _budget(text: str | None) -> Fraction | None:
    """A plain decimal amount: at most 15 digits before the point and 6 after (no exponents, no infinities)."""
    if text is None:
        return None
    import re

    clean = text.strip().replace("_", "")
    if not re.fullmatch(r"-?\d{1,15}(\.\d{1,6})?", clean):
        raise NtmInputError.single(f"'{text[:40]}' is not an amount", field="--budget",
                                   expected="a plain decimal number in the cost model's currency (e.g. 25000 or "
                                            "1250.5; at most 15 digits, no exponent)")
    v = Fraction(Decimal(clean))
    if v < 0:
        raise NtmInputError.single(f"'{text}' is negative", field="--budget", expected="an amount ≥ 0")
    return v


def _fixed(text: str | None) -> frozenset:
    return frozenset(f.strip() for f in (text or "").split(",") if f.strip())


@app.command()
def plan(
    dossier: str = typer.Argument(..., help="A commune or district dossier (- reads standard input), or as for "
                                  "`ntm batch`: a folder of commune dossiers, a CSV file or an XLSX workbook."),
    target: str = typer.Option(..., "--target", "-t", help="The tier to reach (standard, advanced, model)."),
    costs: str | None = typer.Option(None, "--costs", help="Cost model (YAML): the price of one unit of change per fact."),
    fixed: str | None = typer.Option(None, "--fixed", help="Facts the plan may not change (comma-separated ids)."),
    budget: str | None = typer.Option(None, "--budget", help="District/folder: the amount to spend (cost model currency)."),
    targets: str | None = typer.Option(None, "--targets", help="District/folder: the province's targets (YAML)."),
    commune_target: str | None = typer.Option(None, "--commune-target", help="District/folder: the tier each "
                                                 "commune must reach (default: the target, or standard)."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file."),
    overlay: str | None = typer.Option(None, "--overlay", help="Provincial overlay file (YAML)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Plan against the rules in force on this date (YYYY-MM-DD)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """The cheapest changes that reach a tier, re-checked by the engine; for districts and folders, which
    communes to lift first, what a budget buys and the gap to the province's targets."""
    from ntm.engine.evaluate import gather
    from ntm.engine.plan import plan_unit, unit_document
    from ntm.engine.plan_costs import load_costs
    from ntm.engine.plan_group import group_document, plan_group
    from ntm.engine.plan_targets import load_targets
    from ntm.engine.plan_view import render

    from ntm.batch.expand import dossier_files, is_table

    if is_table(dossier):
        with dossier_files([dossier], ruleset=ruleset, overlay=overlay) as (folder,):
            return plan(folder, target, costs, fixed, budget, targets, commune_target, ruleset, overlay, as_of,
                        fmt, lang, output, force)
    when = parse_date(as_of, "--as-of")
    amount = _budget(budget)
    keep = _fixed(fixed)
    if amount is not None and not costs:
        raise NtmInputError.single("--budget needs a cost model", field="--budget", hint="add --costs FILE")
    if os.path.isdir(dossier):
        from ntm.engine.plan_group import dossier_files

        ref = gather(dossier_files(dossier)[0], ruleset, overlay, when)
    else:
        ref = gather(dossier, ruleset, overlay, when)
    rs = ref.ruleset.ruleset
    from ntm.commands.tiernames import resolve_tier

    level = "commune" if os.path.isdir(dossier) else ref.dossier.dossier.unit.level
    target = resolve_tier(target, rs, level, "--target")
    commune_target = resolve_tier(commune_target, rs, "commune", "--commune-target")
    cm = load_costs(costs, rs) if costs else None
    group = os.path.isdir(dossier) or bool(ref.dossier.dossier.communes)
    if not group and (amount is not None or targets or commune_target):
        option = "--budget" if amount is not None else "--targets" if targets else "--commune-target"
        raise NtmInputError.single(f"{option} is for a district dossier or a folder of commune dossiers",
                                   field=option, file=dossier)
    if group:
        tg = load_targets(targets, rs) if targets else None
        gp, inp = plan_group(dossier, target, costs=cm, fixed=keep, ruleset=ruleset, overlay=overlay, as_of=when,
                             commune_target=commune_target, budget=amount, targets=tg)
        doc = group_document(gp, inp, cm)
    else:
        p = plan_unit(ref, target, costs=cm, fixed=keep, as_of=when)
        doc = unit_document(ref, p, cm)
    if fmt is Fmt.json:
        write_output(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n", output, force)
    elif fmt is Fmt.markdown or output is not None:
        write_output(render(doc, lang.value, md=fmt is Fmt.markdown), output, force)
    else:  # the terminal: lines wrap under their own indent at its width
        from ntm.report.inert import terminal_safe

        # names come from dossiers and cost files: no escape sequence reaches the terminal
        write_output(terminal_safe(_wrap(render(doc, lang.value), console().width)), None, force)


def _wrap(text: str, width: int) -> str:
    import textwrap

    out = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        out += textwrap.wrap(line, width=max(20, width), subsequent_indent=" " * (indent + 2),
                             break_on_hyphens=False, drop_whitespace=True) or [""]
    return "\n".join(out) + "\n"
