"""Helpers shared by the factorized containers: index letters and leaf checks."""

from __future__ import annotations

import string
from typing import Any

LETTERS = string.ascii_letters


def letters(n: int, *, skip: str = "") -> str:
    """The first ``n`` einsum letters, avoiding those in ``skip``."""
    pool = [c for c in LETTERS if c not in skip]
    if n > len(pool):
        raise ValueError(f"Too many modes for einsum: {n} > {len(pool)}.")
    return "".join(pool[:n])


def has_shape(*leaves: Any) -> bool:
    """True when every leaf is array-like (so containers can validate it).

    JAX rebuilds pytrees with stand-in leaves (``None``, ``object()``) inside its
    transformations; validation is skipped for those.
    """
    return all(hasattr(leaf, "shape") and hasattr(leaf, "ndim") for leaf in leaves)
