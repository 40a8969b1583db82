"""Kronecker-structured TT-matrices and the TT bilinear form, t3f's kronecker_test and
ops_test (quadratic and bilinear forms) re-told against NumPy on the dense matrices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax.tensors import (
    TTMatrix,
    kron_cholesky,
    kron_determinant,
    kron_inv,
    kron_slogdet,
    tt_bilinear_form,
)
from lrjax.testing import random_tt


def _tt_matrix(rng, row_modes, col_modes, rank):
    ranks = [1] + [rank] * (len(row_modes) - 1) + [1]
    cores = [
        jnp.asarray(rng.standard_normal((ranks[k], m, n, ranks[k + 1])))
        for k, (m, n) in enumerate(zip(row_modes, col_modes, strict=True))
    ]
    return TTMatrix(tuple(cores))


@pytest.mark.parametrize("seed", range(4))
def test_determinant_slogdet_and_inverse_match_numpy(seed):
    a = _tt_matrix(np.random.default_rng(seed), (2, 3, 2), (2, 3, 2), 1)
    dense = np.asarray(a.to_dense())
    np.testing.assert_allclose(float(kron_determinant(a)), np.linalg.det(dense), rtol=1e-9)
    sign, logdet = kron_slogdet(a)
    want_sign, want_logdet = np.linalg.slogdet(dense)
    assert float(sign) == want_sign
    np.testing.assert_allclose(float(logdet), want_logdet, rtol=1e-10)
    np.testing.assert_allclose(kron_inv(a).to_dense(), np.linalg.inv(dense), rtol=1e-8, atol=1e-10)


def test_cholesky_matches_numpy_and_batches():
    """t3f's testCholesky: the Kronecker product of two SPD factors."""
    rng = np.random.default_rng(8)
    l1, l2 = (
        np.tril(rng.normal(scale=2.0, size=(2, 2))),
        np.tril(rng.normal(scale=2.0, size=(3, 3))),
    )
    k1, k2 = l1 @ l1.T, l2 @ l2.T
    a = TTMatrix((jnp.asarray(k1)[None, :, :, None], jnp.asarray(k2)[None, :, :, None]))
    np.testing.assert_allclose(
        kron_cholesky(a).to_dense(), np.linalg.cholesky(np.kron(k1, k2)), rtol=1e-10, atol=1e-12
    )
    batch = [_tt_matrix(np.random.default_rng(s), (2, 3), (2, 3), 1) for s in range(3)]
    stacked = jax.tree.map(lambda *c: jnp.stack(c), *batch)
    dets = jax.jit(jax.vmap(kron_determinant))(stacked)
    want = [np.linalg.det(np.asarray(b.to_dense())) for b in batch]
    np.testing.assert_allclose(dets, want, rtol=1e-9)
    g = jax.grad(lambda a: kron_slogdet(a)[1])(batch[0])  # d log|det A| / dA = A^{-T}
    dense_grad = np.linalg.inv(np.asarray(batch[0].to_dense())).T
    # the chain rule through A = A_1 ⊗ A_2: d/dA_1 = Σ over the blocks of A_2
    a2 = np.asarray(batch[0].cores[1][0, :, :, 0])
    want_g1 = np.einsum("iajb,ab->ij", dense_grad.reshape(2, 3, 2, 3), a2)
    np.testing.assert_allclose(np.asarray(g.cores[0][0, :, :, 0]), want_g1, rtol=1e-8)


def test_non_kronecker_or_rectangular_is_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="all TT ranks 1"):
        kron_determinant(_tt_matrix(rng, (2, 3), (3, 2), 2))
    with pytest.raises(ValueError, match="square factors"):
        kron_inv(_tt_matrix(rng, (2, 3), (3, 2), 1))
    with pytest.raises(TypeError, match="`a` must be a TTMatrix"):
        kron_cholesky(random_tt(jax.random.key(0), (2, 3), 1))


def test_bilinear_and_quadratic_forms_match_the_dense_product():
    rng = np.random.default_rng(1)
    a = _tt_matrix(rng, (2, 3, 4), (3, 2, 2), 3)
    b = random_tt(jax.random.key(1), (2, 3, 4), 2)
    c = random_tt(jax.random.key(2), (3, 2, 2), 3)
    want = (
        np.asarray(b.to_dense()).ravel()
        @ np.asarray(a.to_dense())
        @ np.asarray(c.to_dense()).ravel()
    )
    np.testing.assert_allclose(float(tt_bilinear_form(a, b, c)), want, rtol=1e-10)
    sq = _tt_matrix(rng, (2, 3), (2, 3), 2)
    x = random_tt(jax.random.key(3), (2, 3), 2)
    xv = np.asarray(x.to_dense()).ravel()
    np.testing.assert_allclose(
        float(tt_bilinear_form(sq, x, x)), xv @ np.asarray(sq.to_dense()) @ xv, rtol=1e-10
    )
    g = jax.grad(lambda x: tt_bilinear_form(sq, x, x))(x)  # against the dense gradient
    dense_g = jax.grad(lambda v: v @ sq.to_dense() @ v)(jnp.asarray(xv))
    got = jax.vjp(lambda x: x.to_dense().ravel(), x)[1](dense_g)[0]
    for u, v in zip(g.cores, got.cores, strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="`c` must have shape"):
        tt_bilinear_form(a, b, b)
    with pytest.raises(TypeError, match="`b` must be a TTTensor"):
        tt_bilinear_form(a, TTMatrix(a.cores), c)
