"""Elementwise proxes of nonconvex sparsity penalties.

Each acts on ``|x|`` and restores the sign, so it serves both as a sparse prox and, applied
to singular values, as a low-rank one (:func:`lrjax.prox.generalized_svt`). Every penalty
here is nondecreasing on ``[0, ∞)``, so its prox is monotone and generalized SVT with it is a
global minimiser (Lu, Tang, Yan & Lin, "Generalized singular value thresholding", AAAI 2015).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float


def _signed(x, z):
    return jnp.sign(x) * z


def _pick(a, candidates, objective):
    """The candidate with the smallest objective (elementwise)."""
    best = candidates[0]
    best_val = objective(best)
    for c in candidates[1:]:
        val = objective(c)
        best = jnp.where(val < best_val, c, best)
        best_val = jnp.minimum(val, best_val)
    return best


@jax.jit
def prox_log_sum(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the log-sum penalty :math:`g(z) = \lambda \sum_i \log(1 + |z_i|/\epsilon)`.

    The nonzero stationary point solves ``z² + (ε − a) z + sλ − aε = 0`` (``a = |x|``); it is
    compared with ``z = 0`` and the smaller objective wins.

    Args:
        x: any array.
        hyperparams: ``(lam, eps)``, ``lam >= 0``, ``eps > 0``.
        scaling: :math:`s`.

    References:
        E. J. Candès, M. B. Wakin, S. P. Boyd, "Enhancing sparsity by reweighted l1
        minimization", J. Fourier Anal. Appl. 14, 2008.
    """
    lam, eps = hyperparams
    t = lam * scaling
    a = jnp.abs(x)
    disc = (a + eps) ** 2 - 4 * t
    real = disc > 0
    root = 0.5 * ((a - eps) + jnp.sqrt(jnp.where(real, disc, 1.0)))  # NaN-free gradients
    root = jnp.where(real & (root > 0), root, 0.0)
    objective = lambda z: 0.5 * (z - a) ** 2 + t * jnp.log1p(z / eps)
    return _signed(x, _pick(a, [jnp.zeros_like(a), root], objective))


@jax.jit
def prox_mcp(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the minimax concave penalty (Zhang 2010), "firm thresholding".

    :math:`g(z) = \lambda|z| - z^2/(2\gamma)` for :math:`|z| \le \gamma\lambda`, and
    :math:`\gamma\lambda^2/2` beyond. With ``a = |x|``: ``0`` if ``a <= sλ``;
    ``(a − sλ)/(1 − s/γ)`` if ``a <= γλ``; ``a`` otherwise. Requires ``γ > s``.

    Args:
        x: any array.
        hyperparams: ``(lam, gamma)``.
        scaling: :math:`s < \gamma`.

    References:
        C.-H. Zhang, "Nearly unbiased variable selection under minimax concave penalty",
        Ann. Statist. 38(2), 2010.
    """
    lam, gamma = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    mid = (a - t) / (1.0 - scaling / gamma)
    z = jnp.where(a <= t, 0.0, jnp.where(a <= gamma * lam, mid, a))
    return _signed(x, z)


@jax.jit
def prox_scad(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the SCAD penalty (Fan & Li 2001) with parameters ``(lam, a)``, ``a > 1 + s``.

    With ``u = |x|``: soft thresholding at ``sλ`` for ``u <= (1+s)λ``;
    ``((a−1)u − s a λ)/(a − 1 − s)`` for ``u <= aλ``; ``u`` beyond.

    References:
        J. Fan and R. Li, "Variable selection via nonconcave penalized likelihood and its
        oracle properties", JASA 96, 2001.
    """
    lam, a_ = hyperparams
    u = jnp.abs(x)
    s = scaling
    soft = jnp.maximum(u - s * lam, 0.0)
    mid = ((a_ - 1) * u - s * a_ * lam) / (a_ - 1 - s)
    z = jnp.where(u <= (1 + s) * lam, soft, jnp.where(u <= a_ * lam, mid, u))
    return _signed(x, z)


@jax.jit
def prox_capped_l1(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the capped-:math:`\ell_1` penalty :math:`g(z) = \lambda \min(|z|, \theta)`.

    Candidates: soft thresholding clipped to ``[0, θ]`` and ``max(|x|, θ)``; the smaller
    objective wins.

    Args:
        x: any array.
        hyperparams: ``(lam, theta)``, ``theta > 0``.
        scaling: :math:`s`.

    References:
        T. Zhang, "Analysis of multi-stage convex relaxation for sparse regularization",
        JMLR 11, 2010.
    """
    lam, theta = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    low = jnp.clip(a - t, 0.0, theta)
    high = jnp.maximum(a, theta)
    objective = lambda z: 0.5 * (z - a) ** 2 + t * jnp.minimum(z, theta)
    return _signed(x, _pick(a, [low, high], objective))


@functools.partial(jax.jit, static_argnames=("n_iter",))
def prox_schatten_p(
    x: Float[Array, ...], hyperparams, scaling=1.0, *, n_iter: int = 20
) -> Float[Array, ...]:
    r"""Prox of :math:`g(z) = \lambda \sum_i |z_i|^p`, ``0 < p < 1`` (on singular values: the
    Schatten-p quasi-norm to the power p), by generalized soft thresholding.

    Below the threshold :math:`\tau = (2s\lambda(1-p))^{1/(2-p)} +
    s\lambda p (2s\lambda(1-p))^{(p-1)/(2-p)}` the prox is 0; above it, ``n_iter`` fixed-point
    steps ``z <- a − sλ p z^{p−1}`` from ``z = a`` converge to the nonzero minimiser.

    Args:
        x: any array.
        hyperparams: ``(lam, p)`` with ``0 < p < 1``.
        scaling: :math:`s`.
        n_iter: fixed-point steps (static).

    References:
        W. Zuo, D. Meng, L. Zhang, X. Feng, D. Zhang, "A generalized iterated shrinkage
        algorithm for non-convex sparse coding", ICCV 2013.
    """
    lam, p = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    base = 2 * t * (1 - p)
    tau = base ** (1 / (2 - p)) + t * p * base ** ((p - 1) / (2 - p))
    above = a > tau
    a_safe = jnp.where(above, a, 1.0)

    def step(_, z):
        return a_safe - t * p * z ** (p - 1)

    z = lax.fori_loop(0, n_iter, step, a_safe)
    return _signed(x, jnp.where(above, jnp.maximum(z, 0.0), 0.0))
