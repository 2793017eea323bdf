"""Neural-network modules, with PyTorch's names and semantics (``tinygrad_nn.nn`` reads like
``torch.nn``), and the course's own network model.

- `Module` and the containers `Sequential`, `ModuleList`, `ModuleDict` (module.py);
- the course's logistic unit `Neuron`, its `Layer` of units and `MLP` (course.py);
- `Linear`, `Flatten` (linear.py), convolutions (conv.py), pooling (pooling.py), dropout
  (dropout.py), normalisation (normalization.py), `Embedding` (sparse.py), attention
  (attention.py), activation modules (activation.py) and loss modules (loss.py);
- `functional` (``from tinygrad_nn.nn import functional as F``): the same layers as functions;
- `init`: the weight initialisers, torch's in-place ones (``init.kaiming_uniform_``) included.
"""

from .. import init
from . import functional
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .course import ACTIVATIONS, MLP, Layer, Neuron, activation_fn
from .dropout import *  # noqa: F403
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import *  # noqa: F403
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from . import activation, attention, conv, dropout, loss, normalization, pooling, sparse
from . import utils

__all__ = ["Module", "ModuleList", "ModuleDict", "Sequential", "Parameter", "Neuron", "Layer",
           "MLP", "ACTIVATIONS", "activation_fn", "Linear", "Identity", "Flatten", "Unflatten",
           "functional", "init", "utils",
           *activation.__all__, *attention.__all__, *conv.__all__, *dropout.__all__,
           *loss.__all__, *normalization.__all__, *pooling.__all__, *sparse.__all__]
