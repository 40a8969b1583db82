"""Low-rank + sparse models of imaging problems, by the inexact augmented Lagrange multiplier
method on :func:`lrjax.solvers.iterate`: a background model with an illumination subspace, and
face coding with a low-rank + sparse error."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .. import _checks
from .._numeric import relative
from ..linalg._spectral import gram_svt
from ..prox import prox_l1
from ..solvers import SolverInfo, iterate
from ._common import coding_args


class IlluminationRPCAResult(NamedTuple):
    """Result of :func:`illumination_robust_pca`: ``low_rank + sparse + basis @ coefficients``
    reconstructs the input; ``info`` reports the relative constraint residual."""

    low_rank: Array
    sparse: Array
    coefficients: Array
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("maxiter",))
def _illumination_rpca(m, g, weights, lam, rho, tol, *, maxiter):
    lam = jnp.asarray(1.0 / math.sqrt(max(m.shape)) if lam is None else lam, m.dtype)
    norm2 = jnp.linalg.norm(m, 2)
    norm2 = jnp.where(norm2 > 0, norm2, 1.0)
    y0 = m / jnp.maximum(norm2, jnp.max(jnp.abs(m)) / lam)
    mu0 = 1.25 / norm2
    mu_max = mu0 * 1e7
    norm_m_sq = jnp.sum(m * m)

    def step(state, params):
        # scaled dual w = Y / mu (well conditioned as mu grows)
        low, sparse, theta, w, mu = state
        m, g, weights, lam = params
        low = gram_svt(m - sparse - g @ theta + w, 1.0, 1.0 / mu)  # robust_pca's SVT
        theta = g.T @ (m - low - sparse + w)
        sparse = prox_l1(m - low - g @ theta + w, lam * weights, 1.0 / mu)
        residual = m - low - sparse - g @ theta
        mu_next = jnp.minimum(rho * mu, mu_max)
        w = (w + residual) * (mu / mu_next)
        return (low, sparse, theta, w, mu_next), relative(jnp.sum(residual**2), norm_m_sq)

    zeros = jnp.zeros_like(m)
    state0 = (zeros, zeros, g.T @ m, y0 / mu0, mu0)
    (low, sparse, theta, _, _), info = iterate(
        step,
        state0,
        (m, g, weights, lam),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        criterion="value",
    )
    return IlluminationRPCAResult(low, sparse, theta, info)


def illumination_robust_pca(
    m: Float[Array, "d t"],
    basis: Float[Array, "d q"],
    *,
    weights: Float[Array, "d t"] | None = None,
    lam: float | None = None,
    rho: float = 1.15,
    tol: float = 1e-6,
    maxiter: int = 500,
) -> IlluminationRPCAResult:
    r"""Low rank + sparse + illumination: robust PCA with a known subspace for illumination.

    .. math:: \min_{L, S, \Theta} \|L\|_* + \lambda \|W \odot S\|_1
       \quad \text{s.t.} \quad M = L + S + G \Theta

    The columns of ``M`` are frames; ``G`` (orthonormal columns, e.g. low-frequency 2-D DCT
    images) spans smooth spatial fields whose per-frame coefficients ``Θ`` absorb global and
    slowly varying illumination, and the weights ``W`` lower the sparsity penalty where a
    prior says objects move (in the spirit of Shakeri & Zhang, CVPR 2019). Inexact ALM
    (Lin, Chen & Ma 2010) with the schedule of :func:`lrjax.robust_pca`: singular value
    thresholding for ``L``, least squares for ``Θ``, soft thresholding for ``S``.

    Args:
        m: data ``(d, t)``, one frame per column.
        basis: ``(d, q)`` with orthonormal columns (``G^T G = I``; not checked under ``jit``).
        weights: non-negative ``(d, t)`` weights of the ``l1`` term (default all ones).
        lam: weight of the sparse term; default ``1/sqrt(max(d, t))``.
        rho: growth factor of the penalty, at least 1 (1.15 as :func:`lrjax.robust_pca`, whose
            docstring says why not Lin et al.'s 1.5).
        tol: tolerance on ``‖M − L − S − GΘ‖_F / ‖M‖_F``.
        maxiter: maximum iterations (static).

    Returns:
        ``IlluminationRPCAResult(low_rank, sparse, coefficients, info)``; the background is
        ``low_rank + basis @ coefficients``. Differentiable (reverse mode through the
        iterations).

    Raises:
        ValueError: for non-matrix or mismatched inputs, NaN/inf in an eager call, negative
            weights, or bad options.

    Examples:
        >>> import jax.numpy as jnp
        >>> m = jnp.outer(jnp.linspace(1, 2, 30), jnp.ones(20)) + 0.5  # static scene, lit
        >>> g = jnp.ones((30, 1)) / jnp.sqrt(30.0)  # one flat illumination field
        >>> r = illumination_robust_pca(m, g)
        >>> bool(r.info.converged), bool(jnp.abs(r.sparse).max() < 1e-3)
        (True, True)

    References:
        M. Shakeri, H. Zhang, "Moving object detection under discontinuous change in
        illumination using tensor low-rank and invariant sparse decomposition", CVPR 2019.
        Z. Lin, M. Chen, Y. Ma, "The augmented Lagrange multiplier method for exact recovery
        of corrupted low-rank matrices", arXiv:1009.5055, 2010.
    """
    m = _checks.as_array("m", m, ndim=2)
    basis = _checks.as_array("basis", basis, ndim=2)
    if basis.shape[0] != m.shape[0]:
        raise ValueError(
            f"`basis` must have {m.shape[0]} rows (one per row of `m`), got shape {basis.shape}."
        )
    if weights is None:
        weights = jnp.ones_like(m)
    weights = _checks.as_array("weights", weights, ndim=2)
    if weights.shape != m.shape:
        raise ValueError(f"`weights` must have the shape of `m` {m.shape}, got {weights.shape}.")
    if _checks.is_concrete(weights) and bool(_checks.concrete_value(jnp.any, weights < 0)):
        raise ValueError("`weights` must be non-negative, got a negative entry.")
    lam = _checks.positive("lam", lam)
    _checks.scalar("rho", rho, lambda v: v >= 1, "at least 1 (the penalty must not shrink)")
    tol = _checks.tolerance(tol)
    maxiter = _checks.positive_int("maxiter", maxiter)
    dtype = jnp.result_type(m, basis, weights)
    return _illumination_rpca(
        m.astype(dtype),
        basis.astype(dtype),
        weights.astype(dtype),
        lam,
        jnp.asarray(rho, dtype),
        tol,
        maxiter=maxiter,
    )


class StructuredCodingResult(NamedTuple):
    """Result of :func:`structured_error_coding`: ``dictionary @ code + low_rank_error +
    sparse_error`` reconstructs the signal; ``info`` is the last reweighting round's."""

    code: Array
    low_rank_error: Array
    sparse_error: Array
    info: SolverInfo


@functools.partial(jax.jit, static_argnames=("shape", "maxiter", "rounds", "eps"))
def _structured_coding(a, y, lam_sparse, tau, ridge, mu, tol, *, shape, maxiter, rounds, eps):
    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    solve = a.T @ jnp.linalg.inv(a @ a.T + ridge * eye)
    norm_y_sq = jnp.sum(y * y)

    def step(state, params):
        x, el, es, u = state
        y, w = params
        x = solve @ (y - el - es + u / mu)
        el = gram_svt((y - a @ x - es + u / mu).reshape(shape), tau / mu).ravel()
        es = prox_l1(y - a @ x - el + u / mu, lam_sparse * w / mu)
        r = y - a @ x - el - es
        return (x, el, es, u + mu * r), relative(jnp.sum(r * r), norm_y_sq)

    z = jnp.zeros_like(y)
    w = jnp.ones_like(y)
    state = info = None
    for _ in range(rounds):  # reweighted l1 (rounds is small and static)
        state, info = iterate(
            step,
            (jnp.zeros(a.shape[1], a.dtype), z, z, z),
            (y, w),
            maxiter=maxiter,
            tol=tol,
            diff="unroll",
            criterion="value",
        )
        w = 1.0 / (jnp.abs(state[2]) + eps * jnp.mean(jnp.abs(y)))
        w = jax.lax.stop_gradient(w / jnp.mean(w))
    x, el, es, _ = state
    return StructuredCodingResult(x, el, es, info)


def structured_error_coding(
    dictionary: Float[Array, "d n"],
    y: Float[Array, " d"],
    *,
    shape: tuple[int, int],
    lam_sparse: float,
    tau: float,
    ridge: float,
    mu: float,
    maxiter: int = 100,
    rounds: int = 2,
    tol: float = 0.0,
    eps: float = 0.1,
) -> StructuredCodingResult:
    r"""Code a signal over a dictionary with a low-rank + sparse error (robust face coding).

    .. math:: \min_{x, e_L, e_S} \tfrac{\mu\,\text{ridge}}{2}\|x\|^2
       + \lambda_s \|w \odot e_S\|_1 + \tau \|\operatorname{mat}(e_L)\|_*
       \quad \text{s.t.} \quad y = A x + e_L + e_S

    The nuclear norm of the error *image* ``mat(e_L)`` (``shape``) captures contiguous
    occlusion (as in nuclear-norm matrix regression, Yang et al., TPAMI 2017), the
    reweighted ``l1`` term (Candès, Wakin & Boyd 2008: ``w ← 1/(|e_S| + ε mean|y|)``,
    normalised to mean one, ``rounds`` rounds) pixel corruption; the ridge penalty on the
    code (collaborative representation, Zhang, Yang & Feng, ICCV 2011) makes every ADMM step
    exact: the ``x`` step is one multiplication by the precomputed
    ``A^T (A A^T + ridge I)^{-1}``, then SVT for ``e_L``, soft thresholding for ``e_S``.
    Classify with :func:`class_residuals` on ``y − e_L − e_S``.

    Args:
        dictionary: ``(d, n)`` atoms as columns (e.g. unit-norm training images).
        y: signal ``(d,)``, ``d = shape[0] * shape[1]``; ``vmap`` over a batch of them.
        shape: the image shape of the error (static).
        lam_sparse, tau, ridge, mu: weights of the sparse and nuclear terms, the ridge, and
            the ADMM penalty (all positive, traced).
        maxiter: ADMM iterations per round (static).
        rounds: reweighting rounds, at least 1 (static).
        tol: stop a round when the relative constraint residual is below ``tol``; 0 runs
            every iteration.
        eps: reweighting floor, relative to ``mean|y|`` (static).

    Returns:
        ``StructuredCodingResult(code, low_rank_error, sparse_error, info)``.

    Raises:
        ValueError: for mismatched shapes, NaN/inf in an eager call, or bad options.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> a = jax.random.normal(jax.random.key(0), (64, 10))
        >>> a = a / jnp.linalg.norm(a, axis=0)
        >>> y = a[:, 3].at[5].add(2.0)  # atom 3 and one corrupted pixel
        >>> r = structured_error_coding(a, y, shape=(8, 8), lam_sparse=0.1, tau=1.0,
        ...                             ridge=0.01, mu=1.0, maxiter=200)
        >>> int(jnp.argmax(jnp.abs(r.code))), int(jnp.argmax(jnp.abs(r.sparse_error)))
        (3, 5)

    References:
        J. Yang, L. Luo, J. Qian, Y. Tai, F. Zhang, Y. Xu, "Nuclear norm based matrix
        regression with applications to face recognition with occlusion and illumination
        changes", IEEE TPAMI 39(1), 2017.
    """
    a, y, shape = coding_args(dictionary, y, shape)
    for name, v in (("lam_sparse", lam_sparse), ("tau", tau), ("ridge", ridge), ("mu", mu)):
        _checks.positive(name, v)
    tol = _checks.tolerance(tol)
    eps = float(_checks.positive("eps", eps))
    dtype = jnp.result_type(a, y)
    return _structured_coding(
        a.astype(dtype),
        y.astype(dtype),
        *(jnp.asarray(v, dtype) for v in (lam_sparse, tau, ridge, mu)),
        tol,
        shape=shape,
        maxiter=_checks.positive_int("maxiter", maxiter),
        rounds=_checks.positive_int("rounds", rounds),
        eps=eps,
    )


def class_residuals(
    y: Float[Array, " d"],
    dictionary: Float[Array, "d n"],
    code: Float[Array, " n"],
    labels: Int[Array, " n"],
    n_classes: int,
) -> Float[Array, " n_classes"]:
    """``‖y − A δ_c(x)‖`` for every class ``c``: the residual of the signal against the part of
    the code on that class's atoms (sparse-representation classification assigns the class
    with the smallest one; Wright et al., TPAMI 2009).

    Args:
        y: signal ``(d,)``; dictionary: ``(d, n)``; code: ``(n,)``.
        labels: class of each atom, integers in ``[0, n_classes)``.
        n_classes: number of classes (static).

    Returns:
        ``(n_classes,)`` residual norms.

    Raises:
        ValueError: for mismatched shapes or non-integer labels.

    Examples:
        >>> import jax.numpy as jnp
        >>> a = jnp.eye(3)
        >>> class_residuals(jnp.array([0.0, 1.0, 0.0]), a, jnp.array([0.0, 1.0, 0.0]),
        ...                 jnp.array([0, 1, 1]), 2).tolist()
        [1.0, 0.0]
    """
    a = _checks.as_array("dictionary", dictionary, ndim=2, check_finite=False)
    y = _checks.as_array("y", y, ndim=1, check_finite=False)
    code = _checks.as_array("code", code, ndim=1, check_finite=False)
    labels = jnp.asarray(labels)
    n_classes = _checks.positive_int("n_classes", n_classes)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"`labels` must be integers, got dtype {labels.dtype}.")
    if y.shape[0] != a.shape[0] or code.shape[0] != a.shape[1] or labels.shape != code.shape:
        raise ValueError(
            f"shapes must agree: `y` {y.shape}, `dictionary` {a.shape}, `code` {code.shape}, "
            f"`labels` {labels.shape}."
        )
    onehot = jax.nn.one_hot(labels, n_classes, dtype=a.dtype)  # (n, C)
    recon = a @ (code[:, None] * onehot)  # (d, C)
    return jnp.linalg.norm(y[:, None] - recon, axis=0)
