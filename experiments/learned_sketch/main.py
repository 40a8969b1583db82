"""Learned CountSketch for low-rank approximation on the shipped data.

Indyk, Vakilian & Yuan (NeurIPS 2019) learn the values of a CountSketch ``S`` (positions
random and fixed) by gradient descent on ``mean_i ||A_i - SCW_k(A_i, S)||_F^2`` over training
matrices, and report the held-out error minus the optimal rank-``k`` error against a random
CountSketch and a Gaussian sketch. Their collections are video frames ("Logo", "Eagle",
"Friends") and hyperspectral images ("Hyper"); the shipped collections of the same kinds:

* ``msi`` — the 31 bands of the CAVE "cloth" cube (256 x 256), bands 0-19 for training and
  20-30 for testing (a held-out spectral range);
* ``highway`` — CDnet 2014 ``highway`` frames (240 x 320 gray), the first 60 % of the shipped
  300-frame window for training, the rest for testing, every ``frame_step``-th frame;
* ``hall`` — the 50 I2R ``Hall`` frames (144 x 176 gray), first 30 / last 20.

For every ``(k, m)`` with ``k <= m``: the learned CountSketch, the random one it starts from,
a Gaussian ``m x n`` sketch, and the optimum (truncated SVD), as the mean held-out Frobenius
error ``||A - A'||_F`` and its excess over the optimum. Writes ``report.md``,
``results.json`` and ``learning_curve.png`` under the workdir.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments._imaging import computed_dtype, markdown_table
from experiments._workdir import WorkdirLock
from lrjax import linalg
from lrjax.data import load_cdnet_highway, load_i2r_hall, load_msi

DATASETS = ("msi", "highway", "hall")


def collection(name: str, frame_step: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` stacks of matrices of the named collection."""
    if name == "msi":
        cube = np.moveaxis(load_msi("cloth"), -1, 0)  # (31, 256, 256)
        return cube[:20], cube[20:]
    if name == "highway":
        frames = load_cdnet_highway(n_frames=300).frames[::frame_step]
        cut = int(0.6 * len(frames))
        return frames[:cut], frames[cut:]
    if name == "hall":
        frames = load_i2r_hall().frames
        return frames[: 30 : frame_step // 5 or 1], frames[30:]
    raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}.")


def validate(config) -> list[str]:
    """Problems with ``config``, one line each."""
    problems = [f"datasets: unknown {d!r}" for d in config.datasets if d not in DATASETS]
    if not any(k <= m for k in config.ranks for m in config.sketch_sizes):
        problems.append("ranks / sketch_sizes: no pair with k <= m")
    if config.steps < 1:
        problems.append(f"steps: must be >= 1, got {config.steps}")
    return problems


def _errors(sketch, mats, k):
    approx = jax.jit(jax.vmap(lambda a: linalg.sketched_lra(a, sketch, k)))(mats)
    return np.asarray(jnp.sqrt(jnp.sum((mats - approx) ** 2, axis=(1, 2))))


def _optimal(mats, k):
    s = np.linalg.svd(np.asarray(mats, np.float64), compute_uv=False)
    return np.sqrt(np.sum(s[:, k:] ** 2, axis=1))


def _run(config, workdir: Path) -> dict:
    import optax

    dtype = computed_dtype(config)
    results, curves = [], {}
    key = jax.random.key(config.seed)
    for name in config.datasets:
        train_np, test_np = collection(name, config.frame_step)
        train, test = jnp.asarray(train_np, dtype), jnp.asarray(test_np, dtype)
        n = train.shape[1]
        for k in config.ranks:
            opt = _optimal(test_np, k)
            for m in config.sketch_sizes:
                if k > m:
                    continue
                key, k_cs, k_g, k_b = jax.random.split(key, 4)
                random_cs = linalg.count_sketch(k_cs, m, n, dtype=dtype)
                gaussian = linalg.gaussian_sketch(k_g, m, n, dtype=dtype)
                t0 = time.perf_counter()
                batch = config.batch_size or None
                learned, losses = linalg.learn_sketch(
                    train,
                    random_cs,
                    k,
                    steps=config.steps,
                    optimizer=optax.adam(config.learning_rate),
                    batch_size=batch,
                    key=k_b if batch else None,
                )
                seconds = time.perf_counter() - t0
                errs = {
                    "learned": _errors(learned, test, k),
                    "countsketch": _errors(random_cs, test, k),
                    "gaussian": _errors(gaussian, test, k),
                }
                row = {
                    "dataset": name,
                    "shape": list(train.shape[1:]),
                    "n_train": int(train.shape[0]),
                    "n_test": int(test.shape[0]),
                    "k": k,
                    "m": m,
                    "optimal": float(opt.mean()),
                    **{f"{s}": float(e.mean()) for s, e in errs.items()},
                    **{f"{s}_excess": float((e - opt).mean()) for s, e in errs.items()},
                    "train_seconds": seconds,
                }
                results.append(row)
                print(json.dumps(row), flush=True)
                if (k, m) == (config.curve_rank, config.curve_sketch):
                    floor = float(np.mean(_optimal(train_np, k) ** 2))  # optimal training loss
                    excess = np.asarray(losses, np.float64) - floor
                    curves[name] = excess / excess[0]
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    _figure(curves, workdir / "learning_curve.png", config)
    (workdir / "report.md").write_text("\n".join(report(results, config)) + "\n")
    return {"results": results}


def report(results: list[dict], config) -> list[str]:
    """The table of held-out errors, as Markdown lines."""
    header = [
        "data", "k", "m", "optimal", "learned CS", "random CS", "Gaussian",
        "excess: learned", "excess: random CS", "excess: Gaussian", "learned / random",
    ]  # fmt: skip
    rows = []
    for r in results:
        ratio = r["learned_excess"] / r["countsketch_excess"] if r["countsketch_excess"] else 0
        rows.append([
            f"{r['dataset']} ({r['shape'][0]}×{r['shape'][1]}, {r['n_train']}/{r['n_test']})",
            r["k"], r["m"], f"{r['optimal']:.3f}", f"{r['learned']:.3f}",
            f"{r['countsketch']:.3f}", f"{r['gaussian']:.3f}", f"{r['learned_excess']:.3f}",
            f"{r['countsketch_excess']:.3f}", f"{r['gaussian_excess']:.3f}", f"{ratio:.2f}",
        ])  # fmt: skip
    lines = [
        "Held-out mean Frobenius error `‖A − A′‖_F` (data in [0, 1]) and its excess over the",
        "optimal rank-k error; `learned / random` is the learned CountSketch's excess over the",
        f"random CountSketch it started from (goal <= 0.5). {config.steps} Adam steps, learning "
        f"rate {config.learning_rate}, dtype {config.dtype}; data (train/test matrices).",
        "",
        *markdown_table(header, rows),
    ]
    return lines


def _figure(curves: dict, path: Path, config) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, loss in curves.items():
        ax.semilogy(np.arange(1, len(loss) + 1), loss, label=name)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("excess training loss / initial")
    ax.set_title(f"learned CountSketch, k={config.curve_rank}, m={config.curve_sketch}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(config, workdir: str) -> dict:
    """Train and evaluate every (dataset, k, m) of ``config``; results under ``workdir``.

    Holds an exclusive lock on ``workdir`` while it runs.
    """
    path = Path(workdir)
    path.mkdir(parents=True, exist_ok=True)
    with WorkdirLock(workdir):
        return _run(config, path)
