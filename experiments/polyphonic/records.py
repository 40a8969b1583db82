"""What a polyphonic run writes and reads back: the result record, metrics.jsonl,
summary.md, the learning-curve plot, and the result of an unfinished run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from flax import nnx

from experiments.polyphonic.configuration import read_config, train_chunk, weight_decay
from experiments.polyphonic.model import MusicRNN
from experiments.polyphonic.published import PUBLISHED


def cell_params(model: MusicRNN) -> int:
    return model.cell.num_params


def finite_nll(record: dict) -> bool:
    return bool(np.isfinite(record["valid"]["nll"]) and np.isfinite(record["test"]["nll"]))


def best_record(history: list[dict]) -> dict:
    """The record with the best validation NLL (a non-finite one is never the best)."""
    return min(
        history, key=lambda r: r["valid"]["nll"] if np.isfinite(r["valid"]["nll"]) else math.inf
    )


def partial_result(workdir: str | Path) -> dict | None:
    """``result.json``'s fields for a run that has not finished (interrupted, still running or
    stopped by divergence): its best-validation epoch so far, with ``finished: False`` and, for
    a diverged run, ``diverged_epoch``; None without any completed epoch or ``config.json``."""
    workdir = Path(workdir)
    metrics, cfg = workdir / "metrics.jsonl", workdir / "config.json"
    if not (metrics.is_file() and cfg.is_file()):
        return None
    history = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    if not history:
        return None
    config = read_config(workdir)
    model = MusicRNN(config, rngs=nnx.Rngs(0))
    diverged = workdir / "diverged.json"
    epoch = json.loads(diverged.read_text())["epoch"] if diverged.is_file() else None
    return {**result_record(config, history, cell_params(model)), "finished": False,
            "diverged_epoch": epoch}  # fmt: skip


def result_record(config, history, n_params: int) -> dict:
    best = best_record(history)
    return {
        "dataset": config.dataset,
        "cell": config.cell.kind,
        "rank": list(config.cell.rank)
        if isinstance(config.cell.rank, tuple | list)
        else config.cell.rank,
        "cell_params": n_params,
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "valid_nll": best["valid"]["nll"],
        "test_nll": best["test"]["nll"],
        "test_acc": best["test"]["acc"],
        "test_frames": best["test"]["frames"],
        "learning_rate": config.learning_rate,
        "dropout": config.dropout,
        "ema_decay": config.ema_decay,
        "batch_size": config.batch_size,
        "train_chunk": train_chunk(config),
        "weight_decay": weight_decay(config),
        "seed": config.seed,
        "skipped_steps": sum(int(r.get("skipped_steps", 0)) for r in history),
        "first_skipped_epoch": next((r["epoch"] for r in history if r.get("skipped_steps")), None),
        # runs from before non-finite steps were skipped went on training on NaNs
        "first_nonfinite_epoch": next((r["epoch"] for r in history if not finite_nll(r)), None),
        "finished": True,
    }


def write_metrics(workdir: Path, history: list[dict]) -> None:
    with open(workdir / "metrics.jsonl", "w") as f:
        for record in history:
            f.write(json.dumps(record) + "\n")


def write_summary(workdir: Path, config, result: dict, history) -> None:
    label, n_pub, rows = PUBLISHED[config.cell.kind]
    pub = rows.get(config.dataset)
    lines = [
        f"# Polyphonic music: {config.cell.kind} cell on {config.dataset}",
        "",
        f"Selected epoch {result['best_epoch']} of {result['epochs_run']} (best validation NLL "
        f"{result['valid_nll']:.3f}); {result['test_frames']} test frames.",
        "",
        "| model | cell params | test NLL | test ACC % |",
        "|---|---|---|---|",
        f"| lrjax {config.cell.kind} rank {result['rank']} | {result['cell_params']:,} | "
        f"{result['test_nll']:.3f} | {result['test_acc']:.2f} |",
    ]
    if pub is not None:
        lines.append(f"| published {label} | {n_pub:,} | {pub[0]} | {pub[1]} |")
    lines += ["", f"config: `{json.dumps(config.to_dict(), default=str)}`", ""]
    (workdir / "summary.md").write_text("\n".join(lines))
    (workdir / "result.json").write_text(json.dumps(result, indent=1))
    print("\n".join(lines[4:8]))


def plot_curves(workdir: Path, history, result) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [r["train_loss"] for r in history], label="train loss (dropout on)")
    ax.plot(epochs, [r["valid"]["nll"] for r in history], label="valid NLL")
    ax.plot(epochs, [r["test"]["nll"] for r in history], label="test NLL")
    ax.axvline(result["best_epoch"], color="gray", ls=":", label="selected epoch")
    # the first epochs (an EMA still close to the initial weights) are far above the rest:
    # scale the axis to the curves after the first fifth of the run
    late = [v for r in history[len(history) // 5 :] for v in
            (r["train_loss"], r["valid"]["nll"], r["test"]["nll"])]  # fmt: skip
    if len(history) >= 5 and all(np.isfinite(late)):
        lo, hi = min(late), max(late)
        ax.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL (nats / frame)")
    ax.set_title(f"{result['cell']} cell, {result['cell_params']:,} params, {result['dataset']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(workdir / "learning_curves.png", dpi=100)
    plt.close(fig)
