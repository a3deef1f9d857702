# ruff: noqa: B008  (typer declares options as argument defaults)
"""`ntm whatif` (change evidence) and `ntm compare` (change the rules): what a change does to a decision."""

from __future__ import annotations


import typer

from ntm.cli import Fmt, Lang, app, parse_date, write_output, write_rendered
from ntm.errors import NtmInputError


def _emit(blocks_fn, result, fmt: Fmt, lang: Lang, output: str | None, force: bool) -> None:
    from ntm.engine.whatif import to_json
    from ntm.report.whatif_view import to_console, to_markdown

    if fmt is Fmt.json:
        write_output(to_json(result), output, force)
    elif fmt is Fmt.markdown:
        write_output(to_markdown(blocks_fn(result, lang.value)), output, force)
    else:
        write_rendered(lambda c: to_console(blocks_fn(result, lang.value), c), output, force, width=160)


@app.command()
def whatif(
    dossier: str = typer.Argument(..., help="Dossier file (YAML or JSON)."),
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
    from ntm.engine.whatif import load_scenarios, scenario_from_options
    from ntm.engine.whatif import whatif as run
    from ntm.report.whatif_view import whatif_blocks

    when = parse_date(as_of, "--as-of")
    if not set_ and not unset and scenario is None:
        raise NtmInputError.single("nothing to simulate", field="whatif",
                                   expected="--set FACT=VALUE, --unset FACT or --scenario FILE")
    inputs = gather(dossier, ruleset, overlay, when)
    rs = inputs.ruleset.ruleset
    scenarios = load_scenarios(scenario, rs) if scenario else []
    if set_ or unset:
        if any(s.id == "cli" for s in scenarios):
            raise NtmInputError.single("the scenario id 'cli' is reserved for --set/--unset", file=scenario)
        scenarios.append(scenario_from_options(set_, unset, rs))
    _emit(whatif_blocks, run(inputs, scenarios, as_of=when), fmt, lang, output, force)


@app.command()
def compare(
    dossiers: list[str] = typer.Argument(..., help="Dossier files or folders (a folder: its *.yaml/*.yml/*.json)."),
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

    sides = _sides(ruleset, overlay, as_of)
    _emit(compare_blocks, run(dossiers, sides[1], sides[2], varies=sides[0], drop_unknown=drop_unknown),
          fmt, lang, output, force)



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
