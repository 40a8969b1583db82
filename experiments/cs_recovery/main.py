"""Compressed-sensing recovery of Set11 images with a non-local low-rank tensor prior.

Measurements: every ``B x B`` block ``x_b`` of the image is sensed as ``y_b = Φ x_b`` with one
Gaussian ``Φ`` (``m = round(rate B²)`` rows, orthonormalised so ``Φ Φ^T = I``), the block
compressed-sensing setting of ReconNet / ISTA-Net on Set11.

Recoveries:

* ``min_norm`` — ``Φ^T y`` per block, the minimum-norm solution (no prior at all);
* ``dct_ista`` — projected iterative soft thresholding in the image's orthonormal 2-D DCT
  (a sparsity prior: no total variation, no low rank);
* ``nlr_svt`` — non-local low rank: groups of similar patches, weighted singular value
  thresholding of each group matrix (WNNM weights), alternated with the exact projection
  ``x ← z + Φ^T (y − Φ z)`` onto the measurement set, the noise level assumed by the group
  step decreasing geometrically (in the spirit of NLR-CS, Dong et al., TIP 2014);
* ``nlr_tucker`` — the same with the tensor prior of the CVPR 2018 line of work: each
  ``p x p x K`` group a Tucker model (HOSVD, core hard-thresholded at the assumed noise level);
* ``nlr_cp`` — the same with a rank-``cp_rank`` CP model of each group (:func:`lrjax.cp_als`).

The non-local methods start from ``dct_ista``. Reports PSNR / SSIM (peak 1) per image and
rate in the published table's layout; ``metrics.jsonl`` is resumable.
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
from lrjax.data import load_image
from lrjax.metrics import psnr, ssim

METHODS = ("min_norm", "dct_ista", "nlr_svt", "nlr_tucker", "nlr_cp")
TABLE_IMAGES = ("barbara", "boats", "cameraman", "foreman", "house", "lena", "monarch", "parrots")


# Config fields that may change when a workdir is resumed: which jobs to run and draw.
JOB_FIELDS = ("images", "rates", "methods", "figure_image", "figure_rate")


def sensing_matrix(key, rate: float, block: int, dtype) -> jax.Array:
    """``(m, B²)`` Gaussian matrix with orthonormal rows, ``m = max(1, round(rate B²))``."""
    n = block * block
    m = max(1, round(rate * n))
    g = jax.random.normal(key, (n, m), dtype)
    q, _ = jnp.linalg.qr(g)
    return q.T


def to_blocks(img, block: int):
    """``(H, W)`` image -> ``(n_blocks, B²)`` rows, blocks in raster order."""
    h, w = img.shape
    return (
        img.reshape(h // block, block, w // block, block)
        .transpose(0, 2, 1, 3)
        .reshape(-1, block * block)
    )


def from_blocks(blocks, shape, block: int):
    """Inverse of :func:`to_blocks`."""
    h, w = shape
    return blocks.reshape(h // block, w // block, block, block).transpose(0, 2, 1, 3).reshape(h, w)


def measure(img, phi, block):
    """Block measurements ``y_b = Φ x_b``, shape ``(n_blocks, m)``."""
    return to_blocks(img, block) @ phi.T


def project(z, y, phi, block):
    """Exact projection onto ``{x : Φ x_b = y_b}`` (``Φ`` has orthonormal rows)."""
    zb = to_blocks(z, block)
    return from_blocks(zb + (y - zb @ phi.T) @ phi, z.shape, block)


@jax.jit
def _dct_step(x, y, phi, tau):
    block = math.isqrt(phi.shape[1])
    c = jax.scipy.fft.dctn(x, norm="ortho")
    c = jnp.sign(c) * jnp.maximum(jnp.abs(c) - tau, 0.0)
    return project(jax.scipy.fft.idctn(c, norm="ortho"), y, phi, block)


def dct_ista(y, phi, shape, config):
    """Projected soft thresholding in the 2-D DCT with a geometrically decreasing threshold."""
    block = math.isqrt(phi.shape[1])
    x = from_blocks(y @ phi, shape, block)
    taus = np.geomspace(config.dct_tau_start, config.dct_tau_end, config.dct_iters)
    for tau in taus:
        x = _dct_step(x, y, phi, jnp.asarray(tau, x.dtype))
    return x


def nonlocal_recovery(y, phi, shape, config, prior: str):
    """Alternate a non-local group low-rank step (``prior``) with the exact projection onto
    the measurements, the assumed noise level decreasing geometrically; start: DCT-ISTA."""
    block = math.isqrt(phi.shape[1])
    x = dct_ista(y, phi, shape, config)
    sigmas = np.geomspace(config.nl_sigma_start, config.nl_sigma_end, config.nl_iters) / 255.0
    priors = {
        "svt": lrjax.imaging.WNNMPrior(),
        "tucker": lrjax.imaging.TuckerPrior(),
        "cp": lrjax.imaging.CPPrior(rank=config.cp_rank),
    }
    for s in sigmas:
        z = lrjax.imaging.group_denoise(
            x,
            None,
            jnp.asarray(s, x.dtype),
            patch=config.nl_patch,
            stride=config.nl_stride,
            window=config.nl_window,
            k=config.nl_k,
            prior=priors[prior],
        )
        x = project(z, y, phi, block)
    return x


def recover(method, y, phi, shape, config):
    """Recover the image from block measurements ``y`` with ``method`` (one of ``METHODS``)."""
    if method == "min_norm":
        return from_blocks(y @ phi, shape, math.isqrt(phi.shape[1]))
    if method == "dct_ista":
        return dct_ista(y, phi, shape, config)
    if method in ("nlr_svt", "nlr_tucker", "nlr_cp"):
        return nonlocal_recovery(y, phi, shape, config, method.removeprefix("nlr_"))
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")


def test_image(name: str, config) -> np.ndarray:
    """A Set11 image by name, or your image file (any format pillow reads, or ``.npy``), in
    [0, 1]; cropped to ``config.crop`` (when set) and then to whole ``config.block`` blocks."""
    img = load_image(name)
    if config.crop:
        img = img[: config.crop, : config.crop]
    h, w = (
        (img.shape[0] // config.block) * config.block,
        (img.shape[1] // config.block) * config.block,
    )
    if h == 0 or w == 0:
        raise ValueError(
            f"image {name!r} ({img.shape[0]} x {img.shape[1]}) is smaller than one "
            f"{config.block} x {config.block} block."
        )
    return img[:h, :w]


def _run(config, workdir: str) -> list[dict]:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    log = RowLog(work, config, may_change=JOB_FIELDS)
    keys, figures = [], {}
    jobs = [(i, r, m) for r in config.rates for i in config.images for m in config.methods]
    for name, rate, method in tqdm(jobs, desc="cs_recovery", unit="run"):
        x = jnp.asarray(test_image(name, config), config.dtype)
        key = f"{name}/rate{rate}/{method}"
        keys.append(key)
        want_fig = name == config.figure_image and rate == config.figure_rate
        if key in log and not want_fig:
            continue
        phi = sensing_matrix(jax.random.key(config.seed), rate, config.block, x.dtype)
        y = measure(x, phi, config.block)
        t0 = time.perf_counter()
        est = jax.block_until_ready(recover(method, y, phi, x.shape, config))
        seconds = time.perf_counter() - t0
        if want_fig:
            figures[method] = np.asarray(est)
        if key not in log:
            est = jnp.clip(est, 0.0, 1.0)
            log.add(
                {
                    "key": key,
                    "image": name,
                    "rate": rate,
                    "method": method,
                    "psnr": float(psnr(x, est)),
                    "ssim": float(ssim(x, est)),
                    "seconds": seconds,
                }
            )
    rows = log.select(keys)
    _summary(work, config, rows)
    if figures:
        img = test_image(config.figure_image, config)
        panels = [("original", img)] + [
            (f"{m}, {float(psnr(img, np.clip(f, 0, 1))):.2f} dB", np.clip(f, 0, 1))
            for m, f in figures.items()
        ]
        image_grid(
            work / f"{Path(config.figure_image).stem}_rate{config.figure_rate}.png",
            panels,
            cols=3,
            size=2.8,
        )
    return rows


def _summary(work: Path, config, rows) -> None:
    by = {(r["image"], r["rate"], r["method"]): r for r in rows}
    images = [i for i in config.images]
    lines = [
        f"# Block compressed sensing on Set11 ({config.block}x{config.block} Gaussian blocks, "
        f"{computed_dtype(config)})",
        "",
        "PSNR (dB) / SSIM per image, peak 1; each cell `PSNR / SSIM`.",
        "",
    ]
    for rate in config.rates:
        table = []
        for m in config.methods:
            cells = [by.get((i, rate, m)) for i in images]
            done = [c for c in cells if c]
            mean = (
                f"{np.mean([c['psnr'] for c in done]):.2f} / "
                f"{np.mean([c['ssim'] for c in done]):.4f}"
                if done
                else "-"
            )
            table.append(
                [m] + [f"{c['psnr']:.2f} / {c['ssim']:.4f}" if c else "-" for c in cells] + [mean]
            )
        lines += [f"## rate {rate}", ""]
        lines += [*markdown_table(["method", *images, "mean"], table), ""]
    (work / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines))


def run(config, workdir: str) -> list[dict]:
    """Recover every (image, rate, method) of ``config``; write results under ``workdir``.

    Holds an exclusive lock on ``workdir`` while it runs (a second run there stops at once).
    """
    with WorkdirLock(workdir):
        return _run(config, workdir)
