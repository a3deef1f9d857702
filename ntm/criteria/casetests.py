"""`ntm rulesets test`: find a ruleset's YAML case files and run them through `ntm.casefile` (engine + oracle).

Where cases live: `<ruleset dir>/tests/*.yaml` for a ruleset folder (the shipped layout, also collected by
pytest), and `<name>.cases.yaml` beside a ruleset file `<name>.yaml` (single-file rulesets such as fixtures).
A case file's `ruleset:` is a shipped id or a path relative to the case file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ntm.casefile import CaseResult, case_files, load_cases, run_case
from ntm.criteria.loader import shipped_paths
from ntm.criteria.yamlsrc import load
from ntm.errors import NtmInputError, did_you_mean


@dataclass
class FileResult:
    path: str
    ruleset: str
    results: list[CaseResult]


def _is_case_file(path: str) -> bool:
    src = load(path)
    return isinstance(src.data, dict) and "cases" in src.data


def find_case_files(ref: str) -> list[str]:
    """Case files for a ruleset id / folder / file, a case file, or a folder of case files."""
    shipped = shipped_paths()
    if ref in shipped:
        return case_files(os.path.dirname(shipped[ref]))
    if os.path.isdir(ref):
        if os.path.isfile(os.path.join(ref, "ruleset.yaml")):
            return case_files(ref)
        return sorted(os.path.join(ref, f) for f in os.listdir(ref) if f.endswith((".yaml", ".yml"))
                      and _is_case_file(os.path.join(ref, f)))
    if os.path.isfile(ref):
        if _is_case_file(ref):
            return [ref]
        stem, _ = os.path.splitext(ref)
        found = [p for p in (stem + ".cases.yaml", stem + ".cases.yml") if os.path.isfile(p)]
        if os.path.basename(ref) == "ruleset.yaml":
            found += case_files(os.path.dirname(ref) or ".")
        return found
    raise NtmInputError.single(f"no shipped ruleset '{ref}' and no such file or folder", field="PATH",
                               expected="a ruleset id (" + ", ".join(shipped) + "), a ruleset, a case file or folder",
                               hint=did_you_mean(ref, shipped))


def case_ruleset(ref: str, case_path: str) -> str:
    """A case file's `ruleset:` as something load_ruleset accepts: a shipped id, or a path from the case file."""
    if ref in shipped_paths() or os.path.isabs(ref):
        return ref
    beside = os.path.join(os.path.dirname(os.path.abspath(case_path)), ref)
    return beside if os.path.exists(beside) else ref


def run_file(path: str, ruleset: str | None = None, only: str | None = None) -> FileResult:
    """Run every case of one file (bad case files raise NtmInputError: exit 2)."""
    cf, _ = load_cases(path)
    rs_ref = ruleset or case_ruleset(cf.ruleset, path)
    results = [run_case(cf, case, path, rs_ref) for case in cf.cases if only is None or only in case.name]
    return FileResult(path, rs_ref, results)
