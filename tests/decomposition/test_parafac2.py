import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac2 as tl_parafac2

import lrjax
from lrjax.testing import congruence
from tests.conftest import directional_fd

LENGTHS = (7, 8, 9, 10, 11, 12)


def planted(seed, rank=3, n_cols=10, noise=0.0):
    """Slices P_k B diag(a_k) C^T with orthonormal P_k and cross products B^T B with 0.4
    off the diagonal (the usual PARAFAC2 simulation)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, (len(LENGTHS), rank))
    c = rng.normal(size=(n_cols, rank))
    b = np.linalg.cholesky(0.6 * np.eye(rank) + 0.4).T
    xs = [
        np.linalg.qr(rng.normal(size=(n, rank)))[0] @ b @ np.diag(ak) @ c.T
        for n, ak in zip(LENGTHS, a, strict=True)
    ]
    xs = [x + noise * rng.normal(size=x.shape) for x in xs]
    return xs, a, b, c


@pytest.mark.parametrize("seed", [0, 5])
def test_recovers_planted_parafac2(seed):
    xs, a, b, c = planted(seed)
    res = lrjax.parafac2(xs, 3, maxiter=2000, tol=1e-15)
    pf2 = res.parafac2
    recon = pf2.to_slices(LENGTHS)
    err = np.sqrt(sum(np.sum((x - r) ** 2) for x, r in zip(xs, recon, strict=True)))
    assert err / np.sqrt(sum(np.sum(x**2) for x in xs)) < 1e-6
    assert float(res.info.error) < 1e-6
    a_hat, b_hat, c_hat = (np.asarray(f) for f in pf2.factors)
    assert congruence(a, a_hat).max(axis=0).min() > 0.999
    assert congruence(c, c_hat).max(axis=0).min() > 0.999
    # the shared cross products B^T B are recovered up to the components' scale and order
    phi, phi_hat = b.T @ b, b_hat.T @ b_hat
    d, d_hat = np.sqrt(np.diag(phi)), np.sqrt(np.diag(phi_hat))
    order = congruence(c, c_hat).argmax(axis=1)
    corr_hat = (phi_hat / np.outer(d_hat, d_hat))[np.ix_(order, order)]
    np.testing.assert_allclose(np.abs(corr_hat), phi / np.outer(d, d), atol=1e-6)
    for k, n in enumerate(LENGTHS):  # orthonormal projections, zero past each length
        p = np.asarray(pf2.projections[k])
        np.testing.assert_allclose(p[:n].T @ p[:n], np.eye(3), atol=1e-10)
        assert np.all(p[n:] == 0)


def test_noisy_fit_matches_tensorly():
    xs, *_ = planted(2, noise=0.1)
    res = lrjax.parafac2(xs, 3, maxiter=1000, tol=1e-13)
    tl_res = tl_parafac2(xs, 3, init="svd", n_iter_max=1000, tol=1e-13, random_state=0)
    recon = tl.parafac2_tensor.parafac2_to_slices(tl_res)
    num = sum(np.sum((x - r) ** 2) for x, r in zip(xs, recon, strict=True))
    tl_err = np.sqrt(num / sum(np.sum(x**2) for x in xs))
    assert float(res.info.error) <= tl_err * (1 + 1e-6)


def test_padded_array_equals_list_input():
    xs, *_ = planted(0)
    padded = np.zeros((len(xs), max(LENGTHS), 10))
    for k, x in enumerate(xs):
        padded[k, : x.shape[0]] = x
    padded_noise = padded.copy()
    padded_noise[0, LENGTHS[0] :] = 99.0  # rows past the length are ignored
    a = lrjax.parafac2(xs, 3, maxiter=50, tol=0.0)
    b = lrjax.parafac2(padded_noise, 3, lengths=jnp.array(LENGTHS), maxiter=50, tol=0.0)
    np.testing.assert_allclose(a.parafac2.to_dense(), b.parafac2.to_dense(), atol=1e-12)


def test_grad_implicit_and_unroll_agree_with_finite_differences():
    xs, *_ = planted(2, noise=0.1)
    lengths = np.array(LENGTHS)
    x = np.zeros((len(xs), max(LENGTHS), 10))
    for k, s in enumerate(xs):
        x[k, : s.shape[0]] = s
    rows = (np.arange(x.shape[1])[None, :] < lengths[:, None])[..., None]
    v = np.random.default_rng(0).normal(size=x.shape) * rows

    def loss(x, diff):
        res = lrjax.parafac2(x, 3, lengths=lengths, maxiter=600, tol=0.0, diff=diff)
        return jnp.sum(jnp.sin(res.parafac2.to_dense()))

    fd = directional_fd(lambda z: float(loss(z, "unroll")), x, v, h=1e-6)
    for diff in ("implicit", "unroll"):
        g = jax.jit(jax.grad(lambda z, d=diff: loss(z, d)))(jnp.asarray(x))
        np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5)


def test_bad_input():
    xs, *_ = planted(0)
    with pytest.raises(ValueError, match="columns"):
        lrjax.parafac2([xs[0], xs[1][:, :5]], 2)
    with pytest.raises(ValueError, match="lengths"):
        lrjax.parafac2(np.ones((3, 4, 5)), 2, lengths=jnp.array([4, 0, 4]))
    with pytest.raises(ValueError, match="lengths"):
        lrjax.parafac2(np.ones((3, 4, 5)), 2, lengths=jnp.array([4, 5, 4]))
    with pytest.raises(ValueError, match="rank"):
        lrjax.parafac2(xs, 0)
    with pytest.raises(ValueError, match="lengths"):
        lrjax.parafac2(np.ones((3, 4, 5)), 2, lengths=jnp.array([4, 4]))
    with pytest.raises(ValueError, match="key"):
        lrjax.parafac2(xs, 2, init="random")
    with pytest.raises(ValueError, match="finite"):
        lrjax.parafac2([np.full((4, 3), np.nan)], 1)


def test_slices_shorter_than_rank():
    """TensorLy's scenario of slices 10x6, 2x6 and 12x6 at rank 4: the 2-row slice's
    projection has orthonormal rows, and a planted model of that shape is recovered (issue 26:
    such slices were rejected)."""
    rng = np.random.default_rng(0)
    a, b, c = (
        rng.uniform(0.5, 1.5, (3, 4)),
        rng.standard_normal((4, 4)),
        rng.standard_normal((6, 4)),
    )
    xs = []
    for k, n in enumerate((10, 2, 12)):
        if n >= 4:
            p = np.linalg.qr(rng.standard_normal((n, 4)))[0]
        else:
            p = np.linalg.qr(rng.standard_normal((4, n)))[0].T  # orthonormal rows
        xs.append(p @ b @ np.diag(a[k]) @ c.T)
    res = lrjax.parafac2(xs, 4, maxiter=3000, tol=1e-14)
    assert float(res.info.error) < 1e-5
    p = np.asarray(res.parafac2.projections)
    np.testing.assert_allclose(p[1, :2] @ p[1, :2].T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(p[1, 2:], 0.0)
    for k, n in ((0, 10), (2, 12)):
        np.testing.assert_allclose(p[k, :n].T @ p[k, :n], np.eye(4), atol=1e-12)
    # on noisy data it fits at least as well as TensorLy's parafac2 (same init, many sweeps)
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import parafac2 as tl_parafac2

    noisy = [x + 0.01 * rng.standard_normal(x.shape) for x in xs]
    ours = lrjax.parafac2(noisy, 4, maxiter=500, tol=1e-14)
    _, errors = tl_parafac2(
        [tl.tensor(x) for x in noisy], 4, n_iter_max=500, tol=1e-14, init="svd",
        random_state=0, return_errors=True,
    )  # fmt: skip
    assert float(ours.info.error) <= errors[-1] * 1.0001
