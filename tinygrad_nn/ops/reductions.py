"""Reductions over axes: numpy's `axis` and `keepdims` (PyTorch's `dim` and `keepdim` too).

sum, mean, max / amax, min / amin, prod, var, std, norm, logsumexp; standardize (the fused
(x - mean) / sqrt(var + eps) of the normalisation layers); the cumulative cumsum and
cumprod; the masks any and all (0/1, no derivative); argmax and argmin (integers, no gradient).
(This module defines ops named sum, min, max, any and all, which hide Python's built-ins here.)
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..engine import Op
from ..errors import DomainError, ShapeError, UnsupportedTypeError
from ..opinfo import MARGIN, Domain, OpInfo, at_zero
from ._support import _check_axis, _raw, composite
from .comparisons import equal, sign
from .elementwise import abs, exp, rsqrt


# ---- axes and slices -----------------------------------------------------------------------------
def _axes(x: Any, axis: Any) -> tuple:
    """The reduced axes as a sorted tuple of non-negative ints (None: every axis)."""
    ndim = np.ndim(_raw(x))
    if axis is None or ndim == 0:  # a 0-d array takes axis 0 or -1 and has nothing to reduce
        return tuple(range(ndim))
    return tuple(sorted({int(a) % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}))


def _count(x: Any, axis: Any) -> int:
    """How many elements each slice of a reduction of `x` over `axis` holds."""
    shape = np.shape(_raw(x))
    return math.prod(shape[a] for a in _axes(x, axis)) if shape else 1


def _outer(x: Any, axis: Any) -> int:
    """How many slices a reduction of `x` over `axis` has (its output's size)."""
    shape, axes = np.shape(_raw(x)), _axes(x, axis)
    return math.prod(n for k, n in enumerate(shape) if k not in axes)


def _slices(x: np.ndarray, axis: Any) -> np.ndarray:
    """The reduced slices of `x` as the rows of a 2-D array (for the `smooth` conditions)."""
    axes = _axes(x, axis)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    return moved.reshape(-1, math.prod(x.shape[a] for a in axes))


def _apart(x: Any, axis: Any, top: bool) -> bool:
    """Whether, in every slice, the two largest (`top`) or two smallest elements are MARGIN apart:
    where max, min, argmax, argmin (and the inf-norms) have a derivative, or are constant."""
    if type(x) is float or np.ndim(x) == 0:
        return True
    slices = np.sort(_slices(x, axis), axis=1)
    if slices.shape[1] < 2:
        return True
    pair = slices[:, -2:] if top else slices[:, :2]
    return bool((pair[:, 1] - pair[:, 0] >= MARGIN).all())


def _no_low_ties(datas: list, kw: dict) -> bool:
    """Min has a derivative where each reduced slice has a single smallest element."""
    return _apart(datas[0], kw["axis"], top=False)


def _kept(x: Any, axis: Any) -> tuple:
    """The shape of a reduction of `x` over `axis` with keepdims."""
    axes = _axes(x, axis)
    return tuple(1 if k in axes else n for k, n in enumerate(np.shape(_raw(x))))


def _expand(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Bring a reduction's output gradient back to the rank of its input, ready to broadcast."""
    if keepdims or axis is None or type(_raw(x)) is float:
        return g
    return g.reshape(_kept(x, axis))


def _scalar_reduction(name: str) -> Any:
    """A reduction of a Python float: the float itself (along axis 0, -1 or every axis)."""
    def reduce(x: float, *, axis: Any, keepdims: bool) -> float:
        _check_axis(axis, name)
        return x
    return reduce


REDUCTION = {"axis": None, "keepdims": False}

sum = Op("sum",
         lambda x, *, axis, keepdims: np.add.reduce(x, axis=axis, keepdims=keepdims),
         lambda g, out, x, *, axis, keepdims: _expand(g, x, axis, keepdims),
         scalar=lambda x, *, axis, keepdims: float(np.sum(x, axis=axis, keepdims=keepdims)),
         defaults=REDUCTION, methods=("sum",), info=OpInfo("reduction"))


def _mean(x: Any, *, axis: Any, keepdims: bool) -> Any:
    """np.mean, except that the mean of an empty slice is a DomainError (numpy: nan, a warning).
    Only an empty input can have empty slices: the check costs nothing otherwise."""
    if x.size == 0 and _count(x, axis) == 0:
        if _outer(x, axis) > 0:
            raise DomainError(f"mean: the mean of an empty slice is undefined (input shape "
                              f"{np.shape(x)}, axis {axis})")
        return np.sum(x, axis=axis, keepdims=keepdims)  # no slices: an empty result
    return np.mean(x, axis=axis, keepdims=keepdims)


def _mean_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """Each of the n = x.size / out.size elements of a slice gets 1/n of its gradient."""
    size = np.size(_raw(x))
    return None if size == 0 else _expand(g, x, axis, keepdims) * (np.size(_raw(out)) / size)


mean = Op("mean", _mean, _mean_vjp, scalar=_scalar_reduction("mean"),
          defaults=REDUCTION, methods=("mean",), info=OpInfo("reduction"))


def _max_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """The gradient goes to the maximal (for min: minimal) elements; ties share it equally."""
    if type(_raw(x)) is float:
        return g
    hit = equal.of(x, _expand(out, x, axis, keepdims))
    return _expand(g, x, axis, keepdims) * hit / hit.sum(axis=axis, keepdims=True)


def _no_ties(datas: list, kw: dict) -> bool:
    """Max has a derivative where each reduced slice has a single largest element."""
    return _apart(datas[0], kw["axis"], top=True)


max = Op("max",
         lambda x, *, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         _max_vjp,
         defaults=REDUCTION, methods=("max", "amax"),
         info=OpInfo("reduction", domains=(Domain(distinct=True),), smooth=_no_ties))


def _logsumexp(x: Any, *, axis: Any, keepdims: bool) -> Any:
    """log(sum(exp(x))), computed after subtracting the maximum so that nothing overflows."""
    m = x.max(axis=axis, keepdims=True)  # array methods: np.max and friends add a Python layer
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis)


logsumexp = Op("logsumexp", _logsumexp,
               lambda g, out, x, *, axis, keepdims:
               g if type(_raw(x)) is float else
               _expand(g, x, axis, keepdims) * exp.of(x - _expand(out, x, axis, keepdims)),
               scalar=_scalar_reduction("logsumexp"),
               defaults={"axis": -1, "keepdims": False}, methods=("logsumexp",),
               info=OpInfo("reduction"))


def _shifted(v: Any, ax: int, by: int, fill: float) -> Any:
    """`v` moved along axis `ax` so that position j holds v[j + by]; positions that fall off the
    ends hold `fill`. Indexing and a mask: differentiable, and exact (no arithmetic on v)."""
    data = _raw(v)
    n = data.shape[ax]
    j = np.arange(n) + by
    inside = ((j >= 0) & (j < n)).astype(data.dtype).reshape((n,) + (1,) * (data.ndim - ax - 1))
    moved = v[(slice(None),) * ax + (np.clip(j, 0, n - 1),)] * inside
    return moved + (1 - inside) if fill else moved


def _flip(v: Any, ax: int) -> Any:
    return v[(slice(None),) * ax + (slice(None, None, -1),)]


def _along(x: Any, axis: Any) -> int:
    """The axis a cumulative op runs along: numpy flattens the input for axis None (and a 0-d
    input), so that is axis 0 of the output."""
    ndim = np.ndim(_raw(x))
    return 0 if axis is None or ndim == 0 else int(axis) % ndim


# ---- min (max's mirror), prod --------------------------------------------------------------------
min = Op("min",
         lambda x, *, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
         _max_vjp,  # the same rule: the gradient goes to the extremal elements, ties share it
         defaults=REDUCTION, methods=("min", "amin"),
         info=OpInfo("reduction", domains=(Domain(distinct=True),), smooth=_no_low_ties))
amin, amax = min, max


def _prod_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool) -> Any:
    """d prod / d x_i is the product of the other elements of x_i's slice: the product of those
    before it times the product of those after it, two exclusive cumulative products. No
    division, so zeros are exact (one zero: only it gets the others' product; two: all get 0),
    and every step is an op: the second derivative is exact too."""
    data = _raw(x)
    if type(data) is float:
        return g
    axes = _axes(x, axis)
    if not axes:  # nothing multiplied together: the identity
        return g
    if data.size == 0:
        return None
    kept = tuple(k for k in range(data.ndim) if k not in axes)
    order = kept + axes
    rows = x.transpose(order) if order != tuple(range(data.ndim)) else x
    moved_shape = tuple(data.shape[k] for k in order)
    rows = rows.reshape(tuple(data.shape[k] for k in kept) + (_count(x, axis),))
    last = len(kept)
    before = _shifted(cumprod.of(rows, axis=last), last, -1, 1.0)
    after = _flip(_shifted(cumprod.of(_flip(rows, last), axis=last), last, -1, 1.0), last)
    others = (before * after).reshape(moved_shape)
    if order != tuple(range(data.ndim)):
        others = others.transpose(tuple(int(k) for k in np.argsort(order)))
    return _expand(g, x, axis, keepdims) * others


