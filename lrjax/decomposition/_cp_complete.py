"""CP tensor completion from observed entries in coordinate form (CP-WOPT on them)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _checks
from .._numeric import relative
from ..linalg._mttkrp import coordinate_rows
from ..solvers import levenberg_marquardt
from ..tensors import CPTensor
from ._common import (
    balance,
    canonical_cp,
    cp_init,
    random_factors,
    scale_into_last,
    spread_norms,
)
from ._cp import CPResult
from ._cp_sparse import coordinate_parts


def _residual(factors, indices, values):
    return jnp.sum(coordinate_rows(indices, factors), axis=1) - values


@functools.partial(jax.jit, static_argnames=("shape", "rank", "maxiter", "diff"))
def _cp_complete(indices, values, key, start, tol, *, shape, rank, maxiter, diff):
    if start is None:  # cp_opt's random start, balanced against the zero-filled data
        factors0 = random_factors(key, shape, rank, values.dtype)
        inner = jnp.sum(values[:, None] * coordinate_rows(indices, factors0), axis=0)
        factors0 = balance(factors0, inner)
    else:
        factors0 = spread_norms(start)
    factors, info = levenberg_marquardt(
        _residual, factors0, (indices, values), tol=tol, maxiter=maxiter, diff=diff,
        attempts=3,
    )  # fmt: skip
    cp = canonical_cp(scale_into_last(factors))
    model = jnp.sum(coordinate_rows(indices, cp.factors) * cp.weights, axis=1)
    error = relative(jnp.sum((model - values) ** 2), jnp.sum(values * values))
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_complete(
    x,
    rank: int,
    *,
    key: jax.Array | None = None,
    init: str | CPTensor = "random",
    maxiter: int = 200,
    tol: float | Array = 1e-10,
    diff: str = "implicit",
) -> CPResult:
    r"""CP tensor completion from observed entries: the stored entries of a sparse tensor are
    the observations and every other entry is missing.

    .. math:: \min_{A_0, \dots, A_{N-1}} \tfrac12 \sum_{(i_0, \dots, i_{N-1}) \in \Omega}
       \bigl(x_{i_0 \dots i_{N-1}} - [\![A_0, \dots, A_{N-1}]\!]_{i_0 \dots i_{N-1}}\bigr)^2

    by damped Gauss-Newton (Levenberg-Marquardt, :func:`lrjax.solvers.levenberg_marquardt`)
    with residuals at the observed entries only: ``O(|Ω| R N)`` work per Jacobian product, the
    dense tensor never formed (Acar, Dunlavy, Kolda & Mørup's CP-WOPT, as the Tensor
    Toolbox's ``cp_wopt`` with a sparse weight tensor). The same fit as :func:`cp_opt` with
    ``mask`` the observed pattern, which needs the dense tensor (tested: the same iterates
    from the same ``key``). For a sparse tensor whose unstored entries are zeros, not missing,
    use :func:`cp_als`.

    Args:
        x: the observations, a ``jax.experimental.sparse.BCOO`` tensor (no batch or dense
            dimensions) with ``N >= 2`` modes; a repeated coordinate is a repeated
            observation (least squares fits their mean).
        rank: number of components (static).
        key: PRNG key of the random start (required for ``init="random"``).
        init: ``"random"`` (normal factors scaled by the least-squares weights, as
            :func:`cp_opt`'s) or a warm start, a :class:`~lrjax.tensors.CPTensor` of ``x``'s
            shape and rank ``rank``.
        maxiter: maximum Gauss-Newton iterations (static).
        tol: stop when the relative residual changes by less than ``tol``.
        diff: ``"implicit"`` (stationarity of the objective; default) or ``"unroll"``.

    Returns:
        ``CPResult(cp, info)`` in :func:`cp_als`'s canonical form; ``info.error`` is the
        relative error on the observed entries, ``sqrt(Σ_Ω (x − x̂)² / Σ_Ω x²)``.

    Raises:
        ValueError: for an ``x`` that is not a non-batched ``BCOO`` tensor with ``N >= 2``
            non-empty modes, non-finite observations (eager), a bad ``rank``, ``maxiter``,
            ``tol`` or ``diff``, ``init="random"`` without ``key``, or a warm start of another
            shape or rank.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from jax.experimental import sparse
        >>> from lrjax.testing import random_cp
        >>> full = random_cp(jax.random.key(0), (8, 7, 6), 2).to_dense()
        >>> seen = jax.random.uniform(jax.random.key(1), full.shape) < 0.5
        >>> obs = sparse.BCOO.fromdense(jnp.where(seen, full, 0.0))
        >>> cp, info = cp_complete(obs, 2, key=jax.random.key(2))
        >>> bool(jnp.linalg.norm(cp.to_dense() - full) < 1e-3 * jnp.linalg.norm(full))
        True

    References:
        E. Acar, D. M. Dunlavy, T. G. Kolda and M. Mørup, "Scalable tensor factorizations for
        incomplete data", Chemometr. Intell. Lab. 106(1), 2011.
    """
    if not _checks.is_bcoo(x):
        raise ValueError(
            "`x` must be a jax.experimental.sparse.BCOO tensor of the observed entries, got "
            f"{type(x).__name__}; for a dense tensor with missing entries use "
            "cp_opt(x, rank, mask=observed)."
        )
    values, indices, shape = coordinate_parts(x)
    rank = _checks.positive_int("rank", rank)
    start, _ = cp_init("init", init, jax.ShapeDtypeStruct(shape, values.dtype), rank,
                       named=("random",))  # fmt: skip
    key = _checks.optional_prng_key("key", key)
    if start is None and key is None:
        raise ValueError("`key` must be a PRNG key when init='random', got None.")
    return _cp_complete(
        indices, values, key, start, _checks.tolerance(tol), shape=shape, rank=rank,
        maxiter=_checks.positive_int("maxiter", maxiter),
        diff=_checks.choice("diff", diff, _checks.DIFF_MODES),
    )  # fmt: skip
