"""cp_power against planted orthogonally decomposable tensors and against TensorLy's
parafac_power_iteration / symmetric_parafac_power_iteration on noisy planted problems."""

import jax
import numpy as np
import pytest

import lrjax


def _symmetrize(x):
    perms = [(0, 1, 2), (1, 0, 2), (2, 1, 0), (0, 2, 1), (1, 2, 0), (2, 0, 1)]
    return sum(x.transpose(p) for p in perms) / 6


def test_recovers_an_orthogonally_decomposable_tensor_exactly(rng):
    u = np.linalg.qr(rng.standard_normal((7, 3)))[0]
    w = np.array([4.0, 2.5, 1.0])
    x = np.einsum("r,ir,jr,kr->ijk", w, u, u, u)
    res = lrjax.cp_power(x, 3, key=jax.random.key(0), symmetric=True, n_iteration=30)
    np.testing.assert_allclose(res.cp.weights, w, rtol=1e-10)
    np.testing.assert_allclose(np.abs(res.cp.factors[0].T @ u), np.eye(3), atol=1e-8)
    assert float(res.info.error) < 1e-10 and int(res.info.n_iter) == 3
    assert np.all(np.diff(np.asarray(res.info.history)) < 0)  # each term lowers the error
    general = lrjax.cp_power(x, 3, key=jax.random.key(1), n_iteration=30)
    assert float(general.info.error) < 1e-10


def test_matches_tensorly_on_noisy_planted_problems(rng):
    tl = pytest.importorskip("tensorly")
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import (
        parafac_power_iteration,
        symmetric_parafac_power_iteration,
    )

    facs = [rng.standard_normal((n, 3)) for n in (6, 7, 8)]
    x = np.einsum("ir,jr,kr->ijk", *facs)
    x = x + 0.05 * np.std(x) * rng.standard_normal(x.shape)
    ours = lrjax.cp_power(x, 3, key=jax.random.key(0))
    theirs = np.linalg.norm(cp_to_tensor(parafac_power_iteration(tl.tensor(x), 3)) - x)
    assert float(ours.info.error) <= 1.001 * theirs / np.linalg.norm(x)
    np.testing.assert_allclose(ours.cp.to_dense(), x, atol=0.2 * np.abs(x).max())

    u = np.linalg.qr(rng.standard_normal((8, 3)))[0]
    xs = np.einsum("r,ir,jr,kr->ijk", np.array([5.0, 3.0, 2.0]), u, u, u)
    xs = _symmetrize(xs + 0.01 * rng.standard_normal(xs.shape))
    ours = lrjax.cp_power(xs, 3, key=jax.random.key(0), symmetric=True)
    w, f = symmetric_parafac_power_iteration(tl.tensor(xs), 3)
    # TensorLy draws its starts from NumPy's global generator, so the order in which its
    # deflation finds the components depends on the tests run before; ours are sorted
    np.testing.assert_allclose(ours.cp.weights, np.sort(w)[::-1], rtol=1e-6)
    rec = np.einsum("r,ir,jr,kr->ijk", w, f, f, f)
    assert float(ours.info.error) <= 1.001 * np.linalg.norm(rec - xs) / np.linalg.norm(xs)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="every mode of one size"):
        lrjax.cp_power(np.ones((3, 4, 3)), 2, key=jax.random.key(0), symmetric=True)
    with pytest.raises(ValueError, match="symmetric"):
        lrjax.cp_power(np.ones((3, 3, 3)), 2, key=jax.random.key(0), symmetric=1)
