"""Every public routine on inputs sharded over 8 CPU devices, on meshes with Explicit axes (the
default of ``jax.make_mesh``) and with Auto axes, inside ``jit``: the result equals the
single-device one (float64, 1e-10 relative) and keeps a sensible sharding (issue 27).

The repository's ``conftest.py`` starts every test process with 8 host devices.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import lrjax
from lrjax import linalg, metrics, prox, solvers
from lrjax.testing import random_cp, random_tt, random_tucker

KEY = jax.random.key(3)
RNG = np.random.default_rng(0)


def _mesh(kind: str, shape=(8,), names=("x",)):
    axis = AxisType.Explicit if kind == "explicit" else AxisType.Auto
    return jax.make_mesh(shape, names, axis_types=(axis,) * len(shape))


def test_eight_devices():
    assert jax.device_count() == 8, "conftest.py must start JAX with 8 host devices"


def _t3(key=KEY):
    return random_cp(key, (16, 6, 5), 3).to_dense() + 0.01 * jax.random.normal(key, (16, 6, 5))


def _low_rank(key=KEY):
    k1, k2, k3 = jax.random.split(key, 3)
    a = jax.random.normal(k1, (24, 3)) @ jax.random.normal(k2, (3, 10))
    return a + 0.01 * jax.random.normal(k3, (24, 10))


def _spiky(key=KEY):
    return _low_rank(key) + 3.0 * (jax.random.uniform(jax.random.fold_in(key, 1), (24, 10)) < 0.05)


def _sq3(key=KEY):
    a = jax.random.normal(key, (8, 2))
    c = jax.random.uniform(jax.random.fold_in(key, 1), (4, 2), minval=0.5)
    noise = 0.005 * jax.random.normal(key, (8, 8, 4))
    return jnp.einsum("ir,jr,kr->ijk", a, a, c) + noise + jnp.swapaxes(noise, 0, 1)


def _gauss(key=KEY):
    return jax.random.normal(key, (24, 10))


def _spd(key=KEY):
    a = jax.random.normal(key, (24, 16))
    return a.T @ a / 24 + jnp.eye(16)


MASK = jnp.asarray(RNG.random((24, 10)) < 0.8)
WEIGHTS = jnp.asarray(RNG.uniform(0.2, 1.0, (24, 10)))
PHI = jnp.asarray(RNG.normal(size=(16, 4)))


def _lsq(z, a, b):
    return 0.5 * jnp.sum((a @ z - b) ** 2)


def _x_update(z, u, rho, p):
    a, b = p
    return jnp.linalg.solve(a.T @ a + rho * jnp.eye(a.shape[1]), a.T @ b + rho * (z - u))


def _z_update(h, u, rho, p):
    return prox.prox_l1(h + u, 0.1, 1.0 / rho)


# (name, fn(x), make_input, which axis of x is sharded over the 8 devices)
CASES = [
    ("cp_als", lambda x: lrjax.cp_als(x, 3, maxiter=50, tol=0.0), _t3, 0),
    ("cp_als_weighted", lambda x: lrjax.cp_als(x, 3, mask=jnp.abs(x) > 0.01, maxiter=30, tol=0.0), _t3, 0),
    ("cp_nonneg", lambda x: lrjax.cp_nonneg(jnp.abs(x), 2, key=KEY, maxiter=40, tol=0.0), _t3, 0),
    ("cp_opt", lambda x: lrjax.cp_opt(x, 3), _t3, 0),
    ("tucker_hooi", lambda x: lrjax.tucker_hooi(x, (3, 3, 2), maxiter=10, tol=0.0), _t3, 0),
    ("hosvd", lambda x: lrjax.hosvd(x, (3, 3, 2)), _t3, 0),
    ("tt_svd", lambda x: lrjax.tt_svd(x, 3), lambda k=KEY: random_tt(k, (16, 6, 5), (3, 3)).to_dense(), 0),
    ("candelinc", lambda x: lrjax.candelinc(x, 2, [PHI, None, None], maxiter=30, tol=0.0), _t3, 0),
    ("block_term", lambda x: lrjax.block_term(x, 2, (2, 2, 1), maxiter=10, tol=0.0), _t3, 0),
    ("indscal", lambda x: lrjax.indscal(x, 2, maxiter=20, tol=0.0), _sq3, 0),
    ("dedicom", lambda x: lrjax.dedicom(x, 2, maxiter=10, tol=0.0), _sq3, 0),
    ("paratuck2", lambda x: lrjax.paratuck2(x, (2, 2), maxiter=5, tol=0.0), _sq3, 0),
    ("parafac2", lambda x: lrjax.parafac2(x, 2, maxiter=20, tol=0.0), lambda k=KEY: random_cp(k, (8, 6, 5), 2).to_dense(), 0),
    ("robust_pca", lambda m: lrjax.robust_pca(m, maxiter=30, tol=0.0), _spiky, 0),
    ("tensor_robust_pca", lambda x: lrjax.tensor_robust_pca(x, maxiter=20, tol=0.0), _t3, 0),
    ("complete_matrix", lambda m: lrjax.complete_matrix(m, MASK, method=lrjax.CompletionSVT(tau=20.0), maxiter=30, tol=0.0), _low_rank, 0),
    ("soft_impute", lambda m: lrjax.complete_matrix(m, MASK, method=lrjax.SoftImpute(lam=0.5), maxiter=30, tol=0.0), _low_rank, 0),
    ("wlra", lambda m: lrjax.wlra(m, WEIGHTS, 3, maxiter=20, tol=0.0), _low_rank, 0),
    ("truncated_svd", lambda a: lrjax.truncated_svd(a, 3), _low_rank, 0),
    ("randomized_svd", lambda a: lrjax.randomized_svd(a, 3, key=KEY), _low_rank, 0),
    ("frequent_directions", lambda a: lrjax.frequent_directions(a, 4), _low_rank, 0),
    ("leading_left_singular_vectors", lambda a: linalg.leading_left_singular_vectors(a, 3), _low_rank, 0),
    ("orthonormalize", lambda a: linalg.orthonormalize(a), _low_rank, 0),
    ("svd_flip", lambda a: linalg.svd_flip(a, a.T), _low_rank, 0),
    ("spd_inverse", lambda a: linalg.spd_inverse(a), _spd, 0),
    ("singular_value_map", lambda a: linalg.singular_value_map(a, lambda s, p: s**2 * p, 0.5), _low_rank, 0),
    ("unfold", lambda x: linalg.unfold(x, 1), _t3, 0),
    ("fold", lambda x: linalg.fold(linalg.unfold(x, 2), 2, (16, 6, 5)), _t3, 0),
    ("mode_dot", lambda x: linalg.mode_dot(x, jnp.ones((2, 6)), 1), _t3, 0),
    ("multi_mode_dot", lambda x: linalg.multi_mode_dot(x, [jnp.ones((2, 16)), jnp.ones((2, 5))], [0, 2]), _t3, 0),
    ("mttkrp", lambda x: linalg.mttkrp(x, [jnp.ones((16, 2)), jnp.ones((6, 2)), jnp.ones((5, 2))], 1), _t3, 0),
    ("partial_mttkrp", lambda x: linalg.partial_mttkrp(x, [jnp.ones((16, 2)), jnp.ones((6, 2)), jnp.ones((5, 2))], [1, 2]), _t3, 0),
    ("khatri_rao", lambda a: linalg.khatri_rao([a, a]), _low_rank, 0),
    ("kronecker", lambda a: linalg.kronecker([a, a]), _low_rank, 0),
    ("prox_l1", lambda a: prox.prox_l1(a, 0.3), _low_rank, 0),
    ("prox_l2", lambda a: prox.prox_l2(a, 0.3), _low_rank, 0),
    ("prox_group_l21", lambda a: prox.prox_group_l21(a, 0.3, axis=0), _low_rank, 0),
    ("prox_elastic_net", lambda a: prox.prox_elastic_net(a, (0.3, 0.5)), _low_rank, 0),
    ("prox_ksupport_sq", lambda a: prox.prox_ksupport_sq(a, (0.3, 2)), _low_rank, 0),
    ("prox_nonneg", lambda a: prox.prox_nonneg(a), _low_rank, 0),
    ("projection_box", lambda a: prox.projection_box(a, (-0.5, 0.5)), _low_rank, 0),
    ("projection_l2_ball", lambda a: prox.projection_l2_ball(a, 1.0), _low_rank, 0),
    ("projection_simplex", lambda a: prox.projection_simplex(a, 1.0), _low_rank, 0),
    ("projection_rank", lambda a: prox.projection_rank(a, 2), _low_rank, 0),
    ("prox_log_sum", lambda a: prox.prox_log_sum(a, (0.3, 0.5)), _low_rank, 0),
    ("prox_mcp", lambda a: prox.prox_mcp(a, (0.3, 3.0)), _low_rank, 0),
    ("prox_scad", lambda a: prox.prox_scad(a, (0.3, 3.7)), _low_rank, 0),
    ("prox_capped_l1", lambda a: prox.prox_capped_l1(a, (0.3, 1.0)), _low_rank, 0),
    ("prox_schatten_p", lambda a: prox.prox_schatten_p(a, (0.3, 0.5)), _low_rank, 0),
    ("prox_nuclear", lambda a: prox.prox_nuclear(a, 0.5), _low_rank, 0),
    ("prox_weighted_nuclear", lambda a: prox.prox_weighted_nuclear(a, jnp.linspace(0.1, 1, 10)), _low_rank, 0),
    ("generalized_svt", lambda a: prox.generalized_svt(a, (0.5, 3.0), prox_fn=prox.prox_mcp), _low_rank, 0),
    ("prox_nuclear_randomized", lambda a: prox.prox_nuclear_randomized(a, 0.5, rank=4, key=KEY), _low_rank, 0),
    ("prox_tensor_nuclear", lambda x: prox.prox_tensor_nuclear(x, 0.1), _t3, 0),
    ("proximal_gradient", lambda a: solvers.proximal_gradient(_lsq, jnp.zeros(10), (a, jnp.arange(24.0)), prox=prox.prox_l1, hyperparams_prox=0.5, maxiter=50, tol=0.0), _low_rank, 0),
    ("admm", lambda a: solvers.admm(_x_update, _z_update, (jnp.zeros(10), jnp.zeros(10)), (a, jnp.arange(24.0)), maxiter=40, tol=0.0), _low_rank, 0),
    ("levenberg_marquardt", lambda a: solvers.levenberg_marquardt(lambda v, a: a @ v - jnp.arange(24.0), jnp.zeros(10), (a,), maxiter=10, tol=0.0), _gauss, 0),
    ("iterate", lambda a: solvers.iterate(lambda z, a: (0.5 * z + 0.1 * a, jnp.sum(z)), jnp.zeros_like(a), a, maxiter=10, tol=0.0), _low_rank, 0),
    ("psnr", lambda a: metrics.psnr(jnp.ones_like(a), a), _low_rank, 0),
    ("ergas", lambda a: metrics.ergas(jnp.ones_like(a), a), _low_rank, 0),
    ("ssim", lambda a: metrics.ssim(jnp.ones_like(a) * 0.5, a, win_size=7, data_range=4.0), _low_rank, 0),
    ("f_measure", lambda a: metrics.f_measure(jax.nn.sigmoid(a), a > 0), _low_rank, 0),
    ("frame_stats", lambda a: metrics.frame_stats(a, (a > 0).astype(a.dtype)), _low_rank, 0),
]  # fmt: skip
IDS = [c[0] for c in CASES]


# Every case on an Explicit mesh (the jax.make_mesh default, where sharding errors surface);
# every third also on an Auto mesh (the compiler's propagation: the same code path after
# `partitioned`), which keeps the suite within its time budget.
PAIRS = [(i, "explicit") for i in range(len(CASES))] + [
    (i, "auto") for i in range(0, len(CASES), 3)
]


@functools.cache
def _reference(index: int):
    """A case's input and its single-device result, computed once for both kinds of mesh."""
    _, fn, make, _ = CASES[index]
    x = make()
    return x, jax.jit(fn)(x)


