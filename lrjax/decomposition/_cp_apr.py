"""Poisson CP for count data: CP-APR by multiplicative updates (Chi & Kolda 2012)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative_error
from ..linalg import khatri_rao, unfold
from ..linalg._mttkrp import coordinate_rows
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._cp import CPResult
from ._cp_sparse import coordinate_norm_sq, coordinate_parts, sparse_relative_error

__all__ = ["cp_apr", "poisson_nll"]


def poisson_nll(
    x: Float[Array, "*dims"], model: Float[Array, "*dims"], eps: float = 1e-10
) -> Float[Array, ""]:
    r"""Poisson negative log-likelihood up to a constant, :math:`\sum m - x \log m`, the
    objective of :func:`cp_apr` (``m`` floored at ``eps`` inside the log).

    Raises:
        ValueError: for ``x`` and ``model`` of different shapes or a non-positive ``eps``.
    """
    x, model = jnp.asarray(x), jnp.asarray(model)
    if x.shape != model.shape:
        raise ValueError(
            f"`x` and `model` must have the same shape, got {x.shape} and {model.shape}."
        )
    eps = _checks.positive("eps", eps)
    return jnp.sum(model - x * jnp.log(jnp.maximum(model, eps)))


def _start(key, shape, rank, dtype, total):
    """Random stochastic columns, the weights sharing the data's total."""
    keys = jax.random.split(key, len(shape))
    factors = []
    for k, size in zip(keys, shape, strict=True):
        f = _random.uniform(k, (size, rank), dtype, 0.1, 1.0)
        factors.append(f / jnp.sum(f, axis=0))  # stochastic columns
    return jnp.full((rank,), total / rank, dtype), tuple(factors)


def _dense_mode():
    """``phi(n, factors, (x, eps))``: the map ``B ↦ (X_(n) ⊘ B Πᵀ) Π`` of mode ``n`` for a
    dense ``x`` (the data come in as arguments: the iteration differentiates through them)."""

    def phi_of(n, factors, data):
        x, eps = data
        pi = khatri_rao([f for m, f in enumerate(factors) if m != n])  # C order, as unfold
        xn = unfold(x, n)
        return lambda b: (xn / jnp.maximum(b @ pi.T, eps)) @ pi

    return phi_of


def _coordinate_mode(shape):
    """``phi(n, factors, (indices, values, eps))`` for a coordinate tensor: ``X ⊘ M`` is zero
    off the stored entries, so only their rows of ``Π`` are formed (one gather per other mode)."""

    def phi_of(n, factors, data):
        indices, values, eps = data
        rows = coordinate_rows(indices, factors, skip=n)
        at = indices[:, n]

        def phi(b):
            ratio = values / jnp.maximum(jnp.sum(b[at] * rows, axis=1), eps)
            return jax.ops.segment_sum(ratio[:, None] * rows, at, num_segments=shape[n])

        return phi

    return phi_of


def _apr_sweeps(phi_of, nll, state0, params, tol, total, *, maxiter, inner):
    """The CP-APR outer iteration over ``state = (weights, factors)``; ``params = (kappa,
    kappa_tol, data)``, ``phi_of(n, factors, data)`` gives mode ``n``'s map and ``nll(weights,
    factors, data)`` the objective."""
    n_modes = len(state0[1])

    def outer(state, params):
        kappa, kappa_tol, data = params
        weights, factors = state
        factors = list(factors)
        for n in range(n_modes):
            phi = phi_of(n, factors, data)
            b = factors[n] * weights
            # scooch inadmissible zeros off the boundary (Chi & Kolda, Sec. 4.3)
            b = b + jnp.where((b < kappa_tol) & (phi(b) > 1.0), kappa, 0.0)
            b = jax.lax.fori_loop(0, inner, lambda _, b, phi=phi: b * phi(b), b)  # MU steps
            weights = jnp.sum(b, axis=0)
            factors[n] = b / jnp.where(weights > 0, weights, 1.0)
        return (weights, tuple(factors)), nll(weights, factors, data) / jnp.maximum(total, 1.0)

    return iterate(
        outer, state0, params, maxiter=maxiter, tol=tol, diff="unroll",
        watch=lambda s: s[1],
    )  # fmt: skip


