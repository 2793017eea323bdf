"""Linear algebra: matrix products and contractions (einsum and the products built on it)."""

from __future__ import annotations

import functools
import math
import string
from typing import Any, Sequence

import numpy as np

from ..engine import REQUIRED, Op, Value, identity_vjp
from ..errors import ShapeError, UnsupportedTypeError
from ..opinfo import OpInfo
from ._support import _raw, composite
from .elementwise import mul
from .shape import reshape, transpose


def _matmul(a: Any, b: Any) -> Any:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"@: both operands need at least one dimension; got shapes "
                         f"{np.shape(a)} and {np.shape(b)} (use * to scale)")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ShapeError(f"@: shapes {a.shape} and {b.shape} do not line up: {a.shape[-1]} "
                         f"(last axis of the left) != {b.shape[0 if b.ndim == 1 else -2]} "
                         f"({'only' if b.ndim == 1 else 'second to last'} axis of the right)")
    # np.dot for matrices: numpy's @ does not call BLAS when the inner axis has length 1
    return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b


def _swap_last(x: Any) -> Any:
    """A (batch of) matrices transposed."""
    n = x.ndim
    return transpose.of(x, axes=(*range(n - 2), n - 1, n - 2))


def _as_matrices(g: Any, a: Any, b: Any) -> tuple:
    """View 1-D matmul operands as matrices (a as one row, b as one column), and g to match."""
    if b.ndim == 1:
        b, g = b.reshape(-1, 1), g[..., None]
    if a.ndim == 1:
        a, g = a.reshape(1, -1), g[..., None, :]
    return g, a, b


def _matmul_vjp_a(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return g @ b.T
    g2, _, b2 = _as_matrices(g, a, b)
    ga = g2 @ _swap_last(b2)
    return ga[..., 0, :] if a.ndim == 1 else ga


def _matmul_vjp_b(g: Any, out: Any, a: Any, b: Any) -> Any:
    if a.ndim == 2 and b.ndim == 2:
        return matmul.of(a.T, g)  # np.dot, even for an inner axis of length 1 (batch 1)
    g2, a2, _ = _as_matrices(g, a, b)
    gb = _swap_last(a2) @ g2
    return gb[..., 0] if b.ndim == 1 else gb


matmul = Op("@", _matmul, _matmul_vjp_a, _matmul_vjp_b, scalar=False,
            operators=("__matmul__", "__rmatmul__"), info=OpInfo("matmul", min_dims=1))


def _linear(x: Any, w: Any, b: Any) -> Any:
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: the input's last axis must have {w.shape[1]} features to match "
                         f"the weights {w.shape}; got an input of shape {np.shape(x)}")
    return x @ w.T + b


def _linear_vjp_w(g: Any, out: Any, x: Any, w: Any, b: Any) -> Any:
    nout, nin = w.shape
    if x.ndim == 1:
        return g.reshape(nout, 1) * x
    return matmul.of(g.reshape(-1, nout).T, x.reshape(-1, nin))  # np.dot on raw data: BLAS


# x @ W.T + b as one node: a layer of units, with weights W of shape (nout, nin). Fusing saves a
# node and a broadcast, and the batch (a constant) costs no gradient work at all.
linear = Op("linear", _linear,
            lambda g, out, x, w, b: g @ w,
            _linear_vjp_w,
            identity_vjp,  # the engine sums g over the batch to b's shape
            scalar=False, info=OpInfo("linear", min_dims=1))


# ---- einsum: one op for every contraction ------------------------------------------------------
# The op computes on explicit subscripts of letters only ("ab,bc->ac"): the public `einsum`
# writes numpy's full language (implicit output, "...") out that way first, so that the op and
# its VJP deal with one form. Forward: np.einsum(optimize=True), numpy's optimized contraction
# path (pairwise, through BLAS where it can).
_LETTERS = string.ascii_letters


def _einsum_forward(*xs: Any, subscripts: str) -> Any:
    return np.einsum(subscripts, *xs, optimize=True)


