"""CP-ALS with the tensor sharded along one or more modes, by ``shard_map``."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from .._sharding import partitioned
from ..decomposition._common import canonical_cp
from ..decomposition._cp import CPResult
from ..linalg._mttkrp import mttkrp
from ..linalg._small import spd_inverse
from ..linalg._svd import leading_left_singular_vectors
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ._layout import Layout, layout_of


def _psum(x, axes):
    return lax.psum(x, tuple(axes)) if axes else x


def _factor_specs(layout: Layout, ndim: int) -> tuple:
    return tuple(layout.dim_spec((n, None)) for n in range(ndim))


def _gram(a: Array, axes) -> Array:
    """``AᵀA`` of a factor whose rows may be split over ``axes`` (an R x R all-reduce)."""
    return _psum(a.T @ a, axes)


def _sweep_local(factors, x_blk, norm_sq, *, layout: Layout):
    """One ALS sweep on this device's block: local MTTKRPs, R x R Gram all-reduces, and the
    all-reduce of each unsplit mode's partial MTTKRP rows (the only data that moves)."""
    n_modes = x_blk.ndim
    used = set(layout.used)
    factors = list(factors)
    grams = [_gram(f, layout.axes[n]) for n, f in enumerate(factors)]
    m = v = jnp.zeros(())
    for n in range(n_modes):
        m = _psum(mttkrp(x_blk, factors, n), sorted(used - set(layout.axes[n])))
        v = functools.reduce(jnp.multiply, [grams[k] for k in range(n_modes) if k != n])
        a = m @ spd_inverse(v)
        if n != n_modes - 1:
            norms = jnp.sqrt(_psum(jnp.sum(a * a, axis=0), layout.axes[n]))
            a = a / jnp.where(norms == 0, 1.0, norms)
        factors[n] = a
        grams[n] = _gram(a, layout.axes[n])
    inner = _psum(jnp.sum(m * factors[-1]), layout.axes[-1])
    norm_hat_sq = jnp.sum(v * grams[-1])
    return tuple(factors), relative(norm_sq - 2 * inner + norm_hat_sq, norm_sq)


def _residual_local(weights, factors, x_blk, *, layout: Layout):
    d = x_blk - CPTensor(weights, tuple(factors)).to_dense()
    return _psum(jnp.sum(d * d), layout.used), _psum(jnp.sum(x_blk * x_blk), layout.used)


def _unfolding_gram_local(x_blk, *, mode: int, layout: Layout):
    u = jnp.moveaxis(x_blk, mode, 0).reshape(x_blk.shape[mode], -1)
    return _psum(u @ u.T, layout.used)


def _smap(fn, layout, in_specs, out_specs):
    return jax.shard_map(fn, mesh=layout.current_mesh(), in_specs=in_specs, out_specs=out_specs)


def _cos_columns(size: int, rank: int, dtype) -> Array:
    """A fixed, generic ``(size, rank)`` start with unit columns (no key needed)."""
    i = jnp.arange(size, dtype=dtype)[:, None]
    j = jnp.arange(rank, dtype=dtype)[None, :]
    f = jnp.cos(0.7 * (i + 1) * (j + 1) + 0.3 * j)
    return f / jnp.linalg.norm(f, axis=0)


def _init(x, rank, layout: Layout):
    """Leading eigenvectors of the (all-reduced, I_n x I_n) unfolding Gram for unsplit modes;
    a fixed generic start for split modes (updated first by the sweep's own rows)."""
    factors = []
    for n, size in enumerate(x.shape):
        if layout.axes[n]:
            factors.append(_cos_columns(size, rank, x.dtype))
            continue
        gram = _smap(
            functools.partial(_unfolding_gram_local, mode=n, layout=layout),
            layout, (layout.spec,), P(),
        )(x)  # fmt: skip
        k = min(rank, size)
        u = leading_left_singular_vectors(gram, k)
        if k < rank:
            u = jnp.concatenate([u, _cos_columns(size, rank - k, x.dtype)], axis=1)
        factors.append(u)
    return tuple(factors)


