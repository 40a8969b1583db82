import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import tucker

import lrjax
from lrjax.testing import random_tucker, relative_error
from tests.conftest import count_conds, directional_fd


def _st_hosvd_numpy(x, ranks):
    core, factors = x, []
    for n, r in enumerate(ranks):
        u = np.linalg.svd(tl.unfold(core, n), full_matrices=False)[0][:, :r]
        core = tl.tenalg.mode_dot(core, u.T, n)
        factors.append(u)
    return core, factors


def test_hosvd_matches_numpy_svd(rng):
    x = rng.standard_normal((7, 6, 5))
    ranks = (3, 2, 4)
    t = lrjax.hosvd(jnp.asarray(x), ranks)
    core_np, factors_np = _st_hosvd_numpy(x, ranks)
    for f, f_np in zip(t.factors, factors_np, strict=True):
        np.testing.assert_allclose(np.abs(np.asarray(f)), np.abs(f_np), atol=1e-9)
        np.testing.assert_allclose(np.asarray(f).T @ np.asarray(f), np.eye(f.shape[1]), atol=1e-12)
    x_np = tl.tucker_to_tensor((core_np, factors_np))
    np.testing.assert_allclose(np.asarray(t.to_dense()), x_np, atol=1e-10)


@pytest.mark.parametrize("shape,ranks", [((10, 9, 8), (3, 4, 2)), ((6, 5, 4, 3), (2, 3, 2, 2))])
def test_recovers_planted_tucker(shape, ranks):
    x = random_tucker(jax.random.key(0), shape, ranks).to_dense()
    assert float(relative_error(x, lrjax.hosvd(x, ranks).to_dense())) < 1e-12
    t, info = lrjax.tucker_hooi(x, ranks, init="random", key=jax.random.key(1), maxiter=100)
    assert float(info.error) < 1e-10
    assert t.rank == ranks


def test_hooi_improves_on_hosvd_and_matches_tensorly():
    rng = np.random.default_rng(1)
    x = np.asarray(random_tucker(jax.random.key(2), (12, 11, 10), (3, 3, 3)).to_dense())
    x = x + 0.3 * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(x.shape)
    ranks = (3, 2, 3)
    err_hosvd = float(relative_error(x, lrjax.hosvd(jnp.asarray(x), ranks).to_dense()))
    _, info = lrjax.tucker_hooi(jnp.asarray(x), ranks, maxiter=200, tol=1e-14)
    assert float(info.error) <= err_hosvd + 1e-12
    core, factors = tucker(x, rank=list(ranks), n_iter_max=200, tol=1e-14)
    tl_err = np.linalg.norm(x - tl.tucker_to_tensor((core, factors))) / np.linalg.norm(x)
    assert abs(float(info.error) - tl_err) < 1e-8
    h = np.asarray(info.history[: int(info.n_iter)])
    assert np.all(np.diff(h) <= 1e-12)  # HOOI never increases the error


@pytest.mark.parametrize(
    ("ranks", "match"),
    [
        ((2, 2), "`ranks` must be an int or one entry per mode"),
        ((2, 2, 2, 2), "`ranks` must be an int or one entry per mode"),
        ((2, 9, 2), r"`ranks\[1\]` must be at most the size of mode 1 \(4\)"),
        ((2, 0, 2), r"`ranks\[1\]` must be a positive int, got 0"),
    ],
)
def test_bad_ranks(ranks, match):
    with pytest.raises(ValueError, match=match):
        lrjax.hosvd(jnp.ones((3, 4, 5)), ranks)
    with pytest.raises(ValueError, match=match):
        lrjax.tucker_hooi(jnp.ones((3, 4, 5)), ranks)


def test_bad_tensors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        lrjax.hosvd(jnp.ones(4), 1)
    with pytest.raises(ValueError, match="must be finite"):
        lrjax.tucker_hooi(jnp.full((3, 3, 3), jnp.inf), 1)
    with pytest.raises(ValueError, match="`key` must be a PRNG key"):
        lrjax.tucker_hooi(jnp.ones((3, 3, 3)), 1, init="random")


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_hooi_gradient_matches_finite_differences(diff):
    rng = np.random.default_rng(3)
    x0 = np.asarray(random_tucker(jax.random.key(3), (6, 5, 4), (2, 2, 2)).to_dense())
    x0 = x0 + 0.05 * rng.standard_normal(x0.shape)
    v = rng.standard_normal(x0.shape)
    w = rng.standard_normal(x0.shape)

    def loss(x):
        t, _ = lrjax.tucker_hooi(x, (2, 2, 2), maxiter=200, tol=0.0, diff=diff)
        return jnp.sum(t.to_dense() * w)

    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5)


def test_hosvd_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((5, 4, 3))
    v, w = rng.standard_normal(x0.shape), rng.standard_normal(x0.shape)
    loss = lambda x: jnp.sum(lrjax.hosvd(x, (2, 2, 2)).to_dense() * w)
    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-6)


