"""Tucker decomposition: sequentially truncated HOSVD and HOOI."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative, relative_error
from .._sharding import partitioned
from ..linalg._small import orthonormalize
from ..linalg._svd import leading_left_singular_vectors
from ..linalg._threads import serial_lapack_call
from ..linalg._unfold import mode_dot, unfold
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ..tensors import TuckerTensor
from ._common import project


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


def hosvd(x: Float[Array, "*dims"], ranks: int | tuple[int, ...]) -> TuckerTensor:
    r"""Sequentially truncated higher-order SVD (ST-HOSVD).

    For ``n = 0, ..., N-1``: ``U_n`` = the ``R_n`` leading left singular vectors of the
    mode-``n`` unfolding of the current core, then the core is projected,
    ``G <- G ×_n U_n^T``. The factors are orthonormal with fixed signs and the error obeys
    :math:`\|\mathcal{X} - \hat{\mathcal{X}}\|_F^2 \le \sum_n \sum_{i > R_n}
    \sigma_i^2(X_{(n)})`.

    Args:
        x: tensor with ``N >= 2`` modes.
        ranks: multilinear ranks, an int for every mode or one per mode, each at most the
            mode's size (static).

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


@functools.partial(jax.jit, static_argnames=("ranks", "init", "maxiter", "diff"))
def _tucker_hooi(x, key, tol, *, ranks, init, maxiter, diff):
    if init == "svd":
        factors0 = _hosvd(x, ranks=ranks).factors
    else:
        keys = jax.random.split(key, x.ndim)
        factors0 = tuple(
            orthonormalize(jax.random.normal(k, (size, r), dtype=x.dtype))
            for k, size, r in zip(keys, x.shape, ranks, strict=True)
        )
    data = (x, jnp.sum(x * x))
    factors, info = iterate(_hooi_sweep, factors0, data, maxiter=maxiter, tol=tol, diff=diff)
    tucker = TuckerTensor(project(x, factors, range(x.ndim)), factors)
    error = relative_error(x, tucker.to_dense())
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return TuckerResult(tucker, info)


def tucker_hooi(
    x: Float[Array, "*dims"],
    ranks: int | tuple[int, ...],
    *,
    key: jax.Array | None = None,
    init: str = "svd",
    maxiter: int = 50,
    tol: float | Array = 1e-8,
    diff: str = "implicit",
) -> TuckerResult:
    r"""Tucker decomposition by higher-order orthogonal iteration (HOOI).

    .. math:: \min_{\mathcal{G}, U_n^\top U_n = I} \|\mathcal{X} - \mathcal{G} \times_0 U_0
       \cdots \times_{N-1} U_{N-1}\|_F^2

    Each sweep sets ``U_n`` to the leading left singular vectors of
    ``unfold(X ×_{m≠n} U_m^T, n)``; the projections of one half of the modes are shared by
    the updates of the other half. The core is ``X ×_n U_n^T``. Stops when the relative
    error changes by at most ``tol`` or after ``maxiter`` sweeps.

    Args:
        x: tensor with ``N >= 2`` modes.
        ranks: multilinear ranks (int or one per mode, each at most the mode's size; static).
        key: PRNG key, needed for ``init="random"``.
        init: ``"svd"`` (ST-HOSVD, default) or ``"random"`` (random orthonormal factors).
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).
        diff: ``"implicit"`` (default) or ``"unroll"``, as in :func:`cp_als`.

    Returns:
        ``TuckerResult(tucker, info)`` with orthonormal, sign-fixed factors; ``info.error``
        is the exact relative error.

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, ranks that do not fit
            ``x``, an unknown option, or ``init="random"`` without ``key``.

    References:
        L. De Lathauwer, B. De Moor, J. Vandewalle, "On the best rank-1 and
        rank-(R1, ..., RN) approximation of higher-order tensors", SIAM J. Matrix Anal.
        Appl. 21(4), 2000. Same objective as ``tensorly.decomposition.tucker``.
    """
    x, ranks = _tucker_args(x, ranks)
    init = _checks.choice("init", init, ("svd", "random"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, _checks.DIFF_MODES)
    tol = _checks.tolerance(tol)
    key = _checks.optional_prng_key("key", key)
    if init == "random" and key is None:
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    return serial_lapack_call(
        max(x.shape),  # the Gram matrices it factorizes are at most this large
        partitioned,
        _tucker_hooi,
        x,
        key,
        tol,
        ranks=ranks,
        init=init,
        maxiter=maxiter,
        diff=diff,
    )
