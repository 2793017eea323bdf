"""Training loop and evaluation: `fit` a model with mini-batches, then `predict` and `accuracy`.

Class labels come from the model's outputs in one of two ways:
- K > 1 outputs per sample, shape (n, K): the label is the index of the largest output (argmax);
  targets are integer labels 0..K-1 or one-hot rows.
- one output per sample, shape (n,) or (n, 1): the label is 1 when the output is >= `threshold`,
  else 0. The default 0.5 suits a sigmoid unit (a probability, Ng's ``h >= 0.5``); for a linear
  output (a logit, or an SVM score trained with `losses.hinge`) or a tanh unit, pass
  ``threshold=0.0``. A target counts as class 1 when it is > 0, so 0/1 and -1/+1 labels both work.

Evaluation runs under `no_grad()` with the model in eval mode; each module's mode is restored
afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
import math
from typing import (Any, Callable, Dict, Iterable, Iterator, List, NoReturn, Optional, Protocol,
                    Sequence, Tuple, Union)

import numpy as np

from .engine import Value, no_grad
from .errors import NonFiniteError, ShapeError, UnsupportedTypeError
from .finite import all_finite, check_data, largest, listed, nonfinite_entries, nonfinite_rows
from .losses import one_hot_targets
from .nn import Module
from .nn.utils import clip_grad_norm_, clip_grad_value_
from .optim import checked_loss, progress_bar
from .optim.optimizer import _integer

METRICS = ("accuracy",)
Data = Tuple[np.ndarray, np.ndarray]


class Stepper(Protocol):
    """What `fit` needs from an optimizer (`optim.SGD`, `optim.Adam`, or your own)."""

    def zero_grad(self) -> None: ...

    def step(self) -> None: ...


class Scheduler(Protocol):
    """What `fit` needs from a learning-rate scheduler (`optim.lr_scheduler.StepLR`, ...)."""

    def step(self) -> None: ...


SCHEDULER_STEPS = ("epoch", "batch")


@dataclass
class History:
    """What `fit` recorded, one entry per epoch run (lists stay empty for what was not tracked).

    `loss` and `accuracy` are averaged over the epoch's samples as they were trained on (the
    parameters change during the epoch); `val_loss` and `val_accuracy` are computed on the
    validation data at the end of each epoch. `lr` is the learning rate of the optimizer's first
    parameter group at the epoch's first batch (recorded for optimizers with `param_groups`).
    `best_epoch` is the index into these lists of the best value of `monitor` ("val_loss" when
    there is validation data, else "loss").
    """

    loss: List[float] = field(default_factory=list)
    accuracy: List[float] = field(default_factory=list)
    val_loss: List[float] = field(default_factory=list)
    val_accuracy: List[float] = field(default_factory=list)
    lr: List[float] = field(default_factory=list)
    epochs: int = 0
    best_epoch: Optional[int] = None
    monitor: str = "loss"
    stopped_early: bool = False

    def record(self, logs: Dict[str, float]) -> None:
        for name, value in logs.items():
            getattr(self, name).append(value)
        self.epochs += 1


# ---- labels and evaluation ----------------------------------------------------------------------
@contextmanager
def _mode(model: Module, training: bool) -> Iterator[None]:
    """Put every module in training or eval mode for a while, then restore each one's mode."""
    saved = [(module, module.training) for module in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for module, mode in saved:
            module.training = mode


@contextmanager
def _inference(model: Module) -> Iterator[None]:
    with no_grad(), _mode(model, False):
        yield


def _batch(X: Any, who: str) -> np.ndarray:
    """X as an array of numbers with the samples along its first axis: (n, features), or
    (n, channels, height, width) for a convolutional model, ...; else a clear error."""
    if isinstance(X, Value):
        raise UnsupportedTypeError(f"{who}: X must be a numpy array, not a Value; pass X.numpy()")
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise UnsupportedTypeError(f"{who}: X must hold numbers; got dtype {X.dtype}")
    if X.ndim < 2:
        raise ShapeError(f"{who}: X must be a batch of samples, of shape (n, features) or (n, "
                         f"channels, ...); got shape {X.shape}")
    return X


def _check_data(X: Any, y: Any, who: str) -> Data:
    """X as a batch (see _batch) and y with one target per sample, or a clear error."""
    X, y = _batch(X, who), np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ShapeError(f"{who}: y must have one target per row of X ({len(X)}); "
                         f"got shape {y.shape}")
    if not len(X):
        raise ValueError(f"{who}: X and y are empty")
    return X, y


def _output_array(outputs: Any, n: int, who: str) -> np.ndarray:
    """The model's outputs for n samples as an (n,) or (n, K) array."""
    array = np.asarray(outputs.data if isinstance(outputs, Value) else outputs)
    if array.ndim not in (1, 2) or array.shape[0] != n:
        raise ShapeError(f"{who}: the model gave outputs of shape {array.shape} for {n} samples; "
                         f"expected ({n},) or ({n}, K)")
    return array


def _labels_from_outputs(outputs: np.ndarray, threshold: float) -> np.ndarray:
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    return (outputs.reshape(-1) >= threshold).astype(np.int64)


def _labels_from_targets(y: np.ndarray, outputs: np.ndarray, who: str) -> np.ndarray:
    """Class labels from targets: integer labels or one-hot rows for K outputs (checked as
    losses.cross_entropy checks them), 0/1 or -1/+1 for one output."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        m, k = outputs.shape
        return one_hot_targets(y, m, k, who).argmax(axis=1)
    y = y.reshape(-1)
    if not np.isin(y, (-1, 0, 1)).all():
        raise ValueError(f"{who}: accuracy with one output needs class labels 0/1 or -1/+1; got "
                         f"{y[~np.isin(y, (-1, 0, 1))][0]} (for regression, use metrics=())")
    return (y > 0).astype(np.int64)


def _outputs(model: Module, X: np.ndarray, who: str) -> np.ndarray:
    """The model's outputs for a batch, computed in eval mode without recording a graph."""
    with _inference(model):
        return _output_array(model(X), len(X), who)


def predict(model: Module, X: Any, threshold: float = 0.5) -> np.ndarray:
    """Class labels for a batch X (n samples): argmax over K outputs, or
    ``output >= threshold`` for one output (see the module docstring for which threshold)."""
    return _labels_from_outputs(_outputs(model, _batch(X, "predict"), "predict"), threshold)


def accuracy(model: Module, X: Any, y: Any, threshold: float = 0.5) -> float:
    """The fraction of samples whose predicted label equals the target (integer labels or
    one-hot rows; with one output, targets > 0 are class 1)."""
    X, y = _check_data(X, y, "accuracy")
    return _accuracy(_outputs(model, X, "accuracy"), y, threshold, "accuracy")


def _accuracy(outputs: np.ndarray, y: np.ndarray, threshold: float, who: str) -> float:
    predicted = _labels_from_outputs(outputs, threshold)
    return float(np.mean(predicted == _labels_from_targets(y, outputs, who)))


def _measure(outputs: Value, loss: Value, y: np.ndarray,
             threshold: Optional[float]) -> Dict[str, float]:
    """The loss of a batch and, unless `threshold` is None, its accuracy."""
    logs = {"loss": loss.item()}
    if threshold is not None:
        logs["accuracy"] = _accuracy(_output_array(outputs, len(y), "fit"), y, threshold, "fit")
    return logs


# ---- the training loop --------------------------------------------------------------------------
def _limit(name: str, value: Any) -> Optional[float]:
    """A clipping limit: None, or a number > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not value > 0:
        raise ValueError(f"fit: {name} must be a number > 0 (or None); got {value!r}")
    return float(value)


def _scheduling(scheduler: Any, when: str, optimizer: Stepper
                ) -> Tuple[Optional[Callable[[int], None]], Optional[Callable[[], Any]]]:
    """(a function run before each epoch or batch with its index, one run after it): a
    function schedule sets every group's rate first; a scheduler object steps afterwards."""
    if when not in SCHEDULER_STEPS:
        raise ValueError(f"fit: scheduler_step must be 'epoch' or 'batch'; got {when!r}")
    if scheduler is None:
        return None, None
    if callable(getattr(scheduler, "step", None)):
        return None, scheduler.step
    if not callable(scheduler):
        raise UnsupportedTypeError(f"fit: scheduler must be a learning-rate scheduler (with a "
                                   f"step() method) or a function of the {when} index giving "
                                   f"the rate; got {type(scheduler).__name__}")
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        raise UnsupportedTypeError(f"fit: a scheduler function needs an optimizer with "
                                   f"param_groups; {type(optimizer).__name__} has none")

    def set_rate(index: int) -> None:
        rate = scheduler(index)
        for group in groups:
            group["lr"] = rate
    return set_rate, None


@dataclass
class _Samples:
    """Samples that fit trains or validates on; `rows[i]` is where sample i sits in `source`,
    the array the caller passed ("X" or "validation_data[0]"), for error messages."""

    X: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.X)


