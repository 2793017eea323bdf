"""Initialisers (tinygrad_nn/init.py): torch's in-place ones checked against torch's formulas
(bounds and standard deviations computed by hand from its fans and gains), and the course's
(shape, rng) ones kept as they were."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_nn import DomainError, ShapeError, UnsupportedTypeError, Value, init
from tinygrad_nn import nn

torch = pytest.importorskip("torch")
TI = torch.nn.init

FEW = settings(max_examples=min(settings.default.max_examples, 25), deadline=None)
SHAPES = st.lists(st.integers(1, 5), min_size=2, max_size=5).map(tuple)
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
BIG = (300, 40, 3, 3)  # fan_in 360, fan_out 2700: many samples for the statistics


def torch_fans(shape):
    """torch's own fan computation, on an empty tensor of `shape`."""
    return TI._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_the_nn_init_module_is_this_module():
    from tinygrad_nn.nn import init as nn_init
    assert nn_init is init
    layer = nn.Linear(4, 3)
    assert nn_init.kaiming_uniform_(layer.weight) is layer.weight


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_equals_torchs(nonlinearity):
    assert init.calculate_gain(nonlinearity) == pytest.approx(TI.calculate_gain(nonlinearity),
                                                              rel=1e-15)


@pytest.mark.parametrize("param", [None, 0, 0.2, 1, -0.5, 3])
def test_calculate_gain_leaky_relu_slope(param):
    assert init.calculate_gain("leaky_relu", param) == pytest.approx(
        TI.calculate_gain("leaky_relu", param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(DomainError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(DomainError, match="negative_slope"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError):  # torch raises ValueError for both
        TI.calculate_gain("leaky_relu", True)


@FEW
@given(shape=SHAPES)
def test_fans_are_torchs(shape):
    assert init._torch_fans(np.zeros(shape), "test") == torch_fans(shape)
    assert init._fans(shape) == torch_fans(shape)


def test_fans_of_a_vector_count_one_unit_for_the_course_and_fail_for_torchs_functions():
    assert init._fans((7,)) == (7, 1)
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        with pytest.raises(ShapeError, match="fewer than 2 dimensions"):
            fn(Value(np.zeros(4)))


def assert_uniform_within(data, bound):
    """Samples inside [-bound, bound], reaching near both ends, std bound/√3."""
    assert np.abs(data).max() <= bound
    assert data.min() < -0.98 * bound and data.max() > 0.98 * bound
    assert data.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


def assert_normal(data, mean, std):
    assert data.mean() == pytest.approx(mean, abs=5 * std / math.sqrt(data.size))
    assert data.std() == pytest.approx(std, rel=0.03)


def test_uniform_and_normal_in_place_dtype_and_shape_kept():
    for dtype in (np.float64, np.float32):
        v = Value(np.zeros((200, 300), dtype))
        data = v.data
        assert init.uniform_(v, -2.0, 3.0, generator=0) is v
        assert v.data is data and v.dtype == dtype and v.shape == (200, 300)
        assert v.data.min() >= -2.0 and v.data.max() <= 3.0
        assert v.data.mean() == pytest.approx(0.5, abs=0.02)
        assert init.normal_(v, 1.5, 0.25, generator=np.random.default_rng(0)) is v
        assert v.data is data and v.dtype == dtype
        assert_normal(v.data, 1.5, 0.25)
    assert init.uniform_(np.zeros(3), 1.0, 2.0).min() >= 1.0  # a numpy array, in place too
    scalar = Value(0.0)
    init.normal_(scalar, 5.0, 0.0)
    assert scalar.data == 5.0 and type(scalar.data) is float
    with pytest.raises(UnsupportedTypeError, match="uniform_"):
        init.uniform_([1.0, 2.0])


def test_generators_make_draws_reproducible():
    a, b = Value(np.zeros((4, 5))), Value(np.zeros((4, 5)))
    init.kaiming_normal_(a, generator=np.random.default_rng(3))
    init.kaiming_normal_(b, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a.data, b.data)
    import tinygrad_nn as tg
    tg.manual_seed(4)
    init.xavier_uniform_(a)
    tg.manual_seed(4)
    init.xavier_uniform_(b)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 3.0),
                                             (0.0, 0.02, -0.04, 0.04), (0.0, 1.0, 0.5, 1.0)])
def test_trunc_normal_statistics(mean, std, a, b):
    from scipy.stats import truncnorm
    v = init.trunc_normal_(Value(np.zeros((200, 250))), mean, std, a, b, generator=0)
    assert v.data.min() >= a and v.data.max() <= b
    expected = truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert v.data.mean() == pytest.approx(expected.mean(), abs=5 * expected.std() / 220)
    assert v.data.std() == pytest.approx(expected.std(), rel=0.03)
    with pytest.raises(DomainError, match="std > 0"):
        init.trunc_normal_(Value(np.zeros(3)), std=-1.0)


@pytest.mark.parametrize("gain", [1.0, 0.5, init.calculate_gain("relu")])
def test_xavier_bounds_and_std_per_torchs_formula(gain):
    fan_in, fan_out = torch_fans(BIG)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    assert_uniform_within(init.xavier_uniform_(Value(np.zeros(BIG)), gain, generator=0).data,
                          bound)
    assert_normal(init.xavier_normal_(Value(np.zeros(BIG)), gain, generator=0).data, 0.0,
                  gain * math.sqrt(2.0 / (fan_in + fan_out)))


