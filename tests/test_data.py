"""tinygrad_nn.data: toy datasets, the bundled digits, IDX and CSV files, and the helpers.

Files are written here byte by byte (IDX headers with `struct`), independently of the loaders.
"""

import csv
import gzip
import io
import struct
import subprocess
import sys
from contextlib import nullcontext
from importlib import resources
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_nn import DomainError, FileFormatError, ShapeError, UnsupportedTypeError
from tinygrad_nn.data import (PLAYGROUND, Standardizer, batches, load_csv, load_digits, load_idx,
                              load_mnist, one_hot, train_test_split)
from tinygrad_nn.data import loaders

ROOT = Path(__file__).resolve().parents[1]
SHARED_DIGITS = ROOT.parent / "shared" / "data" / "digits.csv.gz"
needs_shared_digits = pytest.mark.skipif(not SHARED_DIGITS.is_file(),
                                         reason=f"reference file {SHARED_DIGITS} not present")


def write(path: Path, content: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


# ---- playground generators -----------------------------------------------------------------

@pytest.mark.parametrize("name", PLAYGROUND)
@pytest.mark.parametrize("n", [2, 7, 100])
def test_generator_shapes_labels_and_balance(name, n):
    X, y = PLAYGROUND[name](n, noise=0.1, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y, minlength=2), [n - n // 2, n // 2])


@pytest.mark.parametrize("name", PLAYGROUND)
def test_generator_is_deterministic_for_a_seed(name):
    make = PLAYGROUND[name]
    X, y = make(50, noise=0.2, seed=3)
    X_rng, y_rng = make(50, noise=0.2, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(X, X_rng)
    np.testing.assert_array_equal(y, y_rng)
    assert not np.array_equal(X, make(50, noise=0.2, seed=4)[0])
    shared = np.random.default_rng(3)
    first, second = make(50, rng=shared)[0], make(50, rng=shared)[0]
    assert not np.array_equal(first, second)  # a shared Generator moves on


@pytest.mark.parametrize("name", PLAYGROUND)
def test_noise_is_gaussian_jitter_on_the_clean_points(name):
    n, noise = 4000, 0.3
    X_clean, y_clean = PLAYGROUND[name](n, seed=1)
    X_noisy, y_noisy = PLAYGROUND[name](n, noise=noise, seed=1)
    np.testing.assert_array_equal(y_clean, y_noisy)
    jitter = X_noisy - X_clean
    assert abs(jitter.mean()) < 4 * noise / np.sqrt(2 * n)
    assert jitter.std() == pytest.approx(noise, rel=0.05)


@pytest.mark.parametrize("name", sorted(set(PLAYGROUND) - {"two_gaussians"}))
def test_clean_points_lie_in_the_square(name):
    X, _ = PLAYGROUND[name](1000, seed=2)
    assert np.abs(X).max() <= 5.0


def test_circle_is_a_disc_inside_a_ring_uniform_over_area():
    X, y = PLAYGROUND["circle"](4000, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r[y == 1].max() <= 2.5
    assert r[y == 0].min() >= 3.5 and r[y == 0].max() <= 5.0
    # Uniform over the disc: the inner disc of radius 2.5/sqrt(2) holds half its area.
    assert np.mean(r[y == 1] <= 2.5 / np.sqrt(2)) == pytest.approx(0.5, abs=0.04)


def test_xor_labels_are_the_xor_of_the_signs():
    X, y = PLAYGROUND["xor"](1000, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) ^ (X[:, 1] > 0))
    assert np.abs(X).min() >= 0.5


def test_two_gaussians_centres_and_spread():
    X, y = PLAYGROUND["two_gaussians"](4000, seed=0)
    # 2000 points per class: the standard error of a mean is 1/sqrt(2000) ~ 0.022.
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [1, 1], atol=0.05)


def test_spiral_points_lie_on_their_arm():
    X, y = PLAYGROUND["spiral"](500, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    t = r / 5  # r = 5t, θ = 3.5πt + kπ for arm k
    theta = 3.5 * np.pi * t + np.pi * y
    np.testing.assert_allclose(X, np.column_stack([r * np.cos(theta), r * np.sin(theta)]),
                               atol=1e-12)


def test_moons_are_two_interleaved_half_circles():
    X, y = PLAYGROUND["moons"](500, seed=0)
    u = X / 3 + [0.5, 0.25]  # back to the unit-radius layout
    upper, lower = u[y == 0], u[y == 1] - [1.0, 0.5]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(*lower.T), 1.0, atol=1e-12)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0


BAD_GENERATOR_ARGS = [
    (dict(n=1), DomainError, "at least 2"),
    (dict(n=2.5), UnsupportedTypeError, "n must be an int"),
    (dict(n=10, noise=-0.1), DomainError, "noise"),
    (dict(n=10, noise=float("nan")), DomainError, "noise"),
    (dict(n=10, seed=1, rng=np.random.default_rng(1)), TypeError, "not both"),
    (dict(n=10, rng=42), UnsupportedTypeError, "numpy.random.Generator"),
    (dict(n=10, seed=1.5), UnsupportedTypeError, "seed"),
    (dict(n=10, seed=True), UnsupportedTypeError, "seed"),
]


@pytest.mark.parametrize("name", PLAYGROUND)
@pytest.mark.parametrize("kwargs, error, words", BAD_GENERATOR_ARGS)
def test_generator_rejects_bad_arguments(name, kwargs, error, words):
    with pytest.raises(error, match=f"^{name}: .*{words}"):
        PLAYGROUND[name](**kwargs)


# ---- the bundled digits --------------------------------------------------------------------

DIGITS_PER_CLASS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]  # scikit-learn's docs
FIRST_DIGIT = [[0, 0, 5, 13, 9, 1, 0, 0],  # the first line of the file, a 0
               [0, 0, 13, 15, 10, 15, 5, 0],
               [0, 3, 15, 2, 0, 11, 8, 0],
               [0, 4, 12, 0, 0, 8, 8, 0],
               [0, 5, 8, 0, 0, 9, 8, 0],
               [0, 4, 11, 0, 1, 12, 7, 0],
               [0, 2, 14, 5, 10, 12, 0, 0],
               [0, 0, 6, 13, 10, 0, 0, 0]]


def test_load_digits_shapes_values_and_classes():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    np.testing.assert_array_equal(np.bincount(y), DIGITS_PER_CLASS)
    np.testing.assert_array_equal(X[0].reshape(8, 8), FIRST_DIGIT)
    np.testing.assert_array_equal(y[:10], np.arange(10))  # the file starts 0, 1, ..., 9


@needs_shared_digits
def test_load_digits_matches_the_raw_file():
    rows = list(csv.reader(io.StringIO(gzip.decompress(SHARED_DIGITS.read_bytes()).decode())))
    raw = np.array(rows, dtype=np.int64)
    X, y = load_digits()
    np.testing.assert_array_equal(X, raw[:, :64])
    np.testing.assert_array_equal(y, raw[:, 64])
    np.testing.assert_array_equal(np.bincount(raw[:, 64]), DIGITS_PER_CLASS)
    bundled = resources.files("tinygrad_nn.data") / "bundled" / "digits.csv.gz"
    assert bundled.read_bytes() == SHARED_DIGITS.read_bytes()


def test_digits_ship_with_their_licence_notice():
    notice = (resources.files("tinygrad_nn.data") / "bundled" / "NOTICE.md").read_text("utf-8")
    for fact in ["BSD 3-Clause License", "The scikit-learn developers", "CC BY 4.0",
                 "10.24432/C50P49", "Alpaydin", "Kaynak"]:
        assert fact in notice


# ---- IDX files -----------------------------------------------------------------------------

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type code, number of dimensions, the dimensions (big-endian uint32),
    then the data, big-endian."""
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    dims = struct.pack(f">{array.ndim}I", *array.shape)
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_load_idx_reads_an_mnist_style_header_by_hand(tmp_path):
    # Magic 0x00000803: unsigned bytes, 3 dimensions (2, 2, 3), then 12 pixels.
    content = bytes.fromhex("00000803" "00000002" "00000002" "00000003") + bytes(range(12))
    images = load_idx(write(tmp_path / "images-idx3-ubyte", content))
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images, np.arange(12).reshape(2, 2, 3))
    labels = load_idx(write(tmp_path / "labels", bytes.fromhex("00000801" "00000003" "070009")))
    np.testing.assert_array_equal(labels, [7, 0, 9])


@given(data=st.data(), gz=st.booleans())
def test_load_idx_round_trips_every_type(tmp_path_factory, data, gz):
    dtype = data.draw(st.sampled_from(list(IDX_CODES)))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    array = data.draw(hnp.arrays(dtype, shape))
    path = write(tmp_path_factory.mktemp("idx") / "a.idx", idx_bytes(array), gz)
    loaded = load_idx(path)
    assert loaded.dtype == array.dtype and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


GOOD_IDX = idx_bytes(np.arange(24, dtype=np.int16).reshape(2, 3, 4))

CORRUPT_IDX = [
    (GOOD_IDX[:-1], r"truncated: the header declares shape \(2, 3, 4\) of int16 \(48 bytes"),
    (GOOD_IDX + b"\0", "1 bytes too long"),
    (GOOD_IDX[:10], r"truncated header: 3 dimensions need 16 bytes, the file has 10"),
    (GOOD_IDX[:3], "too short for the 4-byte IDX header"),
    (b"\x89PNG" + GOOD_IDX[4:], "bad magic number 0x89504E47"),
    (b"\0\0\x0A\x01" + GOOD_IDX[4:], "unknown type code 0x0A"),
    (b"\0\0\x08\0", "0 dimensions"),
]


@pytest.mark.parametrize("content, message", CORRUPT_IDX)
@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_refuses_a_corrupt_file(tmp_path, content, message, gz):
    path = write(tmp_path / "bad.idx", content, gz)
    with pytest.raises(FileFormatError, match=message) as info:
        load_idx(path)
    assert str(info.value).startswith(f"load_idx: {path}")


def test_load_idx_refuses_a_corrupt_gzip_and_a_missing_file(tmp_path):
    path = write(tmp_path / "cut.gz", gzip.compress(GOOD_IDX)[:-8])
    with pytest.raises(FileFormatError, match=f"load_idx: {path} is a corrupt or truncated gzip"):
        load_idx(path)
    with pytest.raises(FileNotFoundError, match="load_idx: cannot read .*missing"):
        load_idx(tmp_path / "missing")


# ---- MNIST folders -------------------------------------------------------------------------

def mnist_folder(folder: Path, images: np.ndarray, labels: np.ndarray, kind: str = "train",
                 sep: str = "-") -> Path:
    write(folder / f"{kind}-images{sep}idx3-ubyte.gz", idx_bytes(images), gz=True)
    write(folder / f"{kind}-labels{sep}idx1-ubyte", idx_bytes(labels))
    return folder


def test_load_mnist_flattens_images_and_returns_int_labels(tmp_path):
    images = np.arange(3 * 2 * 2, dtype=np.uint8).reshape(3, 2, 2) * 20
    labels = np.array([5, 0, 4], dtype=np.uint8)
    for kind, sep in [("train", "-"), ("t10k", ".")]:  # the official names and a common variant
        X, y = load_mnist(mnist_folder(tmp_path, images, labels, kind, sep), kind)
        assert X.dtype == np.float64 and y.dtype == np.int64
        np.testing.assert_array_equal(X, images.reshape(3, 4))
        np.testing.assert_array_equal(y, [5, 0, 4])


def test_load_mnist_refuses_mismatched_or_missing_files(tmp_path):
    images = np.zeros((3, 2, 2), dtype=np.uint8)
    looked_for = "looked for train-images-idx3-ubyte, train-images-idx3-ubyte.gz, "
    with pytest.raises(FileNotFoundError, match=f"load_mnist: no train images file .*{looked_for}"):
        load_mnist(tmp_path)
    mnist_folder(tmp_path, images, np.zeros(2, dtype=np.uint8))
    with pytest.raises(FileFormatError, match="holds 3 images but .* holds 2 labels"):
        load_mnist(tmp_path)
    mnist_folder(tmp_path, images, np.zeros((3, 1), dtype=np.uint8))
    with pytest.raises(FileFormatError, match=r"should hold labels of shape \(n,\), but holds "
                                              r"shape \(3, 1\)"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="load_mnist: kind must be 'train' or 't10k', got 'test'"):
        load_mnist(tmp_path, "test")


# ---- CSV files -----------------------------------------------------------------------------

IRIS_LIKE = ("sepal_length,sepal_width,class\n5.1,3.5,SETOSA\n"
             "7.0, 3.2 ,\"VERSICOLOR\"\n\n6.3,3.3,VIRGINICA\n")  # spaces, quotes, a blank line


@pytest.mark.parametrize("gz", [False, True])
def test_load_csv_with_a_header_and_named_classes(tmp_path, gz):
    X, y = load_csv(write(tmp_path / "iris.csv", IRIS_LIKE.encode(), gz))
    np.testing.assert_array_equal(X, [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3]])
    np.testing.assert_array_equal(y, ["SETOSA", "VERSICOLOR", "VIRGINICA"])


def test_load_csv_label_by_name_or_index_and_label_types(tmp_path):
    path = write(tmp_path / "t.csv", b"a,label,b\n1,0,2\n3,1,4\n")
    for label_column in ["label", 1, -2]:
        X, y = load_csv(path, label_column)
        np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
        assert y.dtype == np.int64 and y.tolist() == [0, 1]
    # MNIST as CSV: no header, the label first.
    X, y = load_csv(write(tmp_path / "m.csv", b"7,0,255\n2,128,0\n"), label_column=0)
    np.testing.assert_array_equal(X, [[0, 255], [128, 0]])
    assert y.tolist() == [7, 2]
    # Regression targets stay float; a header of numbers needs header=True.
    X, y = load_csv(write(tmp_path / "r.csv", b"1,2,3\n1,2,0.5\n4,5,1.5\n"), header=True)
    np.testing.assert_array_equal(X, [[1, 2], [4, 5]])
    assert y.dtype == np.float64 and y.tolist() == [0.5, 1.5]
    X, y = load_csv(write(tmp_path / "s.csv", b"1;2\n3;4\n"), delimiter=";")
    assert X.tolist() == [[1], [3]] and y.tolist() == [2, 4]


CORRUPT_CSV = [
    (b"a,b,c\n1,2,3\n4,5\n", "line 3 has 2 fields, line 1 has 3"),
    (b"1,2,3\n4,x,6\n", "line 2, column 2 is 'x', not a number"),
    (b"a,b,c\n1,2,cat\n4,oops,dog\n", "line 3, column 2 \\('b'\\) is 'oops', not a number"),
    (b"a,b,c\n1,2,3,4\n", "line 2 has 4 fields, line 1 has 3"),
    (b"a,b,c\n", "no data rows after the header"),
    (b"\n\n", "the file is empty"),
    (b" , \n,,\n", "the file is empty"),  # rows of blank fields are blank lines
    (b"1\n2\n", "found 1 column with delimiter ','"),
    (b"1,\n2,\n", "found 1 column with delimiter ','"),  # a trailing delimiter is no column
    (b"\xff\xfe1,2\n", "not UTF-8"),
    # A missing value is an error naming its line and column, never a header or a guess.
    (b"1,,3\n4,5,6\n", "line 1, column 2 is empty: a missing value; load_csv fills in nothing"
                       ", so fill it in or drop the row \\(or, if this row names the columns, "
                       "pass header=True\\)"),
    (b"1,2,3\n4, ,6\n", "line 2, column 2 is empty: a missing value"),
    (b"a,b,c\n1,2,cat\n3,4,\n", "line 3, column 3 \\('c'\\) is empty: a missing value"),
    (b"a,b,label\n1,2,\n3,4,\n", "line 2, column 3 \\('label'\\) is empty"),
    (b"1,,3\n4,,6\n", "line 1, column 2 is empty"),  # only trailing empty columns are dropped
    # A trailing delimiter must end every line, or the lines disagree.
    (b"1,2,3,\n4,5,6\n", "line 1, column 4 is empty"),
    (b"1,2,3,\n4,5,6,\n7,8,9\n", "line 3 has 3 fields, line 1 has 4"),
    (b"1,2,\n4,5,\n7,8,9\n", "line 3 holds \\['9'\\] after its 2 columns, where the lines "
                             "before it end in empty fields, taken for a trailing delimiter; "
                             "are values missing on those lines\\?"),
    (b"1,2,\n4,5,6\n", "line 1, column 3 is empty: a missing value"),
    # What the first row is, and what the labels are, is never guessed from a mix.
    (b"id,2,label\n1,2,3\n", "cannot tell whether line 1 is a header: its feature fields mix "
                            "numbers and text \\(\\['id', '2'\\]\\); pass header=True"),
    (b"1,2,3\n4,5,cat\n", "the labels in column 3 mix numbers and names: '3' on line 1, 'cat' "
                         "on line 2"),
    (b"1," + b"9" * 200000 + b"\n", "line 1: field larger than field limit"),
]


@pytest.mark.parametrize("content, message", CORRUPT_CSV)
def test_load_csv_refuses_a_bad_table(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(FileFormatError, match=message) as info:
        load_csv(path)
    assert str(info.value).startswith(f"load_csv: {path}")


def test_load_csv_ignores_a_delimiter_that_ends_every_line(tmp_path):
    X, y = load_csv(write(tmp_path / "t.csv", b"1,2,3,\r\n4,5,6, \r\n"))
    assert X.tolist() == [[1, 2], [4, 5]] and y.tolist() == [3, 6]
    X, y = load_csv(write(tmp_path / "h.csv", b"a,b,class,,\n1,2,cat,,\n4,5,dog, ,\n"), "class")
    assert X.tolist() == [[1, 2], [4, 5]] and y.tolist() == ["cat", "dog"]
    X, y = load_csv(write(tmp_path / "i.csv", b",a,label\n0,1.5,2\n1,3.5,4\n"))  # pandas' index
    assert X.tolist() == [[0, 1.5], [1, 3.5]] and y.tolist() == [2, 4]


LABEL_NAMES = ["cat", "dog", "SETOSA", "Iris virginica", "x-1", "0a"]  # none is a number
NUMBERS = st.one_of(st.integers(-10**6, 10**6).map(lambda i: (str(i), float(i))),
                    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: (repr(f), f)),
                    st.sampled_from([("nan", np.nan), ("-inf", -np.inf), ("1E3", 1000.0),
                                     ("+.5", 0.5)]))


@st.composite
def csv_tables(draw):
    """A table of numbers with one label column (whole numbers, other numbers or names), and
    the odd but legal ways of writing it as CSV: padding, quotes, blank lines, CRLF, a BOM,
    a trailing delimiter on every line, a header or none."""
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    label = draw(st.integers(0, m))
    features = draw(st.lists(st.lists(NUMBERS, min_size=m, max_size=m), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["whole", "fraction", "name"]))
    if kind == "name":
        names = draw(st.lists(st.sampled_from(LABEL_NAMES), min_size=n, max_size=n))
        labels = [(name, name) for name in names]
    else:
        whole = draw(st.lists(st.integers(-100, 100), min_size=n, max_size=n))
        labels = [(str(i), i) if kind == "whole" else (repr(i + 0.5), i + 0.5) for i in whole]
    cells = [[text for text, _ in row] for row in features]
    for row, (text, _) in zip(cells, labels):
        row.insert(label, text)
    pad = st.tuples(st.sampled_from(["", " ", "  "]), st.sampled_from(["", " "]), st.booleans())
    cells_and_header = (n + 1) * (m + 1)
    table = dict(cells=cells,
                 names=[f"col {j}" for j in range(m + 1)] if draw(st.booleans()) else None,
                 delimiter=draw(st.sampled_from([",", ";", "\t", "|"])),
                 trailing=draw(st.booleans()), newline=draw(st.sampled_from(["\n", "\r\n"])),
                 bom=draw(st.booleans()),
                 blank_before=draw(st.lists(st.booleans(), min_size=n + 1, max_size=n + 1)),
                 pads=draw(st.lists(pad, min_size=cells_and_header, max_size=cells_and_header)))
    X = np.array([[value for _, value in row] for row in features], dtype=np.float64)
    y = np.array([value for _, value in labels])
    return table, X, y, label


def render(table):
    """The CSV text of `table` and the line number of each data row."""
    rows = ([table["names"]] if table["names"] else []) + table["cells"]
    width, lines, text = len(rows[0]), [], []
    for i, row in enumerate(rows):
        if table["blank_before"][i]:
            text.append("")
        fields = []
        for j, cell in enumerate(row):
            before, after, quote = table["pads"][i * width + j]
            fields.append(before + (f'"{cell}"' if quote and cell else cell) + after)
        end = table["delimiter"] if table["trailing"] else ""
        text.append(table["delimiter"].join(fields) + end)
        lines.append(len(text))
    data_lines = lines[1:] if table["names"] else lines
    return ("\ufeff" if table["bom"] else "") + table["newline"].join(text), data_lines


@given(csv_tables(), st.sampled_from(["index", "negative", "name"]), st.booleans(), st.booleans())
def test_load_csv_reads_any_oddly_written_table_exactly(tmp_path_factory, drawn, how, gz, exact):
    """Through numpy's fast parser where it applies, and (`exact`) through the row-by-row
    reader that names problems: both give the table exactly."""
    table, X, y, label = drawn
    text, _ = render(table)
    m = X.shape[1]
    label_column = {"index": label, "negative": label - (m + 1),
                    "name": table["names"][label] if table["names"] else label}[how]
    path = write(tmp_path_factory.mktemp("csv") / "t.csv", text.encode(), gz)
    exact_reader = mock.patch.object(loaders, "_numeric_table", return_value=None)
    with exact_reader if exact else nullcontext():
        got_X, got_y = load_csv(path, label_column, delimiter=table["delimiter"])
    np.testing.assert_array_equal(got_X, X)
    assert got_X.dtype == np.float64 and got_X.shape == X.shape
    expected_dtype = {"i": np.int64, "f": np.float64, "U": y.dtype}[y.dtype.kind]
    assert got_y.dtype == expected_dtype
    np.testing.assert_array_equal(got_y, y)


@given(csv_tables(), st.data())
def test_load_csv_names_the_line_and_column_of_any_missing_value(tmp_path_factory, drawn, data):
    table, X, _, label = drawn
    n, m = X.shape
    r, c = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, m))
    # A last column empty in every row is a trailing delimiter, by the documented rule.
    assume(not (n == 1 and c == m and table["names"] is None))
    table["cells"][r][c] = data.draw(st.sampled_from(["", " "]))
    text, lines = render(table)
    path = write(tmp_path_factory.mktemp("csv") / "t.csv", text.encode())
    with pytest.raises(FileFormatError) as info:
        load_csv(path, label, delimiter=table["delimiter"])
    message = str(info.value)
    assert f"line {lines[r]}" in message and "missing" in message, message
    assert f"column {c + 1}" in message or "after its" in message or "empty field" in message


def test_load_csv_refuses_bad_arguments(tmp_path):
    path = write(tmp_path / "t.csv", b"a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"no column named 'y'; the header has \['a', 'b'\]"):
        load_csv(path, "y")
    with pytest.raises(ValueError, match="label_column 2 is out of range for 2 columns"):
        load_csv(path, 2)
    with pytest.raises(ValueError, match="'b' is a name, which needs a header"):
        load_csv(path, "b", header=False)
    with pytest.raises(ValueError, match="header must be True, False or 'auto'"):
        load_csv(path, header="yes")
    with pytest.raises(FileNotFoundError, match="load_csv: cannot read"):
        load_csv(tmp_path / "nope.csv")


# ---- train_test_split ----------------------------------------------------------------------

def test_split_partitions_the_samples_and_keeps_pairs_together():
    X = np.arange(50).reshape(25, 2)
    y = X[:, 0] * 10  # each label says which row it belongs to
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, seed=0)
    assert len(X_test) == 5 and len(X_train) == 20
    np.testing.assert_array_equal(np.sort(np.concatenate([X_train, X_test]), axis=0), X)
    np.testing.assert_array_equal(y_train, X_train[:, 0] * 10)
    np.testing.assert_array_equal(y_test, X_test[:, 0] * 10)
    again = train_test_split(X, y, 0.2, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again[1], X_test)
    assert len(train_test_split(X, y, 7, seed=0)[1]) == 7
    assert len(train_test_split(X, y, 0.5, seed=0)[1]) == 12  # round(12.5) rounds to even


@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       test_size=st.floats(0.05, 0.95), seed=st.integers(0, 2**32))
def test_stratified_split_gives_every_class_its_share(sizes, test_size, seed):
    y = np.repeat(np.arange(len(sizes)), sizes)
    n = len(y)
    n_test = max(1, round(test_size * n))
    assume(n_test <= n - 1)
    X = np.arange(n)
    _, X_test, _, y_test = train_test_split(X, y, test_size, stratify=True, seed=seed)
    assert len(y_test) == n_test
    np.testing.assert_array_equal(y_test, y[X_test])
    share = n_test * np.array(sizes) / n
    assert np.all(np.abs(np.bincount(y_test, minlength=len(sizes)) - share) < 1)


def test_stratified_split_by_hand():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    _, _, y_train, y_test = train_test_split(np.zeros((100, 1)), y, 0.2, stratify=True, seed=3)
    np.testing.assert_array_equal(np.bincount(y_test), [10, 6, 4])
    np.testing.assert_array_equal(np.bincount(y_train), [40, 24, 16])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(test_size=0), DomainError, "0 of 10 samples"),
    (dict(test_size=10), DomainError, "10 of 10 samples"),
    (dict(test_size=1.5), DomainError, r"must lie in \(0, 1\), got 1.5"),
    (dict(test_size="half"), UnsupportedTypeError, "fraction or a count"),
    (dict(y=np.zeros(9)), ShapeError, r"X has 10 samples \(shape \(10, 2\)\) but y has 9"),
    (dict(y=np.zeros((10, 2)), stratify=True), ShapeError, "stratify needs labels of shape"),
])
def test_split_refuses_bad_arguments(kwargs, error, message):
    kwargs = {"X": np.zeros((10, 2)), "y": np.zeros(10), **kwargs}
    with pytest.raises(error, match=f"train_test_split: .*{message}"):
        train_test_split(**kwargs)


# ---- one_hot, Standardizer, batches --------------------------------------------------------

def test_one_hot_by_hand():
    np.testing.assert_array_equal(one_hot([2, 0, 1, 2]),
                                  [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0]), num_classes=4),
                                  [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert one_hot([], 3).shape == (0, 3)
    with pytest.raises(DomainError, match=r"one_hot: labels must lie in 0..2; got 3 at index 1"):
        one_hot([0, 3], 3)
    with pytest.raises(DomainError, match="got -1 at index 0"):
        one_hot([-1, 0])
    with pytest.raises(UnsupportedTypeError, match="one_hot: labels must be whole numbers"):
        one_hot([0.5, 1.0])
    with pytest.raises(ShapeError, match=r"one_hot: needs labels of shape \(n,\), got shape "
                                         r"\(2, 1\)"):
        one_hot([[0], [1]])


def test_standardizer_uses_the_training_statistics():
    train = np.array([[1.0, 10.0], [3.0, 10.0]])  # mean (2, 10), std (1, 0 -> 1)
    scaler = Standardizer.fit(train)
    np.testing.assert_array_equal(scaler.mean, [2, 10])
    np.testing.assert_array_equal(scaler.std, [1, 1])
    np.testing.assert_array_equal(scaler.transform(train), [[-1, 0], [1, 0]])
    np.testing.assert_array_equal(scaler.transform([[5.0, 12.0]]), [[3, 2]])
    np.testing.assert_array_equal(scaler.transform([5.0, 12.0]), [3, 2])
    X, _ = load_digits()
    Z = Standardizer.fit(X).transform(X)
    varying = X.std(axis=0) > 0
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0)[varying], 1)
    np.testing.assert_array_equal(Z[:, ~varying], 0)  # blank pixels: 0, not nan
    with pytest.raises(ShapeError, match=r"Standardizer.transform: fitted on 2 features, got "
                                         r"shape \(1, 3\)"):
        scaler.transform(np.zeros((1, 3)))
    with pytest.raises(ShapeError, match=r"Standardizer.fit: .*got shape \(4,\)"):
        Standardizer.fit(np.zeros(4))
    with pytest.raises(DomainError, match="std must be positive"):
        Standardizer([0.0], [0.0])


def test_batches_cover_an_epoch_once_in_order_or_shuffled():
    X, y = np.arange(10) * 2, np.arange(10)
    in_order = list(batches(X, y, 4, shuffle=False))
    assert [b[1].tolist() for b in in_order] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    shuffled = list(batches(X, y, 4, seed=0))
    assert [len(b[1]) for b in shuffled] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in shuffled])
    assert sorted(seen) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(np.array_equal(xb, yb * 2) for xb, yb in shuffled)
    assert [b[1].tolist() for b in batches(X, y, 4, seed=0)] == [b[1].tolist() for b in shuffled]
    rng = np.random.default_rng(0)
    epoch1, epoch2 = (np.concatenate([b[1] for b in batches(X, y, 4, rng=rng)]) for _ in "12")
    assert not np.array_equal(epoch1, epoch2)
    assert len(list(batches(X, y, 100))) == 1


def test_batches_check_arguments_when_called():
    X, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(DomainError, match="batches: batch_size must be a positive int, got 0"):
        batches(X, y, 0)  # not deferred to the first next()
    with pytest.raises(ShapeError, match="batches: X has 4 samples"):
        batches(X, y[:3], 2)


# ---- the example ---------------------------------------------------------------------------

def test_example_prints_a_summary_of_every_dataset():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "playground_data.py")],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    for name in [*PLAYGROUND, "digits"]:
        assert f"\n{name} " in out or out.startswith(name)
    assert "samples per class {0: 178, 1: 182" in out
