"""Tensor regression with a low-rank weight: CP and Tucker (TensorLy's ``CPRegressor`` and
``TuckerRegressor``), fitted by alternating ridge regressions.

A sample ``x_s`` of shape ``I_1 x ... x I_p`` is mapped to ``y_s`` of shape ``O_1 x ... x O_q``
(``q = 0``: a scalar) by a weight tensor ``W`` of shape ``(I_1, ..., I_p, O_1, ..., O_q)``:
``ŷ_s = <x_s, W>`` over the input modes. ``W`` is held as a CP or Tucker tensor and every
block of it (a factor, or the core) is the solution of a ridge regression given the others.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative
from .._sharding import partitioned
from ..linalg import khatri_rao, kronecker
from ..linalg._svd import leading_left_singular_vectors, svd_flip
from ..linalg._unfold import fold, mode_dot, unfold
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import CPTensor, TTTensor, TuckerTensor
from ._common import (
    canonical_cp,
    cp_init,
    init_factors,
    project,
    scale_into_last,
    spread_norms,
)

__all__ = ["TensorRegressionResult", "cp_regression", "regression_predict", "tucker_regression"]


class TensorRegressionResult(NamedTuple):
    """Result of :func:`cp_regression` and :func:`tucker_regression`: the weight tensor of shape
    ``x.shape[1:] + y.shape[1:]`` and the :class:`SolverInfo` (``info.error`` is the relative
    training residual ``||y - ŷ|| / ||y||``)."""

    weight: CPTensor | TuckerTensor
    info: SolverInfo


def regression_predict(
    x: Float[Array, "n ..."], weight: CPTensor | TuckerTensor | TTTensor | Array
) -> Float[Array, "n ..."]:
    r"""``ŷ_s = <x_s, W>`` over the input modes, for every sample ``s`` of ``x``.

    ``x`` has one leading sample axis and ``p = x.ndim - 1`` input modes, the leading ``p``
    modes of ``W``; the result has shape ``(n, *W.shape[p:])``. A factorized ``W`` is never
    formed: a CP weight costs ``O(n R prod(I))``, a Tucker weight projects ``x`` onto the
    input factors first, a tensor-train weight contracts its cores from the left (TensorLy's
    ``CPRegressor.predict`` and ``tenalg.inner(x, W, n_modes=p)``; TensorLy-Torch's ``trl``).

    Args:
        x: samples, ``(n, I_1, ..., I_p)``.
        weight: a :class:`~lrjax.tensors.CPTensor`, :class:`~lrjax.tensors.TuckerTensor`,
            :class:`~lrjax.tensors.TTTensor` or dense array of shape ``(I_1, ..., I_p, ...)``.

    Returns:
        ``(n, *weight.shape[p:])``.

    Raises:
        ValueError: when ``x`` has no input mode or its modes are not the weight's leading ones.

    Examples:
        >>> import jax.numpy as jnp
        >>> w = CPTensor(jnp.ones(1), (jnp.ones((3, 1)), jnp.ones((2, 1)), jnp.ones((4, 1))))
        >>> regression_predict(jnp.ones((5, 3, 2)), w).shape
        (5, 4)
    """
    x = _checks.as_array("x", x, min_ndim=2, check_finite=False)
    shape = tuple(weight.shape)
    p = x.ndim - 1
    if shape[:p] != x.shape[1:]:
        raise ValueError(
            f"`x` must have shape (n, *weight.shape[:{p}]) = (n, {', '.join(map(str, shape[:p]))}) "
            f"for a weight of shape {shape}, got {x.shape}."
        )
    n = x.shape[0]
    if isinstance(weight, CPTensor):
        factors = list(weight.factors)
        z = _project(x, factors[:p]) * weight.weights
        return (z @ _out_matrix(factors[p:], z.dtype, z.shape[1]).T).reshape(n, *shape[p:])
    if isinstance(weight, TuckerTensor):
        z = _project_tucker(x, weight.factors[:p]).reshape(n, -1)
        core = weight.core.reshape(z.shape[1], -1)
        out = _out_kron(weight.factors[p:], z.dtype)
        return (z @ core @ out.T).reshape(n, *shape[p:])
    if isinstance(weight, TTTensor):
        carry = x.reshape(n, 1, -1)  # (n, r_{k-1}, rest of the input modes)
        for core in weight.cores[:p]:
            carry = carry.reshape(n, carry.shape[1], core.shape[1], -1)
            carry = jnp.einsum("saib,aic->scb", carry, core)
        carry = carry.reshape(n, 1, -1)  # (n, outputs so far, r_p)
        for core in weight.cores[p:]:
            carry = jnp.einsum("spa,aoc->spoc", carry, core)
            carry = carry.reshape(n, -1, core.shape[2])
        return carry.reshape(n, *shape[p:])
    w = jnp.asarray(weight)
    return jnp.tensordot(x, w, axes=p)


def _project(x: Array, factors, skip: int | None = None) -> Array:
    """``x`` (``(n, I_1..I_p)``) contracted with ``factors[k]`` (``(I_k, R)``, one shared
    column index) on every input mode ``k != skip``: ``(n, R)``, or ``(n, I_skip, R)``."""
    p = x.ndim - 1
    operands: list = [x, list(range(p + 1))]
    for k, f in enumerate(factors):
        if k != skip:
            operands += [f, [k + 1, p + 1]]
    out = [0, *([skip + 1] if skip is not None else []), p + 1]
    return jnp.einsum(*operands, out)


def _out_matrix(factors, dtype, rank: int) -> Array:
    """Khatri-Rao product of the output factors, ``(prod(O), R)``; a row of ones without
    output modes (a scalar response)."""
    if factors:
        return khatri_rao(list(factors))
    return jnp.ones((1, rank), dtype)


def _out_kron(factors, dtype) -> Array:
    """Kronecker product of the output factors, ``(prod(O), prod(S))``; ``[[1]]`` without."""
    return kronecker(list(factors)) if factors else jnp.ones((1, 1), dtype)


def _ridge(gram: Array, rhs: Array, reg: Array) -> Array:
    """``(gram + λ I)^{-1} rhs`` with ``λ = max(reg, 1e-12 max(tr gram, 1))``: the ridge
    solution, still defined when ``reg = 0`` and the design is rank deficient."""
    floor = 1e-12 * jnp.maximum(jnp.trace(gram), 1.0)
    lam = jnp.maximum(reg, floor)
    return jnp.linalg.solve(gram + lam * jnp.eye(gram.shape[0], dtype=gram.dtype), rhs)


def _balance_tucker(core: Array, factors) -> tuple[Array, tuple[Array, ...]]:
    """The same Tucker weight with every factor and the core balanced mode by mode:
    ``U_k G_(k) = L Σ Rᵀ`` (an SVD, signs fixed) is split as ``U_k = L Σ^½`` and
    ``G_(k) = Σ^½ Rᵀ``, which minimises ``||U_k||² + ||G||²`` for the product and fixes the
    ``GL(r_k)`` gauge of the mode (a mode whose rank exceeds the rest of the core is left)."""
    factors = list(factors)
    for k, u in enumerate(factors):
        g = unfold(core, k)
        if g.shape[1] < g.shape[0]:
            continue
        q, r = jnp.linalg.qr(u)
        left, sv, right = jnp.linalg.svd(r @ g, full_matrices=False)
        left, right = svd_flip(left, right)
        root = jnp.sqrt(sv)
        factors[k] = q @ (left * root)
        core = fold(root[:, None] * right, k, core.shape)
    return core, tuple(factors)


def _residual(yv: Array, pred: Array, norm_y_sq: Array) -> Array:
    return relative(jnp.sum((yv - pred) ** 2), norm_y_sq)


def _cp_sweep(factors, data):
    """One ALS sweep: every input factor, then every output factor, as a ridge regression."""
    x, y, reg, norm_y_sq = data
    n, p = x.shape[0], x.ndim - 1
    q, rank = len(factors) - p, factors[0].shape[1]
    yv = y.reshape(n, -1)
    new = list(factors)
    for k in range(p):
        phi = _project(x, new[:p], skip=k)  # (n, I_k, R)
        b = _out_matrix(new[p:], x.dtype, rank)
        size = phi.shape[1] * rank
        gram = jnp.einsum("sir,sjt,rt->irjt", phi, phi, b.T @ b).reshape(size, size)
        rhs = jnp.einsum("sir,sr->ir", phi, yv @ b).reshape(size)
        new[k] = _ridge(gram, rhs, reg).reshape(phi.shape[1], rank)
    z = _project(x, new[:p])  # (n, R)
    zz = z.T @ z
    for j in range(q):
        others = [new[p + m] for m in range(q) if m != j]
        c = _out_matrix(others, x.dtype, rank)
        yj = jnp.moveaxis(y, j + 1, 1).reshape(n, y.shape[j + 1], -1)
        rhs = jnp.einsum("sjo,sr,or->rj", yj, z, c)
        new[p + j] = _ridge(zz * (c.T @ c), rhs, reg).T
    pred = z @ _out_matrix(new[p:], x.dtype, rank).T
    # every component's norm spread evenly over the factors: the scaling that minimises
    # Σ_k ||A_k||² for the same weight (a descent step of the ridge objective that leaves the
    # fit alone); it fixes the scale gauge, along which plain ALS only drifts
    return spread_norms(new), _residual(yv, pred, norm_y_sq)


def _tucker_sweep(state, data):
    """One ALS sweep: every input factor, every output factor, then the core."""
    core, factors = state
    x, y, reg, norm_y_sq = data
    n, p = x.shape[0], x.ndim - 1
    q = len(factors) - p
    yv = y.reshape(n, -1)
    factors = list(factors)
    mapped = _map_outputs(core, factors[p:], p)  # the input sweep leaves it unchanged
    for k in range(p):
        t = _project_tucker(x, factors[:p], skip=k)  # (n, I_k, prod r_{-k})
        h = jnp.moveaxis(mapped, k, 0)
        h = h.reshape(h.shape[0], t.shape[2], -1)  # (r_k, prod r_{-k}, O)
        psi = jnp.einsum("sib,abo->siao", t, h).reshape(n, -1, h.shape[2])
        gram = jnp.einsum("spo,sqo->pq", psi, psi)
        rhs = jnp.einsum("spo,so->p", psi, yv)
        factors[k] = _ridge(gram, rhs, reg).reshape(t.shape[1], h.shape[0])
    z = _project_tucker(x, factors[:p]).reshape(n, -1)  # (n, prod r)
    zc = (z @ core.reshape(z.shape[1], -1)).reshape(n, *core.shape[p:])
    for j in range(q):
        others = {m: factors[p + m] for m in range(q) if m != j}
        h = zc
        for m, v in others.items():
            h = mode_dot(h, v, m + 1)
        h = jnp.moveaxis(h, j + 1, 1).reshape(n, core.shape[p + j], -1)  # (n, s_j, O_rest)
        yj = jnp.moveaxis(y, j + 1, 1).reshape(n, y.shape[j + 1], -1)
        gram = jnp.einsum("sbo,sco->bc", h, h)
        rhs = jnp.einsum("sbo,sjo->bj", h, yj)
        factors[p + j] = _ridge(gram, rhs, reg).T
    out = _out_kron(factors[p:], x.dtype)  # (O, prod s)
    gram = jnp.kron(z.T @ z, out.T @ out)
    rhs = (z.T @ yv @ out).reshape(-1)
    core = _ridge(gram, rhs, reg).reshape(core.shape)
    pred = z @ core.reshape(z.shape[1], -1) @ out.T
    return _balance_tucker(core, factors), _residual(yv, pred, norm_y_sq)


def _project_tucker(x: Array, factors, skip: int | None = None) -> Array:
    """``x`` times ``factors[k]`` (``(I_k, r_k)``) on every input mode ``k != skip``:
    ``(n, r_1, ..., r_p)`` flattened to ``(n, I_skip, prod_{k≠skip} r_k)`` with a skip."""
    out = x
    for k, f in enumerate(factors):
        if k != skip:
            out = mode_dot(out, f.T, k + 1)
    if skip is None:
        return out
    out = jnp.moveaxis(out, skip + 1, 1)
    return out.reshape(out.shape[0], out.shape[1], -1)


def _map_outputs(core: Array, out_factors, p: int) -> Array:
    """The core with its output modes mapped by the output factors: ``(r_1..r_p, O_1..O_q)``."""
    for j, v in enumerate(out_factors):
        core = mode_dot(core, v, p + j)
    return core


def _replicated(shapes, *_):
    """Results of a regression replicate (the weight has no sample mode to shard on)."""
    return jax.tree.map(lambda _: PartitionSpec(), shapes)


def _samples(x, y) -> tuple[Array, Array]:
    """``x`` (``(n, I_1..I_p)``) and ``y`` (``(n, O_1..O_q)``) as arrays of one float dtype."""
    x = _checks.as_array("x", x, min_ndim=2)
    y = _checks.as_array("y", y, min_ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"`y` must have one row per sample of `x` ({x.shape[0]}), got shape {y.shape} for "
            f"`x` of shape {x.shape}."
        )
    if x.ndim + y.ndim - 2 < 2:
        raise ValueError(
            f"`x` {x.shape} and `y` {y.shape} give a weight of one mode; a low-rank weight "
            "needs at least two (more input modes, or a vector response)."
        )
    dtype = jnp.result_type(x.dtype, y.dtype)
    return x.astype(dtype), y.astype(dtype)


def _moment(x: Array, y: Array) -> Array:
    """``(1/n) Σ_s x_s ∘ y_s``: the weight itself when the samples are white (``E[x xᵀ] =
    I``), and the start of ``init="svd"``."""
    return jnp.tensordot(x, y, axes=(0, 0)) / x.shape[0]


@functools.partial(jax.jit, static_argnames=("rank", "init", "maxiter", "diff"))
def _cp_regression(x, y, reg, key, tol, start=None, *, rank, init, maxiter, diff):
    if start is None and key is None:  # init="svd" with rank <= every mode size: unused
        key = jax.random.key(0)
    factors0 = start if start is not None else init_factors(_moment(x, y), key, rank, init)
    data = (x, y, jnp.asarray(reg, x.dtype), jnp.sum(y * y))
    factors, info = iterate(_cp_sweep, factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    return TensorRegressionResult(canonical_cp(scale_into_last(factors)), info)


def cp_regression(
    x: Float[Array, "n ..."],
    y: Float[Array, "n ..."],
    rank: int,
    *,
    reg: float | Array = 1.0,
    key: jax.Array | None = None,
    init: str | CPTensor = "svd",
    maxiter: int = 100,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
) -> TensorRegressionResult:
    r"""Tensor regression with a rank-``R`` CP weight, by alternating ridge regressions.

    .. math:: \min_{A_1, \dots, A_{p+q}} \sum_s \bigl\| y_s - \langle x_s, [\![A_1, \dots,
       A_{p+q}]\!] \rangle \bigr\|^2 + \mathrm{reg} \sum_k \|A_k\|_F^2

    over the ``p`` input modes of ``x`` and the ``q`` output modes of ``y`` (``y`` of shape
    ``(n,)`` is a scalar response). Each block ``A_k`` is the exact ridge solution for the
    others; the ``(I_k R)^2`` normal equations of an input factor are formed from the partial
    contractions of ``x`` without the ``n prod(O) x I_k R`` design matrix. With ``reg = 0``
    the columns of all but the last factor are kept at unit norm (the scale is then free).
    Same objective and sweep as TensorLy's ``CPRegressor(weight_rank, reg_W)`` (Zhou, Li & Zhu
    2013), which it matches sweep for sweep from the same start.

    Args:
        x: samples ``(n, I_1, ..., I_p)``, ``p >= 1``.
        y: responses ``(n,)`` or ``(n, O_1, ..., O_q)``; the weight has ``p + q >= 2`` modes.
        rank: CP rank ``R`` (static).
        reg: ridge strength on the factors, ``>= 0`` (traced). ``0`` keeps a floor of
            ``1e-12`` of the normal matrix's trace, so rank-deficient designs stay defined.
        key: PRNG key, for ``init="random"``; with ``"svd"`` it draws the columns beyond a
            mode's size (default ``jax.random.key(0)``: the start is deterministic).
        init: ``"svd"`` (leading singular vectors of the unfoldings of the moment tensor
            ``(1/n) Σ_s x_s ∘ y_s``, random unit columns beyond a mode's size), ``"random"``
            (random unit columns), or a warm start
            :class:`~lrjax.tensors.CPTensor` of the weight's shape and rank (TensorLy's random
            start is passed this way).
        maxiter: maximum number of sweeps (static).
        tol: stop when the relative training residual changes by less than ``tol`` (traced;
            ``0`` runs all ``maxiter`` sweeps).
        diff: ``"implicit"`` (at the fixed point of the sweep; default) or ``"unroll"``.

    Returns:
        ``TensorRegressionResult(weight, info)``: ``weight`` a canonical CP tensor of shape
        ``x.shape[1:] + y.shape[1:]``; predict with :func:`regression_predict`.
        ``info.error`` is ``||y - ŷ|| / ||y||`` on the training samples.

    Raises:
        ValueError: for a ``y`` without one row per sample, a one-mode weight, NaN/inf in an
            eager call, a non-positive ``rank``, a negative ``reg``, an unknown ``init`` or
            ``diff``, a missing ``key``, or a warm start of another shape or rank.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> x = jax.random.normal(jax.random.key(0), (200, 4, 3))
        >>> w = jnp.outer(jnp.arange(1.0, 5.0), jnp.array([1.0, -1.0, 2.0]))
        >>> y = jnp.einsum("sij,ij->s", x, w)
        >>> fit, info = cp_regression(x, y, 1, reg=0.0)
        >>> bool(jnp.allclose(fit.to_dense(), w, atol=1e-3))
        True

    References:
        H. Zhou, L. Li and H. Zhu, "Tensor regression with applications in neuroimaging data
        analysis", JASA 108(502), 2013. Same model as ``tensorly.regression.CPRegressor``.
    """
    x, y = _samples(x, y)
    rank = _checks.positive_int("rank", rank)
    shape = x.shape[1:] + y.shape[1:]
    start, init_name = cp_init("init", init, jax.ShapeDtypeStruct(shape, x.dtype), rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    reg = _checks.nonnegative("reg", reg)
    key = _checks.optional_prng_key("key", key)
    if key is None and init_name == "random":
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    return partitioned(
        _cp_regression, x, y, reg, key, tol, start, rank=rank, init=init_name,
        maxiter=maxiter, diff=diff, specs=_replicated,
    )  # fmt: skip


def _tucker_start(init, shape, ranks, dtype):
    """The (core, factors) of a warm start ``init``: a Tucker tensor of ``shape``, core
    ``ranks``, or raise naming ``init``."""
    core = jnp.asarray(init.core)
    factors = tuple(jnp.asarray(f) for f in init.factors)
    if (
        core.shape != tuple(ranks)
        or len(factors) != len(shape)
        or any(f.shape != (s, r) for f, s, r in zip(factors, shape, ranks, strict=True))
    ):
        raise ValueError(
            f"`init` must be a TuckerTensor of shape {tuple(shape)} and ranks {tuple(ranks)}, "
            f"got a core of shape {core.shape} and factors of shapes "
            f"{[f.shape for f in factors]}."
        )
    _checks.finite("init.core", core)
    for k, f in enumerate(factors):
        _checks.finite(f"init.factors[{k}]", f)
    return core.astype(dtype), tuple(f.astype(dtype) for f in factors)


def _tucker_init(x, y, key, ranks, init):
    m = _moment(x, y)
    if init == "svd":
        factors = [leading_left_singular_vectors(unfold(m, k), r) for k, r in enumerate(ranks)]
        return project(m, factors, range(m.ndim)), tuple(factors)
    keys = jax.random.split(key, len(ranks) + 1)
    core = _random.normal(keys[0], ranks, x.dtype)
    factors = tuple(
        _random.normal(k, (s, r), x.dtype) for k, s, r in zip(keys[1:], m.shape, ranks, strict=True)
    )
    return core, factors


def _orthonormal_tucker(core, factors) -> TuckerTensor:
    """The same weight with orthonormal factors (``U = QR``, the core takes every ``R``)."""
    out = []
    for k, u in enumerate(factors):
        q, r = jnp.linalg.qr(u)
        core = mode_dot(core, r, k)
        out.append(q)
    return TuckerTensor(core, tuple(out))


@functools.partial(jax.jit, static_argnames=("ranks", "init", "maxiter", "diff"))
def _tucker_regression(x, y, reg, key, tol, start=None, *, ranks, init, maxiter, diff):
    state0 = start if start is not None else _tucker_init(x, y, key, ranks, init)
    data = (x, y, jnp.asarray(reg, x.dtype), jnp.sum(y * y))
    state, info = iterate(_tucker_sweep, state0, data, maxiter=maxiter, tol=tol, diff=diff)
    return TensorRegressionResult(_orthonormal_tucker(*state), info)


def tucker_regression(
    x: Float[Array, "n ..."],
    y: Float[Array, "n ..."],
    ranks: int | tuple[int | None, ...] | None,
    *,
    reg: float | Array = 1.0,
    key: jax.Array | None = None,
    init: str | TuckerTensor = "svd",
    maxiter: int = 100,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
) -> TensorRegressionResult:
    r"""Tensor regression with a Tucker weight of multilinear ranks ``ranks``, by alternating
    ridge regressions.

    .. math:: \min_{\mathcal{G}, U_1, \dots, U_{p+q}} \sum_s \bigl\| y_s - \langle x_s,
       \mathcal{G} \times_1 U_1 \cdots \times_{p+q} U_{p+q} \rangle \bigr\|^2 +
       \mathrm{reg} \bigl(\|\mathcal{G}\|_F^2 + \sum_k \|U_k\|_F^2\bigr)

    Each sweep solves for every factor (inputs, then outputs) and then the core, each the
    exact ridge solution given the rest; the core's normal matrix is the Kronecker product
    ``(ZᵀZ) ⊗ (VᵀV)`` of the projected samples and the output factors. With ``reg = 0`` the
    factors are kept orthonormal (the Tucker gauge is free then). For a scalar response this
    is TensorLy's ``TuckerRegressor(weight_ranks, reg_W)`` (Li, Zhou & Li 2018), which it
    matches sweep for sweep from the same start; a tensor response adds one factor per output
    mode.

    Args:
        x: samples ``(n, I_1, ..., I_p)``, ``p >= 1``.
        y: responses ``(n,)`` or ``(n, O_1, ..., O_q)``; the weight has ``p + q >= 2`` modes.
        ranks: core shape, one rank per mode of the weight (an int for all; None for a
            mode's full size) (static).
        reg: ridge strength on the core and factors, ``>= 0`` (traced; see
            :func:`cp_regression`).
        key: PRNG key, for ``init="random"``.
        init: ``"svd"`` (the truncated HOSVD of the moment tensor ``(1/n) Σ_s x_s ∘ y_s``;
            deterministic), ``"random"`` (Gaussian core and factors), or a warm start
            :class:`~lrjax.tensors.TuckerTensor` of the weight's shape and core ``ranks``.
        maxiter: maximum number of sweeps (static).
        tol: stop when the relative training residual changes by less than ``tol`` (traced).
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``TensorRegressionResult(weight, info)``: ``weight`` a Tucker tensor with orthonormal
        factors (the same weight as the fitted one); ``info.error`` the relative training
        residual.

    Raises:
        ValueError: as :func:`cp_regression`, and for ranks the weight's shape does not allow.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> x = jax.random.normal(jax.random.key(0), (300, 5, 4))
        >>> w = jnp.outer(jnp.arange(1.0, 6.0), jnp.array([1.0, -1.0, 2.0, 0.5]))
        >>> fit, info = tucker_regression(x, jnp.einsum("sij,ij->s", x, w), (1, 1), reg=0.0)
        >>> bool(jnp.allclose(fit.to_dense(), w, atol=1e-3))
        True

    References:
        X. Li, H. Zhou and L. Li, "Tucker tensor regression and neuroimaging analysis",
        Statistics in Biosciences 10, 2018. Same model as
        ``tensorly.regression.TuckerRegressor``.
    """
    x, y = _samples(x, y)
    shape = x.shape[1:] + y.shape[1:]
    ranks = _checks.ranks("ranks", ranks, len(shape), sizes=shape)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    reg = _checks.nonnegative("reg", reg)
    key = _checks.optional_prng_key("key", key)
    if isinstance(init, TuckerTensor) or (
        type(init).__module__.startswith("tensorly") and hasattr(init, "core")
    ):
        start, init_name = _tucker_start(init, shape, ranks, x.dtype), "given"
    else:
        start, init_name = None, _checks.choice("init", init, ("svd", "random"))
        if init_name == "random" and key is None:
            raise ValueError("`key` must be a PRNG key when init='random', got None.")
    return partitioned(
        _tucker_regression, x, y, reg, key, tol, start, ranks=ranks, init=init_name,
        maxiter=maxiter, diff=diff, specs=_replicated,
    )  # fmt: skip
