"""The two distributed papers of the field, on a mesh of devices.

* **Exact consensus** (Zhu, Li, Yang, Tang & Wakin, NeurIPS 2019): DGD+LOCAL
  (:func:`lrjax.distributed.dgd_local`) on a planted low-rank ``Y`` whose columns are split
  over the agents, on a ring and on a 2-D torus: the agents' copies of the shared factor agree
  to machine precision and span the centralized factorization's subspace. Beside it, plain
  decentralized gradient descent (:func:`lrjax.distributed.dgd`) on the paper's
  least-squares illustration keeps a consensus gap proportional to its constant step.
* **Decentralized sketching** (Srinivasa, Lee, Junge & Romberg, NeurIPS 2019): every column of
  a rank-``r`` matrix sketched by its own Gaussian matrix of ``L`` rows, the matrix recovered
  by nuclear-norm-regularized least squares with its columns split over the devices
  (:func:`lrjax.distributed.recover_sketched`); success rate against ``L`` and ``r``.

Writes ``metrics.jsonl`` (one row per job, resumable), ``summary.md``, ``consensus.png`` and
``phase_transition.png``.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import lrjax.distributed as ld
from experiments._imaging import RowLog, computed_dtype, pyplot
from experiments._workdir import WorkdirLock

# which jobs to run may change between an interrupted run and its resumption
JOB_FIELDS = ("sketch.ranks", "sketch.sizes", "consensus.dgd_steps")


def validate(config) -> list[str]:
    """Problems with ``config``, one line each (checked before anything runs)."""
    problems = []
    ints = {
        "agents": config.agents,
        "consensus.rows": config.consensus.rows,
        "consensus.rank": config.consensus.rank,
        "consensus.columns_per_agent": config.consensus.columns_per_agent,
        "consensus.iterations": config.consensus.iterations,
        "consensus.record_every": config.consensus.record_every,
        "consensus.dgd_iterations": config.consensus.dgd_iterations,
        "sketch.d": config.sketch.d,
        "sketch.columns": config.sketch.columns,
        "sketch.trials": config.sketch.trials,
        "sketch.stages": config.sketch.stages,
        "sketch.maxiter": config.sketch.maxiter,
    }
    for name, v in ints.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            problems.append(f"config.{name} must be a positive int, got {v!r}")
    for name in ("consensus.step", "consensus.init_scale", "sketch.lam", "sketch.success"):
        group, field = name.split(".")
        v = config[group][field]
        if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
            problems.append(f"config.{name} must be a positive number, got {v!r}")
    if isinstance(config.agents, int) and config.agents < 3:
        problems.append(f"config.agents must be at least 3 (a ring), got {config.agents}")
    c = config.sketch
    if all(isinstance(v, int) and v > 0 for v in (config.agents, c.columns, c.d)):
        if c.columns % config.agents or c.columns // config.agents < c.d:
            problems.append(
                f"config.sketch.columns ({c.columns}) must split evenly over config.agents "
                f"({config.agents}) with at least config.sketch.d ({c.d}) columns each"
            )
    if (
        isinstance(config.consensus.iterations, int)
        and isinstance(config.consensus.record_every, int)
        and config.consensus.record_every > 0
        and config.consensus.iterations % config.consensus.record_every
    ):
        problems.append("config.consensus.iterations must be a multiple of record_every")
    return problems


def _meshes(agents: int):
    if jax.device_count() < agents:
        raise ValueError(
            f"config.agents = {agents} needs {agents} devices, {jax.device_count()} available "
            "(on a CPU: XLA_FLAGS=--xla_force_host_platform_device_count=8)"
        )
    devices = jax.devices()[:agents]
    ring = jax.make_mesh((agents,), ("x",), axis_types=(AxisType.Explicit,), devices=devices)
    rows = next((k for k in range(int(np.sqrt(agents)), 1, -1) if agents % k == 0), None)
    torus = None
    if rows is not None:  # 8 agents: 2 x 4
        torus = jax.make_mesh((rows, agents // rows), ("a", "b"),
                              axis_types=(AxisType.Explicit,) * 2, devices=devices)  # fmt: skip
    return ring, torus


def _sin_theta(u, y, r) -> float:
    q = np.linalg.qr(u)[0]
    top = np.linalg.svd(y)[0][:, :r]
    return float(np.linalg.norm(top - q @ (q.T @ top), 2))


def consensus_rows(config, log: RowLog, meshes) -> None:
    c = config.consensus
    k1, k2 = jax.random.split(jax.random.key(config.seed))
    n = c.columns_per_agent * config.agents
    dtype = computed_dtype(config)
    y = (jax.random.normal(k1, (c.rows, c.rank)) @ jax.random.normal(k2, (c.rank, n))).astype(dtype)
    for name, mesh in zip(("ring", "torus"), meshes, strict=True):
        key = f"consensus/{name}"
        if key in log or mesh is None:
            continue
        cols = "x" if name == "ring" else ("a", "b")
        t0 = time.perf_counter()
        res = ld.dgd_local(
            jax.device_put(y, NamedSharding(mesh, P(None, cols))), c.rank,
            key=jax.random.key(config.seed + 1), step=c.step, maxiter=c.iterations,
            topology=name, record_every=c.record_every, init_scale=c.init_scale,
        )  # fmt: skip
        u = np.asarray(res.u)
        log.add({
            "key": key, "topology": name, "agents": config.agents,
            "iterations": np.arange(1, len(res.consensus) + 1).tolist(),
            "consensus": np.asarray(res.consensus).tolist(),
            "objective": np.asarray(res.objective).tolist(),
            "max_copy_difference": float(np.max(np.abs(u - u.mean(0))) / np.max(np.abs(u))),
            "sin_theta": _sin_theta(u.mean(0), np.asarray(y), c.rank),
            "seconds": time.perf_counter() - t0,
        })  # fmt: skip
    a, b = _least_squares(config)
    x0 = 100.0 * jax.random.normal(jax.random.key(config.seed + 2), (config.agents, a.shape[1]))
    for step in c.dgd_steps:
        key = f"dgd/step={step}"
        if key in log:
            continue
        res = ld.dgd(_ls_grad, x0.astype(dtype), (a, b), step=step, maxiter=c.dgd_iterations,
                     mesh=meshes[0], axes="x", record_every=c.dgd_iterations // 20)  # fmt: skip
        log.add({"key": key, "step": step, "consensus": np.asarray(res.consensus).tolist()})


def _least_squares(config, n: int = 6):
    """Zhu et al.'s illustration: ``f_j(x) = ½‖A_j x − b_j‖²``, ``A_j = Q diag(1 + u_j) Qᵀ``
    with ``u_j`` uniform on [0, 1] (different minimisers per agent)."""
    k1, k2, k3 = jax.random.split(jax.random.key(config.seed + 3), 3)
    q = jnp.linalg.qr(jax.random.normal(k1, (n, n)))[0]
    a = jnp.einsum("ik,jk,kl->jil", q, 1.0 + jax.random.uniform(k2, (config.agents, n)), q.T)
    return a, jax.random.normal(k3, (config.agents, n))


def _ls_grad(x, data):
    a, b = data
    return a.T @ (a @ x - b)


def sketch_rows(config, log: RowLog, mesh) -> None:
    c = config.sketch
    dtype = computed_dtype(config)
    put = lambda t: jax.device_put(t, NamedSharding(mesh, P("x")))
    for r in c.ranks:
        for size in c.sizes:
            for trial in range(c.trials):
                key = f"sketch/r={r}/L={size}/trial={trial}"
                if key in log:
                    continue
                k = jax.random.fold_in(jax.random.key(config.seed + 10), 1000 * r + trial)
                k1, k2, k3 = jax.random.split(k, 3)
                x = (jax.random.normal(k1, (c.d, r)) @ jax.random.normal(k2, (r, c.columns))
                     / np.sqrt(r)).astype(dtype)  # fmt: skip
                a, y = ld.sketch_columns(x, size, key=jax.random.fold_in(k3, size))
                t0 = time.perf_counter()
                res = ld.recover_sketched(put(a), put(y), lam=c.lam, stages=c.stages,
                                          maxiter=c.maxiter)  # fmt: skip
                err = float(jnp.linalg.norm(res.x.T - x) / jnp.linalg.norm(x))
                log.add({"key": key, "rank": r, "sketch_size": size, "trial": trial,
                         "relative_error": err, "success": err < c.success,
                         "seconds": time.perf_counter() - t0})  # fmt: skip


def success_grid(config, log: RowLog) -> np.ndarray:
    """``(len(ranks), len(sizes))`` success rates of the logged trials."""
    c = config.sketch
    grid = np.full((len(c.ranks), len(c.sizes)), np.nan)
    for i, r in enumerate(c.ranks):
        for j, size in enumerate(c.sizes):
            keys = [f"sketch/r={r}/L={size}/trial={t}" for t in range(c.trials)]
            rows = log.select(keys)
            if rows:
                grid[i, j] = np.mean([row["success"] for row in rows])
    return grid


def _figures(config, log: RowLog, work: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    every = config.consensus.record_every
    for name in ("ring", "torus"):
        row = log.rows.get(f"consensus/{name}")
        if row:
            its = np.asarray(row["iterations"]) * every
            ax.semilogy(its, row["consensus"], label=f"DGD+LOCAL, {name}")
    for step in config.consensus.dgd_steps:
        row = log.rows.get(f"dgd/step={step}")
        if row:
            its = np.arange(1, len(row["consensus"]) + 1) * (config.consensus.dgd_iterations // 20)
            ax.semilogy(its, row["consensus"], "--", label=f"plain DGD (least squares), μ={step}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("max_j ‖U_j − Ū‖ / ‖Ū‖")
    ax.set_title(f"Consensus error, {config.agents} agents")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(work / "consensus.png", dpi=100)
    plt.close(fig)

    grid = success_grid(config, log)
    fig, ax = plt.subplots(figsize=(6, 3))
    im = ax.imshow(grid, origin="lower", cmap="gray", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(config.sketch.sizes)), [str(s) for s in config.sketch.sizes])
    ax.set_yticks(range(len(config.sketch.ranks)), [str(r) for r in config.sketch.ranks])
    ax.set_xlabel("sketch size L (rows per column's sketch)")
    ax.set_ylabel("rank r")
    ax.set_title(f"Recovery success rate, d = {config.sketch.d}, T = {config.sketch.columns}")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(work / "phase_transition.png", dpi=100)
    plt.close(fig)


def _summary(config, log: RowLog, work: Path) -> dict:
    lines = ["# Distributed papers", "", "## Exact consensus (DGD+LOCAL)", "",
             "| topology | agents | final consensus error | max copy difference | "
             "relative fit ‖Y − ŪVᵀ‖²/‖Y‖² | sin θ to the SVD subspace | seconds |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    result: dict = {"dtype": computed_dtype(config)}
    for name in ("ring", "torus"):
        row = log.rows.get(f"consensus/{name}")
        if row:
            lines.append(
                f"| {name} | {row['agents']} | {row['consensus'][-1]:.2e} | "
                f"{row['max_copy_difference']:.2e} | {row['objective'][-1]:.2e} | "
                f"{row['sin_theta']:.2e} | {row['seconds']:.1f} |"
            )
            result[f"consensus_{name}"] = row["consensus"][-1]
    lines += ["", "Plain DGD, least squares (constant step): consensus error at the end", "",
              "| step | consensus error |", "|---|---|"]  # fmt: skip
    for step in config.consensus.dgd_steps:
        row = log.rows.get(f"dgd/step={step}")
        if row:
            lines.append(f"| {step} | {row['consensus'][-1]:.3e} |")
            result[f"dgd_gap_{step}"] = row["consensus"][-1]
    grid = success_grid(config, log)
    sizes = config.sketch.sizes
    lines += ["", f"## Decentralized sketching: success rate (relative error < "
              f"{config.sketch.success}, {config.sketch.trials} trials)", "",
              "| rank \\ L | " + " | ".join(str(s) for s in sizes) + " |",
              "|---|" + "---|" * len(sizes)]  # fmt: skip
    for i, r in enumerate(config.sketch.ranks):
        lines.append(f"| {r} | " + " | ".join(f"{v:.1f}" for v in grid[i]) + " |")
    result["success"] = grid.tolist()
    (work / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


def _run(config, work: Path) -> dict:
    log = RowLog(work, config, may_change=JOB_FIELDS)
    ring, torus = _meshes(config.agents)
    consensus_rows(config, log, (ring, torus))
    sketch_rows(config, log, ring)
    _figures(config, log, work)
    return _summary(config, log, work)


def run(config, workdir: str | Path) -> dict:
    """Run both papers' experiments; resumes the jobs already in ``workdir/metrics.jsonl``.

    Raises:
        ValueError: for a bad config, too few devices, or a workdir holding another config.
        experiments._workdir.WorkdirBusy: when another live run holds ``workdir``.
    """
    problems = validate(config)
    if problems:
        raise ValueError("bad config: " + "; ".join(problems))
    work = Path(workdir)
    with WorkdirLock(work):
        return _run(config, work)
