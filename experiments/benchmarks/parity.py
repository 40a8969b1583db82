"""Speed of the decompositions added for TensorLy parity (issue 34) against TensorLy's own.

Usage:
    python -m experiments.benchmarks.parity [--out docs/benchmarks_parity.md] [--repeats 5]

float64, jitted lrjax calls (compiled once before timing), TensorLy with its NumPy backend;
best of ``repeats`` after a warm-up; the ratio is TensorLy's time over lrjax's in the same
process, and the relative reconstruction errors of both are reported beside it.
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import lrjax  # noqa: E402
from experiments.benchmarks._common import best_time  # noqa: E402
from experiments.benchmarks._report import write_report  # noqa: E402


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def bench_tt_matrix(rows, cols, rank, repeats):
    """``tt_matrix_svd`` vs ``tensorly.decomposition.tensor_train_matrix`` on a random matrix of
    TT-matrix rank ``rank`` plus 1 % noise, given as TensorLy's order-2N tensor."""
    import tensorly as tl
    from tensorly.decomposition import tensor_train_matrix
    from tensorly.tt_matrix import tt_matrix_to_tensor

    rng = np.random.default_rng(0)
    n = len(rows)
    ranks = [1] + [rank] * (n - 1) + [1]
    cores = [rng.standard_normal((ranks[k], rows[k], cols[k], ranks[k + 1])) for k in range(n)]
    dense = lrjax.TTMatrix(tuple(jnp.asarray(c) for c in cores)).to_dense()
    x = np.asarray(dense).reshape(*rows, *cols)
    x = x + 0.01 * np.std(x) * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    ours = jax.jit(lambda x: lrjax.tt_matrix_svd(x, rank).to_dense())
    t_lr = best_time(lambda: ours(xj), repeats)
    theirs = lambda: tensor_train_matrix(tl.tensor(x), ranks)
    t_tl = best_time(theirs, repeats)
    flat = x.reshape(int(np.prod(rows)), int(np.prod(cols)))
    err_lr = _rel(ours(xj), flat)
    err_tl = _rel(np.asarray(tt_matrix_to_tensor(theirs())).reshape(flat.shape), flat)
    return t_lr, t_tl, err_lr, err_tl


def bench_cp_power(shape, rank, repeats, symmetric=False):
    """``cp_power`` vs TensorLy's power iteration (defaults n_repeat = n_iteration = 10) on a
    planted rank-``rank`` tensor (orthogonal and symmetric with ``symmetric``) plus 1 % noise."""
    import tensorly as tl
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import (
        parafac_power_iteration,
        symmetric_parafac_power_iteration,
    )

    rng = np.random.default_rng(0)
    if symmetric:
        u = np.linalg.qr(rng.standard_normal((shape[0], rank)))[0]
        x = np.einsum("r,ir,jr,kr->ijk", np.arange(rank, 0, -1.0), u, u, u)
    else:
        x = np.einsum("ir,jr,kr->ijk", *(rng.standard_normal((n, rank)) for n in shape))
    x = x + 0.01 * np.std(x) * rng.standard_normal(x.shape)
    xj, key = jnp.asarray(x), jax.random.key(0)
    ours = jax.jit(lambda x: lrjax.cp_power(x, rank, key=key, symmetric=symmetric).cp.to_dense())
    t_lr = best_time(lambda: ours(xj), repeats)
    if symmetric:
        theirs = lambda: symmetric_parafac_power_iteration(tl.tensor(x), rank)
        w, f = theirs()
        rec = np.einsum("r,ir,jr,kr->ijk", w, f, f, f)
    else:
        theirs = lambda: parafac_power_iteration(tl.tensor(x), rank)
        rec = cp_to_tensor(theirs())
    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj), x), _rel(rec, x)


