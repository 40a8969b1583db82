"""cp_als(fixed_modes=): factors held at their start (TensorLy's parafac(fixed_modes=))."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.decomposition import parafac

import lrjax
from lrjax.testing import random_cp, relative_error


def _start(shape, rank, seed):
    """An unnormalised start with non-unit weights, as TensorLy's random_cp gives."""
    rng = np.random.default_rng(seed)
    factors = tuple(jnp.asarray(rng.standard_normal((n, rank))) for n in shape)
    return lrjax.CPTensor(jnp.asarray(rng.uniform(0.5, 2.0, rank)), factors)


def _tensor(shape, rank, seed):
    return random_cp(jax.random.key(seed), shape, rank).to_dense() + 0.05 * jax.random.normal(
        jax.random.key(seed + 100), shape
    )


@pytest.mark.parametrize("mode", [0, 1, 2, -1])
def test_fixed_factor_comes_back_exactly(mode):
    """TensorLy's test: after two sweeps the fixed factor equals the start's, bit for bit."""
    x = _tensor((7, 6, 5), 3, 0)
    start = _start((7, 6, 5), 3, 1)
    cp, info = lrjax.cp_als(x, 3, init=start, fixed_modes=[mode], maxiter=2, tol=0.0)
    np.testing.assert_array_equal(np.asarray(cp.factors[mode]), np.asarray(start.factors[mode]))
    assert int(info.n_iter) == 2
    np.testing.assert_allclose(float(info.error), float(relative_error(x, cp.to_dense())), 1e-10)


@pytest.mark.parametrize(
    ("shape", "fixed", "sweeps"),
    [((6, 5, 4), (0,), 5), ((6, 5, 4), (1,), 5), ((6, 5, 4), (0, 1), 3), ((5, 4, 3, 4), (1, 2), 4)],
)
def test_same_iterates_as_tensorly(shape, fixed, sweeps):
    """The same ALS sweeps as tensorly.decomposition.parafac with the same fixed modes (the
    last mode free, as TensorLy requires): equal models after every count of sweeps."""
    x = _tensor(shape, 2, 2)
    start = _start(shape, 2, 3)
    ref = parafac(
        tl.tensor(np.asarray(x)),
        2,
        init=tl.cp_tensor.CPTensor(
            (np.asarray(start.weights), [np.asarray(f) for f in start.factors])
        ),
        fixed_modes=list(fixed),
        n_iter_max=sweeps,
        tol=0,
    )
    cp, _ = lrjax.cp_als(x, 2, init=start, fixed_modes=fixed, maxiter=sweeps, tol=0.0)
    np.testing.assert_allclose(
        np.asarray(cp.to_dense()), tl.cp_to_tensor(ref), rtol=1e-9, atol=1e-9
    )


def test_last_mode_fixed_matches_tensorly_on_moved_axes():
    """TensorLy cannot fix the last mode; lrjax can. The sweeps over the free modes run in
    the same order after moving the fixed mode to the front, so TensorLy's iterates there
    are the oracle."""
    x = _tensor((6, 5, 4), 2, 4)
    start = _start((6, 5, 4), 2, 5)
    moved = tl.cp_tensor.CPTensor(
        (np.asarray(start.weights), [np.asarray(start.factors[k]) for k in (2, 0, 1)])
    )
    ref = parafac(
        tl.tensor(np.moveaxis(np.asarray(x), 2, 0)), 2, init=moved, fixed_modes=[0],
        n_iter_max=6, tol=0,
    )  # fmt: skip
    cp, _ = lrjax.cp_als(x, 2, init=start, fixed_modes=2, maxiter=6, tol=0.0)
    np.testing.assert_allclose(
        np.moveaxis(np.asarray(cp.to_dense()), 2, 0), tl.cp_to_tensor(ref), rtol=1e-9, atol=1e-9
    )
    np.testing.assert_array_equal(np.asarray(cp.factors[2]), np.asarray(start.factors[2]))


def test_recovers_planted_cp_around_a_known_factor():
    """With the true factor of mode 1 held (scaled and with its columns in the planted order),
    the others are recovered and the fit is exact."""
    planted = random_cp(jax.random.key(6), (9, 8, 7), 3)
    x = planted.to_dense()
    known = planted.factors[1] * jnp.array([2.0, 0.5, 3.0])
    start = lrjax.CPTensor(
        jnp.ones(3), (jnp.ones((9, 3)), known, jax.random.normal(jax.random.key(7), (7, 3)))
    )
    cp, info = lrjax.cp_als(x, 3, init=start, fixed_modes=(1,), maxiter=300, tol=0.0)
    assert float(info.error) < 1e-9
    assert float(relative_error(x, cp.to_dense())) < 1e-9
    np.testing.assert_array_equal(np.asarray(cp.factors[1]), np.asarray(known))


