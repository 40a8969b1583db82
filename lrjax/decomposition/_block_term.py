"""Block term decomposition in rank-(L_0, ..., L_{N-1}) terms by Levenberg-Marquardt."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative_error
from .._sharding import partitioned
from ..linalg._svd import leading_left_singular_vectors, svd_flip
from ..linalg._unfold import mode_dot, unfold
from ..solvers import levenberg_marquardt
from ..solvers._info import SolverInfo
from ..tensors import BlockTermTensor


class BlockTermResult(NamedTuple):
    """Result of :func:`block_term`: the decomposition and its :class:`SolverInfo`."""

    btd: BlockTermTensor
    info: SolverInfo


def _residual(theta, x):
    cores, factors = theta
    return BlockTermTensor(cores, factors).to_dense() - x


def _canonical_block(core: Array, factors: tuple[Array, ...]):
    """One block in its HOSVD form: orthonormal factors (QR, then the singular vectors of
    the small core's unfoldings), all-orthogonal core, largest entry of each factor column
    positive."""
    out = []
    for n, f in enumerate(factors):
        q, r = jnp.linalg.qr(f)
        core = mode_dot(core, r, n)
        out.append(q)
    for n in range(len(out)):
        u, _, _ = jnp.linalg.svd(unfold(core, n), full_matrices=False)
        u, _ = svd_flip(out[n] @ u, u.T)  # fix signs on the full factor
        rot = out[n].T @ u  # the orthogonal change of basis, signs included
        core = mode_dot(core, rot.T, n)
        out[n] = u
    return core, tuple(out)


def _init(x, key, ranks, n_blocks):
    factors = []
    keys = jax.random.split(key, x.ndim) if key is not None else [None] * x.ndim
    for n, rank in enumerate(ranks):
        total = n_blocks * rank
        if key is None:
            u = leading_left_singular_vectors(unfold(x, n), total)
        else:
            u = _random.normal(keys[n], (x.shape[n], total), x.dtype)
        factors.append(jnp.moveaxis(u.reshape(x.shape[n], n_blocks, rank), 1, 0))
    # Each block's core: x projected on that block's bases (exact for orthonormal bases).
    cores = jnp.stack(
        [
            functools.reduce(lambda c, nf: mode_dot(c, nf[1][p].T, nf[0]), enumerate(factors), x)
            for p in range(n_blocks)
        ]
    )
    return cores, tuple(factors)


@functools.partial(jax.jit, static_argnames=("ranks", "n_blocks", "maxiter", "diff"))
def _block_term(x, key, tol, *, ranks, n_blocks, maxiter, diff):
    theta0 = _init(x, key, ranks, n_blocks)
    (cores, factors), info = levenberg_marquardt(
        _residual, theta0, (x,), tol=tol, maxiter=maxiter, diff=diff, attempts=10
    )
    blocks = [_canonical_block(cores[p], tuple(f[p] for f in factors)) for p in range(n_blocks)]
    cores = jnp.stack([b[0] for b in blocks])
    factors = tuple(jnp.stack([b[1][n] for b in blocks]) for n in range(x.ndim))
    order = jnp.argsort(-jnp.sqrt(jnp.sum(cores.reshape(n_blocks, -1) ** 2, axis=1)))
    result = BlockTermTensor(cores[order], tuple(f[order] for f in factors))
    error = relative_error(x, result.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return BlockTermResult(result, info)


def block_term(
    x: Float[Array, "*dims"],
    n_blocks: int,
    ranks: tuple[int, ...],
    *,
    key: jax.Array | None = None,
    maxiter: int = 300,
    tol: float | Array = 1e-12,
    diff: str = "implicit",
) -> BlockTermResult:
    r"""Block term decomposition: a sum of ``P`` terms of multilinear rank ``(L_0, ..., L_{N-1})``.

    .. math:: \min \Bigl\| \mathcal{X} - \sum_{p=1}^{P} \mathcal{G}_p \times_0 U^{(0)}_p
       \times_1 \cdots \times_{N-1} U^{(N-1)}_p \Bigr\|_F^2

    Between CP (all ``L_n = 1``) and Tucker (one block): each term is a low multilinear rank
    tensor, e.g. a source whose signature is a low-rank matrix rather than a rank-one one.
    ``ranks=(L, L, 1)`` gives the rank-(L, L, 1) decomposition
    :math:`\sum_p (A_p B_p^\top) \circ c_p`. Solved by Levenberg-Marquardt on all factors and
    cores (Tensorlab's ``btd_nls`` approach), from the leading singular vectors of each
    unfolding split into blocks (or random factors with ``key``).

    Args:
        x: tensor with ``N >= 2`` modes.
        n_blocks: number of terms ``P`` (static).
        ranks: ``(L_0, ..., L_{N-1})``, the multilinear rank of every term (static); without
            ``key``, ``P L_n <= I_n`` is needed.
        key: optional PRNG key for a random start. The problem is non-convex: to try
            several starts, ``vmap`` over keys and keep the smallest ``info.error``.
        maxiter: maximum LM iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (default) or ``"unroll"``.

    Returns:
        ``BlockTermResult(btd, info)``: a :class:`~lrjax.tensors.BlockTermTensor` with each
        block in HOSVD form (orthonormal factors with fixed signs, all-orthogonal core),
        blocks sorted by decreasing norm.

    Raises:
        ValueError: for ``ranks`` of the wrong length, a block rank above a mode's size,
            ``P L_n > I_n`` without ``key``, non-finite entries, or bad options.

    Examples:
        >>> import jax
        >>> from lrjax.tensors import BlockTermTensor
        >>> ks = jax.random.split(jax.random.key(0), 4)
        >>> g = jax.random.normal(ks[0], (2, 2, 2, 1))
        >>> fs = [jax.random.normal(k, (2, n, l)) for k, n, l in zip(ks[1:], (6, 5, 4), (2, 2, 1))]
        >>> x = BlockTermTensor(g, fs).to_dense()
        >>> res = block_term(x, 2, (2, 2, 1))
        >>> bool(res.info.error < 1e-4), res.btd.rank
        (True, (2, 2, 1))

    References:
        L. De Lathauwer, "Decompositions of a higher-order tensor in block terms - Part II:
        definitions and uniqueness", SIAM J. Matrix Anal. Appl. 30(3), 2008. L. Sorber, M.
        Van Barel and L. De Lathauwer, SIAM J. Optim. 23(2), 2013 (rank-(Lr, Lr, 1) by NLS).
    """
    x = _checks.as_array("x", x, min_ndim=2)
    n_blocks = _checks.positive_int("n_blocks", n_blocks)
    if not isinstance(ranks, tuple | list) or len(ranks) != x.ndim:
        raise ValueError(
            f"`ranks` must give one rank per mode of `x` (shape {x.shape}), got {ranks!r}."
        )
    ranks = tuple(_checks.positive_int(f"ranks[{n}]", r) for n, r in enumerate(ranks))
    for n, (r, size) in enumerate(zip(ranks, x.shape, strict=True)):
        if r > size:
            raise ValueError(f"`ranks[{n}]` must be at most x.shape[{n}] = {size}, got {r}.")
        if key is None and n_blocks * r > size:
            raise ValueError(
                f"`n_blocks` * `ranks[{n}]` = {n_blocks * r} exceeds x.shape[{n}] = {size}: "
                "the SVD start cannot split that mode; pass a `key` for a random start."
            )
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    return partitioned(
        _block_term, x, key, tol, ranks=ranks, n_blocks=n_blocks, maxiter=maxiter, diff=diff
    )
