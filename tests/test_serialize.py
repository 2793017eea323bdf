"""save/load: round trips, refused files (with the model left unchanged), atomic writes."""

import os
import tempfile

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
