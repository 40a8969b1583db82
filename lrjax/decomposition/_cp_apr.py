"""Poisson CP for count data: CP-APR by multiplicative updates (Chi & Kolda 2012)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative_error
from ..linalg import khatri_rao, unfold
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._cp import CPResult

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


def _mu_step(xn, pi, eps, _, b):
    """One multiplicative update ``B ← B ⊙ [(X_(n) ⊘ B Π^T) Π]``."""
    return b * ((xn / jnp.maximum(b @ pi.T, eps)) @ pi)


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "inner"))
def _cp_apr(x, key, tol, kappa, kappa_tol, eps, *, rank, maxiter, inner):
    n_modes = x.ndim
    keys = jax.random.split(key, n_modes)
    factors0 = []
    for k, size in zip(keys, x.shape, strict=True):
        f = _random.uniform(k, (size, rank), x.dtype, 0.1, 1.0)
        factors0.append(f / jnp.sum(f, axis=0))  # stochastic columns
    total = jnp.sum(x)
    weights0 = jnp.full((rank,), total / rank, x.dtype)  # the model's total matches the data's

    def outer(state, data):
        weights, factors = state
        x, kappa, kappa_tol, eps = data
        factors = list(factors)
        for n in range(n_modes):
            others = [factors[m] for m in range(n_modes) if m != n]
            pi = khatri_rao(others)  # (prod of the other sizes, R), C order as unfold
            xn = unfold(x, n)
            b = factors[n] * weights
            # scooch inadmissible zeros off the boundary (Chi & Kolda, Sec. 4.3)
            phi0 = (xn / jnp.maximum(b @ pi.T, eps)) @ pi
            b = b + jnp.where((b < kappa_tol) & (phi0 > 1.0), kappa, 0.0)

            b = jax.lax.fori_loop(0, inner, functools.partial(_mu_step, xn, pi, eps), b)
            weights = jnp.sum(b, axis=0)
            factors[n] = b / jnp.where(weights > 0, weights, 1.0)
        model = CPTensor(weights, tuple(factors)).to_dense()
        nll = poisson_nll(x, model, eps)
        return (weights, tuple(factors)), nll / jnp.maximum(total, 1.0)

    (weights, factors), info = iterate(
        outer,
        (weights0, tuple(factors0)),
        (x, kappa, kappa_tol, eps),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        watch=lambda s: s[1],
    )
    order = jnp.argsort(-weights)
    cp = CPTensor(weights[order], tuple(f[:, order] for f in factors))
    error = relative_error(x, cp.to_dense())
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

    Args:
        x: non-negative tensor (counts, but any non-negative data is accepted), ``N >= 2``.
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
