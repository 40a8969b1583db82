"""Low-rank compression of a multispectral image with CP, Tucker (HOOI) and TT-SVD.

For every rank in the config it reports the relative error, PSNR (peak 1) and compression
ratio (dense entries / stored parameters), logs each row to ``workdir/metrics.jsonl``, writes
``workdir/summary.md`` and two figures: error against compression, and pseudo-RGB renderings.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import lrjax
from experiments._imaging import computed_dtype
from experiments._workdir import WorkdirLock
from lrjax.data import load_msi
from lrjax.metrics import psnr


def _params(t) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(t))


def _jobs(config):
    for r in config.cp_ranks:
        yield (
            "CP",
            str(r),
            lambda x, r=r: (
                lrjax.cp_als(
                    x, r, key=jax.random.key(config.seed), maxiter=config.cp_maxiter, tol=config.tol
                ).cp
            ),
        )
    for ranks in config.tucker_ranks:
        yield (
            "Tucker",
            "x".join(map(str, ranks)),
            lambda x, ranks=tuple(ranks): (
                lrjax.tucker_hooi(x, ranks, maxiter=config.tucker_maxiter, tol=config.tol).tucker
            ),
        )
    for ranks in config.tt_ranks:
        yield "TT", "x".join(map(str, ranks)), lambda x, ranks=tuple(ranks): lrjax.tt_svd(x, ranks)


def run(config, workdir: str) -> list[dict]:
    """Run the experiment described by ``config``; write results under ``workdir`` (holding
    an exclusive lock on it)."""
    with WorkdirLock(workdir):
        return _run(config, workdir)


def _run(config, workdir: str) -> list[dict]:
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    img = load_msi(config.image)
    if config.crop:
        img = img[: config.crop, : config.crop]
    x = jnp.asarray(img, dtype=config.dtype)
    jobs = list(_jobs(config))
    rows, recon = [], {}
    with open(work / "metrics.jsonl", "w") as log:
        for family, rank, fn in tqdm(jobs, desc="compress", unit="model"):
            t0 = time.perf_counter()
            approx = jax.block_until_ready(fn(x))
            seconds = time.perf_counter() - t0
            dense = np.asarray(approx.to_dense())
            row = {
                "family": family,
                "rank": rank,
                "params": _params(approx),
                "compression": img.size / _params(approx),
                "rel_error": float(np.linalg.norm(dense - img) / np.linalg.norm(img)),
                "psnr": float(psnr(img, np.clip(dense, 0, 1))),
                "seconds": seconds,
            }
            rows.append(row)
            recon[(family, rank)] = dense
            log.write(json.dumps(row) + "\n")
    _write_summary(work, config, img.shape, rows)
    _plot(work, img, rows, recon)
    return rows


def _write_summary(work: Path, config, shape, rows) -> None:
    lines = [
        f"# Compression of CAVE '{config.image}' {shape} ({computed_dtype(config)})",
        "",
        "| model | rank | params | compression | rel. error | PSNR (dB) | time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['family']} | {r['rank']} | {r['params']:,} | {r['compression']:.1f}x | "
            f"{r['rel_error']:.4f} | {r['psnr']:.2f} | {r['seconds']:.2f} |"
        )
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _rgb(img):
    rgb = img[..., [28, 16, 6]] if img.shape[-1] > 28 else img[..., :3]
    return np.clip(rgb / max(float(rgb.max()), 1e-12), 0, 1)


def _plot(work: Path, img, rows, recon) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for family, marker in (("CP", "o"), ("Tucker", "s"), ("TT", "^")):
        pts = [(r["compression"], r["psnr"]) for r in rows if r["family"] == family]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=marker, label=family)
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (dense / params)")
    ax.set_ylabel("PSNR (dB)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(work / "psnr_vs_compression.png", dpi=120)
    plt.close(fig)

    best = {}
    for r in rows:  # the most compressed model of each family with PSNR >= 30 dB, else the best
        cur = best.get(r["family"])
        good = r["psnr"] >= 30
        if (
            cur is None
            or (good and (cur["psnr"] < 30 or r["compression"] > cur["compression"]))
            or (not good and cur["psnr"] < 30 and r["psnr"] > cur["psnr"])
        ):
            best[r["family"]] = r
    panels = [("original", img)] + [
        (f"{f} {r['rank']}\n{r['compression']:.0f}x, {r['psnr']:.1f} dB", recon[(f, r["rank"])])
        for f, r in best.items()
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.4), layout="constrained")
    for ax, (title, im) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(_rgb(im))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.savefig(work / "reconstructions.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