@functools.partial(jax.jit, static_argnames=("rank", "layout", "maxiter", "diff"))
def _cp_als(x, tol, *, rank, layout, maxiter, diff):
    specs = _factor_specs(layout, x.ndim)
    sweep = _smap(
        functools.partial(_sweep_local, layout=layout), layout, (specs, layout.spec, P()),
        (specs, P()),
    )  # fmt: skip
    factors0 = _init(x, rank, layout)
    data = (x, jnp.sum(x * x))
    factors, info = iterate(
        lambda f, d: sweep(f, *d), factors0, data, maxiter=maxiter, tol=tol, diff=diff
    )
    cp = canonical_cp(factors)
    res_sq, x_sq = _smap(
        functools.partial(_residual_local, layout=layout), layout,
        (P(), specs, layout.spec), (P(), P()),
    )(cp.weights, cp.factors, x)  # fmt: skip
    error = relative(res_sq, x_sq)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_als(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    mesh=None,
    spec=None,
    maxiter: int = 100,
    tol: float = 1e-8,
    diff: str = "implicit",
) -> CPResult:
    r"""CP-ALS of a tensor sharded along one or more modes, written with ``shard_map``.

    Each device holds one block of ``x`` and the rows of every factor that belong to its
    block. A sweep updates ``A_n = M_n V_n^{-1}`` mode by mode: the MTTKRP ``M_n`` is computed
    on the local block and all-reduced over the mesh axes that do *not* split mode ``n``
    (none at all for a mode split over every device); ``V_n = ∗_{m≠n} A_mᵀA_m`` comes from
    R x R Grams all-reduced over the axes that split mode ``m``. The tensor never moves.

    **Bytes moved per sweep** (``b`` bytes per entry, ``I_n^loc`` the local size of mode
    ``n``): for every mode ``n`` an all-reduce of ``b I_n^loc R`` over the axes not splitting
    it (skipped when there are none), plus, for every split mode, an R x R Gram and an
    R-vector of column norms (``b (R² + R)``), plus two scalars for the stopping test (the
    norms of the split factors' step) and one for the error when the last mode is split. For
    a tensor split along mode 0 only: ``b (R Σ_{n≥1} I_n + R² + R + 2)`` per sweep, whatever
    the tensor's size. Each all-reduce moves about twice its payload per device (ring).

    The initial factors are the leading eigenvectors of the all-reduced ``I_n x I_n``
    unfolding Grams for unsplit modes, and a fixed generic start for split ones (updated
    first, from the others). Iterations, stopping and gradients (``diff``) are those of
    :func:`lrjax.cp_als` (implicit differentiation runs on the global arrays).

    Args:
        x: tensor with ``N >= 2`` modes, sharded by a ``NamedSharding`` (or give ``mesh``
            and ``spec``); every split dimension divisible by its mesh axes' size.
        rank: ``R`` (static).
        mesh, spec: the layout, when ``x`` does not carry it (inside ``jit`` on a mesh
            with Auto axes).
        maxiter, tol, diff: as :func:`lrjax.cp_als`.

    Returns:
        ``CPResult(cp, info)``; the factor of a split mode is sharded like that mode, the
        weights replicated. ``info.error`` is the exact relative error (a sharded residual).

    Raises:
        ValueError: for an unsharded ``x`` without ``mesh``/``spec``, a mesh axis that does
            not divide its dimension, or bad options.

    References:
        S. Smith and G. Karypis, "A medium-grained algorithm for distributed sparse tensor
        factorization", IPDPS 2016 (the same communication pattern for dense blocks).
    """
    x = _checks.as_array("x", x, min_ndim=2)
    layout = layout_of("x", x, mesh, spec)
    rank = _checks.positive_int("rank", rank)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    return partitioned(_cp_als, x, tol, rank=rank, layout=layout, maxiter=maxiter, diff=diff)


def _gradient_local(factors, x_blk, *, layout: Layout):
    used = set(layout.used)
    grams = [_gram(f, layout.axes[n]) for n, f in enumerate(factors)]
    out = []
    for n in range(x_blk.ndim):
        m = _psum(mttkrp(x_blk, factors, n), sorted(used - set(layout.axes[n])))
        v = functools.reduce(jnp.multiply, [grams[k] for k in range(x_blk.ndim) if k != n])
        out.append(factors[n] @ v - m)
    return tuple(out)


@functools.partial(jax.jit, static_argnames=("layout",))
def _cp_gradient(x, factors, *, layout):
    specs = _factor_specs(layout, x.ndim)
    return _smap(
        functools.partial(_gradient_local, layout=layout), layout, (specs, layout.spec), specs
    )(factors, x)


def cp_gradient(x: Float[Array, "*dims"], factors, *, mesh=None, spec=None) -> tuple:
    r"""Gradient of :math:`\tfrac12\|\mathcal{X} - [\![A_0, \dots, A_{N-1}]\!]\|_F^2` with
    respect to every factor, for a sharded tensor: ``A_n V_n - M_n`` (the gradient
    :func:`lrjax.cp_opt` descends), with the same communication as one sweep of
    :func:`cp_als` (bytes: ``b Σ_n I_n^loc R`` for the MTTKRP all-reduces plus ``b R²`` per
    split mode).

    Args:
        x: sharded tensor (or give ``mesh`` and ``spec``).
        factors: ``N`` factors ``(I_n, R)`` (the scale in any of them).
        mesh, spec: the layout, when ``x`` does not carry it.

    Returns:
        The gradients, shaped and sharded like the factors of :func:`cp_als`.

    Raises:
        ValueError: for factors that do not fit ``x``, or an unusable layout.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    layout = layout_of("x", x, mesh, spec)
    factors = tuple(jnp.asarray(f, x.dtype) for f in factors)
    if len(factors) != x.ndim or any(
        f.ndim != 2 or f.shape[0] != n or f.shape[1] != factors[0].shape[1]
        for f, n in zip(factors, x.shape, strict=True)
    ):
        raise ValueError(
            f"`factors` must be {x.ndim} matrices (I_n, R) for `x` of shape {x.shape}, got "
            f"shapes {[tuple(f.shape) for f in factors]}."
        )
    return partitioned(_cp_gradient, x, factors, layout=layout)


def sweep_bytes(shape, rank: int, layout: Layout, itemsize: int) -> int:
    """The all-reduce payload of one :func:`cp_als` sweep, in bytes (the docstring's formula:
    what one device contributes; a ring all-reduce moves about twice this per device)."""
    used = set(layout.used)
    # the stopping test's two norms of the step of the split factors, and the error's inner
    # product when the last mode is split
    total = 2 + (1 if layout.axes[-1] else 0)
    for n, size in enumerate(shape):
        local = size // layout.size(layout.axes[n])
        if used - set(layout.axes[n]):
            total += local * rank
        if layout.axes[n]:
            total += rank * rank + (rank if n != len(shape) - 1 else 0)
    return total * itemsize
