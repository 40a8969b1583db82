"""Spectral proxes: singular value thresholding and its generalizations."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..linalg._gemm import factor_gemm
from ..linalg._svd import _randomized_range
from ._vector import prox_l1


def _svd(x):
    return jnp.linalg.svd(x, full_matrices=False)


@functools.partial(jax.jit, static_argnames=("prox_fn",))
def generalized_svt(
    x: Float[Array, "m n"],
    hyperparams,
    scaling=1.0,
    *,
    prox_fn: Callable = prox_l1,
) -> Float[Array, "m n"]:
    r"""Generalized singular value thresholding: ``U diag(prox_fn(σ)) V^T``.

    The prox of :math:`G(Z) = \sum_i g(\sigma_i(Z))` for any penalty ``g`` that is
    nondecreasing on ``[0, ∞)`` with elementwise prox ``prox_fn(σ, hyperparams, scaling)``:
    :func:`prox_l1` gives the nuclear norm, :func:`prox_log_sum`, :func:`prox_mcp`,
    :func:`prox_scad`, :func:`prox_capped_l1` and :func:`prox_schatten_p` the nonconvex
    low-rank penalties.

    It has the common prox signature, so ``functools.partial(generalized_svt,
    prox_fn=prox_mcp)`` is itself a prox usable wherever a low-rank prox is expected.

    Args:
        x: matrix (leading axes batch).
        hyperparams: passed to ``prox_fn``.
        scaling: :math:`s`.
        prox_fn: elementwise prox ``prox_fn(values, hyperparams, scaling)`` (static);
            default :func:`prox_l1`, i.e. the nuclear norm.

    References:
        C. Lu, C. Zhu, C. Xu, S. Yan, Z. Lin, "Generalized singular value thresholding",
        AAAI 2015.
    """
    u, s, vt = _svd(x)
    return (u * prox_fn(s, hyperparams, scaling)[..., None, :]) @ vt


@jax.jit
def prox_nuclear(x: Float[Array, "m n"], reg, scaling=1.0) -> Float[Array, "m n"]:
    r"""Singular value thresholding, the prox of :math:`g(Z) = \lambda \|Z\|_*`.

    :math:`U \max(\Sigma - s\lambda, 0) V^\top` (Cai, Candès & Shen 2010).

    Args:
        x: matrix ``(m, n)`` (leading axes batch).
        reg: :math:`\lambda \ge 0`.
        scaling: :math:`s`.
    """
    u, s, vt = _svd(x)
    return (u * jnp.maximum(s - reg * scaling, 0.0)[..., None, :]) @ vt


@jax.jit
def prox_weighted_nuclear(x: Float[Array, "m n"], weights, scaling=1.0) -> Float[Array, "m n"]:
    r"""Prox of the weighted nuclear norm :math:`\sum_i w_i \sigma_i(Z)` with
    non-descending weights :math:`0 \le w_1 \le w_2 \le \cdots` (matched to singular values in
    descending order): :math:`U \max(\Sigma - s W, 0) V^\top`.

    For non-descending weights this closed form is the global minimiser (Gu, Xie, Meng,
    Zuo, Feng, Zhang, "Weighted nuclear norm minimization and its applications to low level
    vision", IJCV 121, 2017, Theorem 1).

    Args:
        x: matrix ``(m, n)``.
        weights: ``(min(m, n),)`` non-descending weights (or a scalar).
        scaling: :math:`s`.
    """
    u, s, vt = _svd(x)
    return (u * jnp.maximum(s - weights * scaling, 0.0)[..., None, :]) @ vt


@functools.partial(jax.jit, static_argnames=("rank",))
def projection_rank(x: Float[Array, "m n"], rank: int, scaling=1.0) -> Float[Array, "m n"]:
    """Projection onto matrices of rank at most ``rank`` (Eckart-Young truncation).

    Args:
        x: matrix ``(m, n)``.
        rank: a Python int (static; it fixes shapes).
        scaling: unused.
    """
    del scaling
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        raise ValueError(f"`rank` must be a non-negative Python int, got {rank!r}.")
    u, s, vt = _svd(x)
    return (u[..., :rank] * s[..., None, :rank]) @ vt[..., :rank, :]


@functools.partial(
    jax.jit,
    static_argnames=(
        "rank",
        "n_oversamples",
        "n_iter",
    ),
)
def prox_nuclear_randomized(
    x: Float[Array, "m n"],
    reg,
    scaling=1.0,
    *,
    rank: int,
    key: jax.Array,
    n_oversamples: int = 10,
    n_iter: int = 2,
) -> Float[Array, "m n"]:
    r"""Fast randomized singular value thresholding (Oh, Matsushita, Kweon, TPAMI 2018).

    A randomized range finder ``Q`` (``rank + n_oversamples`` columns, ``n_iter`` power
    iterations) captures the leading singular subspace; SVT is applied to the small matrix
    ``Q^T X`` and mapped back: ``Q · SVT(Q^T X)``. Equals :func:`prox_nuclear` whenever the
    singular values above the threshold number at most ``rank + n_oversamples`` and the range
    is captured; costs ``O(mn(k+p))`` instead of a full SVD.

    Args:
        x: matrix ``(m, n)``.
        reg: :math:`\lambda`.
        scaling: :math:`s`.
        rank: target rank ``k`` (static), an upper estimate of the rank after thresholding.
        key: PRNG key of the sketch.
        n_oversamples: extra sketch columns (static).
        n_iter: power iterations (static).
    """
    q = _randomized_range(x, key, rank + n_oversamples, n_iter)
    small = factor_gemm(q, x, contract=0)  # q.T @ x as a row-major GEMM
    return q @ prox_nuclear(small, reg, scaling)


@jax.jit
def prox_tensor_nuclear(x: Float[Array, "n1 n2 n3"], reg, scaling=1.0) -> Float[Array, "n1 n2 n3"]:
    r"""Prox of the tensor nuclear norm of the t-SVD (tensor singular value thresholding).

    With :math:`\bar{\mathcal{X}} = \mathrm{fft}(\mathcal{X}, \text{axis}=2)`, every frontal
    slice :math:`\bar X^{(k)}` is soft-thresholded in its singular values at :math:`s\lambda`
    and the result transformed back; this is the prox of :math:`\lambda\|\mathcal{X}\|_*`
    with :math:`\|\mathcal{X}\|_* = \frac{1}{n_3}\sum_k \|\bar X^{(k)}\|_*` (Lu et al. 2020,
    Theorem 4.2).

    Args:
        x: real tensor ``(n1, n2, n3)``.
        reg: :math:`\lambda`.
        scaling: :math:`s`.

    References:
        C. Lu, J. Feng, Y. Chen, W. Liu, Z. Lin, S. Yan, "Tensor robust principal component
        analysis with a new tensor nuclear norm", IEEE TPAMI 42(4), 2020.
    """
    xf = jnp.moveaxis(jnp.fft.fft(x, axis=-1), -1, 0)  # (n3, n1, n2) complex
    u, s, vt = jnp.linalg.svd(xf, full_matrices=False)
    s = jnp.maximum(s - reg * scaling, 0.0).astype(u.dtype)
    yf = (u * s[..., None, :]) @ vt
    return jnp.real(jnp.fft.ifft(jnp.moveaxis(yf, 0, -1), axis=-1)).astype(x.dtype)