def test_rank_above_the_product_of_the_others_completes_the_basis():
    """A (3, 4, 3) tensor at ranks (2, 3, 1): the mode-1 unfolding of the projected tensor has
    only 2 columns, and the while loop crashed on a (4, 2) factor (issue 26, item 4). The
    factors come out (3, 2), (4, 3), (3, 1), orthonormal, with TensorLy's error."""
    x = np.random.default_rng(0).standard_normal((3, 4, 3))
    res = lrjax.tucker_hooi(jnp.asarray(x), (2, 3, 1))
    assert [f.shape for f in res.tucker.factors] == [(3, 2), (4, 3), (3, 1)]
    for f in res.tucker.factors:
        np.testing.assert_allclose(f.T @ f, np.eye(f.shape[1]), atol=1e-12)
    core, factors = tucker(tl.tensor(x), rank=[2, 3, 1], init="svd", n_iter_max=100, tol=1e-12)
    ref = np.linalg.norm(x - tl.tucker_to_tensor((core, factors))) / np.linalg.norm(x)
    np.testing.assert_allclose(float(res.info.error), ref, rtol=1e-8)
    g = jax.grad(lambda x: jnp.sum(jnp.sin(lrjax.tucker_hooi(x, (2, 3, 1)).tucker.to_dense())))
    assert np.all(np.isfinite(np.asarray(g(jnp.asarray(x)))))


def test_partial_tucker_matches_tensorly():
    """TensorLy's test_partial_tucker scenario (seed 1234, a 3 x 4 x 3 tensor, modes [1, 2],
    ranks [3, 1]) and a 4-way one: the same reconstruction error to rounding."""
    from tensorly.decomposition import partial_tucker
    from tensorly.tenalg import multi_mode_dot

    for x, ranks, modes in (
        (tl.check_random_state(1234).random_sample((3, 4, 3)), [3, 1], [1, 2]),
        (np.random.default_rng(0).standard_normal((8, 9, 10, 7)), [4, 3], [0, 2]),
    ):
        (core, factors), _ = partial_tucker(x, rank=ranks, modes=modes, n_iter_max=200, tol=1e-14)
        ref = np.linalg.norm(multi_mode_dot(core, factors, modes=modes) - x) / np.linalg.norm(x)
        r = lrjax.tucker_hooi(
            jnp.asarray(x), tuple(ranks), modes=tuple(modes), maxiter=200, tol=1e-14
        )
        got = np.linalg.norm(np.asarray(r.tucker.to_dense()) - x) / np.linalg.norm(x)
        np.testing.assert_allclose(got, ref, rtol=1e-9)
        np.testing.assert_allclose(float(r.info.error), ref, rtol=1e-9)
        untouched = [m for m in range(x.ndim) if m not in modes]
        for m in untouched:  # full size, identity factor
            assert r.tucker.core.shape[m] == x.shape[m]
            np.testing.assert_array_equal(r.tucker.factors[m], np.eye(x.shape[m]))


@pytest.mark.filterwarnings("ignore::Warning:tensorly")  # TensorLy warns about rank=None
def test_rank_none_keeps_the_full_size_as_tensorlys_tucker():
    """TensorLy's test_tucker and test_partial_tucker call ``rank=None``: every (listed) mode
    keeps its size, so the fit is exact; None entries mix with given ranks."""
    from tensorly.decomposition import partial_tucker

    x = tl.check_random_state(1234).random_sample((3, 4, 3))
    xj = jnp.asarray(x)
    full = lrjax.tucker_hooi(xj, None, maxiter=20)
    assert full.tucker.core.shape == (3, 4, 3)
    assert float(relative_error(xj, full.tucker.to_dense())) < 1e-12
    assert lrjax.hosvd(xj, None).core.shape == (3, 4, 3)
    mixed = lrjax.tucker_hooi(xj, (2, None, 1), maxiter=50, tol=1e-14)
    assert mixed.tucker.core.shape == (2, 4, 1)
    core, factors = tucker(x, rank=[2, 4, 1], n_iter_max=200, tol=1e-14)
    ref = np.linalg.norm(tl.tucker_to_tensor((core, factors)) - x) / np.linalg.norm(x)
    np.testing.assert_allclose(float(mixed.info.error), ref, rtol=1e-8)
    (pcore, _), _ = partial_tucker(x, rank=None, modes=[1, 2], n_iter_max=20)
    part = lrjax.tucker_hooi(xj, None, modes=(1, 2), maxiter=20)
    assert part.tucker.core.shape == pcore.shape == (3, 4, 3)
    assert float(relative_error(xj, part.tucker.to_dense())) < 1e-12
    # a fixed factor's rank is its column count also where the rank is left as None
    u = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (4, 2)))[0]
    held = lrjax.tucker_hooi(xj, (None, None, None), fixed={1: u}, maxiter=20)
    assert held.tucker.core.shape == (3, 2, 3)
    nonneg = lrjax.tucker_nonneg(xj, None, key=jax.random.key(1), maxiter=5)
    assert nonneg.tucker.core.shape == (3, 4, 3)
    with pytest.raises(ValueError, match="columns"):
        lrjax.tucker_hooi(xj, (None, 3, None), fixed={1: u})


