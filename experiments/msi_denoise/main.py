"""Multispectral image denoising: Gaussian noise at several levels, five estimators.

Methods (all from lrjax pieces):

* ``bandwise_svt`` — each band a matrix, singular value thresholding at the noise's spectral
  norm ``σ (sqrt(H) + sqrt(W))`` (:func:`lrjax.prox.prox_nuclear`, vmapped over bands);
* ``tucker`` — :func:`lrjax.tucker_hooi` with each mode's rank set by the noise level (the
  singular values of the mode-n unfolding above ``σ (sqrt(I_n) + sqrt(J_n))``);
* ``trpca`` — :func:`lrjax.tensor_robust_pca` (t-SVD along the bands), low-rank part;
* ``nonlocal`` — LLRT (Chang et al., CVPR 2017), :func:`lrjax.imaging.llrt_denoise`:
  groups of similar full-band patches, low rank along the non-local mode (WNNM weights),
  iterative regularisation, then the analysis hyper-Laplacian spectral prior
  ``β Σ |∇_λ X|^p`` by half-quadratic splitting (:func:`lrjax.imaging.spectral_hyper_laplacian`);
  ``nonlocal_nohl`` is the same without that prior;
* ``nonlocal_subspace`` — the image first projected on its leading spectral subspace (as many
  components as singular values of the ``(H W) x bands`` matrix above the noise's spectral
  norm; orthonormal, so the noise stays white with the same ``σ``), the non-local step run on
  the few coefficient images, mapped back, then the hyper-Laplacian prior (a global spectral
  low rank before the non-local one, as in NGMeet, He et al. CVPR 2019).

Reports mean band PSNR (MPSNR, peak 1), mean band SSIM (MSSIM) and ERGAS, writes ``summary.md``,
``metrics.jsonl`` (resumable) and figures of noisy / denoised bands.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import lrjax
from experiments._imaging import RowLog, computed_dtype, image_grid, markdown_table
from experiments._workdir import WorkdirLock
from lrjax.data import load_msi
from lrjax.metrics import ergas, psnr, ssim

METHODS = ("bandwise_svt", "tucker", "trpca", "nonlocal_nohl", "nonlocal", "nonlocal_subspace")


# Config fields that may change when a workdir is resumed: which jobs to run and draw.
JOB_FIELDS = ("sigmas", "methods", "figure_sigma", "figure_band")


def mpsnr(x, y) -> float:
    """Mean over bands of the band PSNR (peak 1)."""
    return float(jnp.mean(jax.vmap(psnr, (2, 2))(jnp.asarray(x), jnp.asarray(y))))


def mssim(x, y) -> float:
    """Mean over bands of the band SSIM."""
    return float(ssim(jnp.asarray(x), jnp.asarray(y), channel_axis=2))


@jax.jit
def bandwise_svt(y, sigma):
    """Singular value thresholding of every band at ``σ (sqrt(H) + sqrt(W))``."""
    h, w, _ = y.shape
    tau = sigma * (math.sqrt(h) + math.sqrt(w))
    return jax.vmap(lrjax.prox.prox_nuclear, (2, None), 2)(y, tau)


def noise_ranks(y: np.ndarray, sigma: float, modes=None) -> tuple[int, ...]:
    """Per mode (all, or those in ``modes``), how many singular values of the unfolding exceed
    the noise's spectral norm."""
    ranks = []
    for n in range(y.ndim) if modes is None else modes:
        m = np.moveaxis(y, n, 0).reshape(y.shape[n], -1)
        s = np.linalg.svd(m, compute_uv=False)
        ranks.append(
            max(1, int(np.sum(s > sigma * (math.sqrt(m.shape[0]) + math.sqrt(m.shape[1])))))
        )
    return tuple(ranks)


def tucker(y, sigma, config):
    """HOOI with the ranks of :func:`noise_ranks`, reconstructed."""
    ranks = noise_ranks(np.asarray(y), sigma)
    return lrjax.tucker_hooi(y, ranks, maxiter=config.tucker_maxiter, tol=1e-6).tucker.to_dense()


def trpca(y, sigma, config):
    """The low-rank part of tensor robust PCA (``sigma`` unused: TRPCA has no noise level)."""
    del sigma
    return lrjax.tensor_robust_pca(
        y, rho=config.trpca_rho, maxiter=config.trpca_maxiter, tol=1e-6
    ).low_rank


def _llrt_options(config) -> dict:
    return {
        "patch": config.nl_patch,
        "stride": config.nl_stride,
        "window": config.nl_window,
        "k": config.nl_k,
        "rounds": config.nl_iters,
        "delta": config.nl_delta,
        "gamma": config.nl_gamma,
        "c": config.nl_c,
        "p": config.hl_p,
    }


def nonlocal_lowrank(y, sigma, config, *, spectral_prior: bool = True):
    """LLRT (:func:`lrjax.imaging.llrt_denoise`); without the spectral prior when asked."""
    weight = config.hl_weight if spectral_prior else 0.0
    return lrjax.imaging.llrt_denoise(y, sigma, hl_weight=weight, **_llrt_options(config)).image