def bench_tucker_nonneg(shape, ranks, sweeps, repeats, method="mu"):
    """``tucker_nonneg`` vs TensorLy's ``non_negative_tucker`` (``method="hals"``:
    ``non_negative_tucker_hals``) from the same random start, a fixed number of sweeps (tol 0)
    on a planted non-negative Tucker tensor plus 1 % noise."""
    import tensorly as tl
    from tensorly.decomposition import non_negative_tucker, non_negative_tucker_hals
    from tensorly.tucker_tensor import TuckerTensor as TLTucker

    rng = np.random.default_rng(0)
    factors = [rng.uniform(size=(n, r)) for n, r in zip(shape, ranks, strict=True)]
    core = rng.uniform(size=ranks)
    x = TLTucker((core, factors)).to_tensor()
    x = x + 0.01 * np.std(x) * np.abs(rng.standard_normal(x.shape))
    core0 = rng.uniform(size=ranks)
    factors0 = [rng.uniform(size=(n, r)) for n, r in zip(shape, ranks, strict=True)]
    start = lrjax.TuckerTensor(jnp.asarray(core0), tuple(jnp.asarray(f) for f in factors0))
    xj = jnp.asarray(x)
    ours = jax.jit(
        lambda x, s: lrjax.tucker_nonneg(
            x, ranks, init=s, method=method, maxiter=sweeps, tol=0.0
        ).tucker.to_dense()
    )
    t_lr = best_time(lambda: ours(xj, start), repeats)

    def theirs():
        init = TLTucker((core0.copy(), [f.copy() for f in factors0]))
        fn = non_negative_tucker_hals if method == "hals" else non_negative_tucker
        out = fn(tl.tensor(x), list(ranks), n_iter_max=sweeps, tol=0.0, init=init)
        return TLTucker(tuple(out))

    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj, start), x), _rel(theirs().to_tensor(), x)


def bench_partial_tucker(shape, ranks, modes, sweeps, repeats):
    """``tucker_hooi(modes=)`` vs TensorLy's ``partial_tucker``, SVD start, a fixed number of
    sweeps (tol 0) on a planted Tucker tensor (low rank on ``modes`` only) plus 1 % noise."""
    import tensorly as tl
    from tensorly.decomposition import partial_tucker
    from tensorly.tenalg import multi_mode_dot

    rng = np.random.default_rng(0)
    full = [ranks[modes.index(m)] if m in modes else n for m, n in enumerate(shape)]
    x = multi_mode_dot(
        rng.standard_normal(full),
        [rng.standard_normal((shape[m], full[m])) for m in modes],
        modes=list(modes),
    )
    x = x + 0.01 * np.std(x) * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    ours = jax.jit(
        lambda x: lrjax.tucker_hooi(
            x, ranks, modes=modes, maxiter=sweeps, tol=0.0
        ).tucker.to_dense()
    )
    t_lr = best_time(lambda: ours(xj), repeats)

    def theirs():
        return partial_tucker(tl.tensor(x), list(ranks), modes=list(modes), n_iter_max=sweeps,
                              tol=0.0)[0]  # fmt: skip

    t_tl = best_time(theirs, repeats)
    core, factors = theirs()
    return t_lr, t_tl, _rel(ours(xj), x), _rel(multi_mode_dot(core, factors, modes=list(modes)), x)


def bench_cp_randomized(shape, rank, n_samples, sweeps, repeats):
    """``cp_randomized`` vs TensorLy's ``randomised_parafac`` (both leverage sampling, random
    start, a fixed number of sweeps) on a planted CP tensor plus 1 % noise."""
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import randomised_parafac
    from tensorly.random import random_cp

    x = random_cp(shape=shape, rank=rank, full=True, random_state=0)
    x = x + 0.01 * np.std(x) * np.random.default_rng(0).standard_normal(x.shape)
    xj = jnp.asarray(x)
    ours = jax.jit(
        lambda x, k: lrjax.cp_randomized(
            x, rank, n_samples=n_samples, key=k, maxiter=sweeps, tol=0.0
        ).cp.to_dense()
    )
    t_lr = best_time(lambda: ours(xj, jax.random.key(0)), repeats)

    def theirs():
        return randomised_parafac(x, rank, n_samples, n_iter_max=sweeps, tol=0.0, random_state=0)

    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj, jax.random.key(0)), x), _rel(cp_to_tensor(theirs()), x)


