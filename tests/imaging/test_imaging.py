"""lrjax.imaging against oracles: brute-force block matching, planted background and face
problems, the exact HOSVD, finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import imaging
from lrjax.metrics import f_measure, psnr


def _smooth_image(n=32, c=1, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    base = 0.5 + 0.3 * np.sin(2 * np.pi * yy) * np.cos(3 * np.pi * xx)
    return np.stack([base * (1 + 0.1 * rng.standard_normal()) for _ in range(c)], -1)


def test_patch_grid_covers_the_axis():
    assert imaging.patch_grid(14, 3, 4).tolist() == [0, 4, 8, 11]
    assert imaging.patch_grid(5, 5, 2).tolist() == [0]
    with pytest.raises(ValueError, match="`patch` must be at most the axis length 5, got 6"):
        imaging.patch_grid(5, 6, 1)


def test_extract_and_aggregate_are_inverse_and_average_overlaps():
    rng = np.random.default_rng(0)
    img = rng.random((7, 6, 2))
    pats = np.asarray(imaging.extract_patches(img, 3))
    assert pats.shape == (5, 4, 9, 2)
    np.testing.assert_array_equal(pats[2, 1, 4], img[3, 2])  # centre of the patch at (2, 1)
    idx = jnp.arange(20).reshape(20, 1)
    back = imaging.aggregate_patches(pats.reshape(20, 1, 9, 2), idx, np.zeros_like(img), patch=3)
    np.testing.assert_allclose(back, img, atol=1e-12)
    # one patch of ones on zeros: covered pixels average to 1, the rest keep `fill`
    fill = np.full((7, 6), -1.0)
    one = imaging.aggregate_patches(np.ones((1, 1, 9, 1)), jnp.array([[0]]), fill, patch=3)
    assert np.asarray(one).shape == (7, 6)
    assert np.all(np.asarray(one)[:3, :3] == 1) and np.all(np.asarray(one)[3:] == -1)


def test_block_matching_finds_the_nearest_patches():
    rng = np.random.default_rng(0)
    img = rng.random((14, 13, 1))
    p, stride, window, k = 3, 4, 2, 5
    idx = np.asarray(imaging.block_match(img, patch=p, stride=stride, window=window, k=k))
    feats = np.asarray(imaging.extract_patches(img, p)).reshape(12, 11, -1)
    refs = [(y, x) for y in (0, 4, 8, 11) for x in (0, 4, 8, 10)]  # grid + last row/col
    assert idx.shape == (len(refs), k)
    for (ry, rx), got in zip(refs, idx, strict=True):
        assert got[0] == ry * 11 + rx  # the reference comes first
        cy = min(max(ry, window), 12 - 1 - window)  # windows shifted inside the border
        cx = min(max(rx, window), 11 - 1 - window)
        cands = [
            (y, x)
            for y in range(cy - window, cy + window + 1)
            for x in range(cx - window, cx + window + 1)
        ]
        d = sorted(np.sum((feats[y, x] - feats[ry, rx]) ** 2) for y, x in cands)
        got_d = sorted(np.sum((feats[i // 11, i % 11] - feats[ry, rx]) ** 2) for i in got)
        np.testing.assert_allclose(got_d, d[:k], rtol=1e-12)


@pytest.mark.parametrize("prior", ["svt", "tucker", imaging.CPPrior(rank=3, maxiter=20)])
def test_group_denoise_is_the_identity_at_zero_noise_and_denoises(prior):
    clean = _smooth_image()
    x = jnp.asarray(clean)
    if not isinstance(prior, imaging.CPPrior):  # CP of rank 3 is not exact on a group
        same = imaging.group_denoise(x, x, 0.0, patch=4, stride=2, window=3, k=8, prior=prior)
        np.testing.assert_allclose(same, clean, atol=1e-9)
    noisy = clean + 0.1 * np.random.default_rng(1).standard_normal(clean.shape)
    y = jnp.asarray(noisy)
    out = imaging.group_denoise(
        y[..., 0], None, 0.1, patch=4, stride=2, window=3, k=16, prior=prior
    )
    assert out.shape == (32, 32)  # a 2-D image comes back 2-D
    assert float(psnr(clean[..., 0], out)) > float(psnr(clean[..., 0], noisy[..., 0])) + 3.0


def test_tucker_prior_is_hosvd_core_thresholding():
    """One group, compared with an HOSVD computed here from NumPy's SVD."""
    rng = np.random.default_rng(2)
    img = rng.random((4, 4))  # one 4 x 4 patch per group: window 0, k 1
    sigma, kappa = 0.05, 2.0
    out = imaging.group_denoise(
        img, None, sigma, patch=4, stride=4, window=0, k=1, prior=imaging.TuckerPrior(kappa)
    )
    # with K = 1 the group mean is the patch itself: the centred group is zero
    np.testing.assert_allclose(out, img, atol=1e-12)
    t = rng.random((3, 3, 5))
    t -= t.mean(axis=2, keepdims=True)
    us = [np.linalg.svd(np.moveaxis(t, n, 0).reshape(t.shape[n], -1))[0] for n in range(3)]
    core = np.einsum("abk,ai,bj,kl->ijl", t, *us)
    core[np.abs(core) <= kappa * sigma] = 0
    want = np.einsum("ijl,ai,bj,kl->abk", core, *us)
    from lrjax.imaging._group import _tucker_group  # the group step itself

    group = jnp.asarray((t + 0.5).transpose(2, 0, 1).reshape(5, 9))
    got = np.asarray(_tucker_group(group, sigma, kappa, 3)).reshape(5, 3, 3).transpose(1, 2, 0)
    np.testing.assert_allclose(got - 0.5, want, atol=1e-10)


