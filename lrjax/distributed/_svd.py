"""Tall matrices sharded by rows: TSQR, truncated and randomized SVD, and singular value
thresholding, by ``shard_map``. Only small (n x n, k x n) blocks move."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from .. import _checks, _hyper, _random
from .._sharding import partitioned
from ..linalg._small import cholesky_guarded, gauss_jordan
from ..linalg._spectral import singular_value_map, svd_guarded
from ..linalg._spectral import soft_threshold_values as _soft
from ._layout import Layout, layout_of, require_sharded


def _smap(fn, layout, in_specs, out_specs):
    return jax.shard_map(fn, mesh=layout.current_mesh(), in_specs=in_specs, out_specs=out_specs)


def rows_layout(name: str, a, mesh, spec, *, what: str) -> Layout:
    """The layout of a matrix sharded by rows only, each device holding at least as many rows
    as there are columns (TSQR's local QR needs a tall block)."""
    layout = layout_of(name, a, mesh, spec)
    require_sharded(layout, name, only=(0,), what=what)
    local = a.shape[0] // layout.size(layout.axes[0])
    if local < a.shape[1]:
        raise ValueError(
            f"`{name}` of shape {a.shape} gives each of {layout.size(layout.axes[0])} devices "
            f"{local} rows, fewer than its {a.shape[1]} columns: {what} needs tall blocks "
            "(use fewer devices along the rows, or the randomized SVD)."
        )
    return layout


def _tsqr_local(a_blk, *, axes):
    """``a = Q R`` with ``R`` replicated: local QR, all-gather of the p small R factors, QR
    of their stack, and each device's rows of the second Q applied locally."""
    q1, r1 = jnp.linalg.qr(a_blk)
    stacked = lax.all_gather(r1, axes, tiled=True, to="invarying")  # (p n, n)
    q2, r = jnp.linalg.qr(stacked)
    n = a_blk.shape[1]
    i = lax.axis_index(axes)
    q2_mine = lax.dynamic_slice_in_dim(q2, i * n, n, axis=0)
    # deterministic signs: R's diagonal non-negative (Q's columns flip with it)
    sign = jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0).astype(r.dtype)
    return (q1 @ q2_mine) * sign, r * sign[:, None]


@functools.partial(jax.jit, static_argnames=("layout",))
def _tsqr(a, *, layout):
    axes = layout.axes[0]
    return _smap(
        functools.partial(_tsqr_local, axes=axes), layout, (layout.spec,),
        (layout.spec, P()),
    )(a)  # fmt: skip


def tsqr(a: Float[Array, "m n"], *, mesh=None, spec=None) -> tuple[Array, Array]:
    r"""Tall-skinny QR of a matrix sharded by rows: ``a = Q R``, ``Q`` sharded like ``a``,
    ``R`` (``n x n``, diagonal non-negative) replicated.

    Each device factors its block, the ``p`` small ``R`` factors are all-gathered and
    factored again, and each device applies its rows of the second ``Q``. **Bytes moved:** one
    all-gather of ``p n²`` entries (each device receives ``b p n²``), independent of ``m``.

    Args:
        a: ``(m, n)`` matrix sharded along its rows only, every block at least ``n`` rows.
        mesh, spec: the layout, when ``a`` does not carry it.

    Returns:
        ``(q, r)``.

    Raises:
        ValueError: for a layout that splits the columns, or blocks shorter than ``n``.

    References:
        J. Demmel, L. Grigori, M. Hoemmen, J. Langou, "Communication-optimal parallel and
        sequential QR and LU factorizations", SIAM J. Sci. Comput. 34(1), 2012.
    """
    a = _checks.as_array("a", a, ndim=2)
    layout = rows_layout("a", a, mesh, spec, what="tsqr")
    return partitioned(_tsqr, a, layout=layout)


def _flip_signs_local(u_blk, vt, *, axes):
    """scikit-learn's sign rule (largest-magnitude entry of each column of ``u`` positive) on
    a row-sharded ``u``: each device's largest entries are all-gathered (``p k`` values)."""
    pick = jnp.argmax(jnp.abs(u_blk), axis=0)
    local = jnp.take_along_axis(u_blk, pick[None, :], axis=0)[0]
    everyone = lax.all_gather(local, axes, tiled=False, to="invarying").reshape(-1, u_blk.shape[1])
    best = jnp.take_along_axis(everyone, jnp.argmax(jnp.abs(everyone), axis=0)[None], axis=0)[0]
    sign = jnp.where(best < 0, -1.0, 1.0).astype(u_blk.dtype)
    return u_blk * sign, vt * sign[:, None]


