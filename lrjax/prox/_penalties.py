"""Elementwise proxes of nonconvex sparsity penalties.

Each acts on ``|x|`` and restores the sign, so it serves both as a sparse prox and, applied
to singular values, as a low-rank one (:func:`lrjax.prox.generalized_svt`). Every penalty
here is nondecreasing on ``[0, ∞)``, so its prox is monotone and generalized SVT with it is a
global minimiser (Lu, Tang, Yan & Lin, "Generalized singular value thresholding", AAAI 2015).

Hyperparameters out of range raise ``ValueError`` when concrete and give NaN when traced.
The scalar penalties (log-sum, MCP, SCAD, capped l1) also take a pytree ``x``, leaf by leaf,
each of their two hyperparameters shared by every leaf or given per leaf (see
``lrjax.prox._tree``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks, _hyper
from ._tree import is_tree, leafwise


def _signed(x, z):
    """``sign(x) * z``; an infinite ``x`` maps to itself (every penalty here is bounded by a
    linear function, so its prox tends to the identity at infinity; the candidates'
    objectives would be ``inf - inf`` there)."""
    return jnp.where(jnp.isinf(x), x, jnp.sign(x) * z)


def _pick(a, candidates, objective):
    """The candidate with the smallest objective (elementwise)."""
    best = candidates[0]
    best_val = objective(best)
    for c in candidates[1:]:
        val = objective(c)
        best = jnp.where(val < best_val, c, best)
        best_val = jnp.minimum(val, best_val)
    return best


def _lam_and_other(hyperparams, scaling, other: str):
    """Unpack ``(lam, other)`` and check ``lam >= 0`` and ``scaling >= 0`` (when concrete)."""
    lam, second = _hyper.pair("hyperparams", hyperparams)
    _hyper.nonneg("hyperparams[0] (lam)", lam)
    _hyper.nonneg("scaling", scaling)
    return lam, second


@jax.jit
def _prox_log_sum(x, hyperparams, scaling):
    lam, eps = hyperparams
    t = lam * scaling
    a = jnp.abs(x)
    disc = (a + eps) ** 2 - 4 * t
    real = disc > 0
    root = 0.5 * ((a - eps) + jnp.sqrt(jnp.where(real, disc, 1.0)))  # NaN-free gradients
    root = jnp.where(real & (root > 0), root, 0.0)
    objective = lambda z: 0.5 * (z - a) ** 2 + t * jnp.log1p(z / eps)
    out = _signed(x, _pick(a, [jnp.zeros_like(a), root], objective))
    return _hyper.nan_unless(out, (lam >= 0) & (eps > 0) & (scaling >= 0))


def prox_log_sum(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the log-sum penalty :math:`g(z) = \lambda \sum_i \log(1 + |z_i|/\epsilon)`.

    The nonzero stationary point solves ``z² + (ε − a) z + sλ − aε = 0`` (``a = |x|``); it is
    compared with ``z = 0`` and the smaller objective wins.

    Args:
        x: any array.
        hyperparams: ``(lam, eps)``, ``lam >= 0``, ``eps > 0``.
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``lam < 0``, ``eps <= 0`` or ``scaling < 0`` (when concrete; traced
            values out of range give NaN).

    References:
        E. J. Candès, M. B. Wakin, S. P. Boyd, "Enhancing sparsity by reweighted l1
        minimization", J. Fourier Anal. Appl. 14, 2008.
    """
    if is_tree(x):
        return leafwise(prox_log_sum, x, hyperparams, scaling, arity=2)
    _, eps = _lam_and_other(hyperparams, scaling, "eps")
    _hyper.positive("hyperparams[1] (eps)", eps)
    return _prox_log_sum(_hyper.real_array("x", x), tuple(hyperparams), scaling)


def _mcp_penalty(z, lam, gamma):
    """MCP penalty of ``z >= 0``."""
    return jnp.where(z <= gamma * lam, lam * z - z * z / (2 * gamma), 0.5 * gamma * lam * lam)