def test_tucker_with_a_fixed_factor_is_the_tucker_of_the_projected_tensor():
    """TensorLy's test_tucker scenario (fixed_factors=[1] from a first fit). With U_1 fixed the
    best fit of the other modes is the partial Tucker of x ×_1 U_1^T (oracle: TensorLy on that
    tensor); the fixed factor comes back unchanged; TensorLy's own fixed-factor fit is no
    better than ours."""
    from tensorly.decomposition import partial_tucker

    rng = tl.check_random_state(1234)
    x = rng.random_sample((5, 6, 4))
    ranks = [2, 3, 2]
    core0, f0 = tucker(x, rank=ranks, n_iter_max=100)
    r = lrjax.tucker_hooi(jnp.asarray(x), ranks, fixed={1: jnp.asarray(f0[1])}, maxiter=100,
                          tol=1e-14)  # fmt: skip
    np.testing.assert_array_equal(r.tucker.factors[1], f0[1])
    y = tl.tenalg.mode_dot(x, f0[1].T, 1)
    (core, _), _ = partial_tucker(y, rank=[2, 2], modes=[0, 2], n_iter_max=200, tol=1e-14)
    best_sq = np.sum(x**2) - np.sum(core**2)
    got = np.linalg.norm(np.asarray(r.tucker.to_dense()) - x)
    np.testing.assert_allclose(got**2, best_sq, rtol=1e-8)
    c2, f2 = tucker(x, rank=ranks, init=(core0, [f.copy() for f in f0]), fixed_factors=[1],
                    n_iter_max=100)  # fmt: skip
    assert got <= np.linalg.norm(tl.tucker_to_tensor((c2, f2)) - x) + 1e-12
    # differentiable in the fixed factor (unrolled sweeps), and checked arguments
    g = jax.grad(
        lambda u: (
            lrjax.tucker_hooi(
                jnp.asarray(x), ranks, fixed={1: u}, maxiter=5, diff="unroll"
            ).info.error
        )
    )(jnp.asarray(f0[1]))
    assert np.all(np.isfinite(np.asarray(g)))
    with pytest.raises(ValueError, match="orthonormal"):
        lrjax.tucker_hooi(jnp.asarray(x), ranks, fixed={1: 2.0 * jnp.asarray(f0[1])})
    with pytest.raises(ValueError, match="columns"):
        lrjax.tucker_hooi(jnp.asarray(x), [2, 2, 2], fixed={1: jnp.asarray(f0[1])})
    with pytest.raises(ValueError, match="not in `modes`"):
        lrjax.tucker_hooi(jnp.asarray(x), 2, modes=(0, 2), fixed={1: jnp.asarray(f0[1])})


def test_final_error_without_the_dense_tensor_equals_the_dense_one(expansion_everywhere):
    """On 2^20 entries or more (float64) ``info.error`` comes from the core's norm and the
    factors' Gram matrices: NumPy's dense error, for full and partial Tucker. With the size
    limit lowered (and JAX's caches cleared), also for a traced fixed factor that is not
    orthonormal (where ``||x̂|| != ||G||``), with the derivative in that factor equal to the
    finite difference of the error."""
    rng = np.random.default_rng(3)
    big = rng.standard_normal((128, 96, 90))
    for r in (
        lrjax.tucker_hooi(jnp.asarray(big), (3, 2, 4), maxiter=5),
        lrjax.tucker_hooi(jnp.asarray(big), (3, 4), modes=(0, 2), maxiter=5),
    ):
        dense = np.linalg.norm(big - np.asarray(r.tucker.to_dense()))
        np.testing.assert_allclose(float(r.info.error), dense / np.linalg.norm(big), rtol=1e-10)
    x = rng.standard_normal((9, 8, 7))
    u = np.linalg.qr(rng.standard_normal((8, 2)))[0] * np.array([1.3, 0.8])  # not orthonormal
    fit = jax.jit(lambda u: lrjax.tucker_hooi(jnp.asarray(x), 2, fixed={1: u}, diff="unroll"))
    before = count_conds(fit, jnp.asarray(u))
    expansion_everywhere()
    assert count_conds(fit, jnp.asarray(u)) == before + 1  # the expansion's branch is built
    r = fit(jnp.asarray(u))
    dense = np.linalg.norm(x - np.asarray(r.tucker.to_dense())) / np.linalg.norm(x)
    np.testing.assert_allclose(float(r.info.error), dense, rtol=1e-10)
    v = rng.standard_normal(u.shape)
    g = jax.grad(lambda u: fit(u).info.error)(jnp.asarray(u))
    fd = directional_fd(lambda u: fit(u).info.error, jnp.asarray(u), jnp.asarray(v))
    np.testing.assert_allclose(float(jnp.vdot(g, v)), float(fd), rtol=1e-5)
