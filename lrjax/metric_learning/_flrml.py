"""Fast low-rank metric learning (FLRML; Liu, Han, Liu & Gu, "Fast low-rank metric learning
for large-scale and high-dimensional data", NeurIPS 2019).

The samples are scaled to unit length and written as the thin SVD ``X^T = U S V^T``
(``X`` is ``n x D``, one sample per row, ``V`` is ``n x r``). The metric is restricted to the
span of the data: the embedding of sample ``i`` is ``y_i = diag(sqrt(s)) P^T v_i`` with ``P`` in
the Stiefel manifold ``St(r, rank)`` and ``s >= 0``, so the learnt transform is
``L = U S^{-1} P diag(sqrt(s))`` (``D x rank``) and ``M = L L^T`` has rank ``rank``; no
``D x D`` or ``n x n`` matrix is ever formed.

Triplets ``(i, j, k)`` say that ``i`` should be nearer to ``j`` than to ``k``. They are summed
per anchor: with ``w_i = t_i sum_{(i,j,k)} (v_j - v_k)`` and ``t_i = 1 / (1 + #triplets of
i)``, anchor ``i`` is violated when ``z_i = m - sum_m s_m (V P)_{im} (W P)_{im} > 0`` (its
embedding is not more similar to its targets than to its impostors by the margin ``m``). The
loss is the hinge ``sum_i max(z_i, 0)``. Given the violated set, the loss is linear in ``s``
with slope ``-k``, ``k_m = sum_{i violated} (V P)_{im} (W P)_{im}``; FLRML ties ``s`` to
``P`` by the smooth choice ``s = softplus(k)`` and minimises ``-1/2 sum_m softplus(k_m) k_m``
over the Stiefel manifold, recomputing the violated set after every step. The margin is
``margin_ratio`` times the mean squared norm of the initial embeddings.

Differences from the authors' MATLAB code (which we read for the protocol): the step on the
manifold uses a monotone Armijo backtracking on the current surrogate (theirs: Zhang-Hager's
non-monotone rule with a reference mixing hinge-loss values); the margin uses all samples
(theirs: 100 random ones); the start is ``P = [Q; 0]`` with ``Q`` a random rotation (theirs
too) and ``s = 1``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float, Int

from .. import _checks, _random
from ..linalg import svd_flip
from ..solvers._info import SolverInfo
from ._common import check_fit, unit_rows
from ._stiefel import RETRACTIONS, retract, stiefel_gradient

_INIT_ROUNDS = 10  # alternations of (violated set, margin, s) before the first step
_BACKTRACKS = 25
_SHRINK = 0.2
_ARMIJO = 1e-4


class FLRMLResult(NamedTuple):
    """Result of :func:`flrml`.

    Attributes:
        transform: ``(D, rank)`` matrix ``L``: the embedding of a sample ``x`` is
            ``unit_rows(x) @ transform`` (FLRML works on unit-length samples) and the learnt
            metric is ``M = L L^T``.
        scales: ``(rank,)`` the squared lengths ``s`` of the embedding's axes.
        margin: the margin the hinge loss used.
        info: :class:`SolverInfo`; ``error`` is the hinge loss over ``margin`` times the
            number of anchors (1 when every anchor is violated by the margin, 0 when none is).
    """

    transform: Float[Array, "d rank"]
    scales: Float[Array, " rank"]
    margin: Float[Array, ""]
    info: SolverInfo


def _softplus(x):
    return jnp.logaddexp(x, 0.0)


def _gains(p, v, w, active):
    """``k_m = sum_i active_i (V P)_{im} (W P)_{im}``: the slope of the loss in ``s``."""
    return jnp.sum((v @ p) * (w @ p) * active[:, None], axis=0)


def _violations(p, s, v, w, margin):
    return margin - ((v @ p) * (w @ p)) @ s


def _surrogate(p, v, w, active):
    k = _gains(p, v, w, active)
    return -0.5 * jnp.sum(_softplus(k) * k)


@functools.partial(jax.jit, static_argnames=("rank", "maxiter", "retraction"))
def _flrml(x, anchors, similar, dissimilar, margin_ratio, tol, key, *, rank, maxiter, retraction):
    dtype = x.dtype
    xn = unit_rows(x)
    v, sig, ut = jnp.linalg.svd(xn, full_matrices=False)
    v, ut = svd_flip(v, ut)  # canonical signs: the fixed start P0 means the same metric
    keep = sig > 1e-5 * sig[0]
    v = v * keep
    inv_sig = jnp.where(keep, 1.0 / jnp.where(keep, sig, 1.0), 0.0)
    n, r = v.shape
    counts = jnp.zeros((n,), dtype).at[anchors].add(1.0)
    has = counts > 0
    n_anchors = jnp.maximum(jnp.sum(has), 1).astype(dtype)
    w = jnp.zeros((n, r), dtype).at[anchors].add(v[similar] - v[dissimilar])
    w = w / (counts + 1.0)[:, None]

    rot, _ = jnp.linalg.qr(_random.normal(key, (rank, rank), dtype))
    p0 = jnp.zeros((r, rank), dtype).at[:rank].set(rot)
    s0 = jnp.ones((rank,), dtype)

    def init_round(_, carry):
        s, _, _ = carry
        margin = margin_ratio * jnp.mean(((v @ p0) ** 2) @ s)
        active = ((_violations(p0, s, v, w, margin) > 0) & has).astype(dtype)
        return _softplus(_gains(p0, v, w, active)), active, margin

    zero = jnp.zeros((), dtype)
    s0, active0, margin = lax.fori_loop(
        0, _INIT_ROUNDS, init_round, (s0, jnp.zeros((n,), dtype), zero)
    )

    def loss(p, s):
        z = _violations(p, s, v, w, margin)
        return jnp.sum(jnp.maximum(z, 0.0) * has) / (margin * n_anchors)

    def step(carry, _):
        p, s, active, tau, prev_p, prev_rgrad, err_prev, k, done, best = carry
        f0, g = jax.value_and_grad(_surrogate)(p, v, w, active)
        rgrad = stiefel_gradient(p, g)
        # Barzilai-Borwein step length from the last move (alternating the two formulas).
        ds, dy = p - prev_p, rgrad - prev_rgrad
        sy, ss, yy = jnp.abs(jnp.vdot(ds, dy)), jnp.vdot(ds, ds), jnp.vdot(dy, dy)
        usable = (k > 0) & (sy > 0) & (ss > 0) & (yy > 0)
        sy_, ss_, yy_ = (jnp.where(usable, a, 1.0) for a in (sy, ss, yy))  # no 0/0 in grads
        bb = jnp.where(k % 2 == 0, ss_ / sy_, sy_ / yy_)
        tau = jnp.where(usable, bb, tau)
        tau = jnp.clip(tau, 1e-20, 1e20)
        decrease = _ARMIJO * jnp.vdot(rgrad, rgrad)

        # The number of backtracks is a discrete choice, searched without derivatives; the
        # step taken, tau * shrink**count, is differentiated (reverse mode sees the run).
        sp, sg, sw, sa = (lax.stop_gradient(a) for a in (p, g, w, active))

        def too_long(c):
            t, i = c
            trial = retract(sp, sg, t, retraction)
            ok = _surrogate(trial, v, sw, sa) <= lax.stop_gradient(f0) - t * decrease
            return (~ok) & (i < _BACKTRACKS)

        _, count = lax.while_loop(
            too_long, lambda c: (c[0] * _SHRINK, c[1] + 1), (lax.stop_gradient(tau), 0)
        )
        tau_ok = tau * _SHRINK**count
        p_new = retract(p, g, tau_ok, retraction)
        s_new = _softplus(_gains(p_new, v, w, active))
        z = _violations(p_new, s_new, v, w, margin)
        active_new = lax.stop_gradient(((z > 0) & has).astype(dtype))
        err = lax.stop_gradient(loss(p_new, s_new))
        # Zero loss ends the run: with no violated anchor the next ``s`` would be uniform.
        stop = (jnp.abs(err - err_prev) <= tol * jnp.abs(err_prev)) | (err == 0)
        keep_ = ~done
        better = keep_ & (err < best[2])
        best = tuple(
            jnp.where(better, a, b) for a, b in zip((p_new, s_new, err), best, strict=True)
        )
        pick = lambda new, old: jnp.where(keep_, new, old)
        carry = (
            pick(p_new, p),
            pick(s_new, s),
            pick(active_new, active),
            pick(tau_ok, tau),
            pick(p, prev_p),
            pick(rgrad, prev_rgrad),
            pick(err, err_prev),
            k + keep_.astype(jnp.int32),
            done | (keep_ & stop & ((k >= 2) | (err == 0))),
            best,
        )
        return carry, jnp.where(keep_, err, jnp.nan)

    carry0 = (
        p0,
        s0,
        active0,
        jnp.asarray(1e-3, dtype),
        p0,
        jnp.zeros_like(p0),
        loss(p0, s0),
        jnp.array(0, jnp.int32),
        jnp.array(False),
        (p0, s0, loss(p0, s0)),
    )
    (*_, n_iter, done, (p, s, err)), history = lax.scan(step, carry0, None, length=maxiter)
    transform = (ut.T * inv_sig) @ p * jnp.sqrt(s)
    finite = jnp.isfinite(err) & jnp.all(jnp.isfinite(transform))
    info = SolverInfo(n_iter, err, done & finite, history)
    return FLRMLResult(transform, s, margin, info)


def flrml(
    x: Float[Array, "n d"],
    triplets: Int[Array, "m 3"],
    *,
    rank: int,
    key: Array,
    margin_ratio: float | Array = 1.0,
    maxiter: int = 20,
    tol: float | Array = 1e-3,
    retraction: str = "cayley",
) -> FLRMLResult:
    """Learn a rank-``rank`` Mahalanobis metric from triplet constraints with FLRML.

    See the module docstring for the model. Each iteration takes one Riemannian gradient step
    on the Stiefel manifold (Barzilai-Borwein length, Armijo backtracking, the Cayley curve or
    the QR retraction), then recomputes ``s`` and the violated anchors. Cost per iteration:
    ``O(n r rank)`` (``r = min(n, D)``), after one thin SVD of the data.

    Args:
        x: ``(n, D)`` training samples, one per row (scaled to unit length inside).
        triplets: ``(m, 3)`` integer rows ``(anchor, similar, dissimilar)`` indexing ``x``
            (e.g. from :func:`triplets_from_labels`).
        rank: rank of the metric (static, at most ``min(n, D)``).
        key: PRNG key of the starting rotation.
        margin_ratio: the margin as a multiple of the mean squared embedding norm (traced:
            vmap over it to tune it).
        maxiter: number of manifold steps (static).
        tol: stop when the relative change of the loss is below ``tol`` (after 3 steps),
            or when the loss is zero (no violated anchor: the next ``s`` would be uniform).
            The iterate of lowest loss is returned.
        retraction: ``"cayley"`` (default) or ``"qr"`` (static).

    Returns:
        A :class:`FLRMLResult`.
    """
    x, triplets, rank = check_fit(x, triplets, rank)
    key = _checks.prng_key("key", key)
    maxiter = _checks.positive_int("maxiter", maxiter)
    retraction = _checks.choice("retraction", retraction, RETRACTIONS)
    _checks.positive("margin_ratio", margin_ratio)
    _checks.tolerance(tol)
    return _flrml(
        x,
        triplets[:, 0],
        triplets[:, 1],
        triplets[:, 2],
        jnp.asarray(margin_ratio, x.dtype),
        jnp.asarray(tol, x.dtype),
        key,
        rank=rank,
        maxiter=maxiter,
        retraction=retraction,
    )
