"""Thread control of jaxlib's CPU LAPACK: ``lapack_threads`` and the serial calls of lrjax's
eager solvers; the oracle is threadpoolctl's own report of the library's thread count."""

from __future__ import annotations

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from threadpoolctl import threadpool_info

import lrjax
from lrjax.linalg._threads import SERIAL_LAPACK_MAX, serial_lapack_call


def _scipy_threads() -> list[int]:
    import scipy.linalg.cython_lapack  # noqa: F401

    return [
        info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas" and "scipy" in info["filepath"].split("/")[-2]
    ]


@pytest.fixture
def two_threads():
    """SciPy's OpenBLAS at two threads for the test, whatever the machine's default."""
    with lrjax.linalg.lapack_threads(2) as paths:
        if not paths:
            pytest.skip("no SciPy OpenBLAS loaded (jaxlib uses another LAPACK here)")
        yield


def test_lapack_threads_limits_and_restores(two_threads):
    assert set(_scipy_threads()) == {2}
    with lrjax.linalg.lapack_threads(1) as paths:
        assert paths and set(_scipy_threads()) == {1}
    assert set(_scipy_threads()) == {2}


def test_lapack_threads_rejects_bad_count():
    with pytest.raises(ValueError, match="`n`"), lrjax.linalg.lapack_threads(0):
        pass


def test_serial_call_runs_on_one_thread_and_restores(two_threads):
    seen = []

    def fn(a, *, scale):
        seen.append(_scipy_threads())
        return jnp.linalg.eigh(a * scale)[0]

    a = jnp.diag(jnp.arange(1.0, 5.0))
    out = serial_lapack_call(4, fn, a, scale=2.0)
    np.testing.assert_allclose(out, [2.0, 4.0, 6.0, 8.0])
    assert set(seen[0]) == {1}
    assert set(_scipy_threads()) == {2}


def test_serial_call_leaves_large_and_traced_calls_alone(two_threads):
    seen = []
    fn = lambda a: seen.append(_scipy_threads()) or a
    serial_lapack_call(SERIAL_LAPACK_MAX + 1, fn, jnp.ones(2))
    jax.jit(lambda a: serial_lapack_call(2, fn, a))(jnp.ones(2))
    assert [set(s) for s in seen] == [{2}, {2}]


def test_serial_call_restores_after_an_error(two_threads):
    def fail(a):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        serial_lapack_call(2, fail, jnp.ones(2))
    assert set(_scipy_threads()) == {2}


def test_overlapping_serial_calls_restore_once_the_last_returns(two_threads):
    """A call from another Python thread (which is not limited: OpenBLAS keeps such a
    thread's limit to itself) that starts and ends inside the main thread's call leaves the
    limit in place; the setting comes back when the outer call returns."""
    seen = []

    def outer(a):
        worker = threading.Thread(target=serial_lapack_call, args=(2, lambda b: b, a))
        worker.start()
        worker.join(timeout=20)
        seen.append(_scipy_threads())
        return a

    serial_lapack_call(2, outer, jnp.ones(2))
    assert [set(s) for s in seen] == [{1}]
    assert set(_scipy_threads()) == {2}


def test_tucker_hooi_eager_call_matches_traced_call(two_threads):
    x = jax.random.normal(jax.random.key(0), (12, 10, 8))
    eager = lrjax.tucker_hooi(x, 3, maxiter=5)
    traced = jax.jit(lambda x: lrjax.tucker_hooi(x, 3, maxiter=5))(x)
    np.testing.assert_allclose(eager.tucker.core, traced.tucker.core, rtol=1e-5, atol=1e-6)
    assert set(_scipy_threads()) == {2}
