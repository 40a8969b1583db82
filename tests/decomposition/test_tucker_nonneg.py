"""tucker_nonneg: TensorLy's non_negative_tucker iterates from the same start, a planted
non-negative problem, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.tensors import TuckerTensor


def _planted(rng, noise=0.0):
    core = rng.uniform(size=(3, 2, 3))
    factors = [rng.uniform(size=(n, r)) for n, r in ((9, 3), (8, 2), (7, 3))]
    x = np.einsum("abc,ia,jb,kc->ijk", core, *factors)
    return x + noise * x.std() * np.abs(rng.standard_normal(x.shape))


def test_matches_tensorly_iterates_from_the_same_start(rng):
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import non_negative_tucker

    x = _planted(rng, noise=0.05)
    core0 = rng.uniform(size=(3, 2, 3))
    factors0 = [rng.uniform(size=(n, r)) for n, r in ((9, 3), (8, 2), (7, 3))]
    start = TuckerTensor(jnp.asarray(core0), tuple(jnp.asarray(f) for f in factors0))
    ours = lrjax.tucker_nonneg(x, (3, 2, 3), init=start, maxiter=30, tol=0.0)
    theirs = non_negative_tucker(
        tl.tensor(x), [3, 2, 3], n_iter_max=30, tol=0.0,
        init=tl.tucker_tensor.TuckerTensor((core0.copy(), [f.copy() for f in factors0])),
    )  # fmt: skip
    np.testing.assert_allclose(ours.tucker.core, theirs.core, rtol=1e-8)
    for a, b in zip(ours.tucker.factors, theirs.factors, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8)


def test_fits_a_planted_non_negative_tucker_tensor(rng):
    x = _planted(rng)
    res = lrjax.tucker_nonneg(x, (3, 2, 3), key=jax.random.key(0), maxiter=3000, tol=0.0)
    assert float(res.info.error) < 0.02
    assert bool(jnp.all(res.tucker.core >= 0)) and all(
        bool(jnp.all(f >= 0)) for f in res.tucker.factors
    )
    history = np.asarray(res.info.history)
    assert np.all(np.diff(history) <= 1e-12)  # multiplicative updates never raise the error


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="non-negative"):
        lrjax.tucker_nonneg(-np.ones((3, 3, 3)), 2, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"`init` must be a TuckerTensor of ranks \(2, 2, 2\)"):
        lrjax.tucker_nonneg(np.ones((3, 3, 3)), 2, init=np.ones(3))
    with pytest.raises(ValueError, match="key"):
        lrjax.tucker_nonneg(np.ones((3, 3, 3)), 2)


def test_hals_is_at_least_as_accurate_as_tensorly_hals_from_the_same_start():
    """TensorLy's non_negative_tucker_hals side by side: same noisy planted tensor, same start,
    same number of sweeps; ours ends at most at its error (both non-negative), and HALS
    beats the multiplicative updates for the same sweeps."""
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import non_negative_tucker_hals
    from tensorly.tucker_tensor import TuckerTensor as TLTucker

    rng = np.random.default_rng(0)
    shape, ranks = (20, 18, 16), (4, 3, 5)
    x = TLTucker(
        (
            rng.uniform(size=ranks),
            [rng.uniform(size=(n, r)) for n, r in zip(shape, ranks, strict=True)],
        )
    ).to_tensor()
    x = x + 0.01 * x.std() * np.abs(rng.standard_normal(x.shape))
    core0 = rng.uniform(size=ranks)
    factors0 = [rng.uniform(size=(n, r)) for n, r in zip(shape, ranks, strict=True)]
    start = TuckerTensor(jnp.asarray(core0), tuple(jnp.asarray(f) for f in factors0))
    for sweeps in (15,):
        ours = lrjax.tucker_nonneg(
            jnp.asarray(x), ranks, init=start, method="hals", maxiter=sweeps, tol=0.0
        )
        core, factors = non_negative_tucker_hals(
            tl.tensor(x),
            list(ranks),
            n_iter_max=sweeps,
            tol=0,
            init=TLTucker((core0.copy(), [f.copy() for f in factors0])),
        )
        theirs = np.linalg.norm(TLTucker((core, factors)).to_tensor() - x) / np.linalg.norm(x)
        assert float(ours.info.error) <= theirs
        assert bool(jnp.all(ours.tucker.core >= 0)) and all(
            bool(jnp.all(f >= 0)) for f in ours.tucker.factors
        )
        mu = lrjax.tucker_nonneg(jnp.asarray(x), ranks, init=start, maxiter=sweeps, tol=0.0)
        assert float(ours.info.error) < float(mu.info.error)
    # an exact planted non-negative Tucker tensor, random start, 40 sweeps
    x = _planted(np.random.default_rng(3))
    r = lrjax.tucker_nonneg(
        jnp.asarray(x), (3, 2, 3), key=jax.random.key(0), method="hals", maxiter=40
    )
    assert float(r.info.error) < 0.05