def test_canonical_except_fixed():
    x = _tensor((7, 6, 5), 3, 8)
    start = _start((7, 6, 5), 3, 9)
    cp, _ = lrjax.cp_als(x, 3, init=start, fixed_modes=(0,), maxiter=20)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(cp.factors[1]), axis=0), 1.0, 1e-12)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(cp.factors[2]), axis=0), 1.0, 1e-12)
    f1 = np.asarray(cp.factors[1])
    assert np.all(f1[np.argmax(np.abs(f1), axis=0), np.arange(3)] > 0)
    assert np.all(np.asarray(cp.weights) > 0)


@pytest.mark.parametrize("options", [{}, {"line_search": True}, {"mask": "half"}])
def test_options_keep_the_factor_and_fit_no_worse_than_the_start(options):
    x = _tensor((7, 6, 5), 2, 10)
    if options.get("mask") == "half":
        options = {"mask": np.random.default_rng(0).random((7, 6, 5)) < 0.7}
    start = _start((7, 6, 5), 2, 11)
    cp, info = lrjax.cp_als(x, 2, init=start, fixed_modes=[0], maxiter=30, **options)
    np.testing.assert_array_equal(np.asarray(cp.factors[0]), np.asarray(start.factors[0]))
    w = options.get("mask", np.ones((7, 6, 5)))
    err = lambda model: np.sqrt(
        np.sum(w * (np.asarray(x) - model) ** 2) / np.sum(w * np.asarray(x) ** 2)
    )
    assert float(info.error) == pytest.approx(err(np.asarray(cp.to_dense())), rel=1e-8)
    assert float(info.error) < err(np.asarray(start.to_dense()))


def test_every_mode_fixed_returns_the_start():
    x = _tensor((5, 4, 3), 2, 12)
    start = _start((5, 4, 3), 2, 13)
    cp, info = lrjax.cp_als(x, 2, init=start, fixed_modes=(0, 1, 2), maxiter=7)
    for a, b in zip(cp.factors, start.factors, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(cp.weights), np.asarray(start.weights))
    assert int(info.n_iter) == 0 and info.history.shape == (7,)
    np.testing.assert_allclose(
        float(info.error), float(relative_error(x, start.to_dense())), rtol=1e-12
    )


@pytest.mark.parametrize("diff", ["implicit", "unroll"])
def test_gradient_with_respect_to_the_fixed_factor(diff):
    """d/dA of a loss of the converged fit, A the fixed factor: against finite differences."""
    x = _tensor((6, 5, 4), 2, 14)
    start = _start((6, 5, 4), 2, 15)
    probe = jax.random.normal(jax.random.key(16), x.shape)

    def loss(a):
        init = lrjax.CPTensor(start.weights, (a, *start.factors[1:]))
        cp, _ = lrjax.cp_als(x, 2, init=init, fixed_modes=[0], maxiter=400, tol=0.0, diff=diff)
        return jnp.sum(cp.to_dense() * probe)

    a = start.factors[0]
    g = jax.jit(jax.grad(loss))(a)
    v = jax.random.normal(jax.random.key(17), a.shape)
    h = 1e-6
    fd = (float(loss(a + h * v)) - float(loss(a - h * v))) / (2 * h)
    np.testing.assert_allclose(float(jnp.sum(g * v)), fd, rtol=1e-5, atol=1e-8)


def test_bad_fixed_modes():
    x = _tensor((5, 4, 3), 2, 18)
    start = _start((5, 4, 3), 2, 19)
    with pytest.raises(ValueError, match=r"`fixed_modes` must be a mode index .*got 3"):
        lrjax.cp_als(x, 2, init=start, fixed_modes=[3])
    with pytest.raises(ValueError, match=r"`fixed_modes` must be a mode index .*got 'a'"):
        lrjax.cp_als(x, 2, init=start, fixed_modes=["a"])
    with pytest.raises(ValueError, match="`fixed_modes` must be a sequence"):
        lrjax.cp_als(x, 2, init=start, fixed_modes="0")
    with pytest.raises(ValueError, match="fixes every mode"):
        lrjax.cp_als(x, 2, fixed_modes=(0, 1, 2))
