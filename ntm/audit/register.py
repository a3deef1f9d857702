"""The decision register: an append-only SQLite table whose entries form a hash chain.

Each entry stores the hash of the entry before it, so editing, deleting, inserting or reordering an entry
breaks the chain at a named seq. A one-row anchor (count, head hash) catches a deleted last entry; someone who
can rewrite the file can also rewrite the anchor, so councils should publish the head hash (`register verify`
prints it) and later check it with `--expect-head`. Appends are serialised with BEGIN IMMEDIATE in WAL mode:
parallel processes lose nothing, and a crash mid-write rolls back to the last complete entry. Every add ends
with a checkpoint, so an acknowledged entry is in the main file: losing or damaging the `-wal` file loses nothing.
Reading commands open the file read-only: they never change it, never create it, and work on read-only media.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field

from ntm.audit import record
from ntm.audit.canonical import canonical, sha256_hex
from ntm.errors import NtmInputError

GENESIS = "0" * 64
DEFAULT = "ntm-register.sqlite"
COLUMNS = ("seq", "decision_id", "unit_code", "unit_name", "level", "year", "ruleset", "highest_tier",
           "record_sha256", "record", "prev_hash", "entry_hash")
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries(
    seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL, unit_code TEXT NOT NULL, unit_name TEXT NOT NULL,
    level TEXT NOT NULL, year INTEGER NOT NULL, ruleset TEXT NOT NULL, highest_tier TEXT,
    record_sha256 TEXT NOT NULL, record TEXT NOT NULL, prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_unit ON entries(unit_code, year);
CREATE INDEX IF NOT EXISTS entries_record ON entries(record_sha256);
CREATE TABLE IF NOT EXISTS anchor(id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL, head TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the register is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the register is append-only'); END;
"""


def default_path() -> str:
    return os.environ.get("NTM_REGISTER") or DEFAULT


def entry_hash(prev_hash: str, fields: dict) -> str:
    """sha256(prev_hash + canonical(entry fields)); the record enters through the hash of its exact text."""
    body = {k: fields[k] for k in COLUMNS if k not in ("record", "prev_hash", "entry_hash")}
    body["record_text_sha256"] = sha256_hex(fields["record"])
    return sha256_hex(prev_hash + canonical(body))


def connect(path: str, create: bool = True) -> sqlite3.Connection:
    """A writing connection (create=True: WAL, schema made if missing) or a strictly read-only one."""
    if not create and not os.path.exists(path):
        raise NtmInputError.single("no register here", file=path,
                                   hint="add a record first (`ntm register add`), or give --db / $NTM_REGISTER")
    if os.path.isdir(path):
        raise NtmInputError.single("is a folder; give the register's file name", file=path)
    if not create:
        return _read_only(path)
    try:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        conn.text_factory = _text
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if create:
            conn.executescript(SCHEMA)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise NtmInputError.single(f"not a usable register: {e}", file=path,
                                   expected="an SQLite register created by ntm") from None
    return conn


def _text(raw: bytes) -> str:
    """Stored text that is not UTF-8 was written outside ntm: read it with replacement characters, so the entry's
    hash no longer matches and verify names it as edited instead of failing on it."""
    return raw.decode("utf-8", "replace")


def _read_only(path: str) -> sqlite3.Connection:
    """mode=ro: no journal-mode switch, no schema, no file created. On read-only media a WAL register has no
    -shm file and cannot make one; nobody can be writing it there, so it is opened as immutable instead."""
    from urllib.parse import quote

    uri = "file:" + quote(os.path.abspath(path))
    last = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(uri + query, uri=True, timeout=60, isolation_level=None)
            conn.text_factory = _text
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
            last = e
            if os.access(os.path.dirname(os.path.abspath(path)) or ".", os.W_OK) and "unable to open" not in str(e):
                break
    raise NtmInputError.single(f"not a usable register: {last}", file=path,
                               expected="an SQLite register created by ntm") from None


def checkpoint(conn: sqlite3.Connection, wait: float = 120.0) -> None:
    """Move every committed entry from the -wal file into the main file. Another writer's checkpoint or a
    reader of an older snapshot makes it report busy at once: try again until ours completes."""
    import time

    deadline = time.monotonic() + wait
    pause = 0.002
    while True:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("the register is busy: the entry is committed, but could not be "
                                           "checkpointed into the main file yet")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _fields(rec: dict, text: str) -> dict:
    out = rec["outcome"]
    rs = rec["inputs"]["ruleset"]
    return {"decision_id": rec["decision_id"], "unit_code": rec["unit"]["code"], "unit_name": rec["unit"]["name"],
            "level": rec["unit"]["level"], "year": rec["assessment_year"],
            "ruleset": f"{rs['id']}@{rs.get('version_in_force') or rs['version']}", "highest_tier": (out.get("summary") or {}).get("highest_tier"),
            "record_sha256": rec["record_sha256"], "record": text}


@dataclass
class Added:
    seq: int
    entry_hash: str
    new: bool  # False: the identical record was already registered (adding is idempotent)


