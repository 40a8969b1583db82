"""Extrapolated alternating least squares: a line search along the last update direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ._implicit import implicit_fixed_point


def extrapolated(sweep: Callable[[Any, Any], tuple[Any, jax.Array]], *, warmup: int = 5):
    """Wrap an ALS sweep ``sweep(z, data) -> (z_new, error)`` with extrapolation.

    Each step runs ``z1 = sweep(z)``, then a second sweep from the point
    ``z1 + s (z1 − z)`` pushed further along the last update, and keeps whichever result has
    the smaller error (so the error never increases). The step ``s`` grows by 1.5x after a
    successful extrapolation (at most 20) and falls back to 1 after a failed one. This is the
    "line search" of Bro (1998) / Harshman that gets ALS through swamps, where consecutive
    updates point the same way for hundreds of sweeps.

    Returns ``(step, init, attach)`` for :func:`~lrjax.solvers.iterate`: ``init(z0)`` builds
    the extended state, ``step`` advances it, and ``attach`` gives the implicit derivative of
    the plain sweep's fixed point (the extrapolation does not change the fixed point).
    ``state[0]`` is the iterate. The first ``warmup`` steps are plain sweeps: extrapolating
    from an initial guess that is not yet a sweep's output tends to land in a poor local
    minimum.
    """

    def init(z0):
        dtype = jnp.finfo(jnp.result_type(*jax.tree_util.tree_leaves(z0))).dtype  # real
        return (z0, z0, jnp.asarray(1.0, dtype), jnp.asarray(0, jnp.int32))

    def step(state, data):
        z, _, s, k = state
        z1, e1 = sweep(z, data)
        z_ex = jax.tree_util.tree_map(lambda a, b: a + s * (a - b), z1, z)
        z2, e2 = sweep(z_ex, data)
        better = (e2 < e1) & (k >= warmup)
        z_new = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), z2, z1)
        s_new = jnp.where(better, jnp.minimum(1.5 * s, 20.0), 1.0)
        s_new = jax.lax.stop_gradient(s_new)
        return (z_new, z, s_new, k + 1), jnp.where(better, e2, e1)

    def attach(state, data):
        z, *rest = state
        z = implicit_fixed_point(lambda zz, d: sweep(zz, d)[0], z, data)
        return (z, *rest)

    return step, init, attach