def nonlocal_subspace(y, sigma, config):
    """Non-local low rank on the coefficients of the leading spectral subspace."""
    h, w, b = y.shape
    (k,) = noise_ranks(np.asarray(y), sigma, modes=(2,))
    _, _, vt = jnp.linalg.svd(y.reshape(-1, b), full_matrices=False)
    basis = vt[:k].T  # (bands, k), orthonormal columns
    coef = (y.reshape(-1, b) @ basis).reshape(h, w, k)
    x = nonlocal_lowrank(coef, sigma, config, spectral_prior=False)
    x = (x.reshape(-1, k) @ basis.T).reshape(h, w, b)
    beta = config.hl_weight * (config.hl_residual * sigma) ** 2
    return lrjax.imaging.spectral_hyper_laplacian(x, beta, config.hl_p)


def _estimate(method, y, sigma, config):
    if method == "bandwise_svt":
        return bandwise_svt(y, jnp.asarray(sigma, y.dtype))
    if method == "tucker":
        return tucker(y, sigma, config)
    if method == "trpca":
        return trpca(y, sigma, config)
    if method == "nonlocal_nohl":
        return nonlocal_lowrank(y, sigma, config, spectral_prior=False)
    if method == "nonlocal":
        return nonlocal_lowrank(y, sigma, config)
    if method == "nonlocal_subspace":
        return nonlocal_subspace(y, sigma, config)
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")


def _run(config, workdir: str) -> list[dict]:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    img = load_msi(config.image)
    if config.crop:
        img = img[: config.crop, : config.crop]
    clean = jnp.asarray(img, config.dtype)
    log = RowLog(work, config, may_change=JOB_FIELDS)
    jobs = [(s, m) for s in config.sigmas for m in ("noisy", *config.methods)]
    keys, figures = [], {}
    for s255, method in tqdm(jobs, desc="msi_denoise", unit="run"):
        sigma = s255 / 255.0
        key = f"{config.image}/sigma{s255}/{method}"
        keys.append(key)
        noise = jax.random.normal(jax.random.key(config.seed + s255), clean.shape, clean.dtype)
        noisy = clean + sigma * noise
        if key in log and s255 != config.figure_sigma:
            continue
        t0 = time.perf_counter()
        est = noisy if method == "noisy" else _estimate(method, noisy, sigma, config)
        est = jax.block_until_ready(est)
        seconds = time.perf_counter() - t0
        if s255 == config.figure_sigma:
            figures[method] = np.asarray(est)
        if key not in log:
            log.add(
                {
                    "key": key,
                    "sigma": s255,
                    "method": method,
                    "mpsnr": mpsnr(clean, est),
                    "mssim": mssim(clean, est),
                    "ergas": float(ergas(clean, est)),
                    "seconds": seconds,
                }
            )
    rows = log.select(keys)
    _summary(work, config, img.shape, rows)
    if figures:
        _figures(work, config, img, figures)
    return rows


def _summary(work: Path, config, shape, rows) -> None:
    table = [
        [
            r["sigma"],
            r["method"],
            f"{r['mpsnr']:.2f}",
            f"{r['mssim']:.4f}",
            f"{r['ergas']:.1f}" if "ergas" in r else "—",  # rows logged before ERGAS was
            f"{r['seconds']:.1f}",
        ]
        for r in rows
    ]
    lines = [
        f"# Multispectral denoising, CAVE '{config.image}' {shape} ({computed_dtype(config)})",
        "",
        "Gaussian noise, sigma on the 0-255 scale; MPSNR / MSSIM are band means (peak 1); "
        "ERGAS is lrjax.metrics.ergas (ratio 1, lower is better).",
        "",
        *markdown_table(["sigma", "method", "MPSNR (dB)", "MSSIM", "ERGAS", "time (s)"], table),
    ]
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _rgb(img):
    rgb = img[..., [28, 16, 6]] if img.shape[-1] > 28 else img[..., :3]
    return np.clip(rgb / max(float(np.percentile(rgb, 99.5)), 1e-6), 0, 1)


def _figures(work: Path, config, img, figures) -> None:
    band = min(config.figure_band, img.shape[-1] - 1)
    order = ["noisy", *[m for m in config.methods if m in figures]]
    panels = [("clean", _rgb(img))] + [(m, _rgb(figures[m])) for m in order if m in figures]
    image_grid(work / f"rgb_sigma{config.figure_sigma}.png", panels, cols=4, size=3.0)
    panels = [(f"clean, band {band}", img[..., band])] + [
        (
            f"{m}, {mpsnr(img[..., band : band + 1], figures[m][..., band : band + 1]):.1f} dB",
            figures[m][..., band],
        )
        for m in order
    ]
    image_grid(work / f"band{band}_sigma{config.figure_sigma}.png", panels, cols=4, size=3.0)


def run(config, workdir: str) -> list[dict]:
    """Run every (noise level, method) of ``config``; write results under ``workdir``.

    Holds an exclusive lock on ``workdir`` while it runs (a second run there stops at once).
    """
    with WorkdirLock(workdir):
        return _run(config, workdir)