@pytest.mark.parametrize(("index", "kind"), PAIRS, ids=[f"{IDS[i]}-{k}" for i, k in PAIRS])
def test_sharded_result_equals_single_device(index, kind):
    name, fn, _, axis = CASES[index]
    x, ref = _reference(index)
    mesh = _mesh(kind)
    spec = [None] * x.ndim
    spec[axis] = "x"
    xs = jax.device_put(x, NamedSharding(mesh, P(*spec)))
    out = jax.jit(fn)(xs)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(ref), strict=True):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            scale = max(float(np.nanmax(np.abs(b))) if b.size else 0.0, 1e-300)
            # Absolute floor 1e-13: a final relative error near 1e-7 (robust PCA's) is a
            # difference of O(1) norms, known to ~1e-15 absolute whatever the layout's
            # summation order (a sharded Gram matrix sums its blocks in another order).
            atol = max(1e-10 * scale, 1e-13)
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=atol, err_msg=name)
    if kind == "explicit":  # results of x's shape keep x's sharding
        for leaf in jax.tree.leaves(out):
            if getattr(leaf, "shape", None) == x.shape:
                assert leaf.sharding.spec[axis] == "x", (name, leaf.sharding)


def test_factor_of_a_sharded_mode_stays_sharded_and_small_ones_replicate():
    x = _t3()
    mesh = _mesh("explicit")
    xs = jax.device_put(x, NamedSharding(mesh, P("x")))
    cp = jax.jit(lambda x: lrjax.cp_als(x, 3, maxiter=5))(xs).cp
    assert cp.factors[0].sharding.spec == P("x", None)
    assert cp.factors[1].sharding.spec == P(None, None)
    assert all(e is None for e in cp.weights.sharding.spec)  # replicated
    tucker = jax.jit(lambda x: lrjax.tucker_hooi(x, (3, 3, 2), maxiter=3))(xs).tucker
    assert tucker.factors[0].sharding.spec == P("x", None)
    assert all(e is None for e in tucker.core.sharding.spec)


