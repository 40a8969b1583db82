"""Random draws with the values of ``jax.random`` and a fraction of its compile time.

``jax.random.normal``, ``uniform``, ``bernoulli`` and ``rademacher`` over a shape give exactly
the numbers of a one-dimensional draw of ``prod(shape)`` values reshaped to ``shape``
(tests/test_random.py checks both settings of ``jax_threefry_partitionable``), but XLA:CPU
compiles the N-dimensional form far more slowly. Measured on the 2-core machine with the
default (partitionable) threefry: 0.37 s to compile ``jax.random.bits`` over ``(60, 5)``
against 0.17 s over 300 values, 0.84 s over ``(7, 9, 11)``. Cold first calls (``python -m
experiments.benchmarks.first_call``, median of 3 runs alternating with the code before this
module): ``cp_als(init="random")`` on 60 x 50 x 40 2.9 s -> 2.2 s,
``tucker_hooi(init="random")`` 3.5 s -> 2.8 s; ``randomized_svd`` of 300 x 200 (one 200 x 20
draw) unchanged within noise.
lrjax's own draws of matrices and tensors go through here.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike


def _flat(shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    return shape, (math.prod(shape),)


def normal(key: jax.Array, shape, dtype: DTypeLike = float) -> jax.Array:
    """``jax.random.normal(key, shape, dtype)``: the same values, drawn flat."""
    shape, flat = _flat(shape)
    if len(shape) < 2:
        return jax.random.normal(key, shape, dtype)
    return jax.random.normal(key, flat, dtype).reshape(shape)


def uniform(key: jax.Array, shape, dtype: DTypeLike = float, minval=0.0, maxval=1.0) -> jax.Array:
    """``jax.random.uniform(key, shape, dtype, minval, maxval)``: the same values, drawn
    flat (bounds that are arrays go to ``jax.random.uniform`` as given)."""
    shape, flat = _flat(shape)
    if len(shape) < 2 or np.ndim(minval) or np.ndim(maxval):
        return jax.random.uniform(key, shape, dtype, minval, maxval)
    return jax.random.uniform(key, flat, dtype, minval, maxval).reshape(shape)


def bernoulli(key: jax.Array, p, shape) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)``: the same values, drawn flat (an array ``p``
    goes to ``jax.random.bernoulli`` as given)."""
    shape, flat = _flat(shape)
    if len(shape) < 2 or np.ndim(p):
        return jax.random.bernoulli(key, p, shape)
    return jax.random.bernoulli(key, p, flat).reshape(shape)


def rademacher(key: jax.Array, shape, dtype: DTypeLike = int) -> jax.Array:
    """``jax.random.rademacher(key, shape, dtype)``: the same values, drawn flat."""
    shape, flat = _flat(shape)
    if len(shape) < 2:
        return jax.random.rademacher(key, shape, dtype)
    return jax.random.rademacher(key, flat, dtype).reshape(shape)


def orthonormal(key: jax.Array, rows: int, cols: int, dtype: DTypeLike = float) -> jax.Array:
    """An orthonormal ``(rows, cols)`` basis of a Gaussian matrix (``cols <= rows``): the Q of
    its QR with R's diagonal made positive, so the same basis as ``lrjax.linalg.orthonormalize``
    of that matrix up to rounding. A first call of LAPACK's QR took 0.03 s against 0.2-0.26 s
    for the XLA-op CholeskyQR2 (small matrices, measured with the test suite's compile flags).
    """
    q, r = jnp.linalg.qr(normal(key, (rows, cols), dtype))
    signs = jnp.sign(jnp.diagonal(r))
    return q * jnp.where(signs == 0, 1, signs).astype(q.dtype)
