"""Writing files so that no reader ever sees half of one: weights, SVGs and figures alike."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextmanager
def atomic_open(path: PathLike, who: str) -> Iterator[IO[bytes]]:
    """Open a new temporary file beside `path` for binary writing. When the block ends it is
    synced and moved over `path` in one step (os.replace); on any error it is removed and
    `path` is left as it was. `who` names the caller in errors."""
    path = Path(path)
    directory = path.absolute().parent
    if not directory.is_dir():
        raise FileNotFoundError(f"{who}: the directory {str(directory)!r} of {str(path)!r} does not exist")
    temporary = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temporary, "xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: PathLike, data: bytes, who: str) -> Path:
    """Write `data` to `path` with `atomic_open`; returns the path."""
    with atomic_open(path, who) as file:
        file.write(data)
    return Path(path)