def _zero_or_modest(datas: list, kw: dict) -> bool:
    """Inputs exactly 0 or of magnitude 1e-3 or more. prod and cumprod are smooth everywhere,
    but PyTorch (the tests' oracle) divides by the input and loses products that underflow."""
    x = np.abs(datas[0])
    return bool(((x == 0) | (x >= 1e-3)).all())


prod = Op("prod",
          lambda x, *, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
          _prod_vjp, scalar=_scalar_reduction("prod"),
          defaults=REDUCTION, methods=("prod",),
          info=OpInfo("reduction", domains=(Domain(lo=-2.0, hi=2.0),), smooth=_zero_or_modest))


# ---- cumulative sums and products ----------------------------------------------------------------
def _cumsum_vjp(g: Any, out: Any, x: Any, *, axis: Any) -> Any:
    """Element i adds to every later partial sum: its gradient is the reversed cumulative sum
    of g (g is already flat when axis is None)."""
    if type(_raw(x)) is float:
        return g.sum()
    ax = _along(x, axis)
    return _flip(cumsum.of(_flip(g, ax), axis=ax), ax).reshape(np.shape(_raw(x)))


cumsum: Op = Op("cumsum",
                lambda x, *, axis: np.cumsum(x, axis=axis),
                _cumsum_vjp,
                defaults={"axis": None}, methods=("cumsum",), info=OpInfo("cumulative"))


