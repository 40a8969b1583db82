"""Tucker decomposition: sequentially truncated HOSVD and HOOI."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import expanded_relative_error, relative, relative_error
from .._sharding import partitioned
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._threads import serial_lapack_call
from ..linalg._unfold import mode_dot, unfold
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import TuckerTensor
from ._common import mode_index, mode_indices, observation_weights, project, weighted_error


class TuckerResult(NamedTuple):
    """Result of :func:`tucker_hooi`: the decomposition and its :class:`SolverInfo`."""

    tucker: TuckerTensor
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("ranks",))
def _hosvd(x, *, ranks):
    core = x
    factors = []
    for n, r in enumerate(ranks):
        u = leading_left_singular_vectors(unfold(core, n), r)
        core = mode_dot(core, u.T, n)
        factors.append(u)
    return TuckerTensor(core, tuple(factors))


def _tucker_args(x, ranks):
    x = _checks.as_array("x", x, min_ndim=2)
    ranks = _checks.ranks("ranks", ranks, x.ndim, sizes=x.shape)
    return x, ranks


def hosvd(x: Float[Array, "*dims"], ranks: int | tuple[int | None, ...] | None) -> TuckerTensor:
    r"""Sequentially truncated higher-order SVD (ST-HOSVD).

    For ``n = 0, ..., N-1``: ``U_n`` = the ``R_n`` leading left singular vectors of the
    mode-``n`` unfolding of the current core, then the core is projected,
    ``G <- G ×_n U_n^T``. The factors are orthonormal with fixed signs and the error obeys
    :math:`\|\mathcal{X} - \hat{\mathcal{X}}\|_F^2 \le \sum_n \sum_{i > R_n}
    \sigma_i^2(X_{(n)})`.

    Args:
        x: tensor with ``N >= 2`` modes.
        ranks: multilinear ranks, an int for every mode or one per mode, each at most the
            mode's size (static); None (whole or an entry) keeps the mode's full size.

    Returns:
        ``TuckerTensor`` with orthonormal factors.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, or ranks that do not
            fit ``x``.

    Examples:
        >>> import jax.numpy as jnp
        >>> t = hosvd(jnp.ones((4, 5, 6)), 1)
        >>> t.rank, bool(jnp.allclose(t.to_dense(), 1.0, atol=1e-5))
        ((1, 1, 1), True)

    References:
        N. Vannieuwenhoven, R. Vandebril, K. Meerbergen, "A new truncation strategy for the
        higher-order singular value decomposition", SIAM J. Sci. Comput. 34(2), 2012.
    """
    x, ranks = _tucker_args(x, ranks)
    return serial_lapack_call(max(x.shape), partitioned, _hosvd, x, ranks=ranks)


def _hooi_sweep(factors, data):
    """One HOOI sweep with shared partial projections (leading block, then trailing)."""
    x, norm_x_sq = data
    n_modes = x.ndim
    factors = list(factors)
    split = (n_modes + 1) // 2
    blocks = [list(range(split)), list(range(split, n_modes))]
    for b, block in enumerate(blocks):
        partial = project(x, factors, blocks[1 - b])
        for n in block:
            y = project(partial, factors, [m for m in block if m != n])
            factors[n] = leading_left_singular_vectors(unfold(y, n), factors[n].shape[1])
    core = mode_dot(y, factors[n].T, n)
    err = relative(norm_x_sq - jnp.sum(core * core), norm_x_sq)
    return tuple(factors), err


def _partial_sweep(free, kept):
    """A HOOI sweep that updates only the ``free`` modes; the factors of ``kept`` are fixed
    and the other modes are not projected (identity factors, never formed)."""
    used = tuple(sorted(free + kept))

    def sweep(factors, data):
        x, norm_x_sq, fixed = data
        factors = list(factors)
        for m, u in zip(kept, fixed, strict=True):
            factors[m] = u
        for n in free:
            y = project(x, factors, [m for m in used if m != n])
            factors[n] = leading_left_singular_vectors(unfold(y, n), factors[n].shape[1])
        core = project(x, factors, used)
        err = relative(norm_x_sq - jnp.sum(core * core), norm_x_sq)
        return tuple(factors), err

    return sweep


def _expand(core: Array, factors, used) -> Array:
    """The dense tensor ``core ×_m U_m`` over the modes ``used`` (the others as they are)."""
    for m in used:
        core = mode_dot(core, factors[m], m)
    return core


def _em(sweep, used):
    """EM-HOOI: fill the entries whose weight is below 1 with the current model,
    ``w∘x + (1−w)∘x̂``, then one HOOI sweep and the least-squares core of the filled tensor
    (TensorLy's ``tucker(mask=)`` step). The state is ``(core, factors)``: the model that
    fills the next sweep's tensor."""

    def step(state, data):
        core, factors = state
        x, w, *rest = data
        filled = w * x + (1 - w) * _expand(core, factors, used)
        factors, _ = sweep(factors, (filled, jnp.sum(filled * filled), *rest))
        core = project(filled, factors, used)
        return (core, factors), weighted_error(x, w, _expand(core, factors, used))

    return step


@functools.partial(jax.jit, static_argnames=("ranks", "init", "maxiter", "diff", "free", "kept"))
def _tucker_hooi(
    x, key, tol, fixed, start=None, weights=None, *, ranks, init, maxiter, diff, free, kept
):
    n_modes = x.ndim
    if free == tuple(range(n_modes)):  # the plain problem: the blocked sweep
        sweep, used = _hooi_sweep, tuple(range(n_modes))
        data: tuple = (x, jnp.sum(x * x))
    else:
        sweep, used = _partial_sweep(free, kept), tuple(sorted(free + kept))
        data = (x, jnp.sum(x * x), fixed)
    if start is not None:  # a warm start: orthonormal bases of its factors' ranges
        first = _fixed_by_mode(kept, fixed, n_modes)  # modes outside `used` stay None
        for n in free:
            first[n] = jnp.linalg.qr(start[n])[0]
        factors0 = tuple(first)
    elif init == "svd" and not kept and free == tuple(range(n_modes)):
        factors0 = _hosvd(x, ranks=ranks).factors
    else:
        first = _fixed_by_mode(kept, fixed, n_modes)
        base = project(x, first, kept) if init == "svd" else None
        keys = jax.random.split(key, n_modes) if init == "random" else [None] * n_modes
        for n in free:
            if init == "svd":  # leading singular vectors of x projected on the fixed factors
                first[n] = leading_left_singular_vectors(unfold(base, n), ranks[n])
            else:
                # LAPACK's QR: the XLA-op CholeskyQR2 took 0.5 s more to compile for 3 modes
                first[n] = _random.orthonormal(keys[n], x.shape[n], ranks[n], x.dtype)
        factors0 = tuple(first)
    if weights is not None:  # missing or down-weighted entries: EM on (core, factors)
        state0 = (project(x, factors0, used), factors0)
        data = (x, weights, *data[2:])
        state, info = iterate(_em(sweep, used), state0, data, maxiter=maxiter, tol=tol, diff=diff)
        core, factors = state
    else:
        factors, info = iterate(sweep, factors0, data, maxiter=maxiter, tol=tol, diff=diff)
        core = project(x, factors, used)
    factors = tuple(
        factors[m] if m in used else jnp.eye(x.shape[m], dtype=x.dtype) for m in range(n_modes)
    )
    tucker = TuckerTensor(core, factors)
    if weights is not None:
        error = weighted_error(x, weights, tucker.to_dense())
    else:
        error = _tucker_error(x, data[1], tucker, used)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TuckerResult(tucker, info)


def _fixed_by_mode(kept, fixed, n_modes: int) -> list:
    """The fixed factors placed at their modes (None elsewhere)."""
    out: list = [None] * n_modes
    for m, u in zip(kept, fixed, strict=True):
        out[m] = u
    return out


def _tucker_start(
    init, x: Array | jax.ShapeDtypeStruct, ranks: tuple[int, ...]
) -> tuple[Array, ...]:
    """The factors of a warm start ``init`` (an lrjax or TensorLy Tucker tensor of ``x``'s
    shape and the full ranks ``ranks``) in ``x``'s dtype; raises ``ValueError`` naming
    ``init`` otherwise."""
    factors = [jnp.asarray(u) for u in init.factors]
    shapes = [u.shape for u in factors]
    want = [(n, r) for n, r in zip(x.shape, ranks, strict=True)]
    if shapes != want:
        raise ValueError(
            f"`init` must be a TuckerTensor of shape {x.shape} and ranks {ranks} (factors of "
            f"shapes {want}), got factors of shapes {shapes}."
        )
    for m, u in enumerate(factors):
        _checks.finite(f"init.factors[{m}]", u)
    return tuple(u.astype(x.dtype) for u in factors)


def _tucker_error(x: Array, norm_x_sq: Array, tucker: TuckerTensor, used) -> Array:
    """``||x - tucker||_F / ||x||_F`` for the least-squares core ``G = x ×_n U_n^T``; on large
    float64 tensors without the dense reconstruction (~30 ms on 200^3): ``<x, x̂> = ||G||^2``
    and ``||x̂||^2 = <G, G ×_n U_n^T U_n>`` (``||G||^2`` itself for orthonormal factors; the
    Gram form keeps it right for fixed factors that are not quite orthonormal). The dense
    difference where the expansion's cancellation would cost accuracy
    (``expanded_relative_error``)."""
    core = tucker.core

    def residual_sq():
        grams = [u.T @ u if m in used else None for m, u in enumerate(tucker.factors)]
        norm_core_sq = jnp.sum(core * core)
        return norm_x_sq - 2 * norm_core_sq + jnp.sum(core * project(core, grams, used))

    return expanded_relative_error(
        residual_sq, norm_x_sq, x.size, x.dtype, lambda: relative_error(x, tucker.to_dense())
    )


def tucker_hooi(
    x: Float[Array, "*dims"],
    ranks: int | tuple[int | None, ...] | None,
    *,
    modes: tuple[int, ...] | None = None,
    fixed: dict[int, Array] | None = None,
    key: jax.Array | None = None,
    init: str | TuckerTensor = "svd",
    maxiter: int = 50,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
    weights: Float[Array, "*dims"] | None = None,
    mask: Array | None = None,
) -> TuckerResult:
    r"""Tucker decomposition by higher-order orthogonal iteration (HOOI); also partial Tucker
    (a subset of the modes), Tucker with some factors fixed, and Tucker of incomplete data.

    .. math:: \min_{\mathcal{G}, U_n^\top U_n = I} \|\mathcal{X} - \mathcal{G} \times_0 U_0
       \cdots \times_{N-1} U_{N-1}\|_F^2

    Each sweep sets ``U_n`` to the leading left singular vectors of
    ``unfold(X ×_{m≠n} U_m^T, n)``; the projections of one half of the modes are shared by
    the updates of the other half. The core is ``X ×_n U_n^T``. Stops when the relative
    error changes by at most ``tol`` or after ``maxiter`` sweeps.

    **Partial Tucker** (``modes``): only the listed modes are compressed; every other mode
    keeps its full size with an identity factor (TensorLy's ``partial_tucker``, which returns
    the factors of the listed modes only). **Fixed factors** (``fixed``): the given factors
    (orthonormal columns) are kept, and HOOI updates the others for them (TensorLy's
    ``tucker(..., init=..., fixed_factors=...)``); the core is still the least-squares one,
    ``X ×_n U_n^T``. Both are the same sweep restricted to the free modes.

    **Missing data** (``mask``, or ``weights`` in ``[0, 1]``): EM-HOOI, TensorLy's
    ``tucker(mask=)``: every sweep fills the entries of weight below 1 with the current model,
    ``W∘X + (1−W)∘X̂``, then runs a HOOI sweep and takes the core of the filled tensor
    (monotone in the weighted error :math:`\sum W (X - \hat X)^2`, which ``info.error``
    reports relative to :math:`\sum W X^2`). Each sweep costs two dense reconstructions more.

    A sparse tensor may be given as a ``jax.experimental.sparse.BCOO`` array: each mode's
    projection then sums the stored entries' Kronecker rows (``O(nnz Π_{m≠n} R_m)`` per
    mode), never the dense tensor; it needs ``init="random"`` (with ``key``) or a warm start
    and takes neither ``modes`` nor ``fixed``; its error is accurate to about ``sqrt(eps)``.

    Args:
        x: tensor with ``N >= 2`` modes, dense or a ``BCOO`` sparse tensor.
        ranks: multilinear ranks (static): an int, or one per mode of ``x`` (one per entry of
            ``modes`` when ``modes`` is given); each at most its mode's size. None (whole or
            an entry) keeps the mode's full size (TensorLy's ``tucker(rank=None)``). The rank
            of a fixed mode is its factor's column count (an entry for it must equal that,
            or be None).
        modes: the modes to decompose (default all); the others get identity factors.
        fixed: ``{mode: factor}`` with ``factor`` of shape ``(I_mode, R)`` and orthonormal
            columns (checked when concrete), kept as given; differentiable.
        key: PRNG key, needed for ``init="random"``.
        init: ``"svd"`` (ST-HOSVD, default), ``"random"`` (random orthonormal factors), or a
            warm start: a :class:`~lrjax.tensors.TuckerTensor` (or TensorLy's) of ``x``'s
            shape whose factors have the ranks asked for (an earlier result: its core is not
            used; factors that are not orthonormal are orthonormalized first). With ``modes``
            it has a factor for every mode, as :func:`tucker_hooi` returns; the ``fixed``
            factors replace its own. Traced: a new start does not recompile.
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).
        diff: ``"implicit"`` (default) or ``"unroll"``, as in :func:`cp_als`.
        weights: optional weights in ``[0, 1]`` of ``x``'s shape (0 = missing); see above.
        mask: boolean (or 0/1) array of ``x``'s shape, True where observed: 0/1 ``weights``.
            Where a weight is 0, ``x`` may hold anything, NaN included.

    Returns:
        ``TuckerResult(tucker, info)`` with orthonormal, sign-fixed factors; ``info.error``
        is the relative error, to about 1e-6 of itself or better (from the core's norm
        where the expansion allows it, else from the dense difference); with weights, the
        weighted relative error.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, ranks that do not fit
            ``x``, an unknown option, ``init="random"`` without ``key``, repeated or
            out-of-range ``modes``, a fixed factor of the wrong shape, not orthonormal, or
            on a mode outside ``modes``, or a warm start of another shape or ranks.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> x = jax.random.normal(jax.random.key(0), (6, 5, 4))
        >>> r = tucker_hooi(x, (3, 2), modes=(1, 2))  # compress modes 1 and 2 only
        >>> r.tucker.core.shape, r.tucker.factors[0].shape
        ((6, 3, 2), (6, 6))

    References:
        L. De Lathauwer, B. De Moor, J. Vandewalle, "On the best rank-1 and
        rank-(R1, ..., RN) approximation of higher-order tensors", SIAM J. Matrix Anal.
        Appl. 21(4), 2000. Same objective as ``tensorly.decomposition.tucker`` and
        ``partial_tucker``.
    """
    if _checks.is_bcoo(x):  # a sparse tensor: coordinate projections, never the dense tensor
        if weights is not None or mask is not None:
            raise ValueError(
                "`weights` and `mask` are not supported for a sparse (BCOO) `x`: its "
                "unstored entries are zeros, not missing; pass a dense `x` with a `mask`."
            )
        return _tucker_hooi_sparse(x, ranks, modes, fixed, key, init, maxiter, tol, diff)
    x = _checks.as_array("x", x, min_ndim=2, check_finite=False)
    weights = observation_weights(x, weights, mask, at_most_one="tucker_hooi")
    x = _checks.zero_unobserved("x", x, None if weights is None else weights > 0)
    free, kept, fixed_factors, full = _partial_args(x, ranks, modes, fixed)
    start = None
    if isinstance(init, TuckerTensor) or (
        type(init).__module__.startswith("tensorly") and hasattr(init, "core")
    ):
        start, init_name = _tucker_start(init, x, full), "given"
    else:
        init_name = _checks.choice("init", init, ("svd", "random"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    if init_name == "random" and key is None:
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    return serial_lapack_call(
        max(x.shape),  # the Gram matrices it factorizes are at most this large
        partitioned,
        _tucker_hooi,
        x,
        key,
        tol,
        fixed_factors,
        start,
        weights,
        ranks=full,
        init=init_name,
        maxiter=maxiter,
        diff=diff,
        free=free,
        kept=kept,
    )


def _tucker_hooi_sparse(x, ranks, modes, fixed, key, init, maxiter, tol, diff) -> TuckerResult:
    """:func:`tucker_hooi` of a ``BCOO`` tensor: checks, the start, the coordinate sweeps."""
    from ._cp_sparse import coordinate_parts
    from ._tucker_sparse import tucker_hooi_coordinates

    if modes is not None or fixed is not None:
        raise ValueError(
            "`modes` and `fixed` are not supported for a sparse (BCOO) `x`; densify it "
            "(x.todense()) or leave them out."
        )
    values, indices, shape = coordinate_parts(x)
    ranks = _checks.ranks("ranks", ranks, len(shape), sizes=shape)
    start = None
    if isinstance(init, TuckerTensor) or (
        type(init).__module__.startswith("tensorly") and hasattr(init, "core")
    ):
        start = _tucker_start(init, jax.ShapeDtypeStruct(shape, values.dtype), ranks)
    else:
        init = _checks.choice("init", init, ("svd", "random"))
        if init == "svd":
            raise ValueError(
                "`init='svd'` (the default) needs the dense tensor; for a sparse (BCOO) `x` "
                "pass init='random' with a `key`, or a warm start (a TuckerTensor)."
            )
    key = _checks.optional_prng_key("key", key)
    if start is None and key is None:
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    tucker, info = tucker_hooi_coordinates(
        indices, values, key, start, _checks.tolerance(tol), shape=shape, ranks=ranks,
        unique=bool(x.unique_indices), maxiter=_checks.positive_int("maxiter", maxiter),
        diff=_checks.choice("diff", diff, _checks.DIFF_MODES),
    )  # fmt: skip
    return TuckerResult(tucker, info)


def _partial_args(x, ranks, modes, fixed):
    """Free modes, fixed modes, the fixed factors and the full rank tuple of ``tucker_hooi``."""
    n = x.ndim
    if modes is None:
        listed = tuple(range(n))
    else:
        listed = mode_indices("modes", modes, n)
        if not listed or len(set(listed)) != len(listed):
            raise ValueError(f"`modes` must list distinct modes of x (ndim {n}), got {modes!r}.")
        listed = tuple(sorted(listed))
    sizes = tuple(x.shape[m] for m in listed)
    listed_ranks = dict(zip(listed, _checks.ranks("ranks", ranks, len(listed), sizes=sizes),
                            strict=True))  # fmt: skip
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, dict):
        raise ValueError(f"`fixed` must be a dict {{mode: factor}}, got {type(fixed).__name__}.")
    kept, factors = [], []
    for m in sorted(fixed):
        mode = mode_index("fixed (a key)", m, n)
        if mode not in listed:
            raise ValueError(f"`fixed` has mode {m}, which is not in `modes` {listed}.")
        u = _checks.as_array(f"fixed[{m}]", fixed[m], ndim=2)
        if u.shape[0] != x.shape[mode] or u.shape[1] > x.shape[mode]:
            raise ValueError(
                f"`fixed[{m}]` must have shape ({x.shape[mode]}, R) with R <= {x.shape[mode]}, "
                f"got {u.shape}."
            )
        asked = ranks[listed.index(mode)] if isinstance(ranks, Sequence) else None
        if asked is not None and listed_ranks[mode] != u.shape[1]:
            raise ValueError(
                f"`ranks` gives mode {m} rank {listed_ranks[mode]}, but `fixed[{m}]` has "
                f"{u.shape[1]} columns."
            )
        if _checks.is_concrete(u):
            gram = np.asarray(u.T @ u, dtype=float)
            if not np.allclose(gram, np.eye(u.shape[1]), atol=1e-5):
                raise ValueError(
                    f"`fixed[{m}]` must have orthonormal columns (U^T U = I); orthonormalize "
                    "it first, e.g. with lrjax.linalg.orthonormalize."
                )
        listed_ranks[mode] = u.shape[1]
        kept.append(mode)
        factors.append(u.astype(x.dtype))
    free = tuple(m for m in listed if m not in kept)
    if not free:
        raise ValueError("Every decomposed mode is fixed: nothing is left to compute.")
    full = tuple(listed_ranks.get(m, x.shape[m]) for m in range(n))
    return free, tuple(kept), tuple(factors), full
