"""Spectral functions with finite derivatives at repeated and zero singular values, and SVDs
that never see non-finite data (issue 26, items 1 and 9)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax import prox
from lrjax.linalg import singular_value_map

pytestmark = pytest.mark.timeout(300, method="thread")
RNG = np.random.default_rng(0)


def _fd(f, x, v, h=1e-6):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def _with_spectrum(m, n, s):
    u = np.linalg.qr(RNG.standard_normal((m, len(s))))[0]
    v = np.linalg.qr(RNG.standard_normal((n, len(s))))[0]
    return jnp.asarray(u @ np.diag(s) @ v.T)


SPECTRA = {
    "repeated": [2.0, 2.0, 1.0, 0.5],
    "repeated_and_zero": [3.0, 1.0, 1.0, 0.0],
    "rank_one": [2.0, 0.0, 0.0, 0.0],
}
PROXES = {
    "svt": lambda x: prox.prox_nuclear(x, 0.3),
    "weighted": lambda x: prox.prox_weighted_nuclear(x, jnp.array([0.1, 0.2, 0.3, 0.4])),
    "mcp": lambda x: prox.generalized_svt(x, (0.3, 3.0), prox_fn=prox.prox_mcp),
    "log_sum": lambda x: prox.generalized_svt(x, (0.2, 0.5), prox_fn=prox.prox_log_sum),
}


@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
@pytest.mark.parametrize("spectrum", SPECTRA)
@pytest.mark.parametrize("name", PROXES)
def test_spectral_prox_gradient_at_repeated_and_zero_singular_values(name, spectrum, shape):
    if name == "weighted" and spectrum != "rank_one":
        pytest.skip("different weights on one repeated nonzero singular value: not differentiable")
    x = _with_spectrum(*shape, SPECTRA[spectrum])
    t = jnp.asarray(RNG.standard_normal(shape))
    f = lambda x: jnp.sum(PROXES[name](x) * t)
    g = jax.grad(f)(x)
    assert np.all(np.isfinite(np.asarray(g)))
    for seed in range(2):
        v = jnp.asarray(np.random.default_rng(seed).standard_normal(shape))
        np.testing.assert_allclose(float(jnp.sum(g * v)), float(_fd(f, x, v)), rtol=1e-6, atol=1e-8)


def test_matches_svd_autodiff_on_distinct_singular_values():
    x = jnp.asarray(RNG.standard_normal((5, 3)))

    def reference(x):
        u, s, vt = jnp.linalg.svd(x, full_matrices=False)
        return jnp.sum(((u * jnp.maximum(s - 0.3, 0.0)) @ vt) ** 2)

    g = jax.grad(lambda x: jnp.sum(prox.prox_nuclear(x, 0.3) ** 2))(x)
    np.testing.assert_allclose(g, jax.grad(reference)(x), atol=1e-12)
    # the derivative with respect to the threshold too
    f = lambda r: jnp.sum(prox.prox_nuclear(x, r) ** 2)
    np.testing.assert_allclose(jax.grad(f)(0.3), _fd(f, 0.3, 1.0), rtol=1e-6)


def test_complex_slices_of_the_tensor_nuclear_prox():
    for x in (
        jnp.asarray(RNG.standard_normal((4, 5, 3))),
        jnp.einsum("i,j,k->ijk", *(jnp.asarray(RNG.standard_normal(n)) for n in (4, 5, 3))),
    ):
        t = jnp.asarray(RNG.standard_normal(x.shape))
        f = lambda x, t=t: jnp.sum(prox.prox_tensor_nuclear(x, 0.3) * t)
        g = jax.grad(f)(x)
        v = jnp.asarray(RNG.standard_normal(x.shape))
        np.testing.assert_allclose(float(jnp.sum(g * v)), float(_fd(f, x, v)), rtol=1e-6)


def test_singular_value_map_batches_and_jits():
    x = jnp.asarray(RNG.standard_normal((3, 5, 4)))
    fn = lambda s, p: s**2 * p
    out = jax.jit(lambda x: singular_value_map(x, fn, 2.0))(x)
    for i in range(3):
        u, s, vt = np.linalg.svd(np.asarray(x[i]), full_matrices=False)
        np.testing.assert_allclose(out[i], (u * 2 * s**2) @ vt, atol=1e-12)


def test_robust_pca_gradient_on_exact_low_rank_plus_sparse():
    """The issue's reproducer: all-NaN gradients before; now finite and equal to a finite
    difference (taken with a small step: the map is piecewise smooth)."""
    rng = np.random.default_rng(0)
    d = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 30))
    d += (rng.random((30, 30)) < 0.05) * rng.standard_normal((30, 30)) * 5
    t = jnp.asarray(rng.standard_normal((30, 30)))
    d = jnp.asarray(d)
    g = jax.grad(lambda d: jnp.sum(lrjax.robust_pca(d).low_rank * t))(d)
    assert np.all(np.isfinite(np.asarray(g)))
    f = lambda d: jnp.sum(lrjax.robust_pca(d, maxiter=30, tol=0.0).low_rank * t)
    g = jax.grad(f)(d)
    v = jnp.asarray(np.random.default_rng(10).standard_normal(d.shape))
    np.testing.assert_allclose(float(jnp.sum(g * v)), float(_fd(f, d, v, h=1e-7)), rtol=1e-5)


def test_non_finite_input_gives_nan_and_does_not_hang():
    """A complex64 SVD with an infinite entry never returned (LAPACK); the guard never calls
    it on such data. The per-test timeout turns a hang into a failure."""
    x = (RNG.standard_normal((3, 4, 5)) + 1j * RNG.standard_normal((3, 4, 5))).astype(np.complex64)
    x[0, 1, 2] = np.inf
    out = singular_value_map(jnp.asarray(x), lambda s, p: s, None)
    assert np.all(np.isnan(np.asarray(out[0]))) and np.all(np.isfinite(np.asarray(out[1:])))
    y = RNG.standard_normal((4, 5, 3)).astype(np.float32)
    y[1, 2, 0] = np.inf
    assert np.all(np.isnan(np.asarray(jax.jit(prox.prox_tensor_nuclear)(y, 0.1))))
    res = jax.jit(functools.partial(lrjax.tensor_robust_pca, maxiter=5))(jnp.asarray(y))
    assert not bool(res.info.converged) and not np.isfinite(float(res.info.error))


def _svt_reference(x, t):
    u, s, vt = np.linalg.svd(np.asarray(x), full_matrices=False)
    return (u * np.maximum(s - t, 0.0)) @ vt


_SOFT = lambda s, t: jnp.maximum(s - t, 0.0)


@pytest.mark.parametrize("shape", [(40, 40), (60, 30), (30, 60), (7, 1), (1, 7)])
@pytest.mark.parametrize("kind", ["full_rank", "rank3_plus_noise", "spread"])
@pytest.mark.parametrize("scale", [1.0, 1e-150, 1e150])
def test_gram_svt_equals_the_svd_one(shape, kind, scale):
    """Robust PCA's default step: SVT through the Gram eigendecomposition equals the SVD's to
    the stated accuracy, ``min(eps ||X|| / tau, tau / ||X||)`` relative, for thresholds from
    half the norm down to zero, at extreme scales (no overflow in the Gram matrix), tall and
    wide."""
    from lrjax.linalg._spectral import gram_singular_value_map

    rng = np.random.default_rng(1)
    m, n = shape
    if kind == "full_rank":
        x = rng.standard_normal(shape)
    elif kind == "spread":  # singular values 1 ... 1e-16: some at every threshold
        k = min(shape)
        u = np.linalg.qr(rng.standard_normal((m, k)))[0]
        v = np.linalg.qr(rng.standard_normal((n, k)))[0]
        x = (u * np.logspace(0, -16, k)) @ v.T
    else:
        x = rng.standard_normal((m, 3)) @ rng.standard_normal((3, n))
        x = x + 1e-6 * rng.standard_normal(shape)
    x = x * scale
    norm = np.linalg.norm(x / scale, 2) * scale
    for rel in (0.5, 1e-2, 1e-5, 1e-7, 1e-8, 1e-9, 1e-11, 0.0):
        out = np.asarray(gram_singular_value_map(jnp.asarray(x), _SOFT, rel * norm))
        ref = _svt_reference(x / scale, rel * norm / scale) * scale
        err = np.linalg.norm((out - ref) / scale) / max(np.linalg.norm(ref / scale), 1e-300)
        bound = 1e-13 + 10 * (min(np.finfo(float).eps / rel, rel) if rel else 0.0)
        assert err < bound, (rel, err)


def test_gram_svt_complex_zero_nan_batch_and_float32():
    from lrjax.linalg._spectral import gram_singular_value_map

    rng = np.random.default_rng(2)
    c = rng.standard_normal((3, 20, 30)) + 1j * rng.standard_normal((3, 20, 30))
    out = jax.jit(lambda c: gram_singular_value_map(c, _SOFT, 1.0))(jnp.asarray(c))
    for i in range(3):
        np.testing.assert_allclose(out[i], _svt_reference(c[i], 1.0), atol=1e-12)
    assert float(jnp.abs(gram_singular_value_map(jnp.zeros((4, 3)), _SOFT, 0.1)).max()) == 0.0
    bad = jnp.array([[1.0, jnp.nan], [0.0, 1.0]])
    assert np.all(np.isnan(np.asarray(gram_singular_value_map(bad, _SOFT, 0.1))))
    # float32 takes the SVD (the Gram matrix would lose directions below 3e-4 of the norm)
    x = rng.standard_normal((30, 20)).astype(np.float32)
    out = gram_singular_value_map(jnp.asarray(x), _SOFT, 0.5)
    np.testing.assert_allclose(out, _svt_reference(x.astype(np.float64), 0.5), atol=2e-5)
    v = jax.vmap(lambda z: gram_singular_value_map(z, _SOFT, 1.0))(jnp.asarray(c))
    np.testing.assert_allclose(v, np.stack([_svt_reference(z, 1.0) for z in c]), atol=1e-12)


def test_gram_svt_derivative_is_the_svd_ones():
    """JVP and gradient through the Gram path are :func:`singular_value_map`'s (finite at a
    repeated singular value) and match finite differences."""
    from lrjax.linalg._spectral import gram_singular_value_map

    x = _with_spectrum(6, 5, [2.0, 2.0, 1.0, 0.5, 0.1])
    t = jnp.asarray(RNG.standard_normal((6, 5)))
    f_gram = lambda x: jnp.sum(gram_singular_value_map(x, _SOFT, 0.3) * t)
    f_svd = lambda x: jnp.sum(singular_value_map(x, _SOFT, 0.3) * t)
    g = jax.grad(f_gram)(x)
    np.testing.assert_allclose(g, jax.grad(f_svd)(x), atol=1e-12)
    v = jnp.asarray(RNG.standard_normal((6, 5)))
    np.testing.assert_allclose(float(jnp.sum(g * v)), float(_fd(f_gram, x, v)), rtol=1e-6)
