"""Tensor train by orthogonal iteration (TTOI): TT-SVD refined by alternating sweeps, the
tensor-train counterpart of HOOI."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative, relative_error
from .._sharding import partitioned
from ..linalg._svd import leading_left_singular_vectors
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import TTTensor


class TTResult(NamedTuple):
    """Result of :func:`tt_oi`: the tensor train and its :class:`SolverInfo`."""

    tt: TTTensor
    info: SolverInfo


def _project_right(t: Array, rights, start: int) -> Array:
    """``t`` of shape ``(a, n_k, n_{k+1}, ..., n_{N-1})`` with its modes ``k+1..N-1``
    contracted with the right-orthonormal cores ``rights[k+1..]`` (``(r_j, n_j, r_{j+1})``):
    shape ``(a, n_k, r_{k+1})``."""
    n_modes = len(rights)
    for j in reversed(range(start + 1, n_modes)):
        core = rights[j]
        if j == n_modes - 1:
            t = jnp.tensordot(t, core[:, :, 0], axes=((t.ndim - 1,), (1,)))
        else:
            t = jnp.tensordot(t, core, axes=((t.ndim - 2, t.ndim - 1), (1, 2)))
    return t


def _forward(x: Array, ranks: tuple[int, ...], rights=None) -> tuple[Array, ...]:
    """One left-to-right sweep: core ``k`` is the leading left singular subspace of ``x``
    projected on the left cores found so far and, when given, on the right cores of the modes
    after ``k``; the last core carries the projection of ``x`` (a left-orthonormal TT).
    Without ``rights`` this is TT-SVD."""
    n_modes = x.ndim
    carry = x.reshape(1, *x.shape)
    cores = []
    for k in range(n_modes - 1):
        r_k, n_k = carry.shape[0], carry.shape[1]
        target = carry if rights is None else _project_right(carry, rights, k)
        u = leading_left_singular_vectors(target.reshape(r_k * n_k, -1), ranks[k])
        cores.append(u.reshape(r_k, n_k, ranks[k]))
        carry = (u.T @ carry.reshape(r_k * n_k, -1)).reshape(ranks[k], *x.shape[k + 1 :])
    cores.append(carry.reshape(*carry.shape, 1))
    return tuple(cores)


def _reversed(cores) -> tuple[Array, ...]:
    """The same train read from the other end: core order reversed, rank axes swapped."""
    return tuple(jnp.transpose(c, (2, 1, 0)) for c in reversed(cores))


def _flip(x: Array) -> Array:
    return jnp.transpose(x, tuple(reversed(range(x.ndim))))


def _oi_step(rights, data):
    """A forward sweep on the current right cores, then a backward sweep on the new left
    cores (a forward sweep of the reversed tensor); the error of the backward train."""
    x, norm_sq, ranks = data[0], data[1], tuple(c.shape[0] for c in rights[1:])
    lefts = _forward(x, ranks, rights)
    back = _forward(_flip(x), tuple(reversed(ranks)), _reversed(lefts))
    new_rights = _reversed(back)
    first = new_rights[0]  # x projected on the right-orthonormal cores
    return new_rights, relative(norm_sq - jnp.sum(first * first), norm_sq)


@functools.partial(jax.jit, static_argnames=("ranks", "maxiter", "diff"))
def _tt_oi(x, tol, *, ranks, maxiter, diff):
    start = _forward(x, ranks)  # TT-SVD
    rights0 = _reversed(_forward(_flip(x), tuple(reversed(ranks)), _reversed(start)))
    rights, info = iterate(
        _oi_step, rights0, (x, jnp.sum(x * x)), maxiter=maxiter, tol=tol, diff=diff
    )
    tt = TTTensor(_forward(x, ranks, rights))
    error = relative_error(x, tt.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TTResult(tt, info)


def tt_oi(
    x: Float[Array, "*dims"],
    max_rank: int | Sequence[int],
    *,
    maxiter: int = 10,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
) -> TTResult:
    r"""Tensor-train approximation by TT orthogonal iteration (TTOI), from TT-SVD.

    .. math:: \min_{\mathcal{T}:\ \mathrm{rank}_{TT} \le r} \|\mathcal{X} - \mathcal{T}\|_F

    TT-SVD fixes each core from the unfolding of the whole remainder. TTOI alternates:
    a left-to-right sweep computes core ``k`` as the leading left singular subspace of ``x``
    projected on the left cores already found *and on the right cores of the last backward
    sweep*, then a right-to-left sweep does the same from the other end. Like HOOI for
    Tucker, every sweep cannot increase the error, and on noisy low-rank data the estimate
    improves on TT-SVD (Zhou, Zhang, Zheng & Wang 2022 prove its error rate optimal). One
    iteration here is a forward and a backward sweep (TensorLy counts them separately).

    Args:
        x: tensor with ``N >= 2`` modes.
        max_rank: the largest rank per bond, as :func:`tt_svd` (static).
        maxiter: maximum number of forward-backward iterations (static).
        tol: stop when the relative error changes by less than ``tol`` (traced).
        diff: ``"implicit"`` (at the fixed point; default) or ``"unroll"``.

    Returns:
        ``TTResult(tt, info)``: cores ``0..N-2`` left-orthonormal, as :func:`tt_svd`;
        ``info.error`` the relative error ``||x - tt|| / ||x||``.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, invalid ranks or
            options.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_tt
        >>> x = random_tt(jax.random.key(0), (6, 5, 4, 3), 2).to_dense()
        >>> tt, info = tt_oi(x, 2)
        >>> bool(info.error < 1e-4), tt.rank
        (True, (1, 2, 2, 2, 1))

    References:
        Y. Zhou, A. R. Zhang, L. Zheng and Y. Wang, "Optimal high-order tensor SVD via tensor-
        train orthogonal iteration", IEEE Trans. Inf. Theory 68(6), 2022. Same iteration as
        ``tensorly.contrib.decomposition.tensor_train_OI``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    ranks = _checks.ranks("max_rank", max_rank, x.ndim, form="tt", sizes=x.shape, clip=True)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    return partitioned(_tt_oi, x, tol, ranks=ranks, maxiter=maxiter, diff=diff)
