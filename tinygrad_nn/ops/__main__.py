"""`python -m tinygrad_nn.ops`: after adding an op, refresh what type checkers read."""

from . import ENGINE, OPS_FILE, _rewrite, declarations, exported

_rewrite(ENGINE, declarations())
_rewrite(OPS_FILE, exported())