def _split(X: np.ndarray, y: np.ndarray, fraction: float, validation_data: Optional[Sequence[Any]],
           rng: np.random.Generator) -> Tuple[_Samples, Optional[_Samples]]:
    """(training samples, validation samples or None): `validation_data` as given, or a random
    `fraction` of the samples held out (random, since datasets often come sorted by class)."""
    everything = np.arange(len(X))
    if validation_data is not None:
        if fraction:
            raise ValueError("fit: give validation_split or validation_data, not both")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("fit: validation_data must be a pair (X_val, y_val)")
        X_val, y_val = validation_data
        X_val, y_val = _check_data(X_val, y_val, "fit (validation_data)")
        check_data("fit", **{"validation_data[0]": X_val, "validation_data[1]": y_val})
        return (_Samples(X, y, everything, "X"),
                _Samples(X_val, y_val, np.arange(len(X_val)), "validation_data[0]"))
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fit: validation_split must lie in [0, 1); got {fraction}")
    if not fraction:
        return _Samples(X, y, everything, "X"), None
    held_out = round(len(X) * fraction)
    if not 0 < held_out < len(X):
        raise ValueError(f"fit: validation_split={fraction} of {len(X)} samples leaves "
                         f"{held_out} for validation and {len(X) - held_out} for training; "
                         "both need at least one")
    order = rng.permutation(len(X))
    train, val = order[held_out:], order[:held_out]
    return _Samples(X[train], y[train], train, "X"), _Samples(X[val], y[val], val, "X")


