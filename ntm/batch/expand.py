"""A batch input (a folder, a CSV file or a workbook) as dossier files, for the commands that take dossiers
(`plan`, `whatif`, `compare`): the same table contract as `ntm batch`, one dossier per row."""

from __future__ import annotations

import contextlib
import os
import re

from ntm.errors import NtmInputError, Problem

TABLE_EXT = (".csv", ".xlsx", ".xlsm")


class Expanded(list):
    """The paths to use, and for each temporary dossier file the name a person knows it by (file.csv:row 3)."""

    def __init__(self, paths, names: dict | None = None):
        super().__init__(paths)
        self.names = names or {}

    def name(self, path: str) -> str:
        return self.names.get(os.path.abspath(path), path)


def is_table(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(TABLE_EXT)


@contextlib.contextmanager
def dossier_files(paths: list[str], *, ruleset: str | None = None, overlay: str | None = None,
                  sheet: str | None = None):
    """Yield the paths with every table replaced by a temporary folder of one YAML dossier per row (named
    CODE-rowN.yaml); a bad row stops with its row number and reason, as in `ntm batch --strict`."""
    import tempfile

    import yaml

    from ntm.batch.inputs import RowError, read_input
    from ntm.batch.run import catalogue

    if not any(is_table(p) for p in paths):
        yield Expanded(paths)
        return
    with tempfile.TemporaryDirectory(prefix="ntm-rows-") as tmp:
        out: list[str] = []
        names: dict = {}
        problems: list[Problem] = []
        for k, p in enumerate(paths):
            if not is_table(p):
                out.append(p)
                continue
            inp = read_input(p, catalogue(ruleset, overlay), sheet=sheet)
            folder = os.path.join(tmp, f"{k}-{os.path.splitext(os.path.basename(p))[0]}")
            os.makedirs(folder)
            for item in inp.items:
                if isinstance(item, RowError):
                    problems.append(Problem(item.reason, file=p))
                    continue
                # the code as given may be anything (300 characters, '../x', ':*?'): only a safe prefix names the file
                safe = re.sub(r"[^0-9A-Za-z_-]", "_", str(item.code or "row"))[:40] or "row"
                name = f"{safe}-row{item.row}.yaml"
                target = os.path.join(folder, name)
                with open(target, "w", encoding="utf-8") as fh:
                    yaml.safe_dump(item.dossier, fh, allow_unicode=True, sort_keys=False)
                names[os.path.abspath(target)] = f"{p}:{item.row}"
            out.append(folder)
        if problems:
            raise NtmInputError(problems)
        yield Expanded(out, names)
