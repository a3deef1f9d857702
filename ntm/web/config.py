"""What one server is started with (`ntm serve` options), checked before it listens."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ntm.errors import NtmInputError


@dataclass(frozen=True)
class WebConfig:
    register: str  # SQLite register file (created on first record)
    token: str | None = None  # bearer token; None: no protection (the server listens on loopback)
    key: str | None = None  # council private key: records made here are signed with it
    signer: str | None = None
    overlays: tuple[tuple[str, str], ...] = ()  # (id, path) offered in the pages and accepted by the API
    workers: int = 1  # engine worker processes; 0: evaluate in the server process (no isolation)
    timeout: float = 30.0  # seconds per evaluation before its worker is stopped
    max_upload: int = 5 * 1024 * 1024  # bytes of one request body
    max_rows: int = 2000  # rows of a batch upload
    batch_jobs: int = 1
    tmpdir: str = field(default="")  # where uploads are kept while the server runs
    allowed_hosts: tuple[str, ...] = ("*",)  # Host headers answered (loopback only when listening on loopback)


def read_token(path: str) -> str:
    """The first line of the token file; a short or empty token is refused (it would be guessable)."""
    from ntm.criteria.yamlsrc import read_text

    text = read_text(path).strip()
    token = text.splitlines()[0].strip() if text else ""
    if len(token) < 16:
        raise NtmInputError.single("the token is too short", file=path, field="--token-file",
                                   expected="at least 16 characters on the first line",
                                   hint="for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > token.txt")
    return token


def overlay_entries(paths: list[str]) -> tuple[tuple[str, str], ...]:
    """(id, path) of each --overlay file, read once to check it parses and to learn its id."""
    from ntm.criteria.yamlsrc import load

    out, seen = [], set()
    for p in paths:
        src = load(p)
        info = src.data.get("overlay") if isinstance(src.data, dict) else None
        oid = info.get("id") if isinstance(info, dict) else None
        if not isinstance(oid, str) or not oid:
            raise NtmInputError.single("not an overlay file (no overlay.id)", file=p, field="--overlay",
                                       expected="overlay: {id: ..., ...}")
        if oid in seen:
            raise NtmInputError.single(f"two overlays have the id '{oid}'", file=p, field="--overlay")
        seen.add(oid)
        out.append((oid, os.path.abspath(p)))
    return tuple(out)
