"""Coupled matrix-tensor factorization (CMTF): a CP model of a tensor and a matrix factor
model sharing the first-mode factor, by ALS (with missing entries by EM imputation)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .. import _checks
from .._numeric import relative
from ..linalg import mttkrp
from ..solvers import SolverInfo
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._common import init_factors, solve_gram

__all__ = ["CMTFResult", "cmtf"]


class CMTFResult(NamedTuple):
    """Result of :func:`cmtf`: the tensor's CP model, the matrix's (``A V^T`` as a CP tensor
    with the same ``A``) and ``info`` (relative error over both, observed entries only)."""

    tensor: CPTensor
    matrix: CPTensor
    info: SolverInfo


def _models(factors, v):
    ones = jnp.ones(v.shape[1], v.dtype)
    return CPTensor(ones, tuple(factors)), CPTensor(ones, (factors[0], v))


@functools.partial(jax.jit, static_argnames=("rank", "init", "maxiter"))
def _cmtf(x, y, mask_x, mask_y, key, tol, *, rank, init, maxiter):
    n_modes = x.ndim
    factors0 = init_factors(x, key, rank, init)
    v0 = solve_gram(factors0[0].T @ factors0[0], y.T @ factors0[0])
    norm_sq = jnp.sum(mask_x * x * x) + jnp.sum(mask_y * y * y)

    def sweep(state, data):
        # the dense models of the last sweep ride along: they impute this sweep's missing
        # entries and are not rebuilt for it
        factors, v, x_hat, y_hat = state
        x, y, mask_x, mask_y = data
        xf = jnp.where(mask_x, x, x_hat)  # EM: impute the missing entries
        yf = jnp.where(mask_y, y, y_hat)
        factors = list(factors)
        for n in range(n_modes):
            grams = [factors[m].T @ factors[m] for m in range(n_modes) if m != n]
            gram = functools.reduce(lambda a, b: a * b, grams)
            rhs = mttkrp(xf, factors, n)
            if n == 0:  # the shared factor also fits the matrix
                gram, rhs = gram + v.T @ v, rhs + yf @ v
            factors[n] = solve_gram(gram, rhs)
        v = solve_gram(factors[0].T @ factors[0], yf.T @ factors[0])
        tensor_model, matrix_model = _models(factors, v)
        x_hat, y_hat = tensor_model.to_dense(), matrix_model.to_dense()
        res = jnp.sum(mask_x * (x - x_hat) ** 2) + jnp.sum(mask_y * (y - y_hat) ** 2)
        return (tuple(factors), v, x_hat, y_hat), relative(res, norm_sq)

    models0 = tuple(m.to_dense() for m in _models(factors0, v0))
    (factors, v, _, _), info = iterate(
        sweep,
        (factors0, v0, *models0),
        (x, y, mask_x, mask_y),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        watch=lambda s: s[:2],
    )
    tensor_model, matrix_model = _models(factors, v)
    return CMTFResult(tensor_model, matrix_model, info)


def cmtf(
    x: Float[Array, "*dims"],
    y: Float[Array, "I0 M"],
    rank: int,
    *,
    key: Array | None = None,
    init: str = "svd",
    mask_x: Bool[Array, "*dims"] | None = None,
    mask_y: Bool[Array, "I0 M"] | None = None,
    maxiter: int = 100,
    tol: float | Array = 1e-8,
) -> CMTFResult:
    r"""Coupled matrix-tensor factorization (Acar, Kolda & Dunlavy 2011) by ALS.

    .. math:: \min_{A_0, \ldots, A_{N-1}, V} \|W_X \odot (\mathcal X - [\![A_0, \ldots,
       A_{N-1}]\!])\|_F^2 + \|W_Y \odot (Y - A_0 V^\top)\|_F^2

    A tensor and a matrix that share their first mode (users x items x time and users x
    features; subjects x channels x time and subjects x clinical variables) are modelled by a
    CP tensor and a rank-``R`` matrix factorization with the first-mode factor in common. Each
    sweep solves for every factor in turn (the shared one with both data sets stacked:
    ``A_0 = [X_(0) (⊙_{m≠0} A_m) + Y V] [Π_{m≠0} A_m^T A_m + V^T V]^{-1}``), then ``V``.
    Missing entries (``mask_x`` / ``mask_y`` False) are imputed with the current model before
    each sweep (EM), which converges to the masked least-squares problem above. TensorLy's
    ``coupled_matrix_tensor_3d_factorization`` for 3-way tensors without masks; here any
    order ``N >= 2``.

    Args:
        x: tensor ``(I_0, ..., I_{N-1})``.
        y: matrix ``(I_0, M)`` sharing the first mode.
        rank: number of components (static).
        key: PRNG key, needed for ``init="random"`` (and to complete an SVD start whose rank
            exceeds a mode's size).
        init: ``"svd"`` (default) or ``"random"``.
        mask_x, mask_y: boolean (or 0/1) masks of the observed entries (default all observed).
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).

    Returns:
        ``CMTFResult(tensor, matrix, info)``; ``matrix.factors[0] is tensor.factors[0]``
        (the shared factor), weights are ones; ``info.error`` is
        ``sqrt((‖W_X(X − X̂)‖² + ‖W_Y(Y − Ŷ)‖²) / (‖W_X X‖² + ‖W_Y Y‖²))``. Differentiable
        (unrolled sweeps).

    Raises:
        ValueError: for a ``y`` whose first dimension differs from ``x``'s, masks of the
            wrong shape, NaN/inf in an eager call, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> k = jax.random.split(jax.random.key(0), 4)
        >>> a, b, c, v = (jax.random.normal(kk, (n, 2)) for kk, n in zip(k, (8, 7, 6, 5)))
        >>> x, y = jnp.einsum("ir,jr,kr->ijk", a, b, c), a @ v.T
        >>> res = cmtf(x, y, 2, maxiter=200)
        >>> bool(res.info.error < 1e-6)
        True

    References:
        E. Acar, T. G. Kolda, D. M. Dunlavy, "All-at-once optimization for coupled matrix and
        tensor factorizations", KDD Workshop on Mining and Learning with Graphs, 2011.
        TensorLy's ``coupled_matrix_tensor_3d_factorization``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    y = _checks.as_array("y", y, ndim=2)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"`y` must have {x.shape[0]} rows (the first mode of `x`), got shape {y.shape}."
        )
    rank = _checks.positive_int("rank", rank)
    init = _checks.choice("init", init, ("svd", "random"))
    key = _checks.optional_prng_key("key", key)
    if init == "random" and key is None:
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    masks = []
    for name, mask, data in (("mask_x", mask_x, x), ("mask_y", mask_y, y)):
        if mask is None:
            masks.append(jnp.ones(data.shape, bool))
            continue
        masks.append(_checks.boolean_mask(name, mask, data.shape))
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    dtype = jnp.result_type(x, y)
    return _cmtf(
        x.astype(dtype),
        y.astype(dtype),
        masks[0],
        masks[1],
        jax.random.key(0) if key is None else key,
        tol,
        rank=rank,
        init=init,
        maxiter=maxiter,
    )
