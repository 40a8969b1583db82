"""PARAFAC2 by the alternating least squares of Kiers, ten Berge and Bro (1999)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .. import _checks, _random
from .._numeric import relative, relative_error
from .._sharding import partitioned
from ..linalg._spectral import svd_guarded
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._threads import serial_lapack_call
from ..solvers._extrapolate import extrapolated
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import Parafac2Tensor
from ._common import canonical_cp, safe_norms
from ._cp import dimension_tree_sweep


class Parafac2Result(NamedTuple):
    """Result of :func:`parafac2`: the decomposition and its :class:`SolverInfo`."""

    parafac2: Parafac2Tensor
    info: SolverInfo


def _projections(x: Array, rows: Array, factors) -> Array:
    """``P_k``: the polar factor of ``X_k C diag(a_k) B^T`` (rows past the slice's length
    zero), the least-squares optimum for fixed ``A, B, C``: orthonormal columns for a slice
    of at least ``R`` rows, orthonormal rows for a shorter one (its ``J_k`` leading singular
    directions, which lie in the slice's own rows; the padded rows add only zero ones)."""
    a, b, c = factors
    m = jnp.einsum("kji,ir,kr,sr->kjs", x, c, a, b)
    u, _, vt = svd_guarded(m)
    n_rows = jnp.sum(rows, axis=1)  # J_k
    keep = (jnp.arange(u.shape[-1])[None, :] < n_rows[:, None]).astype(u.dtype)
    return ((u * keep[:, None, :]) @ vt) * rows[..., None]


def _sweep(factors, data):
    """Update all ``P_k``, then one CP-ALS sweep on ``Y_k = P_k^T X_k`` (shape ``(K, R, I)``).

    Returns the new factors and the relative error of the model with the ``P_k`` of this
    sweep, from the residual itself (the shortcut ``||X||² − ||Y||² + ||Y − Ŷ||²`` loses half
    the digits to cancellation: a float32 run could not see changes below 3e-4).
    """
    x, rows, norm_x_sq = data
    p = _projections(x, rows, factors)
    y = jnp.einsum("kjr,kji->kri", p, x)
    # A slice shorter than R sees only the part Π_k = P_kᵀP_k of the R-dimensional model
    # space: the rest of Y_k is filled with the current model, (I − Π_k) B diag(a_k) Cᵀ (an EM
    # step, so the CP sweep minimises the PARAFAC2 objective itself; zero for J_k >= R).
    a0, b0, c0 = factors
    model = jnp.einsum("rs,ks,is->kri", b0, a0, c0)
    y = y + model - jnp.einsum("kjr,kjs,ksi->kri", p, p, model)
    (a, b, c), _ = dimension_tree_sweep(factors, (y, jnp.sum(y * y)))
    x_hat = jnp.einsum("kjr,rs,ks,is->kji", p, b, a, c)
    err = relative(jnp.sum((x - x_hat) ** 2), norm_x_sq)
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
            extra = _random.normal(key, (n_cols, rank - k), dtype=x.dtype)
            c = jnp.concatenate([c, extra / safe_norms(extra)], axis=1)
        a = jnp.ones((n_slices, rank), x.dtype) / jnp.sqrt(n_slices)
        b = jnp.eye(rank, dtype=x.dtype)
    else:
        ka, kb, kc = jax.random.split(key, 3)
        a = _random.uniform(ka, (n_slices, rank), x.dtype, 0.1, 1.0)
        b = _random.normal(kb, (rank, rank), x.dtype)
        c = _random.normal(kc, (n_cols, rank), x.dtype)
        a, b = a / safe_norms(a), b / safe_norms(b)
    data = (x, rows, jnp.sum(x * x))
    step, init_state, attach = extrapolated(_sweep)
    state, info = iterate(
        step, init_state((a, b, c)), data, maxiter=maxiter, tol=tol, diff=diff,
        implicit=attach, watch=lambda state: state[0],
    )  # fmt: skip
    factors = state[0]
    cp = canonical_cp(factors)
    a, b, c = cp.factors
    p = _projections(x, rows, (a * cp.weights, b, c))
    result = Parafac2Tensor(cp.weights, cp.factors, p)
    error = relative_error(x, result.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return Parafac2Result(result, info)


def _pad_slices(slices) -> tuple[Array, Array]:
    """Stack matrices of ``J_k x I`` into a zero-padded ``(K, max J_k, I)`` array (``jnp``, so
    a list of traced slices pads under ``jit`` too: their shapes are static)."""
    mats = [jnp.asarray(s) for s in slices]
    for k, s in enumerate(mats):
        if s.ndim != 2:
            raise ValueError(f"`slices[{k}]` must be a matrix, got shape {s.shape}.")
        if s.shape[1] != mats[0].shape[1]:
            raise ValueError(
                f"`slices[{k}]` must have {mats[0].shape[1]} columns like `slices[0]` of shape "
                f"{mats[0].shape}, got shape {s.shape}."
            )
        if s.shape[0] == 0:
            raise ValueError(f"`slices[{k}]` must have at least one row, got shape {s.shape}.")
    n_rows = max(s.shape[0] for s in mats)
    dtype = jnp.result_type(*mats, jnp.float32)
    padded = jnp.stack([jnp.pad(s.astype(dtype), ((0, n_rows - s.shape[0]), (0, 0))) for s in mats])
    return padded, jnp.array([s.shape[0] for s in mats])


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
        rank: number of components ``R`` (static). A slice with fewer rows than ``R`` is
            allowed (as in TensorLy): its ``P_k`` has orthonormal rows instead of columns.
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
        ValueError: for slices with different numbers of columns, an empty slice, lengths
            out of range, non-finite entries (eagerly), or bad options.

    Examples:
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
        x, lengths = _checks.as_array("slices", padded, ndim=3), lengths_np
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
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    if _checks.is_concrete(lengths):
        bad = [int(n) for n in np.asarray(lengths) if not 1 <= n <= x.shape[1]]
        if bad:
            raise ValueError(
                f"`lengths` must lie between 1 and {x.shape[1]} (the padded number of rows), "
                f"got {bad}."
            )
    if key is None and (init == "random" or rank > x.shape[2]):
        reason = "init='random'" if init == "random" else f"rank {rank} > I = {x.shape[2]}"
        raise ValueError(f"`key` must be a PRNG key when {reason}, got None.")
    return serial_lapack_call(
        max(x.shape[1:]),  # the slices' SVDs and the init's Gram matrices
        partitioned,
        _parafac2,
        x,
        lengths,
        key,
        tol,
        rank=rank,
        init=init,
        maxiter=maxiter,
        diff=diff,
    )