def bench_cmtf(shape, cols, rank, sweeps, repeats):
    """``cmtf`` vs TensorLy's ``coupled_matrix_tensor_3d_factorization`` (SVD start, a fixed
    number of sweeps) on a planted coupled pair plus 1 % noise; error over both data sets."""
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import coupled_matrix_tensor_3d_factorization

    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((n, rank)) for n in shape)
    v = rng.standard_normal((cols, rank))
    x = np.einsum("ir,jr,kr->ijk", a, b, c)
    y = a @ v.T
    x = x + 0.01 * x.std() * rng.standard_normal(x.shape)
    y = y + 0.01 * y.std() * rng.standard_normal(y.shape)
    norm = np.sqrt(np.sum(x**2) + np.sum(y**2))
    ours = jax.jit(lambda x, y: lrjax.cmtf(x, y, rank, maxiter=sweeps, tol=0.0)[:2])
    t_lr = best_time(lambda: ours(jnp.asarray(x), jnp.asarray(y)), repeats)

    def theirs():
        return coupled_matrix_tensor_3d_factorization(x, y, rank, n_iter_max=sweeps, tol=0.0)

    t_tl = best_time(theirs, repeats)
    tm, mm = ours(jnp.asarray(x), jnp.asarray(y))
    xp, yp, _ = theirs()
    err = lambda xh, yh: float(np.sqrt(np.sum((x - xh) ** 2) + np.sum((y - yh) ** 2)) / norm)
    return (t_lr, t_tl, err(np.asarray(tm.to_dense()), np.asarray(mm.to_dense())),
            err(cp_to_tensor(xp), cp_to_tensor(yp)))  # fmt: skip


def _tl_ring(shape, rank, seed):
    from tensorly.random import random_tr

    return random_tr(shape, rank, random_state=seed)


def bench_tr_svd(shape, rank, repeats):
    """``tr_svd`` vs TensorLy's ``tensor_ring`` on a planted ring of ranks ``rank`` (TensorLy's
    uniform cores) plus 1 % noise."""
    from tensorly.decomposition import tensor_ring

    rng = np.random.default_rng(0)
    x = np.asarray(_tl_ring(shape, rank, 1234).to_tensor())
    x = x + 0.01 * x.std() * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    ours = jax.jit(lambda x: lrjax.tr_svd(x, rank))  # the cores, as TensorLy returns them
    t_lr = best_time(lambda: ours(xj), repeats)
    t_tl = best_time(lambda: tensor_ring(x, rank), repeats)
    return t_lr, t_tl, _rel(ours(xj).to_dense(), x), _rel(tensor_ring(x, rank).to_tensor(), x)


def bench_tr_als(shape, rank, sweeps, repeats):
    """``tr_als`` vs TensorLy's ``tensor_ring_als`` (default ``ls_solve="lstsq"``) from the same
    random start (TensorLy's first draw, given to lrjax as ``init``), a fixed number of sweeps,
    on a planted ring plus 1 % noise."""
    from tensorly.decomposition import tensor_ring_als

    rng = np.random.default_rng(0)
    x = np.asarray(_tl_ring(shape, rank, 1234).to_tensor())
    x = x + 0.01 * x.std() * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    start = lrjax.TRTensor(tuple(jnp.asarray(c) for c in _tl_ring(shape, rank, 0)))
    ours = jax.jit(lambda x, s: lrjax.tr_als(x, rank, init=s, maxiter=sweeps, tol=0.0).tr)
    t_lr = best_time(lambda: ours(xj, start), repeats)

    def theirs():
        return tensor_ring_als(x, rank, n_iter_max=sweeps, tol=0.0, random_state=0)

    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj, start).to_dense(), x), _rel(theirs().to_tensor(), x)


def bench_tr_als_sampled(shape, rank, n_samples, sweeps, repeats):
    """``tr_als(n_samples=)`` vs TensorLy's ``tensor_ring_als_sampled`` (leverage-score
    sampling) from the same start, fixed sweeps (tolerances 0), on a planted ring plus 1 %
    noise; each library draws its own samples."""
    from tensorly.decomposition import tensor_ring_als_sampled

    rng = np.random.default_rng(0)
    x = np.asarray(_tl_ring(shape, rank, 1234).to_tensor())
    x = x + 0.01 * x.std() * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    start = lrjax.TRTensor(tuple(jnp.asarray(c) for c in _tl_ring(shape, rank, 0)))
    key = jax.random.key(0)
    ours = jax.jit(
        lambda x, s: (
            lrjax.tr_als(x, rank, init=s, key=key, n_samples=n_samples, maxiter=sweeps, tol=0.0).tr
        )
    )
    t_lr = best_time(lambda: ours(xj, start), repeats)

    def theirs():
        return tensor_ring_als_sampled(
            x, rank, n_samples, n_iter_max=sweeps, tol=0.0, random_state=0
        )

    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj, start).to_dense(), x), _rel(theirs().to_tensor(), x)


