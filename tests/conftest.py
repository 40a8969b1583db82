"""Test configuration: float64 for exact-recovery tests, seeded keys."""

import atexit
import os
import shutil
import tempfile

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

# Persistent compilation cache, private to each test process. Many tests build fresh jitted
# callables whose programs are identical (the same solver at the same shapes); JAX's in-memory
# cache keys on the Python callable and misses them, the on-disk cache keys on the program and
# hits: the whole suite measured 10m48s without it and 9m58s with it on 2 cores. One directory per
# process (per xdist worker), made fresh and deleted at exit: JAX writes entries without a
# lock, and a worker reading another's half-written entry once crashed the suite (segfault in
# compilation_cache.get_executable_and_time). LRJAX_TEST_JAX_CACHE=<dir> uses that directory
# instead (keep it to one process); an empty value turns the cache off.
_CACHE = os.environ.get("LRJAX_TEST_JAX_CACHE")
if _CACHE is None:
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    _CACHE = tempfile.mkdtemp(prefix=f"lrjax-jax-cache-{_worker}-")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
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
