"""The `ntm` command: a thin layer over the library. Exit codes: 0 done, 1 a required tier is not met,
2 bad input (never a traceback), 3 the engine failed."""

from __future__ import annotations

import enum
import os
import sys
from typing import Optional

# pydantic looks for plugins in every installed distribution's entry points the first time it builds a model
# (~30 ms of each command's start-up); this program uses none
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402

from ntm import __version__  # noqa: E402
from ntm.errors import EngineFailure, NtmError, NtmInputError  # noqa: E402

app = typer.Typer(
    rich_markup_mode=None,  # plain help: typer.rich_utils costs ~60 ms to import, twice what the help takes
    add_completion=True,
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
    whatif = "whatif"
    plan = "plan"


def console(width: int | None = None):
    """The terminal as it is (80 columns when it cannot be measured): views wrap to fit, never overflow."""
    from rich.console import Console

    from ntm.report.inert import safe_console

    return safe_console(Console(width=width, highlight=False, markup=False, emoji=False))


def _version(value: bool) -> None:
    if value:
        from ntm.engine.evaluate import durable_version

        typer.echo(f"ntm-rules {__version__} (durable-rules {durable_version()}, Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    project: Optional[str] = typer.Option(None, "--project", help="Project file with the default overlay, ruleset, "
                                          "register and language (default: ntm.toml in the working folder or "
                                          "above; NTM_PROJECT=none ignores it)."),
) -> None:
    """Nông thôn mới (NTM) criteria as code."""
    from ntm import project as proj

    path = project or (None if os.environ.get("NTM_PROJECT", "").lower() == "none" else
                       os.environ.get("NTM_PROJECT") or proj.find())
    if path:
        found = proj.load(path)
        ctx.default_map = {**(ctx.default_map or {}), **proj.default_map(ctx.command, found)}


def parse_date(text: Optional[str], option: str):
    """A YYYY-MM-DD option value, or a clear error."""
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise NtmInputError.single(f"'{text}' is not a date", field=option, expected="YYYY-MM-DD") from None


def write_output(text: str, output: Optional[str], force: bool) -> None:
    """Write atomically; never overwrite what a user has unless asked to (ntm.fileout: one writer for all)."""
    if output is None:
        sys.stdout.write(text)
        return
    from ntm.fileout import write_file

    write_file(text, output, force)


def write_rendered(draw, output: Optional[str], force: bool, width: int = 120) -> None:
    """A rich view to the terminal, or as plain text to --output (same rules as write_output)."""
    if output is None:
        draw(console())
        return
    write_output(rendered_text(draw, width), output, force)


def rendered_text(draw, width: int = 120) -> str:
    """A rich view as plain text (what --output receives)."""
    import io

    from rich.console import Console

    from ntm.report.inert import safe_console

    rec = safe_console(Console(record=True, width=width, file=io.StringIO(), highlight=False, markup=False,
                               emoji=False))
    draw(rec)
    return rec.export_text()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _register_commands() -> None:
    """Every module in ntm/commands adds its commands to `app` on import (one module per area)."""
    import importlib
    import pkgutil

    import ntm.commands

    for mod in sorted(m.name for m in pkgutil.iter_modules(ntm.commands.__path__)):
        importlib.import_module(f"ntm.commands.{mod}")


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: unwinds like an exception (workers stopped, temp files removed), but no handler of
    ordinary errors — click's included, which would print "Aborted!" and exit 1 — catches it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, _frame) -> None:
    raise Interrupted(signum)


def _interrupted_text() -> str:
    """In the command's language (--lang en), else Vietnamese as every output."""
    argv = sys.argv[1:]
    en = "--lang=en" in argv or any(a == "--lang" and b == "en" for a, b in zip(argv, argv[1:]))
    return "interrupted; no output written" if en else "đã dừng theo yêu cầu; chưa ghi kết quả nào"


def main() -> None:
    """Entry point: turn every known failure into a clear message and an exit code, never a traceback."""
    import signal

    err = _ErrConsole()
    try:
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
    except ValueError:  # not the main thread (an embedding program): keep its handlers
        pass
    try:
        app()
    except Interrupted as e:
        _quiet_exit(err, _interrupted_text(), 128 + e.signum)
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
        _quiet_exit(err, _interrupted_text(), 130)
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


def _quiet_exit(err: "_ErrConsole", text: str, code: int) -> None:
    """Say why, and exit without a second interrupt turning the exit into a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        err.print(text)
    except Exception:  # noqa: BLE001 - a closed terminal: the exit code still says it
        pass
    sys.exit(code)


class _ErrConsole:
    """stderr through rich, created only when there is an error to print (rich costs ~30 ms to import)."""

    def print(self, text: str) -> None:
        from rich.console import Console

        Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(text)  # "file.yaml:100:" is no emoji


def _escape(s: str) -> str:
    """User text in a message: no rich markup, no terminal escape sequences."""
    from ntm.report.inert import rich_safe

    return rich_safe(s)


_register_commands()

if __name__ == "__main__":  # pragma: no cover - `python -m ntm.cli`: run the imported module, not this copy
    from ntm import cli as _cli

    _cli.main()
