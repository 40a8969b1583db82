"""Tensor ring: tr_svd and tr_als on TensorLy's own test scenarios (tensorly/decomposition/tests/test_tr_svd.py and
test_tr_als.py: the same shapes, ranks and seeds) and side by side on noisy planted rings."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.tensors import TRTensor

# TensorLy's scenarios: (shape, ranks with r_N = r_0)
SMALL = ((6, 2, 3, 2, 6), (3, 2, 4, 12, 18, 3))
CUBE = ((20, 18, 19), (6, 7, 8, 6))


def _tl():
    return pytest.importorskip("tensorly")


def _planted(shape, rank, seed):
    """TensorLy's ``random_tr`` (uniform cores) as dense tensor and cores."""
    _tl()
    from tensorly.random import random_tr

    cores = random_tr(shape, rank, random_state=seed)
    return np.asarray(cores.to_tensor()), tuple(np.asarray(c) for c in cores)


@pytest.mark.parametrize("mode", [0, 1])
def test_tr_svd_on_tensorlys_scenario(mode):
    _tl()
    from tensorly.decomposition import tensor_ring

    rank = SMALL[1] if mode == 0 else (12, 2, 1, 3, 6, 12)
    x, _ = _planted(SMALL[0], rank, 1234)
    tr = lrjax.tr_svd(x, rank, mode=mode)
    assert tr.rank == rank
    np.testing.assert_allclose(tr.to_dense(), x, atol=1e-8 * np.abs(x).max())
    theirs = tensor_ring(x, rank, mode=mode)
    assert [c.shape for c in tr] == [c.shape for c in theirs]
    with pytest.raises(ValueError, match=r"r_1 \* r_2 = 20"):
        lrjax.tr_svd(x, (12, 2, 10, 3, 6, 12), mode=1)


def test_tr_svd_equals_tensorlys_on_a_noisy_ring(rng):
    _tl()
    from tensorly.decomposition import tensor_ring

    x, _ = _planted((8, 7, 6, 5), (2, 3, 3, 2, 2), 7)
    x = x + 0.05 * x.std() * rng.standard_normal(x.shape)
    ours = lrjax.tr_svd(x, (2, 3, 3, 2, 2))
    theirs = np.asarray(tensor_ring(x, (2, 3, 3, 2, 2)).to_tensor())
    # the same sequence of truncated SVDs: the same approximation, whatever the signs
    np.testing.assert_allclose(ours.to_dense(), theirs, atol=1e-9 * np.abs(x).max())
    assert np.linalg.norm(ours.to_dense() - x) < 0.1 * np.linalg.norm(x)


@pytest.mark.parametrize(("shape", "rank"), [SMALL, CUBE])
def test_tr_als_on_tensorlys_scenario(shape, rank):
    _tl()
    from tensorly.decomposition import tensor_ring_als

    x, _ = _planted(shape, rank, 1)
    res = lrjax.tr_als(x, rank, init="random", key=jax.random.key(1))
    assert res.tr.rank == rank
    assert float(res.info.error) < 1e-2  # TensorLy's bound for this test
    hist = np.asarray(res.info.history)[: int(res.info.n_iter)]
    assert np.all(np.diff(hist) < 1e-7)  # ALS never raises the error
    np.testing.assert_allclose(
        float(res.info.error), np.linalg.norm(res.tr.to_dense() - x) / np.linalg.norm(x)
    )
    if shape == SMALL[0]:  # fitted to round-off, as TensorLy's lstsq
        assert float(res.info.error) < 1e-9
        theirs = tensor_ring_als(x, rank, random_state=1)
        assert np.linalg.norm(theirs.to_tensor() - x) / np.linalg.norm(x) < 1e-9


