"""A tour of tinygrad_nn.data: print what each dataset looks like, then prepare the digits.

    python examples/playground_data.py
"""

import numpy as np

from tinygrad_nn import data


def summarize(name: str, X: np.ndarray, y: np.ndarray) -> None:
    counts = ", ".join(f"{c}: {k}" for c, k in zip(*np.unique(y, return_counts=True)))
    print(f"{name:14} X {X.shape} {X.dtype}, values in [{X.min():6.2f}, {X.max():6.2f}]; "
          f"y {y.dtype}, samples per class {{{counts}}}")


print("Playground datasets, 200 points each, noise 0.3, seed 0:")
for name, make in data.PLAYGROUND.items():
    summarize(name, *make(200, noise=0.3, seed=0))

X, y = data.load_digits()
print("\nThe 8x8 digits shipped with the package:")
summarize("digits", X, y)
print(f"sample 0 is a {y[0]}; its 8x8 pixel counts (0..16) drawn with ' .:-=+*#%@':")
shades = np.array(list(" .:-=+*#%@"))
for row in X[0].reshape(8, 8):
    print("    " + "".join(shades[(row * 9 / 16).round().astype(int)].repeat(2)))

X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, stratify=True,
                                                         seed=0)
scaler = data.Standardizer.fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"\nsplit: {len(X_train)} training and {len(X_test)} test samples, standardized with "
      "the training statistics;")
print(f"one-hot targets of the training set: shape {data.one_hot(y_train, 10).shape}; "
      f"batches of 128: {[len(xb) for xb, _ in data.batches(X_train, y_train, 128, seed=0)]}")
