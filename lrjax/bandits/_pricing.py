"""The low-rank demand model of dynamic pricing (Mueller, Syrgkanis & Taddy, "Low-rank bandit
methods for high-dimensional dynamic pricing", NeurIPS 2019) and its simulator.

In round ``t`` the seller posts prices ``p_t`` for ``N`` products and observes the demands

    q_t = c_t - B_t p_t + eps_t,   c_t = U z_t,   B_t = U V_t U^T,

with ``U`` an ``N x d`` orthonormal matrix of latent product features (``d << N``), ``z_t`` in
``R^d`` and ``V_t`` a ``d x d`` (asymmetric) matrix with ``V_t + V_t^T`` positive definite. The
expected revenue ``<q_t, p_t>`` is then ``f_t(U^T p_t)`` with

    f_t(x) = z_t . x - x^T V_t x,

a concave function of the ``d`` numbers ``x = U^T p``: this is what lets a bandit search in
``d`` dimensions instead of ``N``. Prices are restricted to the ball ``||p|| <= radius``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from ._common import PricingProblem, best_coordinates, check_problem


@functools.partial(jax.jit, static_argnames=("n_products", "rank", "horizon"))
def _problem(key, noise_scale, radius, drift, *, n_products, rank, horizon):
    dtype = jnp.result_type(float)
    k_u, k_s, k_k, k_z, k_zt, k_vt, k_noise = jax.random.split(key, 7)
    u, _ = jnp.linalg.qr(_random.normal(k_u, (n_products, rank), dtype))
    # Symmetric part Q diag(lam) Q^T with lam evenly spread over [1/2, 3/2] for every d, so
    # instances of different rank are equally well conditioned.
    q, _ = jnp.linalg.qr(_random.normal(k_s, (rank, rank), dtype))
    lam = jnp.linspace(0.5, 1.5, rank, dtype=dtype) if rank > 1 else jnp.ones((1,), dtype)
    sym = (q * lam) @ q.T
    g = _random.normal(k_k, (rank, rank), dtype)
    v_mean = sym + 0.25 * (g - g.T) / jnp.sqrt(rank)  # asymmetric cross-elasticities
    # The mean baseline demand puts the unconstrained best price at half the radius.
    direction = _random.normal(k_z, (rank,), dtype)
    x_half = 0.5 * radius * direction / jnp.linalg.norm(direction)
    z_mean = 2.0 * sym @ x_half
    z = z_mean + drift * jnp.linalg.norm(z_mean) / jnp.sqrt(rank) * _random.normal(
        k_zt, (horizon, rank), dtype
    )
    e = _random.normal(k_vt, (horizon, rank, rank), dtype)
    v = v_mean + 0.25 * drift * (e + jnp.swapaxes(e, 1, 2)) / jnp.sqrt(rank)
    return PricingProblem(
        u, z, v, k_noise, jnp.asarray(noise_scale, dtype), jnp.asarray(radius, dtype)
    )


def pricing_problem(
    key: Array,
    *,
    n_products: int,
    rank: int,
    horizon: int,
    noise_scale: float | Array = 0.1,
    radius: float | Array = 1.0,
    drift: float | Array = 0.5,
) -> PricingProblem:
    """A random low-rank dynamic-pricing instance (the model of the module docstring).

    ``U`` is a uniformly random orthonormal ``N x d`` matrix. ``V_t = V + drift E_t`` with
    ``V = Q diag(lam) Q^T + K`` (``Q`` random orthogonal, ``lam`` evenly spaced in ``[1/2,
    3/2]``, ``K`` skew: the cross-elasticities are asymmetric) and
    symmetric Gaussian perturbations ``E_t`` of norm about ``0.5``; ``z_t = z + drift ||z||
    g_t / sqrt(d)`` with ``g_t`` standard normal, ``z`` chosen so that the unconstrained best
    price of the mean model lies at half the radius. The demand noise ``eps_t`` is Gaussian.

    Args:
        key: PRNG key.
        n_products: ``N`` (static).
        rank: ``d``, the dimension of the latent features (static, ``1 <= d <= N``).
        horizon: ``T``, the number of rounds (static).
        noise_scale: standard deviation of each demand's noise.
        radius: prices satisfy ``||p|| <= radius``.
        drift: how much ``z_t`` and ``V_t`` vary from round to round (0: a stationary model).

    Returns:
        A :class:`PricingProblem`.
    """
    key = _checks.prng_key("key", key)
    n_products = _checks.positive_int("n_products", n_products)
    rank = _checks.positive_int("rank", rank)
    horizon = _checks.positive_int("horizon", horizon)
    if rank > n_products:
        raise ValueError(f"`rank` must be at most `n_products` ({n_products}), got {rank}.")
    _checks.nonnegative("noise_scale", noise_scale)
    _checks.positive("radius", radius)
    _checks.nonnegative("drift", drift)
    return _problem(
        key, noise_scale, radius, drift, n_products=n_products, rank=rank, horizon=horizon
    )


def round_revenue(problem: PricingProblem, x: Float[Array, "... d"], t) -> Array:
    """Expected revenue ``f_t(x) = z_t . x - x^T V_t x`` of round ``t`` at the low-dimensional
    price ``x = U^T p`` (no noise)."""
    z, v = problem.z[t], problem.v[t]
    return x @ z - jnp.einsum("...i,ij,...j->...", x, v, x)


def best_fixed_price(problem: PricingProblem) -> Float[Array, " n"]:
    """The best fixed price vector in hindsight, ``argmax_{||p|| <= radius} sum_t f_t(U^T
    p)``, in the span of ``U`` (components orthogonal to it change no revenue): the
    comparator of the regret."""
    problem = check_problem(problem)
    return _best_price(problem)


@jax.jit
def _best_price(problem):
    return problem.u @ best_coordinates(problem)