def _suffix_scan(g: Any, a: Any, ax: int) -> Any:
    """S_j = sum_{i >= j} g_i * a_j * a_{j+1} * ... * a_{i-1} along `ax`, that is the solution of
    S_j = g_j + a_j S_{j+1}, in log2(n) vectorized doubling steps (Hillis-Steele), with
    additions, products and shifts only. After a step of span d, S_j = g_j + a_j S_{j+d} holds
    for the updated g and a (a_j then the product of the d factors after j)."""
    n = _raw(g).shape[ax]
    d = 1
    while d < n:
        g = g + a * _shifted(g, ax, d, 0.0)
        if 2 * d < n:
            a = a * _shifted(a, ax, d, 0.0)
        d *= 2
    return g


def _cumprod_vjp(g: Any, out: Any, x: Any, *, axis: Any) -> Any:
    """y_i = x_0 ... x_i, so d(sum_i g_i y_i)/d x_j = (x_0 ... x_{j-1}) * S_j with
    S_j = sum_{i >= j} g_i x_{j+1} ... x_i: the output shifted by one, times a suffix scan of g.
    No division: exact with zeros, and built of ops, so differentiable again."""
    if type(_raw(x)) is float:
        return g.sum()
    ax = _along(x, axis)
    flat = x.reshape(-1) if axis is None or np.ndim(_raw(x)) == 0 else x  # as the forward saw it
    if np.shape(_raw(flat))[ax] == 0:
        return g.reshape(np.shape(_raw(x)))
    before = _shifted(out, ax, -1, 1.0)
    s = _suffix_scan(g, _shifted(flat, ax, 1, 0.0), ax)
    return (before * s).reshape(np.shape(_raw(x)))


cumprod: Op = Op("cumprod",
                 lambda x, *, axis: np.cumprod(x, axis=axis),
                 _cumprod_vjp,
                 defaults={"axis": None}, methods=("cumprod",),
                 info=OpInfo("cumulative", domains=(Domain(lo=-2.0, hi=2.0),),
                             smooth=_zero_or_modest))


# ---- variance and standard deviation -------------------------------------------------------------
# numpy's default ddof=0 (divide by n) is kept; PyTorch's `correction=` is accepted as another name
# for ddof, but note that torch's default is correction=1 (divide by n - 1), ours 0 as numpy's.
MOMENTS = {"axis": None, "keepdims": False, "ddof": 0, "correction": None}


