"""Test configuration: float64 for exact-recovery tests, compile settings, seeded keys."""

import gc
import os

import jax
import numpy as np
import pytest

jax.config.update("jax_enable_x64", True)

# The suite is mostly XLA compile time: tests run each program once or twice, on small inputs.
# Skipping LLVM's expensive passes took tests/test_contract.py from 5m48s to 4m50s on one core
# (all passing either way). LRJAX_TEST_OPTIMIZE=1 compiles as users do.
if not os.environ.get("LRJAX_TEST_OPTIMIZE"):
    jax.config.update("jax_disable_most_optimizations", True)

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


# XLA:CPU maps every compiled executable into the process and keeps it while JAX's caches hold
# it. An xdist worker that ran half of the suite reached 65,198 memory mappings against Linux's
# default limit of 65,530 (vm.max_map_count), and CI failed once with "LLVM compilation error:
# Cannot allocate memory". Past this many mappings the caches are dropped after a test. Counting
# them reads /proc/self/maps, which took ~20 ms at 20,000 mappings (measured once, here), so
# it runs after every 8th test: no test maps anywhere near the 45,000 left below the limit.
_MAX_MAPPINGS = 20_000
_CHECK_EVERY = 8
_tests_run = 0


def _mappings() -> int:
    try:
        with open("/proc/self/maps", "rb") as f:
            return f.read().count(b"\n")
    except OSError:  # not Linux: no such limit to stay under
        return 0


@pytest.fixture(autouse=True)
def _release_compiled_code():
    global _tests_run
    yield
    _tests_run += 1
    if _tests_run % _CHECK_EVERY == 0 and _mappings() > _MAX_MAPPINGS:
        jax.clear_caches()
        gc.collect()
        if os.environ.get("LRJAX_TEST_LOG_CLEARS"):
            with open(os.environ["LRJAX_TEST_LOG_CLEARS"], "a") as f:
                f.write(f"{os.getpid()} {_tests_run}\n")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def directional_fd(f, x, v, h=1e-5):
    """Central finite difference of scalar ``f`` at ``x`` in direction ``v``."""
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def count_conds(f, *args) -> int:
    """The ``lax.cond``s in ``f``'s program, traced anew (JAX's caches cleared)."""
    jax.clear_caches()
    return str(jax.make_jaxpr(f)(*args)).count("cond[")


@pytest.fixture
def expansion_everywhere(monkeypatch):
    """Call it to lower ``lrjax._numeric.EXPANSION_MIN_SIZE`` to 0, so that small tensors
    build the final error's expansion branch. JAX's caches are cleared at the end, also when
    the test fails, so later tests of the process trace with the real limit."""
    from lrjax import _numeric

    yield lambda: monkeypatch.setattr(_numeric, "EXPANSION_MIN_SIZE", 0)
    jax.clear_caches()
