"""``tinygrad_nn.nn.functional`` (import it as ``F``): the layers as functions, with PyTorch's
names, signatures and semantics, so code written against ``torch.nn.functional`` carries over.
Each is built from the ops of `tinygrad_nn.ops`, so gradients (of any order) come with it."""

from ...ops import linear
from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .dropout import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from . import activation, attention, conv, loss, normalization, pooling, sparse
from .dropout import __all__ as _dropout_all  # (the name `dropout` is the function F.dropout)

__all__ = ["linear", *activation.__all__, *attention.__all__, *conv.__all__, *_dropout_all,
           *loss.__all__, *normalization.__all__, *pooling.__all__, *sparse.__all__]
