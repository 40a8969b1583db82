"""Compressed factorization on planted and real data.

Sharan, Tai, Bailis & Valiant (ICML 2019): data ``M = W H`` with a sparse non-negative ``W`` is
observed only as ``Y = P M``; factorize ``Y`` (small) and recover ``W`` by sparse recovery
(:func:`lrjax.compressed_factorization`), instead of factorizing ``M``
(:func:`lrjax.nmf`). Reported: the relative error ``||M - W H||_F / ||M||_F`` of the
recovered model against NMF of the uncompressed data, and both times.

* planted: ``W`` with a given density of non-zeros, compression ratios ``d / d'``: the phase
  transition between recovery and failure (figure ``phase_transition.png``);
* real: Yale B faces (pixels x images) and the CAVE "chart" cube (pixels x bands), with the
  density of the uncompressed NMF's ``W`` (the method's assumption is a sparse ``W``).

Writes ``report.md``, ``results.json`` and ``phase_transition.png`` under the workdir.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import lrjax
from experiments._imaging import markdown_table
from experiments._workdir import WorkdirLock
from lrjax import linalg
from lrjax.data import load_faces, load_msi

REAL = ("faces", "msi")


def validate(config) -> list[str]:
    """Problems with ``config``, one line each."""
    problems = [f"real: unknown {r!r}" for r in config.real if r not in REAL]
    if any(not 0 < d <= 1 for d in config.densities):
        problems.append(f"densities: must lie in (0, 1], got {config.densities}")
    if any(r < 1 for r in (*config.ratios, *config.real_ratios)):
        problems.append("ratios / real_ratios: must be >= 1")
    if config.p_nnz < 1:
        problems.append(f"p_nnz: must be >= 1, got {config.p_nnz}")
    return problems


def compression(rng, d: int, ratio: float, nnz: int) -> linalg.SparseSignSketch:
    """``(d', d)`` non-negative sparse ``P``, ``d' = d // ratio``: ``nnz`` entries
    ``1 / sqrt(nnz)`` per column in distinct random rows, as a sketch (applied without
    forming the matrix)."""
    dc = max(1, int(d // ratio))
    s = linalg.sparse_sign_sketch(jax.random.key(int(rng.integers(2**31))), dc, d, nnz=min(nnz, dc))
    return linalg.SparseSignSketch(s.rows, jnp.abs(s.values), s.m)


def _timed(fn):
    jax.block_until_ready(fn())  # compile
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - t0


def _compare(m, p, rank, config, key):
    mj, pj = jnp.asarray(m), p
    opts = dict(key=key, maxiter=config.maxiter, tol=config.tol)
    full, t_full = _timed(lambda: lrjax.nmf(mj, rank, **opts))
    yj = pj.apply(mj)
    comp, t_comp = _timed(
        lambda: lrjax.compressed_factorization(
            yj, pj, rank, reg=config.reg, recovery_iters=config.recovery_iters, **opts
        )
    )
    err = float(jnp.linalg.norm(mj - comp.w @ comp.h) / jnp.linalg.norm(mj))
    w = np.asarray(full.w)
    return {
        "nmf_error": float(full.info.error),
        "compressed_error": err,
        "y_error": float(comp.info.error),
        "nmf_seconds": t_full,
        "compressed_seconds": t_comp,
        "w_density": float(np.mean(w > 1e-2 * w.max(axis=0, keepdims=True))),
    }


def _real(name: str):
    if name == "faces":
        images, _ = load_faces()
        return images.reshape(len(images), -1).T  # (1024 pixels, 2414 images)
    cube = load_msi("chart_and_stuffed_toy")[::2, ::2]  # 75 x 75 x 31
    return cube.reshape(-1, cube.shape[-1])  # (5625 pixels, 31 bands)


def _run(config, workdir: Path) -> dict:
    rng = np.random.default_rng(config.seed)
    key = jax.random.key(config.seed)
    planted, real = [], []
    d, n, r = config.planted_d, config.planted_n, config.planted_rank
    for density in config.densities:
        w = rng.uniform(0.5, 1.5, (d, r)) * (rng.uniform(size=(d, r)) < density)
        w[rng.integers(0, d, r), np.arange(r)] = 1.0
        m = w @ rng.uniform(size=(r, n))
        for ratio in config.ratios:
            p = compression(rng, d, ratio, config.p_nnz)
            row = {"density": density, "ratio": ratio, **_compare(m, p, r, config, key)}
            planted.append(row)
            print(json.dumps(row), flush=True)
    for name in config.real:
        m = _real(name)
        rank = config.faces_rank if name == "faces" else config.msi_rank
        for ratio in config.real_ratios:
            p = compression(rng, m.shape[0], ratio, config.p_nnz)
            row = {"data": name, "shape": list(m.shape), "rank": rank, "ratio": ratio}
            row.update(_compare(m, p, rank, config, key))
            real.append(row)
            print(json.dumps(row), flush=True)
    results = {"planted": planted, "real": real}
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    (workdir / "report.md").write_text("\n".join(report(results, config)) + "\n")
    if planted:
        _figure(planted, workdir / "phase_transition.png", config)
    return results


def report(results: dict, config) -> list[str]:
    """Markdown tables of the planted grid and the real data."""
    rows = [
        [r["density"], f"{r['ratio']}x", f"{r['nmf_error']:.1e}", f"{r['compressed_error']:.1e}",
         f"{1e3 * r['nmf_seconds']:.0f} ms", f"{1e3 * r['compressed_seconds']:.0f} ms"]
        for r in results["planted"]
    ]  # fmt: skip
    lines = [
        f"Planted `M = W H` ({config.planted_d} × {config.planted_n}, rank "
        f"{config.planted_rank}, `W` with the given density of non-zeros), relative error of "
        "the model:",
        "",
        *markdown_table(
            [
                "density of W",
                "compression",
                "NMF of M",
                "compressed",
                "NMF time",
                "compressed time",
            ],
            rows,
        ),
        "",
    ]
    if results["real"]:
        rows = [
            [f"{r['data']} ({r['shape'][0]}×{r['shape'][1]})", r["rank"], f"{r['ratio']}x",
             f"{r['w_density']:.0%}", f"{r['nmf_error']:.4f}", f"{r['compressed_error']:.4f}",
             f"{r['compressed_error'] / r['nmf_error']:.2f}",
             f"{1e3 * r['nmf_seconds']:.0f} ms", f"{1e3 * r['compressed_seconds']:.0f} ms"]
            for r in results["real"]
        ]  # fmt: skip
        lines += [
            "Real data (density of W: entries above 1 % of their column's maximum in the "
            "uncompressed NMF):",
            "",
            *markdown_table(
                [
                    "data",
                    "rank",
                    "compression",
                    "density of W",
                    "NMF of M",
                    "compressed",
                    "ratio",
                    "NMF time",
                    "compressed time",
                ],
                rows,
            ),
            "",
        ]
    return lines


def _figure(planted, path: Path, config) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for density in config.densities:
        pts = [(r["ratio"], r["compressed_error"]) for r in planted if r["density"] == density]
        ax.loglog(*zip(*pts, strict=True), marker="o", label=f"density {density:g}")
    ax.set_xlabel("compression d / d'")
    ax.set_ylabel("relative error of W H")
    ax.set_title("compressed NMF, planted sparse W")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(config, workdir: str) -> dict:
    """Every planted and real case of ``config``; results under ``workdir``.

    Holds an exclusive lock on ``workdir`` while it runs.
    """
    path = Path(workdir)
    path.mkdir(parents=True, exist_ok=True)
    with WorkdirLock(workdir):
        return _run(config, path)