@jax.jit
def _prox_mcp(x, hyperparams, scaling):
    lam, gamma = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    knot = gamma * lam
    # Candidates: 0, the stationary point of the quadratic piece (a minimum only while it is
    # convex, s < γ) clipped to [0, γλ], and the flat piece's max(a, γλ). The least objective
    # is the global minimiser for every s >= 0 (for s >= γ the middle piece is concave and
    # the prox is a hard threshold).
    convex = scaling < gamma
    denom = jnp.where(convex, 1.0 - scaling / jnp.where(gamma > 0, gamma, 1.0), 1.0)
    mid = jnp.where(convex, jnp.clip((a - t) / denom, 0.0, knot), 0.0)
    objective = lambda z: 0.5 * (z - a) ** 2 + scaling * _mcp_penalty(z, lam, gamma)
    z = _pick(a, [jnp.zeros_like(a), mid, jnp.maximum(a, knot)], objective)
    return _hyper.nan_unless(_signed(x, z), (lam >= 0) & (gamma > 0) & (scaling >= 0))


def prox_mcp(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the minimax concave penalty (Zhang 2010), "firm thresholding".

    :math:`g(z) = \lambda|z| - z^2/(2\gamma)` for :math:`|z| \le \gamma\lambda`, and
    :math:`\gamma\lambda^2/2` beyond. For ``s < γ``, with ``a = |x|``: ``0`` if ``a <= sλ``;
    ``(a − sλ)/(1 − s/γ)`` if ``a <= γλ``; ``a`` otherwise. For ``s >= γ`` the objective is
    not convex and its global minimiser is a hard threshold; both cases are computed by
    comparing the candidates of each piece, so the result is the exact prox for every
    ``s >= 0`` (solvers whose step ``s`` grows past ``γ`` stay correct).

    Args:
        x: any array.
        hyperparams: ``(lam, gamma)``, ``lam >= 0``, ``gamma > 0``.
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``lam < 0``, ``gamma <= 0`` or ``scaling < 0`` (when concrete;
            traced values out of range give NaN).

    References:
        C.-H. Zhang, "Nearly unbiased variable selection under minimax concave penalty",
        Ann. Statist. 38(2), 2010.
    """
    if is_tree(x):
        return leafwise(prox_mcp, x, hyperparams, scaling, arity=2)
    _, gamma = _lam_and_other(hyperparams, scaling, "gamma")
    _hyper.positive("hyperparams[1] (gamma)", gamma)
    return _prox_mcp(_hyper.real_array("x", x), tuple(hyperparams), scaling)


def _scad_penalty(z, lam, a_):
    """SCAD penalty of ``z >= 0``."""
    middle = (2 * a_ * lam * z - z * z - lam * lam) / (2 * (a_ - 1))
    return jnp.where(
        z <= lam, lam * z, jnp.where(z <= a_ * lam, middle, 0.5 * (a_ + 1) * lam * lam)
    )


@jax.jit
def _prox_scad(x, hyperparams, scaling):
    lam, a_ = hyperparams
    u = jnp.abs(x)
    s = scaling
    soft = jnp.clip(u - s * lam, 0.0, lam)
    convex = a_ - 1 - s > 0  # the middle piece is a convex quadratic only then
    denom = jnp.where(convex, a_ - 1 - s, 1.0)
    mid = jnp.where(convex, jnp.clip(((a_ - 1) * u - s * a_ * lam) / denom, lam, a_ * lam), lam)
    objective = lambda z: 0.5 * (z - u) ** 2 + s * _scad_penalty(z, lam, a_)
    z = _pick(u, [soft, mid, jnp.maximum(u, a_ * lam)], objective)
    return _hyper.nan_unless(_signed(x, z), (lam >= 0) & (a_ > 1) & (s >= 0))


def prox_scad(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the SCAD penalty (Fan & Li 2001) with parameters ``(lam, a)``, ``a > 1``.

    For ``a > 1 + s``, with ``u = |x|``: soft thresholding at ``sλ`` for ``u <= (1+s)λ``;
    ``((a−1)u − s a λ)/(a − 1 − s)`` for ``u <= aλ``; ``u`` beyond. Otherwise the middle piece
    is not convex; the candidates of every piece are compared, so the result is the exact
    global prox for every ``s >= 0``.

    Args:
        x: any array.
        hyperparams: ``(lam, a)``, ``lam >= 0``, ``a > 1`` (3.7 is Fan & Li's choice).
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``lam < 0``, ``a <= 1`` or ``scaling < 0`` (when concrete; traced
            values out of range give NaN).

    References:
        J. Fan and R. Li, "Variable selection via nonconcave penalized likelihood and its
        oracle properties", JASA 96, 2001.
    """
    if is_tree(x):
        return leafwise(prox_scad, x, hyperparams, scaling, arity=2)
    _, a = _lam_and_other(hyperparams, scaling, "a")
    _hyper.check("hyperparams[1] (a)", a, lambda v: v > 1, "greater than 1")
    return _prox_scad(_hyper.real_array("x", x), tuple(hyperparams), scaling)


@jax.jit
def _prox_capped_l1(x, hyperparams, scaling):
    lam, theta = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    low = jnp.clip(a - t, 0.0, theta)
    high = jnp.maximum(a, theta)
    objective = lambda z: 0.5 * (z - a) ** 2 + t * jnp.minimum(z, theta)
    out = _signed(x, _pick(a, [low, high], objective))
    return _hyper.nan_unless(out, (lam >= 0) & (theta > 0) & (scaling >= 0))


def prox_capped_l1(x: Float[Array, ...], hyperparams, scaling=1.0) -> Float[Array, ...]:
    r"""Prox of the capped-:math:`\ell_1` penalty :math:`g(z) = \lambda \min(|z|, \theta)`.

    Candidates: soft thresholding clipped to ``[0, θ]`` and ``max(|x|, θ)``; the smaller
    objective wins.

    Args:
        x: any array.
        hyperparams: ``(lam, theta)``, ``lam >= 0``, ``theta > 0``.
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``lam < 0``, ``theta <= 0`` or ``scaling < 0`` (when concrete;
            traced values out of range give NaN).

    References:
        T. Zhang, "Analysis of multi-stage convex relaxation for sparse regularization",
        JMLR 11, 2010.
    """
    if is_tree(x):
        return leafwise(prox_capped_l1, x, hyperparams, scaling, arity=2)
    _, theta = _lam_and_other(hyperparams, scaling, "theta")
    _hyper.positive("hyperparams[1] (theta)", theta)
    return _prox_capped_l1(_hyper.real_array("x", x), tuple(hyperparams), scaling)


@functools.partial(jax.jit, static_argnames=("n_iter",))
def _prox_schatten_p(x, hyperparams, scaling, *, n_iter):
    lam, p = hyperparams
    a = jnp.abs(x)
    t = lam * scaling
    base = 2 * t * (1 - p)
    # t = 0 is the identity (threshold 0): base ** (negative power) would be inf there, and
    # 0 * inf = NaN made every entry fall "below the threshold", i.e. return zeros.
    safe = jnp.where(base > 0, base, 1.0)
    tau = jnp.where(base > 0, safe ** (1 / (2 - p)) + t * p * safe ** ((p - 1) / (2 - p)), 0.0)
    above = a > tau
    a_safe = jnp.where(above, a, 1.0)

    def step(_, z):
        return a_safe - t * p * z ** (p - 1)

    z = lax.fori_loop(0, n_iter, step, a_safe)
    out = _signed(x, jnp.where(above, jnp.maximum(z, 0.0), 0.0))
    return _hyper.nan_unless(out, (lam >= 0) & (p > 0) & (p < 1) & (scaling >= 0))


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
        hyperparams: ``(lam, p)`` with ``lam >= 0`` and ``0 < p < 1``.
        scaling: :math:`s \ge 0`.
        n_iter: fixed-point steps (static).

    Raises:
        ValueError: for ``lam < 0``, ``p`` outside ``(0, 1)``, ``scaling < 0`` (when
            concrete; traced values out of range give NaN) or a bad ``n_iter``.

    References:
        W. Zuo, D. Meng, L. Zhang, X. Feng, D. Zhang, "A generalized iterated shrinkage
        algorithm for non-convex sparse coding", ICCV 2013.
    """
    _, p = _lam_and_other(hyperparams, scaling, "p")
    _hyper.check("hyperparams[1] (p)", p, lambda v: (v > 0) & (v < 1), "in (0, 1)")
    n_iter = _checks.nonneg_int("n_iter", n_iter)
    return _prox_schatten_p(_hyper.real_array("x", x), tuple(hyperparams), scaling, n_iter=n_iter)
