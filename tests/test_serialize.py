"""save/load: round trips, refused files (with the model left unchanged), atomic writes."""

import importlib.util
import json
import math
import os
import re
import struct
import tempfile
import tracemalloc
import zipfile

from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

from tinygrad_nn import ShapeError, UnsupportedTypeError
from tinygrad_nn.nn import MLP, Neuron
from tinygrad_nn import FileFormatError, load, save

X = np.random.default_rng(0).normal(size=(5, 3))


def model(seed=0, dtype=np.float64):
    return MLP(3, [4, 2], seed=seed, dtype=dtype)


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    trained, fresh = model(0, dtype), model(1, dtype)
    path = tmp_path / "model.npz"
    save(trained.state_dict(), path)
    fresh.load_state_dict(load(path))
    assert np.array_equal(fresh(X).data, trained(X).data)
    assert_same_state(fresh.state_dict(), trained.state_dict())
    assert sorted(load(path)) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]


def test_round_trip_of_a_scalar_bias_and_awkward_names(tmp_path):
    unit = Neuron(3, seed=0)
    path = str(tmp_path / "unit.npz")
    save(unit.state_dict(), path)
    other = Neuron(3, seed=1)
    other.load_state_dict(load(path))
    assert np.array_equal(other(X).data, unit(X).data)
    # names that numpy.savez would take as its own keyword arguments
    state = {"file": np.arange(3), "allow_pickle": np.array(True)}
    save(state, path)
    assert_same_state(load(path), state)


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00\\"), min_size=1, max_size=20)
numeric_arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_]),
                            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))


@given(st.dictionaries(names, numeric_arrays, max_size=5))
def test_any_numeric_state_round_trips_exactly(state):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "state.npz")
        save(state, path)
        loaded = load(path)
    assert loaded.keys() == state.keys()
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)  # NaN equals NaN here


def refused_and_unchanged(target, path, error, *patterns):
    """Loading `path` into `target` raises `error` matching every pattern; the model is unchanged."""
    before, outputs = target.state_dict(), target(X).data
    with pytest.raises(error) as info:
        target.load_state_dict(load(path))
    for pattern in patterns:
        assert pattern in str(info.value), (pattern, str(info.value))
    assert_same_state(target.state_dict(), before)
    assert np.array_equal(target(X).data, outputs)
    return str(info.value)


def test_a_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    state = model(1).state_dict()
    state["layers.0.W"] = np.array([{"__reduce__": "os.system"}], dtype=object)
    np.savez(path, **state)  # numpy itself pickles object arrays
    message = refused_and_unchanged(model(), path, FileFormatError, f"load: {str(path)!r}: "
                                    "array 'layers.0.W' holds pickled Python objects (dtype "
                                    "object); refused")
    assert "corrupt" not in message  # said as it is, not as a damaged file


def test_a_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "shape.npz"
    state = model(1).state_dict()
    state["layers.1.W"] = np.zeros((2, 5))
    save(state, path)
    refused_and_unchanged(model(), path, ShapeError, "layers.1.W: shape (2, 5) in the state, "
                          "(2, 4) in the model", "Nothing was loaded")


def test_a_missing_key_is_refused(tmp_path):
    path = tmp_path / "missing.npz"
    state = model(1).state_dict()
    del state["layers.0.b"]
    save(state, path)
    refused_and_unchanged(model(), path, ShapeError, "missing: layers.0.b")


def test_a_wrong_dtype_is_refused(tmp_path):
    path = tmp_path / "dtype.npz"
    save(model(1, np.float32).state_dict(), path)
    refused_and_unchanged(model(), path, ShapeError, "dtype float32 in the state, float64 in the model")


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match="load: no such file: .*nowhere.npz"):
        load(path)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "npy"])
