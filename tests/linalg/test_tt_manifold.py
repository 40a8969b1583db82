"""TT orthogonalization, entry gathering and the Riemannian tangent-space projection (t3f's
orthogonalize_tt_cores, gather_nd and riemannian.project)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.testing import random_tt


def _tt_matrix(key, rows, cols, rank):
    keys = jax.random.split(key, len(rows))
    ranks = (1, *([rank] * (len(rows) - 1)), 1)
    return lrjax.TTMatrix(
        tuple(
            jax.random.normal(k, (ranks[i], m, n, ranks[i + 1]))
            for i, (k, m, n) in enumerate(zip(keys, rows, cols, strict=True))
        )
    )


def _check_grad_in_cores(loss, tt, key):
    """The gradient of ``loss`` in the cores of ``tt`` (jit) against a central difference
    along a random direction."""
    g = jax.jit(jax.grad(loss))(tt)
    v = jax.tree.map(lambda c: jax.random.normal(key, c.shape, c.dtype), tt)
    h = 1e-6
    plus = jax.tree.map(lambda a, b: a + h * b, tt, v)
    minus = jax.tree.map(lambda a, b: a - h * b, tt, v)
    fd = (float(loss(plus)) - float(loss(minus))) / (2 * h)
    dot = sum(float(jnp.sum(a * b)) for a, b in zip(g.cores, v.cores, strict=True))
    assert dot == pytest.approx(fd, rel=1e-6)


def _is_left_orthogonal(core):
    m = np.asarray(core).reshape(-1, core.shape[-1])
    return np.allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-12)


def _is_right_orthogonal(core):
    m = np.asarray(core).reshape(core.shape[0], -1)
    return np.allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-12)


@pytest.mark.parametrize("left_to_right", [True, False])
def test_orthogonalize_keeps_the_tensor_and_orthogonalizes_the_cores(left_to_right):
    tt = random_tt(jax.random.key(0), (4, 5, 6, 3), (3, 4, 2))
    q = lrjax.tt_orthogonalize(tt, left_to_right=left_to_right)
    np.testing.assert_allclose(q.to_dense(), tt.to_dense(), rtol=1e-12, atol=1e-12)
    assert q.rank == tt.rank
    if left_to_right:
        assert all(_is_left_orthogonal(c) for c in q.cores[:-1])
        np.testing.assert_allclose(np.linalg.norm(q.cores[-1]), float(tt.norm()), rtol=1e-12)
    else:
        assert all(_is_right_orthogonal(c) for c in q.cores[1:])
        np.testing.assert_allclose(np.linalg.norm(q.cores[0]), float(tt.norm()), rtol=1e-12)
    # a TT-matrix, and a bond larger than its side allows (rank 7 after a mode of size 2)
    m = _tt_matrix(jax.random.key(1), (2, 3), (3, 2), 7)
    qm = lrjax.tt_orthogonalize(m, left_to_right=left_to_right)
    assert isinstance(qm, lrjax.TTMatrix) and qm.rank == (1, 6, 1)
    np.testing.assert_allclose(qm.to_dense(), m.to_dense(), rtol=1e-12, atol=1e-12)


def test_gather_matches_the_dense_tensor_and_differentiates():
    tt = random_tt(jax.random.key(2), (4, 5, 6), (2, 3))
    rng = np.random.default_rng(0)
    idx = np.stack([rng.integers(-n, n, 50) for n in (4, 5, 6)], axis=1)
    dense = np.asarray(tt.to_dense())
    np.testing.assert_allclose(
        lrjax.tt_gather(tt, idx), dense[idx[:, 0], idx[:, 1], idx[:, 2]], rtol=1e-12
    )
    assert float(lrjax.tt_gather(tt, idx[0])) == pytest.approx(dense[tuple(idx[0])], rel=1e-12)
    # jit over traced indices, vmap over TT tensors, grad in the cores
    got = jax.jit(lrjax.tt_gather)(tt, jnp.asarray(idx % np.array([4, 5, 6])))
    np.testing.assert_allclose(got, dense[idx[:, 0], idx[:, 1], idx[:, 2]], rtol=1e-12)
    batch = jax.tree.map(lambda *c: jnp.stack(c), tt, tt * 2.0)
    two = jax.vmap(lambda t: lrjax.tt_gather(t, idx[:3]))(batch)
    np.testing.assert_allclose(two[1], 2 * two[0], rtol=1e-12)
    _check_grad_in_cores(lambda t: jnp.sum(lrjax.tt_gather(t, idx) ** 2), tt, jax.random.key(21))


def test_gather_bad_input():
    tt = random_tt(jax.random.key(3), (4, 5, 6), 2)
    with pytest.raises(ValueError, match=r"`indices\[0, 1\]` = 5 is out of range for mode 1"):
        lrjax.tt_gather(tt, [[0, 5, 0]])
    with pytest.raises(ValueError, match=r"`indices` must have shape \(K, 3\)"):
        lrjax.tt_gather(tt, [[0, 1]])
    with pytest.raises(ValueError, match="`indices` must be integers"):
        lrjax.tt_gather(tt, [[0.0, 1.0, 2.0]])
    with pytest.raises(TypeError, match="`tt` must be a TTTensor"):
        lrjax.tt_gather(_tt_matrix(jax.random.key(4), (2, 2), (2, 2), 2), [[0, 0]])


def test_project_matches_t3fs_precomputed_projection():
    """t3f's riemannian_test.testProject: the projection of a rank-3 TT of shape (4, 3) onto
    the tangent space at a rank-2 one, precomputed there by the independent ``tt`` (ttpy)
    toolbox."""
    where = lrjax.TTTensor(
        (
            jnp.array(
                [[[-0.42095269, 0.02130842], [-0.4181081, 0.42945687],
                  [0.45972439, -0.4525616], [-0.17159869, -0.14505528]]]
            ),
            jnp.array([[[0.23344421], [0.81480049], [-0.92385135]],
                       [[-0.19279465], [0.524976], [-0.40149197]]]),
        )
    )  # fmt: skip
    x = lrjax.TTTensor(
        (
            jnp.array(
                [[[-1.01761142, 0.36075896, -0.2493624], [-0.99896565, -1.12685474, 1.02832458],
                  [1.08739724, -0.6537435, 1.99975537], [0.35128005, 0.40395104, -0.16790072]]]
            ),
            jnp.array([[[0.34105142], [0.10371947], [-1.76464904]],
                       [[0.32639758], [-1.27843174], [-1.41590327]],
                       [[0.76616274], [0.6577514], [2.13703185]]]),
        )
    )  # fmt: skip
    desired = [
        [-0.67638254, -1.17163914, 0.29850939],
        [-1.66479093, -0.99003251, 2.46629195],
        [-0.04847773, -0.72908174, 0.20142675],
        [0.34431125, -0.20935516, -1.15864246],
    ]
    np.testing.assert_allclose(lrjax.tt_project(x, where).to_dense(), desired, atol=1e-7)


def test_project_on_a_matrix_is_the_closed_form():
    """N = 2: the tangent space of rank-r matrices at W = U S V^T, P(Z) = UU^T Z + Z VV^T -
    UU^T Z VV^T."""
    where = random_tt(jax.random.key(5), (7, 6), 2)
    u, _, vt = np.linalg.svd(np.asarray(where.to_dense()))
    pu, pv = u[:, :2] @ u[:, :2].T, vt[:2].T @ vt[:2]
    z = np.random.default_rng(1).standard_normal((7, 6))
    p = lrjax.tt_project(jnp.asarray(z), where)
    np.testing.assert_allclose(p.to_dense(), pu @ z + z @ pv - pu @ z @ pv, atol=1e-12)
    assert p.rank == (1, 4, 1)


def test_project_is_an_orthogonal_projection():
    """Idempotent, self-adjoint, the point itself in its tangent space, the residual
    orthogonal to every tangent vector, a TT argument equal to its dense tensor."""
    shape = (4, 5, 6, 3)
    where = random_tt(jax.random.key(6), shape, (2, 3, 2))
    z = random_tt(jax.random.key(7), shape, 3)
    y = jax.random.normal(jax.random.key(8), shape)
    pz = lrjax.tt_project(z, where)
    py = lrjax.tt_project(y, where)
    assert pz.rank == (1, 4, 6, 4, 1)
    np.testing.assert_allclose(
        lrjax.tt_project(z.to_dense(), where).to_dense(), pz.to_dense(), atol=1e-12
    )
    np.testing.assert_allclose(lrjax.tt_project(pz, where).to_dense(), pz.to_dense(), atol=1e-12)
    np.testing.assert_allclose(
        lrjax.tt_project(where, where).to_dense(), where.to_dense(), atol=1e-12
    )
    inner = lambda a, b: float(jnp.vdot(jnp.asarray(a), jnp.asarray(b)))
    assert inner(pz.to_dense(), y) == pytest.approx(inner(z.to_dense(), py.to_dense()), rel=1e-10)
    assert abs(inner(pz.to_dense() - z.to_dense(), py.to_dense())) < 1e-10 * float(
        jnp.linalg.norm(z.to_dense()) * jnp.linalg.norm(y)
    )


def test_project_tt_matrices():
    where = _tt_matrix(jax.random.key(9), (2, 3, 2), (3, 2, 2), 2)
    z = _tt_matrix(jax.random.key(10), (2, 3, 2), (3, 2, 2), 3)
    p = lrjax.tt_project(z, where)
    assert isinstance(p, lrjax.TTMatrix) and p.shape == where.shape
    np.testing.assert_allclose(
        lrjax.tt_project(where, where).to_dense(), where.to_dense(), atol=1e-12
    )
    np.testing.assert_allclose(
        lrjax.tt_project(z.to_dense(), where).to_dense(), p.to_dense(), atol=1e-12
    )


def test_sparse_gradient_projects_as_its_dense_tensor():
    """A BCOO ``x`` (the gradient of a loss on observed entries) gives the projection of its
    dense tensor, repeated coordinates adding; jit and vmap over the stored values."""
    from jax.experimental import sparse

    where = random_tt(jax.random.key(22), (4, 5, 6, 3), (2, 3, 2))
    rng = np.random.default_rng(3)
    idx = np.stack([rng.integers(0, n, 80) for n in (4, 5, 6, 3)], axis=1)
    idx[1] = idx[0]  # a repeated coordinate
    vals = jnp.asarray(rng.standard_normal(80))
    x = sparse.BCOO((vals, jnp.asarray(idx)), shape=(4, 5, 6, 3))
    np.testing.assert_allclose(
        lrjax.tt_project(x, where).to_dense(),
        lrjax.tt_project(x.todense(), where).to_dense(),
        atol=1e-12,
    )
    stack = jnp.stack([vals, 2 * vals])
    f = jax.jit(
        jax.vmap(
            lambda v: lrjax.tt_project(sparse.BCOO((v, x.indices), shape=x.shape), where).to_dense()
        )
    )
    both = f(stack)
    np.testing.assert_allclose(both[1], 2 * both[0], atol=1e-12)
    with pytest.raises(ValueError, match=r"a sparse \(BCOO\) `x` must have the shape"):
        lrjax.tt_project(sparse.BCOO.fromdense(jnp.ones((4, 5))), where)


def test_riemannian_gradient_descent_recovers_a_tt_from_its_entries():
    """What the projection is for: TT completion by Riemannian gradient steps (the sparse
    Euclidean gradient on the observed entries, read with tt_gather and projected without
    densifying, then tt_round as the retraction) on 40 % of a planted rank-2 tensor's
    entries, under jit; the unseen entries come out right."""
    from jax.experimental import sparse

    shape = (6, 6, 6, 6)
    truth = random_tt(jax.random.key(11), shape, 2)
    dense = truth.to_dense() / truth.norm() * 10
    mask = jax.random.uniform(jax.random.key(12), shape) < 0.4
    seen = jnp.argwhere(mask)
    values = dense[tuple(seen.T)]

    @jax.jit
    def step(x):
        grad = sparse.BCOO((lrjax.tt_gather(x, seen) - values, seen), shape=shape)
        xi = lrjax.tt_project(grad, x)
        return lrjax.tt_round(x - 2.0 * xi, 2)  # a fixed step (2.5 diverges here)

    x = lrjax.tt_svd(jnp.where(mask, dense, 0.0) / 0.4, 2)
    for _ in range(200):
        x = step(x)
    err = jnp.linalg.norm(jnp.where(mask, 0.0, x.to_dense() - dense))
    assert float(err / jnp.linalg.norm(jnp.where(mask, 0.0, dense))) < 1e-6


def test_project_under_jit_vmap_and_grad():
    shape = (4, 5, 3)
    where = random_tt(jax.random.key(13), shape, 2)
    zs = jax.random.normal(jax.random.key(14), (3, *shape))
    batched = jax.jit(jax.vmap(lambda z: lrjax.tt_project(z, where).to_dense()))(zs)
    for i in range(3):
        np.testing.assert_allclose(
            batched[i], lrjax.tt_project(zs[i], where).to_dense(), atol=1e-12
        )
    # the projection is linear in x; its derivative in the point `where` against FD
    probe = jax.random.normal(jax.random.key(15), shape)
    loss = lambda w: jnp.sum(lrjax.tt_project(zs[0], w).to_dense() * probe)
    _check_grad_in_cores(loss, where, jax.random.key(16))


def test_project_bad_input():
    where = random_tt(jax.random.key(17), (4, 5, 3), 2)
    with pytest.raises(ValueError, match=r"`x` must be a TT object or an array of `where`'s shape"):
        lrjax.tt_project(jnp.ones((4, 5)), where)
    with pytest.raises(ValueError, match="they must agree"):
        lrjax.tt_project(random_tt(jax.random.key(18), (4, 5, 4), 2), where)
    with pytest.raises(TypeError, match="`x` must be a TTTensor like `where`"):
        lrjax.tt_project(_tt_matrix(jax.random.key(19), (2, 2), (2, 2), 2), where)
    with pytest.raises(TypeError, match="`where` must be a TTTensor or a TTMatrix"):
        lrjax.tt_project(jnp.ones((4, 5, 3)), jnp.ones((4, 5, 3)))
    too_big = random_tt(jax.random.key(20), (2, 5, 3), 4)  # bond 1: rank 4 > 1 * 2
    with pytest.raises(ValueError, match="round it first"):
        lrjax.tt_project(jnp.ones((2, 5, 3)), too_big)
