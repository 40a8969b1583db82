"""Test configuration: float64 for exact-recovery tests, seeded keys."""

import os

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

# No persistent compilation cache by default. It saved ~50 s of the suite on 2 cores (10m48s
# -> 9m58s), but JAX's cache crashed the suite twice in its C++ code: a segfault reading an
# entry another xdist worker was writing (compilation_cache.get_executable_and_time), and, with
# one private directory per worker, an abort writing an entry
# (compilation_cache.put_executable_and_time, in test_parafac2's gradient test). A flaky CI is
# worse than a slower one. LRJAX_TEST_JAX_CACHE=<dir> turns it on (keep it to one process).
_CACHE = os.environ.get("LRJAX_TEST_JAX_CACHE")
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
