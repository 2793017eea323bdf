"""save/load of .safetensors files: exact round trips, files that torch writes and reads, the
metadata, atomic writes, refused files, and the suffix choosing the format."""

import json
import os
import struct
import sys
import tempfile

from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
import numpy as np
import pytest

import tinygrad_nn
from tinygrad_nn import FileFormatError, UnsupportedTypeError, load, nn, save

safetensors = pytest.importorskip("safetensors")

FEW = settings(max_examples=min(settings.default.max_examples, 20))
DTYPES = [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16, np.int32,
          np.uint32, np.int64, np.uint64, np.bool_]


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        np.testing.assert_array_equal(a[name], b[name])  # NaN equals NaN here


# (constructor taking dtype= and seed= where the module has weights; input shape)
def make_module(kind, size, dtype, seed):
    if kind == "Linear":
        return nn.Linear(size, 3, dtype=dtype, seed=seed), (2, size)
    if kind == "Conv2d":
        return nn.Conv2d(2, size, 3, padding=1, dtype=dtype, seed=seed), (2, 2, 4, 4)
    if kind == "BatchNorm2d":
        module = nn.BatchNorm2d(size, dtype=dtype)
        for step in range(seed % 3 + 1):  # running statistics and num_batches_tracked move
            module(np.random.default_rng(seed + step).normal(size=(4, size, 2, 2)).astype(dtype))
        module.eval()
        return module, (2, size, 3, 3)
    return nn.MLP(size, [4, 2], seed=seed, dtype=dtype), (3, size)


@FEW
@given(st.sampled_from(["Linear", "Conv2d", "BatchNorm2d", "MLP"]), st.integers(1, 4),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_a_module_state_round_trips_exactly(kind, size, dtype, seed):
    trained, shape = make_module(kind, size, dtype, seed)
    fresh, _ = make_module(kind, size, dtype, seed + 1)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.safetensors")
        save(trained.state_dict(), path)
        fresh.load_state_dict(load(path))
    assert_same_state(fresh.state_dict(), trained.state_dict())
    if kind == "BatchNorm2d":
        assert fresh.state_dict()["num_batches_tracked"].dtype == np.int64
        assert fresh.state_dict()["num_batches_tracked"].shape == ()
    x = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    assert np.array_equal(fresh(x).data, trained(x).data)


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                max_size=20).filter(lambda name: name != "__metadata__")


