"""Moving-object detection as low-rank + sparse decomposition (CDnet 2014 ``highway``, I2R
``Hall``).

Models (frames as the columns of ``M``, gray levels in [0, 1]):

* ``rpca`` — principal component pursuit, :func:`lrjax.robust_pca` (PCP);
* ``trpca`` — :func:`lrjax.tensor_robust_pca` on the video as an ``H x T x W`` tensor (every
  frontal slice is one image column over time, so a static background makes each slice rank
  one and the t-SVD tensor low tubal-rank);
* ``lrsi`` — low rank + sparse + illumination, in the spirit of Shakeri & Zhang (CVPR 2019,
  TLISD): ``M = L + S + G Θ`` with ``min ‖L‖_* + λ ‖W ⊙ S‖_1`` where ``G`` is an orthonormal
  basis of smooth spatial fields (low-frequency 2-D DCT) whose per-frame coefficients ``Θ``
  absorb global and slowly varying illumination, and ``W = 1 − α P`` lowers the sparsity
  penalty where an illumination-invariant prior map ``P`` (change of the frame's ratio image
  ``I / blur(I)`` against its temporal median) says objects move. Solved by inexact ALM.

The foreground mask is ``|S| > threshold``; the F-measure follows CDnet (counts summed over all
evaluated frames, shadow = background, outside-ROI and unknown-motion pixels not counted).
Also reported: the F-measure at the best threshold of a fixed grid (an upper bound that uses
the ground truth, labelled as such).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import lrjax
from experiments._imaging import RowLog, computed_dtype, image_grid, markdown_table
from experiments._workdir import WorkdirLock
from lrjax.data import load_cdnet_highway, load_i2r_hall, load_video
from lrjax.metrics import detection_stats

METHODS = ("rpca", "trpca", "lrsi", "tlisd")
THRESHOLDS = np.round(np.arange(0.02, 0.41, 0.02), 2)


# Config fields that may change when a workdir is resumed: which jobs to run and draw.
JOB_FIELDS = ("methods",)
# Fields added since the first release, with the values older workdirs implicitly had.
ADDED = {"tlisd_lam_illum": 1.0, "tlisd_k_fraction": 0.1}


def load(config):
    """The video of ``config.dataset`` as ``VideoData``: ``"highway"``, ``"hall"``, or the path
    of your own video (a folder of frames or a ``.npy`` stack, :func:`lrjax.data.load_video`),
    with ground-truth masks from ``config.truth`` when given. Your video keeps every
    ``config.step``-th of its first ``config.n_frames * config.step`` frames, downsampled by
    ``config.downsample``."""
    if config.dataset == "highway":
        return load_cdnet_highway(
            n_frames=config.n_frames, step=config.step, downsample=config.downsample
        )
    if config.dataset == "hall":
        return load_i2r_hall()
    path = Path(config.dataset)
    if not path.exists():
        raise ValueError(
            f"`dataset` must be 'highway', 'hall' or the path of a video (a folder of frames or "
            f"a .npy stack), got {config.dataset!r}."
        )
    truth = config.get("truth") or None
    video = load_video(
        path, truth=truth, max_frames=config.n_frames * config.step, downsample=config.downsample
    )
    return type(video)(*(a[:: config.step] for a in video))


def dct_basis(h: int, w: int, order: int) -> np.ndarray:
    """``(H W, order²)`` orthonormal low-frequency 2-D DCT-II basis images."""

    def dct1(n):
        k = np.arange(order)[:, None]
        b = np.cos(np.pi * (np.arange(n)[None, :] + 0.5) * k / n)
        return b / np.linalg.norm(b, axis=1, keepdims=True)

    by, bx = dct1(h), dct1(w)
    return np.einsum("iy,jx->yxij", by, bx).reshape(h * w, order * order)


def _blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(frames, sigma=(0, sigma, sigma))


def prior_map(frames: np.ndarray, blur: float) -> np.ndarray:
    """Illumination-invariant motion prior in [0, 1]: change of the ratio image ``I / blur(I)``
    (invariant to smooth multiplicative illumination) against its temporal median."""
    ratio = frames / (_blur(frames, blur) + 1e-3)
    change = np.abs(ratio - np.median(ratio, axis=0, keepdims=True))
    scale = np.percentile(change, 99.5) + 1e-12
    return np.clip(change / scale, 0.0, 1.0)


def decompose(method, frames: np.ndarray, config):
    """Return ``(background, sparse)`` as ``(T, H, W)`` arrays."""
    t, h, w = frames.shape
    dtype = config.dtype
    if method == "rpca":
        m = jnp.asarray(frames.reshape(t, h * w).T, dtype)
        r = lrjax.robust_pca(m, maxiter=config.maxiter, tol=config.tol)
        return (np.asarray(a).T.reshape(t, h, w) for a in (r.low_rank, r.sparse))
    if method == "trpca":
        x = jnp.asarray(frames.transpose(1, 0, 2), dtype)  # (H, T, W)
        r = lrjax.tensor_robust_pca(x, rho=config.trpca_rho, maxiter=config.maxiter, tol=config.tol)
        return (np.asarray(a).transpose(1, 0, 2) for a in (r.low_rank, r.sparse))
    if method == "lrsi":
        m = jnp.asarray(frames.reshape(t, h * w).T, dtype)
        g = jnp.asarray(dct_basis(h, w, config.illum_order), dtype)
        p = prior_map(frames, config.prior_blur).reshape(t, h * w).T
        weights = jnp.asarray(1.0 - config.prior_alpha * p, dtype)
        lam = 1.0 / np.sqrt(max(m.shape))
        r = lrjax.imaging.illumination_robust_pca(
            m, g, weights=weights, lam=lam, maxiter=config.maxiter, tol=1e-6
        )
        bg = r.low_rank + g @ r.coefficients
        return (np.asarray(a).T.reshape(t, h, w) for a in (bg, r.sparse))
    if method == "tlisd":
        ratio = 0.5 * frames / (_blur(frames, config.prior_blur) + 0.05)  # ~0.5 where flat
        d = np.stack([frames, ratio], axis=-1).reshape(t, h * w, 2).transpose(1, 0, 2)
        p = prior_map(frames, config.prior_blur).reshape(t, h * w).T
        r = lrjax.imaging.tlisd(
            jnp.asarray(d, dtype),
            weights=jnp.asarray(1.0 - config.prior_alpha * p, dtype),
            lam_illum=config.tlisd_lam_illum,
            k=max(1, int(config.tlisd_k_fraction * h * w)),
            maxiter=config.maxiter,
            tol=1e-6,
        )
        bg = r.low_rank + r.illumination
        return (np.asarray(a[:, :, 0]).T.reshape(t, h, w) for a in (bg, r.sparse))
    raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")


def scores(sparse: np.ndarray, data, threshold: float) -> dict:
    """Precision, recall and F-measure of ``|S| > threshold`` over the labelled frames."""
    lab = data.labelled
    pred = np.abs(sparse[lab]) > threshold
    st = detection_stats(
        jnp.asarray(pred), jnp.asarray(data.truth[lab]), jnp.asarray(data.valid[lab])
    )
    return {
        "precision": float(st.precision),
        "recall": float(st.recall),
        "f_measure": float(st.f_measure),
    }


def _run(config, workdir: str) -> list[dict]:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    data = load(config)
    log = RowLog(work, config, may_change=JOB_FIELDS, added=ADDED)
    keys, figures = [], {}
    for method in tqdm(config.methods, desc=f"background/{config.dataset}", unit="model"):
        key = f"{config.dataset}/{method}"
        keys.append(key)
        t0 = time.perf_counter()
        bg, sparse = decompose(method, data.frames, config)
        seconds = time.perf_counter() - t0
        figures[method] = (bg, sparse)
        if key in log:
            continue
        row = {"key": key, "dataset": config.dataset, "method": method, "seconds": seconds}
        row["threshold"] = config.threshold
        if data.labelled.any():
            best = max(THRESHOLDS, key=lambda th: scores(sparse, data, th)["f_measure"])
            row.update(scores(sparse, data, config.threshold))
            row["best_threshold"] = float(best)
            row["best_f_measure"] = scores(sparse, data, best)["f_measure"]
        else:  # your video without ground truth: the decomposition and figures only
            row["foreground_fraction"] = float(np.mean(np.abs(sparse) > config.threshold))
        log.add(row)
    rows = log.select(keys)
    _summary(work, config, data, rows)
    _figures(work, config, data, figures)
    return rows


def _summary(work: Path, config, data, rows) -> None:
    t, h, w = data.frames.shape
    if not data.labelled.any():
        lines = [
            f"# Background subtraction, {config.dataset}: {t} frames of {h}x{w} "
            f"({computed_dtype(config)})",
            "",
            f"No ground truth given (`config.truth`): no F-measure. Foreground = |S| > "
            f"{config.threshold}.",
            "",
            *markdown_table(
                ["method", "foreground fraction", "time (s)"],
                [
                    [r["method"], f"{r['foreground_fraction']:.4f}", f"{r['seconds']:.1f}"]
                    for r in rows
                ],
            ),
        ]
        (work / "summary.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    table = [
        [
            r["method"],
            f"{r['precision']:.3f}",
            f"{r['recall']:.3f}",
            f"{r['f_measure']:.3f}",
            f"{r['best_f_measure']:.3f} (at {r['best_threshold']:.2f})",
            f"{r['seconds']:.1f}",
        ]
        for r in rows
    ]
    lines = [
        f"# Background subtraction, {config.dataset}: {t} frames of {h}x{w} "
        f"({computed_dtype(config)})",
        "",
        f"Foreground = |S| > {config.threshold}; F-measure (counts summed, CDnet rules) over "
        f"{int(data.labelled.sum())} labelled frame(s). The last F column picks the threshold "
        "with the ground truth (an upper bound, not a result).",
        "",
        *markdown_table(
            ["method", "precision", "recall", "F-measure", "best-threshold F", "time (s)"], table
        ),
    ]
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _figures(work: Path, config, data, figures) -> None:
    idx = np.flatnonzero(data.labelled) if data.labelled.any() else np.arange(len(data.frames))
    frame = int(idx[len(idx) // 2])
    panels = [("input", data.frames[frame])]
    panels.append(
        ("ground truth", data.truth[frame]) if data.labelled.any() else ("|input - median|",
         np.abs(data.frames[frame] - np.median(data.frames, axis=0)))
    )  # fmt: skip
    for method, (bg, sparse) in figures.items():
        panels.append((f"{method}: background", bg[frame]))
        panels.append(
            (f"{method}: |S| > {config.threshold}", np.abs(sparse[frame]) > config.threshold)
        )
    name = Path(config.dataset).stem if Path(config.dataset).exists() else config.dataset
    image_grid(work / f"{name}_frame{frame}.png", panels, cols=2, size=2.6)


def run(config, workdir: str) -> list[dict]:
    """Decompose the video with every method of ``config``; write results under ``workdir``.

    Holds an exclusive lock on ``workdir`` while it runs (a second run there stops at once).
    """
    with WorkdirLock(workdir):
        return _run(config, workdir)
