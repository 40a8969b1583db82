"""The two distributed papers on CPU devices: DGD+LOCAL (8 devices) reaches exact consensus on the
centralized subspace (ring and torus) while plain DGD keeps an O(step) gap; decentralized
sketching (4 devices) recovers a low-rank matrix above its phase transition, sharded like on
one device."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import lrjax.distributed as ld

RING = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Explicit,))
TORUS = jax.make_mesh((2, 4), ("a", "b"), axis_types=(AxisType.Explicit,) * 2)
# The sketching tests shard over 4 of the devices: on 8 CPU devices sharing the machine's
# cores, the sharded FISTA ran 2x slower than on 4 (measured) and shows nothing more.
RING4 = jax.make_mesh((4,), ("x",), axis_types=(AxisType.Explicit,), devices=jax.devices()[:4])


def _planted(m=30, r=4, n=80, key=1):
    k1, k2 = jax.random.split(jax.random.key(key))
    return jax.random.normal(k1, (m, r)) @ jax.random.normal(k2, (r, n))


def _sin_theta(u, y, r):
    """Largest principal-angle sine between span(u) and y's leading r left singular vectors."""
    q = np.linalg.qr(np.asarray(u))[0]
    top = np.linalg.svd(np.asarray(y))[0][:, :r]
    return np.linalg.norm(top - q @ (q.T @ top), 2)


@pytest.mark.parametrize(
    ("mesh", "columns", "topology", "iters"),
    [(RING, "x", "ring", 3000), (TORUS, ("a", "b"), "torus", 1500)],
    ids=["ring", "torus"],
)
def test_dgd_local_reaches_exact_consensus_on_the_centralized_subspace(
    mesh, columns, topology, iters
):
    y = _planted()
    ys = jax.device_put(y, NamedSharding(mesh, P(None, columns)))
    res = ld.dgd_local(
        ys, 4, key=jax.random.key(0), step=5e-3, maxiter=iters, topology=topology,
        init_scale=1.0,
    )  # fmt: skip
    assert res.u.shape == (8, 30, 4) and res.v.shape == (80, 4)
    # every agent's copy of U agrees with the others to machine precision ...
    assert float(res.consensus[-1]) < 1e-13
    u = np.asarray(res.u)
    assert np.max(np.abs(u - u.mean(0))) < 1e-12 * np.max(np.abs(u))
    # ... fits Y exactly, and spans the centralized factorization's (the SVD's) subspace
    assert float(res.objective[-1]) < 1e-24
    assert _sin_theta(u[3], y, 4) < 1e-12
    # the consensus error decreases along the run
    assert float(res.consensus[0]) > 1e3 * float(res.consensus[-1])


def _least_squares(key=0, agents=8, n=6):
    """The paper's illustration: f_j(x) = ½‖A_j x − b_j‖² with different minimisers (A_j's
    eigenvalues in [1, 2], so that both steps settle within a few thousand iterations)."""
    k1, k2, k3 = jax.random.split(jax.random.key(key), 3)
    q = jnp.linalg.qr(jax.random.normal(k1, (n, n)))[0]
    a = jnp.einsum("ik,jk,kl->jil", q, 1.0 + jax.random.uniform(k2, (agents, n)), q.T)
    b = jax.random.normal(k3, (agents, n))
    return a, b


def _ls_grad(x, data):
    a, b = data
    return a.T @ (a @ x - b)


def test_plain_dgd_keeps_a_consensus_gap_proportional_to_the_step():
    a, b = _least_squares()
    x0 = 100.0 * jax.random.normal(jax.random.key(9), (8, 6))
    gaps = {}
    for step in (1e-1, 1e-2):
        res = ld.dgd(_ls_grad, x0, (a, b), step=step, maxiter=4000, mesh=RING, axes="x",
                     record_every=500)  # fmt: skip
        c = np.asarray(res.consensus)
        assert abs(c[-1] - c[-2]) < 1e-3 * c[-1]  # it has settled ...
        gaps[step] = c[-1]
    # ... at a gap that does not vanish, and shrinks linearly with the step
    assert gaps[1e-2] > 1e-3
    assert 5.0 < gaps[1e-1] / gaps[1e-2] < 20.0


