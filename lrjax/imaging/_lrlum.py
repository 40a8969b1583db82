"""LR-LUM face coding: a sparse code with a low-rank (structured) plus Laplacian (pixel) error,
by ADMM with exact steps."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from ..prox import prox_l1, prox_weighted_nuclear
from ..solvers import SolverInfo, iterate
from ._common import coding_args

__all__ = ["LRLUMResult", "lr_lum_coding"]


class LRLUMResult(NamedTuple):
    """Result of :func:`lr_lum_coding`: ``dictionary @ code + structured_error + pixel_error``
    reconstructs the signal; ``info`` is the last reweighting round's."""

    code: Array
    structured_error: Array
    pixel_error: Array
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("shape", "maxiter", "rounds", "eps"))
def _lr_lum(a, y, alpha, beta, mu, tol, *, shape, maxiter, rounds, eps):
    d, n = a.shape
    # (I + A^T A)^{-1} r = r - A^T (I + A A^T)^{-1} A r (Woodbury): one d x d inverse, reused
    k_inv = jnp.linalg.inv(jnp.eye(d, dtype=a.dtype) + a @ a.T)
    norm_y_sq = jnp.sum(y * y)

    def step(state, params):
        x, z, e1, e2, u, v = state
        w1, w2 = params
        rhs = a.T @ (y - e1 - e2 + u / mu) + z - v / mu
        x = rhs - a.T @ (k_inv @ (a @ rhs))
        z = prox_l1(x + v / mu, beta / mu)
        ax = a @ x
        e1 = prox_weighted_nuclear((y - ax - e2 + u / mu).reshape(shape), alpha * w1 / mu).ravel()
        e2 = prox_l1(y - ax - e1 + u / mu, (1 - alpha) * w2 / mu)
        r = y - ax - e1 - e2
        gap = x - z
        res = relative(jnp.sum(r * r) + jnp.sum(gap * gap), norm_y_sq)
        return (x, z, e1, e2, u + mu * r, v + mu * gap), res

    zero_d, zero_n = jnp.zeros_like(y), jnp.zeros(n, a.dtype)
    state = (zero_n, zero_n, zero_d, zero_d, zero_d, zero_n)
    w1 = jnp.ones(min(shape), a.dtype)
    w2 = jnp.ones_like(y)
    info = None
    for _ in range(rounds):  # reweighting rounds, each warm-started (rounds is small, static)
        state, info = iterate(
            step, state, (w1, w2), maxiter=maxiter, tol=tol, diff="unroll", criterion="value"
        )
        _, _, e1, e2, _, _ = state
        s = jnp.linalg.svd(e1.reshape(shape), compute_uv=False)
        w1 = 1.0 / (s + eps * jnp.maximum(s[0], 1e-12))  # non-descending: s is descending
        w1 = w1 / jnp.mean(w1)
        w2 = 1.0 / (jnp.abs(e2) + eps * jnp.mean(jnp.abs(y)))
        w2 = w2 / jnp.mean(w2)
    _, z, e1, e2, _, _ = state
    return LRLUMResult(z, e1, e2, info)


def lr_lum_coding(
    dictionary: Float[Array, "d n"],
    y: Float[Array, " d"],
    *,
    shape: tuple[int, int],
    alpha: float,
    beta: float,
    mu: float,
    maxiter: int = 100,
    rounds: int = 2,
    tol: float = 0.0,
    eps: float = 0.1,
) -> LRLUMResult:
    r"""Code a signal over a dictionary with a structured plus pixel error: the LR-LUM model
    (low-rank Laplacian-uniform mixed model, CVPR 2019) of robust face recognition.

    .. math:: \min_{x, e_1, e_2} \alpha \|\operatorname{mat}(e_1)\|_{w,*}
       + (1 - \alpha) \|W e_2\|_1 + \beta \|x\|_1
       \quad \text{s.t.} \quad y = A x + e_1 + e_2

    The weighted nuclear norm of the error *image* ``mat(e_1)`` (``shape``) takes contiguous
    occlusion, the reweighted ``l1`` norm of ``e_2`` pixel corruption, the ``l1`` norm the
    sparsity of the code. ADMM on the splitting ``x = z`` with exact steps: the ``x`` step
    solves ``(I + A^T A) x = ...`` with a precomputed ``d x d`` inverse (Woodbury), ``z`` is a
    soft threshold, ``e_1`` a weighted singular value threshold, ``e_2`` a weighted soft
    threshold. Weights start at one and are re-estimated for ``rounds - 1`` further rounds
    (warm-started): ``w_i = 1 / (sigma_i(e_1) + eps sigma_1(e_1))`` (non-descending, as the
    closed-form weighted SVT requires; Gu et al., IJCV 2017) and ``W = 1 / (|e_2| + eps
    mean|y|)`` (Candès, Wakin & Boyd 2008), each normalised to mean one. Classify with
    :func:`class_residuals` on ``y - e_1 - e_2``; :func:`structured_error_coding` is the
    cheaper ridge-coded variant. The steps update ``x``, ``z``, ``e_1``, ``e_2`` in turn (a
    multi-block ADMM, convergent in practice but not by theorem): ``info.error`` reports the
    relative constraint residual. Derivatives run through the iterations and the
    reweighting.

    Args:
        dictionary: ``(d, n)`` atoms as columns (e.g. unit-norm training images).
        y: signal ``(d,)``, ``d = shape[0] * shape[1]``; ``vmap`` over a batch of them.
        shape: the image shape of the error (static).
        alpha: trade-off between the structured and the pixel error, in ``(0, 1)``.
        beta: weight of the code's ``l1`` norm (positive).
        mu: ADMM penalty (positive).
        maxiter: ADMM iterations per round (static).
        rounds: weighting rounds, at least 1 (static).
        tol: stop a round when the relative constraint residual is below ``tol``; 0 runs
            every iteration.
        eps: weight floors, relative to ``sigma_1(e_1)`` and ``mean|y|`` (static).

    Returns:
        ``LRLUMResult(code, structured_error, pixel_error, info)``; ``code`` is the sparse
        (thresholded) copy of the code.

    Raises:
        ValueError: for mismatched shapes, NaN/inf in an eager call, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> a = jax.random.normal(jax.random.key(0), (64, 10))
        >>> a = a / jnp.linalg.norm(a, axis=0)
        >>> y = a[:, 3].at[5].add(2.0)  # atom 3 and one corrupted pixel
        >>> r = lr_lum_coding(a, y, shape=(8, 8), alpha=0.7, beta=0.01, mu=1.0, maxiter=300)
        >>> int(jnp.argmax(jnp.abs(r.code))), int(jnp.argmax(jnp.abs(r.pixel_error)))
        (3, 5)
    """
    a, y, shape = coding_args(dictionary, y, shape)
    _checks.scalar("alpha", alpha, lambda v: (v > 0) & (v < 1), "in (0, 1)")
    _checks.positive("beta", beta)
    _checks.positive("mu", mu)
    tol = _checks.tolerance(tol)
    eps = float(_checks.positive("eps", eps))
    dtype = jnp.result_type(a, y)
    return _lr_lum(
        a.astype(dtype),
        y.astype(dtype),
        *(jnp.asarray(v, dtype) for v in (alpha, beta, mu)),
        tol,
        shape=shape,
        maxiter=_checks.positive_int("maxiter", maxiter),
        rounds=_checks.positive_int("rounds", rounds),
        eps=eps,
    )
