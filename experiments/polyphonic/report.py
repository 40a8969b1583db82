"""Collect the runs under some folders into one table and an NLL-vs-parameters plot.

python -m experiments.polyphonic.report runs/poly_jsb [more run folders...]
python -m experiments.polyphonic.report --seeds runs/poly_seeds [more run folders...]

Finished runs are read from their ``result.json``; unfinished ones (interrupted, or still
training) from ``metrics.jsonl`` and ``config.json``, at their best validation epoch so far, and
marked "unfinished" in the epoch column, or "diverged in epoch N" for a run the runner stopped
with ``Diverged``. ``--seeds`` groups the runs that differ only in their
seed (and in run-control fields such as ``max_epochs``) into one row each: every seed's test
NLL and the means over seeds, written to ``seeds.md`` instead of ``table.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from experiments.polyphonic.configuration import ADDED_FIELDS, RUN_CONTROL
from experiments.polyphonic.published import PUBLISHED
from experiments.polyphonic.records import partial_result

_ORDER = {"gru": 0, "cp": 1, "tucker": 2, "tt": 3}
_SETTING = (
    "learning_rate",
    "lr_decay",
    "dropout",
    "ema_decay",
    "batch_size",
    "train_chunk",
    "weight_decay",
    "seed",
)


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
                config = _config(run)
                # result.json of older runs lacks some setting fields: take them from the config
                known = {k: config[k] for k in _SETTING if config and k in config}
                results.append({"finished": True, **known, **r, "run": str(run), "config": config})
    return sorted(results, key=lambda r: (r["dataset"], _ORDER[r["cell"]], r["cell_params"]))


def _config(run: Path) -> dict | None:
    """The run's config as recorded in ``config.json``, or in the last line of ``summary.md``
    that starts with "config:" (runs from before ``config.json`` existed); None if neither."""
    if (run / "config.json").is_file():
        return json.loads((run / "config.json").read_text())
    if (run / "summary.md").is_file():
        lines = (run / "summary.md").read_text().splitlines()
        found = [x for x in lines if x.startswith("config: `") and x.endswith("`")]
        if found:
            return json.loads(found[-1][len("config: `") : -1])
    return None


def table(results: list[dict]) -> str:
    """Markdown table: measured rows, each beside the published row of the same cell, if any."""
    lines = [
        "| dataset | cell | rank | cell params | lr / dropout / EMA | seed | epoch | valid NLL "
        "| test NLL | test ACC % | published NLL / ACC (params) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {_setting(r)} | {r['seed']} | {r['best_epoch']}/{r['epochs_run']}{_flags(r)} | "
            f"{r['valid_nll']:.3f} | {r['test_nll']:.3f} | {r['test_acc']:.2f} | {_published(r)} |"
        )
    return "\n".join(lines)


def _flags(r: dict) -> str:
    """What the epoch column says beside ``best/run``: unfinished (or the epoch it diverged
    in), steps skipped for a non-finite gradient and the first epoch that skipped one, the
    first epoch whose NLL was not finite (older runs)."""
    flags = [] if r["finished"] else [_unfinished(r)]
    if r.get("skipped_steps"):
        since = r.get("first_skipped_epoch")  # absent from older runs' result.json
        flags.append(
            f"{r['skipped_steps']} steps skipped" + (f" from epoch {since}" if since else "")
        )
    if r.get("first_nonfinite_epoch") is not None:
        flags.append(f"NaN from epoch {r['first_nonfinite_epoch']}")
    return " " + ", ".join(flags) if flags else ""


def _unfinished(r: dict) -> str:
    """How a run that did not finish ended: "diverged in epoch N" or "unfinished"."""
    epoch = r.get("diverged_epoch")
    return f"diverged in epoch {epoch}" if epoch is not None else "unfinished"


def _setting(r: dict) -> str:
    """The dataset .. lr / dropout / EMA cells of a row; the learning rate carries ", decay d"
    when the run multiplied it by d < 1 on validation plateaus (``lr_decay``), and the EMA
    ", chunks c" when it trained on pieces of at most c frames (``train_chunk``) and ", wd w"
    when it decayed its weights (``weight_decay``)."""
    rank = ",".join(map(str, r["rank"])) if isinstance(r["rank"], list) else r["rank"]
    decay = r.get("lr_decay")  # shown only where the run decayed its rate on plateaus
    lr = f"{r['learning_rate']:g}" + (
        f", decay {decay:g}" if decay is not None and decay < 1 else ""
    )
    return (
        f"{r['dataset']} | {r['cell']} | {rank if r['cell'] != 'gru' else 'dense'} | "
        f"{r['cell_params']:,} | {lr} / {r['dropout']:g} / "
        f"{'-' if r.get('ema_decay') is None else format(r['ema_decay'], 'g')}"
        + (f", chunks {r['train_chunk']}" if (r.get("train_chunk") or -1) > 0 else "")
        + (f", wd {r['weight_decay']:g}" if (r.get("weight_decay") or 0) > 0 else "")
    )


def _published(r: dict) -> str:
    _label, n_pub, rows = PUBLISHED[r["cell"]]
    pub = rows.get(r["dataset"])
    return f"{pub[0]} / {pub[1]} ({n_pub:,})" if pub and n_pub == r["cell_params"] else ""


def _seedless(r: dict) -> tuple:
    """What must agree for two runs to be seeds of one setting: the whole recorded config
    except the seed and the run-control fields, a field recorded before it existed taken at
    the value those runs trained with (a run whose config was not recorded is a setting of its
    own)."""
    if r["config"] is None:
        return (r["run"],)
    recorded = {**ADDED_FIELDS, **r["config"]}
    config = {k: v for k, v in recorded.items() if k != "seed" and k not in RUN_CONTROL}
    return (json.dumps(config, sort_keys=True),)


def seed_table(results: list[dict]) -> str:
    """Markdown table, one row per setting: each seed's test NLL (in seed order), the mean test
    NLL, valid NLL and test ACC over the seeds, and the number of seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault(_seedless(r), []).append(r)
    lines = [
        "| dataset | cell | rank | cell params | lr / dropout / EMA | seeds | test NLL per seed "
        "| mean test NLL | mean valid NLL | mean test ACC % | published NLL / ACC (params) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def order(rows: list[dict]) -> tuple:
        r = rows[0]
        return (r["dataset"], _ORDER[r["cell"]], r["cell_params"], r["learning_rate"],
                r["dropout"], r.get("ema_decay", 0.0))  # fmt: skip

    for rows in sorted(groups.values(), key=order):
        rows = sorted(rows, key=lambda r: r["seed"])
        n = len(rows)
        per_seed = " / ".join(
            f"{r['test_nll']:.3f}{'' if r['finished'] else f' ({_unfinished(r)})'}" for r in rows
        )
        mean = {k: sum(r[k] for r in rows) / n for k in ("test_nll", "valid_nll", "test_acc")}
        lines.append(
            f"| {_setting(rows[0])} | {','.join(str(r['seed']) for r in rows)} | {per_seed} | "
            f"{mean['test_nll']:.3f} | {mean['valid_nll']:.3f} | {mean['test_acc']:.2f} | "
            f"{_published(rows[0])} |"
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
    parser = argparse.ArgumentParser(
        prog="python -m experiments.polyphonic.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--seeds", action="store_true", help="one row per setting over seeds, to seeds.md"
    )
    parser.add_argument(
        "folders", nargs="*", default=["runs/poly_jsb"], help="folders of run workdirs"
    )
    args = parser.parse_args(argv)
    seeds, folders = args.seeds, args.folders
    results = collect(folders)
    if not results:
        raise SystemExit(f"no runs (result.json or metrics.jsonl) under {folders}")
    out = Path(folders[0])
    if seeds:
        text = seed_table(results)
        (out / "seeds.md").write_text(text + "\n")
        print(text)
        print(f"wrote {out / 'seeds.md'}")
        return
    (out / "table.md").write_text(table(results) + "\n")
    plot(results, out / "nll_vs_params.png")
    print(table(results))
    print(f"wrote {out / 'table.md'} and {out / 'nll_vs_params.png'}")


if __name__ == "__main__":
    main(sys.argv[1:])
