"""Implicit differentiation of fixed points ``z* = T(z*, θ)``.

The reverse-mode derivative solves the adjoint system ``(I - ∂_z T)^T w = z̄`` by GMRES using
vector-Jacobian products of ``T``, then returns ``(∂_θ T)^T w``. The forward iterations are
never differentiated, so memory does not grow with the number of iterations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.sparse.linalg import gmres

Z = TypeVar("Z")


def implicit_fixed_point(
    fixed_point_map: Callable[[Z, Any], Z],
    z_star: Z,
    params: Any,
    *,
    tol: float = 1e-10,
    restart: int = 30,
    maxiter: int = 20,
) -> Z:
    r"""Return ``z_star`` with a custom VJP given by the implicit function theorem.

    ``z_star`` must be (close to) a fixed point of ``fixed_point_map(·, params)``. Its
    derivative with respect to ``params`` is
    :math:`\bar\theta = (\partial_\theta T)^\top (I - \partial_z T)^{-\top} \bar z`; no
    gradient flows to the iterations that produced ``z_star``.

    Args:
        fixed_point_map: ``T(z, params) -> z``, a pure function of its two arguments (it must
            not close over traced arrays that need gradients: put those in ``params``).
        z_star: the fixed point (a pytree).
        params: pytree of parameters to differentiate with respect to.
        tol: relative tolerance of the GMRES adjoint solve.
        restart: GMRES Krylov subspace size.
        maxiter: GMRES restarts.

    Returns:
        ``z_star``, differentiable with respect to ``params`` in reverse mode.
    """

    if any(jnp.iscomplexobj(leaf) for leaf in jax.tree_util.tree_leaves(z_star)):
        return _realified(fixed_point_map, z_star, params, tol, restart, maxiter)

    @jax.custom_vjp
    def attach(z, params):
        return z

    def fwd(z, params):
        return z, (z, params)

    def bwd(res, z_bar):
        z, params = res
        _, vjp_z = jax.vjp(lambda zz: fixed_point_map(zz, params), z)

        def matvec(w):
            (jt_w,) = vjp_z(w)
            return jax.tree_util.tree_map(jnp.subtract, w, jt_w)

        w, _ = gmres(matvec, z_bar, tol=tol, atol=0.0, restart=restart, maxiter=maxiter)
        _, vjp_p = jax.vjp(lambda pp: fixed_point_map(z, pp), params)
        (params_bar,) = vjp_p(w)
        return jax.tree_util.tree_map(jnp.zeros_like, z), params_bar

    attach.defvjp(fwd, bwd)
    z_star = jax.tree_util.tree_map(jax.lax.stop_gradient, z_star)
    return attach(z_star, params)


def _realified(fixed_point_map, z_star, params, tol, restart, maxiter):
    """:func:`implicit_fixed_point` for a complex iterate: the map of a complex iterate is
    seldom holomorphic (CP-ALS conjugates), so its Jacobian is only real-linear and GMRES runs
    on the real and imaginary parts as separate real unknowns."""
    leaves, treedef = jax.tree_util.tree_flatten(z_star)
    cplx = [jnp.iscomplexobj(leaf) for leaf in leaves]

    def to_real(z):
        flat = jax.tree_util.tree_leaves(z)
        return [
            jnp.stack([jnp.real(a), jnp.imag(a)]) if c else a
            for a, c in zip(flat, cplx, strict=True)
        ]

    def to_complex(r):
        flat = [lax.complex(a[0], a[1]) if c else a for a, c in zip(r, cplx, strict=True)]
        return jax.tree_util.tree_unflatten(treedef, flat)

    real_map = lambda r, p: to_real(fixed_point_map(to_complex(r), p))
    r_star = implicit_fixed_point(
        real_map, to_real(z_star), params, tol=tol, restart=restart, maxiter=maxiter
    )
    return to_complex(r_star)


def implicit_stationary_point(
    objective: Callable[[Z, Any], jax.Array],
    z_star: Z,
    params: Any,
    *,
    tol: float = 1e-10,
    maxiter: int | None = None,
) -> Z:
    r"""Return ``z_star`` with a custom VJP for a stationary point of ``objective(·, params)``.

    At :math:`\nabla_z f(z^\star, \theta) = 0` the implicit function theorem gives
    :math:`\bar\theta = -(\partial_\theta \nabla_z f)^\top H^{-1} \bar z` with the Hessian
    :math:`H = \nabla_z^2 f`. The system is solved by conjugate gradients on Hessian-vector
    products. When ``f`` is invariant along some directions of ``z`` (the scaling and
    permutation indeterminacies of a decomposition), ``H`` is singular; the solve is still
    well defined for any downstream loss invariant along those directions (its cotangent lies
    in the range of ``H``, and the null-space part of the solution does not change
    :math:`\bar\theta`), which is the case for every loss on a reconstruction.

    Args:
        objective: ``f(z, params) -> scalar``, twice differentiable.
        z_star: the stationary point (a pytree).
        params: pytree of parameters to differentiate with respect to.
        tol: relative tolerance of the CG solve.
        maxiter: CG iterations (default: 10 times the number of entries of ``z``; the
            singular Hessians of decompositions need more than the textbook n).

    Returns:
        ``z_star``, differentiable with respect to ``params`` in reverse mode.
    """
    from jax.scipy.sparse.linalg import cg

    grad_z = jax.grad(objective)

    @jax.custom_vjp
    def attach(z, params):
        return z

    def fwd(z, params):
        return z, (z, params)

    def bwd(res, z_bar):
        z, params = res

        def hvp(v):
            return jax.jvp(lambda zz: grad_z(zz, params), (z,), (v,))[1]

        size = sum(leaf.size for leaf in jax.tree_util.tree_leaves(z))
        u, _ = cg(hvp, z_bar, tol=tol, atol=0.0, maxiter=maxiter or 10 * size)
        _, vjp_p = jax.vjp(lambda pp: grad_z(z, pp), params)
        (params_bar,) = vjp_p(u)
        # integer and boolean parameters (masks, lengths) have float0 cotangents: no sign
        negate = lambda g: g if g.dtype == jax.dtypes.float0 else -g
        params_bar = jax.tree_util.tree_map(negate, params_bar)
        return jax.tree_util.tree_map(jnp.zeros_like, z), params_bar

    attach.defvjp(fwd, bwd)
    z_star = jax.tree_util.tree_map(jax.lax.stop_gradient, z_star)
    return attach(z_star, params)