@functools.lru_cache(maxsize=1024)
def _einsum_vjp_plan(subscripts: str, i: int) -> tuple:
    """How the gradient for operand i is itself an einsum: of g (the output's labels) with the
    other operands, to operand i's labels. A label repeated in operand i (a diagonal) gets a
    fresh letter and an identity matrix tying it to the first; a label found in operand i only
    (summed there) gets a vector of ones, which spreads g over it. Returns the subscripts and
    the positions in operand i whose sizes the identities and the ones take."""
    lhs, out = subscripts.split("->")
    terms = lhs.split(",")
    others = terms[:i] + terms[i + 1:]
    fresh = iter(c for c in _LETTERS if c not in subscripts)
    labels, eyes, first = [], [], {}
    for p, c in enumerate(terms[i]):
        if c in first:
            new = next(fresh, None)
            if new is None:
                raise ShapeError(f"einsum: too many labels in {subscripts!r} to differentiate")
            labels.append(new)
            eyes.append((c + new, p))
        else:
            first[c] = p
            labels.append(c)
    present = set(out).union(*others, *[e for e, _ in eyes])
    ones = [(c, p) for c, p in first.items() if c not in present]
    inputs = [out, *others, *[e for e, _ in eyes], *[c for c, _ in ones]]
    return (",".join(inputs) + "->" + "".join(labels), tuple(p for _, p in eyes),
            tuple(p for _, p in ones))


def _einsum_vjp(wanted: Sequence[int], g: Any, out: Any, xs: Sequence[Any], *,
                subscripts: str) -> list:
    grads = []
    for i in wanted:
        plan, eyes, ones = _einsum_vjp_plan(subscripts, i)
        shape, dtype = np.shape(_raw(xs[i])), _raw(g).dtype
        constants = [np.eye(shape[p], dtype=dtype) for p in eyes] + \
            [np.ones(shape[p], dtype=dtype) for p in ones]
        grads.append(_einsum_op.of([g, *xs[:i], *xs[i + 1:], *constants], subscripts=plan))
    return grads


_einsum_op = Op("einsum", _einsum_forward, _einsum_vjp, scalar=False,
                defaults={"subscripts": REQUIRED}, variadic=True)


def _contract(subscripts: str, *xs: Any) -> Value:
    """The einsum op on explicit subscripts: one node."""
    return _einsum_op(list(xs), subscripts=subscripts)


@functools.lru_cache(maxsize=1024)
def _explicit(subscripts: str, shapes: tuple) -> str:
    """numpy's einsum subscripts for operands of these shapes, written out: every '...' becomes
    letters of its own (right-aligned, so that the ellipses broadcast as numpy arrays do) and
    an implicit output becomes explicit (the ellipsis, then the labels used once, sorted)."""
    def fail(reason: str) -> ShapeError:
        return ShapeError(f"einsum: {reason} (subscripts {subscripts!r}, operand shapes "
                          f"{', '.join(map(str, shapes))})")
    text = subscripts.replace(" ", "")
    if text.count("->") > 1:
        raise fail("more than one '->'")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise fail(f"the subscripts name {len(terms)} operand(s) but {len(shapes)} were given")
    for term in terms + ([rhs] if arrow else []):
        if term.count("...") > 1 or any(c not in _LETTERS for c in term.replace("...", "")):
            raise fail(f"{term!r} is not a term of letters with at most one '...'")
    extra = []  # how many dimensions each operand's ellipsis stands for
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term and named <= len(shape):
            extra.append(len(shape) - named)
        elif named != len(shape):
            raise fail(f"term {term!r} names {named} axes for an operand with {len(shape)}")
        else:
            extra.append(0)
    used = set(lhs)
    fresh = "".join(c for c in _LETTERS if c not in used)[:max(extra, default=0)]
    if len(fresh) < max(extra, default=0):
        raise fail("too many axes under '...' for the letters left")
    terms = [t.replace("...", fresh[len(fresh) - e:] if e else "") for t, e in zip(terms, extra)]
    if not arrow:
        counts = "".join(terms)
        rhs = fresh + "".join(sorted(c for c in set(counts) - set(fresh) if counts.count(c) == 1))
    else:
        if "..." not in rhs and fresh:
            raise fail("the output drops the axes under '...'; write '...' in it")
        rhs = rhs.replace("...", fresh)
        for c in rhs:
            if rhs.count(c) > 1 or c not in "".join(terms):
                raise fail(f"output label {c!r} is repeated or found in no operand")
    sizes: dict = {}
    for term, shape in zip(terms, shapes):
        mine: dict = {}
        for c, n in zip(term, shape):
            if mine.setdefault(c, n) != n:
                raise fail(f"label {c!r} is repeated in one operand with sizes {mine[c]} and {n}")
            if sizes.setdefault(c, n) != n and 1 not in (n, sizes[c]):
                raise fail(f"label {c!r} has sizes {sizes[c]} and {n}")
            sizes[c] = max(sizes[c], n) if 0 not in (n, sizes[c]) else 0
    return ",".join(terms) + "->" + rhs


