"""Complex data: TensorLy's complex cases of test_svd (svd_interface), test_tensor_train and
test_parafac, re-told against truncated_svd / randomized_svd, tt_svd and cp_als."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.cp_tensor import CPTensor as TLCPTensor
from tensorly.decomposition import parafac
from tensorly.random import random_cp as tl_random_cp
from tensorly.random import random_tt as tl_random_tt

import lrjax


def _complex_cp(shape, true_rank, seed):
    """TensorLy's complex test tensor: real and imaginary factors from one random state."""
    rng = tl.check_random_state(seed)
    re = tl_random_cp(shape, rank=true_rank, full=False, random_state=rng, dtype=tl.float64)
    im = tl_random_cp(shape, rank=true_rank, full=False, random_state=rng, dtype=tl.float64)
    re.factors = [a + 1j * b for a, b in zip(re.factors, im.factors, strict=True)]
    return tl.cp_to_tensor(re)


@pytest.mark.parametrize("shape", [(10, 5), (10, 10), (5, 10)])
@pytest.mark.parametrize("rank", [1, 3, 10])
def test_svds_approximate_a_complex_low_rank_matrix(shape, rank):
    """TensorLy's test_svd_interface_approx with is_complex=True, and the phase convention."""
    rng = tl.check_random_state(1234)
    r_ = rng.random_sample((shape[0], rank)) + 1j * rng.random_sample((shape[0], rank))
    l_ = rng.random_sample((rank, shape[1])) + 1j * rng.random_sample((rank, shape[1]))
    x = r_ @ l_
    r = min(rank, *shape)
    exact = lrjax.truncated_svd(x, r)
    sketched = lrjax.randomized_svd(x, r, key=jax.random.key(0))
    for u, s, vt in (exact, sketched):
        assert u.dtype == jnp.complex128 and s.dtype == jnp.float64
        assert np.linalg.norm(x - (u * s) @ vt) / np.linalg.norm(x) < 1e-6
        np.testing.assert_allclose(u.conj().T @ u, np.eye(r), atol=1e-10)
        top = np.asarray(u)[np.argmax(np.abs(u), axis=0), np.arange(r)]
        np.testing.assert_allclose(top.imag, 0.0, atol=1e-12)  # real positive, as svd_flip
        assert np.all(top.real > 0)
    np.testing.assert_allclose(exact[1], np.linalg.svd(x, compute_uv=False)[:r], rtol=1e-10)


@pytest.mark.parametrize("seed", [1, 1234])
def test_tt_svd_recovers_a_complex_tensor_train(seed):
    """TensorLy's test_tensor_train, complex case: a rank-(1, 3, 4, 2, 1) TT comes back."""
    rng = tl.check_random_state(seed)
    shape, ranks = (3, 4, 5, 6), [1, 3, 4, 2, 1]
    re = tl_random_tt(shape=shape, full=False, rank=ranks, random_state=rng, dtype=tl.float64)
    im = tl_random_tt(shape=shape, full=False, rank=ranks, random_state=rng, dtype=tl.float64)
    re.factors = [a + 1j * b for a, b in zip(re.factors, im.factors, strict=True)]
    x = tl.tt_to_tensor(re)
    tt = lrjax.tt_svd(x, (3, 4, 2))
    assert np.linalg.norm(tt.to_dense() - x) / np.linalg.norm(x) < 1e-10
    adaptive = lrjax.tt_svd_adaptive(x, eps=1e-10)
    assert adaptive.rank == (1, 3, 4, 2, 1)
    np.testing.assert_allclose(float(tt.norm()), np.linalg.norm(x), rtol=1e-12)


