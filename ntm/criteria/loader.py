"""Find, read, validate and hash rulesets: the shipped ones (package data) and any file an author points at."""

from __future__ import annotations

import datetime as dt
import functools
import re
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


def _cache_dir() -> str:
    return os.environ.get("NTM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ntm-rules")


def _cache_path(sha: str) -> str:
    from ntm import __version__

    return os.path.join(_cache_dir(), f"ruleset-{sha}-{__version__}.json")


def _key_path() -> str:
    return os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "ntm-rules",
                        "cache.key")


def _cache_key() -> bytes | None:
    """This user's secret for the cache, kept outside the cache folder (which $NTM_CACHE_DIR may point anywhere):
    an entry is used only if it carries a MAC made with it, so nobody who can only write the cache folder can
    change a decision. No usable key (not ours, readable by others, unwritable home): no cache, just slower."""
    path = _key_path()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        key = fh.read(64)
    if st.st_uid != os.geteuid() or st.st_mode & 0o077 or len(key) != 32:
        return None
    return key


def _mac(key: bytes, sha: str, payload: str) -> str:
    import hmac

    from ntm import __version__

    return hmac.new(key, f"{sha}\n{__version__}\n{payload}".encode("utf-8"), hashlib.sha256).hexdigest()


def _from_cache(sha: str, key: bytes | None) -> Ruleset | None:
    """A ruleset validated before, stored as JSON (never pickle: nothing is executed) under the hash of the source
    it came from, with a MAC over that hash and the payload: a poisoned or damaged entry is ignored and rebuilt."""
    import hmac

    if key is None:
        return None
    try:
        with open(_cache_path(sha), encoding="utf-8") as fh:
            mac, _, payload = fh.read().partition("\n")
        if not hmac.compare_digest(mac.encode("utf-8"), _mac(key, sha, payload).encode("ascii")):
            return None
        return Ruleset.model_validate_json(payload)
    except (OSError, ValueError):
        return None


def _to_cache(sha: str, rs: Ruleset, key: bytes | None) -> None:
    if key is None:
        return
    path = _cache_path(sha)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        payload = rs.model_dump_json(by_alias=True, exclude_unset=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(_mac(key, sha, payload) + "\n" + payload)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: the cache only saves time


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int, size: int) -> LoadedRuleset:
    text = read_text(path)
    sha = sha256_text(text)
    key = _cache_key()
    cached = _from_cache(sha, key)
    if cached is not None:
        return LoadedRuleset(cached, path, sha)
    src = parse(text, path)
    rs = validate(Ruleset, src)
    errs = consistency_errors(rs)
    if errs:
        raise NtmInputError([Problem(msg, file=path, line=src.line_of(loc), field=field_path(loc) or None)
                             for loc, msg in errs])
    _to_cache(sha, rs, key)
    return LoadedRuleset(rs, path, sha)


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


_HEADER = re.compile(r"^effective:\s*\n\s+from:\s*(\d{4}-\d{2}-\d{2})\s*\n(?:\s+to:\s*(\d{4}-\d{2}-\d{2})\s*\n)?",
                     re.MULTILINE)
_LEVEL = re.compile(r"^  - level: (\w+)\s*$", re.MULTILINE)


def _period(path: str) -> tuple[dt.date, dt.date | None, set[str]] | None:
    """Effective period and levels of a shipped ruleset from its header, without parsing the whole file."""
    try:
        text = read_text(path)
    except NtmInputError:
        return None
    m = _HEADER.search(text)
    if not m:
        return None
    end = dt.date.fromisoformat(m.group(2)) if m.group(2) else None
    return dt.date.fromisoformat(m.group(1)), end, set(_LEVEL.findall(text))


def _ended_level(date, level: str) -> LoadedRuleset | None:
    """The shipped ruleset whose `level` ended most recently before date (districts after 2025-07-01)."""
    ended = []
    for lr in all_shipped():
        ls = lr.ruleset.level(level)
        if ls is not None and ls.effective is not None and ls.effective.end is not None and ls.effective.end < date:
            ended.append((ls.effective.end, lr.path, lr))
    return max(ended, key=lambda x: (x[0], x[1]))[2] if ended else None


def ruleset_for_date(date, level: str = "commune", audit_past: bool = False) -> LoadedRuleset:
    """The shipped ruleset in force on a date (effective.from <= date <= effective.to).

    A level that has ended (districts after 2025-07-01) is an error naming why, unless `audit_past` asks for the
    last rules that had it, to audit a past decision."""
    candidates = []
    for rid, path in shipped_paths().items():
        period = _period(path)
        if period is None:  # unusual header: fall back to a full load
            lr = load_ruleset_file(path)
            period = (lr.ruleset.effective.start, lr.ruleset.effective.end, {ls.level for ls in lr.ruleset.levels})
        start, end, levels = period
        if start <= date and (end is None or date <= end) and level in levels:
            candidates.append((start, path))
    if candidates:
        lr = load_ruleset_file(max(candidates)[1])
        eff = lr.ruleset.effective  # the header scan is only a shortcut: the loaded ruleset must agree
        if eff.start <= date and (eff.end is None or date <= eff.end) and lr.ruleset.level(level):
            return lr
    gone = _ended_level(date, level)
    if gone is not None:
        if audit_past:
            return gone
        ls = gone.ruleset.level(level)
        why = f": {ls.end_note.en}" if ls.end_note else ""
        raise NtmInputError.single(
            f"the {level} level ended on {ls.effective.end} ({gone.ruleset.id}){why}; no rules for it are in force on {date}",
            field="assessment.date", expected=f"a date up to {ls.effective.end}",
            hint=f"to audit a decision taken under the old {level} rules, add --audit-past to ntm evaluate or ntm report")
    spans = ", ".join(
        f"{lr.ruleset.id} ({lr.ruleset.effective.start} → {lr.ruleset.effective.end or '…'})" for lr in all_shipped()
    )
    raise NtmInputError.single(
        f"no shipped ruleset for level {level} is in force on {date}",
        field="assessment.date",
        expected=f"a date covered by a shipped ruleset: {spans}",
        hint="name a ruleset file with --ruleset if you have one for that period",
    )
