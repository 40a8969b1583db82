"""Shapes and initialisers shared by the factorized layers.

Every factorized weight here is a sum over ``paths`` products of ``n_parts`` zero-mean,
independent parts, so ``Var(W_ij) = paths * prod(var_k)``. Giving each part the variance
``(target / paths) ** (1 / n_parts)`` makes the factorized weight match the variance of its
dense twin (LeCun normal, ``1 / fan_in``) and hence the variance of its outputs. Each part is
drawn Gaussian and then rescaled to that variance *exactly* (its mean square), which removes the
init-to-init spread that a product of many small random factors otherwise has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .. import _random


def part_std(target_variance: float, paths: int, n_parts: int) -> float:
    """Standard deviation of each of ``n_parts`` factors so the product has ``target_variance``."""
    return float((target_variance / paths) ** (0.5 / n_parts))


def scaled_normal(key: jax.Array, shape: Sequence[int], std: float, dtype) -> jax.Array:
    """A Gaussian array rescaled so its root-mean-square is exactly ``std``."""
    z = _random.normal(key, tuple(shape), dtype=jnp.float32)
    z = z * (std / jnp.sqrt(jnp.mean(z * z)))
    return z.astype(dtype)


def balanced_modes(n: int, order: int) -> tuple[int, ...]:
    """Split ``n`` into ``order`` factors that are as equal as possible (largest first).

    Prime factors are dealt, largest first, to the bucket with the smallest product.

    Examples:
        >>> balanced_modes(256, 4), balanced_modes(512, 4)
        ((4, 4, 4, 4), (8, 4, 4, 4))
    """
    if n < 1 or order < 1:
        raise ValueError(f"balanced_modes needs n >= 1 and order >= 1, got n={n}, order={order}")
    primes, m, p = [], n, 2
    while p * p <= m:
        while m % p == 0:
            primes.append(p)
            m //= p
        p += 1
    if m > 1:
        primes.append(m)
    buckets = [1] * order
    for q in sorted(primes, reverse=True):
        buckets[buckets.index(min(buckets))] *= q
    return tuple(sorted(buckets, reverse=True))


def check_modes(name: str, modes: Sequence[int] | None, n: int, order: int | None) -> tuple:
    """Validate ``modes`` (their product must be ``n``) or choose balanced ones."""
    if modes is None:
        return balanced_modes(n, order if order is not None else 3)
    modes = tuple(int(m) for m in modes)
    if not modes or any(m < 1 for m in modes) or math.prod(modes) != n:
        raise ValueError(
            f"{name}={modes} must be positive integers whose product is {n}, "
            f"got product {math.prod(modes) if modes else 'of nothing'}"
        )
    return modes


def check_positive(name: str, value: int) -> int:
    """``value`` as a positive ``int`` or a ``ValueError`` naming ``name``."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def count_params(module) -> int:
    """Number of trainable scalars (``nnx.Param`` leaves) of an NNX module."""
    from flax import nnx

    return sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(module, nnx.Param)))
