"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable

import jax


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn`` (results waited for), after one
    warm-up call that compiles what it needs (compilation is not timed)."""
    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best
