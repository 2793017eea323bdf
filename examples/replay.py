"""Record once, replay: train a ReLU network on the bundled digits in mini-batches, once building
the graph at every step and once replaying it from a Tape, and compare losses and time.

The batch lives in two leaves (inputs and one-hot targets), so the recorded graph serves every
batch, including the smaller last one of an epoch.

    python examples/replay.py
"""

import os
import time

import numpy as np

from tinygrad_nn import Tape, Value, softmax_cross_entropy
from tinygrad_nn.data import Standardizer, batches, load_digits, one_hot, train_test_split
from tinygrad_nn.losses import cross_entropy
from tinygrad_nn.nn import MLP
from tinygrad_nn.optim import Adam
from tinygrad_nn.train import accuracy

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))


def train(X: np.ndarray, y: np.ndarray, epochs: int, replay: bool) -> tuple:
    """Adam over shuffled mini-batches of 64; returns the model, each step's loss, the seconds."""
    model = MLP(64, [64, 10], activation="relu", output_activation="linear", seed=0)
    opt = Adam(model.parameters(), lr=3e-3)
    if replay:  # build the graph once, on leaves that will hold each batch in turn
        inputs = Value(X[:64], requires_grad=False)
        targets = Value(one_hot(y[:64], 10), requires_grad=False)
        tape = Tape(softmax_cross_entropy(model(inputs), targets))
    rng = np.random.default_rng(0)
    losses, start = [], time.perf_counter()
    for _ in range(epochs):
        for X_batch, y_batch in batches(X, y, 64, rng=rng):
            opt.zero_grad()
            if replay:
                inputs.data, targets.data = X_batch, one_hot(y_batch, 10)
                loss = tape.forward()
                tape.backward()
            else:
                loss = cross_entropy(model(X_batch), y_batch)
                loss.backward()
            opt.step()
            losses.append(loss.item())
    return model, losses, time.perf_counter() - start


if __name__ == "__main__":
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, stratify=True, seed=0)
    scaler = Standardizer.fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    epochs = 2 if FAST else 20
    built, built_losses, built_seconds = train(X_train, y_train, epochs, replay=False)
    replayed, replayed_losses, replayed_seconds = train(X_train, y_train, epochs, replay=True)
    same = np.allclose(built_losses, replayed_losses, rtol=1e-10)
    print(f"{len(built_losses)} steps; the two runs' losses agree at every step: {same}")
    print(f"building the graph each step: {built_seconds:.2f} s, "
          f"test accuracy {accuracy(built, X_test, y_test):.1%}")
    print(f"replaying it from a Tape:     {replayed_seconds:.2f} s, "
          f"test accuracy {accuracy(replayed, X_test, y_test):.1%}")
    if not same:
        raise SystemExit("replay and rebuilding disagree")
