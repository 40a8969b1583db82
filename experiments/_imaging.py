"""Plumbing shared by the imaging experiments: a resumable row log, figures, noise."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class RowLog:
    """``workdir/metrics.jsonl`` as a resumable table: rows already there are not recomputed.

    Each row carries a ``key`` (the job's identity); re-running a config in the same workdir
    skips the keys it finds, so an interrupted run resumes where it stopped.
    """

    def __init__(self, work: Path):
        self.path = work / "metrics.jsonl"
        self.rows: dict[str, dict] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
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
