"""Saving and loading parameters: a state dict as an `.npz` or a `.safetensors` file, safely.

The path's suffix chooses the format: ``.safetensors`` (any case) is Hugging Face's safetensors
format, which PyTorch and most other frameworks read (``safetensors.torch.load_file``); it needs
the optional ``safetensors`` package, imported only then. Any other suffix is ``.npz``. Both are
written atomically and read without pickle, with the same names, dtypes and errors.

- `save` writes one ``<name>.npy`` member per dotted name (``layers.0.W``), the format of
  ``numpy.savez``, to a temporary file in the target's directory and then renames it over the
  target (``os.replace``, atomic): a crash or an error mid-write leaves no partial file, and an
  existing file stays as it was. How links, permissions and the temporary files of killed
  writers are handled is said in `tinygrad_nn.files`.
- `load` never unpickles (``allow_pickle=False``): an array of Python objects in a file could
  run arbitrary code. A missing, truncated or corrupt file raises an error naming the path and
  the problem. Each .npy header's shape and dtype are checked against the bytes its zip entry
  holds before anything is allocated, and the data are read in chunks, so a forged file of a
  few hundred bytes declaring a terabyte array is refused (FileFormatError naming the file,
  the array and the declared shape) instead of exhausting memory. The safetensors package
  checks its header's offsets against the file's size itself. Checking the arrays against a
  model (names, shapes, dtypes) is ``Module.load_state_dict``'s job:
  ``model.load_state_dict(load(path))``.
- A safetensors file is made in memory (``safetensors.numpy.save``) and written the same atomic
  way. Its header metadata is ``{"format": "pt", "framework": "tinygrad_nn", "version": ...}``:
  "pt" because a module's state dict has PyTorch's names and layouts (and Hugging Face loaders
  refuse files whose format is not one they know); the other two say who wrote it. The format
  holds no order, so `load` gives the names sorted; loading into a model does not care.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import ModuleType
from typing import IO, Any, Dict, Mapping
import zipfile
import zlib

import numpy as np

from .errors import FileFormatError, UnsupportedTypeError
from .files import PathLike, atomic_open, write_atomically

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
SUFFIX = ".npy"
READ_CHUNK = 1 << 24  # bytes of array data read at a time
SAFETENSORS_SUFFIX = ".safetensors"
# The safetensors dtypes that numpy holds exactly, by the format's names (bfloat16 and the float8
# types have no numpy dtype; complex numbers are not saved in .npz either).
SAFETENSORS_DTYPES = {"BOOL": np.dtype(np.bool_), "I8": np.dtype(np.int8), "U8": np.dtype(np.uint8),
                      "I16": np.dtype(np.int16), "U16": np.dtype(np.uint16),
                      "I32": np.dtype(np.int32), "U32": np.dtype(np.uint32),
                      "I64": np.dtype(np.int64), "U64": np.dtype(np.uint64),
                      "F16": np.dtype(np.float16), "F32": np.dtype(np.float32),
                      "F64": np.dtype(np.float64)}
METADATA_KEY = "__metadata__"  # the header entry that safetensors keeps for metadata


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


def _is_safetensors(path: PathLike) -> bool:
    return Path(path).suffix.lower() == SAFETENSORS_SUFFIX


def _safetensors() -> ModuleType:
    """The safetensors package (with its numpy module), or an ImportError saying how to get it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError("save/load of .safetensors files needs the safetensors package, an "
                          "optional extra of tinygrad_nn: pip install 'tinygrad_nn[safetensors]' "
                          "(or pip install safetensors)") from None
    return safetensors


def _safetensors_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The whole safetensors file for `arrays`, or an error for what the format cannot hold."""
    from . import __version__
    tensors = {}
    for name, array in arrays.items():
        if name == METADATA_KEY:
            raise UnsupportedTypeError(f"save: the name {METADATA_KEY!r} is reserved in "
                                       "safetensors files (it holds the metadata)")
        dtype = array.dtype.newbyteorder("<")
        if dtype not in SAFETENSORS_DTYPES.values():
            raise UnsupportedTypeError(f"save: {name!r} has dtype {array.dtype}, which safetensors "
                                       "files do not hold; use float16/32/64, (unsigned) integers "
                                       "of 8 to 64 bits or bool")
        # safetensors.numpy writes the memory behind the array's data pointer, so the array must
        # be C-contiguous and little-endian (np.ascontiguousarray would make a 0-d array 1-d).
        tensors[name] = np.array(array, dtype=dtype, order="C", copy=None)
    metadata = {"format": "pt", "framework": "tinygrad_nn", "version": __version__}
    data: bytes = _safetensors().numpy.save(tensors, metadata=metadata)
    return data


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Write `state_dict` (name -> numeric array, e.g. ``model.state_dict()``) to `path`,
    atomically: a safetensors file when the path ends in ``.safetensors``, else an .npz archive.
    The path is used as given (no suffix is added). A symlink is written through (the file it
    points to is replaced, the link stays); a directory, device or other non-regular file is
    refused untouched; an existing file keeps its permission bits, a new one gets ``0o666``
    less the umask; temporary files left by a killed save of the same path are removed."""
    arrays = _arrays_to_save(state_dict)
    if _is_safetensors(path):
        write_atomically(path, _safetensors_bytes(arrays), "save")
        return
    with atomic_open(path, "save") as file:
        _write_npz(file, arrays)