def _ddof(op: str, x: Any, axis: Any, ddof: Any, correction: Any) -> float:
    """The ddof in force, checked: n - ddof must stay positive (numpy would give nan or inf)."""
    if correction is not None:
        if ddof not in (0, correction):
            raise UnsupportedTypeError(f"{op}: got ddof={ddof} and correction={correction}; "
                                       "they are the same parameter")
        ddof = correction
    n = _count(x, axis)
    if n - ddof <= 0 and _outer(x, axis) > 0:
        raise DomainError(f"{op}: ddof={ddof} leaves no degrees of freedom in slices of {n} "
                          f"element(s) (input shape {np.shape(_raw(x))}, axis {axis})")
    return ddof


def _sum_of_squares(d: np.ndarray, axis: Any) -> np.ndarray:
    """The sum of d² over `axis`, with kept dims: in float64 one einsum, without a buffer of
    squares (3x faster; its plain summation is exact enough there); else numpy's pairwise sum."""
    axes = _axes(d, axis)
    if d.dtype != np.float64 or d.ndim > 26:
        return np.square(d).sum(axis=axis, keepdims=True)
    letters = "abcdefghijklmnopqrstuvwxyz"[:d.ndim]
    kept = "".join(c for k, c in enumerate(letters) if k not in axes)
    return np.einsum(f"{letters},{letters}->{kept}", d, d).reshape(_kept(d, axis))


def _variance(op: str, x: Any, axis: Any, keepdims: bool, ddof: Any, correction: Any) -> Any:
    d = _ddof(op, x, axis, ddof, correction)
    if type(x) is float:
        _check_axis(axis, op)
        return 0.0
    if x.size == 0:
        return np.var(x, axis=axis, ddof=d, keepdims=keepdims)
    # np.var's two passes, with no buffer of squares (see _sum_of_squares)
    out = _sum_of_squares(x - x.mean(axis=axis, keepdims=True), axis) / (_count(x, axis) - d)
    return out if keepdims else out.reshape(tuple(
        size for k, size in enumerate(x.shape) if k not in _axes(x, axis)))


def _var(x: Any, *, axis: Any, keepdims: bool, ddof: Any, correction: Any) -> Any:
    return _variance("var", x, axis, keepdims, ddof, correction)


def _var_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool, ddof: Any,
             correction: Any) -> Any:
    """d var / d x_i = 2 (x_i - mean) / (n - ddof) (the mean's own variation cancels out)."""
    if type(_raw(x)) is float:
        return g * 0.0
    d = _ddof("var", x, axis, ddof, correction)
    centred = x - mean.of(x, axis=axis, keepdims=True)
    return _expand(g, x, axis, keepdims) * centred * (2.0 / (_count(x, axis) - d))


var = Op("var", _var, _var_vjp, defaults=MOMENTS, methods=("var",), info=OpInfo("moments"))


def _std(x: Any, *, axis: Any, keepdims: bool, ddof: Any, correction: Any) -> Any:
    out = _variance("std", x, axis, keepdims, ddof, correction)
    return math.sqrt(out) if type(out) is float else np.sqrt(out)


def _std_vjp(g: Any, out: Any, x: Any, *, axis: Any, keepdims: bool, ddof: Any,
             correction: Any) -> Any:
    """d std / d x_i = (x_i - mean) / ((n - ddof) std): infinite where a slice of two or more
    elements is constant (std 0), a DomainError as for sqrt at 0. A one-element slice has std 0
    whatever its element: gradient 0."""
    n = _count(x, axis)
    if type(_raw(x)) is float or n == 1:
        return _expand(g, x, axis, keepdims) * 0.0
    d = _ddof("std", x, axis, ddof, correction)
    if (np.asarray(_raw(out)) == 0).any():
        raise DomainError(f"std: the derivative is infinite where a slice is constant (std 0), "
                          f"in the input of shape {np.shape(_raw(x))} along axis {axis}")
    centred = x - mean.of(x, axis=axis, keepdims=True)
    return _expand(g, x, axis, keepdims) * centred / (_expand(out, x, axis, keepdims) * (n - d))


def _spread(datas: list, kw: dict) -> bool:
    """std is smooth where no slice of two or more elements is nearly constant."""
    x = datas[0]
    if type(x) is float or _count(x, kw["axis"]) == 1:
        return True
    return bool((np.std(_slices(np.asarray(x), kw["axis"]), axis=1) >= 10 * MARGIN).all())


std = Op("std", _std, _std_vjp, defaults=MOMENTS, methods=("std",),
         info=OpInfo("moments", smooth=_spread))


