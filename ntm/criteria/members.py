"""Where a dossier's member dossiers (a district's communes, a province's districts, a merged commune's parts)
may be read from: inside the top dossier's folder, so a dossier cannot make the tool open `/etc/passwd`,
`/proc/self/environ` or `/dev/stdin` and echo it in an error. The user may lift this with an explicit option."""

from __future__ import annotations

import os

from ntm.errors import NtmInputError

OPTION = "--allow-outside-paths"


def root_for(path: str, confine: bool | str | None) -> str | None:
    """The folder member paths must stay in: the dossier's own (confine=True), a given one, or None (anywhere)."""
    if confine is True:
        return os.path.dirname(os.path.realpath(path))
    if not confine:
        return None
    return os.path.realpath(confine)


def member_path(ld, root: str | None, ref: str, where: tuple, field: str) -> str:
    """The path of a member dossier named `ref` in dossier `ld`, refused (exit 2) if it leaves `root`."""
    base = os.path.dirname(os.path.abspath(ld.path))
    path = os.path.join(base, ref)
    if root is None:
        return path
    if os.path.isabs(ref) or (len(ref) > 1 and ref[1] == ":"):
        problem = "is an absolute path"
    else:
        real = os.path.realpath(path)
        problem = None if real == root or real.startswith(root.rstrip(os.sep) + os.sep) else \
            f"leads outside the dossier's folder {root}" + (" (through a symbolic link)" if os.path.realpath(
                os.path.normpath(path)) != os.path.normpath(os.path.abspath(path)) else "")
    if problem is None:
        return path
    raise NtmInputError.single(
        f"{field} '{ref}' {problem}; the dossiers a dossier names must be in its own folder or below",
        file=ld.path, line=ld.source.line_of(where), field=field, expected="a relative path such as xa/xa-a.yaml",
        hint=f"move the file into {root}, or pass {OPTION} (ntm evaluate) if you trust this dossier")
