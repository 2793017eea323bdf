"""Saving and loading parameters: a state dict as an `.npz` archive, safely.

- `save` writes one ``<name>.npy`` member per dotted name (``layers.0.W``), the format of
  ``numpy.savez``, to a temporary file in the target's directory and then renames it over the
  target (``os.replace``, atomic): a crash or an error mid-write leaves no partial file, and an
  existing file stays as it was.
- `load` never unpickles (``allow_pickle=False``): an array of Python objects in a file could
  run arbitrary code. A missing, truncated or corrupt file raises an error naming the path and
  the problem. Checking the arrays against a model (names, shapes, dtypes) is
  ``Module.load_state_dict``'s job: ``model.load_state_dict(load(path))``.
"""

from __future__ import annotations

import os
from typing import IO, Any, Dict, Mapping
import zipfile
import zlib

import numpy as np

from .errors import FileFormatError, UnsupportedTypeError
from .files import PathLike, atomic_open

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
SUFFIX = ".npy"


def _numeric(array: np.ndarray) -> bool:
    return array.dtype.kind in NUMERIC_KINDS


def _storable_name(name: Any) -> bool:
    """Whether `name` survives as a zip member name: a non-empty UTF-8 string without NUL."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _arrays_to_save(state_dict: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """The state dict as numeric arrays by name, or an error before any file is touched."""
    if not isinstance(state_dict, Mapping):
        raise UnsupportedTypeError(f"save: state_dict must be a mapping of names to arrays, such "
                                   f"as model.state_dict(); got {type(state_dict).__name__}")
    arrays = {}
    for name, value in state_dict.items():
        if not _storable_name(name):
            raise UnsupportedTypeError(f"save: names must be non-empty strings (UTF-8, no NUL "
                                       f"character); got {name!r}")
        array = np.asarray(value)
        if not _numeric(array):
            raise UnsupportedTypeError(f"save: {name!r} has dtype {array.dtype}; only arrays of "
                                       "numbers are saved (no Python objects or strings), so that "
                                       "loading never has to unpickle")
        arrays[name] = array
    return arrays


def _write_npz(file: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """The .npz layout of numpy.savez, written member by member without pickle (and without
    savez's keyword arguments, so names like 'file' are fine)."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + SUFFIX, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write `state_dict` (name -> numeric array, e.g. ``model.state_dict()``) to `path` as an
    .npz archive, atomically. The path is used as given (no suffix is added)."""
    arrays = _arrays_to_save(state_dict)
    with atomic_open(path, "save") as file:
        _write_npz(file, arrays)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                 path: str) -> np.ndarray:
    """One array of the archive, refusing object arrays (pickles) and non-numeric data."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        header_readers = {(1, 0): np.lib.format.read_array_header_1_0,
                          (2, 0): np.lib.format.read_array_header_2_0}
        if version not in header_readers:
            raise FileFormatError(f"load: {path!r}: array {name!r} uses .npy format version "
                                     f"{version}, which load does not read")
        _, _, dtype = header_readers[version](member)
    if dtype.hasobject:
        raise FileFormatError(f"load: {path!r}: array {name!r} holds pickled Python objects "
                                 f"(dtype {dtype}); refused, because unpickling can run "
                                 "arbitrary code")
    with archive.open(info) as member:
        array = np.lib.format.read_array(member, allow_pickle=False)
    if not _numeric(array):
        raise FileFormatError(f"load: {path!r}: array {name!r} has dtype {array.dtype}, "
                                 "not numbers")
    return array


def load(path: PathLike) -> Dict[str, np.ndarray]:
    """The arrays saved by `save` (any .npz of numeric arrays), by name, read without pickle."""
    path = os.fspath(path)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path!r}") from None
    arrays: Dict[str, np.ndarray] = {}
    try:
        with file, zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(SUFFIX):
                    raise FileFormatError(f"load: {path!r}: member {info.filename!r} is not "
                                             "a .npy array; is this an .npz file?")
                name = info.filename[:-len(SUFFIX)]
                if name in arrays:
                    raise FileFormatError(f"load: {path!r}: the name {name!r} appears twice")
                arrays[name] = _read_member(archive, info, name, path)
    except FileFormatError:
        raise
    # What zipfile and numpy raise on damaged bytes (the file itself opened fine).
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError,
            RuntimeError) as e:
        raise FileFormatError(f"load: {path!r} is not a readable .npz file; it may be "
                                 f"truncated or corrupt ({type(e).__name__}: {e})") from e
    return arrays
