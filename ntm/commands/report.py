"""`ntm report`: a self-contained HTML (or Markdown) report of one dossier, one outcome, or a batch."""

from __future__ import annotations

import enum
import os
import sys
from typing import Annotated

import typer

from ntm.cli import Lang, app, parse_date, write_output
from ntm.errors import NtmInputError

OUTCOME_SCHEMA = "ntm-outcome/1"
BATCH_SCHEMA = "ntm-batch/1"
BATCH_EXT = (".csv", ".xlsx", ".xlsm")


class ReportFmt(str, enum.Enum):
    html = "html"
    md = "md"
    pdf = "pdf"
    docx = "docx"


BINARY = {"pdf", "docx"}


def read_input(path: str, ruleset: str | None = None, overlay: str | None = None, as_of=None,
               audit_past: bool = False):
    """("outcome", Outcome) or ("batch", dict): a dossier is evaluated by the engine, a folder/CSV/XLSX goes
    through `ntm batch`, an outcome or batch JSON is read as is (validated)."""
    if path != "-" and not os.path.exists(path):
        raise NtmInputError.single("no such file or folder", file=path)
    if os.path.isdir(path) or path.lower().endswith(BATCH_EXT):
        return "batch", _run_batch(path, ruleset, overlay, as_of)
    from ntm.criteria.yamlsrc import load

    src = load(path)
    data = src.data
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema == OUTCOME_SCHEMA:
        from ntm.criteria.validation import validate
        from ntm.engine.outcome import Outcome

        return "outcome", validate(Outcome, src)
    if schema == BATCH_SCHEMA:
        if not isinstance(data.get("units", []), list) or not isinstance(data.get("summary", {}), dict):
            raise NtmInputError.single("a batch result needs a list of units and a summary", file=path,
                                       expected="the JSON written by `ntm batch --format json`")
        _check_batch_shape(data, path)
        return "batch", data
    if schema is not None:
        raise NtmInputError.single(f"unknown schema '{schema}'", file=path, line=src.line_of(("schema",)),
                                   field="schema", expected=f"{OUTCOME_SCHEMA} or {BATCH_SCHEMA}")
    from ntm.engine.evaluate import evaluate, gather

    inputs = gather(path, ruleset, overlay, as_of, audit_past=audit_past)
    return "outcome", evaluate(inputs, as_of=as_of)


