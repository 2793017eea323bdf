"""A small convolutional network on the bundled 8x8 handwritten digits, written as in PyTorch:

    Conv2d(1->16, 3x3, padding 1) - BatchNorm2d - ReLU
    - Conv2d(16->32, 3x3, padding 1) - BatchNorm2d - ReLU - MaxPool2d(2)
    - Flatten - Dropout(0.25) - Linear(512->64) - ReLU - Linear(64->10)

trained with AdamW and a cosine learning-rate schedule on 80 % of the 1797 images, then tested on
the held-out 20 %.

    python examples/cnn_digits.py            # about 8 s; 98.6-99.4 % held-out accuracy (seeds 0-4)
    python examples/cnn_digits.py --epochs 3
"""

import argparse
import os

import tinygrad_nn as tg
from tinygrad_nn import nn
from tinygrad_nn.data import load_digits, train_test_split
from tinygrad_nn.nn import functional as F
from tinygrad_nn.optim import AdamW
from tinygrad_nn.optim.lr_scheduler import CosineAnnealingLR
from tinygrad_nn.train import accuracy, fit

FAST = bool(os.environ.get("TINYGRAD_NN_FAST"))


def build_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def main(epochs: int = 15, seed: int = 0) -> float:
    """Train the network; returns its held-out accuracy."""
    X, y = load_digits()
    images = X.reshape(-1, 1, 8, 8) / 16.0  # (n, channels, height, width), pixels in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(images, y, 0.2, stratify=True, seed=seed)
    tg.manual_seed(seed)  # the initial weights and the dropout masks
    model = build_model()
    optimizer = AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    history = fit(model, F.cross_entropy, X_train, y_train, optimizer, epochs=epochs,
                  batch_size=32, seed=seed, scheduler=CosineAnnealingLR(optimizer, T_max=epochs))
    score = accuracy(model, X_test, y_test)
    print(f"{model.num_parameters()} parameters, {epochs} epochs: training loss "
          f"{history.loss[0]:.3f} -> {history.loss[-1]:.3f}, held-out accuracy {score:.1%} "
          f"on {len(X_test)} images")
    return score


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2 if FAST else 15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.seed)
