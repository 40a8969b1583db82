"""LLRT (Chang, Yan & Zhong, CVPR 2017): multispectral denoising by non-local low rank along
one unfolding and a hyper-Laplacian prior on the spectral differences."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from ..prox import prox_schatten_p
from ..solvers import SolverInfo
from ._common import image, match_args
from ._group import WNNMPrior, group_denoise


class LLRTResult(NamedTuple):
    """Result of :func:`llrt_denoise`: the estimate and ``info`` (``history``: the relative
    change of the estimate in each round; ``converged``: the last change is below ``tol``)."""

    image: Array
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("steps",))
def _hyper_laplacian(z, beta, p, *, steps):
    n = z.shape[-1]
    d = jnp.eye(n, k=1, dtype=z.dtype)[:-1] - jnp.eye(n, dtype=z.dtype)[:-1]  # (n-1, n)
    flat = z.reshape(-1, n)

    def step(_, carry):
        x, rho = carry
        u = prox_schatten_p(x @ d.T, (beta, p), 1.0 / rho)
        a = jnp.eye(n, dtype=z.dtype) + rho * d.T @ d
        x = jnp.linalg.solve(a, (flat + rho * u @ d).T).T
        return x, 2.0 * rho

    x, _ = jax.lax.fori_loop(0, steps, step, (flat, jnp.asarray(1.0, z.dtype)))
    return x.reshape(z.shape)


def spectral_hyper_laplacian(
    z: Float[Array, "*pixels bands"], beta, p: float = 0.8, *, steps: int = 8
) -> Float[Array, "*pixels bands"]:
    r"""The hyper-Laplacian spectral prior step of LLRT: approximately

    .. math:: \arg\min_X \tfrac12 \|X - Z\|_F^2 + \beta \sum |\nabla_\lambda X|^p,

    with :math:`\nabla_\lambda` the forward difference along the last (spectral) axis and
    ``0 < p < 1``, by half-quadratic splitting (Krishnan & Fergus 2009): ``u = ∇X`` is split
    off with a penalty ``ρ`` that doubles from 1 over ``steps`` steps; each ``u`` step is the
    generalized soft thresholding :func:`lrjax.prox.prox_schatten_p`, each ``X`` step a
    ``bands x bands`` linear solve. A fixed number of steps, so it runs under ``jit``,
    ``vmap`` and ``grad``.

    Args:
        z: array with the spectrum on the last axis (e.g. an ``(H, W, B)`` image).
        beta: weight ``β >= 0`` (traced, differentiable).
        p: exponent in ``(0, 1)``.
        steps: HQS steps (static).

    Returns:
        ``X``, the shape of ``z``.

    Raises:
        ValueError: for a ``z`` with fewer than two bands, a negative ``beta``, ``p`` outside
            ``(0, 1)``, or ``steps < 1``.

    References:
        D. Krishnan, R. Fergus, "Fast image deconvolution using hyper-Laplacian priors",
        NeurIPS 2009. Y. Chang, L. Yan, S. Zhong, CVPR 2017.
    """
    z = _checks.as_array("z", z)
    if z.ndim < 1 or z.shape[-1] < 2:
        raise ValueError(f"`z` must have at least two bands on its last axis, got {z.shape}.")
    beta = _checks.nonnegative("beta", beta)
    _checks.scalar("p", p, lambda v: 0 < v < 1, "in (0, 1)")
    steps = _checks.positive_int("steps", steps)
    return _hyper_laplacian(z, jnp.asarray(beta, z.dtype), jnp.asarray(p, z.dtype), steps=steps)


@functools.partial(
    jax.jit, static_argnames=("patch", "stride", "window", "k", "rounds", "steps", "batch")
)
def _llrt(y, sigma, delta, gamma, c, hl_weight, p, tol, *, patch, stride, window, k, rounds,
          steps, batch):  # fmt: skip
    x = y
    history = []
    for t in range(rounds):
        yt = x + delta * (y - x)  # iterative regularization: add back part of the residual
        if t == 0:
            s_t = sigma
        else:  # the noise left in yt, estimated from what the last round removed
            s_t = gamma * jnp.sqrt(jnp.maximum(sigma**2 - jnp.mean((y - yt) ** 2), 0.0))
            s_t = jnp.maximum(s_t, 1e-4 * jnp.maximum(sigma, 1e-12))
        guide = jnp.mean(x, axis=2, keepdims=True)
        new = group_denoise(
            yt,
            guide,
            s_t,
            patch=patch,
            stride=stride,
            window=window,
            k=k,
            prior=WNNMPrior(c=c),
            batch=batch,
        )
        if new.shape[-1] > 1:  # one band has no spectral difference to regularize
            new = _hyper_laplacian(new, hl_weight * s_t**2, p, steps=steps)
        norm = jnp.linalg.norm(x)
        history.append(jnp.linalg.norm(new - x) / jnp.where(norm > 0, norm, 1.0))
        x = new
    hist = jnp.stack(history)
    error = hist[-1]
    info = SolverInfo(
        jnp.asarray(rounds, jnp.int32), error, jnp.isfinite(error) & (error <= tol), hist
    )
    return LLRTResult(x, info)


def llrt_denoise(
    y: Float[Array, "H W B"],
    sigma: float,
    *,
    patch: int = 6,
    stride: int = 4,
    window: int = 8,
    k: int = 30,
    rounds: int = 4,
    delta: float = 0.1,
    gamma: float = 0.7,
    c: float = 2.0 * math.sqrt(2.0),
    hl_weight: float = 1.0,
    p: float = 0.8,
    steps: int = 8,
    tol: float = 5e-2,
    batch: int = 256,
) -> LLRTResult:
    r"""Multispectral denoising by LLRT (Chang, Yan & Zhong, CVPR 2017), by alternation:

    .. math:: \min_{X, L_i} \tfrac12\|X - Y\|_F^2 + \mu \|\nabla_\lambda X\|_p^p
       + \omega \sum_i \Bigl(\tfrac{1}{\lambda_i^2}\|R_i X - L_i\|_F^2
       + \operatorname{rank}(L_i)\Bigr)

    Each round (``rounds`` in all): iterative regularization ``Y_t = X + δ (Y − X)``; groups
    of ``k`` similar full-band ``patch x patch x B`` cubes ``R_i X`` (matched on the band
    mean) are made low rank along their non-local unfolding only — the "unidirectional" low
    rank — by WNNM-weighted singular value thresholding at the current noise level ``σ_t``
    (:func:`group_denoise` with :class:`WNNMPrior`); then the hyper-Laplacian prior on the
    spectral differences, weight ``β = hl_weight σ_t²`` (:func:`spectral_hyper_laplacian`).
    ``σ_t = γ sqrt(σ² − mean((Y − Y_t)²))`` after the first round (WNNM's noise re-estimate).

    Args:
        y: noisy image ``(H, W, B)`` (with ``B = 1`` the spectral prior has nothing to act on
            and is skipped).
        sigma: the noise's standard deviation, on the scale of ``y``.
        patch, stride, window, k, batch: cube side, reference grid step, search radius, group
            size and references matched at once (static; :func:`block_match`).
        rounds: outer rounds (static).
        delta: iterative-regularization weight ``δ`` in ``[0, 1]``.
        gamma: noise re-estimate factor ``γ > 0``.
        c: WNNM weight constant ``c > 0``.
        hl_weight: ``β / σ_t² >= 0`` (0 switches the spectral prior off).
        p: hyper-Laplacian exponent in ``(0, 1)``.
        steps: HQS steps of the spectral prior (static).
        tol: the run counts as converged when the last round changed the estimate by less
            than ``tol`` (relative); a fixed number of rounds is run either way.

    Returns:
        ``LLRTResult(image, info)``. Differentiable in ``y``, ``sigma`` and the float options
        (the block matching itself is discrete); batch with ``vmap``.

    Raises:
        ValueError: for a non-3-way ``y``, NaN/inf in an eager call, a negative
            ``sigma``, or options out of range.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> spectra = jnp.linspace(0.2, 0.8, 6)
        >>> clean = jnp.outer(jnp.linspace(0.5, 1, 16 * 16), spectra).reshape(16, 16, 6)
        >>> noisy = clean + 0.05 * jax.random.normal(jax.random.key(0), clean.shape)
        >>> r = llrt_denoise(noisy, 0.05, patch=4, stride=2, window=3, k=10, rounds=2)
        >>> bool(jnp.linalg.norm(r.image - clean) < 0.5 * jnp.linalg.norm(noisy - clean))
        True

    References:
        Y. Chang, L. Yan, S. Zhong, "Hyper-Laplacian regularized unidirectional low-rank tensor
        recovery for multispectral image denoising", CVPR 2017.
    """
    y = _checks.as_array("y", y, ndim=3)
    x = image("y", y)
    sigma = _checks.nonnegative("sigma", sigma)
    patch, stride, window, k, batch = match_args(jnp.mean(x, axis=2, keepdims=True), patch,
                                                 stride, window, k, batch)  # fmt: skip
    rounds = _checks.positive_int("rounds", rounds)
    steps = _checks.positive_int("steps", steps)
    _checks.scalar("delta", delta, lambda v: 0 <= v <= 1, "in [0, 1]")
    gamma = _checks.positive("gamma", gamma)
    c = _checks.positive("c", c)
    hl_weight = _checks.nonnegative("hl_weight", hl_weight)
    _checks.scalar("p", p, lambda v: 0 < v < 1, "in (0, 1)")
    tol = _checks.tolerance(tol)
    dtype = x.dtype
    f = lambda v: jnp.asarray(v, dtype)
    return _llrt(
        x,
        f(sigma),
        f(delta),
        f(gamma),
        f(c),
        f(hl_weight),
        f(p),
        tol,
        patch=patch,
        stride=stride,
        window=window,
        k=k,
        rounds=rounds,
        steps=steps,
        batch=batch,
    )
