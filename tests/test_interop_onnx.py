"""to_onnx: models exported, checked by onnx.checker, and run by onnxruntime on a batch size other
than the example's give tinygrad_nn's outputs (float32, 1e-5; measured at most 9.5e-7 absolute,
on outputs up to 6): MLPs, CNNs with every pooling (fused to MaxPool / AveragePool), padding
mode and transposed convolution (fused to ConvTranspose), joins, comparisons and where, the
activations, norms, a transformer encoder layer, attention, the examples' models, and GRU / LSTM
at a fixed batch. Ops without an emitter are named in the error."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import tinygrad_nn.nn as nn  # noqa: E402
from tinygrad_nn import cat, clip, equal, maximum, minimum, not_equal, stack, where  # noqa: E402
from tinygrad_nn.engine import Value  # noqa: E402
from tinygrad_nn.errors import UnsupportedTypeError  # noqa: E402
from tinygrad_nn.interop import to_onnx  # noqa: E402
from tinygrad_nn.nn.course import MLP  # noqa: E402

from test_examples_models import load_example  # noqa: E402

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


def _types(proto):
    return {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("pool, shape, fused", [
    ("AvgPool2d(3, stride=2, padding=1)", (2, 3, 7, 7), "AveragePool"),
    ("AvgPool2d(2, count_include_pad=False, padding=1)", (2, 3, 5, 5), "AveragePool"),
    ("AvgPool1d(3, stride=2, padding=1, ceil_mode=True)", (2, 3, 8), "AveragePool"),
    ("AvgPool2d(2, divisor_override=3)", (2, 2, 6, 4), "AveragePool"),
    ("AvgPool3d(2)", (2, 2, 4, 4, 4), "AveragePool"),
    ("AdaptiveAvgPool1d(3)", (2, 3, 8), "MatMul"),
    ("AdaptiveAvgPool2d((2, 3))", (2, 3, 5, 7), "MatMul"),
    ("AdaptiveAvgPool2d(1)", (2, 3, 5, 5), "MatMul"),  # global average pooling
    ("AdaptiveAvgPool3d(2)", (2, 2, 4, 5, 3), "MatMul"),
    ("AdaptiveMaxPool2d(2)", (2, 2, 5, 5), "ReduceMax"),
])
def test_pooling(tmp_path, pool, shape, fused):
    rng = np.random.default_rng(6)
    model = eval(f"nn.{pool}", {"nn": nn})
    example = rng.normal(size=shape).astype(F32)
    assert fused in _types(to_onnx(model.eval(), example, tmp_path / "p.onnx"))
    check(model, example, rng.normal(size=(5,) + shape[1:]).astype(F32), tmp_path / "pool.onnx")


@pytest.mark.parametrize("spec, shape", [
    ("ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)", (2, 4, 4, 4)),
    ("ConvTranspose1d(2, 3, 3, stride=2, dilation=2, bias=False)", (2, 2, 5)),
    ("ConvTranspose2d(3, 2, (2, 3), stride=(2, 1), padding=(0, 1))", (2, 3, 3, 4)),
])
def test_conv_transpose(tmp_path, spec, shape):
    rng = np.random.default_rng(7)
    model = eval(f"nn.{spec[:-1]}, dtype=np.float32, seed=1)", {"nn": nn, "np": np})
    example = rng.normal(size=shape).astype(F32)
    assert "ConvTranspose" in _types(to_onnx(model.eval(), example, tmp_path / "t.onnx"))
    check(model, example, rng.normal(size=(3,) + shape[1:]).astype(F32), tmp_path / "convt.onnx")


class Branches(nn.Module):
    """Two branches joined (concatenate, stack), a comparison mask and where."""

    def __init__(self):
        self.a = nn.Conv2d(2, 3, 3, padding=1, dtype=F32, seed=1)
        self.b = nn.Conv2d(2, 2, 1, dtype=F32, seed=2)
        self.head = nn.Linear(5, 2, dtype=F32, seed=3)

    def forward(self, x):
        joined = cat([self.a(x), self.b(x)], dim=1)  # (N, 5, H, W)
        gated = where(joined > 0.1, joined, joined * 0.2) * (joined <= 1.5)
        pooled = gated.mean(axis=(2, 3))
        both = stack([pooled, maximum(pooled, 0.0) - minimum(pooled, -0.5)], axis=1)
        return self.head(both).sum(axis=1)


def test_concatenate_stack_comparisons_and_where(tmp_path):
    rng = np.random.default_rng(8)
    example = rng.normal(size=(2, 2, 5, 5)).astype(F32)
    assert {"Concat", "Where", "Greater", "LessOrEqual"} <= _types(
        to_onnx(Branches(), example, tmp_path / "b.onnx"))
    check(Branches(), example, rng.normal(size=(6, 2, 5, 5)).astype(F32), tmp_path / "branch.onnx")


@pytest.mark.parametrize("layer", [
    "SiLU()", "ELU(alpha=0.5)", "CELU(alpha=0.7)", "SELU()", "Hardswish()", "Hardsigmoid()",
    "ReLU6()", "Hardtanh(-0.5, 0.8)", "Softplus()", "Softsign()", "Mish()",
    "PReLU(3, dtype=np.float32)", "GroupNorm(3, 3, dtype=np.float32)", "ZeroPad2d((1, 0, 2, 1))",
    "ReflectionPad2d(2)", "ReplicationPad2d((1, 2, 0, 1))", "CircularPad2d(1)", "LogSigmoid()",
    "RMSNorm(4, dtype=np.float32)", "InstanceNorm2d(3)", "Upsample(scale_factor=2, mode='bilinear')",
])
def test_activations_norms_and_padding(tmp_path, layer):
    rng = np.random.default_rng(9)
    model = nn.Sequential(nn.Conv2d(3, 3, 1, dtype=F32, seed=1),
                          eval(f"nn.{layer}", {"nn": nn, "np": np}), nn.Flatten())
    model[1].load_state_dict({k: v + F32(0.5) for k, v in model[1].state_dict().items()})
    check(model, 3 * rng.normal(size=(2, 3, 4, 4)).astype(F32),
          3 * rng.normal(size=(5, 3, 4, 4)).astype(F32), tmp_path / "act.onnx")


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular"])
def test_conv_padding_modes(tmp_path, padding_mode):
    rng = np.random.default_rng(10)
    model = nn.Conv2d(2, 3, 3, padding=1, padding_mode=padding_mode, dtype=F32, seed=1)
    check(model, rng.normal(size=(2, 2, 5, 5)).astype(F32),
          rng.normal(size=(3, 2, 5, 5)).astype(F32), tmp_path / "modes.onnx")


def elementwise(x):
    """Every other elementwise emitter, comparisons and shape ops, on (N, 4)."""
    a = x.sin() * x.cos() + x.square() - x.quick_gelu()
    b = clip(x, -0.5, 0.7) + clip(x, None, 0.3)
    mask = equal(x.floor(), 0.0) + not_equal(x.ceil(), 1.0) + ~(x >= 0.2) + (x < -0.1)
    y = (a + b + x.sign() * mask).unsqueeze(1).permute(0, 2, 1).squeeze(2)
    return y - y.min(axis=1, keepdims=True)


def test_elementwise_comparisons_and_shape_ops(tmp_path):
    rng = np.random.default_rng(13)
    example = rng.uniform(-2, 2, size=(3, 4)).astype(F32)
    assert {"Not", "Equal", "Less", "Floor", "Ceil", "Clip", "ReduceMin", "Sign"} <= _types(
        to_onnx(elementwise, example, tmp_path / "e.onnx"))
    other = rng.uniform(-2, 2, size=(6, 4)).astype(F32)
    np.testing.assert_allclose(run_onnx(tmp_path / "e.onnx", other), elementwise(Value(other)).data,
                               atol=1e-5, rtol=1e-5)


def test_transformer_encoder_layer(tmp_path):
    rng = np.random.default_rng(11)
    model = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, dtype=F32)
    check(model, rng.normal(size=(2, 5, 8)).astype(F32), rng.normal(size=(4, 5, 8)).astype(F32),
          tmp_path / "encoder.onnx")


@pytest.mark.parametrize("rnn", ["GRU", "LSTM"])
def test_recurrent_layers_export_at_a_fixed_batch(tmp_path, rnn):
    """The initial state is zeros of shape (layers, batch, hidden) baked into the graph, so an
    RNN exports with the example's batch size (and sequence length: the loop is unrolled)."""
    rng = np.random.default_rng(12)
    model = getattr(nn, rnn)(4, 3, num_layers=2, batch_first=True, dtype=F32, seed=1).eval()
    x = rng.normal(size=(2, 5, 4)).astype(F32)
    to_onnx(lambda v: model(v)[0], x, tmp_path / "rnn.onnx", dynamic_batch=False)
    np.testing.assert_allclose(run_onnx(tmp_path / "rnn.onnx", x), model(Value(x))[0].data,
                               atol=1e-5, rtol=1e-5)