def test_a_corrupt_file_is_refused(tmp_path, damage):
    path = tmp_path / "broken.npz"
    save(model(1).state_dict(), path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "garbage":
        path.write_bytes(b"these are not the bytes of a zip archive" * 10)
    else:
        np.save(tmp_path / "array.npy", np.zeros(3))
        os.replace(tmp_path / "array.npy", path)
    refused_and_unchanged(model(), path, FileFormatError, str(path),
                          "is not a readable .npz file; it may be truncated or corrupt")


def test_a_flipped_byte_inside_an_array_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / "flipped.npz"
    save({"W": np.zeros(100)}, path)
    data = bytearray(path.read_bytes())
    data[data.index(b"\x00" * 800) + 400] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="Bad CRC-32"):
        load(path)


def test_non_numeric_arrays_in_a_file_are_refused(tmp_path):
    path = tmp_path / "strings.npz"
    np.savez(path, W=np.array(["a", "b"]))
    with pytest.raises(FileFormatError, match="array 'W' has dtype <U1, not numbers"):
        load(path)


@pytest.mark.parametrize("state, message", [
    ({"W": np.array([object()], dtype=object)}, "'W' has dtype object; only arrays of numbers"),
    ({"W": np.array(["a"])}, "'W' has dtype <U1"),
    ({"": np.zeros(2)}, "names must be non-empty strings"),
    ({1: np.zeros(2)}, "names must be non-empty strings .*; got 1"),
    ({"a\x00b": np.zeros(2)}, "no NUL character"),
    ({"\ud800": np.zeros(2)}, "names must be non-empty strings"),
    ([np.zeros(2)], "state_dict must be a mapping"),
])
def test_save_refuses_what_load_could_not_read_safely(tmp_path, state, message):
    with pytest.raises(UnsupportedTypeError, match=message):
        save(state, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: the directory .*nope.* does not exist"):
        save({"W": np.zeros(2)}, tmp_path / "nope" / "x.npz")


def failing_write(monkeypatch, error):
    """Make every second array write put a few bytes down and then fail: each save of a state
    with several arrays fails mid-file."""
    real = np.lib.format.write_array
    calls = []

    def write_array(member, array, **kwargs):
        calls.append(array)
        if len(calls) % 2 == 0:
            member.write(b"\x93NUMPY partial")
            raise error
        return real(member, array, **kwargs)
    monkeypatch.setattr(np.lib.format, "write_array", write_array)


def failing_rename(monkeypatch, error):
    def replace(source, target):
        raise error
    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("sabotage", [failing_write, failing_rename])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, sabotage, error):
    new_state = model(1).state_dict()
    fresh, existing = tmp_path / "fresh.npz", tmp_path / "existing.npz"
    save(model(0).state_dict(), existing)
    old_bytes = existing.read_bytes()
    sabotage(monkeypatch, error)
    for path in (fresh, existing):
        with pytest.raises(type(error)):
            save(new_state, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["existing.npz"]  # no temporary file left behind
    assert existing.read_bytes() == old_bytes
    assert_same_state(load(existing), model(0).state_dict())


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "m.npz"
    save(model(0).state_dict(), path)
    save(model(1).state_dict(), path)
    assert_same_state(load(path), model(1).state_dict())
    assert os.listdir(tmp_path) == ["m.npz"]


# ---- forged headers: refused before anything large is allocated ----------------------------

def npy(descr, shape, data=b"", fortran=False):
    """A version 1.0 .npy file written by hand: magic, the header dict padded to 64 bytes, data."""
    header = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def npz(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return path


def refused_cheaply(path, *patterns):
    """load(path) raises FileFormatError naming `patterns`, having allocated under 1 MiB."""
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError) as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for pattern in patterns:
        assert pattern in str(info.value), (pattern, str(info.value))
    assert peak < 1 << 20, peak


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_tiny_file_declaring_a_terabyte_array_is_refused_before_allocating(tmp_path, compression):
    path = npz(tmp_path / "forged.npz", {"W": npy("<f8", (10**6, 10**6), b"\0" * 8)}, compression)
    assert path.stat().st_size < 400
    refused_cheaply(path, f"load: {str(path)!r}: array 'W'", "declares shape (1000000, 1000000) "
                    "of float64 (8000000000000 bytes)", "entry 'W.npy' holds 8 bytes")


def test_a_zip_entry_overstating_its_own_size_costs_only_the_bytes_really_there(tmp_path):
    # The .npy header and the zip's sizes agree on 10**8 doubles (800 MB); the data are 800 bytes.
    declared = npy("<f8", (10**8,))
    path = npz(tmp_path / "liar.npz", {"W": declared + b"\0" * 800})
    data = bytearray(path.read_bytes())
    for signature, offset in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)]:  # uncompressed sizes
        at = data.index(signature) + offset
        data[at:at + 4] = struct.pack("<I", len(declared) + 8 * 10**8)
    path.write_bytes(bytes(data))
    refused_cheaply(path, "array 'W'", "the data end after 800 of the 800000000 bytes")


