"""Test configuration: float64 for exact-recovery tests, seeded keys."""

import os
import pathlib

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

# Share compiled programs between the xdist workers and across runs: the suite compiles many
# identical programs (the same solver at the same shapes from several test files). The cache
# lives in the ignored .jax_cache/ of the checkout (LRJAX_TEST_JAX_CACHE overrides it, an
# empty value turns it off).
_CACHE = os.environ.get(
    "LRJAX_TEST_JAX_CACHE", str(pathlib.Path(__file__).resolve().parents[1] / ".jax_cache")
)
if _CACHE:
    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.3)


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def directional_fd(f, x, v, h=1e-5):
    """Central finite difference of scalar ``f`` at ``x`` in direction ``v``."""
    return (f(x + h * v) - f(x - h * v)) / (2 * h)