def bench_cp_constrained(shape, rank, sweeps, inner, repeats):
    """``cp_constrained`` with ``prox_nonneg`` vs TensorLy's ``constrained_parafac``
    (``non_negative=True``) from the same start (planted non-negative factors plus 10 %
    uniform noise, TensorLy's test recipe), fixed sweeps and ADMM steps (both tolerances 0),
    on the planted tensor plus 1 % noise."""
    from tensorly.cp_tensor import CPTensor as TLCP
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import constrained_parafac

    rng = np.random.default_rng(0)
    facs = [rng.random((n, rank)) for n in shape]
    x = np.asarray(cp_to_tensor((np.ones(rank), facs)))
    x = x + 0.01 * x.std() * rng.standard_normal(x.shape)
    start = [f + 0.1 * rng.random(f.shape) for f in facs]
    init = lrjax.CPTensor(jnp.ones(rank), tuple(jnp.asarray(f) for f in start))
    nonneg = lrjax.prox.prox_nonneg
    ours = jax.jit(
        lambda x, s: (
            lrjax.cp_constrained(
                x, rank, prox=nonneg, init=s, maxiter=sweeps, inner=inner, tol=0.0
            ).cp
        )
    )
    xj = jnp.asarray(x)
    t_lr = best_time(lambda: ours(xj, init), repeats)

    def theirs():
        return constrained_parafac(
            x, rank, init=TLCP((np.ones(rank), [f.copy() for f in start])), n_iter_max=sweeps,
            n_iter_max_inner=inner, tol_outer=0, tol_inner=0, non_negative=True,
        )  # fmt: skip

    t_tl = best_time(theirs, repeats)
    return t_lr, t_tl, _rel(ours(xj, init).to_dense(), x), _rel(cp_to_tensor(theirs()), x)