# ---- non-finite numbers: stop at the first, say where it came from ------------------------------
def _watched(model: Module, optimizer: Stepper) -> List[Tuple[str, Value]]:
    """The parameters a step may change, by name: the model's (dotted names, as in its
    state_dict), then any other trainable one the optimizer holds."""
    named = list(model.named_parameters())
    known = {id(p) for _, p in named}
    held = [p for group in getattr(optimizer, "param_groups", None) or () for p in group["params"]]
    named += [(p.label or f"the optimizer's parameter {i}", p) for i, p in enumerate(held)
              if id(p) not in known and p.requires_grad]
    return named


def _largest(named: Iterable[Tuple[str, Any]]) -> str:
    size, name = largest(named)
    return f"{size:.3g}, in {name}" if name else "0"


def _bad_outputs(outputs: Any, samples: _Samples, rows: np.ndarray,
                 watched: List[Tuple[str, Value]]) -> str:
    """Why a loss is non-finite though the data are finite: the model's outputs (naming the
    rows at fault), or loss_fn itself; with the largest parameter, huge in a diverging run."""
    params = f"the largest parameter is {_largest(watched)}"
    if not isinstance(outputs, Value):
        return f"the model's outputs are a {type(outputs).__name__}, not checked here; {params}"
    if all_finite(outputs):
        return (f"the model's outputs are finite (the largest is "
                f"{largest([('', outputs)])[0]:.3g}), so loss_fn made it (an overflow?); {params}")
    found = ""
    if outputs.ndim and len(outputs) == len(rows):
        bad = samples.rows[rows[nonfinite_rows(outputs)]]
        found = f" for rows {listed(bad)} of {samples.source}"
    return (f"the model's outputs are non-finite{found}, though the data are finite; {params} "
            "(grown huge? lower the learning rate)")


