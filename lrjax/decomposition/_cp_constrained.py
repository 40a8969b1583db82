"""Constrained and regularized CP by AO-ADMM (one proximal operator per mode)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from ..linalg import mttkrp
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._common import cp_relative_error, cp_start, init_factors, is_cp_start, solve_gram
from ._cp import CPResult

__all__ = ["cp_constrained"]

Prox = Callable[..., Array]


def _admm_mode(h, u, k, gram, prox, hyper, inner):
    """``inner`` ADMM steps on ``min_H 1/2 ||X_(n) - H W^T||^2 + g(H)`` with ``K = X_(n) W``
    and ``G = W^T W`` (Huang, Sidiropoulos & Liavas 2016, Algorithm 1): ``ρ = tr(G) / R``,
    one Cholesky factor of ``G + ρ I`` for all steps, the split variable by a solve, ``H``
    by the prox of ``g / ρ``, the scaled dual by the split's residual."""
    r = gram.shape[0]
    rho = jnp.trace(gram) / r
    rho = jnp.where(rho > 0, rho, 1.0)
    factor = jsl.cho_factor(gram + rho * jnp.eye(r, dtype=gram.dtype), lower=True)

    def step(_, carry):
        h, u = carry
        split = jsl.cho_solve(factor, (k + rho * (h + u)).T)  # (R, I_n)
        h = prox(split - u.T, hyper, 1.0 / rho).T
        return h, u + h - split.T

    return jax.lax.fori_loop(0, inner, step, (h, u))


@functools.partial(jax.jit, static_argnames=("proxes", "inner", "maxiter"))
def _cp_constrained(x, factors0, hypers, tol, *, proxes, inner, maxiter):
    n_modes = x.ndim
    duals0 = tuple(jnp.zeros_like(f) for f in factors0)

    def sweep(state, data):
        factors, duals = (list(s) for s in state)
        x, hypers, norm_sq = data
        grams = [f.T @ f for f in factors]
        k = gram = jnp.zeros(())
        for n in range(n_modes):
            k = mttkrp(x, factors, n)
            gram = functools.reduce(jnp.multiply, [grams[m] for m in range(n_modes) if m != n])
            if proxes[n] is None:
                factors[n] = solve_gram(gram, k)
            else:
                factors[n], duals[n] = _admm_mode(
                    factors[n], duals[n], k, gram, proxes[n], hypers[n], inner
                )
            grams[n] = factors[n].T @ factors[n]
        inner_prod = jnp.sum(k * factors[-1])
        fit_sq = jnp.sum(gram * grams[-1])
        err = relative(norm_sq - 2 * inner_prod + fit_sq, norm_sq)
        return (tuple(factors), tuple(duals)), err

    (factors, _), info = iterate(
        sweep,
        (factors0, duals0),
        (x, hypers, jnp.sum(x * x)),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        watch=lambda s: s[0],
    )
    cp = CPTensor(jnp.ones(factors[0].shape[1], x.dtype), factors)
    error = cp_relative_error(x, cp)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def _start(x, factors):
    """The absolute values of unit columns (a column of mostly negative entries, as an SVD
    basis has, would be zeroed by a non-negativity prox and its component never come back),
    the first factor scaled by the least-squares scalar fit of the model to ``x``."""
    factors = [jnp.abs(f) for f in factors]
    model = CPTensor(jnp.ones(factors[0].shape[1], x.dtype), tuple(factors)).to_dense()
    denom = jnp.sum(model * model)
    scale = jnp.where(denom > 0, jnp.sum(model * x) / jnp.where(denom > 0, denom, 1.0), 1.0)
    factors[0] = factors[0] * jnp.abs(scale)
    return tuple(factors)


def _per_mode(name, value, n, default):
    if value is None:
        return (default,) * n
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n:
            raise ValueError(f"`{name}` must hold one entry per mode ({n}), got {len(value)}.")
        return tuple(value)
    return (value,) * n


