import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac

import lrjax
from lrjax.testing import factor_match_score, random_cp, relative_error
from tests.conftest import count_conds, directional_fd


@pytest.mark.parametrize(
    ("shape", "rank", "init"),
    [
        ((10, 9, 8), 3, "svd"),
        ((10, 9, 8), 3, "random"),
        ((6, 7, 5, 4), 4, "svd"),
        ((5, 4), 2, "svd"),
    ],
)
def test_recovers_planted_cp_exactly(shape, rank, init):
    planted = random_cp(jax.random.key(1), shape, rank)
    x = planted.to_dense()
    cp, info = lrjax.cp_als(x, rank, key=jax.random.key(2), init=init, maxiter=300, tol=0.0)
    assert float(info.error) < 1e-8
    assert float(relative_error(x, cp.to_dense())) < 1e-8
    if len(shape) > 2:  # matrices have rotational freedom, no unique factors
        assert factor_match_score(planted, cp) > 0.999


def test_canonical_form():
    x = random_cp(jax.random.key(3), (8, 7, 6), 3).to_dense()
    cp, _ = lrjax.cp_als(x, 3, maxiter=100)
    w = np.asarray(cp.weights)
    assert np.all(np.diff(w) <= 0) and np.all(w > 0)
    for n, f in enumerate(cp.factors):
        f = np.asarray(f)
        np.testing.assert_allclose(np.linalg.norm(f, axis=0), 1.0, rtol=1e-12)
        if n < 2:
            assert np.all(f[np.argmax(np.abs(f), axis=0), np.arange(3)] > 0)
    # Same answer from a sign-flipped, permuted start: the canonical form is unique.
    cp2, _ = lrjax.cp_als(x, 3, init="random", key=jax.random.key(9), maxiter=500, tol=0.0)
    np.testing.assert_allclose(np.asarray(cp2.weights), w, rtol=1e-6)
    for f, f2 in zip(cp.factors, cp2.factors, strict=True):
        np.testing.assert_allclose(np.asarray(f2), np.asarray(f), atol=1e-6)


def test_rank_above_a_mode_size_needs_key_and_works():
    x = random_cp(jax.random.key(4), (3, 8, 9), 4).to_dense()
    with pytest.raises(ValueError, match="`key` must be a PRNG key when rank 4 > min"):
        lrjax.cp_als(x, 4)
    _cp, info = lrjax.cp_als(x, 4, key=jax.random.key(0), maxiter=500, tol=0.0)
    assert float(info.error) < 1e-6


