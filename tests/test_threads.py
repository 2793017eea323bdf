"""Grad mode is per thread, and backward() calls from several threads add up exactly."""

import threading

import numpy as np
import pytest

from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import SGD
from tinygrad_nn import Value, enable_grad, is_grad_enabled, no_grad


def _in_thread(fn):
    """Run fn in a new thread; return its result (or raise its exception here)."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as e:  # pragma: no cover - re-raised below
            box["error"] = e
    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert not t.is_alive()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def test_no_grad_in_another_thread_leaves_this_one_recording():
    entered, release = threading.Event(), threading.Event()

    def background_metrics():
        with no_grad():
            entered.set()
            release.wait(10)
            return is_grad_enabled()
    t = threading.Thread(target=background_metrics)
    t.start()
    try:
        assert entered.wait(10)
        x = Value(3.0)
        y = x * x
        assert is_grad_enabled() and y.requires_grad and y._prev == (x, x)
        y.backward()
        assert x.grad == 6.0
    finally:
        release.set()
        t.join(10)


def test_a_new_thread_starts_with_gradients_on_even_inside_no_grad():
    with no_grad():
        assert _in_thread(is_grad_enabled) is True
        assert not is_grad_enabled()
    assert is_grad_enabled()


@pytest.mark.parametrize("shared_instance", [False, True])
def test_overlapping_no_grad_blocks_in_two_threads_leave_gradients_on(shared_instance):
    # Thread A enters, thread B enters, A leaves, B leaves: the interleaving that left a
    # process-wide flag off for good. Each thread must end as it began, whatever the instance.
    block = no_grad()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with block if shared_instance else no_grad():
            a_in.set()
            b_in.wait(10)
        a_out.set()
        seen["a"] = is_grad_enabled()

    def b():
        a_in.wait(10)
        with block if shared_instance else no_grad():
            b_in.set()
            a_out.wait(10)
            seen["b inside"] = is_grad_enabled()
        seen["b"] = is_grad_enabled()
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"a": True, "b inside": False, "b": True}
    assert is_grad_enabled()


def test_nested_blocks_in_one_thread_restore_each_level():
    block = no_grad()
    with block:
        with enable_grad():
            assert is_grad_enabled()
            with block:  # the same instance entered twice
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


@pytest.mark.parametrize("threads,calls", [(2, 50), (4, 25)])
def test_concurrent_backward_into_one_array_leaf_loses_no_update(threads, calls):
    # Large enough that numpy releases the GIL inside `grad += g`: the race lost updates.
    w = Value(np.ones(200_000))
    start = threading.Barrier(threads)

    def work():
        start.wait(10)
        for _ in range(calls):
            (w * 2.0).sum().backward()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    np.testing.assert_array_equal(w.grad, np.full(200_000, 2.0 * threads * calls))


def test_concurrent_backward_into_one_scalar_leaf_loses_no_update():
    w = Value(1.5)
    threads, calls = 4, 300
    start = threading.Barrier(threads)

    def work():
        start.wait(10)
        for _ in range(calls):
            (w * w + w).backward()  # d/dw = 2w + 1 = 4
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert w.grad == 4.0 * threads * calls


def test_threads_training_their_own_models_get_what_one_thread_gets():
    def train(seed):
        model = MLP(3, [4, 1], "tanh", output_activation="linear", seed=seed)
        rng = np.random.default_rng(seed)
        X, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
        opt = SGD(model.parameters(), lr=0.1)
        for _ in range(20):
            opt.zero_grad()
            loss = ((model(X) - y) ** 2).mean()
            loss.backward()
            opt.step()
            with no_grad():  # metrics, as a training loop computes them
                model(X)
        return [p.data.copy() for p in model.parameters()]
    alone = [train(s) for s in range(4)]
    results = [None] * 4

    def run(s):
        results[s] = train(s)
    pool = [threading.Thread(target=run, args=(s,)) for s in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    for a, b in zip(alone, results):
        for pa, pb in zip(a, b):
            np.testing.assert_array_equal(pa, pb)