def test_a_negative_side_in_the_header_is_refused(tmp_path):
    path = npz(tmp_path / "negative.npz", {"W": npy("<f8", (-1, -8), b"\0" * 64)})
    refused_cheaply(path, "array 'W'", "declares the shape (-1, -8), with a negative side")


dtypes = st.sampled_from(["<f8", ">f8", "<f4", "<i8", ">i4", "|u1", "|b1", "<f2", "<u2"])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


COMPRESSIONS = st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])


@given(dtypes, shapes, shapes, st.booleans(), COMPRESSIONS, st.randoms(use_true_random=False))
def test_a_header_loads_exactly_when_its_shape_matches_the_data(descr, shape, declared, fortran,
                                                                compression, rng):
    """Data for `shape`, a header declaring `declared`: loaded as numpy loads it when the sizes
    agree, refused naming the declared shape otherwise (never a MemoryError or a wrong array)."""
    dtype = np.dtype(descr)
    data = rng.randbytes(math.prod(shape) * dtype.itemsize)
    if dtype.kind == "b":
        data = bytes(b & 1 for b in data)
    with tempfile.TemporaryDirectory() as directory:
        path = npz(os.path.join(directory, "x.npz"), {"W": npy(descr, declared, data, fortran)},
                   compression)
        if math.prod(declared) != math.prod(shape):
            with pytest.raises(FileFormatError, match=re.escape(f"declares shape {declared} of "
                                                                f"{dtype}")):
                load(path)
            return
        got = load(path)["W"]
        with np.load(path, allow_pickle=False) as reference:
            expected = reference["W"]
    assert got.dtype == expected.dtype == dtype and got.shape == expected.shape == declared
    assert got.tobytes(order="A") == expected.tobytes(order="A")
    assert got.flags.f_contiguous == expected.flags.f_contiguous
    np.testing.assert_array_equal(got, expected)


safetensors_needed = pytest.mark.skipif(importlib.util.find_spec("safetensors") is None,
                                        reason="the safetensors package is not installed")


def safetensors_file(path, header, data=b"", header_length=None):
    text = json.dumps(header).encode()
    length = len(text) if header_length is None else header_length
    path.write_bytes(struct.pack("<Q", length) + text + data)
    return path


@safetensors_needed
@pytest.mark.parametrize("header, data, header_length, says", [
    ({"W": {"dtype": "F64", "shape": [10**6, 10**6], "data_offsets": [0, 8]}}, b"\0" * 8, None,
     "invalid shape, data type, or offset"),
    ({"W": {"dtype": "F64", "shape": [10**6], "data_offsets": [0, 8 * 10**6]}}, b"\0" * 8, None,
     "incomplete metadata"),
    ({"W": {"dtype": "F64", "shape": [2**62, 4], "data_offsets": [0, 0]}}, b"", None, "overflow"),
    ({"W": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, 10**12,
     "header too large"),
    ({"A": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
      "B": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, None,
     "invalid offset for tensor"),
])
def test_a_forged_safetensors_header_is_refused_before_allocating(tmp_path, header, data,
                                                                  header_length, says):
    # The safetensors package checks sizes and offsets against the file itself; this pins it.
    path = safetensors_file(tmp_path / "forged.safetensors", header, data, header_length)
    refused_cheaply(path, f"load: {str(path)!r} is not a readable .safetensors file", says)