@composite(info=OpInfo("einsum"), scalar=False)
def einsum(subscripts: str, *operands: Any) -> Value:
    """numpy's einsum: ``einsum("ij,jk->ik", a, b)``, with implicit outputs, '...' broadcasting,
    diagonals and traces ('ii->i', 'ii') and labels summed in one operand. One node; its
    gradient for each operand is an einsum too, so it can be differentiated again."""
    if not isinstance(subscripts, str):
        raise UnsupportedTypeError(f"einsum: the subscripts come first, as a string; got "
                                   f"{type(subscripts).__name__}")
    if not operands:
        raise TypeError("einsum: needs at least one operand")
    shapes = tuple(np.shape(_raw(x)) for x in operands)
    return _contract(_explicit(subscripts, shapes), *operands)


# ---- products of numpy and PyTorch, each one einsum or matmul node ------------------------------
def _labels(n: int, skip: str = "") -> str:
    """n distinct letters, none of them in `skip`."""
    return "".join(c for c in _LETTERS if c not in skip)[:n]


def _shapes(a: Any, b: Any) -> tuple:
    return np.shape(_raw(a)), np.shape(_raw(b))


@composite(methods=("dot",), info=OpInfo("dot"), scalar=False)
def dot(a: Any, other: Any) -> Value:
    """numpy's dot: a product by a 0-d operand; otherwise a sum over the last axis of a and the
    second to last of b (the only one of a vector)."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    if not sa or not sb:
        return mul(a, b)
    inner = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != inner:
        raise ShapeError(f"dot: shapes {sa} and {sb} are not aligned: {sa[-1]} (last axis of "
                         f"the first) != {inner} ({'only' if len(sb) == 1 else 'second to last'} "
                         "axis of the second)")
    if len(sb) <= 2:
        return matmul(a, b)  # the same product there, and np.dot's BLAS for matrices
    letters = _labels(len(sa) + len(sb) - 2, "z")  # z: the summed axis
    la, lb = letters[:len(sa) - 1], letters[len(sa) - 1:]
    return _contract(f"{la}z,{lb[:-1]}z{lb[-1]}->{la}{lb}", a, b)


@composite(methods=("vdot",), info=OpInfo("vdot"), scalar=False)
def vdot(a: Any, other: Any) -> Value:
    """numpy's vdot (for real numbers): the sum of a * b over the elements of both, flattened;
    they must have as many elements."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    if math.prod(sa) != math.prod(sb):
        raise ShapeError(f"vdot: shapes {sa} and {sb} have {math.prod(sa)} and {math.prod(sb)} "
                         "elements; they must have as many")
    if sa != sb:
        b = reshape(b, sa)
    labels = _labels(len(sa))
    return _contract(f"{labels},{labels}->", a, b)


