"""Spectral proxes: singular value thresholding and its generalizations."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks, _hyper
from .._sharding import partitioned
from ..linalg._gemm import factor_gemm
from ..linalg._spectral import singular_value_map
from ..linalg._spectral import soft_threshold_values as _soft
from ..linalg._svd import randomized_range
from ._vector import prox_l1


def _keep_leading(s, params):
    """The first ``rank`` singular values kept, the rest zeroed (``params`` is the 0/1 mask)."""
    return s * params


def _generalized(prox_fn):
    return functools.partial(_apply_prox_fn, prox_fn)


def _apply_prox_fn(prox_fn, s, params):
    hyperparams, scaling = params
    return prox_fn(s, hyperparams, scaling)


def _spectral_input(x, *, ndim: int | None = None):
    return _hyper.matrix("x", x, ndim=ndim)


@functools.partial(jax.jit, static_argnames=("prox_fn",))
def _generalized_svt(x, hyperparams, scaling, *, prox_fn):
    return singular_value_map(x, _generalized(prox_fn), (hyperparams, scaling))


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
    prox_fn=prox_mcp)`` is itself a prox usable wherever a low-rank prox is expected. The
    derivative is that of a spectral function (:func:`lrjax.linalg.singular_value_map`):
    finite at repeated and zero singular values.

    Args:
        x: matrix (leading axes batch).
        hyperparams: passed to ``prox_fn``.
        scaling: :math:`s \ge 0`.
        prox_fn: elementwise prox ``prox_fn(values, hyperparams, scaling)`` (static);
            default :func:`prox_l1`, i.e. the nuclear norm.

    Raises:
        ValueError: for ``x`` with fewer than 2 dimensions, or hyperparameters that
            ``prox_fn`` rejects (it is called once on a zero vector to check them, when
            they are concrete).

    References:
        C. Lu, C. Zhu, C. Xu, S. Yan, Z. Lin, "Generalized singular value thresholding",
        AAAI 2015.
    """
    x = _spectral_input(x)
    if _hyper.all_concrete((hyperparams, scaling)):
        prox_fn(jnp.zeros((1,), x.dtype), hyperparams, scaling)  # raises on bad values
    return partitioned(_generalized_svt, x, hyperparams, scaling, prox_fn=prox_fn)


@jax.jit
def _prox_nuclear(x, reg, scaling):
    out = singular_value_map(x, _soft, (reg, scaling))
    return _hyper.nan_unless(out, (reg >= 0) & (scaling >= 0))


def prox_nuclear(x: Float[Array, "m n"], reg, scaling=1.0) -> Float[Array, "m n"]:
    r"""Singular value thresholding, the prox of :math:`g(Z) = \lambda \|Z\|_*`.

    :math:`U \max(\Sigma - s\lambda, 0) V^\top` (Cai, Candès & Shen 2010). The derivative is
    finite at repeated and zero singular values (:func:`lrjax.linalg.singular_value_map`);
    a matrix with a NaN or infinite entry gives an all-NaN result.

    Args:
        x: matrix ``(m, n)`` (leading axes batch).
        reg: :math:`\lambda \ge 0`.
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``x`` with fewer than 2 dimensions, or a negative ``reg`` or
            ``scaling`` (when concrete; traced negative values give NaN).
    """
    x = _spectral_input(x)
    _hyper.nonneg("reg", reg)
    _hyper.nonneg("scaling", scaling)
    return partitioned(_prox_nuclear, x, reg, scaling)


@jax.jit
def _prox_weighted_nuclear(x, weights, scaling):
    out = singular_value_map(x, _soft, (weights, scaling))
    w = jnp.asarray(weights)
    ordered = jnp.all(w[..., 1:] >= w[..., :-1]) if w.ndim else True
    return _hyper.nan_unless(out, jnp.all(w >= 0) & ordered & (scaling >= 0))


def prox_weighted_nuclear(x: Float[Array, "m n"], weights, scaling=1.0) -> Float[Array, "m n"]:
    r"""Prox of the weighted nuclear norm :math:`\sum_i w_i \sigma_i(Z)` with
    non-descending weights :math:`0 \le w_1 \le w_2 \le \cdots` (matched to singular values in
    descending order): :math:`U \max(\Sigma - s W, 0) V^\top`.

    For non-descending weights this closed form is the global minimiser (Gu, Xie, Meng,
    Zuo, Feng, Zhang, "Weighted nuclear norm minimization and its applications to low level
    vision", IJCV 121, 2017, Theorem 1).

    Args:
        x: matrix ``(m, n)``.
        weights: ``(min(m, n),)`` non-descending, non-negative weights (or a scalar).
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``x`` with fewer than 2 dimensions, weights of the wrong length,
            negative or decreasing weights, or a negative ``scaling`` (when concrete; traced
            values out of range give NaN).
    """
    x = _spectral_input(x)
    k = min(x.shape[-2:])
    w = _hyper.concrete(weights)
    shape = tuple(jnp.shape(weights))
    if shape not in ((), (k,)):
        raise ValueError(
            f"`weights` must be a scalar or have shape ({k},) (one per singular value of `x` "
            f"of shape {x.shape}), got shape {shape}."
        )
    if w is not None:
        _hyper.nonneg("weights", w)
        if w.ndim and bool(np.any(np.diff(w) < 0)):
            raise ValueError(
                "`weights` must be non-descending (the closed form is the minimiser only "
                f"then), got {weights!r}."
            )
    _hyper.nonneg("scaling", scaling)
    return partitioned(_prox_weighted_nuclear, x, weights, scaling)


