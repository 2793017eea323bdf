"""Every torch-style module holds what its PyTorch twin holds: the same state_dict keys, in the
same order, with the same shapes (buffers included); a torch module's state_dict loads and gives
torch's outputs; and the state survives save/load into a fresh module."""

import numpy as np
import pytest

from tinygrad_nn import load, nn, save

torch = pytest.importorskip("torch")

# (constructor, as written for both libraries; input shape)
MODULES = [
    ("Linear(5, 3)", (4, 5)), ("Linear(5, 3, bias=False)", (2, 4, 5)),
    ("Conv1d(2, 4, 3, padding=1)", (2, 2, 7)), ("Conv2d(2, 4, 3, stride=2, groups=2)", (2, 2, 7, 7)),
    ("Conv2d(1, 3, 2, padding='same', padding_mode='reflect')", (2, 1, 5, 5)),
    ("Conv3d(1, 2, 2)", (1, 1, 4, 4, 4)), ("ConvTranspose1d(2, 3, 3, stride=2)", (2, 2, 5)),
    ("ConvTranspose2d(2, 4, 3, stride=2, padding=1, output_padding=1, groups=2)", (1, 2, 4, 4)),
    ("MaxPool1d(2)", (2, 3, 8)), ("MaxPool2d(3, stride=2, padding=1)", (2, 2, 7, 7)),
    ("AvgPool1d(3, stride=2, padding=1)", (2, 3, 8)),
    ("AvgPool2d(2, count_include_pad=False, padding=1)", (1, 2, 5, 5)),
    ("AdaptiveAvgPool1d(3)", (2, 2, 8)), ("AdaptiveAvgPool2d((2, 3))", (2, 2, 5, 7)),
    ("AdaptiveMaxPool2d(2)", (2, 2, 5, 5)), ("Flatten()", (2, 3, 4)),
    ("Unflatten(1, (2, 3))", (4, 6)), ("Identity()", (3, 2)),
    ("BatchNorm1d(3)", (8, 3)), ("BatchNorm1d(3, momentum=None)", (4, 3, 5)),
    ("BatchNorm2d(2, affine=False)", (4, 2, 3, 3)), ("BatchNorm3d(2)", (2, 2, 2, 3, 3)),
    ("BatchNorm2d(2, track_running_stats=False)", (4, 2, 3, 3)),
    ("InstanceNorm1d(3, affine=True)", (2, 3, 6)),
    ("InstanceNorm2d(2, track_running_stats=True)", (2, 2, 4, 4)),
    ("LayerNorm(4)", (3, 4)), ("LayerNorm((3, 4), bias=False)", (2, 3, 4)),
    ("GroupNorm(2, 4)", (2, 4, 3)), ("LocalResponseNorm(3)", (2, 4, 5)),
    ("Embedding(10, 4, padding_idx=0)", "indices"),
    ("MultiheadAttention(8, 2, batch_first=True)", "self-attention"),
    ("MultiheadAttention(8, 2, kdim=6, vdim=5, add_bias_kv=True)", "cross-attention"),
    ("Dropout(0.3)", (4, 5)), ("Dropout2d(0.3)", (2, 3, 4, 4)), ("ReLU()", (3, 4)),
    ("GELU(approximate='tanh')", (3, 4)), ("PReLU(3)", (2, 3, 4)), ("LeakyReLU(0.2)", (3, 4)),
    ("Softmax(dim=1)", (3, 4)), ("LogSoftmax(dim=-1)", (3, 4)), ("GLU()", (3, 4)),
    ("Threshold(0.1, 20.0)", (3, 4)), ("Softplus(beta=2.0)", (3, 4)), ("Hardswish()", (3, 4)),
    ("CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]))", None),
    ("BCEWithLogitsLoss(pos_weight=np.array([2.0]))", None), ("MSELoss()", None),
]


def _twins(spec):
    ours = eval(f"nn.{spec}", {"nn": nn, "np": np})
    theirs = eval(f"torch.nn.{spec}", {"torch": torch, "np": _TorchArrays})
    return ours, theirs.double()


class _TorchArrays:
    """`np.array(...)` in a constructor spec, as torch wants it: a float64 tensor."""

    @staticmethod
    def array(values):
        return torch.tensor(values, dtype=torch.float64)


def _inputs(kind, rng, dtype=np.float64):
    """Arguments for forward: one array, or what an embedding or attention module takes."""
    if kind == "indices":
        return (rng.integers(0, 10, size=(3, 4)),)
    if kind == "self-attention":  # batch first: (N, L, E)
        x = rng.standard_normal((2, 3, 8)).astype(dtype)
        return x, x, x
    if kind == "cross-attention":  # (L, N, E), keys and values of their own sizes
        return tuple(rng.standard_normal(shape).astype(dtype)
                     for shape in ((3, 2, 8), (4, 2, 6), (4, 2, 5)))
    return (rng.standard_normal(kind).astype(dtype),)


@pytest.mark.parametrize("spec, kind", MODULES, ids=[m[0] for m in MODULES])
def test_state_dict_keys_shapes_and_torch_weights_carry_over(spec, kind, tmp_path):
    ours, theirs = _twins(spec)
    torch_state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    state = ours.state_dict()
    assert list(state) == list(torch_state)
    assert {k: v.shape for k, v in state.items()} == {k: v.shape for k, v in torch_state.items()}
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    if kind is None:
        return
    ours.load_state_dict(torch_state)
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(0)
    args = _inputs(kind, rng)
    out, expected = _first(ours(*args)), _first(theirs(*(torch.from_numpy(a) for a in args)))
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    # through a file into a fresh module (different initial weights): the same outputs
    save(ours.state_dict(), tmp_path / "m.npz")
    fresh, _ = _twins(spec)
    fresh.load_state_dict(load(tmp_path / "m.npz"))
    fresh.eval()
    np.testing.assert_array_equal(np.asarray(_first(fresh(*args)).data), np.asarray(out.data))


def _first(out):
    return out[0] if isinstance(out, tuple) else out


# torch prints MultiheadAttention with its out_proj as a NonDynamicallyQuantizableLinear (ours
# shows its settings on one line) and the losses without their settings (ours shows them)
OWN_REPR = ("MultiheadAttention", "Loss")


@pytest.mark.parametrize("spec", [spec for spec, _ in MODULES
                                  if not any(name in spec for name in OWN_REPR)])
def test_repr_reads_as_torch_prints_it(spec):
    ours, theirs = _twins(spec)
    assert repr(ours) == repr(theirs)


def test_containers_print_their_modules_nested_as_torch_does():
    def build(lib):
        return lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.ModuleDict(
            {"conv": lib.Conv2d(1, 2, 3), "norm": lib.BatchNorm2d(2)}), lib.ModuleList([lib.Tanh()]))
    assert repr(build(nn)) == repr(build(torch.nn))