def test_plain_dgd_on_a_torus_and_the_consensus_formula():
    a, b = _least_squares()
    x0 = jnp.zeros((8, 6))
    res = ld.dgd(_ls_grad, x0, (a, b), step=1e-2, maxiter=200, mesh=TORUS, axes=("a", "b"),
                 topology="torus", record_every=100)  # fmt: skip
    x = np.asarray(res.x)
    mean = x.mean(0)
    want = np.max(np.linalg.norm(x - mean, axis=1)) / np.linalg.norm(mean)
    # recorded as the norm over all variables of the one agent farthest from the mean
    np.testing.assert_allclose(float(res.consensus[-1]), want, rtol=1e-10)


def test_dgd_local_under_jit_vmap_and_grad():
    y = _planted(m=12, r=2, n=32)
    ys = jax.device_put(y, NamedSharding(RING, P(None, "x")))
    run = lambda y, s: ld.dgd_local(y, 2, key=jax.random.key(0), step=s, maxiter=20,
                                    record_every=10, init_scale=1.0)  # fmt: skip
    eager = run(ys, 0.01)
    np.testing.assert_allclose(jax.jit(run)(ys, 0.01).u, eager.u, rtol=1e-12, atol=1e-14)
    batched = jax.vmap(lambda s: run(ys, s))(jnp.array([0.01, 0.02]))
    np.testing.assert_allclose(batched.u[0], eager.u, rtol=1e-12, atol=1e-14)
    loss = lambda y: jnp.sum(jnp.sin(run(y, 0.01).u))
    g = jax.jit(jax.grad(loss))(ys)
    d = jax.random.normal(jax.random.key(5), y.shape)
    put = lambda t: jax.device_put(t, ys.sharding)
    fd = (loss(put(y + 1e-6 * d)) - loss(put(y - 1e-6 * d))) / 2e-6
    np.testing.assert_allclose(float(jnp.sum(g * d)), float(fd), rtol=1e-6)


def test_consensus_bad_inputs_are_named():
    y = _planted(m=12, r=2, n=32)
    rows = jax.device_put(y.T, NamedSharding(RING, P("x")))
    with pytest.raises(ValueError, match="y"):
        ld.dgd_local(rows, 2, key=jax.random.key(0), step=0.01, maxiter=10, record_every=5)
    two = jax.make_mesh((2,), ("x",), axis_types=(AxisType.Explicit,), devices=jax.devices()[:2])
    with pytest.raises(ValueError, match="at least 3 agents"):
        ld.dgd_local(jax.device_put(y, NamedSharding(two, P(None, "x"))), 2,
                     key=jax.random.key(0), step=0.01, maxiter=10, record_every=5)  # fmt: skip
    ys = jax.device_put(y, NamedSharding(RING, P(None, "x")))
    with pytest.raises(ValueError, match="topology='torus'"):
        ld.dgd_local(ys, 2, key=jax.random.key(0), step=0.01, maxiter=10, topology="torus",
                     record_every=5)  # fmt: skip
    with pytest.raises(ValueError, match="multiple of `record_every`"):
        ld.dgd_local(ys, 2, key=jax.random.key(0), step=0.01, maxiter=10, record_every=3)
    with pytest.raises(ValueError, match="step"):
        ld.dgd_local(ys, 2, key=jax.random.key(0), step=-1.0, maxiter=10, record_every=5)
    with pytest.raises(ValueError, match="leading axis of the 8 agents"):
        ld.dgd(_ls_grad, jnp.zeros((4, 6)), (jnp.zeros((8, 6, 6)), jnp.zeros((8, 6))),
               step=0.1, maxiter=10, mesh=RING, axes="x", record_every=5)  # fmt: skip
    with pytest.raises(ValueError, match="'y'"):
        ld.dgd(_ls_grad, jnp.zeros((8, 6)), (jnp.zeros((8, 6, 6)), jnp.zeros((8, 6))),
               step=0.1, maxiter=10, mesh=RING, axes="y", record_every=5)  # fmt: skip