def _sorted_cp(weights, factors) -> CPTensor:
    order = jnp.argsort(-weights)
    return CPTensor(weights[order], tuple(f[:, order] for f in factors))


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "inner"))
def _cp_apr(x, key, tol, kappa, kappa_tol, eps, *, rank, maxiter, inner):
    total = jnp.sum(x)
    state0 = _start(key, x.shape, rank, x.dtype, total)

    def nll(weights, factors, data):
        x, eps = data
        return poisson_nll(x, CPTensor(weights, tuple(factors)).to_dense(), eps)

    (weights, factors), info = _apr_sweeps(
        _dense_mode(), nll, state0, (kappa, kappa_tol, (x, eps)), tol, total, maxiter=maxiter,
        inner=inner,
    )  # fmt: skip
    cp = _sorted_cp(weights, factors)
    error = relative_error(x, cp.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


@functools.partial(jax.jit, static_argnames=("shape", "rank", "maxiter", "inner", "unique"))
def _cp_apr_coordinates(
    indices, values, key, tol, kappa, kappa_tol, eps, *, shape, rank, maxiter, inner, unique
):
    total = jnp.sum(values)
    state0 = _start(key, shape, rank, values.dtype, total)

    def nll(weights, factors, data):
        indices, values, eps = data
        # Σ_all m = Σ_r λ_r (stochastic columns); Σ x log m over the stored entries only
        model = jnp.sum(weights * coordinate_rows(indices, factors), axis=1)
        all_columns = functools.reduce(jnp.multiply, [jnp.sum(f, axis=0) for f in factors])
        return jnp.sum(weights * all_columns) - jnp.sum(values * jnp.log(jnp.maximum(model, eps)))

    (weights, factors), info = _apr_sweeps(
        _coordinate_mode(shape), nll, state0, (kappa, kappa_tol, (indices, values, eps)), tol,
        total, maxiter=maxiter, inner=inner,
    )  # fmt: skip
    cp = _sorted_cp(weights, factors)
    norm_x_sq = coordinate_norm_sq(indices, values, unique)
    error = sparse_relative_error(indices, values, norm_x_sq, cp, shape)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_apr(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    key: Array,
    maxiter: int = 200,
    inner: int = 10,
    tol: float | Array = 1e-7,
    kappa: float = 1e-2,
    kappa_tol: float = 1e-10,
    eps: float = 1e-10,
) -> CPResult:
    r"""Poisson CP decomposition of count data by alternating Poisson regression (CP-APR).

    .. math:: \min_{\lambda \ge 0,\ A_n \ge 0,\ \mathbf 1^\top a^{(n)}_r = 1}
       \sum_{i} m_i - x_i \log m_i, \qquad \mathcal M = [\![\lambda; A_0, \ldots, A_{N-1}]\!]

    the maximum-likelihood CP model when the entries are Poisson counts (the least-squares
    CP of :func:`cp_als` suits Gaussian noise; for sparse counts it fits negative rates and
    over-weights the large counts). Each outer sweep updates every mode by ``inner``
    multiplicative updates ``B ← B ⊙ [(X_(n) ⊘ B Π) Π^T]`` with ``B = A_n diag(λ)`` and
    ``Π`` the Khatri-Rao product of the other factors (Chi & Kolda's CP-APR MU), after moving
    "inadmissible zeros" (entries at 0 whose gradient says they should grow) off the
    boundary by ``kappa``; then ``λ`` takes the column sums and the columns of ``A_n`` sum to
    one. The updates keep everything non-negative and never raise the objective (a
    majorization-minimization). Stops when the objective per count changes by at most ``tol``
    or after ``maxiter`` sweeps. The Tensor Toolbox's ``cp_apr`` (its default MU algorithm).

    A sparse count tensor may be given as a ``jax.experimental.sparse.BCOO`` array: ``X ⊘ M``
    vanishes off its stored entries, so the updates form only those entries' rows of ``Π``
    (``O(nnz R N)`` per update) and never the dense tensor (the Tensor Toolbox's ``cp_apr``
    on an ``sptensor``); repeated coordinates add.

    Args:
        x: non-negative tensor (counts, but any non-negative data is accepted), ``N >= 2``,
            dense or a ``BCOO`` sparse tensor.
        rank: number of components (static).
        key: PRNG key of the random stochastic start.
        maxiter: outer sweeps (static).
        inner: multiplicative updates per mode and sweep (static).
        tol: stopping tolerance on the change of the objective divided by ``Σ x``.
        kappa, kappa_tol: the inadmissible-zero offset and the threshold below which an
            entry counts as zero.
        eps: floor of the model inside divisions and logarithms.

    Returns:
        ``CPResult(cp, info)``: ``cp.weights`` are the component totals (the expected counts
        each component explains), every factor column sums to one; ``info.history`` holds the
        Poisson objective divided by ``Σ x`` and ``info.error`` the relative Frobenius error
        of the fit. Differentiable (unrolled).

    Raises:
        ValueError: for negative or non-finite entries (eager), fewer than 2 modes, or bad
            options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> rates = jnp.einsum("i,j,k->ijk", jnp.linspace(1, 3, 6), jnp.ones(5), jnp.ones(4))
        >>> counts = jax.random.poisson(jax.random.key(0), 20.0 * rates).astype(jnp.float32)
        >>> res = cp_apr(counts, 1, key=jax.random.key(1), maxiter=50)
        >>> total = float(res.cp.weights.sum())  # the ML model explains every count
        >>> bool(jnp.all(res.cp.factors[0] >= 0)), abs(total / float(counts.sum()) - 1) < 1e-3
        (True, True)

    References:
        E. C. Chi, T. G. Kolda, "On tensors, sparsity, and nonnegative factorizations", SIAM
        J. Matrix Anal. Appl. 33(4), 2012. The Tensor Toolbox's ``cp_apr``.
    """
    if _checks.is_bcoo(x):
        return _cp_apr_sparse(x, rank, key, maxiter, inner, tol, kappa, kappa_tol, eps)
    x = _checks.as_array("x", x, min_ndim=2)
    if _checks.is_concrete(x) and bool(jnp.any(x < 0)):
        raise ValueError(
            f"`x` must be non-negative (counts), got a minimum of {float(jnp.min(x))}."
        )
    rank = _checks.positive_int("rank", rank)
    key = _checks.prng_key("key", key)
    maxiter = _checks.positive_int("maxiter", maxiter)
    inner = _checks.positive_int("inner", inner)
    tol = _checks.tolerance(tol)
    kappa = _checks.nonnegative("kappa", kappa)
    kappa_tol = _checks.nonnegative("kappa_tol", kappa_tol)
    eps = _checks.positive("eps", eps)
    dtype = x.dtype
    return _cp_apr(
        x,
        key,
        tol,
        jnp.asarray(kappa, dtype),
        jnp.asarray(kappa_tol, dtype),
        jnp.asarray(eps, dtype),
        rank=rank,
        maxiter=maxiter,
        inner=inner,
    )


def _cp_apr_sparse(x, rank, key, maxiter, inner, tol, kappa, kappa_tol, eps) -> CPResult:
    """:func:`cp_apr` of a ``BCOO`` tensor: checks, then the coordinate sweeps."""
    values, indices, shape = coordinate_parts(x)
    if _checks.is_concrete(values) and values.size:
        low = float(_checks.concrete_value(jnp.min, values))
        if low < 0:
            raise ValueError(f"`x` must be non-negative (counts), got a minimum of {low}.")
    dtype = values.dtype
    return _cp_apr_coordinates(
        indices,
        values,
        _checks.prng_key("key", key),
        _checks.tolerance(tol),
        jnp.asarray(_checks.nonnegative("kappa", kappa), dtype),
        jnp.asarray(_checks.nonnegative("kappa_tol", kappa_tol), dtype),
        jnp.asarray(_checks.positive("eps", eps), dtype),
        shape=shape,
        rank=_checks.positive_int("rank", rank),
        maxiter=_checks.positive_int("maxiter", maxiter),
        inner=_checks.positive_int("inner", inner),
        unique=bool(x.unique_indices),
    )
