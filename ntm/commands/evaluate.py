"""`ntm evaluate`: the council's view of one dossier."""

from __future__ import annotations

from typing import Optional

import typer

from ntm.cli import Fmt, Lang, app, parse_date, write_output, write_rendered
from ntm.errors import NtmInputError


@app.command()
def evaluate(
    dossier: str = typer.Argument(..., help="Dossier file (YAML or JSON)."),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file (default: the one in force on the assessment date)."),
    overlay: Optional[str] = typer.Option(None, "--overlay", help="Provincial overlay file (YAML)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Judge by the rules in force on this date "
                                        "(YYYY-MM-DD; default: the dossier's assessment date)."),
    tier: Optional[str] = typer.Option(None, "--tier", "-t", help="Only this tier (and the tiers it requires)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
    require: Optional[str] = typer.Option(None, "--require", help="Exit with code 1 unless this tier is met."),
    trace: bool = typer.Option(False, "--trace", help="Include the ordered list of fired rules (JSON)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output (and --record) to replace an existing file."),
    record: str | None = typer.Option(None, "--record", help="Also write a decision record (canonical JSON) "
                                      "that `ntm verify` can re-run."),
    sign_key: str | None = typer.Option(None, "--sign-key", help="Sign the record with this council key "
                                        "(from `ntm keys generate`)."),
    signer: str | None = typer.Option(None, "--signer", help="The signing council's name, shown in the record."),
    audit_past: bool = typer.Option(False, "--audit-past", help="Apply a level's rules after the level ended "
                                    "(districts after 2025-07-01), to audit a past decision; every output says so."),
    allow_outside_paths: bool = typer.Option(False, "--allow-outside-paths", help="Let a district's (or "
                                             "province's) dossier name commune dossiers outside its own folder "
                                             "(absolute paths, '..'): only for a dossier you trust."),
) -> None:
    """Evaluate a commune's dossier: which tiers are met, and exactly what is missing."""
    from ntm.engine.evaluate import evaluate as run, gather

    when = parse_date(as_of, "--as-of")
    if (sign_key or signer) and not record:
        raise NtmInputError.single("signing needs a record to sign", field="--sign-key", hint="add --record FILE")
    if record:
        _check_record_target(record, output, force)
    inputs = gather(dossier, ruleset, overlay, when, audit_past=audit_past, confine=not allow_outside_paths)
    from ntm.commands.tiernames import resolve_tier

    level = inputs.dossier.dossier.unit.level
    tier = resolve_tier(tier, inputs.ruleset.ruleset, level, "--tier")
    require = resolve_tier(require, inputs.ruleset.ruleset, level, "--require")
    outcome = run(inputs, trace=trace or bool(record), tier=tier, as_of=when)
    record_text = None
    if record:
        from ntm.audit import record as rec_mod

        rec = rec_mod.build(inputs, outcome, as_of=when, tier=tier)
        if sign_key:
            from ntm.audit.keys import sign

            rec = sign(rec, sign_key, signer)
        record_text = rec_mod.to_text(rec)
        if not trace:
            outcome = outcome.model_copy(update={"engine": outcome.engine.model_copy(update={"trace": None})})
    if require is not None and require not in [t.id for t in outcome.tiers]:
        from ntm.errors import did_you_mean

        ids = [t.id for t in outcome.tiers]
        raise NtmInputError.single(f"unknown tier '{require}'", field="--require", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(require, ids))
    if require is not None and outcome.warnings:
        # a tier met under rules not in force that day is not a success: the report is shown, no record written
        record_text = None
    _write_results(outcome, fmt, lang, output, force, record, record_text)
    if overlay is None:  # said after the output is written, on standard error
        from ntm.project import no_overlay_note, province_set_without_overlay

        items = province_set_without_overlay(outcome)
        if items:
            _note(no_overlay_note(items, lang.value))
    if require is not None and outcome.warnings:
        # a tier met under rules not in force that day is not a success
        r = outcome.ruleset
        raise NtmInputError.single(
            f"the result was reached under rules not in force on {r.as_of} "
            f"({'; '.join(x.text.en for x in outcome.warnings)}); it cannot count as meeting '{require}'",
            field="--require",
            hint="drop --ruleset to use the rules in force that day, or choose --as-of within the rules' period")
    if require is not None and outcome.tier(require).status != "met":
        raise typer.Exit(1)


def _write_results(outcome, fmt: Fmt, lang: Lang, output: str | None, force: bool, record: str | None,
                   record_text: str | None) -> None:
    """The report and the decision record together: both are flushed beside their targets before either is
    renamed into place, so a failure writing one leaves neither (a record exists only for a run that succeeded)."""
    from ntm.cli import rendered_text
    from ntm.engine.evaluate import to_json

    if fmt is Fmt.json:
        text = to_json(outcome)
    elif fmt is Fmt.markdown:
        from ntm.report.markdown import render

        text = render(outcome, lang.value)
    else:
        from ntm.report.terminal import render

        if output is None:
            text = None
        else:
            text = rendered_text(lambda c: render(outcome, c, lang.value))
    files = []
    if output is not None:
        files.append((text, output, None))
    if record_text is not None:
        files.append((record_text, record, "--record"))
    if files:
        from ntm.fileout import write_all

        write_all(files, force)
    if output is None:
        if text is None:
            write_rendered(lambda c: render(outcome, c, lang.value), None, force)
        else:
            write_output(text, None, force)


def _note(text: str) -> None:
    """A note for the person at the terminal (standard error), never mixed into the output."""
    from rich.console import Console

    Console(stderr=True, highlight=False, markup=False, emoji=False).print(text)


def _check_record_target(record: str, output: str | None, force: bool) -> None:
    """Refuse before evaluating: a record never replaces a file without --force, nor the report itself."""
    import os

    from ntm.fileout import check_target

    if output and os.path.abspath(output) == os.path.abspath(record):
        raise NtmInputError.single("--record and --output name the same file", file=record, field="--record")
    check_target(record, force, "--record")
    if output:
        check_target(output, force)