# ---- standardisation: the normalisation layers' (x - mean) / sqrt(var + eps) --------------------
def _standardize(x: Any, *, axis: Any, eps: float) -> Any:
    """One mean, the deviations from it (the output's buffer), their mean square (the biased
    variance, two-pass so that a large mean costs no accuracy) and one in-place multiply."""
    out = x - _mean(x, axis=axis, keepdims=True)
    if out.size == 0:
        return out
    inv = np.add(_sum_of_squares(out, axis) / _count(x, axis), eps)
    np.sqrt(inv, out=inv)
    np.divide(1.0, inv, out=inv)
    out *= inv
    return out


def _standardize_scalar(x: float, *, axis: Any, eps: float) -> float:
    _check_axis(axis, "standardize")
    return 0.0


def _standardize_vjp(g: Any, out: Any, x: Any, *, axis: Any, eps: float) -> Any:
    """With x̂ = out and inv = rsqrt(var + eps) (recomputed from x, so that higher derivatives
    see its dependence on x): dx = inv (g - mean(g) - x̂ mean(g x̂)), the means over the axes."""
    if type(_raw(x)) is float:
        return g * 0.0
    if np.size(_raw(x)) == 0:
        return None
    inv = rsqrt.of(var.of(x, axis=axis, keepdims=True) + eps)
    return inv * (g - mean.of(g, axis=axis, keepdims=True)
                  - out * mean.of(g * out, axis=axis, keepdims=True))


def _standardize_smooth(datas: list, kw: dict) -> bool:
    """Away from slices of two or more nearly equal elements with a small eps, where the
    derivatives grow as powers of 1 / sqrt(var + eps) (as std's at a constant slice)."""
    x = datas[0]
    if type(x) is float or _count(x, kw["axis"]) == 1:
        return True
    spread = np.var(_slices(np.asarray(x), kw["axis"]), axis=1) + kw["eps"]
    return bool((np.sqrt(spread) >= 10 * MARGIN).all())


standardize = Op("standardize", _standardize, _standardize_vjp, scalar=_standardize_scalar,
                 defaults={"axis": None, "eps": 1e-5}, methods=("standardize",),
                 info=OpInfo("standardize", smooth=_standardize_smooth))


# ---- vector norms --------------------------------------------------------------------------------
def _ord(ord: Any) -> float:
    """ord as a float: None is 2; inf, -inf and any p > 0 are vector norms."""
    try:
        p = 2.0 if ord is None else float(ord)
    except (TypeError, ValueError):  # 'fro', 'nuc': matrix norms, not offered
        p = math.nan
    if not (p > 0 or p == -math.inf):
        raise DomainError(f"norm: ord must be None, inf, -inf or a number > 0; got {ord!r}")
    return p


def _norm_axis(axis: Any) -> None:
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"norm: axis must be an int or None (vector norms only), got {axis!r}")


def _norm(x: Any, *, ord: Any, axis: Any, keepdims: bool) -> Any:
    p = _ord(ord)
    _norm_axis(axis)
    a = np.abs(x)
    if p == 2:
        return np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
    if p == 1:
        return a.sum(axis=axis, keepdims=keepdims)
    if p == math.inf:
        return a.max(axis=axis, keepdims=keepdims)
    if p == -math.inf:
        return a.min(axis=axis, keepdims=keepdims)
    return (a ** p).sum(axis=axis, keepdims=keepdims) ** (1.0 / p)


def _norm_scalar(x: float, *, ord: Any, axis: Any, keepdims: bool) -> float:
    _ord(ord)
    _norm_axis(axis)
    _check_axis(axis, "norm")
    return math.fabs(x)


def _norm_vjp(g: Any, out: Any, x: Any, *, ord: Any, axis: Any, keepdims: bool) -> Any:
    """ord 1: sign(x); inf / -inf: sign(x) at the largest / smallest |x| (ties share it);
    p (2 included): sign(x) |x|^(p-1) / norm^(p-1), undefined where the norm is 0."""
    p = _ord(ord)
    data = _raw(x)
    if p not in (1.0, math.inf, -math.inf):
        if (np.asarray(_raw(out)) == 0).any():
            raise DomainError(f"norm: the derivative is undefined where the norm (ord={ord}) is "
                              f"0, in the input of shape {np.shape(data)} along axis {axis}")
        if p < 1 and (np.asarray(data) == 0).any():
            raise DomainError(f"norm: the derivative is infinite at an element 0 for ord={ord} < 1")
    if type(data) is float:
        return g * sign.of(x)
    g = _expand(g, x, axis, keepdims)
    if p == 1:
        return g * sign.of(x)
    if p in (math.inf, -math.inf):
        hit = equal.of(abs.of(x), _expand(out, x, axis, keepdims))
        return g * sign.of(x) * hit / hit.sum(axis=axis, keepdims=True)
    norm = _expand(out, x, axis, keepdims)
    if p == 2:
        return g * x / norm
    return g * sign.of(x) * abs.of(x) ** (p - 1) / norm ** (p - 1)


