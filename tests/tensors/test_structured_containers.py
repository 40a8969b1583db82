"""PARAFAC2, block term, DEDICOM and PARATUCK2 containers against explicit NumPy loops."""

import jax
import numpy as np
import pytest

from lrjax.tensors import BlockTermTensor, DedicomTensor, Parafac2Tensor, Paratuck2Tensor

RNG = np.random.default_rng(0)


def test_parafac2_dense_slices_and_norm():
    w, a, b, c = RNG.random(2), RNG.random((3, 2)), RNG.random((2, 2)), RNG.random((4, 2))
    lengths = (5, 3, 4)
    p = np.zeros((3, 5, 2))
    for k, n in enumerate(lengths):
        p[k, :n] = np.linalg.qr(RNG.normal(size=(n, 2)))[0]
    t = Parafac2Tensor(w, (a, b, c), p)
    dense = np.asarray(t.to_dense())
    for k, n in enumerate(lengths):
        expected = p[k, :n] @ b @ np.diag(w * a[k]) @ c.T
        np.testing.assert_allclose(dense[k, :n], expected, atol=1e-12)
        np.testing.assert_allclose(t.to_slices(lengths)[k], expected, atol=1e-12)
        assert np.all(dense[k, n:] == 0)
    np.testing.assert_allclose(float(t.norm()), np.linalg.norm(dense), rtol=1e-12)
    with pytest.raises(ValueError, match="projections"):
        Parafac2Tensor(w, (a, b, c), p[:2])
    with pytest.raises(ValueError, match="B must have shape"):
        Parafac2Tensor(w, (a, b[:1], c), p)


def test_block_term_dense_is_sum_of_tucker_blocks():
    cores = RNG.normal(size=(2, 2, 3, 1))
    factors = [RNG.normal(size=(2, n, r)) for n, r in zip((4, 5, 3), (2, 3, 1), strict=True)]
    t = BlockTermTensor(cores, factors)
    expected = sum(
        np.einsum("abc,ia,jb,kc->ijk", cores[p], *(f[p] for f in factors)) for p in range(2)
    )
    np.testing.assert_allclose(t.to_dense(), expected, atol=1e-12)
    np.testing.assert_allclose(np.asarray(t.blocks()).sum(0), expected, atol=1e-12)
    assert (t.shape, t.rank, t.n_blocks) == ((4, 5, 3), (2, 3, 1), 2)
    np.testing.assert_allclose(float(t.norm()), np.linalg.norm(expected), rtol=1e-12)
    with pytest.raises(ValueError, match=r"factors\[1\]"):
        BlockTermTensor(cores, [factors[0], factors[1][:, :, :2], factors[2]])


def test_dedicom_and_paratuck2_slices():
    a, r, d = RNG.normal(size=(4, 2)), RNG.normal(size=(2, 2)), RNG.normal(size=(3, 2))
    t = DedicomTensor(a, r, d)
    for k in range(3):
        np.testing.assert_allclose(
            t.to_dense()[:, :, k], a @ np.diag(d[k]) @ r @ np.diag(d[k]) @ a.T, atol=1e-12
        )
    b, r2, db = RNG.normal(size=(5, 3)), RNG.normal(size=(2, 3)), RNG.normal(size=(3, 3))
    t2 = Paratuck2Tensor(a, d, r2, db, b)
    for k in range(3):
        np.testing.assert_allclose(
            t2.to_dense()[:, :, k], a @ np.diag(d[k]) @ r2 @ np.diag(db[k]) @ b.T, atol=1e-12
        )
    assert t2.shape == (4, 5, 3) and t2.rank == (2, 3)
    with pytest.raises(ValueError, match="`r`"):
        DedicomTensor(a, r2, d)
    with pytest.raises(ValueError, match="`db`"):
        Paratuck2Tensor(a, d, r2, db[:2], b)


def test_containers_are_pytrees():
    t = DedicomTensor(*(np.ones(s) for s in ((4, 2), (2, 2), (3, 2))))
    doubled = jax.tree.map(lambda x: 2 * x, t)
    np.testing.assert_allclose(doubled.to_dense(), 32 * np.asarray(t.to_dense()))  # 2^5
