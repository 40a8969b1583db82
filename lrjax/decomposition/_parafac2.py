"""PARAFAC2 by the alternating least squares of Kiers, ten Berge and Bro (1999)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .. import _checks
from ..linalg._svd import leading_left_singular_vectors
from ..solvers._extrapolate import extrapolated
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import Parafac2Tensor
from ._cp import _canonical_cp, _safe_norms, dimension_tree_sweep


class Parafac2Result(NamedTuple):
    """Result of :func:`parafac2`: the decomposition and its :class:`SolverInfo`."""

    parafac2: Parafac2Tensor
    info: SolverInfo


def _projections(x: Array, rows: Array, factors) -> Array:
    """``P_k``: the orthonormal polar factor of ``X_k C diag(a_k) B^T`` (rows past the
    slice's length zero), the least-squares optimum for fixed ``A, B, C``."""
    a, b, c = factors
    m = jnp.einsum("kji,ir,kr,sr->kjs", x, c, a, b)
    u, _, vt = jnp.linalg.svd(m, full_matrices=False)
    return (u @ vt) * rows[..., None]


def _sweep(factors, data):
    """Update all ``P_k``, then one CP-ALS sweep on ``Y_k = P_k^T X_k`` (shape ``(K, R, I)``).

    Returns the new factors and the relative error of the model with the ``P_k`` of this
    sweep, from the residual itself (the shortcut ``||X||² − ||Y||² + ||Y − Ŷ||²`` loses half
    the digits to cancellation: a float32 run could not see changes below 3e-4).
    """
    x, rows, norm_x_sq = data
    p = _projections(x, rows, factors)
    y = jnp.einsum("kjr,kji->kri", p, x)
    (a, b, c), _ = dimension_tree_sweep(factors, (y, jnp.sum(y * y)))
    x_hat = jnp.einsum("kjr,rs,ks,is->kji", p, b, a, c)
    err = jnp.sqrt(jnp.sum((x - x_hat) ** 2) / norm_x_sq)
    # Gauge: X_k = (P_k Q^T)(Q B) D_k C^T for any orthogonal Q, so B is fixed to the
    # triangular factor of its QR decomposition (positive diagonal; ``B^T B`` unchanged).
    # This makes the fixed point isolated, which implicit differentiation needs.
    r = jnp.linalg.qr(b, mode="r")
    sign = jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0)
    return (a, r * sign[:, None], c), err


@functools.partial(jax.jit, static_argnames=("rank", "init", "maxiter", "diff"))
def _parafac2(x, lengths, key, tol, *, rank, init, maxiter, diff):
    n_slices, n_rows, n_cols = x.shape
    rows = (jnp.arange(n_rows)[None, :] < lengths[:, None]).astype(x.dtype)
    x = x * rows[..., None]
    if init == "svd":
        k = min(rank, n_cols)
        c = leading_left_singular_vectors(x.reshape(-1, n_cols).T, k)
        if k < rank:
            extra = jax.random.normal(key, (n_cols, rank - k), dtype=x.dtype)
            c = jnp.concatenate([c, extra / _safe_norms(extra)], axis=1)
        a = jnp.ones((n_slices, rank), x.dtype) / jnp.sqrt(n_slices)
        b = jnp.eye(rank, dtype=x.dtype)
    else:
        ka, kb, kc = jax.random.split(key, 3)
        a = jax.random.uniform(ka, (n_slices, rank), x.dtype, 0.1, 1.0)
        b = jax.random.normal(kb, (rank, rank), x.dtype)
        c = jax.random.normal(kc, (n_cols, rank), x.dtype)
        a, b = a / _safe_norms(a), b / _safe_norms(b)
    data = (x, rows, jnp.sum(x * x))
    step, init_state, attach = extrapolated(_sweep)
    state, info = iterate(
        step, init_state((a, b, c)), data, maxiter=maxiter, tol=tol, diff=diff, implicit=attach
    )
    factors = state[0]
    cp = _canonical_cp(factors)
    a, b, c = cp.factors
    p = _projections(x, rows, (a * cp.weights, b, c))
    result = Parafac2Tensor(cp.weights, cp.factors, p)
    error = jnp.linalg.norm((x - result.to_dense()).ravel()) / jnp.sqrt(data[2])
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return Parafac2Result(result, info)


def _pad_slices(slices) -> tuple[np.ndarray, np.ndarray]:
    mats = [np.asarray(s) for s in slices]
    for k, s in enumerate(mats):
        if s.ndim != 2:
            raise ValueError(f"`slices[{k}]` must be a matrix, got shape {s.shape}.")
        if s.shape[1] != mats[0].shape[1]:
            raise ValueError(
                f"`slices[{k}]` must have {mats[0].shape[1]} columns like `slices[0]` of shape "
                f"{mats[0].shape}, got shape {s.shape}."
            )
    n_rows = max(s.shape[0] for s in mats)
    dtype = np.result_type(*mats, np.float32)
    padded = np.zeros((len(mats), n_rows, mats[0].shape[1]), dtype=dtype)
    for k, s in enumerate(mats):
        padded[k, : s.shape[0]] = s
    return padded, np.array([s.shape[0] for s in mats])


