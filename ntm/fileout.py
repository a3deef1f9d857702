"""The one way the tool writes a file a user named: atomically, never over a file without --force, and every
I/O failure as a clear error about that file (exit 2).

A new file is written next to its target under a recognisable hidden name (``.<name>.ntm-tmp-<pid>-<rand><ext>``),
flushed to disk, given the ordinary mode (0666 less the umask) and renamed over the target: a reader, a crash
or a kill at any moment sees the old file or the complete new one. A temp file left by a process that was
killed between write and rename is removed by the next write of the same target (its pid is dead); folder
readers skip hidden files, so they never read one.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterable

from ntm.errors import NtmInputError

TMP_TAG = ".ntm-tmp-"

Data = bytes | str


def temp_name(output: str, pid: int | None = None) -> str:
    """Where the new content of `output` is written before the rename (same folder: the rename is atomic)."""
    folder, name = os.path.split(os.path.abspath(output))
    ext = os.path.splitext(name)[1][:16]  # kept, for checks that go by the extension (a workbook read back)
    return os.path.join(folder, f".{name}{TMP_TAG}{pid if pid is not None else os.getpid()}-{secrets.token_hex(4)}{ext}")


def is_temp(name: str) -> bool:
    """A temp file of this writer (folder readers skip these)."""
    return name.startswith(".") and TMP_TAG in name


def check_target(output: str, force: bool, field: str | None = None) -> None:
    """Refuse early (before any work): a folder, or any existing path — a dangling symlink too — without --force."""
    if os.path.isdir(output):
        raise NtmInputError.single("is a folder; give a file name", file=output, field=field)
    if _is_special(output):
        return  # a device or pipe (/dev/stdout): written to, never replaced
    if os.path.lexists(output) and not force:
        raise NtmInputError.single("file exists; not overwriting it", file=output, field=field,
                                   hint="use --force to replace it")


def _is_special(output: str) -> bool:
    try:
        st = os.stat(output)
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


class Staged:
    """New content written and flushed beside its target, not yet in place: `commit()` renames it over the
    target, `discard()` removes it. Several staged files commit together or not at all (see write_all)."""

    def __init__(self, output: str, tmp: str | None):
        self.output = output
        self.tmp = tmp

    def commit(self) -> None:
        if self.tmp is None:
            return
        try:
            os.replace(self.tmp, self.output)
        except OSError as e:
            self.discard()
            raise io_error(e, self.output) from None
        self.tmp = None
        _sync_folder(self.output)

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None


def stage(data: Data | Callable[[], Data], output: str, force: bool, field: str | None = None) -> Staged:
    """Write `data` (or what `data()` returns: a workbook built here has its I/O failures reported about
    `output` too) to a temp file beside `output`. A device or pipe target is written at once."""
    check_target(output, force, field)
    try:
        body = _build(data) if callable(data) else data
    except (OSError, _serialisation_error()) as e:
        raise io_error(e, output, field) from None
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if _is_special(output):
        try:
            with open(output, "wb") as fh:
                fh.write(raw)
        except OSError as e:
            raise io_error(e, output, field) from None
        return Staged(output, None)
    remove_stale(output)
    tmp = temp_name(output)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)  # umask applies
    except OSError as e:
        raise io_error(e, output, field) from None
    staged = Staged(output, tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            view = memoryview(raw)
            while view:
                n = fh.write(view[: 1 << 20])
                view = view[n:]
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as e:
        staged.discard()
        raise io_error(e, output, field) from None
    except BaseException:
        staged.discard()
        raise
    return staged


def write_file(data: Data | Callable[[], Data], output: str, force: bool, field: str | None = None) -> None:
    """Write one file atomically (see the module docstring)."""
    s = stage(data, output, force, field)
    try:
        s.commit()
    except BaseException:
        s.discard()
        raise


def write_all(items: Iterable[tuple[Data | Callable[[], Data], str, str | None]], force: bool) -> None:
    """Several files (a report and its decision record): all are written and flushed first, then renamed, so a
    failure writing any of them leaves every target as it was."""
    staged: list[Staged] = []
    try:
        for data, output, field in items:
            staged.append(stage(data, output, force, field))
        for s in staged:
            s.commit()
    finally:
        for s in staged:
            s.discard()


def _build(make: Callable[[], Data]) -> Data:
    """Run a content builder. A failed one (openpyxl's sheet writers are generators over lxml and its own temp
    files) is released and collected here with its 'Exception ignored' noise silenced: the user sees one clear
    error about their file, not a traceback at exit."""
    import gc
    import traceback

    try:
        return make()
    except (OSError, _serialisation_error()) as e:
        code = getattr(e, "errno", None)
        if code is None:
            code = next((v for k, v in _LXML_IO.items() if k in str(e)), None)
        failure = OSError(code, getattr(e, "strerror", None) or str(e))
        traceback.clear_frames(e.__traceback__)
        del e
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _u: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook
    raise failure


def remove_stale(output: str) -> None:
    """Remove temp files of `output` left by a process that no longer runs (killed between write and rename)."""
    folder, name = os.path.split(os.path.abspath(output))
    prefix = f".{name}{TMP_TAG}"
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return
    for n in names:
        pid_text = n[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        try:
            os.unlink(os.path.join(folder, n))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or unknowable): leave its file alone
    return True


def _sync_folder(output: str) -> None:
    """Make the rename itself durable (best effort: not every file system lets a folder be opened)."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(output)) or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _serialisation_error() -> type:
    """lxml reports the OS failure of a workbook's XML writer as SerialisationError('IO_EFBIG')."""
    mod = sys.modules.get("lxml.etree")
    return getattr(mod, "SerialisationError", OSError) if mod is not None else OSError


_LXML_IO = {"IO_EFBIG": errno.EFBIG, "IO_ENOSPC": errno.ENOSPC, "IO_EACCES": errno.EACCES, "IO_EPERM": errno.EPERM,
            "IO_EROFS": errno.EROFS, "IO_ENOENT": errno.ENOENT, "IO_EDQUOT": getattr(errno, "EDQUOT", -1)}


def io_error(e: BaseException, output: str, field: str | None = None) -> NtmInputError:
    """An OS failure writing `output` as the user's problem to fix: which file, what happened, what to do.
    The temp file's name never appears (the user did not name it)."""
    code = getattr(e, "errno", None)
    if code is None:
        code = next((v for k, v in _LXML_IO.items() if k in str(e)), None)
    folder = os.path.dirname(os.path.abspath(output))
    if code == errno.ENOENT:
        msg, hint = f"cannot write: the folder {folder} does not exist", "create the folder or choose another path"
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        msg, hint = "cannot write: no space left on the device", "free some space or write to another disk"
    elif code == errno.EFBIG:
        msg, hint = ("cannot write: the file is larger than the file-size limit of this session",
                     "raise the limit (ulimit -f) or write to another place")
    elif code in (errno.EACCES, errno.EPERM):
        msg, hint = (f"cannot write: permission denied in {folder} (or the folder or file is read-only/immutable)",
                     "choose a folder you can write to, or change its permissions")
    elif code == errno.EROFS:
        msg, hint = "cannot write: the file system is read-only", "write to another disk"
    elif code == errno.ENOTDIR:
        msg, hint = "cannot write: a part of the path is not a folder", "check the path"
    else:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        msg, hint = f"cannot write: {reason}", "check the path, the free space and the permissions"
    return NtmInputError.single(msg + "; nothing was written (an earlier file there is unchanged)", file=output,
                                field=field, hint=hint)
