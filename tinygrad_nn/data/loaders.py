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
from typing import Iterator, Union

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


def _rows(text: str, delimiter: str, where: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every row that holds something; blank lines, and rows whose
    fields are all blank, are skipped. Spaces after a delimiter are dropped, so `` "a"`` is
    the quoted field a."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                yield reader.line_num, fields
    except csv.Error as e:
        raise FileFormatError(f"{where}: line {reader.line_num}: {e}") from None


def _trailing_blanks(fields: list[str]) -> int:
    """How many fields at the end of the row are blank (a delimiter ending the line)."""
    return next(k for k in range(len(fields)) if fields[len(fields) - 1 - k].strip())


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


def _looks_like_header(fields: list[str], label: int, line: int, where: str) -> bool:
    """header="auto"'s reading of the first row: a header when its feature fields hold text
    and no numbers (some names may be empty), data when they hold numbers and no text (an
    empty one is then a missing value); mixed, it refuses to guess."""
    features = [field.strip() for j, field in enumerate(fields) if j != label]
    text = [field for field in features if field and not _is_number(field)]
    if text and any(_is_number(field) for field in features):
        raise FileFormatError(f"{where}: cannot tell whether line {line} is a header: its "
                              f"feature fields mix numbers and text ({features}); pass "
                              "header=True if it names the columns, header=False if it is data")
    return bool(text)


def _column(j: int, names: list[str] | None) -> str:
    """Column j as a spreadsheet counts it (from 1), with its name when there is a header."""
    return f"column {j + 1}" + (f" ({names[j]!r})" if names else "")


def _field_error(fields: list[str], label: int, first: bool, names: list[str] | None,
                 where: str) -> FileFormatError:
    """The error for a row's first field that is empty (a missing value) or, among the
    features, not a number."""
    j = next(j for j, field in enumerate(fields)
             if not field.strip() or (j != label and not _is_number(field)))
    if fields[j].strip():
        return FileFormatError(f"{where}, {_column(j, names)} is {fields[j]!r}, not a number")
    hint = " (or, if this row names the columns, pass header=True)" if first else ""
    return FileFormatError(f"{where}, {_column(j, names)} is empty: a missing value; load_csv "
                           f"fills in nothing, so fill it in or drop the row{hint}")


def _labels(texts: list[str], lines: list[int], column: str, where: str) -> np.ndarray:
    """The label column: numbers when every label is one (int64 when all are whole), names
    when none is; a mix is refused rather than read either way."""
    try:
        return _as_labels(np.array(texts, dtype=np.float64))
    except ValueError:
        pass
    numbers = [i for i, text in enumerate(texts) if _is_number(text)]
    if numbers:
        name = next(i for i, text in enumerate(texts) if not _is_number(text))
        raise FileFormatError(f"{where}: the labels in {column} mix numbers and names: "
                              f"{texts[numbers[0]]!r} on line {lines[numbers[0]]}, "
                              f"{texts[name]!r} on line {lines[name]}")
    return np.array(texts)


def _as_labels(column: np.ndarray) -> np.ndarray:
    """int64 when every label is a whole number that float64 holds exactly (|y| <= 2**53), float64
    otherwise (regression targets): 1e20 would wrap around in int64."""
    if np.all(np.isfinite(column)) and np.all(column == np.round(column)) and \
            np.all(np.abs(column) <= 2.0 ** 53):
        return column.astype(np.int64)
    return column


def _blank(field: str) -> float:
    """numpy's converter for a column that must be empty (a trailing delimiter)."""
    if field.strip():
        raise ValueError(f"{field!r} where a trailing delimiter was expected")
    return 0.0


def _numeric_table(text: str, skip: int, width: int, blanks: int,
                   delimiter: str) -> np.ndarray | None:
    """The data rows by numpy's fast parser when every field is a number and the `blanks`
    trailing fields of each row are empty; None otherwise, for the exact reader to name the
    problem. numpy's parser accepts no number that float() refuses, so both agree."""
    try:
        with warnings.catch_warnings():
            # numpy warns of blank lines (no longer rows since 1.23; skipping them is right) and
            # of a table without rows, which the exact reader reports.
            warnings.filterwarnings("ignore", ".*contained no data", UserWarning)
            table = np.loadtxt(io.StringIO(text), delimiter=delimiter, skiprows=skip,
                               dtype=np.float64, comments=None, quotechar='"', ndmin=2,
                               converters={j: _blank for j in range(width, width + blanks)})
    except ValueError:
        return None
    if table.shape[0] == 0 or table.shape[1] != width + blanks:
        return None
    return table[:, :width]


def load_csv(path: PathLike, label_column: int | str = -1, *, header: bool | str = "auto",
             delimiter: str = ",") -> tuple[np.ndarray, np.ndarray]:
    """Load a table of numbers with one label column (plain or .gz): ``X`` float64 of shape
    (n, columns - 1) and ``y`` of shape (n,).

    - ``label_column``: its index (negative counts from the end: -1 is the last column, 0 the
      first, as in the MNIST CSV files) or its name in the header.
    - ``header``: True, False, or "auto": the first row is a header when its feature fields
      hold text and no numbers, data when they hold numbers and no text; a row that mixes
      both is refused (say True if your column names are numbers).
    - Every field must hold a number (labels: a number or a name). An empty field is a
      missing value and an error naming its line and column: nothing is filled in or guessed.
      Delimiters that end every line (an empty last field in every row, header included) do
      not make a column. Blank lines are skipped.
    - ``y`` is int64 when every label is a whole number, float64 for other numbers, and a
      string array when every label is a name (a mix of numbers and names is refused);
      ``classes, y = np.unique(y, return_inverse=True)`` turns names into class indices.
    """
    if header not in (True, False, "auto"):
        raise ValueError(f"load_csv: header must be True, False or 'auto', got {header!r}")
    if isinstance(label_column, str) and header is False:
        raise ValueError(f"load_csv: label_column {label_column!r} is a name, which needs a "
                         "header; pass header=True or 'auto', or give the column's index")
    where = f"load_csv: {os.fspath(path)}"
    try:
        text = _read_bytes("load_csv", path).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{where}: not UTF-8 text ({e})") from None
    rows = _rows(text, delimiter, where)
    head = list(itertools.islice(rows, 2))  # a trailing delimiter must end both first rows
    if not head:
        raise FileFormatError(f"{where}: the file is empty")
    first_line, first = head[0]
    blanks = min(_trailing_blanks(fields) for _, fields in head)
    width = len(first) - blanks
    if width < 2:
        trailing = (f" (line {first_line} ends in {blanks} empty field(s), taken for a trailing "
                    "delimiter, not a column: if a value is missing there, fill it in)"
                    if blanks else "")
        raise FileFormatError(f"{where}: found 1 column with delimiter {delimiter!r}; need "
                              f"features and a label{trailing}")
    fields = [field.strip() for field in first[:width]]
    label = _label_index(label_column, fields, where)
    if header == "auto":
        header = isinstance(label_column, str) or _looks_like_header(fields, label, first_line,
                                                                     where)
    names = fields if header else None
    table = _numeric_table(text, first_line if header else 0, width, blanks, delimiter)
    if table is not None:
        return np.delete(table, label, axis=1), _as_labels(table[:, label])
    features: list[np.ndarray] = []
    labels: list[str] = []
    lines: list[int] = []
    for line, fields in itertools.chain(head[1:] if header else head, rows):
        if len(fields) != width + blanks:
            raise FileFormatError(f"{where}: line {line} has {len(fields)} fields, line "
                                  f"{first_line} has {width + blanks}")
        if blanks and any(field.strip() for field in fields[width:]):
            raise FileFormatError(f"{where}: line {line} holds {fields[width:]} after its "
                                  f"{width} columns, where the lines before it end in empty "
                                  "fields, taken for a trailing delimiter; are values missing "
                                  "on those lines?")
        del fields[width:]
        lines.append(line)
        labels.append(fields.pop(label).strip())
        try:
            if not labels[-1]:
                raise ValueError("the label is missing")
            features.append(np.array(fields, dtype=np.float64))
        except ValueError:
            fields.insert(label, labels[-1])
            raise _field_error(fields, label, line == first_line, names,
                               f"{where}: line {line}") from None
    if not lines:
        raise FileFormatError(f"{where}: no data rows after the header")
    return np.stack(features), _labels(labels, lines, _column(label, names), where)


# ---- the bundled digits --------------------------------------------------------------------

def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8×8 handwritten digits shipped with tinygrad_nn (UCI optdigits test set, as in
    scikit-learn; see ``bundled/NOTICE.md``), read offline: ``X`` float64 of shape (1797, 64),
    pixel counts 0..16 of each image in row-major order (``X[i].reshape(8, 8)`` is the image),
    and ``y`` int64 labels 0..9, about 180 of each."""
    resource = resources.files(__package__) / "bundled" / "digits.csv.gz"
    with resources.as_file(resource) as path:
        return load_csv(path, label_column=-1, header=False)