@composite(methods=("inner",), info=OpInfo("inner"), scalar=False)
def inner(a: Any, other: Any) -> Value:
    """numpy's inner: a product by a 0-d operand; otherwise a sum over the last axes of both,
    indexed by the other axes of a, then those of b."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    if not sa or not sb:
        return mul(a, b)
    if sa[-1] != sb[-1]:
        raise ShapeError(f"inner: shapes {sa} and {sb} do not match in their last axes "
                         f"({sa[-1]} != {sb[-1]})")
    if len(sb) == 1:
        return matmul(a, b)
    letters = _labels(len(sa) + len(sb) - 2, "z")
    la, lb = letters[:len(sa) - 1], letters[len(sa) - 1:]
    return _contract(f"{la}z,{lb}z->{la}{lb}", a, b)


@composite(methods=("outer",), info=OpInfo("outer"), scalar=False)
def outer(a: Any, other: Any) -> Value:
    """numpy's outer: out[i, j] = a.flat[i] * b.flat[j], of shape (a.size, b.size)."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    letters = _labels(len(sa) + len(sb))
    la, lb = letters[:len(sa)], letters[len(sa):]
    out = _contract(f"{la},{lb}->{la}{lb}", a, b)
    return out if len(sa) == len(sb) == 1 else reshape(out, (math.prod(sa), math.prod(sb)))


def _axis_list(axes: Any, ndim: int, which: str) -> list:
    """tensordot's axes of one operand as non-negative ints (an int stands for one axis)."""
    listed = [axes] if isinstance(axes, (int, np.integer)) else list(axes)
    out = []
    for axis in listed:
        if not -ndim <= axis < ndim:
            raise ShapeError(f"tensordot: axis {axis} is out of bounds for the {which} operand, "
                             f"which has {ndim} dimension(s)")
        out.append(int(axis) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"tensordot: axes {listed} of the {which} operand repeat an axis")
    return out


@composite(info=OpInfo("tensordot"), scalar=False)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Value:
    """numpy's tensordot: the sum over `axes` of a and of b, paired in order. An int N pairs
    the last N axes of a with the first N of b; a pair of sequences names them. The result has
    a's other axes, then b's."""
    sa, sb = _shapes(a, b)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(len(sa), len(sb)):
            raise ShapeError(f"tensordot: cannot sum over {axes} axes of shapes {sa} and {sb}")
        axes_a, axes_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        try:
            first, second = axes
        except (TypeError, ValueError):
            raise ShapeError(f"tensordot: axes must be an int or a pair of sequences of axes; "
                             f"got {axes!r}") from None
        axes_a, axes_b = _axis_list(first, len(sa), "first"), _axis_list(second, len(sb), "second")
        if len(axes_a) != len(axes_b):
            raise ShapeError(f"tensordot: {len(axes_a)} axes of the first operand paired with "
                             f"{len(axes_b)} of the second")
    for i, j in zip(axes_a, axes_b):
        if sa[i] != sb[j]:
            raise ShapeError(f"tensordot: shapes {sa} and {sb} do not match along the summed "
                             f"axes: axis {i} has {sa[i]}, axis {j} has {sb[j]}")
    letters = iter(_labels(len(sa) + len(sb)))
    la = [next(letters) for _ in sa]
    lb = [next(letters) for _ in sb]
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    free = [c for k, c in enumerate(la) if k not in axes_a] + \
        [c for k, c in enumerate(lb) if k not in axes_b]
    return _contract(f"{''.join(la)},{''.join(lb)}->{''.join(free)}", a, b)