def _norm_kinks(kw: dict) -> tuple:
    """|x| has a kink at 0, which every norm but the 2-norm feels elementwise."""
    return () if kw["ord"] in (None, 2) else (0.0,)


def _norm_smooth(datas: list, kw: dict) -> bool:
    """Away from a zero norm, and for inf / -inf without ties for the largest / smallest |x|."""
    x, p = np.abs(datas[0]), _ord(kw["ord"])
    if p in (math.inf, -math.inf) and not _apart(x, kw["axis"], top=p > 0):
        return False
    return bool((np.asarray(_norm(x, ord=p, axis=kw["axis"], keepdims=False)) >= 10 * MARGIN).all())


norm = Op("norm", _norm, _norm_vjp, scalar=_norm_scalar,
          defaults={"ord": None, "axis": None, "keepdims": False}, methods=("norm",),
          info=OpInfo("norm", kinks=_norm_kinks, smooth=_norm_smooth))


# ---- masks: any, all -----------------------------------------------------------------------------
def _mask_reduction(name: str, reduce: Any) -> Op:
    """Whether any / all elements of each slice are nonzero: 0 or 1 in the input's dtype, an op
    without a derivative (as the comparisons), so that (x > 0).any() stays in the graph."""
    def forward(x: Any, *, axis: Any, keepdims: bool) -> Any:
        return reduce(x, axis=axis, keepdims=keepdims).astype(x.dtype)

    def scalar(x: float, *, axis: Any, keepdims: bool) -> float:
        _check_axis(axis, name)
        return float(x != 0)
    return Op(name, forward, None, scalar=scalar, defaults=REDUCTION, methods=(name,),
              info=OpInfo("reduction", kinks=at_zero))


any = _mask_reduction("any", np.any)
all = _mask_reduction("all", np.all)


# ---- argmax, argmin: integer results, no gradient ------------------------------------------------
def _arg(name: str, find: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """numpy's argmax / argmin of a Value's data (or of an array): a Python int, or an array of
    intp with axis or keepdims. The first of tied elements wins, as in numpy and PyTorch."""
    data = _raw(x)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise ShapeError(f"{name}: axis must be an int or None, got {axis!r}")
    if type(data) is float:
        _check_axis(axis, name)
        return 0
    try:
        found = find(np.asarray(data), axis=axis, keepdims=keepdims)
    except ValueError as e:  # an axis out of range, an empty slice
        raise ShapeError(f"{name}: {e} (input shape {np.shape(data)}, axis {axis})") from None
    return int(found) if np.ndim(found) == 0 else found


@composite(methods=("argmax",), info=OpInfo("arg", smooth=_no_ties))
def argmax(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Any:
    """The index of the largest element (flattened when axis is None), as numpy.argmax."""
    return _arg("argmax", np.argmax, x, axis, keepdims)


@composite(methods=("argmin",), info=OpInfo("arg", smooth=_no_low_ties))
def argmin(x: Any, axis: Optional[int] = None, keepdims: bool = False) -> Any:
    """The index of the smallest element (flattened when axis is None), as numpy.argmin."""
    return _arg("argmin", np.argmin, x, axis, keepdims)


def _index_op(name: str, find: Any) -> Op:
    """argmax / argmin as a Value in the data's dtype and without a derivative, so that the
    property tests' random graphs (tinygrad_nn.testing) can use and replay them."""
    return Op(name, lambda x, *, axis, keepdims: np.asarray(_arg(name, find, x, axis, keepdims),
                                                            dtype=x.dtype),
              None, scalar=lambda x, *, axis, keepdims: float(_arg(name, find, x, axis, keepdims)),
              defaults=REDUCTION)


_argmax_value = _index_op("argmax", np.argmax)
_argmin_value = _index_op("argmin", np.argmin)
