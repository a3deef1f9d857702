"""Find, read, validate and hash rulesets: the shipped ones (package data) and any file an author points at."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from importlib import resources

from ntm.criteria.model import Ruleset, consistency_errors
from ntm.criteria.validation import field_path, validate
from ntm.criteria.yamlsrc import parse, read_text
from ntm.errors import NtmInputError, Problem, did_you_mean


@dataclass(frozen=True)
class LoadedRuleset:
    ruleset: Ruleset
    path: str
    sha256: str  # of the file's bytes as read: what an auditor compares


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shipped_dir() -> str:
    return str(resources.files("ntm") / "rulesets")


def shipped_paths() -> dict[str, str]:
    """ruleset id -> path, from ntm/rulesets/<id>/ruleset.yaml."""
    base = shipped_dir()
    out = {}
    for name in sorted(os.listdir(base)):
        p = os.path.join(base, name, "ruleset.yaml")
        if os.path.isfile(p):
            out[name] = p
    return out


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int, size: int) -> LoadedRuleset:
    text = read_text(path)
    src = parse(text, path)
    rs = validate(Ruleset, src)
    errs = consistency_errors(rs)
    if errs:
        raise NtmInputError([Problem(msg, file=path, line=src.line_of(loc), field=field_path(loc) or None)
                             for loc, msg in errs])
    return LoadedRuleset(rs, path, sha256_text(text))


def load_ruleset_file(path: str) -> LoadedRuleset:
    try:
        st = os.stat(path)
    except OSError as e:
        raise NtmInputError.single(f"cannot read ruleset: {e.strerror or e}", file=path) from None
    return _load_cached(os.path.abspath(path), st.st_mtime_ns, st.st_size)


def load_ruleset(ref: str) -> LoadedRuleset:
    """A shipped ruleset id, or a path to a ruleset YAML file."""
    shipped = shipped_paths()
    if ref in shipped:
        return load_ruleset_file(shipped[ref])
    if os.path.exists(ref):
        if os.path.isdir(ref) and os.path.isfile(os.path.join(ref, "ruleset.yaml")):
            ref = os.path.join(ref, "ruleset.yaml")
        return load_ruleset_file(ref)
    raise NtmInputError.single(
        f"no shipped ruleset '{ref}' and no such file",
        field="ruleset",
        expected="one of " + ", ".join(shipped) if shipped else "a ruleset file",
        hint=did_you_mean(ref, shipped),
    )


def all_shipped() -> list[LoadedRuleset]:
    return [load_ruleset_file(p) for p in shipped_paths().values()]


def ruleset_for_date(date, level: str = "commune") -> LoadedRuleset:
    """The shipped ruleset in force on a date (effective.from <= date <= effective.to)."""
    hits = []
    for lr in all_shipped():
        eff = lr.ruleset.effective
        if eff.start <= date and (eff.end is None or date <= eff.end) and lr.ruleset.level(level):
            hits.append(lr)
    if not hits:
        spans = ", ".join(
            f"{lr.ruleset.id} ({lr.ruleset.effective.start} → {lr.ruleset.effective.end or '…'})" for lr in all_shipped()
        )
        raise NtmInputError.single(
            f"no shipped ruleset for level {level} is in force on {date}",
            field="assessment.date",
            expected=f"a date covered by a shipped ruleset: {spans}",
            hint="name a ruleset file with --ruleset if you have one for that period",
        )
    hits.sort(key=lambda lr: lr.ruleset.effective.start)
    return hits[-1]