def test_noisy_matches_tensorly_parafac():
    rng = np.random.default_rng(5)
    x = np.asarray(random_cp(jax.random.key(5), (12, 11, 10), 3).to_dense())
    x = x + 0.05 * np.linalg.norm(x) / np.sqrt(x.size) * rng.standard_normal(x.shape)
    _, info = lrjax.cp_als(jnp.asarray(x), 3, maxiter=500, tol=1e-12)
    tl_cp = parafac(x, 3, init="svd", n_iter_max=500, tol=1e-12)
    tl_err = np.linalg.norm(x - tl.cp_to_tensor(tl_cp)) / np.linalg.norm(x)
    assert float(info.error) <= tl_err * (1 + 1e-6)
    assert abs(float(info.error) - tl_err) < 1e-6


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rank": 0}, "`rank` must be a positive int, got 0"),
        ({"rank": -2}, "`rank` must be a positive int, got -2"),
        ({"rank": 2, "init": "nope"}, "`init` must be one of"),
        ({"rank": 2, "diff": "nope"}, "`diff` must be one of"),
        ({"rank": 2, "init": "random"}, "`key` must be a PRNG key"),
        ({"rank": 2, "maxiter": 0}, "`maxiter` must be a positive int"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lrjax.cp_als(jnp.ones((3, 4, 5)), **kwargs)


def test_bad_tensors():
    with pytest.raises(ValueError, match="`x` must have at least 2 dimensions, got shape"):
        lrjax.cp_als(jnp.ones(5), 1)
    x = jnp.ones((3, 4, 5)).at[1, 1, 1].set(jnp.nan)
    with pytest.raises(ValueError, match="`x` must be finite, got 1 NaN"):
        lrjax.cp_als(x, 2)
    # The eager check is one float reduction of x * 0: infinities are caught, and entries
    # near the float64 limit (whose plain sum would overflow) are not mistaken for them.
    big = jnp.full((3, 4, 5), 1e308, dtype=jnp.float64)
    with pytest.raises(ValueError, match="`x` must be finite, got 2 NaN or infinite"):
        lrjax.cp_als(big.at[0, 0, 0].set(-jnp.inf).at[2, 3, 4].set(jnp.nan), 1, maxiter=1)
    assert lrjax.cp_als(big, 1, maxiter=1).cp.weights.shape == (1,)


def test_vmap_equals_loop_and_does_not_recompile():
    keys = jax.random.split(jax.random.key(6), 4)
    xs = jnp.stack([random_cp(k, (6, 5, 4), 2).to_dense() for k in keys])
    # Noise keeps the error far above its rounding floor, so the stopping sweep is well
    # defined and batched and single runs stop at the same sweep.
    xs = xs + 0.01 * jax.random.normal(jax.random.key(60), xs.shape)
    batched = jax.vmap(lambda x: lrjax.cp_als(x, 2, maxiter=60, tol=1e-10))(xs)
    for i in range(4):
        single = lrjax.cp_als(xs[i], 2, maxiter=60, tol=1e-10)
        np.testing.assert_allclose(
            np.asarray(batched.cp.weights[i]), np.asarray(single.cp.weights), rtol=1e-8
        )
        assert int(batched.info.n_iter[i]) == int(single.info.n_iter)
    from lrjax.decomposition._cp import _cp_als

    lrjax.cp_als(xs[0], 2, maxiter=60, tol=1e-10)
    size = _cp_als._cache_size()
    lrjax.cp_als(xs[1] * 2.0, 2, maxiter=60, tol=1e-6)  # new data and tol: no retrace
    assert _cp_als._cache_size() == size


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_gradient_matches_finite_differences(diff):
    rng = np.random.default_rng(7)
    x0 = np.asarray(random_cp(jax.random.key(7), (6, 5, 4), 2).to_dense())
    x0 = x0 + 0.02 * rng.standard_normal(x0.shape)
    c = rng.standard_normal((6, 2))
    v = rng.standard_normal(x0.shape)

    def loss(x):
        cp, _ = lrjax.cp_als(x, 2, maxiter=400, tol=0.0, diff=diff)
        return jnp.sum(cp.weights) + jnp.sum(cp.factors[0] * c)

    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v, h=1e-5)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5)


def test_float32_smoke():
    x = random_cp(jax.random.key(8), (8, 7, 6), 2, dtype=jnp.float32).to_dense()
    cp, info = lrjax.cp_als(x, 2, maxiter=200, tol=1e-6)
    assert cp.weights.dtype == jnp.float32
    # float32 resolves the per-sweep error to about sqrt(eps) = 3e-4 (see docs/index.md).
    assert float(info.error) < 1e-3


def test_masked_cp_completes_a_planted_tensor():
    planted = random_cp(jax.random.key(10), (12, 11, 10), 3)
    x = planted.to_dense()
    mask = (jax.random.uniform(jax.random.key(11), x.shape) < 0.5).astype(x.dtype)
    cp, info = lrjax.cp_als(x * mask, 3, weights=mask, maxiter=1000, tol=0.0)
    assert float(info.error) < 1e-8  # weighted error on the observed entries
    assert float(relative_error(x, cp.to_dense())) < 1e-8  # and the missing ones
    assert factor_match_score(planted, cp) > 0.999


