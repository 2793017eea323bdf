"""Datasets from files: the bundled 8×8 digits, MNIST's IDX format and CSV.

Every loader reads plain or gzip-compressed files (recognised by their first bytes, not their
name), checks what it reads, and raises `FileFormatError` naming the function, the file and
what is wrong with it. Nothing is unpickled.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
import os
import warnings
import zlib
from importlib import resources
from pathlib import Path
from typing import Union

import numpy as np

from ..errors import FileFormatError

PathLike = Union[str, os.PathLike]

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(fn: str, path: PathLike) -> bytes:
    """The file's bytes, decompressed if it is gzip."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise type(e)(f"{fn}: cannot read {os.fspath(path)}: {e.strerror}") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise FileFormatError(f"{fn}: {os.fspath(path)} is a corrupt or truncated gzip file "
                              f"({e})") from None


# ---- IDX (MNIST) ---------------------------------------------------------------------------

# The IDX header: two zero bytes, a type code, the number of dimensions, then each dimension
# as a big-endian uint32. The data follow, big-endian, in C order.
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (MNIST's format; plain or .gz) into an array of its own shape and type:
    (n, rows, cols) uint8 for an images file, (n,) uint8 for a labels file. Checks the magic
    number, the type code, the dimensions and that the data are exactly as long as the header
    says."""
    data = _read_bytes("load_idx", path)
    where = f"load_idx: {os.fspath(path)}"
    if len(data) < 4:
        raise FileFormatError(f"{where}: {len(data)} bytes, too short for the 4-byte IDX header")
    if data[:2] != b"\0\0":
        raise FileFormatError(f"{where}: bad magic number 0x{data[:4].hex().upper()}; an IDX "
                              "file starts with two zero bytes (MNIST images: 0x00000803, "
                              "labels: 0x00000801)")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        known = ", ".join(f"0x{c:02X} {t.name}" for c, t in _IDX_TYPES.items())
        raise FileFormatError(f"{where}: unknown type code 0x{code:02X}; IDX knows {known}")
    if ndim == 0:
        raise FileFormatError(f"{where}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise FileFormatError(f"{where}: truncated header: {ndim} dimensions need {header} "
                              f"bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        problem = "truncated" if got < expected else f"{got - expected} bytes too long"
        raise FileFormatError(f"{where}: {problem}: the header declares shape {shape} of "
                              f"{dtype.name} ({expected} bytes of data), the file holds {got}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _mnist_file(folder: PathLike, kind: str, what: str, ndim: int) -> Path:
    """The first of MNIST's usual names for this file that exists in `folder`."""
    stems = [f"{kind}-{what}-idx{ndim}-ubyte", f"{kind}-{what}.idx{ndim}-ubyte"]
    names = [stem + ext for stem in stems for ext in ("", ".gz")]
    for name in names:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    raise FileNotFoundError(f"load_mnist: no {kind} {what} file in {os.fspath(folder)}; "
                            f"looked for {', '.join(names)}")


def load_mnist(folder: PathLike, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST (or a dataset in its layout, like Fashion-MNIST) from the four standard IDX
    files in `folder`: ``kind="train"`` (60000 images) or ``"t10k"`` (the 10000 test images).

    Returns ``X`` float64 of shape (n, rows·cols), pixel values 0..255 as stored (divide by
    255 or standardize before training), and ``y`` int64 labels."""
    if kind not in ("train", "t10k"):
        raise ValueError(f"load_mnist: kind must be 'train' or 't10k', got {kind!r}")
    images_path = _mnist_file(folder, kind, "images", 3)
    labels_path = _mnist_file(folder, kind, "labels", 1)
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3:
        raise FileFormatError(f"load_mnist: {images_path} should hold images of shape "
                              f"(n, rows, cols), but holds shape {images.shape}")
    if labels.ndim != 1:
        raise FileFormatError(f"load_mnist: {labels_path} should hold labels of shape (n,), "
                              f"but holds shape {labels.shape}")
    if len(images) != len(labels):
        raise FileFormatError(f"load_mnist: {images_path} holds {len(images)} images but "
                              f"{labels_path} holds {len(labels)} labels")
    return images.reshape(len(images), -1).astype(np.float64), labels.astype(np.int64)


# ---- CSV -----------------------------------------------------------------------------------

def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label_index(label_column: int | str, names: list[str], where: str) -> int:
    if isinstance(label_column, str):
        if label_column not in names:
            raise ValueError(f"{where}: no column named {label_column!r}; the header has "
                             f"{names}")
        return names.index(label_column)
    if not -len(names) <= label_column < len(names):
        raise ValueError(f"{where}: label_column {label_column} is out of range for "
                         f"{len(names)} columns")
    return label_column % len(names)


def _as_labels(column: np.ndarray) -> np.ndarray:
    """int64 when every label is a whole number, float64 otherwise (regression targets)."""
    if np.all(np.isfinite(column)) and np.all(column == np.round(column)):
        return column.astype(np.int64)
    return column


def _features_from_text(cells: np.ndarray, where: str) -> np.ndarray:
    try:
        return cells.astype(np.float64)
    except ValueError:
        row, col = next(i for i, s in np.ndenumerate(cells) if not _is_number(s))
        raise FileFormatError(f"{where}: feature {col} of data row {row + 1} is "
                              f"{str(cells[row, col])!r}, not a number") from None


def load_csv(path: PathLike, label_column: int | str = -1, *, header: bool | str = "auto",
             delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Load a table of numbers with one label column (plain or .gz): ``X`` float64 of shape
    (n, columns - 1) and ``y`` of shape (n,).

    - ``label_column``: its index (negative counts from the end: -1 is the last column, 0 the
      first, as in the MNIST CSV files) or its name in the header.
    - ``header``: True, False, or "auto": the first row is a header when one of its feature
      fields is not a number (say True if your column names are numbers).
    - ``y`` is int64 when every label is a whole number, float64 for other numbers, and a
      string array otherwise; ``classes, y = np.unique(y, return_inverse=True)`` turns
      names into class indices.
    """
    if header not in (True, False, "auto"):
        raise ValueError(f"load_csv: header must be True, False or 'auto', got {header!r}")
    if isinstance(label_column, str) and header is False:
        raise ValueError(f"load_csv: label_column {label_column!r} is a name, which needs a "
                         "header; pass header=True or 'auto', or give the column's index")
    where = f"load_csv: {os.fspath(path)}"
    try:
        text = _read_bytes("load_csv", path).decode("utf-8-sig").lstrip("\r\n")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{where}: not UTF-8 text ({e})") from None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(itertools.islice(filter(None, reader), 2))  # the first two non-blank rows
    if not rows:
        raise FileFormatError(f"{where}: the file is empty")
    first = rows[0]
    if len(first) < 2:
        raise FileFormatError(f"{where}: found 1 column with delimiter {delimiter!r}; need "
                              "features and a label")
    label = _label_index(label_column, first, where)
    if header == "auto":
        header = isinstance(label_column, str) or not all(
            _is_number(field) for j, field in enumerate(first) if j != label)
    data_rows = rows[1:] if header else rows
    if not data_rows:
        raise FileFormatError(f"{where}: no data rows after the header")

    numeric_labels = _is_number(data_rows[0][label])
    try:
        with warnings.catch_warnings():
            # numpy >= 1.23 warns that blank lines no longer count as rows; skipping them is right.
            warnings.filterwarnings("ignore", "Input line .* contained no data", UserWarning)
            table = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=int(header),
                               dtype=np.float64 if numeric_labels else str, comments=None,
                               quotechar='"', ndmin=2)
    except ValueError as e:
        raise FileFormatError(f"{where}: {e}") from None
    if table.shape[1] != len(first):
        raise FileFormatError(f"{where}: the first line has {len(first)} columns but the data "
                              f"rows have {table.shape[1]}")
    features = np.delete(table, label, axis=1)
    if numeric_labels:
        return features, _as_labels(table[:, label])
    return _features_from_text(features, where), np.char.strip(table[:, label])


# ---- the bundled digits --------------------------------------------------------------------

def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8×8 handwritten digits shipped with tinygrad_nn (UCI optdigits test set, as in
    scikit-learn; see ``bundled/NOTICE.md``), read offline: ``X`` float64 of shape (1797, 64),
    pixel counts 0..16 of each image in row-major order (``X[i].reshape(8, 8)`` is the image),
    and ``y`` int64 labels 0..9, about 180 of each."""
    resource = resources.files(__package__) / "bundled" / "digits.csv.gz"
    with resources.as_file(resource) as path:
        return load_csv(path, label_column=-1, header=False)
