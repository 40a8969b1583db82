"""TT rounding: orthogonalize a tensor train, then truncate its ranks by an SVD sweep."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _checks
from .._sharding import partitioned
from ..tensors import TTMatrix, TTTensor


@jax.custom_jvp
def _thin_svd(a: Array) -> tuple[Array, Array, Array]:
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    return u, s, vt


@_thin_svd.defjvp
def _thin_svd_jvp(primals, tangents):
    """JAX's thin-SVD derivative with the undefined terms set to zero: ``1 / (s_j² − s_i²)``
    for a repeated pair and ``1 / s`` for a zero singular value (both to the rank tolerance
    ``max(s) max(m, n) eps``). Whatever depends on the
    leading ``r`` singular vectors only (what rounding keeps) then has its true, finite
    derivative whenever ``s_r > s_{r+1}``; the plain rule gives NaN there as soon as two
    discarded singular values coincide (a TT sum of a tensor with itself, zero padding)."""
    (a,), (da,) = primals, tangents
    u, s, vt = _thin_svd(a)
    v = jnp.swapaxes(vt, -1, -2)
    ut = jnp.swapaxes(u, -1, -2)
    ds_mat = ut @ da @ v
    ds = jnp.diagonal(ds_mat, axis1=-2, axis2=-1)
    # Numerically equal or zero: within the rank tolerance of NumPy's matrix_rank. Below it
    # the singular vectors are noise, and their terms (1/(s_j² − s_i²) ~ 1/eps²) would swamp
    # the result although it does not depend on them.
    tol = jnp.max(s, axis=-1, keepdims=True) * max(a.shape[-2:]) * jnp.finfo(s.dtype).eps
    tol = jnp.maximum(tol, jnp.finfo(s.dtype).tiny)
    tie = jnp.abs(s[..., None, :] - s[..., :, None]) <= tol[..., None]
    diff = s[..., None, :] ** 2 - s[..., :, None] ** 2  # [i, j] = s_j² − s_i²
    f = jnp.where(tie, 0.0, 1.0 / jnp.where(tie, 1.0, diff))
    s_row = s[..., None, :]
    dss = ds_mat * s_row  # dS diag(s)
    sds = s[..., :, None] * ds_mat  # diag(s) dS
    du = u @ (f * (dss + jnp.swapaxes(dss, -1, -2)))
    dv = v @ (f * (sds + jnp.swapaxes(sds, -1, -2)))
    inv_s = jnp.where(s > tol, 1.0 / jnp.where(s > tol, s, 1.0), 0.0)[..., None, :]
    m, n = a.shape[-2:]
    if m > n:
        dav = da @ v
        du = du + (dav - u @ (ut @ dav)) * inv_s
    if n > m:
        dahu = jnp.swapaxes(da, -1, -2) @ u
        dv = dv + (dahu - v @ (vt @ dahu)) * inv_s
    return (u, s, vt), (du, ds, jnp.swapaxes(dv, -1, -2))


@functools.partial(jax.jit, static_argnames=("ranks",))
def _tt_round(tt, eps, *, ranks):
    kind = type(tt)
    cores = list(tt.cores)
    d = len(cores)
    # Right to left: cores 1..d-1 become right-orthogonal (rows orthonormal when the core is
    # reshaped to (r_k, rest)); the norm of the whole train then sits in core 0.
    for k in range(d - 1, 0, -1):
        c = cores[k]
        r = c.shape[0]
        # An SVD rather than a QR: the same orthonormal factor, but a derivative that stays
        # finite when the core is rank deficient (QR's divides by R's zero diagonal).
        q, s, vt = _thin_svd(c.reshape(r, -1).T)  # (rest, q), (q,), (q, r)
        cores[k] = q.T.reshape(q.shape[1], *c.shape[1:])
        cores[k - 1] = jnp.tensordot(cores[k - 1], (s[:, None] * vt).T, axes=1)  # r -> q
    norm = jnp.linalg.norm(cores[0])
    # Oseledets' threshold: the total error stays within eps ||x|| when every one of the
    # d - 1 truncations drops at most eps ||x|| / sqrt(d - 1).
    delta = eps * norm / math.sqrt(max(d - 1, 1))
    for k in range(d - 1):
        c = cores[k]
        mat = c.reshape(-1, c.shape[-1])
        u, s, vt = _thin_svd(mat)
        keep = min(ranks[k], s.shape[0])
        # tail[i] = sqrt(Σ_{j≥i} s_j²): drop s_i (zero it) when the whole tail from i fits
        tail = jnp.sqrt(jnp.cumsum((s**2)[::-1])[::-1])
        s = jnp.where(tail > delta, s, 0.0)
        cores[k] = u[:, :keep].reshape(*c.shape[:-1], keep)
        cores[k + 1] = jnp.tensordot(s[:keep, None] * vt[:keep], cores[k + 1], axes=1)
    return kind(tuple(cores))


def tt_round(tt: Any, max_rank: Any, *, eps: float | Array = 0.0) -> Any:
    r"""TT rounding: the best tensor train of ranks at most ``max_rank`` near ``tt``, without
    forming the dense tensor (Oseledets 2011, Algorithm 2; t3f's ``round``).

    A right-to-left sweep of orthogonal factorizations makes cores ``1..N-1`` orthogonal,
    then a left-to-right SVD sweep truncates each bond to ``max_rank``. Costs
    ``O(N I r^3)`` for mode size ``I`` and input ranks ``r``. The error is at most
    ``sqrt(N-1)`` times that of the best approximation of those ranks; the result is exact
    when ``tt`` already has rank at most ``max_rank`` (e.g. a sum that
    :func:`lrjax.tensors.tt_add` made redundant).

    Args:
        tt: :class:`~lrjax.tensors.TTTensor` or :class:`~lrjax.tensors.TTMatrix`.
        max_rank: the largest rank per bond: an int, the ``N - 1`` internal ranks, or all
            ``N + 1`` ranks with 1 at both ends (static); clipped to what the mode sizes allow.
        eps: relative accuracy: singular values are also zeroed while the total error stays
            below ``eps ||tt||`` (Oseledets' ``δ = eps ||tt|| / sqrt(N-1)`` per bond). Shapes
            stay at the ranks above, so this works under ``jit``; the zeroed columns cost
            nothing in accuracy. ``0`` (default) keeps all of them.

    Returns:
        The rounded TT object, of ``tt``'s kind, cores ``0..N-2`` left-orthogonal.

    Raises:
        TypeError: for ``tt`` not a TT object.
        ValueError: for bad ``max_rank`` or ``eps``.

    Its derivative is finite also when ``tt`` has repeated or zero singular values across a
    bond (the SVD's undefined terms are set to zero); it is the true derivative when the kept
    and the dropped singular values are separated.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (4, 5, 6), 3)
        >>> b = tt_round(a + a, 3)          # ranks 6 back to 3, exactly 2a
        >>> b.rank, bool(jnp.allclose(b.to_dense(), 2 * a.to_dense(), atol=1e-4))
        ((1, 3, 3, 1), True)

    References:
        I. V. Oseledets, "Tensor-train decomposition", SIAM J. Sci. Comput. 33(5), 2011.
        A. Novikov et al., "Tensor Train decomposition on TensorFlow (T3F)", JMLR 21, 2020.
    """
    if not isinstance(tt, TTTensor | TTMatrix):
        raise TypeError(f"`tt` must be a TTTensor or a TTMatrix, got {type(tt).__name__}.")
    for k, c in enumerate(tt.cores):
        _checks.as_array(f"tt.cores[{k}]", c, check_finite=False)
    expected = 4 if isinstance(tt, TTMatrix) else 3
    if any(c.ndim != expected for c in tt.cores):
        raise ValueError(
            f"`tt` must be a single TT object (cores of {expected} dimensions), got core shapes "
            f"{[c.shape for c in tt.cores]}; vmap tt_round over a batch."
        )
    sizes = (
        tt.shape
        if isinstance(tt, TTTensor)
        else tuple(m * n for m, n in zip(tt.row_modes, tt.col_modes, strict=True))
    )
    ranks = _checks.ranks("max_rank", max_rank, len(sizes), form="tt", sizes=sizes, clip=True)
    eps = _checks.tolerance(eps, "eps")
    return partitioned(_tt_round, tt, eps, ranks=ranks)


def _check_tt(name: str, tt: Any) -> None:
    """``tt`` is one (unbatched) TT tensor or TT-matrix, or raise naming ``name``."""
    if not isinstance(tt, TTTensor | TTMatrix):
        raise TypeError(f"`{name}` must be a TTTensor or a TTMatrix, got {type(tt).__name__}.")
    expected = 4 if isinstance(tt, TTMatrix) else 3
    for k, c in enumerate(tt.cores):
        _checks.as_array(f"{name}.cores[{k}]", c, check_finite=False)
    if any(c.ndim != expected for c in tt.cores):
        raise ValueError(
            f"`{name}` must be a single TT object (cores of {expected} dimensions), got core "
            f"shapes {[c.shape for c in tt.cores]}; vmap over a batch."
        )


def _as_train(tt: Any) -> tuple[list[Array], Any]:
    """The cores as 3-way ``(r, I, r')`` arrays (a TT-matrix's ``(r, m, n, r')`` cores merged
    to ``I = m n``) and the function that turns such cores back into ``tt``'s kind."""
    if isinstance(tt, TTTensor):
        return list(tt.cores), lambda cores: TTTensor(tuple(cores))
    pairs = [c.shape[1:3] for c in tt.cores]
    merged = [c.reshape(c.shape[0], -1, c.shape[-1]) for c in tt.cores]
    return merged, lambda cores: TTMatrix(
        tuple(c.reshape(c.shape[0], *p, c.shape[-1]) for c, p in zip(cores, pairs, strict=True))
    )


def _left_orthogonal(cores: list[Array]) -> list[Array]:
    """Cores ``0..N-2`` left-orthogonal (``(r I, r')`` unfoldings with orthonormal columns),
    the norm in the last; SVDs, whose derivative stays finite on rank-deficient cores."""
    cores = list(cores)
    for k in range(len(cores) - 1):
        c = cores[k]
        u, s, vt = _thin_svd(c.reshape(-1, c.shape[-1]))
        cores[k] = u.reshape(*c.shape[:-1], u.shape[-1])
        cores[k + 1] = jnp.tensordot(s[:, None] * vt, cores[k + 1], axes=1)
    return cores


def _right_orthogonal(cores: list[Array]) -> list[Array]:
    """Cores ``1..N-1`` right-orthogonal (``(r, I r')`` unfoldings with orthonormal rows),
    the norm in the first."""
    flipped = [jnp.transpose(c, (2, 1, 0)) for c in reversed(cores)]
    return [jnp.transpose(c, (2, 1, 0)) for c in reversed(_left_orthogonal(flipped))]


@functools.partial(jax.jit, static_argnames=("left_to_right",))
def _orthogonalize(tt, *, left_to_right):
    cores, rebuild = _as_train(tt)
    return rebuild(_left_orthogonal(cores) if left_to_right else _right_orthogonal(cores))


def tt_orthogonalize(tt: Any, *, left_to_right: bool = True) -> Any:
    """The same TT object with orthogonal cores (t3f's ``orthogonalize_tt_cores``).

    Left to right (default), cores ``0..N-2`` become left-orthogonal: each core reshaped to
    ``(r_{k-1} I_k, r_k)`` has orthonormal columns, and the last core carries the norm
    (``||tt|| = ||cores[-1]||``). Right to left, cores ``1..N-1`` are right-orthogonal
    (``(r_{k-1}, I_k r_k)`` with orthonormal rows) and the first carries the norm. A bond
    whose rank exceeds what its side of the train allows shrinks to that (``r_k <=
    r_{k-1} I_k`` left to right). A TT-matrix's cores count ``I_k = m_k n_k``.

    Args:
        tt: :class:`~lrjax.tensors.TTTensor` or :class:`~lrjax.tensors.TTMatrix`.
        left_to_right: the direction of the sweep (static).

    Returns:
        A TT object of ``tt``'s kind equal to ``tt``, its cores orthogonal as above.

    Raises:
        TypeError: for ``tt`` not a TT object.
        ValueError: for a batched TT object (vmap over the batch instead).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (4, 5, 6), 3)
        >>> q = tt_orthogonalize(a)
        >>> c = q.cores[1].reshape(-1, q.cores[1].shape[-1])
        >>> bool(jnp.allclose(c.T @ c, jnp.eye(3), atol=1e-5))
        True
    """
    _check_tt("tt", tt)
    return partitioned(_orthogonalize, tt, left_to_right=bool(left_to_right))


@jax.jit
def _gather(tt, indices):
    out = None
    for k, c in enumerate(tt.cores):
        picked = jnp.moveaxis(c[:, indices[:, k], :], 1, 0)  # (K, r, r')
        out = picked[:, 0, :] if out is None else jnp.einsum("ka,kab->kb", out, picked)
    return out[:, 0]


def tt_gather(tt: TTTensor, indices: Any) -> Array:
    """Entries of a TT tensor at given multi-indices, without the dense tensor (t3f's
    ``gather_nd``): ``O(K N r^2)`` for ``K`` indices.

    Args:
        tt: :class:`~lrjax.tensors.TTTensor` of shape ``(I_1, ..., I_N)``.
        indices: integer array ``(K, N)``, one multi-index per row (or ``(N,)`` for one
            entry); negative indices count from the end, as in NumPy (traced).

    Returns:
        The entries, shape ``(K,)`` (``()`` for a single ``(N,)`` index).

    Raises:
        TypeError: for ``tt`` not a TTTensor.
        ValueError: for non-integer ``indices``, a wrong number of columns, or (when
            concrete) an index out of range.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> a = random_tt(jax.random.key(0), (4, 5, 6), 2)
        >>> v = tt_gather(a, jnp.array([[0, 1, 2], [3, 4, 5]]))
        >>> bool(jnp.allclose(v, a.to_dense()[jnp.array([0, 3]), jnp.array([1, 4]),
        ...                                   jnp.array([2, 5])], atol=1e-5))
        True
    """
    if not isinstance(tt, TTTensor):
        hint = (
            " (a TTMatrix: gather from TTTensor(tt.cores merged))"
            if isinstance(tt, TTMatrix)
            else ""
        )
        raise TypeError(f"`tt` must be a TTTensor, got {type(tt).__name__}{hint}.")
    _check_tt("tt", tt)
    shape = tt.shape
    idx = jnp.asarray(indices)
    if not jnp.issubdtype(idx.dtype, jnp.integer):
        raise ValueError(f"`indices` must be integers, got dtype {idx.dtype}.")
    single = idx.ndim == 1
    if single:
        idx = idx[None]
    if idx.ndim != 2 or idx.shape[1] != len(shape):
        raise ValueError(
            f"`indices` must have shape (K, {len(shape)}) for a TT tensor of shape {shape}, "
            f"got {tuple(np.shape(indices))}."
        )
    if _checks.is_concrete(idx):
        arr = np.asarray(idx)
        bad = (arr < -np.asarray(shape)) | (arr >= np.asarray(shape))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f"`indices[{row}, {col}]` = {arr[row, col]} is out of range for mode {col} of "
                f"size {shape[col]}."
            )
    idx = jnp.where(idx < 0, idx + jnp.asarray(shape, idx.dtype), idx)
    out = partitioned(_gather, tt, idx)
    return out[0] if single else out


def _dense_as_train_shape(x: Array, where: Any) -> Array:
    """A dense tensor (or matrix, for a TT-matrix ``where``) laid out as ``where``'s cores
    index it: ``(I_1, ..., I_N)``, with ``I_k = m_k n_k`` for a TT-matrix."""
    if isinstance(where, TTTensor):
        return x
    rows, cols = where.row_modes, where.col_modes
    d = len(rows)
    t = x.reshape(*rows, *cols)
    t = jnp.transpose(t, [a for k in range(d) for a in (k, d + k)])
    return t.reshape(tuple(m * n for m, n in zip(rows, cols, strict=True)))


def _sparse_fold(x, u, v):
    """``U_{<k}^T X V_{>k}^T`` for every core ``k`` of a sparse ``X`` (BCOO): per stored
    entry, the row of the left interface and the column of the right one (``O(nnz N r^2)``),
    summed into the ``(r, I_k, r')`` core by the entry's ``k``-th index."""
    idx, vals = x.indices, x.data
    n = len(u)
    left = [jnp.ones((vals.shape[0], 1), vals.dtype)]
    for k in range(n - 1):
        left.append(jnp.einsum("na,anb->nb", left[k], u[k][:, idx[:, k], :]))
    right = [jnp.ones((vals.shape[0], 1), vals.dtype)] * n
    for k in range(n - 1, 0, -1):
        right[k - 1] = jnp.einsum("anb,nb->na", v[k][:, idx[:, k], :], right[k])
    fold = []
    for k in range(n):
        outer = vals[:, None, None] * left[k][:, :, None] * right[k][:, None, :]
        summed = jax.ops.segment_sum(outer, idx[:, k], num_segments=u[k].shape[1])
        fold.append(jnp.transpose(summed, (1, 0, 2)))
    return fold


@jax.jit
def _project(x, where):
    u_cores, rebuild = _as_train(where)
    u = _left_orthogonal(u_cores)
    v = _right_orthogonal(u_cores)
    n = len(u)
    if isinstance(x, TTTensor | TTMatrix):
        z, _ = _as_train(x)
        # interfaces: left[k] = U_{<k}^T Z_{<k} (r_{k-1}, s_{k-1}), right[k] = V_{>k} Z_{>k}^T
        left = [jnp.ones((1, 1), z[0].dtype)]
        for k in range(n - 1):
            left.append(jnp.einsum("ab,aic,bid->cd", left[k], u[k], z[k]))
        right = [jnp.ones((1, 1), z[0].dtype)] * n
        for k in range(n - 1, 0, -1):
            right[k - 1] = jnp.einsum("cd,aic,bid->ab", right[k], v[k], z[k])
        fold = [jnp.einsum("ab,bid,cd->aic", left[k], z[k], right[k]) for k in range(n)]
    elif _checks.is_bcoo(x):
        fold = _sparse_fold(x, u, v)
    else:
        fold = []
        t = x.reshape(1, *x.shape)  # U_{<k}^T X, the leading axis the rank
        for k in range(n):
            # V_{>k} as a matrix (r_k, I_{k+1} ... I_N)
            vk = jnp.ones((1, 1), x.dtype)
            for c in reversed(v[k + 1 :]):
                vk = jnp.einsum("aib,bj->aij", c, vk).reshape(c.shape[0], -1)
            fold.append(jnp.einsum("aip,cp->aic", t.reshape(*t.shape[:2], -1), vk))
            if k < n - 1:
                t = jnp.tensordot(u[k], t, axes=((0, 1), (0, 1)))
    delta = []
    for k in range(n):
        f = fold[k]
        if k < n - 1:  # the gauge: orthogonal to U_k's left unfolding
            mat, um = f.reshape(-1, f.shape[-1]), u[k].reshape(-1, u[k].shape[-1])
            f = (mat - um @ (um.T @ mat)).reshape(f.shape)
        delta.append(f)
    if n == 1:
        return rebuild(delta)
    cores = [jnp.concatenate([delta[0], u[0]], axis=-1)]
    for k in range(1, n - 1):
        zero = jnp.zeros((v[k].shape[0], v[k].shape[1], u[k].shape[-1]), v[k].dtype)
        top = jnp.concatenate([v[k], zero], axis=-1)
        bottom = jnp.concatenate([delta[k], u[k]], axis=-1)
        cores.append(jnp.concatenate([top, bottom], axis=0))
    cores.append(jnp.concatenate([v[-1], delta[-1]], axis=0))
    return rebuild(cores)


def tt_project(x: Any, where: Any) -> Any:
    r"""Orthogonal projection onto the tangent space of the fixed-rank TT manifold at
    ``where`` (t3f's ``riemannian.project``): the Riemannian gradient of a function of a TT
    tensor is ``tt_project(euclidean_gradient, where)``.

    With ``where = U_1 ⋯ U_{k-1} S_k V_{k+1} ⋯ V_N`` in its left- (``U``) and right- (``V``)
    orthogonal forms, the projection of ``Z`` is
    :math:`\sum_k U_{<k}\, \delta C_k\, V_{>k}` with :math:`\delta C_k = (I - P_{U_k})
    (U_{<k}^\top Z V_{>k}^\top)` for ``k < N`` and :math:`\delta C_N = U_{<N}^\top Z`
    (Lubich, Oseledets & Vandereycken 2015; Steinlechner 2016). It is returned as a TT
    object of ranks ``2 r_k`` (block cores ``[[V_k, 0], [δC_k, U_k]]``), so it adds to
    ``where`` and rounds back with :func:`tt_round` (a retraction). ``where`` need not be
    orthogonal; its ranks must be ones the shape allows (``r_k <= r_{k-1} I_k`` and
    ``r_k <= I_{k+1} r_{k+1}``: round it first otherwise).

    Args:
        x: what to project: a TT object of ``where``'s kind and shape (any ranks), a
            dense array of ``where``'s dense shape (e.g. a Euclidean gradient), or, for a
            ``TTTensor`` point, a ``jax.experimental.sparse.BCOO`` tensor (the gradient of
            a loss on observed entries: ``O(nnz N r^2)``, never densified; repeated
            coordinates add).
        where: the point, a :class:`~lrjax.tensors.TTTensor` or
            :class:`~lrjax.tensors.TTMatrix`.

    Returns:
        The projection, a TT object of ``where``'s kind with ranks ``(1, 2 r_1, ..., 2
        r_{N-1}, 1)``.

    Raises:
        TypeError: for ``where`` (or a TT ``x``) not a TT object, or of different kinds.
        ValueError: for shapes that differ, a batched TT object, or ranks of ``where`` that
            its shape does not allow.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> w = random_tt(jax.random.key(0), (4, 5, 6), 2)
        >>> p = tt_project(w, w)  # the point is in its own tangent space
        >>> bool(jnp.allclose(p.to_dense(), w.to_dense(), atol=1e-4))
        True

    References:
        C. Lubich, I. V. Oseledets, B. Vandereycken, "Time integration of tensor trains",
        SIAM J. Numer. Anal. 53(2), 2015. M. Steinlechner, "Riemannian optimization for
        high-dimensional tensor completion", SIAM J. Sci. Comput. 38(5), 2016.
    """
    _check_tt("where", where)
    cores, _ = _as_train(where)
    sizes = [c.shape[1] for c in cores]
    ranks = where.rank
    for k in range(1, len(cores)):
        if ranks[k] > ranks[k - 1] * sizes[k - 1] or ranks[k] > sizes[k] * ranks[k + 1]:
            raise ValueError(
                f"`where` has rank {ranks[k]} at bond {k}, more than its shape allows "
                f"(at most {min(ranks[k - 1] * sizes[k - 1], sizes[k] * ranks[k + 1])}); "
                "round it first with lrjax.tt_round."
            )
    if isinstance(x, TTTensor | TTMatrix):
        _check_tt("x", x)
        if type(x) is not type(where):
            raise TypeError(
                f"`x` must be a {type(where).__name__} like `where`, got {type(x).__name__}."
            )
        got: Any = (x.row_modes, x.col_modes) if isinstance(x, TTMatrix) else x.shape
        want: Any = (
            (where.row_modes, where.col_modes) if isinstance(where, TTMatrix) else where.shape
        )
        if got != want:
            raise ValueError(f"`x` has modes {got}, `where` {want}: they must agree.")
        return partitioned(_project, x, where)
    if _checks.is_bcoo(x):
        if not isinstance(where, TTTensor) or tuple(x.shape) != where.shape:
            raise ValueError(
                f"a sparse (BCOO) `x` must have the shape of a TTTensor `where` "
                f"{where.shape}, got shape {tuple(x.shape)} and a {type(where).__name__}."
            )
        if x.n_batch or x.n_dense:
            raise ValueError(
                "a sparse (BCOO) `x` must have one index per mode (no batch or dense "
                f"dimensions), got n_batch={x.n_batch}, n_dense={x.n_dense}."
            )
        return partitioned(_project, x, where)
    dense = _checks.as_array("x", x, check_finite=False)
    if dense.shape != where.shape:
        raise ValueError(
            f"`x` must be a TT object or an array of `where`'s shape {where.shape}, got shape "
            f"{dense.shape}."
        )
    return partitioned(_project, _dense_as_train_shape(dense, where), where)
