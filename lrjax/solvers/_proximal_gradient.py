"""Proximal gradient descent (ISTA) and its accelerated form (FISTA), with backtracking."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .. import _checks
from .._sharding import partitioned
from ._implicit import implicit_fixed_point
from ._info import SolverInfo
from ._loop import iterate


class ProximalGradientResult(NamedTuple):
    """Result of :func:`proximal_gradient`: the minimiser and its :class:`SolverInfo`."""

    x: Any
    info: SolverInfo


def _prox_none(x, hyperparams=None, scaling=1.0):
    del hyperparams, scaling
    return x


def _tree_vdot(a, b):
    return sum(jnp.vdot(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def _tree_sq(a):
    return _tree_vdot(a, a)


def _tree_axpy(alpha, x, y):
    return jax.tree.map(lambda u, v: alpha * u + v, x, y)


def _pg_point(fun, prox, y, grad_y, lipschitz, args, hyper):
    step = 1.0 / lipschitz
    return prox(_tree_axpy(-step, grad_y, y), hyper, step)


def _backtrack(fun, prox, y, args, hyper, lipschitz, max_backtracks):
    """Smallest ``L = L0 * 2^j`` meeting the sufficient-decrease (majorisation) condition."""
    val_y, grad_y = jax.value_and_grad(fun)(y, *args)

    def too_small(carry):
        lip, j = carry
        x = _pg_point(fun, prox, y, grad_y, lip, args, hyper)
        d = jax.tree.map(jnp.subtract, x, y)
        bound = val_y + _tree_vdot(grad_y, d) + 0.5 * lip * _tree_sq(d)
        # the slack covers rounding in f (float32 included); a non-finite f(x) is too far
        value = fun(x, *args)
        slack = 10 * jnp.finfo(jnp.result_type(value)).eps * jnp.abs(val_y)
        return ~(value <= bound + slack) & (j < max_backtracks)

    lip, _ = lax.while_loop(too_small, lambda c: (2.0 * c[0], c[1] + 1), (lipschitz, 0))
    return lip


@functools.partial(
    jax.jit, static_argnames=("fun", "prox", "maxiter", "acceleration", "diff", "backtrack")
)
def _proximal_gradient(
    x0, args, hyper, stepsize, tol, *, fun, prox, maxiter, acceleration, diff, backtrack
):
    dtype = jnp.result_type(*jax.tree.leaves(x0))
    lip0 = jnp.asarray(1.0 / stepsize, dtype=dtype)  # backtracking starts from L = 1

    def step(state, params):
        x, y, t, lip = state
        args, hyper = params
        if backtrack:  # the step size is data, not differentiated
            sg = lax.stop_gradient
            lip = _backtrack(fun, prox, sg(y), sg(args), sg(hyper), sg(lip), 60)
        grad_y = jax.grad(fun)(y, *args)
        x_new = _pg_point(fun, prox, y, grad_y, lip, args, hyper)
        if acceleration:
            # Adaptive restart (O'Donoghue & Candès 2015): drop the momentum when it points
            # uphill, which keeps FISTA's speed on strongly convex problems.
            uphill = (
                _tree_vdot(
                    jax.tree.map(jnp.subtract, y, x_new), jax.tree.map(jnp.subtract, x_new, x)
                )
                > 0
            )
            t = jnp.where(uphill, 1.0, t)
            t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
            y_new = _tree_axpy((t - 1.0) / t_new, jax.tree.map(jnp.subtract, x_new, x), x_new)
        else:
            t_new, y_new = t, x_new
        change = jnp.sqrt(_tree_sq(jax.tree.map(jnp.subtract, x_new, x)))
        err = change / jnp.maximum(jnp.sqrt(_tree_sq(x)), 1.0)
        return (x_new, y_new, t_new, lip), err

    def attach(state, params):
        x, y, t, lip = state
        step_size = lax.stop_gradient(1.0 / lip)

        def fixed_point_map(x, params_and_step):
            (args, hyper), eta = params_and_step
            grad = jax.grad(fun)(x, *args)
            return prox(_tree_axpy(-eta, grad, x), hyper, eta)

        x = implicit_fixed_point(fixed_point_map, x, (params, step_size))
        return x, y, t, lip

    state0 = (x0, x0, jnp.asarray(1.0, dtype), lip0)
    (x, _, _, _), info = iterate(
        step,
        state0,
        (args, hyper),
        maxiter=maxiter,
        tol=tol,
        diff=diff,
        criterion="value",
        implicit=attach,
    )
    return ProximalGradientResult(x, info)


def proximal_gradient(
    fun: Callable,
    x0: Any,
    args: tuple = (),
    *,
    prox: Callable = _prox_none,
    hyperparams_prox: Any = None,
    stepsize: float | None = None,
    maxiter: int = 500,
    tol: float = 1e-6,
    acceleration: bool = True,
    diff: str = "implicit",
) -> ProximalGradientResult:
    r"""Minimise :math:`f(x) + g(x)` by proximal gradient descent (ISTA) or FISTA.

    .. math:: x_{k+1} = \operatorname{prox}_{\eta g}\bigl(y_k - \eta \nabla f(y_k)\bigr),
       \qquad y_{k+1} = x_{k+1} + \tfrac{t_k - 1}{t_{k+1}} (x_{k+1} - x_k)

    with :math:`t_{k+1} = (1 + \sqrt{1 + 4t_k^2})/2` when ``acceleration`` (FISTA, with the
    gradient-based adaptive restart of O'Donoghue & Candès 2015: ``t`` is reset to 1 when
    :math:`\langle y_k - x_{k+1}, x_{k+1} - x_k\rangle > 0`), else
    ``y = x`` (ISTA). Without ``stepsize``, :math:`\eta = 1/L` comes from backtracking (Beck &
    Teboulle's rule: ``L`` never decreases, starting from 1): ``L`` doubles until
    :math:`f(x_{k+1}) \le f(y) + \langle \nabla f(y), x_{k+1} - y\rangle
    + \tfrac{L}{2}\|x_{k+1} - y\|^2`.
    Stops when the relative change ``||x_{k+1} - x_k|| / max(||x_k||, 1)`` is below ``tol``.

    Args:
        fun: smooth part ``f(x, *args) -> scalar`` (static; a hashable function).
        x0: initial point (a pytree).
        args: extra arguments of ``fun`` (traced, differentiable).
        prox: ``prox(x, hyperparams, scaling)`` of ``g`` (static), e.g. from
            :mod:`lrjax.prox`; default: no ``g``.
        hyperparams_prox: hyperparameters of ``g`` (traced, differentiable).
        stepsize: fixed step ``η`` (``<= 1/L`` for convergence); ``None`` for backtracking.
        maxiter: maximum iterations (static).
        tol: stopping tolerance on the relative change.
        acceleration: FISTA (default) or ISTA (static).
        diff: ``"implicit"`` (differentiate the fixed point ``x = prox(x − η∇f(x))``) or
            ``"unroll"``.

    Returns:
        ``ProximalGradientResult(x, info)``; ``info.error`` is the last relative change.

    Raises:
        ValueError: for a non-positive ``maxiter`` or ``stepsize``, or an unknown ``diff``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from lrjax.prox import prox_l1
        >>> fun = lambda x, b: 0.5 * jnp.sum((x - b) ** 2)
        >>> res = proximal_gradient(fun, jnp.zeros(2), (jnp.array([3.0, 0.2]),),
        ...                         prox=prox_l1, hyperparams_prox=1.0)
        >>> [round(float(v), 4) for v in res.x]
        [2.0, 0.0]

    References:
        A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for
        linear inverse problems", SIAM J. Imaging Sci. 2(1), 2009. Same iteration as
        ``jaxopt.ProximalGradient``.
    """
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    _checks.floating_tree("x0", x0)
    backtrack = stepsize is None
    if stepsize is not None and _checks.is_concrete(stepsize) and not float(stepsize) > 0:
        raise ValueError(f"`stepsize` must be positive or None, got {stepsize!r}.")
    return partitioned(
        _proximal_gradient,
        x0,
        tuple(args),
        hyperparams_prox,
        1.0 if backtrack else stepsize,
        tol,
        fun=fun,
        prox=prox,
        maxiter=maxiter,
        acceleration=bool(acceleration),
        diff=diff,
        backtrack=backtrack,
    )