def test_wnnm_prior_gradient_matches_finite_differences_and_jit_vmap():
    rng = np.random.default_rng(3)
    imgs = jnp.asarray(rng.random((2, 10, 9)))
    fn = lambda x, s: imaging.group_denoise(x, None, s, patch=3, stride=2, window=2, k=6)
    batched = jax.jit(jax.vmap(fn, (0, None)))(imgs, 0.1)
    np.testing.assert_allclose(batched[1], fn(imgs[1], 0.1), rtol=1e-10, atol=1e-12)
    loss = lambda x, s: jnp.sum(jnp.sin(fn(x, s)))
    gx, gs = jax.jit(jax.grad(loss, (0, 1)))(imgs[0], 0.1)
    v = jnp.asarray(rng.standard_normal((10, 9)))
    h = 1e-6
    fd = (loss(imgs[0] + h * v, 0.1) - loss(imgs[0] - h * v, 0.1)) / (2 * h)
    np.testing.assert_allclose(float(jnp.sum(gx * v)), float(fd), rtol=1e-5)
    fd_s = (loss(imgs[0], 0.1 + h) - loss(imgs[0], 0.1 - h)) / (2 * h)
    np.testing.assert_allclose(float(gs), float(fd_s), rtol=1e-5)


def test_group_denoise_rejects_bad_priors_and_shapes():
    img = np.random.default_rng(0).random((10, 10, 3))
    with pytest.raises(ValueError, match="prior 'tucker' needs a one-channel image, got 3"):
        imaging.group_denoise(img, None, 0.1, patch=3, stride=2, window=2, k=4, prior="tucker")
    with pytest.raises(ValueError, match="`prior` must be one of"):
        imaging.group_denoise(img, None, 0.1, patch=3, stride=2, window=2, k=4, prior="bm3d")
    with pytest.raises(ValueError, match=r"`guide` must have the height and width of `img`"):
        imaging.group_denoise(img, img[:5], 0.1, patch=3, stride=2, window=2, k=4)
    with pytest.raises(ValueError, match="group size `k`=30 exceeds the 25 patches"):
        imaging.group_denoise(img, None, 0.1, patch=3, stride=2, window=2, k=30)