def fit(model: Module, loss_fn: Callable[[Value, np.ndarray], Value], X: Any, y: Any,
        optimizer: Stepper, epochs: int = 10, batch_size: Optional[int] = 32, *,
        shuffle: bool = True, seed: Union[int, np.random.Generator, None] = None,
        validation_split: float = 0.0, validation_data: Optional[Sequence[Any]] = None,
        metrics: Sequence[str] = ("accuracy",), threshold: float = 0.5,
        early_stopping: Optional[int] = None, progress: Optional[bool] = None,
        callback: Optional[Callable[[int, Dict[str, float]], Any]] = None,
        scheduler: Union[Scheduler, Callable[[int], float], None] = None,
        scheduler_step: str = "epoch", clip_grad_norm: Optional[float] = None,
        clip_grad_value: Optional[float] = None) -> History:
    """Train `model` on (X, y) with mini-batches: for each batch, zero the gradients, compute
    ``loss_fn(model(X_batch), y_batch)``, backpropagate and take an optimizer step.

    - `batch_size`: samples per step (the last batch of an epoch may be smaller); None trains
      on the whole set at once.
    - `shuffle` reorders the samples every epoch with a Generator seeded by `seed` (which also
      draws the `validation_split`), so a seeded model and a seed reproduce a run exactly.
    - `validation_split` holds out that fraction of the samples at random; or pass
      `validation_data=(X_val, y_val)`.
    - `metrics`: ``("accuracy",)`` (labels read from outputs with `threshold`, see the module
      docstring) or ``()`` for regression.
    - `early_stopping=patience` stops after `patience` epochs in a row without a new best
      `val_loss` (or `loss` without validation data), then restores the weights the model had at
      the end of the best epoch.
    - `progress`: a tqdm bar showing loss and accuracy, on when stderr is a terminal (None),
      forced on (True) or off (False).
    - `callback(epoch, logs)` runs after each epoch with the values just recorded; `epoch`
      counts from 0, as an index into the History lists.
    - `scheduler`: a learning-rate scheduler (``optim.lr_scheduler.StepLR(optimizer, 10)``),
      stepped after each epoch, or after each batch with ``scheduler_step="batch"`` (as
      `OneCycleLR` needs, with ``steps_per_epoch=math.ceil(n / batch_size)`` for n training
      samples, those left after `validation_split`); or a function of
      the epoch (or batch) index, counting from 0, that returns the learning rate to set in
      every parameter group before that epoch (batch).
    - `clip_grad_value` clips each gradient element into [-v, v], then `clip_grad_norm` scales
      the gradients of all of the model's parameters to a total 2-norm of at most that (see
      `nn.utils`), between backward() and the optimizer's step; so both limits hold.

    Modules are in training mode during the epochs and get their modes back at the end.
    Frozen parameters (``requires_grad=False``) are never changed, even when the optimizer was
    built before they were frozen: the optimizers skip them, so no weight decay or momentum either.

    No NaN or infinity goes unnoticed: fit raises NonFiniteError (a DomainError), naming where
    it came from, when the data hold one (the rows), when a batch's loss is non-finite (the
    epoch and batch, and the rows whose outputs are non-finite), when backward() gives a
    non-finite gradient or a step leaves a parameter non-finite (the parameters), or when the
    validation loss is non-finite. The model then holds the parameters of the last good step, or, when the step
    itself went wrong, those it left (named in the error: undoing a step would mean copying
    every parameter at every step); with `early_stopping`, those of the best epoch so far, as
    after an early stop.
    """
    X, y = _check_data(X, y, "fit")
    epochs = _integer("fit", "epochs", epochs, 1)
    batch_size = len(X) if batch_size is None else _integer("fit", "batch_size", batch_size, 1)
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"fit: unknown metrics {unknown}; available: {list(METRICS)}")
    patience = (None if early_stopping is None
                else _integer("fit", "early_stopping", early_stopping, 1))
    set_rate, step_scheduler = _scheduling(scheduler, scheduler_step, optimizer)
    per_batch = scheduler_step == "batch"
    max_norm, max_value = _limit("clip_grad_norm", clip_grad_norm), \
        _limit("clip_grad_value", clip_grad_value)
    groups = getattr(optimizer, "param_groups", None)
    rng = np.random.default_rng(seed)
    check_data("fit", X=X, y=y)
    train, validation = _split(X, y, validation_split, validation_data, rng)
    scored_threshold = threshold if "accuracy" in metrics else None
    history = History(monitor="loss" if validation is None else "val_loss")
    best, best_state, waited = math.inf, None, 0
    params, watched = model.parameters(), _watched(model, optimizer)
    checked = [p for _, p in watched]
    clipping = max_norm is not None or max_value is not None

    def stop(message: str, stepped: bool = False) -> NoReturn:
        """Raise a non-finite error, leaving the model as fit's docstring says."""
        if best_state is not None:
            model.load_state_dict(best_state)
            kept = f"those of epoch {history.best_epoch}, the best so far (early_stopping)"
        else:
            kept = "those the failed step left" if stepped else "those after the last good step"
        losses = [f"{value:.4g}" for value in history.loss[-5:]]
        so_far = ", ".join(losses if len(history.loss) <= 5 else ["...", *losses]) or "none"
        raise NonFiniteError(f"{message}. The model's parameters are {kept}; the losses of the "
                          f"epochs so far: {so_far}")

    def gradients_finite() -> bool:
        return all(all_finite(p.grad) for p in checked if p.grad is not None)

    def bad_gradients(where: str, loss: Value, done: str) -> str:
        broken = ", ".join(nonfinite_entries((name, p.grad) for name, p in watched))
        return (f"{where}: the loss {loss.item():.6g} is finite but backward() gave non-finite "
                f"gradients to {broken}, {done} (an op at the edge of its domain, or an "
                "overflow)")

    def train_epoch(bar: Any, epoch: int) -> Dict[str, float]:
        order = rng.permutation(len(train)) if shuffle else np.arange(len(train))
        totals: Dict[str, float] = {}
        rate = None
        for batch, start in enumerate(range(0, len(train), batch_size)):
            if set_rate is not None and (per_batch or batch == 0):
                set_rate(epoch * batches + batch if per_batch else epoch)
            if batch == 0 and groups:
                rate = float(groups[0]["lr"])
            rows = order[start:start + batch_size]
            where = f"fit: epoch {epoch}, batch {batch} (counting from 0)"
            optimizer.zero_grad()
            outputs = model(train.X[rows])
            loss = checked_loss(loss_fn(outputs, train.y[rows]), "fit")
            if not all_finite(loss):
                stop(f"{where}: the loss is {loss.item()}, so its step was not taken; "
                     + _bad_outputs(outputs, train, rows, watched))
            loss.backward()
            if clipping and not gradients_finite():  # clipping could turn inf into a number
                stop(bad_gradients(where, loss, "so the step was not taken"))
            if max_value is not None:
                clip_grad_value_(params, max_value)
            if max_norm is not None:
                clip_grad_norm_(params, max_norm)
            optimizer.step()
            if not all(all_finite(p) for p in checked):  # a non-finite gradient shows here too
                broken = ", ".join(nonfinite_entries(watched))
                if not gradients_finite():
                    stop(bad_gradients(where, loss, f"and the step made {broken} non-finite"),
                         stepped=True)
                rates = f" (lr={groups[0]['lr']:.3g})" if groups else ""
                stop(f"{where}: the optimizer's step made {broken} non-finite from finite "
                     f"gradients (the largest is {_largest((n, p.grad) for n, p in watched)}); "
                     f"too large a learning rate{rates}?", stepped=True)
            if step_scheduler is not None and per_batch:
                step_scheduler()
            for name, value in _measure(outputs, loss, train.y[rows], scored_threshold).items():
                totals[name] = totals.get(name, 0.0) + value * len(rows)
            bar.update(1)
        if step_scheduler is not None and not per_batch:
            step_scheduler()
        logs = {name: total / len(train) for name, total in totals.items()}
        if rate is not None:
            logs["lr"] = rate
        return logs

    def validate(data: _Samples, epoch: int) -> Dict[str, float]:
        with _inference(model):
            outputs = model(data.X)
            loss = checked_loss(loss_fn(outputs, data.y), "fit (validation)")
            if not all_finite(loss):
                stop(f"fit: the validation loss after epoch {epoch} (counting from 0) is "
                     f"{loss.item()}; " + _bad_outputs(outputs, data, np.arange(len(data)),
                                                      watched))
            logs = _measure(outputs, loss, data.y, scored_threshold)
        return {"val_" + name: value for name, value in logs.items()}

    batches = math.ceil(len(train) / batch_size)
    with _mode(model, True), progress_bar(progress, total=epochs * batches, unit="batch") as bar:
        for epoch in range(epochs):
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            logs = train_epoch(bar, epoch)
            if validation is not None:
                logs.update(validate(validation, epoch))
            history.record(logs)
            bar.set_postfix(logs)
            if callback is not None:
                callback(epoch, logs)
            if logs[history.monitor] < best:
                best, history.best_epoch, waited = logs[history.monitor], epoch, 0
                if patience is not None:
                    best_state = model.state_dict()
            else:
                waited += 1
                if patience is not None and waited >= patience:
                    history.stopped_early = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
