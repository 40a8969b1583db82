"""The zero tensor has a perfectly good decomposition: zero weights or core, error 0,
converged (issue 26, item 7: NaN factors or a NaN error before)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax

KEY = jax.random.key(0)
Z3, Z2, SQ = jnp.zeros((5, 4, 3)), jnp.zeros((6, 5)), jnp.zeros((4, 4, 3))

CASES = {
    "cp_als": lambda: lrjax.cp_als(Z3, 2),
    "cp_als_weighted": lambda: lrjax.cp_als(Z3, 2, mask=np.ones((5, 4, 3), bool)),
    "cp_nonneg": lambda: lrjax.cp_nonneg(Z3, 2, key=KEY),
    "cp_opt": lambda: lrjax.cp_opt(Z3, 2),
    "tucker_hooi": lambda: lrjax.tucker_hooi(Z3, 2),
    "parafac2": lambda: lrjax.parafac2([jnp.zeros((4, 3)), jnp.zeros((5, 3))], 2),
    "indscal": lambda: lrjax.indscal(SQ, 2),
    "candelinc": lambda: lrjax.candelinc(Z3, 2, [None, None, None]),
    "dedicom": lambda: lrjax.dedicom(SQ, 2),
    "paratuck2": lambda: lrjax.paratuck2(jnp.zeros((6, 5, 5)), (2, 2)),
    "block_term": lambda: lrjax.block_term(Z3, 2, (2, 2, 1)),
    "robust_pca": lambda: lrjax.robust_pca(Z2),
    "tensor_robust_pca": lambda: lrjax.tensor_robust_pca(Z3),
    "complete_matrix": lambda: lrjax.complete_matrix(Z2, np.ones((6, 5), bool)),
    "soft_impute": lambda: lrjax.complete_matrix(Z2, np.ones((6, 5), bool), method="soft_impute"),
    "wlra": lambda: lrjax.wlra(Z2, np.ones((6, 5)), 2),
    "wlra_em": lambda: lrjax.wlra(Z2, np.ones((6, 5)), 2, method="em"),
}


@pytest.mark.parametrize("name", CASES)
def test_zero_tensor_is_fitted_exactly(name):
    res = CASES[name]()
    assert float(res.info.error) == 0.0 and bool(res.info.converged), res.info
    model = [f for f in res if not isinstance(f, lrjax.SolverInfo)]
    for leaf in jax.tree.leaves(model):
        assert np.all(np.isfinite(np.asarray(leaf))), name
    dense = model[0].to_dense() if hasattr(model[0], "to_dense") else model[0]
    np.testing.assert_array_equal(np.asarray(dense), 0.0)


def test_zero_tensor_under_jit_and_vmap():
    xs = jnp.stack([Z3, lrjax.testing.random_cp(KEY, (5, 4, 3), 2).to_dense()])
    res = jax.jit(jax.vmap(lambda x: lrjax.cp_als(x, 2)))(xs)
    assert float(res.info.error[0]) == 0.0 and float(res.info.error[1]) < 1e-6
    hooi = jax.jit(lambda x: lrjax.tucker_hooi(x, 2))(Z3)
    for f in hooi.tucker.factors:  # orthonormal factors, zero core
        np.testing.assert_allclose(f.T @ f, np.eye(2), atol=1e-12)
