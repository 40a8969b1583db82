"""Matrix completion: singular value thresholding (SVT) and soft-impute."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .. import _checks
from .._numeric import relative
from .._sharding import partitioned
from ..linalg._spectral import gram_svt
from ..linalg._threads import serial_lapack_call
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ._common import spectral_norm


class CompletionSVT(NamedTuple):
    """``complete_matrix``'s singular value thresholding method (Cai, Candès & Shen 2010).

    Attributes:
        tau: threshold; default ``5 sqrt(mn)`` (traced).
        delta: step; default ``1.2 mn / |Ω|`` (traced).
    """

    tau: float | None = None
    delta: float | None = None


class SoftImpute(NamedTuple):
    """``complete_matrix``'s soft-impute method (Mazumder, Hastie & Tibshirani 2010).

    Attributes:
        lam: nuclear-norm weight; default ``1e-2 ‖P_Ω M‖_2`` (traced).
    """

    lam: float | None = None


class CompletionResult(NamedTuple):
    """Result of :func:`complete_matrix`: the completed matrix and its :class:`SolverInfo`."""

    matrix: Array
    info: SolverInfo


def _svt_method(observed, mask, tau, delta, tol, maxiter, diff, svt):
    norm_obs_sq = jnp.sum(observed * observed)
    norm2 = spectral_norm(observed)
    # k0 * delta * observed: the zero matrix (norm 0) starts at Y = 0 instead of 0 * inf
    k0 = jnp.where(norm2 > 0, jnp.ceil(tau / (delta * jnp.where(norm2 > 0, norm2, 1.0))), 0.0)
    y0 = k0 * delta * observed

    def step(y, params):
        observed, mask, tau, delta = params
        x = svt(y, tau, 1.0)
        residual = mask * (observed - x)
        err = relative(jnp.sum(residual * residual), norm_obs_sq)
        return y + delta * residual, err

    y, info = iterate(
        step,
        y0,
        (observed, mask, tau, delta),
        maxiter=maxiter,
        tol=tol,
        diff=diff,
        criterion="value",
    )
    return CompletionResult(svt(y, tau, 1.0), info)


def _soft_impute_method(observed, mask, lam, tol, maxiter, diff, svt):
    def step(z, params):
        observed, mask, lam = params
        z_new = svt(observed + (1 - mask) * z, lam, 1.0)
        d = z_new - z
        err = relative(jnp.sum(d * d), jnp.sum(z * z))
        return z_new, err

    z, info = iterate(
        step,
        observed,
        (observed, mask, lam),
        maxiter=maxiter,
        tol=tol,
        diff=diff,
        criterion="value",
    )
    return CompletionResult(z, info)


@functools.partial(jax.jit, static_argnames=("method", "maxiter", "diff", "svt"))
def _complete(observed, mask, tau, delta, lam, tol, *, method, maxiter, diff, svt=gram_svt):
    mask = mask.astype(observed.dtype)
    observed = observed * mask
    n_obs = jnp.sum(mask)
    if method == "svt":
        if tau is None:
            tau = 5.0 * math.sqrt(observed.shape[0] * observed.shape[1])
        if delta is None:
            delta = 1.2 * observed.size / n_obs
        return _svt_method(observed, mask, tau, delta, tol, maxiter, diff, svt)
    if lam is None:
        lam = 1e-2 * spectral_norm(observed)
    return _soft_impute_method(observed, mask, lam, tol, maxiter, diff, svt)


def _method(method, tau, delta, lam):
    """The method object, from a string and the deprecated keywords."""
    if isinstance(method, str):
        method = _checks.choice("method", method, ("svt", "soft_impute"))
        method = CompletionSVT() if method == "svt" else SoftImpute()
    if not isinstance(method, CompletionSVT | SoftImpute):
        raise ValueError(
            f"`method` must be 'svt', 'soft_impute', a CompletionSVT or a SoftImpute, "
            f"got {method!r}."
        )
    given = {k: v for k, v in dict(tau=tau, delta=delta, lam=lam).items() if v is not None}
    if not given:
        return method
    wrong = [k for k in given if k not in method._fields]
    if wrong:
        raise ValueError(
            f"`{wrong[0]}` is not a parameter of {type(method).__name__}; "
            f"it takes {method._fields}."
        )
    warnings.warn(
        f"{', '.join(f'`{k}`' for k in given)} of complete_matrix are deprecated and will be "
        f"removed in the next release; pass `method={type(method).__name__}("
        f"{', '.join(f'{k}=...' for k in given)})`.",
        DeprecationWarning,
        stacklevel=3,
    )
    if any(getattr(method, k) is not None for k in given):
        raise TypeError(f"{sorted(given)} given both in `method` and as keywords.")
    return method._replace(**given)


def complete_matrix(
    observed: Float[Array, "m n"],
    mask: Bool[Array, "m n"],
    *,
    method: str | CompletionSVT | SoftImpute = "svt",
    tol: float = 1e-4,
    maxiter: int = 1000,
    diff: str | None = None,
    low_rank_prox: Callable | None = None,
    tau: float | None = None,
    delta: float | None = None,
    lam: float | None = None,
) -> CompletionResult:
    r"""Complete a low-rank matrix from the entries where ``mask`` is True.

    ``method="svt"`` (Cai, Candès & Shen 2010): ``X_k = SVT(Y_{k−1}, τ)``,
    ``Y_k = Y_{k−1} + δ P_Ω(M − X_k)`` from ``Y_0 = k_0 δ P_Ω(M)``; it converges to the
    solution of :math:`\min \tau\|X\|_* + \tfrac12\|X\|_F^2` s.t. :math:`P_\Omega X =
    P_\Omega M`. Defaults ``τ = 5 sqrt(mn)``, ``δ = 1.2 mn/|Ω|`` (the paper's choices);
    stops when :math:`\|P_\Omega(X - M)\|_F / \|P_\Omega M\|_F <` ``tol``.

    ``method="soft_impute"`` (Mazumder, Hastie & Tibshirani 2010):
    ``Z ← SVT(P_Ω(M) + P_Ω⊥(Z), λ)``, converging to
    :math:`\arg\min \tfrac12\|P_\Omega(M - Z)\|_F^2 + \lambda\|Z\|_*`; default
    ``λ = 1e-2 ‖P_Ω M‖_2``. The estimate is biased by about ``λ`` per singular value and the
    iteration slows as ``λ`` shrinks (use a decreasing ``λ`` path with warm starts for small
    ``λ``); stops when the relative change is below ``tol``.

    Args:
        observed: matrix whose entries under ``mask`` are observed (others are ignored).
        mask: boolean or 0/1 array of the same shape.
        method: :class:`CompletionSVT` ``(tau, delta)`` or :class:`SoftImpute` ``(lam)``, the
            method with its parameters; ``"svt"`` / ``"soft_impute"`` for their defaults.
        tol: stopping tolerance.
        maxiter: maximum iterations (static).
        diff: soft-impute: ``"implicit"`` (default; its iterate is the unique minimiser) or
            ``"unroll"``. SVT: ``"unroll"`` only — its iterate ``Y`` is a dual variable that
            the constraints do not determine uniquely, so implicit differentiation of its
            fixed point is ill-posed.
        low_rank_prox: the singular value thresholding step, a prox ``(x, reg, scaling)``
            (static, hashable). The default (``None``) is :func:`lrjax.prox.prox_nuclear`'s
            value, in float64 computed as :func:`lrjax.robust_pca`'s default step: from the
            eigendecomposition of the smaller Gram matrix, faster on CPU and equal to the
            SVD's to about ``sqrt(eps)`` relative at worst. For a matrix sharded by rows,
            :func:`lrjax.distributed.complete_matrix` passes the TSQR-based one.
        tau, delta, lam: deprecated spellings of the method's parameters (one release, with
            a ``DeprecationWarning``): ``method=CompletionSVT(tau, delta)`` or
            ``method=SoftImpute(lam)``.

    Returns:
        ``CompletionResult(matrix, info)``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_low_rank
        >>> a = random_low_rank(jax.random.key(0), (40, 30), 2).to_dense()
        >>> mask = jax.random.uniform(jax.random.key(1), a.shape) < 0.6
        >>> r = complete_matrix(a, mask, method=SoftImpute(lam=0.01), tol=1e-6)
        >>> bool(jnp.linalg.norm(r.matrix - a) < 0.05 * jnp.linalg.norm(a))
        True

    Raises:
        ValueError: for a non-matrix, mismatched shapes, an empty mask, NaN/inf observed
            entries in an eager call, or bad options.

    References:
        J.-F. Cai, E. J. Candès, Z. Shen, "A singular value thresholding algorithm for
        matrix completion", SIAM J. Optim. 20(4), 2010. R. Mazumder, T. Hastie,
        R. Tibshirani, "Spectral regularization algorithms for learning large incomplete
        matrices", JMLR 11, 2010.
    """
    mask_arr = jnp.asarray(mask)
    observed = jnp.asarray(_checks.densified(observed))  # a factorized matrix stands for its dense
    if observed.shape != mask_arr.shape:
        raise ValueError(
            f"`observed` and `mask` must have the same shape, got {observed.shape} and "
            f"{mask_arr.shape}."
        )
    mask_arr = _checks.observation_mask("mask", mask_arr, observed.shape)
    observed = jnp.where(mask_arr, observed, 0.0)
    observed = _checks.as_array("observed", observed, ndim=2)
    method_obj = _method(method, tau, delta, lam)
    if isinstance(method_obj, CompletionSVT):
        method, tau, delta, lam = "svt", method_obj.tau, method_obj.delta, None
    else:
        method, tau, delta, lam = "soft_impute", None, None, method_obj.lam
    maxiter = _checks.positive_int("maxiter", maxiter)
    if diff is None:
        diff = "unroll" if method == "svt" else "implicit"
    allowed = ("unroll",) if method == "svt" else _checks.DIFF_MODES
    diff = _checks.choice("diff", diff, allowed)
    tol = _checks.tolerance(tol)
    if low_rank_prox is not None and not callable(low_rank_prox):
        raise ValueError(f"`low_rank_prox` must be callable or None, got {low_rank_prox!r}.")
    tau = _checks.positive("method.tau", tau)
    delta = _checks.positive("method.delta", delta)
    lam = _checks.nonnegative("method.lam", lam)
    return serial_lapack_call(
        max(observed.shape),  # its SVDs are of the matrix's shape
        partitioned,
        _complete,
        observed,
        mask_arr,
        tau,
        delta,
        lam,
        tol,
        method=method,
        maxiter=maxiter,
        diff=diff,
        svt=gram_svt if low_rank_prox is None else low_rank_prox,
    )