def parafac2(
    slices: Float[Array, "K J I"] | list,
    rank: int,
    *,
    lengths: Int[Array, " K"] | None = None,
    key: jax.Array | None = None,
    init: str = "svd",
    maxiter: int = 500,
    tol: float | Array = 1e-10,
    diff: str = "implicit",
) -> Parafac2Result:
    r"""PARAFAC2 decomposition of slices with different numbers of rows.

    .. math:: \min \sum_k \bigl\| X_k - P_k B \operatorname{diag}(a_k) C^\top \bigr\|_F^2
       \quad \text{s.t. } P_k^\top P_k = I

    Each slice ``X_k`` (``J_k x I``) has its own row space, but the cross products
    :math:`B_k^\top B_k = B^\top B` of its mode-1 factors ``B_k = P_k B`` are shared: the
    model for data whose rows do not correspond across slices (chromatographic elution
    profiles that shift, sequences of different lengths). Each sweep sets every ``P_k`` to the
    orthonormal polar factor of ``X_k C diag(a_k) B^T``, then runs one CP-ALS sweep on the
    ``R x I`` slices ``P_k^T X_k``.

    Args:
        slices: a list of ``K`` matrices of shapes ``(J_k, I)`` (padded to a ``(K, J, I)``
            array eagerly), or a padded ``(K, J, I)`` array (rows past ``lengths[k]`` are
            ignored).
        rank: number of components ``R`` (static); at most every ``J_k``.
        lengths: with an array input, the number of rows of each slice (default: all ``J``).
        key: PRNG key, needed for ``init="random"`` or when ``rank > I``.
        init: ``"svd"`` (``C`` from the leading right singular vectors of the stacked slices,
            ``A`` constant, ``B = I``, as TensorLy) or ``"random"``.
        maxiter: maximum sweeps (static).
        tol: stop when the relative error changes by less than ``tol``.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``Parafac2Result(parafac2, info)``: a :class:`~lrjax.tensors.Parafac2Tensor` in
        canonical form (unit-norm columns of ``A``, ``B``, ``C``, weights sorted descending)
        and its :class:`SolverInfo`; ``info.error`` is
        ``sqrt(Σ_k ||X_k − X̂_k||² / Σ_k ||X_k||²)``.

    Raises:
        ValueError: for slices with different numbers of columns, a slice with fewer rows
            than ``rank``, non-finite entries (eagerly), or bad options.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> a, c = rng.uniform(0, 2, (5, 2)), rng.normal(size=(6, 2))
        >>> xs = [np.linalg.qr(rng.normal(size=(n, 2)))[0] @ np.diag(ak) @ c.T
        ...       for n, ak in zip((6, 7, 8, 9, 5), a)]
        >>> res = parafac2(xs, 2)
        >>> bool(res.info.error < 1e-5), res.parafac2.shape
        (True, (5, 9, 6))

    References:
        R. A. Harshman, "PARAFAC2: Mathematical and technical notes", UCLA Working Papers
        in Phonetics 22, 1972. H. A. L. Kiers, J. M. F. ten Berge and R. Bro, "PARAFAC2 -
        Part I. A direct fitting algorithm for the PARAFAC2 model", J. Chemometrics 13,
        1999. Same model as ``tensorly.decomposition.parafac2``.
    """
    if isinstance(slices, list | tuple):
        if lengths is not None:
            raise ValueError("`lengths` is only for a padded array; a list gives its own.")
        if not slices:
            raise ValueError("`slices` must hold at least one matrix, got none.")
        padded, lengths_np = _pad_slices(slices)
        x, lengths = _checks.as_array("slices", padded, ndim=3), jnp.asarray(lengths_np)
    else:
        x = _checks.as_array("slices", slices, ndim=3)
        if lengths is None:
            lengths = jnp.full((x.shape[0],), x.shape[1])
        lengths = jnp.asarray(lengths)
        if lengths.shape != (x.shape[0],):
            raise ValueError(
                f"`lengths` must have shape ({x.shape[0]},) for slices of shape {x.shape}, "
                f"got {lengths.shape}."
            )
    rank = _checks.positive_int("rank", rank)
    init = _checks.choice("init", init, ("svd", "random"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    if _checks.is_concrete(lengths):
        short = [int(n) for n in np.asarray(lengths) if not rank <= n <= x.shape[1]]
        if short:
            raise ValueError(
                f"every slice must have between `rank`={rank} and {x.shape[1]} rows, got "
                f"lengths {short}."
            )
    if key is None and (init == "random" or rank > x.shape[2]):
        reason = "init='random'" if init == "random" else f"rank {rank} > I = {x.shape[2]}"
        raise ValueError(f"`key` must be a PRNG key when {reason}, got None.")
    return _parafac2(x, lengths, key, tol, rank=rank, init=init, maxiter=maxiter, diff=diff)