@st.composite
def stored_arrays(draw):
    """A numeric array as a state may hold it: any dtype of the format, 0-d or empty, and
    perhaps a strided or transposed view or big-endian (which the file must straighten)."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.itemsize > 1 and draw(st.booleans()):
        dtype = dtype.newbyteorder(">")
    array = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                     max_side=5)))
    view = draw(st.sampled_from(["whole", "transposed", "strided"]))
    if view == "transposed":
        array = array.T
    elif view == "strided" and array.ndim:
        array = array[..., ::2]
    return array


@FEW
@given(st.dictionaries(names, stored_arrays(), max_size=5))
def test_any_numeric_state_round_trips_exactly(state):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "state.safetensors")
        save(state, path)
        loaded = load(path)
    assert sorted(loaded) == sorted(state)  # the format keeps no order; load sorts the names
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype.newbyteorder("=") and loaded[name].flags.writeable
        assert loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)


@pytest.fixture
def torch():
    """torch, for the tests that need it (with safetensors.torch, which needs it too)."""
    module = pytest.importorskip("torch")
    pytest.importorskip("safetensors.torch")
    return module

# (constructor, as written for both libraries; input shape)
TWINS = [("Linear(4, 3)", (2, 4)), ("Conv2d(2, 3, 3, padding=1)", (2, 2, 5, 5)),
         ("BatchNorm2d(3)", (4, 3, 2, 2))]


def torch_twin(torch, spec, seed):
    torch.manual_seed(seed)
    module = eval(f"torch.nn.{spec}", {"torch": torch}).double()
    if "BatchNorm" in spec:
        with torch.no_grad():
            module(torch.randn(4, 3, 2, 2, dtype=torch.float64))
            module(torch.randn(4, 3, 2, 2, dtype=torch.float64) * 3 + 1)
    return module.eval()


@pytest.mark.parametrize("spec, shape", TWINS, ids=[t[0] for t in TWINS])
def test_a_saved_module_loads_into_torch_with_the_same_outputs(torch, spec, shape, tmp_path):
    ours = eval(f"nn.{spec}", {"nn": nn})
    if "BatchNorm" in spec:  # our running statistics, not torch's initial ones
        ours(np.random.default_rng(0).normal(size=(4, 3, 2, 2)) * 2 - 1)
        ours.eval()
    path = tmp_path / "ours.safetensors"
    save(ours.state_dict(), path)
    theirs = torch_twin(torch, spec, 1)
    theirs.load_state_dict(safetensors.torch.load_file(path))  # strict: every key, no extra
    x = np.random.default_rng(1).normal(size=shape)
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), ours(x).data,
                               rtol=1e-12, atol=1e-12)
    if "BatchNorm" in spec:
        assert theirs.num_batches_tracked.dtype == torch.int64 and theirs.num_batches_tracked == 1


@pytest.mark.parametrize("spec, shape", TWINS, ids=[t[0] for t in TWINS])
def test_a_torch_file_loads_into_tinygrad_nn_with_the_same_outputs(torch, spec, shape, tmp_path):
    theirs = torch_twin(torch, spec, 2)
    path = tmp_path / "theirs.safetensors"
    safetensors.torch.save_file(theirs.state_dict(), path)
    ours = eval(f"nn.{spec}", {"nn": nn})
    ours.load_state_dict(load(path))
    ours.eval()
    x = np.random.default_rng(2).normal(size=shape)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_the_metadata_says_who_wrote_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save(nn.Linear(2, 1, seed=0).state_dict(), path)
    with safetensors.safe_open(path, framework="np") as file:
        assert file.metadata() == {"format": "pt", "framework": "tinygrad_nn",
                                   "version": tinygrad_nn.__version__}


def test_a_bfloat16_file_is_refused_naming_the_tensor(torch, tmp_path):
    path = tmp_path / "bf16.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(3, dtype=torch.bfloat16)}, path)
    with pytest.raises(FileFormatError, match=r"tensor 'w' has dtype BF16, which numpy does not "
                                              r"hold exactly; convert it"):
        load(path)


def failing_fsync(monkeypatch, error):
    """Fail after the bytes are in the temporary file, before it is renamed."""
    def fsync(fd):
        raise error
    monkeypatch.setattr(os, "fsync", fsync)


def failing_rename(monkeypatch, error):
    def replace(source, target):
        raise error
    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("sabotage", [failing_fsync, failing_rename])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, sabotage, error):
    fresh, existing = tmp_path / "fresh.safetensors", tmp_path / "existing.safetensors"
    old_state = nn.MLP(3, [4, 2], seed=0).state_dict()
    save(old_state, existing)
    old_bytes = existing.read_bytes()
    sabotage(monkeypatch, error)
    for path in (fresh, existing):
        with pytest.raises(type(error)):
            save(nn.MLP(3, [4, 2], seed=1).state_dict(), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["existing.safetensors"]  # no temporary file left behind
    assert existing.read_bytes() == old_bytes
    assert_same_state(load(existing), old_state)


@pytest.mark.parametrize("state, message", [
    ({"__metadata__": np.zeros(2)}, "'__metadata__' is reserved"),
    ({"W": np.zeros(2, np.longdouble)}, "'W' has dtype float128, which safetensors files do not"),
    ({"W": np.zeros(2, np.complex64)}, "'W' has dtype complex64; only arrays of numbers"),
    ({"": np.zeros(2)}, "names must be non-empty strings"),
])
def test_save_refuses_what_the_file_cannot_hold_before_touching_it(tmp_path, state, message):
    if "float128" in message and np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is float64 here")
    with pytest.raises(UnsupportedTypeError, match=message):
        save(state, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def header_length(data):
    return struct.unpack("<Q", data[:8])[0]


def damaged(data, damage, tmp_path):
    """The bytes of a good file `data`, damaged in one way."""
    n = header_length(data)
    if damage == "empty":
        return b""
    if damage == "truncated in the length":
        return data[:5]
    if damage == "truncated in the header":
        return data[:8 + n // 2]
    if damage == "truncated in the data":
        return data[:-8]
    if damage == "garbage":
        return b"these are not the bytes of a safetensors file" * 10
    if damage == "header not JSON":
        return data[:8] + b"{" * n + data[8 + n:]
    if damage == "offsets past the end":
        header = json.loads(data[8:8 + n])
        name = next(k for k in header if k != "__metadata__")
        header[name]["data_offsets"][1] += 8
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text)) + text + data[8 + n:]
    save({"W": np.zeros(3)}, tmp_path / "archive.npz")  # an .npz under the wrong name
    return (tmp_path / "archive.npz").read_bytes()


DAMAGES = ["empty", "truncated in the length", "truncated in the header",
           "truncated in the data", "garbage", "header not JSON", "offsets past the end", "npz"]


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_file_is_refused_and_the_model_left_unchanged(tmp_path, damage):
    path = tmp_path / "broken.safetensors"
    save(nn.MLP(3, [4, 2], seed=1).state_dict(), path)
    path.write_bytes(damaged(path.read_bytes(), damage, tmp_path))
    target = nn.MLP(3, [4, 2], seed=0)
    before = target.state_dict()
    with pytest.raises(FileFormatError) as info:
        target.load_state_dict(load(path))
    assert f"load: {str(path)!r} is not a readable .safetensors file; it may be truncated or " \
           "corrupt (SafetensorError: " in str(info.value)
    assert_same_state(target.state_dict(), before)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="load: no such file: .*nowhere.safetensors"):
        load(tmp_path / "nowhere.safetensors")


@pytest.mark.parametrize("name, safetensors_file", [
    ("m.safetensors", True), ("m.SafeTensors", True), ("m.npz", False), ("m.bin", False),
    ("m", False), ("m.safetensors.npz", False)])
def test_the_suffix_chooses_the_format(tmp_path, name, safetensors_file):
    state = nn.BatchNorm2d(2).state_dict()
    path = tmp_path / name
    save(state, path)
    data = path.read_bytes()
    assert data.startswith(b"PK") != safetensors_file  # a zip archive is an .npz
    if safetensors_file:
        assert data[8:9] == b"{" and len(data) == 8 + header_length(data) + sum(
            array.nbytes for array in state.values())
    assert_same_state(load(path), state)


def test_without_the_package_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    save({"W": np.zeros(2)}, tmp_path / "w.safetensors")
    for module in ("safetensors", "safetensors.numpy"):
        monkeypatch.setitem(sys.modules, module, None)  # `import` now raises ImportError
    for call in (lambda: save({"W": np.zeros(2)}, tmp_path / "x.safetensors"),
                 lambda: load(tmp_path / "w.safetensors")):
        with pytest.raises(ImportError, match=r"pip install 'tinygrad_nn\[safetensors\]'"):
            call()
    save({"W": np.zeros(2)}, tmp_path / "x.npz")  # .npz needs nothing more
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors", "x.npz"]