@pytest.mark.parametrize("solve", ["normal", "lstsq"])
def test_tr_als_follows_tensorlys_iterates_on_a_noisy_ring(rng, solve):
    _tl()
    from tensorly.decomposition import tensor_ring_als
    from tensorly.random import random_tr

    rank = (2, 3, 2, 2)
    x, _ = _planted((9, 8, 7), rank, 3)
    x = x + 0.05 * x.std() * rng.standard_normal(x.shape)
    norm = np.linalg.norm(x)
    # TensorLy's start is the first draw of its random state: give ours the same cores
    start = TRTensor(tuple(jnp.asarray(c) for c in random_tr(x.shape, rank, random_state=0)))
    ours = lrjax.tr_als(x, rank, init=start, solve=solve, maxiter=30, tol=0.0)
    theirs = tensor_ring_als(x, rank, random_state=0, n_iter_max=30, tol=0.0)
    theirs_err = np.linalg.norm(theirs.to_tensor() - x) / norm
    assert float(ours.info.error) <= 1.001 * theirs_err
    np.testing.assert_allclose(ours.tr.to_dense(), theirs.to_tensor(), atol=1e-6 * x.std())
    # from the TR-SVD start: never worse than the start
    svd_start = lrjax.tr_als(x, (2, 2, 2, 2), init="svd", maxiter=20)
    assert (
        float(svd_start.info.error)
        <= np.linalg.norm(lrjax.tr_svd(x, 2).to_dense() - x) / norm + 1e-12
    )


def test_tr_als_init_and_errors():
    x, cores = _planted((5, 4, 3), (2, 2, 2, 2), 0)
    start = TRTensor(tuple(jnp.asarray(c) for c in cores))
    res = lrjax.tr_als(x, 2, init=start, maxiter=3)
    assert float(res.info.error) < 1e-10  # the solution is a fixed point
    with pytest.raises(ValueError, match="ranks"):
        lrjax.tr_als(x, 3, init=start)
    with pytest.raises(ValueError, match="cannot reach"):
        lrjax.tr_als(x, 3, init="svd")
    with pytest.raises(ValueError, match="`key`"):
        lrjax.tr_als(x, 2, init="random")
    with pytest.raises(ValueError, match="`solve`"):
        lrjax.tr_als(x, 2, solve="qr")
    with pytest.raises(ValueError, match="must end with its first entry"):
        lrjax.tr_svd(x, (2, 2, 2, 3))
    with pytest.raises(ValueError, match="`mode`"):
        lrjax.tr_svd(x, 2, mode=3)


@pytest.mark.parametrize(("shape", "rank", "sampling"), [(*SMALL, "leverage"), (*CUBE, "uniform")])
def test_tr_als_sampled_on_tensorlys_scenario(shape, rank, sampling):
    """TensorLy's test_tensor_ring_als_sampled: 300 sampled rows per core, error below 1e-2;
    the same key gives the same run."""
    x, _ = _planted(shape, rank, 1)
    kw = dict(init="random", key=jax.random.key(1), n_samples=300, sampling=sampling, maxiter=40)
    res = lrjax.tr_als(x, rank, **kw)
    assert res.tr.rank == rank and float(res.info.error) < 1e-2
    np.testing.assert_allclose(
        float(res.info.error), np.linalg.norm(res.tr.to_dense() - x) / np.linalg.norm(x)
    )
    again = lrjax.tr_als(x, rank, **kw)
    np.testing.assert_array_equal(again.tr.to_dense(), res.tr.to_dense())
    with pytest.raises(ValueError, match="`sampling`"):
        lrjax.tr_als(x, rank, **{**kw, "sampling": "stratified"})
    with pytest.raises(ValueError, match="`n_samples`"):
        lrjax.tr_als(x, rank, **{**kw, "n_samples": 0})


def test_leverage_scores_match_a_qr_and_drive_the_sampled_sweeps():
    from lrjax.decomposition._tr import _leverage

    core = jax.random.normal(jax.random.key(0), (2, 9, 3))
    g = np.moveaxis(np.asarray(core), 1, 0).reshape(9, -1)
    q = np.linalg.qr(g)[0]
    np.testing.assert_allclose(_leverage(core), (q * q).sum(1) / 6, atol=1e-12)
    # tall cores (I_k > r_k r_{k+1}): the leverage path, against the full ALS
    x, _ = _planted((14, 12, 13), (2, 2, 2, 2), 5)
    sampled = lrjax.tr_als(x, 2, n_samples=80, key=jax.random.key(0), maxiter=30)
    assert float(sampled.info.error) < 1e-2
