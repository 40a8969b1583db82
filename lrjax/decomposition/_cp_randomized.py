"""CP decomposition by randomized ALS: least squares on sampled rows of the Khatri-Rao product."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks, _random
from .._numeric import relative
from ..solvers._loop import iterate
from ._common import canonical_cp, cp_relative_error, init_factors, scale_into_last
from ._cp import CPResult

__all__ = ["cp_randomized"]

_N_FIT = 16384  # entries of the per-sweep error estimate (TensorLy's n_samples_fit)


def _sampled_update(x, factors, mode, key, n_samples, leverage):
    """Mode ``mode``'s factor from ``n_samples`` drawn rows of the Khatri-Rao product of the
    other factors and the matching fibres of ``x`` (least squares). Rows are drawn uniformly
    or, with ``leverage``, from the product of the factors' leverage scores and reweighted by
    ``1 / sqrt(S p)`` (Larsen & Kolda 2022), which needs fewer rows for the same accuracy."""
    others = [m for m in range(x.ndim) if m != mode]
    keys = jax.random.split(key, len(others))
    idx, weights = [], jnp.ones((n_samples,), x.dtype)
    for k, m in zip(keys, others, strict=True):
        if leverage:
            q = jnp.linalg.qr(factors[m])[0]
            p = jnp.sum(q * q, axis=1)
            p = p / jnp.sum(p)
            i = jax.random.choice(k, x.shape[m], (n_samples,), p=p)
            weights = weights * p[i] * x.shape[m]  # relative to uniform: p / (1 / I_m)
        else:
            i = jax.random.randint(k, (n_samples,), 0, x.shape[m])
        idx.append(i)
    scale = (1.0 / jnp.sqrt(weights))[:, None]
    rows = [factors[m][i] for m, i in zip(others, idx, strict=True)]
    kr = functools.reduce(lambda a, b: a * b, rows) * scale
    fibres = jnp.moveaxis(x, mode, -1)[tuple(idx)] * scale  # (n_samples, I_mode)
    # least squares, not the normal equations: a sampled product can be rank deficient
    return jnp.linalg.lstsq(kr, fibres)[0].T


@functools.partial(jax.jit, static_argnames=("rank", "n_samples", "init", "maxiter", "sampling"))
def _cp_randomized(x, key, tol, *, rank, n_samples, init, maxiter, sampling):
    k_init, k_run, k_fit = jax.random.split(key, 3)
    if init == "random":  # uniform [0, 1) factors, TensorLy's random start
        keys = jax.random.split(k_init, x.ndim)
        factors0 = tuple(
            _random.uniform(k, (size, rank), x.dtype) for k, size in zip(keys, x.shape, strict=True)
        )
    else:
        factors0 = init_factors(x, k_init, rank, init)
    norm_sq = jnp.sum(x * x)
    # the error each sweep reports is estimated on fixed random entries (a pass over x per
    # sweep would cost what the sampling saves); the final error is over every entry
    if x.size <= _N_FIT:  # every entry: the exact error
        fit_idx = tuple(jnp.asarray(a.ravel()) for a in np.indices(x.shape))
    else:
        fit_idx = tuple(
            jax.random.randint(k, (_N_FIT,), 0, size)
            for k, size in zip(jax.random.split(k_fit, x.ndim), x.shape, strict=True)
        )
    fit_values = x[fit_idx]
    fit_scale = x.size / fit_values.size

    def sweep(state, data):
        factors, key_bits = state  # the key as its raw bits: iterate's state is numeric
        x, norm_sq, fit_idx, fit_values = data  # traced inputs travel as data, not closures
        key, *keys = jax.random.split(jax.random.wrap_key_data(key_bits), x.ndim + 1)
        factors = list(factors)
        for n in range(x.ndim):
            factors[n] = _sampled_update(x, factors, n, keys[n], n_samples, sampling == "leverage")
        rows = functools.reduce(
            lambda a, b: a * b, [f[i] for f, i in zip(factors, fit_idx, strict=True)]
        )
        resid = fit_values - jnp.sum(rows, axis=1)
        return (tuple(factors), jax.random.key_data(key)), relative(
            fit_scale * jnp.sum(resid * resid), norm_sq
        )

    (factors, _), info = iterate(
        sweep,
        (factors0, jax.random.key_data(k_run)),
        (x, norm_sq, fit_idx, fit_values),
        maxiter=maxiter,
        tol=tol,
        diff="unroll",
        watch=lambda s: s[0],
    )
    cp = canonical_cp(scale_into_last(factors))
    error = cp_relative_error(x, cp, norm_sq)
    info = info._replace(error=error, converged=info.converged & jnp.isfinite(error))
    return CPResult(cp, info)


def cp_randomized(
    x: Float[Array, "*dims"],
    rank: int,
    *,
    n_samples: int,
    key: Array,
    init: str = "random",
    sampling: str = "leverage",
    maxiter: int = 100,
    tol: float | Array = 1e-8,
) -> CPResult:
    r"""CP decomposition by randomized ALS (Battaglino, Ballard & Kolda 2018).

    ALS solves, for each mode, :math:`A_n = \arg\min \|X_{(n)} - A_n (\odot_{m \ne n}
    A_m)^\top\|_F` with a Khatri-Rao product of ``Π_{m≠n} I_m`` rows. Here each solve uses
    only ``n_samples`` rows (drawn with replacement) and the matching fibres of ``X``, so a
    sweep costs ``O(n_samples Σ_n I_n R)`` instead of ``O(|X| R)``: for large, low-rank
    tensors it reaches a good fit in less time than full ALS. Rows are drawn from the product
    of the factors' leverage scores (``sampling="leverage"``, the default, as in TensorLy's
    ``randomised_parafac``; Larsen & Kolda 2022) or uniformly (``"uniform"``, Battaglino et
    al.). The error ``info.history`` reports per sweep is estimated on 16,384 fixed random
    entries (exact for tensors with fewer entries), as TensorLy does; the run stops when it
    changes by at most ``tol`` or after ``maxiter`` sweeps, and ``info.error`` is over every
    entry (as in :func:`cp_als`: to about 1e-6 of itself or better). Each
    sweep draws new samples from ``key``.

    Args:
        x: tensor with ``N >= 2`` modes.
        rank: number of components ``R`` (static).
        n_samples: sampled rows per least-squares solve (static), at least ``rank``; a few
            times ``R log R`` is the usual choice.
        key: PRNG key of the start and of the samples.
        init: ``"random"`` (default: uniform ``[0, 1)`` factors, TensorLy's random start) or
            ``"svd"`` (leading singular vectors of the unfoldings).
        sampling: ``"leverage"`` (default) or ``"uniform"``.
        maxiter: maximum number of sweeps (static).
        tol: stopping tolerance on the change of the relative error (traced).

    Returns:
        ``CPResult(cp, info)`` with unit-norm factor columns and the scale in
        ``cp.weights``; ``info.error`` is the relative error over every entry.
        Differentiable (sweeps unrolled; the sampling itself is not differentiated).

    Raises:
        ValueError: for fewer than 2 modes, NaN/inf in an eager call, ``n_samples < rank``,
            or bad options.

    Examples:
        >>> import jax
        >>> from lrjax.testing import random_cp
        >>> x = random_cp(jax.random.key(0), (12, 11, 10), 3).to_dense()
        >>> res = cp_randomized(x, 3, n_samples=60, key=jax.random.key(1), maxiter=60)
        >>> bool(res.info.error < 1e-6)
        True

    References:
        C. Battaglino, G. Ballard, T. G. Kolda, "A practical randomized CP tensor
        decomposition", SIAM J. Matrix Anal. Appl. 39(2), 2018. B. W. Larsen, T. G. Kolda,
        "Practical leverage-based sampling for low-rank tensor decomposition", SIAM J. Matrix
        Anal. Appl. 43(3), 2022. TensorLy's ``randomised_parafac``.
    """
    x = _checks.as_array("x", x, min_ndim=2)
    rank = _checks.positive_int("rank", rank)
    n_samples = _checks.positive_int("n_samples", n_samples)
    if n_samples < rank:
        raise ValueError(
            f"`n_samples` must be at least `rank` = {rank} (each sampled least-squares problem "
            f"would be underdetermined), got {n_samples}."
        )
    key = _checks.prng_key("key", key)
    init = _checks.choice("init", init, ("random", "svd"))
    sampling = _checks.choice("sampling", sampling, ("leverage", "uniform"))
    maxiter = _checks.positive_int("maxiter", maxiter)
    tol = _checks.tolerance(tol)
    return _cp_randomized(
        x, key, tol, rank=rank, n_samples=n_samples, init=init, maxiter=maxiter, sampling=sampling
    )
