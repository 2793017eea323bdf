"""Optimizers: turn the gradients that backward() left in `.grad` into better parameters.

- `SGD`, `Adam`, `AdamW`, `RMSprop` and `Adagrad` (optimizers.py, on the `Optimizer` base of
  optimizer.py, with torch's parameter groups) take one step per call of `step()`, for
  mini-batch training (see `train.fit`), with PyTorch's update rules, so a run can be checked
  step by step against torch.optim.
- `lr_scheduler` (``tinygrad_nn.optim.lr_scheduler.StepLR``, ...): torch's learning-rate
  schedules.
- `minimize` (full_batch.py) hands the whole problem to scipy.optimize (L-BFGS-B, CG, ...):
  full-batch training, the counterpart of the course's ``fmincg``.
"""

from . import lr_scheduler
from .full_batch import GRADIENT_METHODS, checked_loss, minimize, progress_bar
from .optimizer import Optimizer, check_params
from .optimizers import SGD, Adagrad, Adam, AdamW, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "minimize",
           "GRADIENT_METHODS", "check_params", "checked_loss", "progress_bar"]