def _check_batch_shape(data: dict, path: str) -> None:
    """The containers every batch report reads, with the place of the first one that is not what `ntm batch`
    writes (a damaged or hand-edited file is the user's to fix, never an internal error)."""
    def bad(where: str, want: str):
        return NtmInputError.single(f"{where} is not {want}", file=path, field=where,
                                    expected="the JSON written by `ntm batch --format json`",
                                    hint="the file is damaged or was edited; run `ntm batch -f json` again")

    for key in ("units", "errors"):
        for i, x in enumerate(data.get(key) or []):
            if not isinstance(x, dict):
                raise bad(f"{key}[{i}]", "an object")
    for i, u in enumerate(data.get("units") or []):
        for key in ("tiers", "criteria", "failed_indicators"):
            if key in u and not isinstance(u[key], dict):
                raise bad(f"units[{i}].{key}", "an object")
        if "gaps" in u and not isinstance(u["gaps"], list):
            raise bad(f"units[{i}].gaps", "a list")
    s = data.get("summary") or {}
    for key in ("tiers", "bands", "tier_labels"):
        if key in s and not isinstance(s[key], dict):
            raise bad(f"summary.{key}", "an object")
    for key in ("most_failed_criteria", "most_failed_indicators", "priority", "districts", "lost"):
        if key in s and not isinstance(s[key], list):
            raise bad(f"summary.{key}", "a list")
    if data.get("input") is not None and not isinstance(data["input"], (dict, str)):  # older files: a path
        raise bad("input", "an object or a path")
    for key in ("ruleset", "overlay", "compare"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise bad(key, "an object")


def _run_batch(path: str, ruleset: str | None, overlay: str | None, as_of) -> dict:
    try:
        from ntm.batch.run import run_batch
    except ImportError:
        raise NtmInputError.single("batch input (a folder, CSV or XLSX) needs `ntm batch`, which is not "
                                   "available in this installation", file=path,
                                   hint="run `ntm batch … --format json -o batch.json` and report that file") from None
    result = run_batch(path, ruleset=ruleset, overlay=overlay, as_of=as_of, jobs=1)
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    return result


def render_report(kind: str, obj, fmt: str, lang: str) -> str | bytes:
    """The report as text (html, md) or bytes (pdf, docx)."""
    if fmt in BINARY:
        import ntm.report as rep

        name = f"render_{'batch_' if kind == 'batch' else ''}{fmt}"
        return getattr(rep, name)(obj, lang)
    if kind == "outcome":
        if fmt == "html":
            from ntm.report.html import render
        else:
            from ntm.report.markdown import render
    elif fmt == "html":
        from ntm.report.batch_html import render
    else:
        from ntm.report.batch_md import render
    return render(obj, lang)


@app.command()
def report(
    source: Annotated[str, typer.Argument(metavar="DOSSIER_OR_BATCH", help="A dossier (YAML/JSON), an outcome JSON, "
                                          "a batch JSON, or a folder/CSV/XLSX to run as a batch.")],
    fmt: Annotated[ReportFmt, typer.Option("--format", "-f", help="html (self-contained), md, pdf (A4, to sign and "
                                           "file) or docx (Word).")] = ReportFmt.html,
    lang: Annotated[Lang, typer.Option("--lang", help="Report language (Vietnamese by default).")] = Lang.vi,
    ruleset: Annotated[str | None, typer.Option("--ruleset", "-r", help="Ruleset id or file (dossier/batch "
                                                "input).")] = None,
    overlay: Annotated[str | None, typer.Option("--overlay", help="Provincial overlay file (dossier/batch "
                                                "input).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge by the rules in force on this date "
                                              "(YYYY-MM-DD; dossier input).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of "
                                               "stdout.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Allow --output to replace an existing file.")] = False,
    audit_past: Annotated[bool, typer.Option("--audit-past", help="Apply a level's rules after the level ended "
                                             "(districts after 2025-07-01), to audit a past decision; the report "
                                             "says so.")] = False,
) -> None:
    """Write a report: the appraisal view of one unit, or the province summary of a batch with charts."""
    when = parse_date(as_of, "--as-of")
    if fmt.value in BINARY and output is None and sys.stdout.isatty():
        raise NtmInputError.single(f"a {fmt.value.upper()} file is not for the terminal", field="--format",
                                   hint=f"add -o bao-cao.{fmt.value}")
    if output is not None:
        from ntm.fileout import check_target

        check_target(output, force)  # before the work: an existing path (a dangling link too) needs --force
    kind, obj = read_input(source, ruleset, overlay, when, audit_past)
    from_file = kind == "batch" and not (os.path.isdir(source) or source.lower().endswith(BATCH_EXT))
    try:
        doc = render_report(kind, obj, fmt.value, lang.value)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as e:
        if not from_file:
            raise
        # a value deeper than the shape check looks at (a number where a list of codes belongs)
        raise NtmInputError.single(f"a value has the wrong type or is missing ({type(e).__name__}: {e})",
                                   file=source, expected="the JSON written by `ntm batch --format json`",
                                   hint="the file is damaged or was edited; run `ntm batch -f json` again") from None
    if isinstance(doc, bytes):
        if output is None:
            sys.stdout.buffer.write(doc)
            sys.stdout.flush()
        else:
            from ntm.commands.batch import _write_bytes

            _write_bytes(doc, output, force)
    else:
        write_output(doc, output, force)