def test_all_ones_weights_equal_plain_als():
    x = random_cp(jax.random.key(12), (7, 6, 5), 2).to_dense()
    x = x + 0.01 * jax.random.normal(jax.random.key(13), x.shape)
    weighted = lrjax.cp_als(x, 2, weights=jnp.ones_like(x), maxiter=60, tol=0.0)
    plain = lrjax.cp_als(x, 2, maxiter=60, tol=0.0)
    np.testing.assert_allclose(
        np.asarray(weighted.cp.to_dense()), np.asarray(plain.cp.to_dense()), atol=1e-12
    )
    np.testing.assert_allclose(float(weighted.info.error), float(plain.info.error), rtol=1e-10)


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_weighted_gradient_matches_finite_differences(diff):
    rng = np.random.default_rng(14)
    x0 = np.asarray(random_cp(jax.random.key(14), (6, 5, 4), 2).to_dense())
    x0 = x0 + 0.02 * rng.standard_normal(x0.shape)
    w = jnp.asarray(rng.uniform(0.3, 1.0, x0.shape))
    v = rng.standard_normal(x0.shape)

    def loss(x):
        cp, _ = lrjax.cp_als(x, 2, weights=w, maxiter=400, tol=0.0, diff=diff)
        return jnp.sum(cp.weights) + jnp.sum(cp.factors[1])

    g = jax.jit(jax.grad(loss))(jnp.asarray(x0))
    fd = directional_fd(lambda x: float(loss(jnp.asarray(x))), x0, v, h=1e-6)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5)


def test_bad_weights():
    x = jnp.ones((3, 4, 5))
    with pytest.raises(ValueError, match="`weights` must have the shape of `x`"):
        lrjax.cp_als(x, 2, weights=jnp.ones((3, 4)))
    with pytest.raises(ValueError, match=r"`weights` must lie in \[0, 1\]"):
        lrjax.cp_als(x, 2, weights=2 * jnp.ones_like(x))
    with pytest.raises(ValueError, match="must not be all zero"):
        lrjax.cp_als(x, 2, weights=jnp.zeros_like(x))


def test_final_error_without_the_dense_tensor_equals_the_dense_one():
    """On tensors of 2^20 entries or more (float64), ``info.error`` comes from ``<x, cp>``
    (no dense reconstruction) where the expansion is accurate, and from the dense difference
    where it is not (a near-exact fit) or in float32: NumPy's dense error either way."""
    rng = np.random.default_rng(4)
    noisy = rng.standard_normal((128, 96, 90))
    planted = np.asarray(random_cp(jax.random.key(5), noisy.shape, 3).to_dense())
    for x, dtype, rtol in (
        (noisy, jnp.float64, 1e-10),
        (noisy.reshape(32, 36, 30, 32), jnp.float64, 1e-10),  # a 4-way einsum
        (planted + 1e-7 * noisy, jnp.float64, 1e-6),  # error ~1e-7: the dense branch
        (noisy, jnp.float32, 1e-5),
    ):
        r = lrjax.cp_als(jnp.asarray(x, dtype), 3, maxiter=8)
        dense = np.linalg.norm(x - np.asarray(r.cp.to_dense(), np.float64)) / np.linalg.norm(x)
        np.testing.assert_allclose(float(r.info.error), dense, rtol=rtol)


def test_final_error_by_the_expansion_is_differentiable(expansion_everywhere):
    """The expansion's branch differentiates like the error it computes: the unrolled
    gradient of ``info.error`` against finite differences (the size limit lowered so that a
    small tensor takes that branch; JAX's caches cleared so the programs are traced anew)."""
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.standard_normal((9, 7, 8)))
    f = lambda x: lrjax.cp_als(x, 3, maxiter=4, tol=0.0, diff="unroll").info.error
    before = count_conds(f, x)
    expansion_everywhere()
    assert count_conds(f, x) == before + 1  # the expansion's branch is built
    r = lrjax.cp_als(x, 3, maxiter=4, tol=0.0)
    dense = np.linalg.norm(np.asarray(x) - np.asarray(r.cp.to_dense())) / np.linalg.norm(x)
    np.testing.assert_allclose(float(r.info.error), dense, rtol=1e-10)
    v = jnp.asarray(rng.standard_normal(x.shape))
    g = jax.grad(f)(x)
    np.testing.assert_allclose(float(jnp.vdot(g, v)), float(directional_fd(f, x, v)), rtol=1e-5)


