"""Optimisation-based CP: Levenberg-Marquardt (Gauss-Newton) or L-BFGS on all factors at once."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._sharding import partitioned
from ..solvers import levenberg_marquardt
from ..solvers._implicit import implicit_stationary_point
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._common import (
    balance,
    canonical_cp,
    check_init_key,
    cp_init,
    cp_relative_error,
    dense_cp,
    dense_inner,
    init_factors,
    observation_weights,
    scale_into_last,
    spread_norms,
    weighted_error,
)
from ._cp import CPResult


def _cp_residual(factors, x, sqrt_w):
    return sqrt_w * (dense_cp(factors) - x)


def _cp_objective(factors, data):
    x, sqrt_w = data
    r = _cp_residual(factors, x, sqrt_w)
    return 0.5 * jnp.sum(r * r)


@functools.partial(jax.jit, static_argnames=("rank", "init", "method", "maxiter", "diff"))
def _cp_opt(x, weights, key, tol, start=None, *, rank, init, method, maxiter, diff):
    sqrt_w = jnp.ones_like(x) if weights is None else jnp.sqrt(weights)
    x_fit = x if weights is None else weights * x
    if start is not None:  # a warm start: its own scale, spread evenly over the modes
        factors0 = spread_norms(start)
    else:
        factors0 = init_factors(x_fit, key, rank, init)
        factors0 = balance(factors0, dense_inner(x_fit, factors0))
    data = (x, sqrt_w)
    if method == "lm":
        factors, info = levenberg_marquardt(
            _cp_residual, factors0, data, tol=tol, maxiter=maxiter, diff=diff, attempts=3
        )
    else:
        factors, info = _lbfgs(factors0, data, tol, maxiter=maxiter)
    cp = canonical_cp(scale_into_last(factors))
    if weights is None:
        error = cp_relative_error(x, cp)
    else:
        error = weighted_error(x, weights, cp.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def _lbfgs(factors0, data, tol, *, maxiter):
    """L-BFGS (optax, zoom line search) on the CP objective; implicit gradients."""
    optax = _optax()
    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(_cp_objective)
    x, sqrt_w = data
    scale = jnp.sqrt(jnp.sum((sqrt_w * x) ** 2))

    def step(state, data):
        params, opt_state = state
        value, grad = value_and_grad(params, data, state=opt_state)
        updates, opt_state = opt.update(
            grad, opt_state, params, value=value, grad=grad,
            value_fn=lambda p: _cp_objective(p, data),
        )  # fmt: skip
        params = optax.apply_updates(params, updates)
        err = jnp.sqrt(2.0 * optax.tree_utils.tree_get(opt_state, "value")) / scale
        return (params, opt_state), err

    def attach(state, data):
        params, opt_state = state
        return implicit_stationary_point(_cp_objective, params, data), opt_state

    state0 = (factors0, opt.init(factors0))
    (factors, _), info = iterate(
        step, state0, data, maxiter=maxiter, tol=tol, diff="implicit", implicit=attach,
        watch=lambda state: state[0],
    )  # fmt: skip
    return factors, info


def _optax():
    """optax, imported on first use: it is needed by ``method="lbfgs"`` only and is not a core
    dependency of lrjax (the ``nn`` and ``experiments`` extras bring it)."""
    try:
        import optax
    except ImportError as err:  # pragma: no cover - exercised by the core-only CI step
        raise ImportError(
            "cp_opt(method='lbfgs') needs optax: pip install optax (or lrjax[nn])"
        ) from err
    return optax


def cp_opt(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    key: jax.Array | None = None,
    init: str | CPTensor = "svd",
    method: str = "lm",
    maxiter: int = 200,
    tol: float | Array = 1e-10,
    diff: str = "implicit",
    weights: Float[Array, "*dims"] | None = None,
    mask: Array | None = None,
) -> CPResult:
    r"""CP decomposition by optimisation over all factors at once.

    .. math:: \min_{A_0, \dots, A_{N-1}} \tfrac12 \bigl\| \sqrt{W} \circ \bigl(\mathcal{X} -
       [\![A_0, \dots, A_{N-1}]\!]\bigr) \bigr\|_F^2

    ``method="lm"`` (default) takes damped Gauss-Newton (Levenberg-Marquardt) steps on the
    stacked factors, solved by CG on Jacobian products (:func:`lrjax.solvers.levenberg_marquardt`),
    the approach of Tensorlab's ``cpd_nls``: with nearly collinear components, where ALS
    stalls for thousands of sweeps, it typically converges in tens of iterations. ``method="lbfgs"``
    runs optax's L-BFGS with a zoom line search (the ``cp_opt`` of Tensor Toolbox). With
    ``weights`` or ``mask`` the objective is the true weighted one (``cp_wopt``): missing
    entries are never imputed. The result is in :func:`cp_als`'s canonical form.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: number of components (static).
        key: PRNG key, needed for ``init="random"`` or when ``rank > min(x.shape)``.
        init: ``"svd"`` or ``"random"``, the initial factors scaled by the least-squares
            weights; or a warm start, a :class:`~lrjax.tensors.CPTensor` of ``x``'s shape
            and rank ``rank`` (as in :func:`cp_als`). Either way the components' norms are
            spread evenly over the modes.
        method: ``"lm"`` or ``"lbfgs"`` (static).
        maxiter: maximum iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (stationarity of the objective; default) or ``"unroll"``
            (``"lm"`` only: optax's line search is a while loop).
        weights: non-negative weights of ``x``'s shape (zero = missing; ``x`` may hold NaN
            there).
        mask: boolean (or 0/1) array of ``x``'s shape, True where observed; shorthand for 0/1
            ``weights`` (give one or the other).

    Returns:
        ``CPResult(cp, info)``; ``info.error`` is the (weighted) relative error.

    Raises:
        ValueError: as :func:`cp_als`, plus an unknown ``method``, ``diff="unroll"`` with
            ``"lbfgs"``, negative weights, or both ``weights`` and ``mask``.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_cp
        >>> x = random_cp(jax.random.key(0), (6, 5, 4), 2).to_dense()
        >>> cp, info = cp_opt(x, 2)
        >>> bool(info.error < 1e-6)  # float32 rounding; about 1e-15 in float64
        True

    References:
        L. Sorber, M. Van Barel and L. De Lathauwer, "Optimization-based algorithms for
        tensor decompositions: canonical polyadic decomposition, decomposition in rank-(Lr,
        Lr, 1) terms, and a new generalization", SIAM J. Optim. 23(2), 2013. E. Acar, D. M.
        Dunlavy, T. G. Kolda and M. Mørup, "Scalable tensor factorizations for incomplete
        data", Chemometr. Intell. Lab. 106(1), 2011 (``cp_wopt``).
    """
    x = _checks.as_array("x", x, min_ndim=2, check_finite=False)
    rank = _checks.positive_int("rank", rank)
    start, init_name = cp_init("init", init, x, rank)
    method = _checks.choice("method", method, ("lm", "lbfgs"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    if method == "lbfgs" and diff == "unroll":
        raise ValueError("`diff` must be 'implicit' with method='lbfgs', got 'unroll'.")
    check_init_key(key, init_name, rank, x.shape)
    weights = observation_weights(x, weights, mask)
    x = _checks.zero_unobserved("x", x, None if weights is None else weights > 0)
    return partitioned(
        _cp_opt,
        x,
        weights,
        key,
        tol,
        start,
        rank=rank,
        init=init_name,
        method=method,
        maxiter=maxiter,
        diff=diff,
    )
