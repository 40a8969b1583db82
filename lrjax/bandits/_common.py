"""Shared pieces of the pricing model: the instance container, its checks and the best
fixed price in the features' coordinates."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks


class PricingProblem(NamedTuple):
    """One dynamic-pricing instance (a pytree: a batch of instances vmaps).

    Attributes:
        u: ``(N, d)`` orthonormal latent product features.
        z: ``(T, d)`` baseline-demand coefficients, ``c_t = U z_t``.
        v: ``(T, d, d)`` cross-elasticities, ``B_t = U V_t U^T``.
        noise_key: the PRNG key of the demand noise ``eps_t``.
        noise_scale: standard deviation of each entry of ``eps_t``.
        radius: prices are restricted to ``||p||_2 <= radius``.
    """

    u: Float[Array, "n d"]
    z: Float[Array, "t d"]
    v: Float[Array, "t d d"]
    noise_key: Array
    noise_scale: Float[Array, ""]
    radius: Float[Array, ""]


def check_problem(problem) -> PricingProblem:
    """``problem`` if it is a :class:`PricingProblem` with consistent shapes and a valid
    radius and noise scale (checked when concrete), else a ``ValueError`` naming it."""
    if not isinstance(problem, PricingProblem):
        raise ValueError(
            f"`problem` must be a PricingProblem (from lrjax.bandits.pricing_problem), got "
            f"{type(problem).__name__}."
        )
    if jnp.ndim(problem.u) != 2:
        raise ValueError(f"`problem.u` must be an (N, d) matrix, got {jnp.shape(problem.u)}.")
    d = jnp.shape(problem.u)[1]
    if jnp.ndim(problem.z) != 2 or jnp.shape(problem.z)[1] != d:
        raise ValueError(f"`problem.z` must have shape (T, {d}), got {jnp.shape(problem.z)}.")
    t = jnp.shape(problem.z)[0]
    if jnp.shape(problem.v) != (t, d, d):
        raise ValueError(f"`problem.v` must have shape {(t, d, d)}, got {jnp.shape(problem.v)}.")
    _checks.positive("problem.radius", problem.radius)
    _checks.nonnegative("problem.noise_scale", problem.noise_scale)
    return problem


def _ball_quadratic_max(a, b, radius, iters: int = 100):
    """``argmax_{||x|| <= radius} b.x - x^T a x`` for symmetric positive definite ``a``: the
    trust-region subproblem, by bisection on the multiplier ``mu`` of ``(2a + 2mu) x = b``."""
    lam, q = jnp.linalg.eigh(a)
    c = q.T @ b

    def at(mu):
        return q @ (c / (2.0 * (lam + mu)))

    inside = jnp.linalg.norm(at(0.0)) <= radius
    hi = jnp.linalg.norm(b) / (2.0 * radius) + jnp.abs(jnp.min(lam)) + 1.0

    def bisect(_, bounds):
        lo_, hi_ = bounds
        mid = 0.5 * (lo_ + hi_)
        big = jnp.linalg.norm(at(mid)) > radius
        return jnp.where(big, mid, lo_), jnp.where(big, hi_, mid)

    _, mu = lax.fori_loop(0, iters, bisect, (jnp.zeros_like(hi), hi))
    return jnp.where(inside, at(0.0), at(mu))


@jax.jit
def best_coordinates(problem):
    """The best fixed price in hindsight in the features' coordinates, ``x* = U^T p*``."""
    z_sum = jnp.sum(problem.z, axis=0)
    v_sum = jnp.sum(problem.v, axis=0)
    return _ball_quadratic_max(0.5 * (v_sum + v_sum.T), z_sum, problem.radius)
