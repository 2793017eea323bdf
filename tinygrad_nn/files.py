"""Writing files so that no reader ever sees half of one: weights, SVGs and figures alike.

`atomic_open` writes a temporary file beside the target and moves it over the target in one
step (``os.replace``) when the block ends. Every writer (`save`, `save_svg`, `save_figure`,
`to_onnx`) goes through it, so they all treat the path the same way, as ``open(path, "wb")``
would where that is safe:

- A symbolic link is written through: the file it points to gets the new content and the link
  stays (a dangling link creates its target). Other hard links of a replaced file keep the old
  content, as with any atomic write.
- A directory, device, FIFO or socket at the path (or behind the link) is refused before
  anything is touched, and so is an existing file this process may not write.
- An existing file keeps its permission bits (rwx for owner, group and others); a new file
  gets ``0o666`` less the umask, as ``open`` gives it. The owner is whoever writes.
- The temporary file is ``.<name>.<pid>.<8 hex digits>.tmp`` in the target's directory, where
  <pid> is the writing process. Only a process killed mid-write (``kill -9``, out of memory)
  leaves one behind, so each write first removes those of the same target whose process no
  longer runs on this machine and that nobody has modified for `STALE_AFTER` seconds. The wait
  spares a writer on another machine sharing the directory, whose pid means nothing here;
  where processes cannot be looked up (not POSIX) nothing is removed.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]

STALE_AFTER = 600.0  # seconds without a write before a dead process's temporary file is removed
PERMISSION_BITS = 0o777
_KINDS = [(stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket")]


def _temporary_name(name: str) -> str:
    return f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _temporary_pattern(name: str) -> re.Pattern[str]:
    """Matches `_temporary_name(name)` of any process; group 1 is its pid."""
    return re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")


def _runs_here(pid: int) -> bool:
    """Whether process `pid` runs on this machine; True when that cannot be told."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
    if pid <= 0:
        return False  # never a writer's pid, and os.kill(0, 0) would signal our own group
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # PermissionError: it runs, as another user
    return True


def remove_stale_temporaries(path: PathLike) -> list[Path]:
    """Remove the temporary files that killed writers left for `path` (see the module
    docstring for which count as stale); returns those removed. Failures are ignored: another
    writer may be removing the same file."""
    path = Path(path)
    pattern, now = _temporary_pattern(path.name), time.time()
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or _runs_here(int(match.group(1))):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_AFTER:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _writable_target(path: Path, who: str) -> tuple[Path, os.stat_result | None]:
    """The file that writing `path` replaces (symlinks followed) and its status (None when it
    does not exist yet), or an error if it is not a regular file this process may write."""
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{who}: the directory {str(target.parent)!r} of {str(path)!r} "
                                "does not exist")
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return target, None
    except OSError as e:  # a loop of symlinks, a component that is not a directory, ...
        raise type(e)(e.errno, f"{who}: cannot write {str(path)!r}: {e.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        kind = next((kind for is_kind, kind in _KINDS if is_kind(status.st_mode)), "special")
        error = IsADirectoryError if stat.S_ISDIR(status.st_mode) else OSError
        raise error(f"{who}: {str(path)!r} is {kind}, not a regular file; refusing to replace "
                    "it (nothing was written)")
    if not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, f"{who}: {str(path)!r} is not writable (mode "
                              f"{oct(stat.S_IMODE(status.st_mode))}); refusing to replace it")
    return target, status


@contextmanager
def atomic_open(path: PathLike, who: str) -> Iterator[IO[bytes]]:
    """Open a new temporary file beside `path` for binary writing. When the block ends it is
    synced, given the old file's permission bits, and moved over `path` in one step
    (os.replace); on any error it is removed and `path` is left as it was. Symlinks are
    written through, non-regular files refused (see the module docstring). `who` names the
    caller in errors."""
    target, status = _writable_target(Path(path), who)
    remove_stale_temporaries(target)
    temporary = target.parent / _temporary_name(target.name)
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        if status is not None:
            os.chmod(temporary, status.st_mode & PERMISSION_BITS)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: PathLike, data: bytes, who: str) -> Path:
    """Write `data` to `path` with `atomic_open`; returns the path."""
    with atomic_open(path, who) as file:
        file.write(data)
    return Path(path)
