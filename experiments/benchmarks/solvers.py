"""Speed of lrjax's low-rank solvers: robust PCA against a NumPy/SciPy implementation of the
same inexact ALM, exact vs randomized SVT inside robust PCA, a vmapped batch of small
problems against a Python loop, and vmapped random starts of a Levenberg-Marquardt solver
(``block_term``) against a loop of single starts.

Usage:
    python -m experiments.benchmarks.solvers [--out docs/benchmarks_solvers.md] [--n 2000]
    python -m experiments.benchmarks.solvers --only-starts   # print the last table only
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import lrjax  # noqa: E402
from experiments.benchmarks.foundation import machine, write_report  # noqa: E402


def planted(n, rank, frac, seed):
    """Candès et al. 2011 setting (``lrjax.testing.random_low_rank_plus_sparse``), as NumPy."""
    low, sparse = lrjax.testing.random_low_rank_plus_sparse(jax.random.key(seed), n, rank, frac)
    return np.asarray(low), np.asarray(sparse)


def numpy_rpca(m, tol=1e-7, maxiter=500, rho=1.15):
    """Reference inexact ALM in NumPy/SciPy (Lin, Chen & Ma 2010, Algorithm 5, with
    ``lrjax.robust_pca``'s default penalty growth 1.15 in place of their 1.5)."""
    import scipy.linalg

    lam = 1.0 / np.sqrt(max(m.shape))
    norm2 = scipy.linalg.svdvals(m)[0] if min(m.shape) <= 500 else np.linalg.norm(m, 2)
    y = m / max(norm2, np.abs(m).max() / lam)
    mu = 1.25 / norm2
    mu_bar = mu * 1e7
    s = np.zeros_like(m)
    norm_m = np.linalg.norm(m)
    n_iter = 0
    while n_iter < maxiter:
        n_iter += 1
        u, sig, vt = scipy.linalg.svd(m - s + y / mu, full_matrices=False, lapack_driver="gesdd")
        low = (u * np.maximum(sig - 1 / mu, 0)) @ vt
        t = m - low + y / mu
        s = np.sign(t) * np.maximum(np.abs(t) - lam / mu, 0)
        z = m - low - s
        y = y + mu * z
        mu = min(mu * rho, mu_bar)
        if np.linalg.norm(z) / norm_m < tol:
            break
    return low, s, n_iter


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def block_term_starts(n_starts: int = 8) -> list[str]:
    """Random starts of ``block_term`` (the guide's recipe, docs/decompositions.md): one
    ``jit(vmap)`` call over the keys against a Python loop of jitted single starts (the anchor).
    Returns the report's lines."""
    rng = np.random.default_rng(1)
    planted = lrjax.BlockTermTensor(
        rng.normal(size=(2, 2, 3, 2)),
        [rng.normal(size=(2, k, r)) for k, r in zip((6, 8, 5), (2, 3, 2), strict=True)],
    )
    x = jnp.asarray(planted.to_dense())
    one = jax.jit(lambda key: lrjax.block_term(x, 2, (2, 3, 2), key=key, maxiter=100))
    many = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.key(0), n_starts)
    jax.block_until_ready((many(keys), one(keys[0])))  # compile both
    t0 = time.perf_counter()
    out = jax.block_until_ready(many(keys))
    t_vmap = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in keys:
        jax.block_until_ready(one(k))
    t_loop = time.perf_counter() - t0
    iters = np.asarray(out.info.n_iter)
    lines = [
        f"## {n_starts} random starts of `block_term`, 6×8×5, 2 blocks of rank (2, 3, 2)",
        "",
        "| method | time | per start |",
        "|---|---|---|",
        f"| Python loop of jitted single starts (anchor) | {1e3 * t_loop:.0f} ms | "
        f"{1e3 * t_loop / n_starts:.1f} ms |",
        f"| `jit(vmap(block_term))` over the keys | {1e3 * t_vmap:.0f} ms | "
        f"{1e3 * t_vmap / n_starts:.1f} ms |",
        "",
        f"loop / vmap: {t_loop / t_vmap:.2f}x. Iterations per start: {iters.tolist()}; best "
        f"relative error {float(np.min(np.asarray(out.info.error))):.1e}. Under `vmap` every",
        "start runs as many iterations as the slowest, and each Levenberg-Marquardt iteration",
        "as many damping tries (CG solves) as the start that needs the most.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks_solvers.md")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rank", type=int, default=50)
    parser.add_argument("--only-starts", action="store_true", help="print the last table only")
    args = parser.parse_args()
    if args.only_starts:
        print("\n".join(block_term_starts()))
        return
    n, r = args.n, args.rank
    low, sparse = planted(n, r, 0.05, seed=0)
    m = low + sparse
    mj = jnp.asarray(m)
    rows = []

    def timed(fn):
        jax.block_until_ready(fn())  # compile
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        return out, time.perf_counter() - t0

    exact, t_exact = timed(lambda: lrjax.robust_pca(mj))
    with lrjax.linalg.lapack_threads(1):
        _, t_exact_1 = timed(lambda: lrjax.robust_pca(mj))
    fast, t_fast = timed(
        lambda: lrjax.robust_pca(mj, low_rank=lrjax.RandomizedSVT(2 * r, jax.random.key(0)))
    )
    t0 = time.perf_counter()
    low_np, _, it_np = numpy_rpca(m)
    t_np = time.perf_counter() - t0
    it_exact, it_fast = int(exact.info.n_iter), int(fast.info.n_iter)
    rows += [
        ("lrjax `robust_pca`, exact SVT", t_exact, it_exact, rel(exact.low_rank, low)),
        ("same, inside `lapack_threads(1)`", t_exact_1, it_exact, rel(exact.low_rank, low)),
        (
            f"lrjax `robust_pca`, randomized SVT (`RandomizedSVT({2 * r}, key)`)",
            t_fast,
            it_fast,
            rel(fast.low_rank, low),
        ),
        ("NumPy/SciPy inexact ALM (same algorithm)", t_np, it_np, rel(low_np, low)),
    ]
    for row in rows:
        print(row, flush=True)

    # A batch of 64 small problems: one vmapped call vs a Python loop of lrjax calls.
    small = [planted(40, 2, 0.05, seed=s) for s in range(64)]
    batch = jnp.stack([jnp.asarray(a + b) for a, b in small])
    batched = jax.jit(jax.vmap(lambda x: lrjax.robust_pca(x)))
    out_b, t_batch = timed(lambda: batched(batch))
    jax.block_until_ready(lrjax.robust_pca(batch[0]))
    t0 = time.perf_counter()
    for i in range(64):
        jax.block_until_ready(lrjax.robust_pca(batch[i]))
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a, b in small:
        numpy_rpca(a + b)
    t_loop_np = time.perf_counter() - t0
    errors = [rel(out_b.low_rank[i], small[i][0]) for i in range(64)]
    worst = max(errors)
    n_bad = sum(e > 1e-3 for e in errors)
    iters = np.asarray(out_b.info.n_iter)

    lines = [
        "# Benchmarks: low-rank solvers",
        "",
        "Made by `python -m experiments.benchmarks.solvers` (float64). Times are one run after",
        "a warm-up (compilation excluded); every row in one process on the same input.",
        "",
        f"Machine: {machine()}.",
        "",
        f"## Robust PCA, {n}×{n}, rank {r}, 5 % of entries corrupted by ±1 (Candès et al.)",
        "",
        "| solver | time | iterations | time / iteration | rel. error of L |",
        "|---|---|---|---|---|",
    ]
    for name, t, it, err in rows:
        lines.append(f"| {name} | {t:.2f} s | {it} | {1e3 * t / it:.0f} ms | {err:.1e} |")
    lines += [
        "",
        f"Randomized vs exact SVT: {t_exact / t_fast:.1f}x faster; lrjax exact vs NumPy/SciPy "
        f"per iteration: {(t_np / it_np) / (t_exact / it_exact):.2f}x.",
        "",
        "## A batch of 64 robust PCA problems, 40×40, rank 2",
        "",
        "| method | time | per problem |",
        "|---|---|---|",
        f"| `jit(vmap(robust_pca))` | {1e3 * t_batch:.0f} ms | {1e3 * t_batch / 64:.1f} ms |",
        f"| Python loop of `robust_pca` | {1e3 * t_loop:.0f} ms | {1e3 * t_loop / 64:.1f} ms |",
        f"| Python loop of the NumPy/SciPy ALM | {1e3 * t_loop_np:.0f} ms | "
        f"{1e3 * t_loop_np / 64:.1f} ms |",
        "",
        f"vmap vs lrjax loop: {t_loop / t_batch:.1f}x; vs NumPy loop: {t_loop_np / t_batch:.1f}x. "
        f"Worst relative error of L in the batch: {worst:.1e} ({n_bad} of 64 above 1e-3;",
        "Candès et al.'s recovery guarantee is asymptotic in n, and at n = 40 some draws fail).",
        "",
        "Why the batch is slower here: a vmapped `while_loop` runs until its slowest member",
        f"stops, so every problem pays for {iters.max()} iterations where the loop pays for its",
        f"own (mean {iters.mean():.1f}, i.e. {iters.max() / iters.mean():.2f}x the work), and on",
        "CPU the batched factorization (in float64 the eigendecomposition of each Gram matrix,",
        "`robust_pca`'s default SVT) is a loop of LAPACK calls, per problem and iteration about",
        "156 µs against 200 µs alone (2026-12-07). Freezing the members that have stopped",
        "(stepping only the active ones, in chunks of 8) gained 10-15 % in a prototype, not the",
        "iteration count's",
        "factor, since smaller batches lose what the batched call gains; it is not in the",
        "library. The batch pays off on accelerators, where the 64 factorizations run as one",
        "kernel; no GPU was available to measure it.",
        "",
    ]
    lines += block_term_starts()
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
