"""Two-block ADMM with pluggable updates, over-relaxation and residual balancing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from .._sharding import partitioned
from ._implicit import implicit_fixed_point
from ._info import SolverInfo
from ._loop import iterate


class ADMMResult(NamedTuple):
    """Result of :func:`admm`: primal blocks ``x``, ``z``, scaled dual ``u``, final penalty
    ``rho`` and :class:`SolverInfo`."""

    x: Any
    z: Any
    u: Any
    rho: jax.Array
    info: SolverInfo


def _identity(v):
    return v


def _negate(v):
    return jax.tree.map(jnp.negative, v)


def _norm(tree):
    return jnp.sqrt(sum(jnp.sum(jnp.abs(leaf) ** 2) for leaf in jax.tree.leaves(tree)))


def _add(*trees):
    return jax.tree.map(lambda *v: sum(v[1:], v[0]), *trees)


def _sub(a, b):
    return jax.tree.map(jnp.subtract, a, b)


def _scale(alpha, tree):
    return jax.tree.map(lambda v: alpha * v, tree)


def _admm_map(x_update, z_update, a_op, b_op):
    """One ADMM iteration at a fixed penalty: ``(x, z, u) -> (x', z', u')`` plus residuals.

    Every array it uses is an argument (no closure over traced values), so the same map
    serves the forward loop and the implicit-differentiation VJP.
    """

    def apply(state, rho, params, c, alpha):
        _, z, u = state  # x is recomputed from (z, u)
        x_new = x_update(z, u, rho, params)
        ax = a_op(x_new)
        bz = b_op(z)
        ax_hat = _sub(_add(_scale(alpha, ax), _scale(1.0 - alpha, c)), _scale(1.0 - alpha, bz))
        z_new = z_update(ax_hat, u, rho, params)
        bz_new = b_op(z_new)
        u_new = _sub(_add(u, ax_hat, bz_new), c)
        primal = _sub(_add(ax, bz_new), c)
        return (x_new, z_new, u_new), (ax, bz_new, primal, _sub(bz_new, bz))

    return apply


@functools.partial(
    jax.jit,
    static_argnames=("x_update", "z_update", "a_op", "b_op", "maxiter", "adaptive", "diff"),
)
def _admm(
    init, params, c, rho0, alpha, tol, *, x_update, z_update, a_op, b_op, maxiter, adaptive, diff
):
    x0, z0 = init
    u0 = jax.tree.map(jnp.zeros_like, c)
    dtype = jnp.result_type(*jax.tree.leaves(init))
    apply = _admm_map(x_update, z_update, a_op, b_op)
    a_transpose = jax.linear_transpose(a_op, x0)
    mu, tau = 10.0, 2.0

    def step(state, params):
        (x, z, u), rho = state
        (x, z, u), (ax, bz, primal, dbz) = apply((x, z, u), rho, params, c, alpha)
        (dual,) = a_transpose(_scale(rho, dbz))
        r, s = _norm(primal), _norm(dual)
        scale_p = jnp.maximum(jnp.maximum(_norm(ax), _norm(bz)), _norm(c))
        (atu,) = a_transpose(_scale(rho, u))
        (atbz,) = a_transpose(_scale(rho, bz))
        # Boyd et al.'s dual scale ||ρAᵀu||, floored by ||ρAᵀBz|| (the same units): while the
        # scaled dual is still zero (g = 0, or a constraint not yet active) the dual residual
        # is measured against the iterate's own size, as the relative change of Bz, instead
        # of against zero.
        scale_d = jnp.maximum(_norm(atu), _norm(atbz))
        tiny = jnp.finfo(dtype).tiny
        err = jnp.maximum(r / jnp.maximum(scale_p, tiny), s / jnp.maximum(scale_d, tiny))
        if adaptive:  # residual balancing (Boyd et al. 2011, Sec. 3.4.1); u is scaled by 1/rho
            up = r > mu * s
            down = s > mu * r
            factor = jnp.where(up, tau, jnp.where(down, 1.0 / tau, 1.0))
            rho = rho * factor
            u = _scale(1.0 / factor, u)
        return ((x, z, u), rho), err

    def attach(state, params):
        (x, z, u), rho = state
        rho_c = jax.lax.stop_gradient(rho)  # a parameter of the map, not a closure
        fixed = implicit_fixed_point(
            lambda s, p: apply(s, *p)[0], (x, z, u), (rho_c, params, c, alpha)
        )
        return fixed, rho

    state0 = ((x0, z0, u0), jnp.asarray(rho0, dtype))
    ((x, z, u), rho), info = iterate(
        step,
        state0,
        params,
        maxiter=maxiter,
        tol=tol,
        diff=diff,
        criterion="value",
        implicit=attach,
    )
    return ADMMResult(x, z, u, rho, info)


def admm(
    x_update: Callable,
    z_update: Callable,
    init: tuple[Any, Any],
    params: Any = None,
    *,
    a_op: Callable = _identity,
    b_op: Callable = _negate,
    c: Any = None,
    rho: float = 1.0,
    alpha: float = 1.0,
    adaptive: bool = True,
    maxiter: int = 500,
    tol: float = 1e-6,
    diff: str = "implicit",
) -> ADMMResult:
    r"""Two-block ADMM for :math:`\min_{x,z} f(x) + g(z)` s.t. :math:`Ax + Bz = c`.

    Scaled form (Boyd et al. 2011, Sec. 3.1.1) with over-relaxation ``alpha``:

    .. math::
       x^{k+1} &= \arg\min_x f(x) + \tfrac{\rho}{2}\|Ax + Bz^k - c + u^k\|^2
       \quad\text{(x\_update)}\\
       h &= \alpha A x^{k+1} - (1 - \alpha)(B z^k - c)\\
       z^{k+1} &= \arg\min_z g(z) + \tfrac{\rho}{2}\|h + Bz - c + u^k\|^2
       \quad\text{(z\_update)}\\
       u^{k+1} &= u^k + h + B z^{k+1} - c

    The two minimisations are supplied by the caller (usually a prox or a linear solve):
    ``x_update(z, u, rho, params) -> x`` and ``z_update(h, u, rho, params) -> z``. With the
    defaults ``A = I``, ``B = -I``, ``c = 0`` (consensus ``x = z``), ``z_update`` is
    ``prox_g(h + u, 1/rho)``. With ``adaptive``, ``rho`` is rebalanced (x2 or /2) whenever one
    residual exceeds ten times the other. Stops when both the relative primal residual
    ``||Ax + Bz - c|| / max(||Ax||, ||Bz||, ||c||)`` and the relative dual residual
    ``||ρAᵀB(z^{k+1} - z^k)|| / max(||ρAᵀu||, ||ρAᵀBz||)`` are below ``tol`` (Boyd et al.
    2011, Sec. 3.3.1, with relative tolerances; the second term of the dual scale keeps the
    test meaningful while the scaled dual ``u`` is still zero, e.g. for ``g = 0`` or a
    constraint not yet active, where it reads as the relative change of ``Bz``).

    Args:
        x_update, z_update: the block minimisations (static, hashable callables).
        init: ``(x0, z0)``.
        params: pytree passed to both updates (traced; gradients flow to it).
        a_op, b_op: linear maps ``A`` and ``B`` (static callables; ``A``'s transpose is
            derived with ``jax.linear_transpose``).
        c: right-hand side (a pytree shaped like ``A x``; default zeros).
        rho: initial penalty.
        alpha: over-relaxation, in ``(0, 2)``; 1.0 is plain ADMM, 1.5-1.8 often faster.
        adaptive: residual balancing of ``rho`` (static).
        maxiter: maximum iterations (static).
        tol: relative residual tolerance.
        diff: ``"implicit"`` (the fixed point of one iteration at the final ``rho``) or
            ``"unroll"``.

    Returns:
        ``ADMMResult(x, z, u, rho, info)``; ``info.error`` is the larger relative residual.

    Raises:
        ValueError: for a non-positive ``maxiter``, an unknown ``diff``, or ``alpha``
            outside ``(0, 2)``.

    References:
        S. Boyd, N. Parikh, E. Chu, B. Peleato, J. Eckstein, "Distributed optimization and
        statistical learning via the alternating direction method of multipliers",
        Found. Trends Mach. Learn. 3(1), 2011.
    """
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    _checks.scalar("alpha", alpha, lambda v: 0.0 < v < 2.0, "in (0, 2)")
    rho = _checks.positive("rho", rho)
    tol = _checks.tolerance(tol)
    if not isinstance(init, tuple | list) or len(init) != 2:
        raise ValueError(
            "`init` must be a pair (x0, z0) of the two blocks' starting points, got "
            f"{type(init).__name__} of {len(init) if isinstance(init, tuple | list) else 1} "
            "entries."
        )
    _checks.floating_tree("init", init)
    if c is None:
        c = jax.tree.map(jnp.zeros_like, a_op(init[0]))
    return partitioned(
        _admm,
        tuple(init),
        params,
        c,
        rho,
        alpha,
        tol,
        x_update=x_update,
        z_update=z_update,
        a_op=a_op,
        b_op=b_op,
        maxiter=maxiter,
        adaptive=bool(adaptive),
        diff=diff,
    )
