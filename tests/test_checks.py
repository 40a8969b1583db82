"""The checks of eager inputs: finiteness (``lrjax._checks.finite``: NumPy reads a CPU array
in place, other arrays are checked by a compiled reduction on their device) and the dtype
``as_array`` hands on."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from lrjax import _checks


def _bad(n_nan=1, n_inf=1, dtype=np.float64):
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(dtype)
    x.flat[:n_nan] = np.nan
    x.flat[n_nan : n_nan + n_inf] = np.inf
    x.flat[n_nan + n_inf : n_nan + 2 * n_inf] = -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_host_count_matches_numpy(dtype):
    x = jnp.asarray(_bad(2, 1, dtype))
    assert _checks.host_view(x) is not None
    assert _checks._count_nonfinite_entries(x) == int(np.sum(~np.isfinite(np.asarray(x))))
    with pytest.raises(ValueError, match="`x` must be finite, got 4 NaN or infinite"):
        _checks.finite("x", x)


def test_host_view_is_not_a_copy_and_leaves_input_intact():
    x = jnp.arange(12.0).reshape(3, 4)
    view = _checks.host_view(x)
    assert np.shares_memory(view, np.asarray(x)) and not view.flags.writeable
    _checks.finite("x", x)
    np.testing.assert_array_equal(np.asarray(x), np.arange(12.0).reshape(3, 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_entries_pass(dtype):
    # their sum overflows to inf (and inf - inf to NaN): the count decides, without a warning
    big = np.finfo(dtype).max
    x = jnp.asarray(np.array([big, big, -big, -big, 1.0], dtype))
    with np.errstate(all="raise"):
        _checks.finite("x", x)


def test_plus_and_minus_inf_are_caught():
    x = jnp.asarray(np.array([np.inf, -np.inf, 0.0]))
    with pytest.raises(ValueError, match="got 2 NaN or infinite"):
        _checks.finite("x", x)


def test_host_path_compiles_nothing(monkeypatch):
    def fail(*args):
        raise AssertionError("a program was run for a CPU array")

    monkeypatch.setattr(_checks, "concrete_value", fail)
    _checks.finite("x", jnp.ones((7, 3, 11)))
    with pytest.raises(ValueError, match="got 2 NaN"):
        _checks.finite("x", jnp.asarray(_bad(2, 0)))


def test_sharded_array_uses_the_device_reduction():
    devices = jax.devices()
    if len(devices) < 2:
        pytest.skip("needs several devices")
    mesh = jax.make_mesh((2,), ("d",), devices=devices[:2])
    x = jax.device_put(_bad(1, 1), NamedSharding(mesh, PartitionSpec("d")))
    assert _checks.host_view(x) is None
    assert _checks._count_nonfinite_entries(x) == 3
    ok = jax.device_put(np.ones((6, 5)), NamedSharding(mesh, PartitionSpec("d")))
    assert _checks._count_nonfinite_entries(ok) == 0


def test_other_dtypes_and_tracers_have_no_view():
    assert _checks.host_view(jnp.ones(3, jnp.bfloat16)) is None
    assert _checks.host_view(jnp.ones(3, jnp.int32)) is None
    assert _checks.host_view(np.ones(3)) is None
    seen = []
    jax.jit(lambda a: seen.append(_checks.host_view(a)) or a)(jnp.ones(3))
    assert seen == [None]  # a tracer
    # bfloat16 goes through the compiled reduction
    assert _checks._count_nonfinite_entries(jnp.asarray([1.0, jnp.nan], jnp.bfloat16)) == 1


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_data_are_computed_in_float32(dtype):
    """LAPACK has no half-precision factorizations (JAX raised NotImplementedError from
    inside an SVD); the routines take such data in float32, as SciPy does float16."""
    import lrjax

    x = jnp.asarray(np.random.default_rng(0).random((5, 6, 7)), dtype)
    x32 = x.astype(jnp.float32)
    m, m32 = x[:, :, 0], x32[:, :, 0]
    for f in (
        lambda a: lrjax.cp_als(a, 2, maxiter=20).cp.to_dense(),
        lambda a: lrjax.tucker_hooi(a, (2, 2, 2), maxiter=5).tucker.to_dense(),
        lambda a: lrjax.tt_svd(a, 2).to_dense(),
    ):
        got = f(x)
        assert got.dtype == jnp.float32
        np.testing.assert_array_equal(got, f(x32))
    low = lrjax.robust_pca(m, maxiter=30).low_rank
    assert low.dtype == jnp.float32
    np.testing.assert_array_equal(low, lrjax.robust_pca(m32, maxiter=30).low_rank)
    assert _checks.as_array("x", x).dtype == jnp.float32
