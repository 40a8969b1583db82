"""TRTensor against an independent einsum and TensorLy's tr_to_tensor."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.tensors import TRTensor


def _dense_by_einsum(cores):
    letters = "abcdefgh"
    n = len(cores)
    terms = [f"{letters[k]}{chr(ord('p') + k)}{letters[(k + 1) % n]}" for k in range(n)]
    out = "".join(chr(ord("p") + k) for k in range(n))
    return np.einsum(",".join(terms) + "->" + out, *cores)


def test_container_matches_an_einsum_and_tensorly(rng):
    tl = pytest.importorskip("tensorly")
    cores = tuple(rng.standard_normal((r, n, s)) for r, n, s in [(2, 4, 3), (3, 5, 1), (1, 3, 2)])
    tr = TRTensor(tuple(jnp.asarray(c) for c in cores))
    dense = _dense_by_einsum(cores)
    np.testing.assert_allclose(tr.to_dense(), dense, rtol=1e-12)
    np.testing.assert_allclose(tr.to_dense(), tl.tr_to_tensor(list(cores)), rtol=1e-12)
    np.testing.assert_allclose(tr.norm(), np.linalg.norm(dense), rtol=1e-12)
    assert tr.shape == (4, 5, 3) and tr.rank == (2, 3, 1, 2) and len(tr) == 3
    np.testing.assert_array_equal(tr[1], cores[1])
    np.testing.assert_allclose(tr.to_unfolded(1), tl.unfold(dense, 1), rtol=1e-12)
    # the TensorLy round trip: its functions take the container, its TRTensor converts
    np.testing.assert_allclose(tl.tr_to_tensor(tr), dense, rtol=1e-12)
    tl_tr = tl.tr_tensor.TRTensor(list(cores))
    np.testing.assert_allclose(TRTensor(tuple(tl_tr)).to_dense(), dense, rtol=1e-12)
    np.testing.assert_allclose(lrjax.tr_svd(tl_tr, tr.rank, mode=1).to_dense(), dense, atol=1e-10)
    # a tensor train is the ring with r_0 = 1
    tt = lrjax.testing.random_tt(jax.random.key(0), (3, 4, 5), (2, 3))
    np.testing.assert_allclose(TRTensor(tt.cores).to_dense(), tt.to_dense(), rtol=1e-12)
    with pytest.raises(ValueError, match="ring closes"):
        TRTensor((jnp.ones((2, 3, 2)), jnp.ones((2, 4, 3))))
    with pytest.raises(ValueError, match="3 dimensions"):
        TRTensor((jnp.ones((2, 3)),))