def add(path: str, text: str, source: str | None = None) -> Added:
    """Append one intact record. The same record text twice is idempotent (the existing seq is returned);
    a different record for the same decision (e.g. signed by another council) gets its own entry."""
    from ntm.audit.verify import integrity

    rec = record.parse(text, source)
    bad = integrity(rec)
    if bad is not None:
        raise NtmInputError.single("refusing to register a tampered record: " + "; ".join(bad.problems), file=source)
    text = record.to_text(rec)  # stored canonical, whatever the file's layout
    f = _fields(rec, text)
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for seq, stored, h in conn.execute("SELECT seq, record, entry_hash FROM entries WHERE record_sha256=?",
                                               (f["record_sha256"],)):
                if stored == text:
                    conn.execute("ROLLBACK")
                    return Added(seq, h, False)
            last = conn.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            anchor = conn.execute("SELECT count, head FROM anchor WHERE id=1").fetchone()
            count = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            if (tuple(anchor) if anchor else (0, GENESIS)) != (count, prev):
                raise NtmInputError.single("the register's anchor does not match its entries; not appending",
                                           file=path, hint="run `ntm register verify` to see what changed")
            f.update(seq=seq, prev_hash=prev)
            f["entry_hash"] = entry_hash(prev, f)
            conn.execute(f"INSERT INTO entries({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                         [f[c] for c in COLUMNS])
            conn.execute("INSERT OR REPLACE INTO anchor(id, count, head) VALUES (1, ?, ?)", (count + 1, f["entry_hash"]))
            conn.execute("COMMIT")
            checkpoint(conn)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return Added(seq, f["entry_hash"], True)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise NtmInputError.single(f"cannot append to the register: {e}", file=path) from None
    finally:
        conn.close()


def rows(path: str, unit: str | None = None, year: int | None = None) -> list[dict]:
    conn = connect(path, create=False)
    try:
        sql = ("SELECT seq, decision_id, unit_code, unit_name, level, year, ruleset, highest_tier, "
               "record_sha256, entry_hash FROM entries WHERE 1=1")
        args: list = []
        if unit is not None:
            sql += " AND unit_code=?"
            args.append(unit)
        if year is not None:
            sql += " AND year=?"
            args.append(year)
        cur = conn.execute(sql + " ORDER BY seq", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise NtmInputError.single(f"not a usable register: {e}", file=path) from None
    finally:
        conn.close()


def get(path: str, ident: str) -> dict:
    """One entry by seq number or by (a unique prefix of) its decision id."""
    conn = connect(path, create=False)
    try:
        cur = conn.execute(f"SELECT {','.join(COLUMNS)} FROM entries WHERE "
                           + ("seq=?" if ident.isdigit() and len(ident) < 12 else "decision_id LIKE ? ESCAPE '\\'")
                           + " ORDER BY seq",
                           (int(ident),) if ident.isdigit() and len(ident) < 12 else
                           (ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))
        found = [dict(zip(COLUMNS, r)) for r in cur]
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise NtmInputError.single(f"not a usable register: {e}", file=path) from None
    finally:
        conn.close()
    if not found:
        raise NtmInputError.single(f"no entry '{ident}' in the register", file=path,
                                   expected="a seq number or a decision id (or its first characters)")
    if len({r["decision_id"] for r in found}) > 1:
        raise NtmInputError.single(f"'{ident}' matches several decisions", file=path, hint="give more characters")
    return found[-1]


@dataclass
class Check:
    count: int
    head: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str, expect_head: str | None = None) -> Check:
    """Walk the chain from the start; name every entry that was edited, deleted, inserted or moved."""
    conn = connect(path, create=False)
    try:
        entries = [dict(zip(COLUMNS, r)) for r in
                   conn.execute(f"SELECT {','.join(COLUMNS)} FROM entries ORDER BY seq")]
        anchor = conn.execute("SELECT count, head FROM anchor WHERE id=1").fetchone()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
        raise NtmInputError.single(f"not a usable register: {e}", file=path) from None
    finally:
        conn.close()
    problems: list[str] = []
    prev, expected = GENESIS, 1
    hashes = set()
    for e in entries:
        s = e["seq"]
        if s != expected:
            problems.append(f"seq {expected}" + (f"..{s - 1}" if s - 1 > expected else "")
                            + f": missing (deleted), the chain jumps to seq {s}")
        if e["prev_hash"] != prev:
            problems.append(f"seq {s}: does not follow the entry before it (prev_hash mismatch): an entry before it "
                            "was edited, deleted or inserted, or this one was moved")
        try:
            own = entry_hash(e["prev_hash"], e)
        except (TypeError, ValueError, NtmInputError):
            own = None
        if own != e["entry_hash"]:
            problems.append(f"seq {s}: edited or moved (its content does not match its entry_hash)")
        problems.extend(f"seq {s}: {p}" for p in _record_problems(e))
        prev, expected = e["entry_hash"], s + 1
        hashes.add(e["entry_hash"])
    head = entries[-1]["entry_hash"] if entries else GENESIS
    if anchor is None and entries:
        problems.append("the anchor (entry count and head hash) is missing")
    elif anchor is not None and tuple(anchor) != (len(entries), head):
        problems.append(f"the anchor records {anchor[0]} entries ending in {anchor[1][:16]}…, but the chain has "
                        f"{len(entries)} ending in {head[:16]}…: entries at the end were deleted or added outside ntm")
    if expect_head is not None and expect_head != GENESIS and expect_head not in hashes:
        problems.append(f"the published head {expect_head} is not in the chain: entries were removed or rewritten")
    return Check(len(entries), head, problems)


def _record_problems(e: dict) -> list[str]:
    try:
        rec = record.parse(e["record"])
    except NtmInputError as err:
        return [f"stored record is unreadable ({err})"]
    from ntm.audit.verify import integrity

    bad = integrity(rec)
    if bad is not None:
        return ["stored record was edited: " + "; ".join(bad.problems)]
    try:
        f = _fields(rec, e["record"])
    except (KeyError, TypeError, AttributeError):
        return ["stored record lacks the fields the register indexes"]
    return [f"column {k} ({e[k]!r}) does not match the stored record ({f[k]!r})" for k in f if e[k] != f[k]]