def _low_rank(d, t, r, key):
    k1, k2 = jax.random.split(jax.random.key(key))
    return jax.random.normal(k1, (d, r)) @ jax.random.normal(k2, (r, t)) / np.sqrt(r)


def _recover(x, sketch, *, sharded, key=10):
    a, y = ld.sketch_columns(x, sketch, key=jax.random.key(key))
    if sharded:
        a = jax.device_put(a, NamedSharding(RING4, P("x")))
        y = jax.device_put(y, NamedSharding(RING4, P("x")))
    res = ld.recover_sketched(a, y, lam=1e-3, stages=8, maxiter=300)
    return res, float(jnp.linalg.norm(res.x.T - x) / jnp.linalg.norm(x))


def test_sketched_recovery_above_and_below_the_phase_transition():
    # rank 1 from 6 numbers per 16-dimensional column: recovered (to the λ bias)
    x = _low_rank(16, 256, 1, key=1)
    res, err = _recover(x, 6, sharded=True)
    assert err < 1e-3
    assert res.x.sharding.spec[0] == "x"  # Z = X̂ᵀ stays sharded over the columns
    single, _ = _recover(x, 6, sharded=False)
    np.testing.assert_allclose(np.asarray(res.x), np.asarray(single.x), atol=1e-9)
    # rank 2 from 2 numbers per column: fewer measurements (2T) than unknowns (~2(d+T)): fails
    _, err = _recover(_low_rank(16, 256, 2, key=2), 2, sharded=False)
    assert err > 0.3


def test_sketched_recovery_under_jit_vmap_and_grad():
    x = _low_rank(8, 64, 1, key=3)
    a, y = ld.sketch_columns(x, 4, key=jax.random.key(3))
    put = lambda t: jax.device_put(t, NamedSharding(RING4, P("x")))
    run = lambda a, y, lam: ld.recover_sketched(a, y, lam=lam, stages=2, maxiter=150).x
    eager = run(a, y, 1e-3)
    np.testing.assert_allclose(jax.jit(run)(put(a), put(y), 1e-3), eager, atol=1e-10)
    batched = jax.vmap(lambda lam: run(put(a), put(y), lam))(jnp.array([1e-3, 1e-2]))
    np.testing.assert_allclose(batched[0], eager, atol=1e-10)
    loss = lambda y, a: jnp.sum(jnp.sin(run(a, y, 1e-3)))
    g = jax.jit(jax.grad(loss))(put(y), put(a))
    g_single = jax.grad(loss)(y, a)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_single), rtol=1e-7, atol=1e-9)
    assert np.all(np.isfinite(np.asarray(g)))


def test_sketching_bad_inputs_are_named():
    x = _low_rank(16, 64, 1, key=1)
    a, y = ld.sketch_columns(x, 4, key=jax.random.key(0))
    assert a.shape == (64, 4, 16) and y.shape == (64, 4)
    np.testing.assert_allclose(y[5], a[5] @ x[:, 5], rtol=1e-12)
    with pytest.raises(ValueError, match="fewer than d = 16"):  # 8 columns per device
        ld.recover_sketched(jax.device_put(a, NamedSharding(RING, P("x"))), y, lam=1e-3)
    with pytest.raises(ValueError, match="`y` must have shape"):
        ld.recover_sketched(a, y[:10], lam=1e-3)
    with pytest.raises(ValueError, match="lam"):
        ld.recover_sketched(a, y, lam=0.0)
    with pytest.raises(ValueError, match="sketch_size"):
        ld.sketch_columns(x, 0, key=jax.random.key(0))
    with pytest.raises(ValueError):  # the rows of the sketches split: not the columns
        ld.recover_sketched(jax.device_put(a, NamedSharding(RING, P(None, None, "x"))), y,
                            lam=1e-3)  # fmt: skip
