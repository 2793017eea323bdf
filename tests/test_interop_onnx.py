"""to_onnx: models exported, checked by onnx.checker, and run by onnxruntime on a batch size other
than the example's give tinygrad_nn's outputs."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_nn.nn as nn  # noqa: E402
from tinygrad_nn.engine import Value  # noqa: E402
from tinygrad_nn.errors import UnsupportedTypeError  # noqa: E402
from tinygrad_nn.interop import to_onnx  # noqa: E402
from tinygrad_nn.nn.course import MLP  # noqa: E402

F32 = np.float32


def run_onnx(path, *inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))[0]


def check(model, example, other, path, atol=1e-5, opset=17):
    """Export on `example`, run onnxruntime on `other` (another batch size), compare."""
    model.eval()
    proto = to_onnx(model, example, path, opset=opset)
    onnx.checker.check_model(proto)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    others = other if isinstance(other, tuple) else (other,)
    expected = model(*[Value(a, requires_grad=False) if a.dtype.kind == "f" else a
                       for a in others]).data
    got = run_onnx(path, *others)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-5)


def test_sequential_mlp(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(5, 16, dtype=F32, seed=1), nn.ReLU(),
                          nn.Linear(16, 8, dtype=F32, seed=2), nn.Tanh(),
                          nn.Linear(8, 3, dtype=F32, seed=3), nn.LogSoftmax(-1))
    check(model, rng.normal(size=(4, 5)).astype(F32), rng.normal(size=(7, 5)).astype(F32),
          tmp_path / "mlp.onnx")


def test_course_mlp(tmp_path):
    rng = np.random.default_rng(1)
    model = MLP(4, [6, 2], activation="relu", output_activation="sigmoid", seed=0, dtype=F32)
    check(model, rng.normal(size=(3, 4)).astype(F32), rng.normal(size=(9, 4)).astype(F32),
          tmp_path / "course.onnx")


@pytest.mark.parametrize("opset", [17, 18])
def test_norms_and_activations(tmp_path, opset):
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm1d(6, dtype=F32)
    bn.running_mean[...] = rng.normal(size=6)
    bn.running_var[...] = rng.uniform(0.5, 2, size=6)
    model = nn.Sequential(nn.Linear(5, 6, dtype=F32, seed=1), bn, nn.GELU(), nn.LayerNorm(6, dtype=F32),
                          nn.Sigmoid(), nn.Linear(6, 4, dtype=F32, seed=2), nn.Softmax(-1))
    check(model, rng.normal(size=(4, 5)).astype(F32), rng.normal(size=(2, 5)).astype(F32),
          tmp_path / "norms.onnx", opset=opset)


def test_cnn(tmp_path):
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm2d(4, dtype=F32)
    bn.running_mean[...] = rng.normal(size=4)
    bn.running_var[...] = rng.uniform(0.5, 2, size=4)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=F32, seed=1), bn, nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2, bias=False, dtype=F32, seed=2),
                          nn.Flatten(), nn.Linear(6 * 1 * 1, 3, dtype=F32, seed=3))
    proto = to_onnx(model.eval(), rng.normal(size=(2, 2, 8, 8)).astype(F32), tmp_path / "c.onnx")
    assert {n.op_type for n in proto.graph.node} >= {"Conv", "MaxPool"}
    check(model, rng.normal(size=(2, 2, 8, 8)).astype(F32), rng.normal(size=(5, 2, 8, 8)).astype(F32),
          tmp_path / "cnn.onnx")


class Attention(nn.Module):
    def __init__(self):
        self.embed = nn.Embedding(11, 8, dtype=F32, seed=1)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True, dtype=F32, seed=2)
        self.head = nn.Linear(8, 3, dtype=F32, seed=3)

    def forward(self, tokens):
        h = self.embed(tokens)
        y, _ = self.attn(h, h, h)
        return self.head(y)


def test_attention(tmp_path):
    rng = np.random.default_rng(4)
    check(Attention(), rng.integers(0, 11, size=(2, 5)), rng.integers(0, 11, size=(3, 5)),
          tmp_path / "attn.onnx")


def test_unsupported_op_is_named(tmp_path):
    with pytest.raises(UnsupportedTypeError, match="'sort'"):
        to_onnx(lambda x: x.sort(), np.ones((2, 3), F32), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()
    with pytest.raises(UnsupportedTypeError, match="opset"):
        to_onnx(lambda x: x.relu(), np.ones((2, 3), F32), tmp_path / "old.onnx", opset=11)


def test_grouped_dilated_conv_and_static_batch(tmp_path):
    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2, dtype=F32, seed=1),
                          nn.MaxPool2d(3, stride=2, padding=1)).eval()
    x = rng.normal(size=(3, 4, 9, 7)).astype(F32)
    proto = to_onnx(model, x, tmp_path / "g.onnx", dynamic_batch=False)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    np.testing.assert_allclose(run_onnx(tmp_path / "g.onnx", x), model(Value(x)).data, atol=1e-5)