def test_two_dimensional_mesh_and_vmap():
    """A 2 x 4 mesh sharding two modes, and a batch of decompositions under vmap."""
    mesh = jax.make_mesh((2, 4), ("a", "b"), axis_types=(AxisType.Explicit,) * 2)
    x = random_tucker(KEY, (16, 8, 5), (3, 3, 2)).to_dense()
    xs = jax.device_put(x, NamedSharding(mesh, P("a", "b")))
    out = jax.jit(lambda x: lrjax.tucker_hooi(x, (3, 3, 2), maxiter=5, tol=0.0))(xs)
    ref = lrjax.tucker_hooi(x, (3, 3, 2), maxiter=5, tol=0.0)
    np.testing.assert_allclose(out.tucker.to_dense(), ref.tucker.to_dense(), atol=1e-10)
    assert out.tucker.factors[1].sharding.spec == P("b", None)
    batch = jnp.stack([_t3(jax.random.key(i)) for i in range(4)])
    bs = jax.device_put(batch, NamedSharding(_mesh("explicit", (8,), ("x",)), P(None, "x")))
    res = jax.jit(jax.vmap(lambda x: lrjax.cp_als(x, 3, maxiter=20, tol=0.0)))(bs)
    for i in range(4):
        one = lrjax.cp_als(batch[i], 3, maxiter=20, tol=0.0)
        np.testing.assert_allclose(res.cp.weights[i], one.cp.weights, rtol=1e-10)
        np.testing.assert_allclose(res.cp.factors[0][i], one.cp.factors[0], atol=1e-10)


def test_closed_over_constants_under_a_callers_jit():
    """A routine called inside the caller's ``jit`` on values its function closes over (no
    tracer among the arguments) stays part of the caller's program. It used to compile its own
    top-level program with CPU compiler options, which JAX refuses inside a trace."""
    x = lrjax.testing.random_cp(jax.random.key(0), (5, 4, 3), 2).to_dense()
    a, b = jnp.ones((3, 2)), jnp.arange(8.0).reshape(4, 2)
    eager = (lrjax.cp_als(x, 2).info.error, lrjax.tucker_hooi(x, 2).info.error)
    traced = jax.jit(lambda: (lrjax.cp_als(x, 2).info.error, lrjax.tucker_hooi(x, 2).info.error))()
    np.testing.assert_allclose(traced, eager, rtol=1e-6, atol=1e-9)
    kr = jax.jit(lambda: lrjax.linalg.khatri_rao([a, b]))()
    np.testing.assert_array_equal(kr, lrjax.linalg.khatri_rao([a, b]))