def _planted_video(rng, t=30, h=16, w=20):
    bg = rng.uniform(0.3, 0.7, (h, w))
    gain = 1 + 0.1 * rng.standard_normal(t)  # global brightness changes: still rank one
    frames = gain[:, None, None] * bg[None]

    # orthonormal smooth fields: the first 2 x 2 low-frequency DCT images
    def dct1(n):
        b = np.cos(np.pi * (np.arange(n)[None, :] + 0.5) * np.arange(2)[:, None] / n)
        return b / np.linalg.norm(b, axis=1, keepdims=True)

    basis = np.einsum("iy,jx->yxij", dct1(h), dct1(w)).reshape(h * w, 4)
    illum = (basis @ (0.3 * rng.standard_normal((4, t)))).T.reshape(t, h, w)
    truth = np.zeros((t, h, w), bool)
    for i in range(t):  # a 3x3 object moving along the rows
        y0, x0 = (2 * i) % (h - 3), (3 * i) % (w - 3)
        truth[i, y0 : y0 + 3, x0 : x0 + 3] = True
    video = frames + illum + 0.6 * truth
    return jnp.asarray(video.reshape(t, -1).T), jnp.asarray(basis), truth


def test_illumination_rpca_separates_planted_background_objects_and_illumination():
    m, g, truth = _planted_video(np.random.default_rng(0))
    np.testing.assert_allclose(g.T @ g, np.eye(4), atol=1e-12)
    r = imaging.illumination_robust_pca(m, g, maxiter=500, tol=1e-9)
    assert bool(r.info.converged) and float(r.info.error) < 1e-9
    t, (h, w) = truth.shape[0], truth.shape[1:]
    pred = np.abs(np.asarray(r.sparse).T.reshape(t, h, w)) > 0.3
    assert float(f_measure(jnp.asarray(pred), jnp.asarray(truth))) > 0.97
    np.testing.assert_allclose(r.low_rank + r.sparse + g @ r.coefficients, m, atol=1e-8)
    assert np.linalg.matrix_rank(np.asarray(r.low_rank), tol=1e-3 * np.linalg.norm(m)) <= 2
    # a zero weight lets the sparse term take everything it wants at no cost: the weights act
    half = jnp.ones_like(m).at[: m.shape[0] // 2].set(0.0)
    rw = imaging.illumination_robust_pca(m, g, weights=half, maxiter=500, tol=1e-9)
    assert float(jnp.abs(rw.low_rank[: m.shape[0] // 2]).max()) < float(
        jnp.abs(r.low_rank[: m.shape[0] // 2]).max()
    )


def test_illumination_rpca_checks_its_arguments():
    m, g, _ = _planted_video(np.random.default_rng(0), t=5, h=4, w=4)
    with pytest.raises(ValueError, match=r"`basis` must have 16 rows"):
        imaging.illumination_robust_pca(m, g[:5])
    with pytest.raises(ValueError, match="`weights` must be non-negative"):
        imaging.illumination_robust_pca(m, g, weights=-jnp.ones_like(m))
    with pytest.raises(ValueError, match=r"`weights` must have the shape of `m`"):
        imaging.illumination_robust_pca(m, g, weights=jnp.ones((3, 3)))
    with pytest.raises(ValueError, match="`rho` must be at least 1"):
        imaging.illumination_robust_pca(m, g, rho=0.5)


def _faces(rng, n_classes=4, per_class=3, side=8):
    """A planted dictionary: each class is a random smooth subspace of images."""
    atoms, labels = [], []
    for c in range(n_classes):
        basis = rng.standard_normal((side * side, 2))
        for _ in range(per_class):
            atoms.append(basis @ rng.standard_normal(2))
            labels.append(c)
    a = np.stack(atoms, 1)
    return a / np.linalg.norm(a, axis=0), np.asarray(labels)


def test_structured_error_coding_recovers_occlusion_and_classifies():
    rng = np.random.default_rng(4)
    a, labels = _faces(rng)
    x_true = np.zeros(a.shape[1])
    x_true[[6, 7]] = [0.7, 0.5]  # class 2
    occlusion = np.zeros((8, 8))
    occlusion[2:5, 3:7] = 0.8  # a rank-one block
    y = a @ x_true + occlusion.ravel()
    r = imaging.structured_error_coding(
        a, y, shape=(8, 8), lam_sparse=1.0, tau=0.05, ridge=1e-3, mu=1.0, maxiter=500
    )
    recon = a @ r.code + r.low_rank_error + r.sparse_error
    np.testing.assert_allclose(recon, y, atol=1e-3)  # the constraint holds
    err = np.asarray(r.low_rank_error + r.sparse_error).reshape(8, 8)
    assert np.linalg.norm(err - occlusion) < 0.25 * np.linalg.norm(occlusion)
    res = imaging.class_residuals(y - err.ravel(), a, r.code, labels, 4)
    assert int(jnp.argmin(res)) == 2
    # jit + vmap over signals equals one call per signal
    ys = jnp.stack([y, a @ np.roll(x_true, -3)])
    fn = lambda y: (
        imaging.structured_error_coding(
            a, y, shape=(8, 8), lam_sparse=1.0, tau=0.05, ridge=1e-3, mu=1.0, maxiter=50
        ).code
    )
    np.testing.assert_allclose(jax.jit(jax.vmap(fn))(ys)[1], fn(ys[1]), rtol=1e-8, atol=1e-10)


def test_lr_lum_separates_occlusion_and_pixel_corruption_and_classifies():
    """A planted mixed corruption: a rank-one occlusion block (structured error) and four
    corrupted pixels (pixel error) on a sparse combination of class-2 atoms."""
    rng = np.random.default_rng(4)
    a, labels = _faces(rng)
    x_true = np.zeros(a.shape[1])
    x_true[[6, 7]] = [0.7, 0.5]  # class 2
    occlusion = np.zeros((8, 8))
    occlusion[2:5, 3:7] = 0.8  # rank one
    spikes = np.zeros(64)
    spikes[[0, 17, 42, 63]] = [1.5, -1.2, 1.0, -1.4]
    y = a @ x_true + occlusion.ravel() + spikes
    r = imaging.lr_lum_coding(a, y, shape=(8, 8), alpha=0.7, beta=0.01, mu=1.0, maxiter=500)
    recon = a @ r.code + r.structured_error + r.pixel_error
    np.testing.assert_allclose(recon, y, atol=1e-6)  # the constraint holds (z = x at the end)
    assert float(r.info.error) < 1e-6
    s = np.linalg.svd(np.asarray(r.structured_error).reshape(8, 8), compute_uv=False)
    assert s[1] < 0.05 * s[0]  # the structured error is (nearly) rank one
    err = np.asarray(r.structured_error + r.pixel_error)
    assert np.linalg.norm(err - occlusion.ravel() - spikes) < 0.2 * np.linalg.norm(
        occlusion.ravel() + spikes
    )
    assert set(np.argsort(-np.abs(np.asarray(r.pixel_error)))[:4]) == {0, 17, 42, 63}
    assert np.count_nonzero(np.abs(np.asarray(r.code)) > 1e-8) <= 6  # the l1 code is sparse
    res = imaging.class_residuals(y - err, a, r.code, labels, 4)
    assert int(jnp.argmin(res)) == 2


def test_class_residuals_against_numpy():
    rng = np.random.default_rng(5)
    a, labels = _faces(rng, n_classes=3)
    y, code = rng.standard_normal(64), rng.standard_normal(a.shape[1])
    want = [np.linalg.norm(y - a[:, labels == c] @ code[labels == c]) for c in range(3)]
    np.testing.assert_allclose(imaging.class_residuals(y, a, code, labels, 3), want, rtol=1e-12)
    with pytest.raises(ValueError, match="`labels` must be integers"):
        imaging.class_residuals(y, a, code, labels.astype(float), 3)


def _tlisd_objective(low, sparse, illum, lam_sparse, lam_illum, k, weights):
    """TLISD's objective in NumPy: t-SVD nuclear norm (1/n3) Σ_k ‖fft slice‖_*, the weighted
    l_{1,1,2} norm of the tubes, and the squared k-support norm of every column of C (the
    closed form of Argyriou et al., an oracle independent of the prox)."""
    from tests.prox.test_prox import _ksupport_norm

    lf = np.fft.fft(low, axis=-1)
    tnn = sum(np.linalg.svd(lf[:, :, j], compute_uv=False).sum() for j in range(low.shape[-1]))
    group = np.sum(weights * np.linalg.norm(sparse, axis=-1))
    ksq = sum(
        _ksupport_norm(illum[:, j, r], k) ** 2
        for j in range(illum.shape[1])
        for r in range(illum.shape[2])
    )
    return tnn / low.shape[-1] + lam_sparse * group + lam_illum * ksq


def test_tlisd_recovers_a_planted_video_tensor_and_is_optimal():
    rng = np.random.default_rng(0)
    p, t = 120, 20
    u, v = rng.random((p, 2)), rng.random((2, t))
    low = np.stack([u @ v, 0.6 * (u @ v) + 0.2], axis=-1)  # two representations, low rank
    mask = rng.random((p, t)) < 0.05  # the same foreground pixels in both representations
    sparse = np.zeros((p, t, 2))
    sparse[mask] = np.sign(rng.standard_normal((mask.sum(), 1))) * (
        0.6 + rng.random((mask.sum(), 2))
    )
    d = low + sparse + 0.03 * rng.standard_normal((p, t, 2))  # dense noise: C is active
    weights = 1.0 - 0.3 * rng.random((p, t))
    lam_sparse, lam_illum, k = 1.0 / np.sqrt(p), 0.3, 12
    r = imaging.tlisd(
        jnp.asarray(d),
        weights=jnp.asarray(weights),
        lam_illum=lam_illum,
        k=k,
        tol=1e-9,
        maxiter=600,
    )
    assert bool(r.info.converged)
    got = [np.asarray(a) for a in (r.low_rank, r.sparse, r.illumination)]
    np.testing.assert_allclose(sum(got), d, atol=1e-6)
    assert np.linalg.norm(got[0] - low) / np.linalg.norm(low) < 5e-2
    np.testing.assert_array_equal(np.linalg.norm(got[1], axis=-1) > 0.3, mask)
    assert np.abs(got[2]).max() > 1e-3  # the illumination term takes part of the noise
    # optimality: no feasible move of a fraction of one term into another lowers the objective
    obj = lambda lo, sp, il: _tlisd_objective(lo, sp, il, lam_sparse, lam_illum, k, weights)
    best = obj(*got)
    for i in range(3):
        for j in range(3):
            for eps in (1e-2, -1e-2):
                if i != j:
                    moved = list(got)
                    moved[i], moved[j] = got[i] * (1 - eps), got[j] + eps * got[i]
                    assert obj(*moved) >= best - 1e-7 * best, (i, j, eps)


def test_spectral_hyper_laplacian_smooths_spectra_and_is_identity_at_zero_weight():
    rng = np.random.default_rng(0)
    steps = np.repeat(rng.uniform(0.2, 0.8, (20, 3)), 4, axis=1)  # piecewise-constant spectra
    noisy = steps + 0.03 * rng.standard_normal(steps.shape)
    out = np.asarray(imaging.spectral_hyper_laplacian(jnp.asarray(noisy), 0.02, 0.8))
    assert np.linalg.norm(out - steps) < 0.8 * np.linalg.norm(noisy - steps)
    objective = lambda x: (
        0.5 * np.sum((x - noisy) ** 2) + 0.02 * np.sum(np.abs(np.diff(x, axis=-1)) ** 0.8)
    )
    assert objective(out) < objective(noisy)
    np.testing.assert_allclose(imaging.spectral_hyper_laplacian(jnp.asarray(noisy), 0.0), noisy)


def test_llrt_denoises_a_planted_multispectral_image():
    rng = np.random.default_rng(1)
    h, w, b = 24, 24, 8
    yy, xx = np.mgrid[0:h, 0:w] / h  # two smooth abundance maps, two spectra: rank 2
    abundance = np.stack([0.5 + 0.4 * np.sin(3 * xx) * np.cos(2 * yy), (xx + yy) / 2], -1)
    spectra = np.stack([np.linspace(0.2, 0.9, b), np.linspace(0.8, 0.3, b)])
    clean = abundance @ spectra
    noisy = clean + 0.05 * rng.standard_normal(clean.shape)
    kw = dict(patch=4, stride=2, window=4, k=12, rounds=3)
    r = imaging.llrt_denoise(jnp.asarray(noisy), 0.05, **kw)
    plain = imaging.llrt_denoise(jnp.asarray(noisy), 0.05, hl_weight=0.0, **kw)
    err = lambda x: np.linalg.norm(np.asarray(x) - clean)
    assert err(r.image) < 0.4 * err(noisy)
    assert err(r.image) < err(plain.image)  # the spectral prior helps on smooth spectra
    assert r.info.history.shape == (3,) and int(r.info.n_iter) == 3
    assert bool(jnp.all(jnp.isfinite(r.info.history)))
