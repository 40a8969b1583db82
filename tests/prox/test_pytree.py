"""Proximal operators on pytrees (jaxopt's convention): leaf by leaf, or as one vector.

Oracles: each operator applied to every leaf by itself (elementwise operators), the operator
applied to the concatenated leaves (norms of the whole vector), and a lasso over a dict of
parameters solved to the same point as over one array.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lrjax import prox
from lrjax.solvers import proximal_gradient

RNG = np.random.default_rng(0)
TREE = {
    "w": jnp.asarray(RNG.standard_normal((3, 4))),
    "b": (jnp.asarray(RNG.standard_normal(4)), jnp.asarray(RNG.standard_normal(())) + 2.0),
}

LEAFWISE = [
    (prox.prox_l1, 0.4),
    (prox.prox_elastic_net, (0.4, 0.5)),
    (prox.prox_nonneg, None),
    (prox.projection_box, (-0.5, 0.7)),
    (prox.prox_log_sum, (0.4, 0.3)),
    (prox.prox_mcp, (0.4, 3.0)),
    (prox.prox_scad, (0.4, 3.7)),
    (prox.prox_capped_l1, (0.4, 1.0)),
]


@pytest.mark.parametrize(("op", "hyper"), LEAFWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_operators_map_over_the_leaves(op, hyper):
    out = op(TREE, hyper, 0.8)
    assert jax.tree.structure(out) == jax.tree.structure(TREE)
    for got, leaf in zip(jax.tree.leaves(out), jax.tree.leaves(TREE), strict=True):
        np.testing.assert_array_equal(got, op(leaf, hyper, 0.8))


def test_hyperparameters_per_leaf():
    l1reg = {"w": 0.1, "b": (0.0, 5.0)}
    out = prox.prox_l1(TREE, l1reg)
    np.testing.assert_array_equal(out["w"], prox.prox_l1(TREE["w"], 0.1))
    np.testing.assert_array_equal(out["b"][0], TREE["b"][0])
    np.testing.assert_array_equal(out["b"][1], prox.prox_l1(TREE["b"][1], 5.0))
    # a pair: each entry shared or per leaf
    lower = {"w": -0.1, "b": (-1.0, 0.0)}
    out = prox.projection_box(TREE, (lower, 1.0))
    np.testing.assert_array_equal(out["w"], jnp.clip(TREE["w"], -0.1, 1.0))
    np.testing.assert_array_equal(out["b"][0], jnp.clip(TREE["b"][0], -1.0, 1.0))
    with pytest.raises(ValueError, match="l1reg"):
        prox.prox_l1(TREE, {"w": -1.0, "b": (0.0, 0.0)})


def test_norm_operators_treat_the_leaves_as_one_vector():
    flat = np.concatenate([np.ravel(v) for v in jax.tree.leaves(TREE)])
    norm = np.linalg.norm(flat)
    out = prox.projection_l2_ball(TREE, 1.0)
    np.testing.assert_allclose(
        np.concatenate([np.ravel(v) for v in jax.tree.leaves(out)]), flat / norm, rtol=1e-14
    )
    out = prox.prox_l2(TREE, 0.5, 2.0)
    np.testing.assert_allclose(out["w"], TREE["w"] * (1 - 1.0 / norm), rtol=1e-14)
    ints = prox.projection_l2_ball({"a": jnp.array([3, 4])}, 1.0)  # integer leaves: floats
    np.testing.assert_allclose(ints["a"], [0.6, 0.8])


def test_operators_of_one_array_name_the_pytree():
    with pytest.raises(ValueError, match="`x` must be an array, got a dict"):
        prox.projection_simplex(TREE)
    with pytest.raises(ValueError, match="`x` must be an array, got a dict"):
        prox.prox_nuclear(TREE, 0.1)
    # a list of numbers is still one array
    np.testing.assert_allclose(prox.prox_l1([1.0, -2.0], 0.5), [0.5, -1.5])


def test_jit_vmap_grad_on_pytrees():
    f = jax.jit(lambda t, lam: prox.prox_elastic_net(t, (lam, 0.5)))
    eager = prox.prox_elastic_net(TREE, (0.4, 0.5))
    for got, want in zip(jax.tree.leaves(f(TREE, 0.4)), jax.tree.leaves(eager), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15)
    batch = jax.tree.map(lambda v: jnp.stack([v, -v]), TREE)
    out = jax.vmap(lambda t: prox.prox_l1(t, 0.4))(batch)
    np.testing.assert_allclose(out["w"][1], prox.prox_l1(-TREE["w"], 0.4))
    # d/dlam of sum(prox_l1) = -(number of entries above the threshold, signed)
    g = jax.grad(lambda lam: sum(jnp.sum(v) for v in jax.tree.leaves(prox.prox_l1(TREE, lam))))
    flat = np.concatenate([np.ravel(v) for v in jax.tree.leaves(TREE)])
    np.testing.assert_allclose(g(0.4), -np.sum(np.sign(flat) * (np.abs(flat) > 0.4)))


def test_lasso_over_a_dict_of_parameters():
    a = jnp.asarray(RNG.standard_normal((30, 6)))
    b = jnp.asarray(RNG.standard_normal(30))

    def loss_flat(x, a, b):
        return 0.5 * jnp.sum((a @ x - b) ** 2)

    def loss_tree(p, a, b):
        return loss_flat(jnp.concatenate([p["u"], p["v"]]), a, b)

    kw = dict(prox=prox.prox_l1, hyperparams_prox=2.0, tol=1e-12, maxiter=5000)
    flat = proximal_gradient(loss_flat, jnp.zeros(6), (a, b), **kw)
    tree = proximal_gradient(loss_tree, {"u": jnp.zeros(2), "v": jnp.zeros(4)}, (a, b), **kw)
    assert bool(tree.info.converged)
    np.testing.assert_allclose(jnp.concatenate([tree.x["u"], tree.x["v"]]), flat.x, atol=1e-10)
