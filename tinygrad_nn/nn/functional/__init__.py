"""``tinygrad_nn.nn.functional`` (import it as ``F``): the layers as functions, with PyTorch's
names, signatures and semantics, so code written against ``torch.nn.functional`` carries over.
Each is built from the ops of `tinygrad_nn.ops`, so gradients (of any order) come with it.

(Each submodule's names are taken by a star import and listed from its ``__all__``, imported
under another name: some functions share their module's name, ``dropout`` and ``linear``.)"""

from .activation import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv import *  # noqa: F403
from .distance import *  # noqa: F403
from .dropout import *  # noqa: F403
from .linear import *  # noqa: F403
from .loss import *  # noqa: F403
from .normalization import *  # noqa: F403
from .padding import *  # noqa: F403
from .pooling import *  # noqa: F403
from .sparse import *  # noqa: F403
from .vision import *  # noqa: F403
from .activation import __all__ as _activation
from .attention import __all__ as _attention
from .conv import __all__ as _conv
from .distance import __all__ as _distance
from .dropout import __all__ as _dropout
from .linear import __all__ as _linear
from .loss import __all__ as _loss
from .normalization import __all__ as _normalization
from .padding import __all__ as _padding
from .pooling import __all__ as _pooling
from .sparse import __all__ as _sparse
from .vision import __all__ as _vision

__all__ = [*_activation, *_attention, *_conv, *_distance, *_dropout, *_linear, *_loss,
           *_normalization, *_padding, *_pooling, *_sparse, *_vision]
