"""Low-rank + sparse decompositions by the inexact augmented Lagrange multiplier method:
robust PCA (principal component pursuit) and tensor robust PCA (t-SVD)."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from .._numeric import relative
from .._sharding import partitioned
from ..linalg._spectral import gram_svt
from ..linalg._threads import serial_lapack_call
from ..prox._spectral import prox_nuclear, prox_nuclear_randomized, prox_tensor_nuclear
from ..prox._vector import prox_l1
from ..solvers._info import SolverInfo
from ..solvers._loop import iterate
from ._common import spectral_norm


class RandomizedSVT(NamedTuple):
    """The low-rank step of :func:`robust_pca` as the fast randomized SVT of Oh et al.
    (TPAMI 2018): singular value thresholding of a rank-``rank`` randomized SVD.

    For large matrices whose low-rank part has rank well below ``rank``.

    Attributes:
        rank: target rank of the sketch (static).
        key: PRNG key of the sketch (traced).
        n_iter: power iterations (static).
    """

    rank: int
    key: jax.Array
    n_iter: int = 2


class LowRankProx(NamedTuple):
    """The low-rank step of :func:`robust_pca` as any prox with the common signature
    ``prox(X, hyperparams, scaling)``, called as ``prox(X, hyperparams, 1/μ)``.

    Example: ``LowRankProx(functools.partial(lrjax.prox.generalized_svt,
    prox_fn=lrjax.prox.prox_mcp), (1.0, gamma))`` for a nonconvex (MCP) rank penalty.

    Attributes:
        prox: the prox (static, hashable).
        hyperparams: its hyperparameters (traced); the nuclear norm's weight is 1.
    """

    prox: Callable
    hyperparams: Any = 1.0


class RobustPCAResult(NamedTuple):
    """Result of :func:`robust_pca` / :func:`tensor_robust_pca`: ``low_rank + sparse``
    reconstructs the input; ``info`` reports the constraint residual."""

    low_rank: Array
    sparse: Array
    info: SolverInfo


def _alm(m, obs, low_rank_step, lam, hyper, mu0, y0, rho, mu_max, tol, maxiter, diff):
    """Inexact ALM for ``min G(L) + lam ||P_obs S||_1  s.t.  L + S = M`` (shared by both
    solvers). ``obs`` (None: every entry) marks the observed entries; ``m`` is zero elsewhere,
    where ``S`` is not penalised and takes up ``M − L`` (the constraint holds there exactly),
    so ``L`` completes the missing entries. ``S`` is returned zero off ``obs``."""
    norm_m_sq = jnp.sum(m * m)

    def apply(state, params):
        # The dual is kept scaled, w = Y / mu, so the map stays well conditioned as mu grows.
        low, sparse, w = state
        m, obs, lam, hyper, mu = params
        low = low_rank_step(m - sparse + w, hyper, 1.0 / mu)
        r = m - low + w
        sparse = prox_l1(r, lam, 1.0 / mu)
        if obs is not None:
            sparse = jnp.where(obs, sparse, r)
        return low, sparse, w + (m - low - sparse)

    def step(state, params):
        low, sparse, w, mu = state
        m, obs, lam, hyper = params
        low, sparse, w = apply((low, sparse, w), (m, obs, lam, hyper, mu))
        residual = m - low - sparse
        err = relative(jnp.sum(residual * residual), norm_m_sq)
        mu_next = jnp.minimum(rho * mu, mu_max)
        return (low, sparse, w * (mu / mu_next), mu_next), err

    zeros = jnp.zeros_like(m)
    state0 = (zeros, zeros, y0 / mu0, mu0)
    (low, sparse, _, _), info = iterate(
        step,
        state0,
        (m, obs, lam, hyper),
        maxiter=maxiter,
        tol=tol,
        diff=diff,
        criterion="value",
    )
    if obs is not None:
        sparse = jnp.where(obs, sparse, 0.0)
    return RobustPCAResult(low, sparse, info)


def observed(name: str, x: Array, mask) -> tuple[Array, Array | None]:
    """``x`` with its unobserved entries (``mask`` False) set to zero, and the boolean mask
    (None without one). Non-finite values are allowed where unobserved (NaN marks missing
    data); an eager call checks the observed ones."""
    obs = None if mask is None else _checks.observation_mask("mask", mask, x.shape)
    return _checks.zero_unobserved(name, x, obs), obs


@functools.partial(
    jax.jit, static_argnames=("maxiter", "diff", "low_rank_prox", "svt_rank", "n_iter")
)
def _robust_pca(
    m, obs, lam, hyper, key, rho, tol, *, maxiter, diff, low_rank_prox, svt_rank, n_iter
):
    if lam is None:
        lam = 1.0 / math.sqrt(max(m.shape))
    lam = jnp.asarray(lam, m.dtype)
    # The zero matrix (norm 0) starts from Y = 0 and mu = 1.25: its solution L = S = 0 then
    # comes out exactly, instead of 0/0.
    norm2 = spectral_norm(m)
    norm2 = jnp.where(norm2 > 0, norm2, 1.0)
    y0 = m / jnp.maximum(norm2, jnp.max(jnp.abs(m)) / lam)
    mu0 = 1.25 / norm2
    if svt_rank is not None:
        step = functools.partial(_randomized_step, key=key, rank=svt_rank, n_iter=n_iter)
    else:
        step = low_rank_prox
    return _alm(m, obs, step, lam, hyper, mu0, y0, rho, mu0 * 1e7, tol, maxiter, diff)


def _randomized_step(x, hyper, scaling, *, key, rank, n_iter):
    return prox_nuclear_randomized(x, hyper, scaling, rank=rank, key=key, n_iter=n_iter)


def _growth_factor(rho) -> None:
    """The penalty's growth factor: ``rho >= 1`` (1 is ADMM with a fixed penalty; below 1
    the penalty shrinks and the iteration need not converge)."""
    _checks.scalar("rho", rho, lambda v: v >= 1, "at least 1 (the penalty must not shrink)")


def _legacy_low_rank(low_rank, low_rank_prox, low_rank_hyperparams, svt_rank, key, n_iter):
    """The ``low_rank`` step from the pre-0.2 keywords (deprecated for one release)."""
    given = {
        k: v
        for k, v in dict(
            low_rank_prox=low_rank_prox,
            low_rank_hyperparams=low_rank_hyperparams,
            svt_rank=svt_rank,
            key=key,
            n_iter=n_iter,
        ).items()
        if v is not None
    }
    if not given:
        return low_rank
    if low_rank is not None:
        raise TypeError(
            f"got `low_rank` and its deprecated keywords {sorted(given)}; pass `low_rank`."
        )
    # as before: `key` and `n_iter` matter only with `svt_rank`
    randomized = svt_rank is not None
    if randomized and (low_rank_prox is not None or low_rank_hyperparams is not None):
        raise ValueError("`svt_rank` (randomized SVT) and `low_rank_prox` exclude each other.")
    if randomized:
        advice = "pass `low_rank=lrjax.RandomizedSVT(rank, key, n_iter)`"
    elif low_rank_prox is not None or low_rank_hyperparams is not None:
        advice = "pass `low_rank=lrjax.LowRankProx(prox, hyperparams)`"
    else:  # `key` / `n_iter` alone never did anything
        advice = "without `svt_rank` they have no effect; leave them out"
    warnings.warn(
        f"{', '.join(f'`{k}`' for k in sorted(given))} of robust_pca are deprecated and will be "
        f"removed in the next release; {advice}.",
        DeprecationWarning,
        stacklevel=3,
    )
    if randomized:
        if key is None:
            raise ValueError("`key` must be a PRNG key when `svt_rank` is given, got None.")
        return RandomizedSVT(svt_rank, key, 2 if n_iter is None else n_iter)
    if low_rank_prox is None and low_rank_hyperparams is None:
        return None  # `key` / `n_iter` alone: the default step, as before
    return LowRankProx(
        prox_nuclear if low_rank_prox is None else low_rank_prox,
        1.0 if low_rank_hyperparams is None else low_rank_hyperparams,
    )


def robust_pca(
    m: Float[Array, "m n"],
    *,
    lam: float | None = None,
    rho: float = 1.15,
    tol: float = 1e-7,
    maxiter: int = 500,
    low_rank: RandomizedSVT | LowRankProx | None = None,
    diff: str = "unroll",
    low_rank_prox: Callable | None = None,
    low_rank_hyperparams: Any = None,
    svt_rank: int | None = None,
    key: jax.Array | None = None,
    n_iter: int | None = None,
    mask: Array | None = None,
) -> RobustPCAResult:
    r"""Robust PCA by principal component pursuit, solved by the inexact ALM method.

    .. math:: \min_{L, S} \|L\|_* + \lambda \|S\|_1 \quad \text{s.t.} \quad L + S = M

    Iterates ``L = SVT(M − S + Y/μ, 1/μ)``, ``S = soft(M − L + Y/μ, λ/μ)``,
    ``Y += μ(M − L − S)``, ``μ = min(ρμ, 10^7 μ_0)`` from ``Y_0 = M / max(‖M‖_2, ‖M‖_∞/λ)``
    and ``μ_0 = 1.25/‖M‖_2`` (Lin, Chen & Ma 2010, Algorithm 5), until
    ``‖M − L − S‖_F / ‖M‖_F < tol``.

    The default growth ``ρ = 1.15`` takes about 1.6x the iterations of Lin et al.'s 1.5,
    because 1.5 can stop at a point that is not the minimiser: ``μ`` grows so fast that the
    iterates freeze once the residual is small, before the outliers' support is found
    (``converged`` is then True). Of 135 random problems whose minimiser is the planted
    low-rank matrix (30-150 rows and columns, rank 1-4, 5 % outliers of 1-100x the data's
    magnitude), ``ρ = 1.5`` missed it on 14 (low-rank error up to 0.13), ``ρ = 1.15`` on
    none; on 40 x 30 rank-2 problems with 10x outliers, 1.5 missed 12 of 39 and 1.15 still 2
    (error 1e-2 and 2e-3); in a batch of 64 40 x 40 rank-2 problems with ±1 outliers
    (``experiments/benchmarks/solvers.py``), 8 ended above 1e-3 with 1.5 and 1 with 1.15. A
    smaller ``ρ`` is safer and slower.

    With ``mask``, only the observed entries ``Ω`` constrain the fit (principal component
    pursuit with missing data, Candès et al. 2011, Sec. 1.6; TensorLy's ``robust_pca(mask=)``):
    ``min ‖L‖_* + λ ‖P_Ω S‖_1  s.t.  P_Ω(L + S) = P_Ω M``. ``L`` then fills in the missing
    entries, ``S`` is zero there, and ``M`` may hold anything there, NaN included.

    The low-rank step is a single option, ``low_rank``:

    * ``None``: exact singular value thresholding (the nuclear norm). In float64 it is
      computed from the eigendecomposition of the smaller Gram matrix (1.4-1.8x faster than
      through an SVD on CPU, for 40 x 40 to 800 x 800) and agrees with
      :func:`prox_nuclear` to about ``min(eps ||X||_2 / τ, τ / ||X||_2)`` relative, at
      most about ``sqrt(eps)`` (5e-9 measured at the worst threshold). Other dtypes, and
      ``LowRankProx(prox_nuclear)``, take the SVD;
    * :class:`RandomizedSVT` ``(rank, key, n_iter)``: the fast randomized SVT of Oh et al.
      (TPAMI 2018), for large matrices whose low-rank part has rank well below ``rank``;
    * :class:`LowRankProx` ``(prox, hyperparams)``: any prox with the common signature in
      place of the nuclear norm's, e.g. a nonconvex (MCP) rank penalty.

    Args:
        m: data matrix ``(m, n)``.
        lam: weight of the sparse term; default ``1/sqrt(max(m, n))`` (Candès et al. 2011).
        rho: growth factor of the penalty ``μ`` (at least 1; see above for the default).
        tol: tolerance on the relative constraint residual.
        maxiter: maximum iterations (static).
        low_rank: the low-rank step (see above).
        diff: ``"unroll"``, reverse mode through the iterations (memory grows with the
            number of iterations run). Implicit differentiation is not offered: the ALM fixed
            point includes the dual variable, which principal component pursuit does not
            determine uniquely, so its adjoint system is singular (measured: GMRES on it does
            not reproduce finite differences).
        low_rank_prox, low_rank_hyperparams, svt_rank, key, n_iter: deprecated spellings of
            ``low_rank`` (one release, with a ``DeprecationWarning``).
        mask: boolean (or 0/1) array of ``m``'s shape, True where observed (traced: vmap
            over masks); default every entry.

    Returns:
        ``RobustPCAResult(low_rank, sparse, info)``; with ``mask``, ``low_rank + sparse``
        reconstructs ``m`` on the observed entries and ``info.error`` is the residual there.

    Raises:
        ValueError: for a non-matrix, NaN/inf (at an observed entry) in an eager call, a
            negative ``lam``, bad integer options, a ``low_rank`` of another type, or a
            ``mask`` of another shape, with values other than 0/1, or with no entry observed.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from lrjax.testing import random_low_rank_plus_sparse
        >>> low, sparse = random_low_rank_plus_sparse(jax.random.key(0), 60, 3, 0.05)
        >>> r = robust_pca(low + sparse, low_rank=RandomizedSVT(12, jax.random.key(1)))
        >>> bool(jnp.linalg.norm(r.low_rank - low) < 1e-3 * jnp.linalg.norm(low))
        True

    References:
        E. J. Candès, X. Li, Y. Ma, J. Wright, "Robust principal component analysis?",
        J. ACM 58(3), 2011. Z. Lin, M. Chen, Y. Ma, "The augmented Lagrange multiplier
        method for exact recovery of corrupted low-rank matrices", arXiv:1009.5055, 2010.
    """
    m, obs = observed("m", _checks.as_array("m", m, ndim=2, check_finite=False), mask)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, ("unroll",))
    lam = _checks.positive("lam", lam)
    _growth_factor(rho)
    tol = _checks.tolerance(tol)
    low_rank = _legacy_low_rank(
        low_rank, low_rank_prox, low_rank_hyperparams, svt_rank, key, n_iter
    )
    prox, hyper, rkey, rank, power = gram_svt, 1.0, None, None, 2
    if isinstance(low_rank, RandomizedSVT):
        rank = _checks.positive_int("low_rank.rank", low_rank.rank)
        power = _checks.nonneg_int("low_rank.n_iter", low_rank.n_iter)
        rkey = _checks.prng_key("low_rank.key", low_rank.key)
    elif isinstance(low_rank, LowRankProx):
        if not callable(low_rank.prox):
            raise ValueError(f"`low_rank.prox` must be callable, got {low_rank.prox!r}.")
        prox, hyper = low_rank.prox, low_rank.hyperparams
    elif low_rank is not None:
        raise ValueError(
            f"`low_rank` must be None, a RandomizedSVT or a LowRankProx, got {low_rank!r}."
        )
    return serial_lapack_call(
        max(m.shape),  # its SVDs are of m's shape
        partitioned,
        _robust_pca,
        m,
        obs,
        lam,
        hyper,
        rkey,
        rho,
        tol,
        maxiter=maxiter,
        diff=diff,
        low_rank_prox=prox,
        svt_rank=rank,
        n_iter=power,
    )


@functools.partial(jax.jit, static_argnames=("maxiter", "diff"))
def _tensor_robust_pca(x, obs, lam, rho, mu0, mu_max, tol, *, maxiter, diff):
    n1, n2, n3 = x.shape
    if lam is None:
        lam = 1.0 / math.sqrt(max(n1, n2) * n3)
    lam = jnp.asarray(lam, x.dtype)
    return _alm(
        x,
        obs,
        prox_tensor_nuclear,
        lam,
        1.0,
        jnp.asarray(mu0, x.dtype),
        jnp.zeros_like(x),
        rho,
        mu_max,
        tol,
        maxiter,
        diff,
    )


def tensor_robust_pca(
    x: Float[Array, "n1 n2 n3"],
    *,
    lam: float | None = None,
    rho: float = 1.1,
    mu: float = 1e-3,
    mu_max: float = 1e10,
    tol: float = 1e-8,
    maxiter: int = 500,
    diff: str = "unroll",
    mask: Array | None = None,
) -> RobustPCAResult:
    r"""Tensor robust PCA with the t-SVD tensor nuclear norm (Lu et al., TPAMI 2020).

    .. math:: \min_{\mathcal{L}, \mathcal{S}} \|\mathcal{L}\|_* + \lambda \|\mathcal{S}\|_1
       \quad \text{s.t.} \quad \mathcal{L} + \mathcal{S} = \mathcal{X}

    ADMM with increasing penalty (their Algorithm 2): the low-rank step is tensor singular
    value thresholding (:func:`lrjax.prox.prox_tensor_nuclear`), the sparse step soft
    thresholding; defaults ``λ = 1/sqrt(max(n1, n2) n3)``, ``ρ = 1.1``, ``μ_0 = 1e-3``,
    ``μ_max = 1e10``. Stops when ``‖X − L − S‖_F/‖X‖_F < tol``. With ``mask``, only the
    observed entries constrain the fit, as for :func:`robust_pca` (``L`` completes the others;
    they may hold NaN).

    Args:
        x: tensor ``(n1, n2, n3)``; the t-SVD acts along the last mode.
        lam, rho, mu, mu_max: as above.
        tol: tolerance on the relative constraint residual.
        maxiter: maximum iterations (static).
        diff: ``"unroll"`` (see :func:`robust_pca` for why not ``"implicit"``).
        mask: boolean (or 0/1) array of ``x``'s shape, True where observed; default every
            entry.

    Returns:
        ``RobustPCAResult(low_rank, sparse, info)``.

    Raises:
        ValueError: for a non-3-way input, NaN/inf (at an observed entry) in an eager call,
            a bad ``mask`` or bad options.

    References:
        C. Lu, J. Feng, Y. Chen, W. Liu, Z. Lin, S. Yan, "Tensor robust principal component
        analysis with a new tensor nuclear norm", IEEE TPAMI 42(4), 2020.
    """
    x, obs = observed("x", _checks.as_array("x", x, ndim=3, check_finite=False), mask)
    maxiter = _checks.positive_int("maxiter", maxiter)
    diff = _checks.choice("diff", diff, ("unroll",))
    lam = _checks.positive("lam", lam)
    _growth_factor(rho)
    mu = _checks.positive("mu", mu)
    mu_max = _checks.positive("mu_max", mu_max)
    if _checks.is_concrete(mu) and _checks.is_concrete(mu_max) and float(mu_max) < float(mu):
        raise ValueError(f"`mu_max` must be at least `mu` = {mu!r}, got {mu_max!r}.")
    tol = _checks.tolerance(tol)
    return serial_lapack_call(
        max(x.shape[:2]),  # SVDs of the frontal slices in the Fourier domain
        partitioned,
        _tensor_robust_pca,
        x,
        obs,
        lam,
        rho,
        mu,
        mu_max,
        tol,
        maxiter=maxiter,
        diff=diff,
    )
