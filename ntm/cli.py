"""The `ntm` command: a thin layer over the library. Exit codes: 0 done, 1 a required tier is not met,
2 bad input (never a traceback), 3 the engine failed."""

from __future__ import annotations

import enum
import json
import os
import sys
import tempfile
from typing import Optional

import typer
from rich.console import Console

from ntm import __version__
from ntm.errors import EngineFailure, NtmError, NtmInputError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Nông thôn mới (NTM) criteria as code: evaluate dossiers, inspect rulesets.",
)
rulesets_app = typer.Typer(no_args_is_help=True, help="List, show and inspect rulesets.")
app.add_typer(rulesets_app, name="rulesets")


class Fmt(str, enum.Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class Lang(str, enum.Enum):
    vi = "vi"
    en = "en"


class SchemaKind(str, enum.Enum):
    ruleset = "ruleset"
    dossier = "dossier"
    overlay = "overlay"
    outcome = "outcome"


def _console() -> Console:
    return Console(soft_wrap=True, width=max(100, Console().width), highlight=False, markup=False)


def _version(value: bool) -> None:
    if value:
        from ntm.engine.evaluate import durable_version

        typer.echo(f"ntm-rules {__version__} (durable-rules {durable_version()}, Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Nông thôn mới (NTM) criteria as code."""


def write_output(text: str, output: Optional[str], force: bool) -> None:
    """Write atomically; never overwrite what a user has unless asked to."""
    if output is None:
        sys.stdout.write(text)
        return
    if os.path.exists(output) and not os.path.isfile(output):
        if os.path.isdir(output):
            raise NtmInputError.single("is a folder; give a file name", file=output)
        with open(output, "w", encoding="utf-8") as fh:  # a device or pipe (/dev/stdout): write, never replace
            fh.write(text)
        return
    if os.path.exists(output) and not force:
        raise NtmInputError.single("file exists; not overwriting it", file=output, hint="use --force to replace it")
    directory = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ntm-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@app.command()
def evaluate(
    dossier: str = typer.Argument(..., help="Dossier file (YAML or JSON)."),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", "-r", help="Ruleset id or file (default: the one in force on the assessment date)."),
    overlay: Optional[str] = typer.Option(None, "--overlay", help="Provincial overlay file (YAML)."),
    tier: Optional[str] = typer.Option(None, "--tier", "-t", help="Only this tier (and the tiers it requires)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="Output format."),
    lang: Lang = typer.Option(Lang.vi, "--lang", help="Report language (Vietnamese by default)."),
    require: Optional[str] = typer.Option(None, "--require", help="Exit with code 1 unless this tier is met."),
    trace: bool = typer.Option(False, "--trace", help="Include the ordered list of fired rules (JSON)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Allow --output to replace an existing file."),
) -> None:
    """Evaluate a commune's dossier: which tiers are met, and exactly what is missing."""
    from ntm.engine.evaluate import evaluate as run, gather, to_json

    inputs = gather(dossier, ruleset, overlay)
    outcome = run(inputs, trace=trace, tier=tier)
    if require is not None and require not in [t.id for t in outcome.tiers]:
        from ntm.errors import did_you_mean

        ids = [t.id for t in outcome.tiers]
        raise NtmInputError.single(f"unknown tier '{require}'", field="--require", expected="one of " + ", ".join(ids),
                                   hint=did_you_mean(require, ids))
    if fmt is Fmt.json:
        write_output(to_json(outcome), output, force)
    elif fmt is Fmt.markdown:
        from ntm.report.markdown import render

        write_output(render(outcome, lang.value), output, force)
    else:
        from ntm.report.terminal import render

        if output:
            console = Console(record=True, width=120, file=open(os.devnull, "w"), highlight=False, markup=False)
            render(outcome, console, lang.value)
            write_output(console.export_text(), output, force)
        else:
            render(outcome, _console(), lang.value)
    if require is not None and outcome.tier(require).status != "met":
        raise typer.Exit(1)


@app.command()
def schema(kind: SchemaKind = typer.Argument(..., help="Which JSON Schema to print.")) -> None:
    """Print the JSON Schema of rulesets, dossiers, overlays or outcomes (for editors and other programs)."""
    from ntm.criteria.dossier import Dossier
    from ntm.criteria.model import Ruleset
    from ntm.criteria.overlay import Overlay
    from ntm.engine.outcome import Outcome

    model = {"ruleset": Ruleset, "dossier": Dossier, "overlay": Overlay, "outcome": Outcome}[kind.value]
    mode = "serialization" if kind is SchemaKind.outcome else "validation"
    doc = model.model_json_schema(by_alias=True, mode=mode)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = f"https://ntm-rules.invalid/schema/{kind.value}.json"
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


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
    _console().print(t)


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
        render_table(lr, _console(), region, year, lang.value)


def main() -> None:
    """Entry point: turn every known failure into a clear message and an exit code, never a traceback."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        app()
    except NtmInputError as e:
        for p in e.problems:
            err.print(f"[bold red]error:[/] {_escape(p.render())}")
        sys.exit(2)
    except EngineFailure as e:
        err.print(f"[bold red]engine failure:[/] {_escape(str(e))}")
        sys.exit(3)
    except NtmError as e:
        err.print(f"[bold red]error:[/] {_escape(str(e))}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except RecursionError:
        err.print("[bold red]error:[/] input is nested too deeply")
        sys.exit(2)
    except MemoryError:
        err.print("[bold red]error:[/] input is too large to process")
        sys.exit(2)
    except Exception as e:  # a bug: say so plainly, without a traceback
        err.print(f"[bold red]internal error:[/] {type(e).__name__}: {_escape(str(e))} "
                  "(please report this with the input that caused it)")
        sys.exit(3)


def _escape(s: str) -> str:
    from rich.markup import escape

    return escape(s)


if __name__ == "__main__":  # pragma: no cover
    main()
