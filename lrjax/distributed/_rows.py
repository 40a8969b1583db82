"""Matrices sharded by rows: the mergeable frequent-directions sketch, and robust PCA and
matrix completion whose singular value thresholding runs through TSQR."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from .. import _checks
from .._sharding import partitioned
from ..decomposition._completion import CompletionResult
from ..decomposition._completion import complete_matrix as _complete_matrix
from ..decomposition._robust import LowRankProx, RobustPCAResult
from ..decomposition._robust import robust_pca as _robust_pca
from ..linalg._sketch import fd_finalize, fd_init, fd_update, fd_update_unchecked
from ._layout import layout_of, require_sharded
from ._svd import rows_layout, svt_prox


def _fd_local(a_blk, *, axes, sketch_size):
    state = lax.pcast(fd_init(a_blk.shape[1], sketch_size, a_blk.dtype), axes, to="varying")
    b = fd_finalize(fd_update_unchecked(state, a_blk, jax.random.key(0), randomized=False))
    stacked = lax.all_gather(b, axes, tiled=True, to="invarying")  # (p l, d): the p sketches
    return fd_merge_rows(stacked, sketch_size)


def fd_merge_rows(stacked: Array, sketch_size: int) -> Array:
    """Merge sketches stacked by rows into one ``l x d`` sketch: frequent directions run over
    the sketches' rows (the FD shrink of their union)."""
    state = fd_init(stacked.shape[1], sketch_size, stacked.dtype)
    return fd_finalize(fd_update(state, stacked))


@functools.partial(jax.jit, static_argnames=("layout", "sketch_size"))
def _frequent_directions(a, *, layout, sketch_size):
    return jax.shard_map(
        functools.partial(_fd_local, axes=layout.axes[0], sketch_size=sketch_size),
        mesh=layout.current_mesh(), in_specs=(layout.spec,), out_specs=P(),
    )(a)  # fmt: skip


def frequent_directions(
    a: Float[Array, "n d"], sketch_size: int, *, mesh=None, spec=None
) -> Float[Array, "l d"]:
    r"""Frequent-directions sketch of a matrix sharded by rows: every device sketches its own
    rows, the ``p`` sketches are all-gathered and merged by the FD shrink of their stack.

    FD sketches are mergeable (Agarwal et al. 2013; Ghashami et al. 2016, Sec. 3): the merged
    ``B`` keeps the single-stream guarantee, for every ``k < l``,

    .. math:: 0 \preceq A^\top A - B^\top B, \qquad
       \|A^\top A - B^\top B\|_2 \le \frac{\|A - A_k\|_F^2}{l - k}.

    **Bytes moved:** one all-gather of the ``p`` sketches, ``b p l d`` per device.

    Args:
        a: ``(n, d)`` matrix sharded along its rows (or give ``mesh`` and ``spec``).
        sketch_size: ``l`` (static).
        mesh, spec: the layout, when ``a`` does not carry it.

    Returns:
        The ``l x d`` sketch, replicated.

    Raises:
        ValueError: for a layout that splits the columns, or a bad ``sketch_size``.

    References:
        P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei, K. Yi, "Mergeable
        summaries", ACM TODS 38(4), 2013. M. Ghashami, E. Liberty, J. M. Phillips,
        D. P. Woodruff, "Frequent directions: simple and deterministic matrix sketching",
        SIAM J. Comput. 45(5), 2016.
    """
    a = _checks.as_array("a", a, ndim=2)
    layout = layout_of("a", a, mesh, spec)
    require_sharded(layout, "a", only=(0,), what="distributed frequent_directions")
    sketch_size = _checks.positive_int("sketch_size", sketch_size)
    return partitioned(_frequent_directions, a, layout=layout, sketch_size=sketch_size)


def robust_pca(m: Float[Array, "m n"], *, mesh=None, spec=None, **options) -> RobustPCAResult:
    r""":func:`lrjax.robust_pca` of a matrix sharded by rows, with its singular value
    thresholding through TSQR (:func:`prox_nuclear_rows`); everything else is elementwise or
    a reduction, so the matrix never moves.

    **Bytes moved per iteration:** the TSQR all-gather, ``b p n²``, plus a few scalars (the
    residual norm).

    Args:
        m: ``(m, n)`` matrix sharded along its rows, blocks of at least ``n`` rows.
        mesh, spec: the layout, when ``m`` does not carry it.
        **options: those of :func:`lrjax.robust_pca` (not ``low_rank``: the step is the
            TSQR one), ``mask`` included (shard it like ``m``).

    Returns:
        ``RobustPCAResult``, ``low_rank`` and ``sparse`` sharded like ``m``.

    Raises:
        ValueError: for an unusable layout or options.
    """
    # robust_pca checks finiteness (with a mask, of the observed entries only: NaN may mark
    # the others)
    m = _checks.as_array("m", m, ndim=2, check_finite=False)
    layout = rows_layout("m", m, mesh, spec, what="distributed robust_pca")
    for bad in ("low_rank", "low_rank_prox", "svt_rank", "key", "n_iter"):
        if bad in options:
            raise ValueError(f"`{bad}` is set by the distributed robust_pca; do not pass it.")
    return _robust_pca(m, low_rank=LowRankProx(svt_prox(layout)), **options)


def complete_matrix(
    observed: Float[Array, "m n"], mask, *, mesh=None, spec=None, **options
) -> CompletionResult:
    r""":func:`lrjax.complete_matrix` (SVT or soft-impute) of a matrix sharded by rows, with
    its thresholding through TSQR (:func:`prox_nuclear_rows`).

    **Bytes moved per iteration:** ``b p n²`` (TSQR) plus a few scalars.

    Args:
        observed: ``(m, n)`` matrix sharded along its rows, blocks of at least ``n`` rows.
        mask: observed entries, same shape (best sharded the same way).
        mesh, spec: the layout, when ``observed`` does not carry it.
        **options: those of :func:`lrjax.complete_matrix` (not ``low_rank_prox``).

    Returns:
        ``CompletionResult``, the matrix sharded like ``observed``.

    Raises:
        ValueError: for an unusable layout or options.
    """
    observed = _checks.as_array("observed", jnp.asarray(observed), ndim=2, check_finite=False)
    layout = rows_layout("observed", observed, mesh, spec, what="distributed complete_matrix")
    if "low_rank_prox" in options:
        raise ValueError("`low_rank_prox` is set by the distributed complete_matrix.")
    return _complete_matrix(observed, mask, low_rank_prox=svt_prox(layout), **options)