def cp_constrained(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    prox: Prox | Sequence[Prox | None] | None,
    hyperparams: Any = None,
    key: Array | None = None,
    init: str | CPTensor = "svd",
    inner: int = 10,
    maxiter: int = 100,
    tol: float | Array = 1e-8,
) -> CPResult:
    r"""Constrained or regularized CP decomposition by AO-ADMM, one proximal operator per mode.

    .. math:: \min_{A_0, \dots, A_{N-1}} \tfrac12 \big\|\mathcal X - [\![A_0, \dots,
       A_{N-1}]\!]\big\|_F^2 + \sum_n g_n(A_n)

    Alternating optimization over the factors; each factor's subproblem (a least-squares fit
    plus :math:`g_n`) is solved approximately by ``inner`` ADMM steps, warm-started from the
    previous sweep's factor and dual, with :math:`\rho = \operatorname{tr}(G)/R` and one
    Cholesky factor of :math:`G + \rho I` per subproblem (Huang, Sidiropoulos & Liavas
    2016). :math:`g_n` enters only through its proximal operator, any function with the
    signature of :mod:`lrjax.prox` (``prox(v, hyperparams, scaling)``): non-negativity
    (:func:`~lrjax.prox.prox_nonneg`), sparsity (:func:`~lrjax.prox.prox_l1`), simplex
    columns (:func:`~lrjax.prox.projection_simplex`), smoothness
    (:func:`~lrjax.prox.prox_smooth`), monotone or unimodal columns
    (:func:`~lrjax.prox.projection_monotone`, :func:`~lrjax.prox.projection_unimodal`),
    bounds, group sparsity, or a user's own. TensorLy's ``constrained_parafac`` (its
    keyword constraints map to these operators; its ``l1_reg`` is not scaled by ``1/ρ``,
    here every prox gets the ADMM scaling ``1/ρ``, so ``g`` is the penalty as written).

    The prox receives factor ``n`` **transposed**, shape ``(R, I_n)``: one component per
    row, so operators that act along the last axis (simplex, monotone, unimodal, smooth,
    k-support) constrain each component's loading vector, as TensorLy's column-wise
    constraints do; elementwise operators do not mind. A mode whose prox is ``None`` is
    solved by plain least squares. The factors are returned as fitted (unit weights, the
    scale inside the factors), so they satisfy their constraints; no column normalisation.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: number of components (static).
        prox: one proximal operator for every mode, or a sequence of ``N`` (``None`` for an
            unconstrained mode). Static: pass the same function objects to avoid recompiling.
        hyperparams: the operators' ``hyperparams``: with one ``prox``, passed to it for every
            mode; with a sequence, a sequence of ``N`` (or None). Traced, so a loss can be
            differentiated with respect to them.
        key: PRNG key (``init="random"``, or ``"svd"`` with ``rank`` above a mode's size).
        init: ``"svd"`` (default; leading singular vectors of each unfolding) or
            ``"random"``, both as absolute values (a sign-indefinite column would be zeroed
            by a non-negativity prox and its component lost), the first
            factor scaled to fit ``x`` and every factor passed through its prox once (as
            TensorLy does); or a :class:`~lrjax.tensors.CPTensor` (weights folded into the
            last factor; used as given).
        inner: ADMM steps per factor per sweep (static; TensorLy's ``n_iter_max_inner``).
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).

    Returns:
        ``CPResult(cp, info)``: ``cp.weights`` are ones and ``cp.factors`` the constrained
        factors; ``info.error`` is the relative reconstruction error. Derivatives unroll the
        sweeps.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, a ``prox`` that is not
            callable, per-mode sequences of the wrong length, an ``init`` of other shape or
            rank, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax import prox
        >>> ks = jax.random.split(jax.random.key(0), 3)
        >>> x = CPTensor(jnp.ones(2), tuple(jax.random.uniform(k, (n, 2)) for k, n in
        ...     zip(ks, (6, 5, 4)))).to_dense()
        >>> res = cp_constrained(x, 2, prox=prox.prox_nonneg, maxiter=300)
        >>> float(res.info.error) < 0.02, all(bool((f >= 0).all()) for f in res.cp.factors)
        (True, True)

    References:
        K. Huang, N. D. Sidiropoulos, A. P. Liavas, "A flexible and efficient algorithmic
        framework for constrained matrix and tensor factorization", IEEE Trans. Signal
        Process. 64(19), 2016. TensorLy's ``constrained_parafac``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    n = x.ndim
    rank = _checks.positive_int("rank", rank)
    inner = _checks.positive_int("inner", inner)
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    if prox is None or callable(prox):
        proxes = (prox,) * n
        hypers = (hyperparams,) * n
    elif isinstance(prox, Sequence) and not isinstance(prox, str):
        proxes = _per_mode("prox", prox, n, None)
        hypers = _per_mode("hyperparams", hyperparams, n, None)
        if hyperparams is not None and not (
            isinstance(hyperparams, Sequence) and not isinstance(hyperparams, str)
        ):
            raise ValueError(
                "`hyperparams` must be a sequence of one entry per mode when `prox` is a "
                f"sequence, got {hyperparams!r}."
            )
    else:
        raise ValueError(
            f"`prox` must be a proximal operator, a sequence of {n} of them (None for an "
            f"unconstrained mode) or None, got {prox!r}."
        )
    for m, p in enumerate(proxes):
        if p is not None and not callable(p):
            raise ValueError(f"`prox[{m}]` must be callable or None, got {p!r}.")
    if is_cp_start(init):
        factors0 = cp_start(init, x.shape, rank, x.dtype)
    else:
        init = _checks.choice("init", init, ("svd", "random"))
        needs_key = init == "random" or rank > min(x.shape)
        key = _checks.prng_key("key", key) if needs_key or key is not None else None
        factors0 = _start(x, init_factors(x, key, rank, init))
        factors0 = tuple(
            f if p is None else p(f.T, h, 1.0).T
            for f, p, h in zip(factors0, proxes, hypers, strict=True)
        )
    return _cp_constrained(x, factors0, hypers, tol, proxes=proxes, inner=inner, maxiter=maxiter)