def _truncated_local(a_blk, *, axes, rank):
    q, r = _tsqr_local(a_blk, axes=axes)
    ur, s, vt = svd_guarded(r)
    u = q @ ur[:, :rank]
    u, vt = _flip_signs_local(u, vt[:rank], axes=axes)
    return u, s[:rank], vt


@functools.partial(jax.jit, static_argnames=("layout", "rank"))
def _truncated_svd(a, *, layout, rank):
    return _smap(
        functools.partial(_truncated_local, axes=layout.axes[0], rank=rank), layout,
        (layout.spec,), (layout.spec, P(), P()),
    )(a)  # fmt: skip


def truncated_svd(
    a: Float[Array, "m n"], rank: int, *, mesh=None, spec=None
) -> tuple[Array, Array, Array]:
    r"""Truncated SVD of a tall matrix sharded by rows, through :func:`tsqr`: ``a = QR``,
    ``R = U_R Σ Vᵀ``, ``U = Q U_R``. Same factors and signs as :func:`lrjax.truncated_svd`.

    **Bytes moved:** the TSQR all-gather (``b p n²``) and the sign choice (``b p k``).

    Args:
        a: ``(m, n)`` matrix sharded along its rows, blocks of at least ``n`` rows.
        rank: ``k`` (static), at most ``n``.
        mesh, spec: the layout, when ``a`` does not carry it.

    Returns:
        ``(u, s, vt)``: ``u`` sharded like ``a``, ``s`` and ``vt`` replicated.

    Raises:
        ValueError: for a bad rank or layout.
    """
    a = _checks.as_array("a", a, ndim=2)
    layout = rows_layout("a", a, mesh, spec, what="truncated_svd")
    rank = _checks.positive_int("rank", rank)
    if rank > a.shape[1]:
        raise ValueError(f"`rank` must be at most a.shape[1] = {a.shape[1]}, got {rank}.")
    return partitioned(_truncated_svd, a, layout=layout, rank=rank)


def _orthonormalize_rows_sharded(y_blk, axes):
    """CholeskyQR2 of a row-sharded tall matrix: Grams all-reduced (``k x k``)."""
    for _ in range(2):
        gram = lax.psum(y_blk.T @ y_blk, axes)
        low, keep = cholesky_guarded(gram)
        low_inv = gauss_jordan(low, jnp.eye(low.shape[0], dtype=low.dtype))
        y_blk = (y_blk @ low_inv.T) * keep
    return y_blk


def _orthonormalize_small(z):
    """CholeskyQR2 of a replicated tall matrix."""
    for _ in range(2):
        low, keep = cholesky_guarded(z.T @ z)
        z = (z @ gauss_jordan(low, jnp.eye(low.shape[0], dtype=low.dtype)).T) * keep
    return z


def _randomized_local(a_blk, omega, *, axes, rank, n_iter):
    q = _orthonormalize_rows_sharded(a_blk @ omega, axes)

    def power(_, q):
        z = _orthonormalize_small(lax.psum(a_blk.T @ q, axes))  # (n, l): one all-reduce
        return _orthonormalize_rows_sharded(a_blk @ z, axes)

    q = lax.fori_loop(0, n_iter, power, q)
    small = lax.psum(q.T @ a_blk, axes)  # (l, n)
    ub, s, vt = svd_guarded(small)
    u = q @ ub[:, :rank]
    u, vt = _flip_signs_local(u, vt[:rank], axes=axes)
    return u, s[:rank], vt


@functools.partial(jax.jit, static_argnames=("layout", "rank", "n_oversamples", "n_iter"))
def _randomized_svd(a, key, *, layout, rank, n_oversamples, n_iter):
    width = min(rank + n_oversamples, a.shape[1])
    omega = _random.normal(key, (a.shape[1], width), dtype=a.dtype)
    return _smap(
        functools.partial(_randomized_local, axes=layout.axes[0], rank=rank, n_iter=n_iter),
        layout, (layout.spec, P()), (layout.spec, P(), P()),
    )(a, omega)  # fmt: skip