def _read_exactly(member: IO[bytes], nbytes: int, where: str) -> bytearray:
    """The next `nbytes` bytes of `member`, read a chunk at a time: memory grows with the bytes
    that arrive, so a zip entry that overstates its own size cannot make load allocate more
    than the file really holds."""
    data = bytearray()
    while len(data) < nbytes:
        chunk = member.read(min(READ_CHUNK, nbytes - len(data)))
        if not chunk:
            raise FileFormatError(f"{where}: the data end after {len(data)} of the {nbytes} "
                                  "bytes its header declares; the file is truncated")
        data += chunk
    member.read()  # nothing is left, but reaching the end makes zipfile check the CRC-32
    return data


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                 path: str) -> np.ndarray:
    """One array of the archive. Its .npy header is checked before any data are read: no
    pickled objects, only numbers, and a shape whose size in bytes is what the zip entry holds
    after the header, so that a small file cannot make load allocate a huge array."""
    where = f"load: {path!r}: array {name!r}"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # numpy writes stored or deflated entries; bzip2 and lzma expand 10^5-fold and more,
        # so a tiny forged file could still make load allocate gigabytes
        raise FileFormatError(f"{where} is compressed with zip method {info.compress_type}; "
                              "load reads the stored and deflated entries numpy writes")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        header_readers = {(1, 0): np.lib.format.read_array_header_1_0,
                          (2, 0): np.lib.format.read_array_header_2_0}
        if version not in header_readers:
            raise FileFormatError(f"{where} uses .npy format version {version}, which load "
                                  "does not read")
        shape, fortran_order, dtype = header_readers[version](member)
        if dtype.hasobject:
            raise FileFormatError(f"{where} holds pickled Python objects (dtype {dtype}); "
                                  "refused, because unpickling can run arbitrary code")
        if dtype.kind not in NUMERIC_KINDS:
            raise FileFormatError(f"{where} has dtype {dtype}, not numbers")
        if any(side < 0 for side in shape):
            raise FileFormatError(f"{where}: its header declares the shape {shape}, with a "
                                  "negative side")
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - member.tell()
        if nbytes != held:
            raise FileFormatError(f"{where}: its header declares shape {shape} of {dtype} "
                                  f"({nbytes} bytes), but the entry {info.filename!r} holds "
                                  f"{held} bytes after the header; the file is damaged or "
                                  "forged")
        array = np.frombuffer(_read_exactly(member, nbytes, where), dtype=dtype)
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def _open(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no such file: {path!r}") from None


def _load_safetensors(path: str) -> Dict[str, np.ndarray]:
    """The tensors of a safetensors file as numpy arrays, sorted by name."""
    safetensors = _safetensors()
    _open(path).close()  # a missing or unreadable path fails here as it does for .npz
    arrays: Dict[str, np.ndarray] = {}
    try:
        with safetensors.safe_open(path, framework="np") as file:
            for name in file.keys():
                dtype = file.get_slice(name).get_dtype()
                if dtype not in SAFETENSORS_DTYPES:
                    raise FileFormatError(f"load: {path!r}: tensor {name!r} has dtype {dtype}, "
                                          "which numpy does not hold exactly; convert it before "
                                          "saving (in torch, e.g. tensor.float())")
                arrays[name] = file.get_tensor(name)
    except FileFormatError:
        raise
    # What the package raises on damaged bytes (SafetensorError is an Exception of its own).
    except (safetensors.SafetensorError, ValueError, OSError) as e:
        raise FileFormatError(f"load: {path!r} is not a readable .safetensors file; it may be "
                              f"truncated or corrupt ({type(e).__name__}: {e})") from e
    return arrays


def load(path: PathLike) -> Dict[str, np.ndarray]:
    """The arrays saved by `save` (any .npz of numeric arrays, or any .safetensors file of
    numpy's dtypes when the path ends so), by name, read without pickle."""
    path = os.fspath(path)
    if _is_safetensors(path):
        return _load_safetensors(path)
    file = _open(path)
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