@pytest.mark.parametrize("a, mode, nonlinearity", [
    (0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
    (0.2, "fan_out", "leaky_relu"), (0, "fan_in", "relu"), (0, "fan_out", "tanh"),
    (0, "fan_in", "linear"), (0, "fan_in", "selu")])
def test_kaiming_bounds_and_std_per_torchs_formula(a, mode, nonlinearity):
    fan_in, fan_out = torch_fans(BIG)
    fan = fan_in if mode == "fan_in" else fan_out
    std = TI.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    assert_uniform_within(init.kaiming_uniform_(Value(np.zeros(BIG)), a, mode, nonlinearity,
                                                generator=0).data, math.sqrt(3) * std)
    assert_normal(init.kaiming_normal_(Value(np.zeros(BIG)), a, mode, nonlinearity,
                                       generator=0).data, 0.0, std)


def test_kaiming_with_a_sqrt5_is_torchs_linear_default_bound():
    w = init.kaiming_uniform_(Value(np.zeros((200, 150))), a=math.sqrt(5), generator=0)
    assert_uniform_within(w.data, 1 / math.sqrt(150))


def test_kaiming_errors_and_empty_tensors():
    with pytest.raises(DomainError, match="fan_avg"):
        init.kaiming_uniform_(Value(np.zeros((2, 3))), mode="fan_avg")
    empty = Value(np.zeros((0, 3)))
    with pytest.warns(UserWarning, match="zero-element"):
        assert init.kaiming_normal_(empty) is empty


def test_constant_ones_zeros_eye_as_torch():
    v = Value(np.ones((3, 4), np.float32))
    assert init.constant_(v, 2.5) is v and v.dtype == np.float32
    np.testing.assert_array_equal(v.data, 2.5)
    np.testing.assert_array_equal(init.zeros_(v).data, 0)
    np.testing.assert_array_equal(init.ones_(v).data, 1)
    for shape in [(3, 4), (4, 3), (2, 2)]:
        np.testing.assert_array_equal(init.eye_(Value(np.zeros(shape))).data,
                                      TI.eye_(torch.empty(shape)).numpy())
    with pytest.raises(ShapeError, match="2 dimensions"):
        init.eye_(Value(np.zeros((2, 2, 2))))


@pytest.mark.parametrize("shape, groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((4, 2, 3, 5), 2),
                                           ((3, 5, 1, 2, 3), 1), ((6, 1, 3), 3), ((2, 6, 3), 1)])
def test_dirac_matches_torch(shape, groups):
    ours = init.dirac_(Value(np.full(shape, 7.0)), groups)
    np.testing.assert_array_equal(ours.data, TI.dirac_(torch.empty(shape), groups).numpy())


def test_dirac_errors():
    with pytest.raises(ShapeError, match="3, 4, or 5"):
        init.dirac_(Value(np.zeros((2, 2))))
    with pytest.raises(ShapeError, match="divisible"):
        init.dirac_(Value(np.zeros((3, 2, 3))), groups=2)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (6, 2, 2), (2, 3, 2, 2)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape, gain):
    v = init.orthogonal_(Value(np.zeros(shape, np.float32)), gain, generator=1)
    assert v.shape == shape and v.dtype == np.float32
    flat = v.data.astype(np.float64).reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-5)
    with pytest.raises(ShapeError, match="2 or more"):
        init.orthogonal_(Value(np.zeros(3)))


def test_sparse_zeroes_a_fraction_of_each_column():
    v = init.sparse_(Value(np.zeros((40, 30))), 0.25, std=0.5, generator=0)
    zeros_per_column = (v.data == 0).sum(axis=0)
    np.testing.assert_array_equal(zeros_per_column, math.ceil(0.25 * 40))
    assert v.data[v.data != 0].std() == pytest.approx(0.5, rel=0.1)


# ---- the course's (shape, rng) initialisers keep their behaviour ---------------------------------
@pytest.mark.parametrize("shape", [(25, 401), (10, 26), (7,)])
def test_course_initializers_unchanged_for_matrices_and_vectors(shape):
    """The same draws, bit for bit, as the formulas they had (a vector is one unit)."""
    fan_in, fan_out = (shape[1], shape[0]) if len(shape) == 2 else (shape[0], 1)
    glorot = math.sqrt(6.0) / math.sqrt(fan_in + fan_out)
    expected = {
        "xavier_uniform": lambda r: r.uniform(-glorot, glorot, size=shape),
        "xavier_normal": lambda r: r.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape),
        "he_uniform": lambda r: r.uniform(-math.sqrt(6.0 / fan_in), math.sqrt(6.0 / fan_in),
                                          size=shape),
        "he_normal": lambda r: r.normal(0.0, math.sqrt(2.0 / fan_in), size=shape),
    }
    for name, draw in expected.items():
        np.testing.assert_array_equal(init.get(name)(shape, np.random.default_rng(0)),
                                      draw(np.random.default_rng(0)))
    assert init.ng_epsilon(400, 25) == pytest.approx(0.12, abs=0.002)


def test_course_initializers_use_torchs_fans_for_conv_shapes():
    shape = (64, 3, 5, 5)
    fan_in, fan_out = torch_fans(shape)  # 75 and 1600
    w = init.xavier_normal(shape, np.random.default_rng(0))
    assert w.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
