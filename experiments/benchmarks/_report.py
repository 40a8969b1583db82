"""Writing the benchmark reports in ``docs/`` (no JAX import, no global settings)."""

from __future__ import annotations

import os

KEEP_MARKER = "<!-- hand-written below: kept when the benchmark rewrites this file -->"


def write_report(path: str, lines: list[str]) -> None:
    """Write a Markdown report (creating its folder) and echo it.

    Whatever an existing file holds from the line :data:`KEEP_MARKER` on (notes written by
    hand, measurements that no script repeats) is kept after the new lines.
    """
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    text = "\n".join(lines)
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    if KEEP_MARKER in old:
        text = text.rstrip("\n") + "\n\n" + old[old.index(KEEP_MARKER) :]
    with open(path, "w") as f:
        f.write(text)
    print("\n".join(lines))
