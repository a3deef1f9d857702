# ruff: noqa: B008  (typer declares options as argument defaults)
"""`ntm whatif` (change evidence) and `ntm compare` (change the rules): what a change does to a decision."""

from __future__ import annotations


import typer

from ntm.cli import Fmt, Lang, app, parse_date, write_output, write_rendered
from ntm.errors import NtmInputError


def _emit(blocks_fn, result, fmt: Fmt, lang: Lang, output: str | None, force: bool) -> None:
    """One result, or a list of them (what-if over a folder or a table: one result per dossier)."""
    import json

    from ntm.engine.whatif import to_json
    from ntm.report.whatif_view import to_console, to_markdown

    many = isinstance(result, list)
    results = result if many else [result]
    if fmt is Fmt.json:
        if many:
            write_output(json.dumps([r.model_dump(mode="json", by_alias=True) for r in results], ensure_ascii=False,
                                    indent=2) + "\n", output, force)
        else:
            write_output(to_json(result), output, force)
        return
    blocks = [b for r in results for b in blocks_fn(r, lang.value)]
    if fmt is Fmt.markdown:
        write_output(to_markdown(blocks), output, force)
    else:
        write_rendered(lambda c: to_console(blocks, c), output, force, width=160)


@app.command()
def whatif(
    dossier: str = typer.Argument(..., help="Dossier file (YAML or JSON; - reads standard input), or as for "
                                  "`ntm batch`: a folder of dossiers, a CSV file or an XLSX workbook."),
    set_: list[str] = typer.Option([], "--set", "-s", help="FACT=VALUE (repeatable); FACT= removes the evidence."),
    unset: list[str] = typer.Option([], "--unset", help="Remove a fact's evidence (repeatable)."),
    scenario: str | None = typer.Option(None, "--scenario", help="YAML file of named scenarios "
                                           "(scenarios: [{id, label: {vi, en}, set: {fact: value}, unset: [fact]}])."),
    ruleset: str | None = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file (default: the one in force)."),
    overlay: str | None = typer.Option(None, "--overlay", help="Provincial overlay file (YAML)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Judge by the rules in force on this date (YYYY-MM-DD)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """What if the evidence were different? Before and after, side by side, for one or more scenarios."""
    from ntm.engine.evaluate import gather
    from ntm.engine.whatif import whatif as run
    from ntm.report.whatif_view import whatif_blocks

    when = parse_date(as_of, "--as-of")
    if not set_ and not unset and scenario is None:
        raise NtmInputError.single("nothing to simulate", field="whatif",
                                   expected="--set FACT=VALUE, --unset FACT or --scenario FILE")
    import os

    from ntm.batch.expand import dossier_files, is_table

    if not (os.path.isdir(dossier) or is_table(dossier)):
        inputs = gather(dossier, ruleset, overlay, when)
        _emit(whatif_blocks, run(inputs, _scenarios(inputs, scenario, set_, unset), as_of=when), fmt, lang, output,
              force)
        return
    from ntm.engine.compare import dossier_paths

    results = []
    with dossier_files([dossier], ruleset=ruleset, overlay=overlay) as paths:
        for path in dossier_paths(paths):
            inputs = gather(path, ruleset, overlay, when)
            results.append(run(inputs, _scenarios(inputs, scenario, set_, unset), as_of=when))
    _emit(whatif_blocks, results, fmt, lang, output, force)


def _scenarios(inputs, scenario: str | None, set_: list[str], unset: list[str]) -> list:
    from ntm.engine.whatif import load_scenarios, scenario_from_options

    rs = inputs.ruleset.ruleset
    scenarios = load_scenarios(scenario, rs) if scenario else []
    if set_ or unset:
        if any(s.id == "cli" for s in scenarios):
            raise NtmInputError.single("the scenario id 'cli' is reserved for --set/--unset", file=scenario)
        scenarios.append(scenario_from_options(set_, unset, rs))
    return scenarios


@app.command()
def compare(
    dossiers: list[str] = typer.Argument(..., help="Dossier files or folders (a folder: its *.yaml/*.yml/*.json), "
                                         "CSV files or XLSX workbooks (as for `ntm batch`)."),
    ruleset: list[str] = typer.Option([], "--ruleset", "-r", help="Ruleset id or file; give twice to compare two."),
    overlay: list[str] = typer.Option([], "--overlay", help="Overlay file or 'none'; give twice to compare two."),
    as_of: list[str] = typer.Option([], "--as-of", help="YYYY-MM-DD; give twice to compare two dates."),
    drop_unknown: bool = typer.Option(False, "--drop-unknown-facts", help="Ignore dossier facts a ruleset does not "
                                      "know (listed in the report) instead of reporting the dossier as an error."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
    output: str | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """The same dossiers under two rulesets, two overlays or two dates: which units change status, and why."""
    from ntm.engine.compare import compare as run
    from ntm.report.whatif_view import compare_blocks

    from ntm.batch.expand import dossier_files

    sides = _sides(ruleset, overlay, as_of)
    shared_ruleset = ruleset[0] if len(ruleset) == 1 else None
    shared_overlay = overlay[0] if len(overlay) == 1 and overlay[0].strip().lower() != "none" else None
    with dossier_files(dossiers, ruleset=shared_ruleset, overlay=shared_overlay) as paths:
        result = run(paths, sides[1], sides[2], varies=sides[0], drop_unknown=drop_unknown)
        if paths.names:  # a table's rows are named file.csv:ROW, not by their temporary files
            result = result.model_copy(update={"units": [u.model_copy(update={"path": paths.name(u.path)})
                                                         for u in result.units]})
    _emit(compare_blocks, result, fmt, lang, output, force)



def _sides(ruleset: list[str], overlay: list[str], as_of: list[str]):
    """Exactly one kind of option is given twice (what varies); the others at most once (shared by both)."""
    from ntm.criteria.loader import load_ruleset
    from ntm.criteria.yamlsrc import load
    from ntm.engine.compare import Side

    given = {"ruleset": ruleset, "overlay": overlay, "as_of": as_of}
    twice = [k for k, v in given.items() if len(v) == 2]
    too_many = [k for k, v in given.items() if len(v) > 2]
    if too_many or len(twice) != 1:
        raise NtmInputError.single(
            "compare needs exactly two of one kind: --ruleset A --ruleset B, --overlay A --overlay B "
            "(or 'none'), or --as-of D1 --as-of D2", field="compare",
            hint="vary one thing at a time; other options given once apply to both sides")
    varies = twice[0]
    for ref in ruleset:
        load_ruleset(ref)  # a typo in a ruleset id is the user's input error, not one per dossier
    ovs = [None if o.strip().lower() == "none" else o for o in overlay]
    for o in ovs:
        if o is not None:
            load(o)  # readable YAML; whether it fits the ruleset is decided per dossier
    dates = [parse_date(d, "--as-of") for d in as_of]

    def pick(values, k):
        return values[k] if len(values) == 2 else (values[0] if values else None)

    a, b = (Side(pick(ruleset, k), pick(ovs, k), pick(dates, k)) for k in (0, 1))
    if a == b:
        raise NtmInputError.single("the two sides are the same", field=f"--{varies.replace('_', '-')}",
                                   expected="two different values")
    return varies, a, b
