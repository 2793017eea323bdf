"""Cases found by a review of the trust promises (issue 14), each once a silent wrong number, a
false alarm or a mode left on; each now right or refused, and checked against torch where it
has an answer."""

import threading

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import (BackwardError, NonFiniteError, Op, ShapeError, UnsupportedTypeError,
                         Value, detect_anomaly, no_grad)
from tinygrad_nn import nn
from tinygrad_nn.engine import _MODE
from tinygrad_nn.optim import SGD


def test_grad_runs_the_hook_of_the_value_it_differentiates_by():
    x = Value(np.array([1.0, 2.0]))
    h = x * 3
    calls = []
    h.register_hook(lambda g: calls.append(1) or g * 10)
    (gh,) = tg.grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh.data, [60.0, 120.0])  # torch: [60, 120], hook once
    assert calls == [1]


def test_a_backward_started_by_a_hook_is_refused_instead_of_corrupting_the_outer_one():
    w = Value(np.array([1.0, 2.0]))
    s = w * 2
    a, b = s * 3, s * 5
    with a.register_hook(lambda g: b.sum().backward()):
        with pytest.raises(BackwardError, match="inside another backward"):
            (a.sum() + 0).backward()
    w.grad[...] = 0
    (a.sum() + b.sum()).backward()  # and the engine is usable afterwards
    np.testing.assert_array_equal(w.grad, [16.0, 16.0])


def test_an_index_value_modified_after_use_is_caught():
    x = Value(np.arange(5.0))
    idx = Value(np.array([0.0, 1.0]), requires_grad=False)
    y = x[idx]
    idx.data = np.array([2.0, 3.0])
    with pytest.raises(BackwardError, match="among the parameters"):
        y.sum().backward()


def test_detach_of_a_parameter_is_a_snapshot_the_step_does_not_change():
    w = Value(np.array([1.0, 2.0]))
    x = Value(np.array([3.0, 4.0]))
    opt = SGD([w], lr=1.0)
    (w * w).sum().backward()
    loss = (w.detach() * x).sum()
    opt.step()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])  # the values the forward used


def test_batchnorm_reset_parameters_counts_as_a_modification():
    bn = nn.BatchNorm1d(3)
    bn.weight.data = np.array([2.0, 3.0, 4.0])
    x = Value(np.random.default_rng(0).standard_normal((4, 3)))
    y = bn(x)
    bn.reset_parameters()
    with pytest.raises(BackwardError, match="modified"):
        y.sum().backward()


def test_a_transposed_gradient_for_a_row_vector_is_refused():
    double_t = Op("double_t", lambda x: 2 * x, lambda g, out, x: (2 * g).T, scalar=False)
    x = Value(np.array([[1.0, 2.0, 3.0]]))
    with pytest.raises(ShapeError, match=r"double_t: the VJP for input 0 gave a gradient of "
                                         r"shape \(3, 1\)"):
        (double_t(x) * np.array([[1.0, 2.0, 3.0]])).sum().backward()


def test_broadcasting_is_still_undone():
    a, b = Value(np.ones((3, 1))), Value(np.ones((1, 4)))
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((1, 4), 3.0))


def test_a_fill_value_that_needs_a_gradient_is_refused_not_given_zero():
    x = Value(np.arange(4.0))
    v = Value(2.0)
    with pytest.raises(UnsupportedTypeError, match="masked_fill: its parameter 'value'"):
        x.masked_fill(np.array([True, False, True, False]), v)
    x.masked_fill(np.array([True, False, True, False]), v.detach())  # a constant is fine


def test_anomaly_mode_sees_a_nan_made_when_a_broadcast_gradient_is_summed():
    x = Value(np.array([1e-300]))
    with detect_anomaly(check_inf=False), np.errstate(all="ignore"):
        with pytest.raises(NonFiniteError, match="NaN"):
            ((x * np.array([1e200, -1e200])) * 1e200).sum().backward()
    x2 = Value(np.array([1e-300]))
    with detect_anomaly(check_inf=False), np.errstate(all="ignore"):
        y = ((x2 * np.array([1e200, -1e200])) * 1e200).sum()
        with pytest.raises(NonFiniteError, match="NaN"):
            tg.grad(y, x2)


def test_an_embedding_with_max_norm_used_twice_trains_as_in_torch():
    emb = nn.Embedding(10, 3, max_norm=100.0)  # no row needs renormalising
    (emb(np.array([1, 2])).sum() + emb(np.array([3, 4])).sum()).backward()
    assert emb.weight.grad.sum() == 12.0


def test_no_grad_decorates_generator_functions_step_by_step():
    @no_grad()
    def doubled(x):
        yield x * 2
        yield x * 3
    values = list(doubled(Value(np.ones(2))))
    assert [v.requires_grad for v in values] == [False, False]
    assert tg.is_grad_enabled()


def test_one_anomaly_instance_entered_twice_and_across_threads_leaves_each_thread_as_it_was():
    d = detect_anomaly()
    with d:
        with d:
            pass
        assert _MODE.anomaly is d
    assert _MODE.anomaly is None and _MODE.plain
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def other():
        with detect_anomaly() as mine:
            with d:
                inside.set()
                release.wait(10)
            seen["after"] = _MODE.anomaly is mine
    t = threading.Thread(target=other)
    with d:
        t.start()
        assert inside.wait(10)
    release.set()
    t.join(10)
    assert seen == {"after": True} and _MODE.anomaly is None


def test_assigning_the_data_of_a_computed_value_is_refused():
    x = Value(np.array([1.0, 2.0]))
    h = x.exp()
    with pytest.raises(UnsupportedTypeError, match="computed by exp"):
        h.data = np.zeros(2)
    d = h.detach()
    d.data = np.zeros(2)  # a detached copy is a leaf: fine


# ---- the second review: files, losses, keys ------------------------------------------------
def test_csv_labels_too_large_for_exact_integers_stay_floats(tmp_path):
    from tinygrad_nn import data
    path = tmp_path / "big.csv"
    path.write_text("1,2,1e20\n3,4,5\n")
    X, y = data.load_csv(path)
    assert y.dtype == np.float64 and y.tolist() == [1e20, 5.0]
    path.write_text("1,2,7\n3,4,5\n")
    assert data.load_csv(path)[1].dtype == np.int64


def test_an_npz_entry_compressed_with_bzip2_is_refused_before_anything_is_allocated(tmp_path):
    import io
    import zipfile
    from tinygrad_nn import FileFormatError, load
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros(10))
    path = tmp_path / "bz.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("w.npy", buffer.getvalue())
    with pytest.raises(FileFormatError, match="zip method 12"):
        load(path)


def test_logistic_cost_refuses_outputs_that_are_not_probabilities():
    from tinygrad_nn import DomainError
    from tinygrad_nn.losses import logistic_cost
    for bad in ([1.5, 0.2], [-0.5, 0.2], [np.nan, 0.5]):
        with pytest.raises(DomainError, match=r"logistic_cost: outputs must lie in \[0, 1\] "
                                              r"\(probabilities, as a sigmoid gives\)"):
            logistic_cost(np.array(bad), np.array([1, 0]))


def test_argsort_positions_index_even_when_they_are_all_0s_and_1s():
    x = Value(np.array([3.0, 1.0]))
    np.testing.assert_array_equal(x[x.argsort()].data, [1.0, 3.0])


def test_a_float_index_of_2_to_the_63_is_refused_not_wrapped():
    from tinygrad_nn import InvalidIndexError
    with pytest.raises(InvalidIndexError, match="whole numbers"):
        Value(np.arange(3.0))[Value(np.array([2.0 ** 63]), requires_grad=False)]
