"""ST-HOSVD and HOOI with the tensor sharded along one mode, by ``shard_map``."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from .._sharding import partitioned
from ..decomposition._tucker import TuckerResult
from ..linalg._spectral import eigh_guarded
from ..linalg._svd import flip_signs, leading_left_singular_vectors
from ..linalg._unfold import mode_dot, unfold
from ..solvers._loop import iterate
from ..tensors import TuckerTensor
from ._layout import Layout, layout_of, require_sharded


def _smap(fn, layout, in_specs, out_specs):
    return jax.shard_map(fn, mesh=layout.current_mesh(), in_specs=in_specs, out_specs=out_specs)


def _split_mode(layout: Layout) -> int:
    return next(d for d, a in enumerate(layout.axes) if a)


def _project(x, factors, modes):
    for m in modes:
        x = mode_dot(x, factors[m].T, m)
    return x


def _split_vectors(y_blk, rank, axes):
    """Leading left singular vectors of a row-sharded tall ``y`` (``(I/p) x K`` blocks): the
    ``K x K`` Gram all-reduced, its eigenvectors ``V`` (signs fixed), ``U = y V / s``."""
    s2, v = eigh_guarded(lax.psum(y_blk.T @ y_blk, axes))
    s2, v = s2[::-1][:rank], v[:, ::-1][:, :rank]
    v, _ = flip_signs(v, v.T)
    pos = s2 > 0
    s = jnp.sqrt(jnp.where(pos, s2, 1.0))
    return jnp.where(pos, (y_blk @ v) / s, 0.0)


def _hosvd_local(x_blk, *, layout: Layout, ranks):
    split = _split_mode(layout)
    axes = layout.axes[split]
    core, factors = x_blk, list[Array]([x_blk] * x_blk.ndim)  # every entry replaced
    for n in [m for m in range(x_blk.ndim) if m != split]:  # unsplit modes: I_n x I_n Grams
        u = unfold(core, n)
        gram = lax.psum(u @ u.T, axes)
        factors[n] = leading_left_singular_vectors(gram, ranks[n])
        core = mode_dot(core, factors[n].T, n)
    y = unfold(core, split)  # (I_s / p, prod of the other ranks)
    factors[split] = _split_vectors(y, ranks[split], axes)
    small = lax.psum(factors[split].T @ y, axes)
    shape = list(core.shape)
    shape[split] = ranks[split]
    moved = (shape[split], *shape[:split], *shape[split + 1 :])
    return jnp.moveaxis(small.reshape(moved), 0, split), tuple(factors)


def _factor_specs(layout, ndim):
    return tuple(layout.dim_spec((n, None)) for n in range(ndim))


@functools.partial(jax.jit, static_argnames=("layout", "ranks"))
def _hosvd(x, *, layout, ranks):
    specs = _factor_specs(layout, x.ndim)
    core, factors = _smap(
        functools.partial(_hosvd_local, layout=layout, ranks=ranks), layout, (layout.spec,),
        (P(), specs),
    )(x)  # fmt: skip
    return TuckerTensor(core, factors)


def _args(x, ranks, mesh, spec, what):
    x = _checks.as_array("x", x, min_ndim=2)
    layout = layout_of("x", x, mesh, spec)
    require_sharded(layout, "x", at_most=1, what=what)
    ranks = _checks.ranks("ranks", ranks, x.ndim, sizes=x.shape)
    split = _split_mode(layout)
    others = math.prod(r for m, r in enumerate(ranks) if m != split)
    if ranks[split] > others:
        raise ValueError(
            f"`ranks[{split}]` = {ranks[split]} (the split mode) must be at most the product of "
            f"the other ranks ({others}): the sharded algorithm takes that mode's basis from a "
            f"{others} x {others} Gram matrix."
        )
    return x, layout, ranks


def hosvd(x: Float[Array, "*dims"], ranks, *, mesh=None, spec=None) -> TuckerTensor:
    r"""Sequentially truncated HOSVD of a tensor sharded along one mode ``s``.

    Unsplit modes first, each from the eigenvectors of its ``I_n x I_n`` unfolding Gram
    (all-reduced), projecting the local block as it goes; the split mode last, from the
    ``K x K`` Gram of the projected tensor (``K = Π_{m≠s} R_m``), its rows of ``U_s`` computed
    locally. **Bytes moved:** ``b (Σ_{n≠s} I_n² + K² + R_s K)``, independent of ``I_s``.

    Args:
        x: tensor sharded along exactly one mode (or give ``mesh`` and ``spec``).
        ranks: multilinear ranks, as :func:`lrjax.hosvd`.
        mesh, spec: the layout, when ``x`` does not carry it.

    Returns:
        ``TuckerTensor``: core replicated, ``U_s`` sharded like mode ``s``.

    Raises:
        ValueError: for a tensor split along several modes, or bad ranks.
    """
    x, layout, ranks = _args(x, ranks, mesh, spec, "distributed hosvd")
    return partitioned(_hosvd, x, layout=layout, ranks=ranks)


def _hooi_sweep_local(factors, x_blk, norm_sq, *, layout: Layout):
    split = _split_mode(layout)
    axes = layout.axes[split]
    factors = list(factors)
    for n in range(x_blk.ndim):
        others = [m for m in range(x_blk.ndim) if m != n]
        y = unfold(_project(x_blk, factors, others), n)
        if n == split:
            factors[n] = _split_vectors(y, factors[n].shape[1], axes)
        else:  # (I_n x K_n) partial projections, all-reduced
            factors[n] = leading_left_singular_vectors(lax.psum(y, axes), factors[n].shape[1])
    core = lax.psum(_project(x_blk, factors, range(x_blk.ndim)), axes)  # R_0 x ... x R_{N-1}
    return tuple(factors), relative(norm_sq - jnp.sum(core * core), norm_sq)


def _core_local(factors, x_blk, *, layout: Layout):
    axes = layout.axes[_split_mode(layout)]
    core = lax.psum(_project(x_blk, factors, range(x_blk.ndim)), axes)
    d = x_blk - TuckerTensor(core, tuple(factors)).to_dense()
    return core, lax.psum(jnp.sum(d * d), axes), lax.psum(jnp.sum(x_blk * x_blk), axes)


@functools.partial(jax.jit, static_argnames=("layout", "ranks", "maxiter", "diff"))
def _tucker_hooi(x, tol, *, layout, ranks, maxiter, diff):
    specs = _factor_specs(layout, x.ndim)
    sweep = _smap(
        functools.partial(_hooi_sweep_local, layout=layout), layout,
        (specs, layout.spec, P()), (specs, P()),
    )  # fmt: skip
    factors0 = _hosvd(x, layout=layout, ranks=ranks).factors
    factors, info = iterate(
        lambda f, d: sweep(f, *d), factors0, (x, jnp.sum(x * x)), maxiter=maxiter, tol=tol,
        diff=diff,
    )  # fmt: skip
    core, res_sq, x_sq = _smap(
        functools.partial(_core_local, layout=layout), layout, (specs, layout.spec),
        (P(), P(), P()),
    )(factors, x)  # fmt: skip
    error = relative(res_sq, x_sq)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TuckerResult(TuckerTensor(core, factors), info)


def tucker_hooi(
    x: Float[Array, "*dims"],
    ranks,
    *,
    mesh=None,
    spec=None,
    maxiter: int = 50,
    tol: float = 1e-8,
    diff: str = "implicit",
) -> TuckerResult:
    r"""HOOI of a tensor sharded along one mode ``s``, started from the sharded ST-HOSVD.

    Each sweep projects the local block on every factor but one: for an unsplit mode ``n``
    the ``I_n x K_n`` partial projection (``K_n = Π_{m≠n} R_m``) is all-reduced and its
    leading left singular vectors taken on every device; for the split mode the
    ``K_s x K_s`` Gram is all-reduced and each device keeps its rows of ``U_s``. **Bytes
    moved per sweep:** ``b (Σ_{n≠s} I_n K_n + K_s² + Π_n R_n + 2)`` (the core, for the error,
    and two norms of the split factor's step, for the stopping test), independent of ``I_s``.

    Args:
        x: tensor sharded along exactly one mode (or give ``mesh`` and ``spec``).
        ranks: multilinear ranks; the split mode's rank at most its rows per device.
        mesh, spec: the layout, when ``x`` does not carry it.
        maxiter, tol, diff: as :func:`lrjax.tucker_hooi`.

    Returns:
        ``TuckerResult(tucker, info)``: core replicated, ``U_s`` sharded like mode ``s``;
        ``info.error`` exact (a sharded residual).

    Raises:
        ValueError: for a tensor split along several modes, or bad ranks or options.
    """
    x, layout, ranks = _args(x, ranks, mesh, spec, "distributed tucker_hooi")
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    return partitioned(_tucker_hooi, x, tol, layout=layout, ranks=ranks, maxiter=maxiter, diff=diff)


def sweep_bytes(shape, ranks, layout: Layout, itemsize: int) -> int:
    """The all-reduce payload of one :func:`tucker_hooi` sweep in bytes (docstring formula)."""
    split = _split_mode(layout)
    k = [math.prod(r for m, r in enumerate(ranks) if m != n) for n in range(len(shape))]
    total = sum(shape[n] * k[n] for n in range(len(shape)) if n != split) + k[split] ** 2
    total += math.prod(ranks) + 2
    return total * itemsize