def test_op_without_emitter_is_named(tmp_path):
    with pytest.raises(UnsupportedTypeError,
                       match=r"op 'cumsum' .*shape \(2, 3\).*no ONNX emitter"):
        to_onnx(lambda x: x.cumsum(axis=1), np.ones((2, 3), F32), tmp_path / "bad.onnx")
    with pytest.raises(UnsupportedTypeError, match="'sliding_windows'"):
        to_onnx(lambda x: nn.functional.unfold(x, 2), np.ones((1, 2, 3, 3), F32),
                tmp_path / "u.onnx")


def test_the_examples_models_export(tmp_path):
    """The attention example's Reverser (embeddings, a learned position table, residual
    self-attention) and the CNN example's network, in float32."""
    rng = np.random.default_rng(14)
    reverser = load_example("attention_reverse").Reverser(length=6, dim=16, heads=2).float()
    check(reverser, rng.integers(0, 10, size=(2, 6)), rng.integers(0, 10, size=(5, 6)),
          tmp_path / "reverser.onnx")
    cnn = load_example("cnn_digits").build_model().float()
    check(cnn, rng.normal(size=(2, 1, 8, 8)).astype(F32), rng.normal(size=(3, 1, 8, 8)).astype(F32),
          tmp_path / "digits.onnx")