@composite(methods=("kron",), info=OpInfo("kron"), scalar=False)
def kron(a: Any, other: Any) -> Value:
    """numpy's Kronecker product: blocks a[i, j] * b, the shorter shape padded with leading 1s;
    out[i * m + k, ...] = a[i, ...] * b[k, ...] axis by axis."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    letters = _labels(2 * n)
    la, lb = letters[n - len(sa):n], letters[2 * n - len(sb):]
    # interleaved: a's axis, then b's, for each axis (an axis padded in is left out: size 1)
    interleaved = "".join(c for k in range(n) for c in (letters[k], letters[n + k])
                          if c in la or c in lb)
    out = _contract(f"{la},{lb}->{interleaved}", a, b)
    shape = tuple(x * y for x, y in zip(pa, pb))
    return out if out.shape == shape else reshape(out, shape)


def _levi_civita(dtype: Any) -> np.ndarray:
    """eps[i, j, k]: the sign of the permutation (i, j, k) of (0, 1, 2), 0 if any repeat."""
    eps = np.zeros((3, 3, 3), dtype=dtype)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[i, k, j] = 1, -1
    return eps


@composite(methods=("cross",), info=OpInfo("cross", min_dims=1), scalar=False)
def cross(a: Any, other: Any, axis: int = -1) -> Value:
    """numpy's cross product of 3-vectors along `axis` of each operand (torch's ``dim=``); the
    other axes broadcast. out_i = sum_jk eps_ijk a_j b_k: one einsum with the Levi-Civita
    tensor, a constant."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    places = []
    for shape, which in ((sa, "first"), (sb, "second")):
        if not -len(shape) <= axis < len(shape):
            raise ShapeError(f"cross: axis {axis} is out of bounds for the {which} operand of "
                             f"shape {shape}")
        if shape[axis] != 3:
            raise ShapeError(f"cross: needs 3-vectors along axis {axis}; the {which} operand "
                             f"of shape {shape} has {shape[axis]}")
        places.append(axis % len(shape))
    rest_a = sa[:places[0]] + sa[places[0] + 1:]
    rest_b = sb[:places[1]] + sb[places[1] + 1:]
    try:
        rest = np.broadcast_shapes(rest_a, rest_b)
    except ValueError:
        raise ShapeError(f"cross: the other axes of shapes {sa} and {sb} do not broadcast "
                         f"({rest_a} and {rest_b})") from None
    batch = _labels(len(rest), "ijk")

    def term(letters: str, place: int, vector: str) -> str:
        return letters[:place] + vector + letters[place:]
    la = term(batch[len(batch) - len(rest_a):], places[0], "j")
    lb = term(batch[len(batch) - len(rest_b):], places[1], "k")
    lo = term(batch, axis % (len(rest) + 1), "i")
    dtype = np.result_type(*[getattr(_raw(x), "dtype", np.float64) for x in (a, b)])
    return _contract(f"{la},{lb},ijk->{lo}", a, b, _levi_civita(dtype))


# ---- PyTorch's matrix products: matmul with their stricter shapes --------------------------------
def _require_shapes(op: str, ok: bool, what: str, sa: tuple, sb: tuple) -> None:
    if not ok:
        raise ShapeError(f"{op}: {what}; got shapes {sa} and {sb}")


@composite(methods=("mm",), info=OpInfo("mm", min_dims=2), scalar=False)
def mm(a: Any, other: Any) -> Value:
    """PyTorch's mm: matrix @ matrix, (n, k) @ (k, m)."""
    b = other  # numpy names it b; PyTorch, whose methods these are, other
    sa, sb = _shapes(a, b)
    _require_shapes("mm", len(sa) == len(sb) == 2 and sa[1] == sb[0],
                    "needs matrices (n, k) and (k, m)", sa, sb)
    return matmul(a, b)


@composite(info=OpInfo("bmm", min_dims=3), scalar=False)
def bmm(a: Any, b: Any) -> Value:
    """PyTorch's bmm: batches of matrices, (batch, n, k) @ (batch, k, m), no broadcasting."""
    sa, sb = _shapes(a, b)
    _require_shapes("bmm", len(sa) == len(sb) == 3 and sa[0] == sb[0] and sa[2] == sb[1],
                    "needs batches (b, n, k) and (b, k, m)", sa, sb)
    return matmul(a, b)


@composite(info=OpInfo("mv", min_dims=2), scalar=False)
def mv(a: Any, b: Any) -> Value:
    """PyTorch's mv: matrix @ vector, (n, k) @ (k,)."""
    sa, sb = _shapes(a, b)
    _require_shapes("mv", len(sa) == 2 and len(sb) == 1 and sa[1] == sb[0],
                    "needs a matrix (n, k) and a vector (k,)", sa, sb)
    return matmul(a, b)