@functools.partial(jax.jit, static_argnames=("rank",))
def _projection_rank(x, rank):
    mask = (jnp.arange(min(x.shape[-2:])) < rank).astype(x.dtype)
    return singular_value_map(x, _keep_leading, mask)


def projection_rank(x: Float[Array, "m n"], rank: int, scaling=1.0) -> Float[Array, "m n"]:
    """Projection onto matrices of rank at most ``rank`` (Eckart-Young truncation).

    Not differentiable where the ``rank``-th and next singular values are equal (the
    projection is not unique there); the derivative returned then is finite.

    Args:
        x: matrix ``(m, n)`` (leading axes batch).
        rank: a non-negative Python int (static; it fixes shapes).
        scaling: unused.

    Raises:
        ValueError: for ``x`` with fewer than 2 dimensions or a bad ``rank``.
    """
    del scaling
    x = _spectral_input(x)
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer) or rank < 0:
        raise ValueError(f"`rank` must be a non-negative Python int, got {rank!r}.")
    return partitioned(_projection_rank, x, rank=int(rank))


@functools.partial(jax.jit, static_argnames=("rank", "n_oversamples", "n_iter"))
def _prox_nuclear_randomized(x, reg, scaling, key, *, rank, n_oversamples, n_iter):
    q = randomized_range(x, key, rank + n_oversamples, n_iter)
    small = factor_gemm(q, x, contract=0)  # q.T @ x as a row-major GEMM
    return q @ _prox_nuclear(small, reg, scaling)


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
        reg: :math:`\lambda \ge 0`.
        scaling: :math:`s \ge 0`.
        rank: target rank ``k`` (static), an upper estimate of the rank after thresholding.
        key: PRNG key of the sketch.
        n_oversamples: extra sketch columns (static).
        n_iter: power iterations (static).

    Raises:
        ValueError: for a non-matrix ``x``, a negative ``reg`` or ``scaling`` (when
            concrete), a bad integer option or a ``key`` that is not a PRNG key.
    """
    x = _spectral_input(x, ndim=2)
    _hyper.nonneg("reg", reg)
    _hyper.nonneg("scaling", scaling)
    rank = _checks.positive_int("rank", rank)
    n_oversamples = _checks.nonneg_int("n_oversamples", n_oversamples)
    n_iter = _checks.nonneg_int("n_iter", n_iter)
    key = _checks.prng_key("key", key)
    return partitioned(
        _prox_nuclear_randomized,
        x,
        reg,
        scaling,
        key,
        rank=rank,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
    )


@jax.jit
def _prox_tensor_nuclear(x, reg, scaling):
    # Real input: the Fourier slices k and n3 - k are conjugate and SVT commutes with
    # conjugation, so only the n3 // 2 + 1 slices of rfft are thresholded (about half the
    # SVDs of a full fft). All go through one complex SVD call: splitting off the real DC
    # slice for a real SVD hung XLA:CPU inside tensor_robust_pca's loop (jaxlib 0.10).
    n3 = x.shape[-1]
    xf = jnp.moveaxis(jnp.fft.rfft(x, axis=-1), -1, 0)  # (n3 // 2 + 1, n1, n2)
    yf = singular_value_map(xf, _soft, (reg, scaling))
    out = jnp.fft.irfft(jnp.moveaxis(yf, 0, -1), n=n3, axis=-1).astype(x.dtype)
    return _hyper.nan_unless(out, (reg >= 0) & (scaling >= 0))


def prox_tensor_nuclear(x: Float[Array, "n1 n2 n3"], reg, scaling=1.0) -> Float[Array, "n1 n2 n3"]:
    r"""Prox of the tensor nuclear norm of the t-SVD (tensor singular value thresholding).

    With :math:`\bar{\mathcal{X}} = \mathrm{fft}(\mathcal{X}, \text{axis}=2)`, every frontal
    slice :math:`\bar X^{(k)}` is soft-thresholded in its singular values at :math:`s\lambda`
    and the result transformed back; this is the prox of :math:`\lambda\|\mathcal{X}\|_*`
    with :math:`\|\mathcal{X}\|_* = \frac{1}{n_3}\sum_k \|\bar X^{(k)}\|_*` (Lu et al. 2020,
    Theorem 4.2). The derivative is finite at repeated and zero singular values; a
    non-finite entry gives an all-NaN result (the complex SVD is never called on it: LAPACK's
    does not return on some such inputs).

    Args:
        x: real tensor ``(n1, n2, n3)``.
        reg: :math:`\lambda \ge 0`.
        scaling: :math:`s \ge 0`.

    Raises:
        ValueError: for ``x`` that is not 3-way, or a negative ``reg`` or ``scaling`` (when
            concrete; traced negative values give NaN).

    References:
        C. Lu, J. Feng, Y. Chen, W. Liu, Z. Lin, S. Yan, "Tensor robust principal component
        analysis with a new tensor nuclear norm", IEEE TPAMI 42(4), 2020.
    """
    x = _spectral_input(x, ndim=3)
    _hyper.nonneg("reg", reg)
    _hyper.nonneg("scaling", scaling)
    return partitioned(_prox_tensor_nuclear, x, reg, scaling)
