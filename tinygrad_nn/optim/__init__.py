"""Optimizers: turn the gradients that backward() left in `.grad` into better parameters.

- `SGD` and `Adam` (optimizers.py) take one step per call of `step()`, for mini-batch training
  (see `train.fit`), with PyTorch's update rules, so a run can be checked step by step against
  torch.optim.
- `minimize` hands the whole problem to scipy.optimize (L-BFGS-B, CG, ...): full-batch training,
  the counterpart of the course's ``fmincg``.
"""

from .optimizers import (GRADIENT_METHODS, SGD, Adam, Optimizer, check_params, checked_loss,
                         minimize, progress_bar)

__all__ = ["Optimizer", "SGD", "Adam", "minimize", "GRADIENT_METHODS", "check_params",
           "checked_loss", "progress_bar"]