def randomized_svd(
    a: Float[Array, "m n"],
    rank: int,
    *,
    key: jax.Array,
    n_oversamples: int = 10,
    n_iter: int = 4,
    mesh=None,
    spec=None,
) -> tuple[Array, Array, Array]:
    r"""Randomized SVD (Halko et al. 2011, Alg. 4.4) of a matrix sharded by rows.

    The sketch ``A Ω`` is formed locally (``Ω`` from ``key``, the same on every device);
    orthonormalisation is CholeskyQR2 with its ``l x l`` Grams all-reduced; each power
    iteration all-reduces ``Aᵀ Q`` (``n x l``), and the final ``Qᵀ A`` (``l x n``) is
    all-reduced once. **Bytes moved per power iteration:** ``b (n l + 2 l²)`` with
    ``l = min(rank + n_oversamples, n)`` (``Aᵀ Q``, then the ``l x l`` Gram of each of the
    two CholeskyQR passes of ``A Z``), independent of ``m``; plus ``b (l n + 2 l² + p k)``
    once.

    Args:
        a: ``(m, n)`` matrix sharded along its rows (any number of rows per device).
        rank, key, n_oversamples, n_iter: as :func:`lrjax.randomized_svd`.
        mesh, spec: the layout, when ``a`` does not carry it.

    Returns:
        ``(u, s, vt)``: ``u`` sharded like ``a``, the rest replicated.

    Raises:
        ValueError: for a bad rank, key or layout.
    """
    a = _checks.as_array("a", a, ndim=2)
    layout = layout_of("a", a, mesh, spec)
    require_sharded(layout, "a", only=(0,), what="randomized_svd")
    rank = _checks.positive_int("rank", rank)
    if rank > min(a.shape):
        raise ValueError(f"`rank` must be at most min(a.shape) = {min(a.shape)}, got {rank}.")
    key = _checks.prng_key("key", key)
    n_oversamples = _checks.nonneg_int("n_oversamples", n_oversamples)
    n_iter = _checks.nonneg_int("n_iter", n_iter)
    return partitioned(
        _randomized_svd, a, key, layout=layout, rank=rank, n_oversamples=n_oversamples,
        n_iter=n_iter,
    )  # fmt: skip


def _svt_local(x_blk, reg, scaling, *, axes):
    q, r = _tsqr_local(x_blk, axes=axes)
    return q @ singular_value_map(r, _soft, (reg, scaling))


@functools.partial(jax.jit, static_argnames=("layout",))
def _prox_nuclear_rows(x, reg, scaling, *, layout):
    out = _smap(
        functools.partial(_svt_local, axes=layout.axes[0]), layout,
        (layout.spec, P(), P()), layout.spec,
    )(x, reg, scaling)  # fmt: skip
    return _hyper.nan_unless(out, (reg >= 0) & (scaling >= 0))


def prox_nuclear_rows(
    x: Float[Array, "m n"], reg, scaling=1.0, *, mesh=None, spec=None
) -> Float[Array, "m n"]:
    r"""Singular value thresholding of a tall matrix sharded by rows: ``x = QR`` by
    :func:`tsqr`, then ``Q · SVT(R)``; equals :func:`lrjax.prox.prox_nuclear` and has its
    derivative (the spectral map of ``R``, finite at repeated singular values).

    **Bytes moved:** the TSQR all-gather, ``b p n²`` per call.

    Args:
        x: ``(m, n)`` matrix sharded along its rows, blocks of at least ``n`` rows.
        reg, scaling: the threshold is ``reg * scaling`` (both ``>= 0``).
        mesh, spec: the layout, when ``x`` does not carry it.

    Returns:
        The thresholded matrix, sharded like ``x``.

    Raises:
        ValueError: for a bad layout or negative ``reg``/``scaling`` (when concrete).
    """
    x = _checks.as_array("x", x, ndim=2, check_finite=False)
    layout = rows_layout("x", x, mesh, spec, what="prox_nuclear_rows")
    _hyper.nonneg("reg", reg)
    _hyper.nonneg("scaling", scaling)
    return partitioned(_prox_nuclear_rows, x, reg, scaling, layout=layout)


@functools.lru_cache(maxsize=64)
def svt_prox(layout: Layout):
    """``prox(x, reg, scaling)`` for the solvers' ``low_rank_prox`` options: one callable
    per layout, so that a solver compiled for it is reused."""

    def prox(x, reg, scaling=1.0):
        return _prox_nuclear_rows(x, reg, scaling, layout=layout)

    return prox
