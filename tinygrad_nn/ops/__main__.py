"""`python -m tinygrad_nn.ops`: after adding an op, refresh what type checkers read (Value's
declarations, the package's `__all__`) and the README's list of ops."""

from . import ENGINE, OPS_FILE, README, _rewrite, declarations, exported, oplist

_rewrite(ENGINE, declarations())
_rewrite(OPS_FILE, exported())
if README.exists():
    _rewrite(README, oplist())