@pytest.mark.parametrize(("true_rank", "rank"), [(1, 1), (3, 4)])
@pytest.mark.parametrize("init", ["svd", "tensorly-random", "random"])
@pytest.mark.parametrize("line_search", [False, True])
def test_cp_als_on_tensorlys_complex_test_tensors(true_rank, rank, init, line_search):
    """TensorLy's test_parafac with complex=True: its tolerances from the SVD start and from
    TensorLy's own random start (uniform factors drawn with its random state), and a
    monotone error. lrjax's Gaussian random start is as valid but lands in the slow
    over-factored regime more often within 70 sweeps (rank 4 on this tensor: 3 of keys 0-9
    under 0.01 in plain sweeps, 7 with line_search; TensorLy's own start, 14 of 20 seeds in
    plain sweeps), so it is held to a relative error of 0.05 alone."""
    x = _complex_cp((6, 8, 7), true_rank, 1234)
    start = init
    if init == "tensorly-random":
        tl_start = tl_random_cp(x.shape, rank, random_state=tl.check_random_state(1234))
        start = lrjax.CPTensor(
            jnp.asarray(tl_start.weights) + 0j, tuple(jnp.asarray(f) + 0j for f in tl_start.factors)
        )
    cp, info = lrjax.cp_als(
        x, rank, init=start, key=jax.random.key(0), maxiter=70, tol=1e-6, line_search=line_search
    )
    rec = np.asarray(cp.to_dense())
    if init == "random":
        assert np.linalg.norm(rec - x) / np.linalg.norm(x) < 0.05
    else:
        assert np.linalg.norm(rec - x) / np.linalg.norm(x) < 0.01
        assert np.max(np.abs(rec - x)) < 0.05
    history = np.asarray(info.history)[: int(info.n_iter)]
    assert np.all(np.diff(history) <= 1e-7)
    np.testing.assert_allclose(
        float(info.error), np.linalg.norm(rec - x) / np.linalg.norm(x), rtol=1e-7, atol=1e-12
    )
    # canonical form: real weights, descending; the largest entry of factors 0..N-2 real > 0
    assert cp.weights.dtype == jnp.float64 and np.all(np.diff(np.asarray(cp.weights)) <= 0)
    for f in cp.factors[:-1]:
        top = np.asarray(f)[np.argmax(np.abs(f), axis=0), np.arange(rank)]
        np.testing.assert_allclose(top.imag, 0.0, atol=1e-12)


def _noisy_complex(shape, rank, seed):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) + 1j * rng.standard_normal((n, rank)) for n in shape]
    noise = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return np.einsum("ir,jr,kr->ijk", *factors) + 0.05 * noise, rng


@pytest.mark.parametrize("sweeps", [1, 4, 15])
def test_complex_sweeps_match_tensorly(sweeps):
    """From the same complex start, every sweep gives TensorLy's model."""
    x, rng = _noisy_complex((6, 5, 4), 3, 0)
    start = [rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3)) for n in x.shape]
    ref = parafac(
        x, 3, init=TLCPTensor((np.ones(3), [s.copy() for s in start])), n_iter_max=sweeps, tol=0
    )
    warm = lrjax.CPTensor(jnp.ones(3), tuple(map(jnp.asarray, start)))
    cp, _ = lrjax.cp_als(x, 3, init=warm, maxiter=sweeps, tol=0.0)
    want = tl.cp_to_tensor(ref)
    assert np.linalg.norm(np.asarray(cp.to_dense()) - want) / np.linalg.norm(want) < 1e-11


def test_complex_cp_gradients_and_options():
    """Gradients of a real loss (both diff modes, the implicit one on real and imaginary parts
    as separate unknowns) against a central difference; mask (EM), a fixed mode and the
    tensor's norm on complex data."""
    x, rng = _noisy_complex((6, 5, 4), 3, 1)
    x = jnp.asarray(x)

    def loss(x, diff):
        d = lrjax.cp_als(x, 3, maxiter=120, tol=0.0, diff=diff).cp.to_dense()
        return jnp.sum(jnp.sin(jnp.real(d)) + jnp.cos(jnp.imag(d)))

    d = jnp.asarray(rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    fd = (loss(x + 1e-6 * d, "implicit") - loss(x - 1e-6 * d, "implicit")) / 2e-6
    for diff in ("implicit", "unroll"):
        g = jax.grad(loss)(x, diff)  # JAX's convention: the derivative along d is Re Σ g d
        np.testing.assert_allclose(float(jnp.real(jnp.sum(g * d))), float(fd), rtol=1e-5)

    mask = rng.random(x.shape) < 0.8
    cp, info = lrjax.cp_als(jnp.where(mask, x, jnp.nan), 3, mask=mask, maxiter=300)
    assert float(info.error) < 0.05
    missing = ~mask
    err = np.linalg.norm((cp.to_dense() - x)[missing]) / np.linalg.norm(x[missing])
    assert err < 0.1  # the unobserved 20 % are completed

    start = lrjax.CPTensor(
        jnp.ones(3), tuple(jnp.asarray(rng.standard_normal((n, 3)) + 0j) for n in x.shape)
    )
    held, _ = lrjax.cp_als(x, 3, init=start, fixed_modes=[1], maxiter=5, tol=0.0)
    np.testing.assert_array_equal(held.factors[1], start.factors[1])
    np.testing.assert_allclose(float(held.norm()), np.linalg.norm(held.to_dense()), rtol=1e-12)


def test_complex_is_still_refused_where_not_supported():
    x = np.ones((4, 3, 2)) * (1 + 1j)
    with pytest.raises(ValueError, match="`x` must be real"):
        lrjax.tucker_hooi(x, 2)
