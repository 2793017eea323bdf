"""Neural-network modules, with PyTorch's names and semantics (``tinygrad_nn.nn`` reads like
``torch.nn``), and the course's own network model.

- `Module`, `Parameter` and the containers `Sequential`, `ModuleList`, `ModuleDict` (module.py);
- the course's logistic unit `Neuron`, its `Layer` of units and `MLP` (course.py);
- `Linear`, `Flatten` (linear.py) and one module per kind of layer, as torch.nn has them:
  convolutions (conv.py), pooling, dropout, normalisation, padding, `Embedding` (sparse.py),
  attention, transformer layers, recurrent layers (rnn.py), upsampling, pixel shuffling,
  distances, activation modules (activation.py) and loss modules (loss.py);
- `functional` (``from tinygrad_nn.nn import functional as F``): the same layers as functions;
- `init`: the weight initialisers, torch's in-place ones (``init.kaiming_uniform_``) included;
- `utils`: gradient clipping, parameters as one vector.

(Each module's names come by a star import and are listed from its ``__all__``, imported under
another name so that no module name is shadowed.)
"""

from .. import init
from . import functional, utils
from .course import ACTIVATIONS, MLP, Layer, Neuron, activation_fn
from .linear import Flatten, Identity, Linear, Unflatten
from .module import (Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList,
                     Sequential)
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pixelshuffle import *  # noqa: F403
from .pooling import *  # noqa: F403
from .rnn import *  # noqa: F403
from .sparse import *  # noqa: F403
from .transformer import *  # noqa: F403
from .upsampling import *  # noqa: F403
from .activation import __all__ as _activation
from .attention import __all__ as _attention
from .conv import __all__ as _conv
from .distance import __all__ as _distance
from .dropout import __all__ as _dropout
from .loss import __all__ as _loss
from .normalization import __all__ as _normalization
from .padding import __all__ as _padding
from .pixelshuffle import __all__ as _pixelshuffle
from .pooling import __all__ as _pooling
from .rnn import __all__ as _rnn
from .sparse import __all__ as _sparse
from .transformer import __all__ as _transformer
from .upsampling import __all__ as _upsampling

__all__ = ["Module", "ModuleList", "ModuleDict", "Sequential", "Parameter", "ParameterList",
           "ParameterDict", "Neuron", "Layer",
           "MLP", "ACTIVATIONS", "activation_fn", "Linear", "Identity", "Flatten", "Unflatten",
           "functional", "init", "utils", *_activation, *_attention, *_conv, *_distance, *_dropout,
           *_loss, *_normalization, *_padding, *_pixelshuffle, *_pooling, *_rnn, *_sparse,
           *_transformer, *_upsampling]
