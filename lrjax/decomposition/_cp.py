"""CP decomposition by alternating least squares with a dimension-tree MTTKRP."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative, relative_error
from .._sharding import partitioned
from ..linalg._mttkrp import rank_first_partial
from ..linalg._small import spd_inverse
from ..solvers._extrapolate import extrapolated
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import CPTensor
from ..tensors._base import letters
from ._common import (
    canonical_cp,
    check_init_key,
    cp_init,
    cp_relative_error,
    cp_start,
    dense_cp,
    init_factors,
    is_cp_start,
    largest_positive,
    mode_indices,
    observation_weights,
    real_dtype,
    safe_norms,
    squared_norm,
    weighted_error,
)
from ._cp_sparse import cp_als_sparse


class CPResult(NamedTuple):
    """Result of :func:`cp_als`: the decomposition and its :class:`SolverInfo`."""

    cp: CPTensor
    info: SolverInfo


def _contract_block(partial: Array, factors, block: list[int], mode: int) -> Array:
    """From a rank-first partial MTTKRP ``(R, block sizes...)`` over the other block, finish
    the MTTKRP of ``mode``: an ``(I_mode, R)`` matrix."""
    others = [k for k, m in enumerate(block) if m != mode]
    if not others:
        return partial.T
    idx = letters(len(block), skip="z")
    spec = "z" + idx + "," + ",".join(idx[k] + "z" for k in others)
    spec += "->" + idx[block.index(mode)] + "z"
    return jnp.einsum(spec, partial, *[factors[block[k]] for k in others])


def _ls_update(a: Array, m: Array, v: Array) -> Array:
    """The ALS factor update: the least-squares solution ``M V^{-1}``."""
    del a
    return m @ spd_inverse(v)


def dimension_tree_sweep(
    factors: tuple[Array, ...],
    data: tuple[Array, Array],
    update: Callable = _ls_update,
    held: tuple[int, ...] = (),
) -> tuple[tuple[Array, ...], Array]:
    """One sweep over all modes but ``held``; the updated factors come out unit-norm except
    the last one updated, which carries the scale (N-1 when nothing is held). The factors of
    ``held`` are kept as they are (not rescaled).

    Mode ``n`` becomes ``update(A_n, M_n, V_n)`` with the MTTKRP ``M_n`` and the Hadamard
    product of Gram matrices ``V_n``: the least-squares solve for ALS, column-wise projected
    steps for HALS. The MTTKRPs reuse partial products: the tensor is contracted once with
    the (old) factors of the trailing block of modes, serving every mode of the leading
    block, and once with the (new) factors of the leading block, serving the trailing block.
    Each contraction is one GEMM over the whole tensor, so a sweep costs two passes over
    ``x``.

    ``data`` is ``(x, ||x||_F^2)``. Returns the new factors and the relative error, computed
    from the last MTTKRP (no dense reconstruction).
    """
    x, norm_x_sq = data
    n_modes = x.ndim
    carrier = max(n for n in range(n_modes) if n not in held)
    new = list(factors)
    # Complex data: the Gram matrices are conj(A^H A) and the MTTKRPs contract conj(A), so
    # that A_n = M_n V_n^{-1} is the least-squares update (no-ops on real data)
    conj = lambda fs: [jnp.conj(f) for f in fs]
    grams = [f.T @ jnp.conj(f) for f in new]
    split = (n_modes + 1) // 2
    blocks = [list(range(split)), list(range(split, n_modes))]
    mttkrp_last = v_last = jnp.zeros(())
    for b, block in enumerate(blocks):
        if all(n in held for n in block):
            continue
        other = blocks[1 - b]
        partial = rank_first_partial(x, conj(new), other)
        for n in block:
            if n in held:
                continue
            m = _contract_block(partial, conj(new), block, n)
            v = functools.reduce(jnp.multiply, [grams[k] for k in range(n_modes) if k != n])
            a = update(new[n], m, v)
            gram = a.T @ jnp.conj(a)
            if n != carrier:
                # unit columns; their norms and the new Gram matrix from the Gram matrix
                # (no reduction over the factor's rows: fewer kernels to compile)
                sq = jnp.real(jnp.diagonal(gram))
                norms = jnp.sqrt(jnp.where(sq == 0, 1.0, sq))
                a = a / norms
                gram = gram / (norms[:, None] * norms[None, :])
            else:
                mttkrp_last, v_last = m, v
            new[n] = a
            grams[n] = gram
    # The carrier is updated last among the free modes, so its MTTKRP and V saw every other
    # factor at its final value: <x, x̂> = <M, A> and ||x̂||² = <V, A^T A> (real parts).
    inner = jnp.real(jnp.sum(mttkrp_last * jnp.conj(new[carrier])))
    norm_hat_sq = jnp.real(jnp.sum(v_last * grams[carrier]))
    err = relative(norm_x_sq - 2 * inner + norm_hat_sq, norm_x_sq)
    return tuple(new), err


def _em_sweep(factors, data, held=()):
    """EM step for the weighted objective: fill ``x`` where its weight is below 1 with the
    current model, ``w∘x + (1−w)∘x̂``, then one ALS sweep on the filled tensor."""
    x, w = data
    filled = w * x + (1 - w) * dense_cp(factors)
    new, _ = dimension_tree_sweep(factors, (filled, jnp.sum(filled * filled)), held=held)
    return new, weighted_error(x, w, dense_cp(new))


def _holding(sweep: Callable, held: tuple[int, ...], n_modes: int) -> Callable:
    """``sweep`` as a step on the free factors alone, the factors of ``held`` passed last in
    the data: they are parameters of the fixed point, not part of the iterate (the implicit
    derivative's system would be singular on them, and gradients reach them through it)."""
    free = [n for n in range(n_modes) if n not in held]

    def step(z, data):
        *rest, kept = data
        full = dict(zip(free, z, strict=True)) | dict(zip(held, kept, strict=True))
        new, err = sweep(tuple(full[n] for n in range(n_modes)), tuple(rest), held=held)
        return tuple(new[n] for n in free), err

    return step


def canonical_held(factors: tuple[Array, ...], held: tuple[int, ...]) -> CPTensor:
    """The canonical form with the factors of ``held`` left exactly as they are: the free
    factors unit-norm (the scale moved into the weights) with the largest-magnitude entry
    positive except in the last free one, which takes the signs; components in their order."""
    free = [n for n in range(len(factors)) if n not in held]
    out = list(factors)
    carrier = free[-1]
    weights = jnp.linalg.norm(out[carrier], axis=0)
    total_sign = jnp.ones_like(weights)
    for n in free[:-1]:
        out[n], sign = largest_positive(out[n] / safe_norms(out[n]))
        total_sign = total_sign * sign
    out[carrier] = out[carrier] / safe_norms(out[carrier]) * total_sign
    return CPTensor(weights, tuple(out))


@functools.partial(
    jax.jit, static_argnames=("rank", "init", "maxiter", "diff", "line_search", "held")
)
def _cp_als(
    x, weights, key, tol, start=None, *, rank, init, maxiter, diff, line_search=False, held=()
):
    if weights is None:
        sweep, data = dimension_tree_sweep, (x, squared_norm(x))
    else:
        sweep, data = _em_sweep, (x, weights)
    if start is not None:  # a warm start
        factors0 = start
    else:
        factors0 = init_factors(x if weights is None else weights * x, key, rank, init)
    if held:
        free = [n for n in range(x.ndim) if n not in held]
        sweep = _holding(sweep, held, x.ndim)
        data = (*data, tuple(factors0[n] for n in held))
        factors0 = tuple(factors0[n] for n in free)
    if line_search:
        step, init_state, attach = extrapolated(sweep)
        state, info = iterate(
            step, init_state(factors0), data, maxiter=maxiter, tol=tol, diff=diff,
            implicit=attach, watch=lambda state: state[0],
        )  # fmt: skip
        factors = state[0]
    else:
        factors, info = iterate(sweep, factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    if held:
        full = dict(zip(free, factors, strict=True)) | dict(zip(held, data[-1], strict=True))
        cp = canonical_held(tuple(full[n] for n in range(x.ndim)), held)
    else:
        cp = canonical_cp(factors)
    if weights is None:
        error = cp_relative_error(x, cp, data[1])
    else:
        error = weighted_error(x, weights, cp.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_als(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    key: jax.Array | None = None,
    init: str | CPTensor = "svd",
    maxiter: int = 100,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
    weights: Float[Array, "*dims"] | None = None,
    mask: Array | None = None,
    line_search: bool = False,
    fixed_modes: int | Sequence[int] | None = None,
) -> CPResult:
    r"""CP decomposition by alternating least squares.

    .. math:: \min_{\lambda, A_0, \dots, A_{N-1}} \bigl\| \mathcal{X} -
       [\![\lambda; A_0, \dots, A_{N-1}]\!] \bigr\|_F^2

    Each sweep solves for one factor at a time, ``A_n = X_(n) (⊙_{m≠n} A_m) V_n^{-1}`` with
    ``V_n = ∗_{m≠n} A_m^T A_m``, using a dimension-tree MTTKRP (two GEMM passes over ``x`` per
    sweep) and R x R solves in XLA ops. Iteration stops when the relative error changes by at
    less than ``tol`` (``tol=0`` runs all ``maxiter``) or after ``maxiter`` sweeps.

    The result is canonical: unit-norm factor columns, weights sorted descending, and the
    largest-magnitude entry of every column of factors ``0..N-2`` positive.

    A sparse tensor may be given as a ``jax.experimental.sparse.BCOO`` array: the sweeps then
    use coordinate MTTKRPs over the stored entries (``O(nnz R N)`` per mode) and never form
    the dense tensor; it needs ``init="random"`` (with ``key``) or a warm start, and takes
    none of ``weights``, ``mask``, ``line_search``. Its error is accurate to about
    ``sqrt(eps)`` of ``||x||``.

    Complex data (dense) is fitted with the same sweep on conjugated factors (TensorLy's
    complex ``parafac``): the weights are real and the largest-magnitude entry of each column
    of factors ``0..N-2`` is real positive.

    Args:
        x: tensor with ``N >= 2`` modes, real or complex, dense or a ``BCOO`` sparse (real)
            tensor.
        rank: number of components ``R`` (static).
        key: PRNG key; needed for ``init="random"`` and when ``rank`` exceeds a mode's size
            under ``init="svd"`` (the extra columns are random).
        init: ``"svd"`` (leading left singular vectors of each unfolding), ``"random"``, or a
            warm start: a :class:`~lrjax.tensors.CPTensor` (or TensorLy's ``CPTensor``) of
            ``x``'s shape and rank ``rank``, e.g. an earlier result (TensorLy's
            ``parafac(init=cp)``). A warm start needs no ``key``; its values are traced (a
            new start does not recompile). ``diff="unroll"`` differentiates through it,
            ``"implicit"`` treats the result as independent of it.
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).
        diff: reverse-mode derivative: ``"implicit"`` (implicit function theorem at the
            normalised ALS fixed point; default) or ``"unroll"`` (through the sweeps).
        weights: optional weights in ``[0, 1]`` of ``x``'s shape (a 0/1 mask marks missing
            entries). The objective becomes the weighted one,
            :math:`\sum W \circ (\mathcal{X} - \hat{\mathcal{X}})^2` (the model of Tensor
            Toolbox's ``cp_wopt``), minimised by EM-ALS: each sweep fills the down-weighted
            entries with the current model, ``W∘X + (1−W)∘X̂``, then runs an ALS sweep
            (monotone in the weighted error; Srebro & Jaakkola 2003, Tomasi & Bro 2005).
            ``info.error`` is then ``sqrt(Σ W (X − X̂)² / Σ W X²)``. Each sweep costs two
            dense reconstructions more than plain ALS. :func:`cp_opt` minimises the same
            objective by Gauss-Newton, without imputation.
        mask: boolean (or 0/1) array of ``x``'s shape, True where observed: 0/1 ``weights``.
            Where a weight is 0, ``x`` may hold anything, NaN included (missing data).
        line_search: extrapolate along the last update after each sweep and keep the
            better of the plain and extrapolated sweeps (Bro 1998); two sweeps per
            iteration, never a worse fit per iteration (static). Through a real swamp
            :func:`cp_opt` (Gauss-Newton) is the stronger tool.
        fixed_modes: modes whose factors stay those of the initialisation (usually a warm
            start ``init``; TensorLy's ``parafac(fixed_modes=)``), any modes including the
            last (static). The other factors are fitted to them, and the fixed factors come
            back exactly as given: neither rescaled, sign-flipped nor permuted (the weights
            take the free factors' scale; components keep their order). With every mode
            fixed the start is returned as it is (``n_iter`` 0). Gradients reach the fixed
            factors through either ``diff`` (they are parameters of the fixed point).

    Returns:
        ``CPResult(cp, info)``; ``info.error`` is the relative error
        ``||x - cp.to_dense()|| / ||x||``, to about 1e-6 of itself or better (from
        ``<x, cp>`` without a dense reconstruction where the expansion allows it, else from
        the dense difference), and ``info.history`` the per-sweep error.

    Raises:
        ValueError: for a tensor with fewer than 2 modes, NaN/inf in an eager call, a
            non-positive ``rank``, an unknown ``init`` or ``diff``, a missing ``key``, a
            warm start of another shape or rank, or (sparse ``x``) ``init="svd"``, a batched
            ``BCOO`` or an option it does not take.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_cp
        >>> x = random_cp(jax.random.key(0), (6, 5, 4), 2).to_dense()
        >>> cp, info = cp_als(x, 2, maxiter=200)
        >>> bool(info.error < 1e-3)  # float32; about 1e-8 with jax_enable_x64
        True
        >>> more = cp_als(x, 2, init=cp, maxiter=10)  # go on from where it stopped
        >>> bool(more.info.error <= info.error + 1e-6)
        True

    References:
        T. G. Kolda and B. W. Bader, "Tensor Decompositions and Applications", SIAM Review
        51(3), 2009, Sec. 3.4. Same objective as ``tensorly.decomposition.parafac``.
    """
    if _checks.is_bcoo(x):  # a sparse tensor: coordinate MTTKRPs, never the dense tensor
        return cp_als_sparse(
            x, rank, key=key, init=init, maxiter=maxiter, tol=tol, diff=diff,
            options={
                "weights": weights, "mask": mask, "line_search": line_search,
                "fixed_modes": fixed_modes,
            },
        )  # fmt: skip
    x = _checks.as_array("x", x, min_ndim=2, check_finite=False, complex_ok=True)
    rank = _checks.positive_int("rank", rank)
    held = held_modes(fixed_modes, x.ndim)
    if len(held) == x.ndim:
        if not is_cp_start(init):
            raise ValueError(
                f"`fixed_modes` {fixed_modes!r} fixes every mode, so there is nothing to fit "
                f"from init={init!r}; pass a warm start `init` (it is returned as it is) or "
                "leave a mode free."
            )
        return _unchanged(x, init, rank, maxiter, weights, mask)
    free_last = max((n for n in range(x.ndim) if n not in held), default=x.ndim - 1)
    start, init_name = cp_init("init", init, x, rank, into=free_last)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    check_init_key(key, init_name, rank, x.shape)
    weights = observation_weights(x, weights, mask, at_most_one="cp_als")
    x = _checks.zero_unobserved("x", x, None if weights is None else weights > 0)
    return partitioned(
        _cp_als, x, weights, key, tol, start, rank=rank, init=init_name, maxiter=maxiter,
        diff=diff, line_search=bool(line_search), held=held,
    )  # fmt: skip


def held_modes(fixed_modes, n: int) -> tuple[int, ...]:
    """``fixed_modes`` as sorted distinct mode indices of an ``n``-way tensor."""
    if fixed_modes is None:
        return ()
    return tuple(sorted(set(mode_indices("fixed_modes", fixed_modes, n))))


def _unchanged(x, init, rank, maxiter, weights, mask) -> CPResult:
    """Every mode fixed: the start itself, with its error (TensorLy returns it too)."""
    maxiter = _checks.positive_int("maxiter", maxiter)
    model = dense_cp(cp_start(init, x.shape, rank, x.dtype))  # also checks the start
    cp = CPTensor(
        jnp.asarray(init.weights, x.dtype), tuple(jnp.asarray(f, x.dtype) for f in init.factors)
    )
    w = observation_weights(x, weights, mask)
    x = _checks.zero_unobserved("x", x, None if w is None else w > 0)
    error = relative_error(x, model) if w is None else weighted_error(x, w, model)
    info = SolverInfo(
        n_iter=jnp.asarray(0, jnp.int32),
        error=error,
        converged=jnp.isfinite(error),
        history=jnp.full((maxiter,), jnp.nan, real_dtype(x)),
    )
    return CPResult(cp, info)
