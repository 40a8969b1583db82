"""Tensor-ring decomposition: TR-SVD (sequential SVDs) and TR-ALS (alternating least squares)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative, relative_error
from ..solvers import SolverInfo
from ..solvers._loop import iterate
from ..tensors import TRTensor
from ._common import split_step

__all__ = ["TRResult", "tr_als", "tr_svd"]


class TRResult(NamedTuple):
    """Result of :func:`tr_als`: the tensor ring and the solver's ``info`` (``info.error``
    is the relative reconstruction error)."""

    tr: TRTensor
    info: SolverInfo


def _rotate(seq, mode):
    return tuple(seq[mode:]) + tuple(seq[:mode])


def _svd_ranks(shape, ranks):
    """The ranks TR-SVD reaches from mode 0: ``r_0 r_1`` must fit the first unfolding; each
    later rank is clipped to what its unfolding allows (TensorLy clips the same way)."""
    n = len(shape)
    rest = math.prod(shape[1:])
    if ranks[0] * ranks[1 % n] > min(shape[0], rest):
        return None
    out = [ranks[0], ranks[1 % n]]
    for k in range(1, n - 1):
        cols = math.prod(shape[k + 1 :]) * ranks[0]
        out.append(min(ranks[k + 1], out[k] * shape[k], cols))
    return tuple(out[:n])


@functools.partial(jax.jit, static_argnames=("ranks",))
def _tr_svd(x, *, ranks):
    n = x.ndim
    r0, r1 = ranks[0], ranks[1 % n]
    u, rest = split_step(x.reshape(x.shape[0], -1), r0 * r1)  # (I_0, r0 r1), (r0 r1, rest)
    cores = [u.reshape(x.shape[0], r0, r1).transpose(1, 0, 2)]
    rest = rest.reshape(r0, r1, -1).transpose(1, 2, 0)  # (r1, I_1 ... I_{N-1}, r0)
    prev = r1
    for k in range(1, n - 1):
        mat = rest.reshape(prev * x.shape[k], -1)
        r = ranks[k + 1]
        u, rest = split_step(mat, r)
        cores.append(u.reshape(prev, x.shape[k], r))
        prev = r
    cores.append(rest.reshape(prev, x.shape[-1], r0))
    return TRTensor(tuple(cores))


def tr_svd(
    x: Float[Array, "*dims"],
    rank: int | Sequence[int],
    *,
    mode: int = 0,
) -> TRTensor:
    r"""Tensor-ring decomposition by sequential truncated SVDs (TR-SVD; jit-able).

    The mode-``mode`` unfolding's ``r_mode r_{mode+1}`` leading singular vectors become the
    first core (split into ``r_mode x r_{mode+1}``), the rest is carried on and decomposed
    by the TT-SVD sweep of :func:`tt_svd` around the ring, the last core closing on
    ``r_mode``. Like TT-SVD the cores ``mode .. mode+N-2`` are orthonormal along their
    first two axes and the error is bounded by the discarded singular values of each step
    (Zhao et al. 2016, Theorem 2). Ranks later in the sweep above what their unfolding allows
    are clipped, as in TensorLy's ``tensor_ring``, so :attr:`TRTensor.rank` may come out
    below ``rank`` there.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: TR ranks (static): an int for every bond, ``N`` ranks ``(r_0, ..., r_{N-1})``
            or ``N + 1`` with ``r_N = r_0`` (TensorLy's form).
        mode: the mode whose unfolding is split first (TensorLy's ``mode``).

    Returns:
        :class:`~lrjax.tensors.TRTensor` with ``r_mode`` and ``r_{mode+1}`` as given.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, invalid ranks or
            ``mode``, or ``r_mode r_{mode+1}`` larger than the mode-``mode`` unfolding's
            smaller side (choose another ``mode`` or smaller ranks).

    TR-SVD is one pass, not the best ring of its ranks: the first split's ``r_0 r_1``
    singular vectors mix the two bonds, and the later steps fit that mixture, so a ring of
    exactly the planted ranks is in general not recovered (TensorLy's ``tensor_ring`` behaves
    the same); it is exact for a tensor train (``r_0 = 1``) and a good start for
    :func:`tr_als`, which then finds the ring (its default start).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_tt
        >>> x = random_tt(jax.random.key(0), (4, 5, 6), (2, 3)).to_dense()
        >>> tr = tr_svd(x, (1, 2, 3))  # r_0 = 1: a tensor train, recovered exactly
        >>> tr.rank, bool(jnp.allclose(tr.to_dense(), x, atol=1e-4))
        ((1, 2, 3, 1), True)

    References:
        Q. Zhao, G. Zhou, S. Xie, L. Zhang, A. Cichocki, "Tensor ring decomposition",
        arXiv:1606.05535, 2016, Algorithm 1. Same model as TensorLy's ``tensor_ring``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    n = x.ndim
    ranks = _checks.ranks("rank", rank, n, form="tr")
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode < n:
        raise ValueError(f"`mode` must be an integer in [0, {n}), got {mode!r}.")
    shape, ranks_r = _rotate(x.shape, mode), _rotate(ranks, mode)
    reach = _svd_ranks(shape, ranks_r)
    if reach is None:
        raise ValueError(
            f"`rank`: r_{mode} * r_{(mode + 1) % n} = {ranks_r[0] * ranks_r[1]} is larger than "
            f"the mode-{mode} unfolding's smaller side ({min(shape[0], math.prod(shape[1:]))}) "
            f"for shape {x.shape}; give smaller ranks or another `mode`."
        )
    xr = jnp.transpose(x, _rotate(tuple(range(n)), mode)) if mode else x
    tr = _tr_svd(xr, ranks=reach)
    if mode:
        tr = TRTensor(_rotate(tr.cores, n - mode))
    return tr


def _subchain(cores, k):
    """``G_{k+1} G_{k+2} \\cdots G_{k-1}`` (indices mod N): shape ``(r_{k+1}, P, r_k)`` with
    ``P`` the other modes' sizes multiplied in cyclic order from ``k + 1``."""
    n = len(cores)
    first = cores[(k + 1) % n]
    out = first.reshape(-1, first.shape[-1])
    for j in range(2, n):
        core = cores[(k + j) % n]
        r = core.shape[0]
        out = (out.reshape(-1, r) @ core.reshape(r, -1)).reshape(-1, core.shape[-1])
    return out.reshape(first.shape[0], -1, out.shape[-1])


def _subchain_gram(cores, k):
    r"""``C[a, b, a', b'] = \sum_p S[b, p, a] S[b', p, a']`` for the subchain ``S`` of core
    ``k``, by the product of the transfer matrices of the other cores (never forms ``S``)."""
    n = len(cores)
    first = cores[(k + 1) % n]
    m = jnp.einsum("bic,eif->becf", first, first)  # (b, b', c, c')
    for j in range(2, n):
        core = cores[(k + j) % n]
        m = jnp.einsum("becf,cig,fih->begh", m, core, core, optimize=True)
    # m[b, b', a, a'] -> (a, b, a', b')
    return m.transpose(2, 0, 3, 1)


def _cyclic_unfolding(x, k):
    """``x`` with modes ``k, k+1, ..., k-1`` as a ``(I_k, P)`` matrix."""
    n = x.ndim
    order = tuple((k + j) % n for j in range(n))
    return jnp.transpose(x, order).reshape(x.shape[k], -1)


def _solve_psd(gram, rhs, refine=2):
    """``rhs @ inv(gram)`` for a symmetric PSD ``gram``: a Cholesky solve of ``gram + ρI``
    with ``ρ = 10 n ε tr(gram)`` (defined when over-specified ranks make ``gram`` singular),
    then ``refine`` steps of iterative refinement with the same factor, which remove the
    ridge's bias on the well-determined directions (rate ``ρ / (λ + ρ)`` per step)."""
    n = gram.shape[0]
    rho = 10 * n * jnp.finfo(gram.dtype).eps * jnp.maximum(jnp.trace(gram), 1e-30)
    factor = jsl.cho_factor(gram + rho * jnp.eye(n, dtype=gram.dtype), lower=True)
    w = jsl.cho_solve(factor, rhs.T).T
    for _ in range(refine):
        w = w + jsl.cho_solve(factor, (rhs - w @ gram).T).T
    return w


def _als_sweep(cores, data, *, solve):
    """One sweep over the cores; cores ``0..N-2`` come out unit-norm (the solves are exact, so
    the scale lands in the last core). Returns the relative error after the last solve."""
    x, norm_sq = data
    n = x.ndim
    cores = list(cores)
    for k in range(n):
        r_k, i_k, r_next = cores[k].shape
        s = _subchain(cores, k)  # (r_{k+1}, P, r_k)
        xk = _cyclic_unfolding(x, k)  # (I_k, P)
        use_lstsq = solve == "lstsq" or (solve == "auto" and 4 * r_k * r_next > s.shape[1])
        if use_lstsq:
            design = s.transpose(1, 2, 0).reshape(s.shape[1], r_k * r_next)  # (P, r_k r_{k+1})
            w = jnp.linalg.lstsq(design, xk.T)[0].T
        else:
            rhs = jnp.einsum("ip,bpa->iab", xk, s).reshape(i_k, r_k * r_next)
            gram = _subchain_gram(cores, k).reshape(r_k * r_next, r_k * r_next)
            w = _solve_psd(gram, rhs)
        core = w.reshape(i_k, r_k, r_next).transpose(1, 0, 2)
        if k != n - 1:
            core = core / jnp.maximum(jnp.linalg.norm(core), jnp.finfo(x.dtype).tiny)
        cores[k] = core
    # the explicit residual of the last solve (``||X||^2 - 2<X, X^> + ||X^||^2`` from the
    # normal equations cancels to noise of order sqrt(eps) near a fit, stalling the test)
    residual = xk - jnp.einsum("aib,bpa->ip", core, s)
    return tuple(cores), relative(jnp.sum(residual * residual), norm_sq)


@functools.partial(jax.jit, static_argnames=("maxiter", "solve"))
def _tr_als(x, cores, tol, *, maxiter, solve):
    sweep = functools.partial(_als_sweep, solve=solve)
    cores, info = iterate(
        sweep, cores, (x, jnp.sum(x * x)), maxiter=maxiter, tol=tol, diff="unroll"
    )
    tr = TRTensor(cores)
    error = relative_error(x, tr.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TRResult(tr, info)


def _chain_at(cores, order, idx):
    """``G_{order[0]}[:, i, :] @ G_{order[1]}[:, i, :] @ ...`` for each of ``n`` multi-indices
    (``idx[j]`` the ``n`` indices of mode ``j``): shape ``(n, r_first, r_last)``."""
    out = jnp.swapaxes(cores[order[0]][:, idx[order[0]], :], 0, 1)
    for j in order[1:]:
        out = out @ jnp.swapaxes(cores[j][:, idx[j], :], 0, 1)
    return out


def _leverage(core):
    """Leverage scores of the mode-2 unfolding ``(I, r_k r_{k+1})`` of a core, normalised
    to a distribution (Malik & Becker 2021: their product over the other cores bounds the
    subchain's leverage scores)."""
    g = jnp.moveaxis(core, 1, 0).reshape(core.shape[1], -1)
    if g.shape[0] <= g.shape[1]:  # full row rank (generically): every leverage score is 1
        return jnp.full((g.shape[0],), 1.0 / g.shape[0], g.dtype)
    # the diagonal of the hat matrix g (g^T g)^-1 g^T by a ridged Cholesky solve of the small
    # Gram matrix
    lev = jnp.sum(g * _solve_psd(g.T @ g, g, refine=0), axis=1)
    lev = jnp.maximum(lev, 0.0) + jnp.finfo(g.dtype).eps
    return lev / jnp.sum(lev)


def _sampled_sweep(cores, data, *, n_samples, uniform):
    """One sweep of TR-ALS-Sampled: each core from a least-squares problem on ``n_samples``
    rows of its design matrix, drawn mode by mode (leverage-score or uniform), rescaled by
    ``1 / sqrt(n p)``. The error is estimated on fixed probe entries."""
    x, key_data, probe_idx, probe_vals = data
    key = jax.random.wrap_key_data(key_data)
    n = x.ndim
    cores = list(cores)
    keys = jax.random.split(key, n)

    def distribution(j):
        if uniform:
            return jnp.full((x.shape[j],), 1.0 / x.shape[j], x.dtype)
        # differentiable: the drawn rows are piecewise constant in p, their weights are not
        return _leverage(cores[j])

    probs = [distribution(j) for j in range(n)]  # refreshed for a core once it is updated
    for k in range(n):
        order = [(k + j) % n for j in range(1, n)]
        mode_keys = jax.random.split(keys[k], n)
        idx, log_p = {}, jnp.zeros((n_samples,), x.dtype)
        for j in order:
            idx[j] = jax.random.choice(mode_keys[j], x.shape[j], (n_samples,), p=probs[j])
            log_p = log_p + jnp.log(probs[j][idx[j]])
        scale = jnp.exp(-0.5 * log_p) / jnp.sqrt(n_samples)  # 1 / sqrt(n Π p)
        chain = _chain_at(cores, order, idx)  # (n_samples, r_{k+1}, r_k)
        r_k, i_k, r_next = cores[k].shape
        design = jnp.swapaxes(chain, 1, 2).reshape(n_samples, r_k * r_next) * scale[:, None]
        moved = jnp.moveaxis(x, k, -1)
        rhs = moved[tuple(idx[j] for j in range(n) if j != k)] * scale[:, None]  # (n, I_k)
        # normal equations of the sampled problem (ridged Cholesky, refined): a few hundred
        # rows make them well conditioned, and XLA:CPU's SVD least squares is several times
        # slower at these sizes
        w = _solve_psd(design.T @ design, rhs.T @ design)
        core = w.reshape(i_k, r_k, r_next).transpose(1, 0, 2)
        if k != n - 1:
            core = core / jnp.maximum(jnp.linalg.norm(core), jnp.finfo(x.dtype).tiny)
        cores[k] = core
        probs[k] = distribution(k)
    model = jnp.trace(_chain_at(cores, list(range(n)), probe_idx), axis1=1, axis2=2)
    resid = probe_vals - model
    err = relative(jnp.sum(resid * resid), jnp.sum(probe_vals * probe_vals))
    return tuple(cores), err


@functools.partial(jax.jit, static_argnames=("maxiter", "n_samples", "uniform", "n_probe"))
def _tr_als_sampled(x, cores, key, tol, *, maxiter, n_samples, uniform, n_probe):
    n = x.ndim
    probe_key, sweep_key = jax.random.split(key)
    pk = jax.random.split(probe_key, n)
    probe_idx = tuple(jax.random.randint(pk[j], (n_probe,), 0, x.shape[j]) for j in range(n))
    probe_vals = x[probe_idx]

    def step(state, data):
        cores, count = state
        x, key_data, probe_idx, probe_vals = data
        fresh = jax.random.fold_in(jax.random.wrap_key_data(key_data), count)
        sweep_data = (x, jax.random.key_data(fresh), probe_idx, probe_vals)
        cores, err = _sampled_sweep(cores, sweep_data, n_samples=n_samples, uniform=uniform)
        return (cores, count + 1), err

    # keys travel as their raw data: the loop's state and parameters hold numeric arrays only
    data = (x, jax.random.key_data(sweep_key), probe_idx, probe_vals)
    (cores, _), info = iterate(
        step, (cores, jnp.zeros((), jnp.int32)), data, maxiter=maxiter, tol=tol,
        diff="unroll", watch=lambda s: s[0],
    )  # fmt: skip
    tr = TRTensor(cores)
    error = relative_error(x, tr.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TRResult(tr, info)


def _random_cores(x, key, ranks):
    n = x.ndim
    keys = jax.random.split(key, n)
    return tuple(
        _random.normal(keys[k], (ranks[k], x.shape[k], ranks[(k + 1) % n]), x.dtype)
        / math.sqrt(x.shape[k] * ranks[k])
        for k in range(n)
    )


def tr_als(
    x: Float[Array, "*dims"],
    rank: int | Sequence[int],
    *,
    key: Array | None = None,
    init: str | TRTensor = "svd",
    solve: str = "auto",
    n_samples: int | None = None,
    sampling: str = "leverage",
    maxiter: int = 100,
    tol: float | Array = 1e-10,
) -> TRResult:
    r"""Tensor-ring decomposition by alternating least squares (TR-ALS; jit-able).

    .. math:: \min_{G_0, \dots, G_{N-1}} \big\|\mathcal{X} - \operatorname{TR}(G_0, \dots,
       G_{N-1})\big\|_F^2

    Each sweep solves for one core at a time with the others fixed, the linear least-squares
    problem :math:`X_{[k]} \approx G_{k(2)}\, S_{\ne k}^\top` whose design matrix is the
    subchain :math:`S_{\ne k} = G_{k+1} \cdots G_{k-1}` of the other cores (Zhao et al. 2016,
    Algorithm 2). With ``solve="normal"`` (default) the normal equations are formed without
    the design matrix: the right-hand side is one GEMM of the unfolded tensor with the
    subchain, the ``r_k r_{k+1}``-square Gram matrix the product of the other cores'
    transfer matrices, solved by Cholesky. ``solve="lstsq"`` forms the design matrix and
    solves by SVD least squares (TensorLy's default ``ls_solve="lstsq"``): more accurate for
    ill-conditioned subchains, ``O(P r^4)`` per core instead of ``O(P I r^2)``. Cores
    ``0..N-2`` are normalised after their solve; the error of each sweep comes from the last
    solve (no dense reconstruction). Stops when the relative error changes by less than
    ``tol`` or after ``maxiter`` sweeps. The ring's gauge freedom (``G_k A``,
    ``A^{-1} G_{k+1}``) makes its fixed points non-isolated, so derivatives unroll the
    sweeps rather than use the implicit function theorem.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: TR ranks as for :func:`tr_svd` (static).
        key: PRNG key of the random start (needed for ``init="random"``).
        init: ``"svd"`` (default: :func:`tr_svd`, which needs ``r_0 r_1 <= min(I_0,
            Π_{k>0} I_k)`` and every later rank reachable), ``"random"`` (normal cores;
            TensorLy's start is uniform) or a :class:`~lrjax.tensors.TRTensor` of the ranks.
        solve: ``"auto"``, ``"normal"`` or ``"lstsq"`` (static), see above.
        n_samples: with an int, TR-ALS-Sampled (Malik & Becker 2021; TensorLy's
            ``tensor_ring_als_sampled``): each core from ``n_samples`` rows of its design
            matrix, drawn afresh every sweep mode by mode (``key`` needed) with probabilities
            from the other cores' leverage scores, solved by least squares; the error of each
            sweep is estimated on 1000 fixed random entries, the returned ``info.error`` is
            exact (static).
        sampling: ``"leverage"`` (default) or ``"uniform"`` rows for ``n_samples`` (static).
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).

    Returns:
        ``TRResult(tr, info)``; ``info.error`` is the relative reconstruction error of the
        returned ring.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, invalid ranks, an
            ``init`` of other ranks or shape, ``init="svd"`` for ranks TR-SVD cannot reach
            (the message says to pass ``init="random"`` and a key), or a missing ``key``.

    Random starts can stall in swamps: on the planted ring below, 4 of 5 random starts sat at
    19 % error after 200 sweeps while the TR-SVD start reached ``2e-7`` (float32), hence the
    default ``init="svd"`` where the ranks allow it.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> ks = jax.random.split(jax.random.key(0), 3)
        >>> planted = TRTensor(tuple(jax.random.normal(k, (2, 8, 2)) for k in ks))
        >>> res = tr_als(planted.to_dense(), 2, maxiter=200)  # from TR-SVD
        >>> res.tr.rank, float(res.info.error) < 1e-4
        ((2, 2, 2, 2), True)

    References:
        Q. Zhao, G. Zhou, S. Xie, L. Zhang, A. Cichocki, "Tensor ring decomposition",
        arXiv:1606.05535, 2016, Algorithm 2. O. A. Malik, S. Becker, "A sampling-based
        method for tensor ring decomposition", ICML 2021 (``n_samples``). TensorLy's
        ``tensor_ring_als`` and ``tensor_ring_als_sampled``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    n = x.ndim
    ranks = _checks.ranks("rank", rank, n, form="tr")
    solve = _checks.choice("solve", solve, ("auto", "normal", "lstsq"))
    sampling = _checks.choice("sampling", sampling, ("leverage", "uniform"))
    if n_samples is not None:
        n_samples = _checks.positive_int("n_samples", n_samples)
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    want = (*ranks, ranks[0])
    if isinstance(init, TRTensor):
        if init.rank != want or init.shape != x.shape:
            raise ValueError(
                f"`init` must be a TRTensor of shape {x.shape} and ranks {want}, got shape "
                f"{init.shape} and ranks {init.rank}."
            )
        cores = tuple(c.astype(x.dtype) for c in init.cores)
    else:
        init = _checks.choice("init", init, ("random", "svd"))
        if init == "svd":
            reach = _svd_ranks(x.shape, ranks)
            if reach != ranks:
                raise ValueError(
                    f"`init='svd'`: TR-SVD cannot reach the ranks {want} for shape {x.shape} "
                    "(r_0 r_1 must fit the first unfolding and no later rank be clipped); use "
                    "init='random' with a key."
                )
            cores = tr_svd(x, ranks).cores
        else:
            cores = _random_cores(x, _checks.prng_key("key", key), ranks)
    if n_samples is None:
        return _tr_als(x, cores, tol, maxiter=maxiter, solve=solve)
    sample_key = jax.random.fold_in(_checks.prng_key("key", key), 1)
    n_probe = min(1000, math.prod(x.shape))
    return _tr_als_sampled(
        x, cores, sample_key, tol, maxiter=maxiter, n_samples=n_samples,
        uniform=sampling == "uniform", n_probe=n_probe,
    )  # fmt: skip