CASES = [
    ("tt_matrix_svd, TensorLy's test shape (2,3,4) x (3,2,2), rank 2", (2, 3, 4), (3, 2, 2), 2),
    ("tt_matrix_svd, 4096 x 4096 as (8,8,8,8) x (8,8,8,8), rank 16", (8,) * 4, (8,) * 4, 16),
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/benchmarks_parity.md")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import tensorly

    lines = [
        "# Parity decompositions against TensorLy",
        "",
        "```bash",
        "python -m experiments.benchmarks.parity",
        "```",
        "",
        f"jax {jax.__version__}, TensorLy {tensorly.__version__} (NumPy backend), "
        f"{os.cpu_count()} CPU cores, float64, best of {args.repeats}; speedup = TensorLy's time "
        "over lrjax's, measured in the same process.",
        "",
        "| task | lrjax (ms) | TensorLy (ms) | speedup | rel. error lrjax | rel. error TensorLy |",
        "|---|---|---|---|---|---|",
    ]
    jobs = [(name, lambda r=r, c=c, k=k: bench_tt_matrix(r, c, k, args.repeats))
            for name, r, c, k in CASES]  # fmt: skip
    jobs += [
        ("cp_power, 20^3 rank 3", lambda: bench_cp_power((20,) * 3, 3, args.repeats)),
        ("cp_power, 100^3 rank 5", lambda: bench_cp_power((100,) * 3, 5, args.repeats)),
        ("tucker_nonneg, 40^3 ranks 5, 100 sweeps",
         lambda: bench_tucker_nonneg((40,) * 3, (5,) * 3, 100, args.repeats)),
        ("tucker_nonneg, 100^3 ranks 10, 100 sweeps",
         lambda: bench_tucker_nonneg((100,) * 3, (10,) * 3, 100, args.repeats)),
        ("tucker_nonneg HALS, 40^3 ranks 5, 20 sweeps",
         lambda: bench_tucker_nonneg((40,) * 3, (5,) * 3, 20, args.repeats, method="hals")),
        ("tucker_nonneg HALS, 100^3 ranks 10, 20 sweeps",
         lambda: bench_tucker_nonneg((100,) * 3, (10,) * 3, 20, args.repeats, method="hals")),
        ("cmtf, 21 x 12 x 16 + 21 x 14 (TensorLy's test sizes) rank 3, 100 sweeps",
         lambda: bench_cmtf((21, 12, 16), 14, 3, 100, args.repeats)),
        ("cmtf, 100^3 + 100 x 50 rank 5, 50 sweeps",
         lambda: bench_cmtf((100,) * 3, 50, 5, 50, args.repeats)),
        ("cp_randomized, 100^3 rank 5, 200 samples, 50 sweeps",
         lambda: bench_cp_randomized((100,) * 3, 5, 200, 50, args.repeats)),
        ("cp_randomized, 200^3 rank 10, 400 samples, 30 sweeps",
         lambda: bench_cp_randomized((200,) * 3, 10, 400, 30, args.repeats)),
        ("partial Tucker, 64 x 64 x 3 x 3 (conv kernel), modes 0 1 ranks 16, 20 sweeps",
         lambda: bench_partial_tucker((64, 64, 3, 3), (16, 16), (0, 1), 20, args.repeats)),
        ("partial Tucker, 100^3 modes 1 2 ranks 10, 20 sweeps",
         lambda: bench_partial_tucker((100,) * 3, (10, 10), (1, 2), 20, args.repeats)),
        ("cp_power symmetric, 50^3 rank 5 (orthogonal)",
         lambda: bench_cp_power((50,) * 3, 5, args.repeats, symmetric=True)),
        ("tr_svd, TensorLy's test shape (6,2,3,2,6) ranks (3,2,4,12,18,3)",
         lambda: bench_tr_svd((6, 2, 3, 2, 6), (3, 2, 4, 12, 18, 3), args.repeats)),
        ("tr_svd, 12^5 ranks 3",
         lambda: bench_tr_svd((12,) * 5, (3,) * 6, args.repeats)),
        ("tr_als, TensorLy's test shape (20,18,19) ranks (6,7,8,6), 100 sweeps",
         lambda: bench_tr_als((20, 18, 19), (6, 7, 8, 6), 100, args.repeats)),
        ("tr_als, 10^5 ranks 3, 20 sweeps",
         lambda: bench_tr_als((10,) * 5, (3,) * 6, 20, args.repeats)),
        ("tr_als sampled, TensorLy's test shape (20,18,19) ranks (6,7,8,6), 300 rows, "
         "50 sweeps",
         lambda: bench_tr_als_sampled((20, 18, 19), (6, 7, 8, 6), 300, 50, args.repeats)),
        ("tr_als sampled, 10^5 ranks 3, 500 rows, 20 sweeps",
         lambda: bench_tr_als_sampled((10,) * 5, (3,) * 6, 500, 20, args.repeats)),
        ("cp_constrained non-negative, TensorLy's test shape (6,8,4) rank 3, 50 sweeps",
         lambda: bench_cp_constrained((6, 8, 4), 3, 50, 10, args.repeats)),
        ("cp_constrained non-negative, 100^3 rank 5, 30 sweeps",
         lambda: bench_cp_constrained((100,) * 3, 5, 30, 10, args.repeats)),
    ]  # fmt: skip
    for name, job in jobs:
        t_lr, t_tl, e_lr, e_tl = job()
        lines.append(
            f"| {name} | {1e3 * t_lr:.3f} | {1e3 * t_tl:.3f} | {t_tl / t_lr:.2f}x | "
            f"{e_lr:.2e} | {e_tl:.2e} |"
        )
    lines += [
        "",
        "The `cp_randomized` rows are one random draw each (both libraries redraw the sampled "
        "rows every sweep, so the errors vary by seed; at equal sweeps the spread across seeds "
        "is wider than the gap between the two libraries' single draws).",
    ]
    write_report(args.out, [*lines, ""])


if __name__ == "__main__":
    main()
