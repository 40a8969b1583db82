"""Collect the runs under some folders into one table and an NLL-vs-parameters plot.

python -m experiments.polyphonic.report runs/poly_jsb [more run folders...]

Finished runs are read from their ``result.json``; unfinished ones (interrupted, or still
training) from ``metrics.jsonl`` and ``config.json``, at their best validation epoch so far, and
marked "unfinished" in the epoch column.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experiments.polyphonic.main import PUBLISHED, partial_result

_ORDER = {"gru": 0, "cp": 1, "tucker": 2, "tt": 3}


def collect(folders) -> list[dict]:
    """The result of every run directly under the given folders (finished or not), sorted by
    dataset, cell kind and size."""
    results = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"run folder {str(folder)!r} does not exist")
        for run in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
            done = run / "result.json"
            r = json.loads(done.read_text()) if done.is_file() else partial_result(run)
            if r is not None:
                results.append({"finished": True, **r, "run": str(run)})
    return sorted(results, key=lambda r: (r["dataset"], _ORDER[r["cell"]], r["cell_params"]))


def table(results: list[dict]) -> str:
    """Markdown table: measured rows, each beside the published row of the same cell, if any."""
    lines = [
        "| dataset | cell | rank | cell params | lr / dropout / EMA | seed | epoch | test NLL "
        "| test ACC % | published NLL / ACC (params) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        _label, n_pub, rows = PUBLISHED[r["cell"]]
        pub = rows.get(r["dataset"])
        ref = f"{pub[0]} / {pub[1]} ({n_pub:,})" if pub and n_pub == r["cell_params"] else ""
        rank = ",".join(map(str, r["rank"])) if isinstance(r["rank"], list) else r["rank"]
        lines.append(
            f"| {r['dataset']} | {r['cell']} | {rank if r['cell'] != 'gru' else 'dense'} | "
            f"{r['cell_params']:,} | {r['learning_rate']:g} / {r['dropout']:g} / "
            f"{r.get('ema_decay', float('nan')):g} | {r['seed']} | "
            f"{r['best_epoch']}/{r['epochs_run']}{'' if r['finished'] else ' unfinished'} | "
            f"{r['test_nll']:.3f} | "
            f"{r['test_acc']:.2f} | {ref} |"
        )
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    """Test NLL against cell parameters (log scale), one series per cell kind and dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for (dataset, cell), marker in zip(
        sorted({(r["dataset"], r["cell"]) for r in results}), "osD^v<>*xP", strict=False
    ):
        rows = [r for r in results if r["dataset"] == dataset and r["cell"] == cell]
        ax.plot(
            [r["cell_params"] for r in rows], [r["test_nll"] for r in rows], marker=marker,
            ls="-" if len(rows) > 1 else "", label=f"{cell} ({dataset})",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("cell parameters")
    ax.set_ylabel("test NLL (nats / frame)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str]) -> None:
    folders = argv or ["runs/poly_jsb"]
    results = collect(folders)
    if not results:
        raise SystemExit(f"no */result.json under {folders}")
    out = Path(folders[0])
    (out / "table.md").write_text(table(results) + "\n")
    plot(results, out / "nll_vs_params.png")
    print(table(results))
    print(f"wrote {out / 'table.md'} and {out / 'nll_vs_params.png'}")


if __name__ == "__main__":
    main(sys.argv[1:])