def test_expanded_relative_error_falls_back_where_the_expansion_cancels():
    """The expansion is kept only where its rounding error (~eps·sqrt(size)·||x||²) is at most
    1e-6 of the residual; a smaller or non-finite residual takes the dense branch, and small
    or float32 tensors build the dense branch alone (the expansion is never evaluated)."""
    from lrjax._numeric import expanded_relative_error

    dense = lambda: jnp.asarray(-1.0)  # a marker: which branch ran
    ref, n = jnp.asarray(4.0), 2**22
    floor = 1e6 * np.finfo(np.float64).eps * 2**11 * 4.0

    def error(r, size=n, dtype=jnp.float64):
        return float(expanded_relative_error(lambda: jnp.asarray(r), ref, size, dtype, dense))

    assert error(1.0) == 0.5
    assert error(1.01 * floor) > 0
    assert error(0.99 * floor) == -1
    assert error(np.nan) == -1
    assert float(expanded_relative_error(lambda: ref, ref * 0, n, jnp.float64, dense)) == -1

    def never():
        raise AssertionError("the expansion was built")

    for size, dtype in ((2**20 - 1, jnp.float64), (2**22, jnp.float32)):
        assert float(expanded_relative_error(never, ref, size, dtype, dense)) == -1


@pytest.mark.parametrize(
    ("nonneg", "solve"),
    [
        (True, lambda x: lrjax.cp_nonneg(x, 3, key=jax.random.key(0), maxiter=3)),
        (
            False,
            lambda x: lrjax.cp_randomized(x, 3, n_samples=30, key=jax.random.key(0), maxiter=3),
        ),
        (False, lambda x: lrjax.cp_constrained(x, 3, prox=None, maxiter=2, inner=2)),
        (False, lambda x: lrjax.cp_opt(x, 3, method="lbfgs", maxiter=3)),
    ],
    ids=["cp_nonneg", "cp_randomized", "cp_constrained", "cp_opt"],
)
def test_other_cp_solvers_report_the_dense_error_on_a_large_tensor(nonneg, solve):
    """The other CP solvers share ``cp_als``'s final error (the expansion on float64 tensors
    of 2^20 entries or more): NumPy's dense error of the tensor each was given."""
    x = np.random.default_rng(7).standard_normal((128, 96, 90))
    x = np.abs(x) if nonneg else x
    r = solve(jnp.asarray(x))
    dense = np.linalg.norm(x - np.asarray(r.cp.to_dense())) / np.linalg.norm(x)
    np.testing.assert_allclose(float(r.info.error), dense, rtol=1e-10)


_VMAPPED_CP_RUNS = r"""
import jax, jax.numpy as jnp
import lrjax
keys = jax.random.split(jax.random.key(3), 32)
xs = jnp.stack([lrjax.testing.random_cp(k, (20,) * 3, 3).to_dense() for k in keys])
batched = jax.jit(jax.vmap(lambda x: lrjax.cp_als(x, 3, maxiter=100, tol=0.0)))
for _ in range(40):
    jax.block_until_ready(batched(xs))
print("done")
"""


def test_vmapped_cp_als_runs_to_the_end_on_one_device():
    # jaxlib 0.10's batched LAPACK kernels wait inside XLA:CPU's pool for work queued on
    # the same pool: two of them at once hang a 2-core machine. A version of
    # leading_left_singular_vectors hung this program within 1-12 calls (float32, one
    # device, as users run it; the suite's 8 host devices hide it). Fresh process, bounded.
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", _VMAPPED_CP_RUNS], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip().endswith("done"), out.stderr[-2000:]
