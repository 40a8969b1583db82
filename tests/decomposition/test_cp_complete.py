"""cp_complete: the same iterates as cp_opt with the observed mask on the dense tensor (same
key), a planted low-rank tensor recovered from half its entries, starts vmapped, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import sparse

import lrjax
from lrjax.testing import random_cp

FULL = random_cp(jax.random.key(0), (10, 9, 8), 3).to_dense()
SEEN = jax.random.uniform(jax.random.key(1), FULL.shape) < 0.5


def _observed(x):
    return sparse.BCOO.fromdense(jnp.where(SEEN, x, 0.0))


@pytest.mark.parametrize("seed", [0, 2])
def test_same_iterates_as_cp_opt_with_the_mask(seed):
    noisy = FULL + 0.01 * jax.random.normal(jax.random.key(5), FULL.shape)
    key = jax.random.key(seed)
    got = lrjax.cp_complete(_observed(noisy), 3, key=key)
    ref = lrjax.cp_opt(jnp.where(SEEN, noisy, 0.0), 3, mask=SEEN, init="random", key=key)
    assert bool(got.info.converged) and int(got.info.n_iter) == int(ref.info.n_iter)
    n = int(got.info.n_iter)
    np.testing.assert_allclose(got.info.history[:n], ref.info.history[:n], rtol=1e-8)
    np.testing.assert_allclose(got.cp.to_dense(), ref.cp.to_dense(), atol=1e-10)
    np.testing.assert_allclose(got.info.error, ref.info.error, rtol=1e-10)


def test_recovers_a_planted_tensor_from_half_its_entries_best_of_four_starts():
    obs = _observed(FULL)
    runs = jax.jit(jax.vmap(lambda k: lrjax.cp_complete(obs, 3, key=k)))(
        jax.random.split(jax.random.key(7), 4)
    )
    best = int(jnp.argmin(runs.info.error))
    cp = jax.tree.map(lambda leaf: leaf[best], runs.cp)
    assert float(jnp.linalg.norm(cp.to_dense() - FULL) / jnp.linalg.norm(FULL)) < 1e-9
    # the vmapped starts equal the same starts one at a time
    one = lrjax.cp_complete(obs, 3, key=jax.random.split(jax.random.key(7), 4)[best])
    np.testing.assert_allclose(one.cp.to_dense(), cp.to_dense(), atol=1e-10)
    # started at the answer, it stays there
    again = lrjax.cp_complete(obs, 3, init=one.cp, maxiter=5)
    np.testing.assert_allclose(again.cp.to_dense(), FULL, atol=1e-9)


def test_bad_input_is_named():
    obs = _observed(FULL)
    with pytest.raises(ValueError, match=r"BCOO.*cp_opt\(x, rank, mask=observed\)"):
        lrjax.cp_complete(FULL, 3, key=jax.random.key(0))
    with pytest.raises(ValueError, match="key"):
        lrjax.cp_complete(obs, 3)
    with pytest.raises(ValueError, match="`init` must be one of"):
        lrjax.cp_complete(obs, 3, init="svd", key=jax.random.key(0))
    with pytest.raises(ValueError, match="rank"):
        lrjax.cp_complete(obs, 0, key=jax.random.key(0))
    nan = sparse.BCOO((obs.data.at[0].set(jnp.nan), obs.indices), shape=obs.shape)
    with pytest.raises(ValueError, match="finite"):
        lrjax.cp_complete(nan, 3, key=jax.random.key(0))
