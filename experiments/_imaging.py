"""Plumbing shared by the imaging experiments: a resumable row log, figures, noise."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from experiments._workdir import check_resumable, read_jsonl


class RowLog:
    """``workdir/metrics.jsonl`` as a resumable table: rows already there are not recomputed.

    Each row carries a ``key`` (the job's identity); re-running a config in the same workdir
    skips the keys it finds, so an interrupted run resumes where it stopped. The config is
    recorded in ``config.json``; resuming with a config that differs in anything but
    ``may_change`` (the job lists: which methods, noise levels, images; the figures) raises
    ``ValueError`` naming the fields, since the logged rows would otherwise be reported under
    the new settings; ``added`` gives the values that fields introduced since a workdir was
    written had implicitly then. A torn last line (the row being written when a run stopped)
    is dropped.
    """

    def __init__(
        self,
        work: Path,
        config=None,
        *,
        may_change: Iterable[str] = (),
        added: Mapping[str, Any] | None = None,
    ):
        self.path = work / "metrics.jsonl"
        self.rows: dict[str, dict] = {}
        records = read_jsonl(self.path)
        if config is not None:
            check_resumable(work, config, trained=bool(records), may_change=may_change, added=added)
        for i, row in enumerate(records):
            if not isinstance(row, dict) or "key" not in row:
                raise ValueError(f"{self.path}: record {i + 1} has no 'key': {row!r}")
            self.rows[row["key"]] = row

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def add(self, row: dict) -> None:
        """Append ``row`` (it must carry a ``key``) to the log and the file."""
        self.rows[row["key"]] = row
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def select(self, keys: Iterable[str]) -> list[dict]:
        """The logged rows of ``keys``, in that order (missing keys are skipped)."""
        return [self.rows[k] for k in keys if k in self.rows]


def computed_dtype(config) -> str:
    """The dtype the run's arrays really have: ``config.dtype`` after JAX's canonicalisation
    (``float64`` stays ``float64`` only with 64-bit mode on; the launcher turns it on)."""
    import jax.numpy as jnp

    return str(jnp.zeros((), config.dtype).dtype)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_grid(path: Path, panels, *, cols: int, cmap="gray", size=2.4, vmax=1.0) -> None:
    """Save ``panels`` (a list of ``(title, image)``) as a grid figure."""
    plt = pyplot()
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, img) in zip(axes.ravel(), panels, strict=False):
        img = np.asarray(img)
        if img.ndim == 3:
            ax.imshow(np.clip(img, 0, 1))
        else:
            ax.imshow(img, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """Lines of a Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out
