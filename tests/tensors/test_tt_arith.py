"""Tensor-train arithmetic (t3f's operations) against dense NumPy references, TT rounding
against a NumPy TT-SVD, and batched (vmapped) TT objects."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax.tensors import TTMatrix, TTTensor, tt_add, tt_inner, tt_matmul, tt_multiply


def _tt(rng, shape, ranks):
    full = (1, *ranks, 1)
    return TTTensor(
        tuple(jnp.asarray(rng.standard_normal((full[k], n, full[k + 1])))
              for k, n in enumerate(shape))
    )  # fmt: skip


def _ttm(rng, rows, cols, ranks):
    full = (1, *ranks, 1)
    return TTMatrix(
        tuple(jnp.asarray(rng.standard_normal((full[k], m, n, full[k + 1])))
              for k, (m, n) in enumerate(zip(rows, cols, strict=True)))
    )  # fmt: skip


def _dense_ttm(cores):
    """Independent reference: A[(i0..), (j0..)] by an explicit einsum over all cores."""
    cores = [np.asarray(c) for c in cores]
    d = len(cores)
    letters = "abcdefghijklmnopqrstuvwxyz"
    bonds, rows, cols = letters[: d + 1], letters[d + 1 : 2 * d + 1], letters[2 * d + 1 : 3 * d + 1]
    spec = ",".join(bonds[k] + rows[k] + cols[k] + bonds[k + 1] for k in range(d))
    out = np.einsum(spec + "->" + rows + cols, *cores)
    m = int(np.prod([c.shape[1] for c in cores]))
    return out.reshape(m, -1)


def _np_tt_svd(x, max_rank):
    """Reference TT-SVD in NumPy (Oseledets 2011, Algorithm 1) with fixed ranks."""
    shape, cores, r = x.shape, [], 1
    rest = x.reshape(1, -1)
    for n in shape[:-1]:
        mat = rest.reshape(r * n, -1)
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        k = min(max_rank, len(s))
        cores.append(u[:, :k].reshape(r, n, k))
        rest, r = s[:k, None] * vt[:k], k
    cores.append(rest.reshape(r, shape[-1], 1))
    out = cores[0].reshape(shape[0], -1)
    for c in cores[1:]:
        out = (out @ c.reshape(c.shape[0], -1)).reshape(-1, c.shape[-1])
    return out.reshape(shape)


def test_ttmatrix_to_dense_matches_explicit_contraction(rng):
    a = _ttm(rng, (2, 3, 2), (3, 2, 4), (2, 3))
    np.testing.assert_allclose(np.asarray(a.to_dense()), _dense_ttm(a.cores), rtol=1e-12)
    assert a.shape == (12, 24) and a.rank == (1, 2, 3, 1)
    np.testing.assert_allclose(float(a.norm()), np.linalg.norm(_dense_ttm(a.cores)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(a.transpose().to_dense()), _dense_ttm(a.cores).T)


def test_add_subtract_scale_match_dense(rng):
    a, b = _tt(rng, (3, 4, 5), (2, 3)), _tt(rng, (3, 4, 5), (3, 1))
    da, db = np.asarray(a.to_dense()), np.asarray(b.to_dense())
    s = tt_add(a, b)
    assert s.rank == (1, 5, 4, 1)
    np.testing.assert_allclose(np.asarray(s.to_dense()), da + db, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray((a - b).to_dense()), da - db, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray((2.5 * a).to_dense()), 2.5 * da, rtol=1e-12)
    np.testing.assert_allclose(np.asarray((-a).to_dense()), -da, rtol=1e-12)
    one = TTTensor((jnp.asarray(rng.standard_normal((1, 6, 1))),))  # a single core
    np.testing.assert_allclose(np.asarray((one + one).to_dense()), 2 * np.asarray(one.to_dense()))
    m, n = _ttm(rng, (2, 3), (3, 2), (2,)), _ttm(rng, (2, 3), (3, 2), (3,))
    np.testing.assert_allclose(
        np.asarray((m + n).to_dense()), _dense_ttm(m.cores) + _dense_ttm(n.cores), atol=1e-12
    )


def test_hadamard_and_inner_products_match_dense(rng):
    a, b = _tt(rng, (3, 4, 5), (2, 3)), _tt(rng, (3, 4, 5), (3, 2))
    da, db = np.asarray(a.to_dense()), np.asarray(b.to_dense())
    h = tt_multiply(a, b)
    assert h.rank == (1, 6, 6, 1)
    np.testing.assert_allclose(np.asarray((a * b).to_dense()), da * db, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(np.asarray(h.to_dense()), da * db, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(float(tt_inner(a, b)), np.vdot(da, db), rtol=1e-11)
    np.testing.assert_allclose(float(tt_inner(a, a)), float(a.norm()) ** 2, rtol=1e-11)
    m, n = _ttm(rng, (2, 3), (3, 2), (2,)), _ttm(rng, (2, 3), (3, 2), (3,))
    dm, dn = _dense_ttm(m.cores), _dense_ttm(n.cores)
    np.testing.assert_allclose(np.asarray((m * n).to_dense()), dm * dn, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(float(tt_inner(m, n)), np.vdot(dm, dn), rtol=1e-11)


def test_matmul_matches_dense(rng):
    a = _ttm(rng, (2, 3, 2), (3, 2, 4), (2, 3))
    b = _ttm(rng, (3, 2, 4), (2, 2, 3), (3, 2))
    c = tt_matmul(a, b)
    assert c.row_modes == (2, 3, 2) and c.col_modes == (2, 2, 3) and c.rank == (1, 6, 6, 1)
    np.testing.assert_allclose(
        np.asarray((a @ b).to_dense()), _dense_ttm(a.cores) @ _dense_ttm(b.cores), rtol=1e-10
    )
    v = _tt(rng, (3, 2, 4), (2, 2))
    av = tt_matmul(a, v)
    assert isinstance(av, TTTensor) and av.shape == (2, 3, 2)
    np.testing.assert_allclose(
        np.asarray(av.to_dense()).ravel(),
        _dense_ttm(a.cores) @ np.asarray(v.to_dense()).ravel(),
        rtol=1e-10,
    )


def test_matmul_with_a_dense_vector_or_matrix(rng):
    a = _ttm(rng, (2, 3, 2), (3, 2, 4), (2, 3))
    dense = _dense_ttm(a.cores)  # 12 x 24
    x, xs = rng.standard_normal(24), rng.standard_normal((24, 5))
    np.testing.assert_allclose(np.asarray(tt_matmul(a, x)), dense @ x, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(a @ jnp.asarray(xs)), dense @ xs, rtol=1e-12)
    # jit, vmap over the vectors, and the derivative in the cores against finite differences
    np.testing.assert_allclose(jax.jit(tt_matmul)(a, xs), dense @ xs, rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(lambda v: a @ v)(xs.T), (dense @ xs).T, rtol=1e-12)
    f = lambda c0: jnp.sum(jnp.sin(TTMatrix((c0, *a.cores[1:])) @ x))
    d = jnp.asarray(rng.standard_normal(a.cores[0].shape))
    fd = (f(a.cores[0] + 1e-6 * d) - f(a.cores[0] - 1e-6 * d)) / 2e-6
    np.testing.assert_allclose(jnp.sum(jax.grad(f)(a.cores[0]) * d), fd, rtol=1e-7)
    with pytest.raises(ValueError, match=r"shape \(24,\) or \(24, k\)"):
        tt_matmul(a, np.ones(23))
    batch = TTMatrix(tuple(jnp.stack([c, c]) for c in a.cores))
    with pytest.raises(ValueError, match="vmap"):
        tt_matmul(batch, x)


def test_division_by_a_scalar(rng):
    t = _tt(rng, (3, 4, 2), (2, 3))
    np.testing.assert_allclose((t / 4.0).to_dense(), t.to_dense() / 4.0, rtol=1e-14)
    a = _ttm(rng, (2, 3), (3, 2), (2,))
    np.testing.assert_allclose((a / 2).to_dense(), a.to_dense() / 2, rtol=1e-14)
    with pytest.raises(TypeError):
        t / t


def test_round_equals_tt_svd_of_the_dense_tensor(rng):
    """Rounding an exact TT is TT-SVD of its dense tensor (same truncated subspaces)."""
    a = _tt(rng, (4, 5, 6, 3), (4, 6, 3))
    dense = np.asarray(a.to_dense())
    for r in (1, 2, 3):
        rounded = lrjax.tt_round(a, r)
        assert max(rounded.rank) <= r
        np.testing.assert_allclose(
            np.asarray(rounded.to_dense()), _np_tt_svd(dense, r), rtol=1e-8, atol=1e-9
        )


def test_round_is_exact_on_redundant_sums_and_honours_eps(rng):
    a = _tt(rng, (4, 5, 6), (3, 3))
    b = lrjax.tt_round(a + a + a, 3)  # ranks 9 -> 3, exactly 3a
    assert b.rank == (1, 3, 3, 1)
    np.testing.assert_allclose(np.asarray(b.to_dense()), 3 * np.asarray(a.to_dense()), atol=1e-9)
    # cores 0..N-2 come out left-orthogonal
    for c in b.cores[:-1]:
        mat = np.asarray(c).reshape(-1, c.shape[-1])
        np.testing.assert_allclose(mat.T @ mat, np.eye(mat.shape[1]), atol=1e-10)
    noisy = a + _tt(rng, (4, 5, 6), (2, 2)) * 1e-3
    x = np.asarray(noisy.to_dense())
    for eps in (1e-2, 1e-6):
        r = lrjax.tt_round(noisy, 5, eps=eps)
        err = np.linalg.norm(np.asarray(r.to_dense()) - x) / np.linalg.norm(x)
        assert err <= eps * (1 + 1e-9)
    # eps zeroes the small directions (shapes stay at max_rank): the bond between modes 1
    # and 2 keeps a's rank 3 at eps 1e-2 and all 5 directions at 1e-6
    bond_rank = lambda t: np.linalg.matrix_rank(
        np.asarray(t.to_dense()).reshape(20, 6), tol=1e-9 * np.linalg.norm(x)
    )
    assert bond_rank(lrjax.tt_round(noisy, 5, eps=1e-2)) == 3
    assert bond_rank(lrjax.tt_round(noisy, 5, eps=1e-6)) == 5


def test_round_ttmatrix(rng):
    m = _ttm(rng, (2, 3, 2), (3, 2, 2), (2, 3))
    r = lrjax.tt_round(m + m, (2, 3))
    np.testing.assert_allclose(np.asarray(r.to_dense()), 2 * _dense_ttm(m.cores), atol=1e-9)


def _zero_padded(a, extra):
    """``a`` with ``extra`` exactly-zero rank directions on every bond: the same tensor, whose
    unfoldings have repeated zero singular values."""
    d = len(a.cores)
    return TTTensor(tuple(
        jnp.pad(c, ((0, extra if k else 0), (0, 0), (0, extra if k < d - 1 else 0)))
        for k, c in enumerate(a.cores)
    ))  # fmt: skip


@pytest.mark.parametrize("redundant", ["sum", "zero_padded"])
def test_round_gradient_is_exact_at_repeated_and_zero_singular_values(rng, redundant):
    """d/dA <round(B(A), r), T> where B(A) is A + A or A padded with zero ranks, both exactly
    of rank r: the SVDs inside see repeated and zero singular values, where the plain SVD (and
    QR) derivative is NaN. The reference is the derivative without rounding."""
    a = _tt(rng, (3, 4, 5), (2, 2))
    t = jnp.asarray(rng.standard_normal((3, 4, 5)))
    if redundant == "sum":
        build, scale = (lambda a: a + a), 2.0
    else:
        build, scale = (lambda a: _zero_padded(a, 2)), 1.0
    rounded = lambda a: jnp.sum(lrjax.tt_round(build(a), 2).to_dense() * t)
    exact = lambda a: jnp.sum(scale * a.to_dense() * t)
    g = jax.jit(jax.grad(rounded))(a)
    g_ref = jax.grad(exact)(a)
    for x, y in zip(g.cores, g_ref.cores, strict=True):
        assert np.all(np.isfinite(np.asarray(x)))
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-7, atol=1e-9)


def test_batched_tt_objects_under_vmap(rng):
    """A batch of TT tensors is a TTTensor with a leading axis on every core (t3f's
    TensorTrainBatch); the operations vmap over it and match the one-at-a-time results."""
    items_a = [_tt(rng, (3, 4, 5), (2, 2)) for _ in range(3)]
    items_b = [_tt(rng, (3, 4, 5), (2, 3)) for _ in range(3)]
    stack = lambda items: jax.tree.map(lambda *c: jnp.stack(c), *items)
    ba, bb = stack(items_a), stack(items_b)
    assert ba.shape == (3, 4, 5)  # the shape of one element of the batch
    fn = jax.jit(jax.vmap(lambda a, b: (tt_inner(a, b), lrjax.tt_round(a + b, 2).to_dense())))
    inner, rounded = fn(ba, bb)
    for i in range(3):
        np.testing.assert_allclose(float(inner[i]), float(tt_inner(items_a[i], items_b[i])))
        np.testing.assert_allclose(
            np.asarray(rounded[i]),
            np.asarray(lrjax.tt_round(items_a[i] + items_b[i], 2).to_dense()),
            rtol=1e-9, atol=1e-10,
        )  # fmt: skip


def test_bad_input_is_named(rng):
    a, b = _tt(rng, (3, 4, 5), (2, 2)), _tt(rng, (3, 4, 6), (2, 2))
    m = _ttm(rng, (2, 3), (3, 2), (2,))
    with pytest.raises(ValueError, match="same mode sizes"):
        tt_add(a, b)
    with pytest.raises(TypeError, match="must both be TTTensors or both TTMatrices"):
        tt_add(a, m)
    with pytest.raises(TypeError, match="`a` must be a TTTensor or a TTMatrix"):
        tt_add(np.ones((3, 4, 5)), a)
    with pytest.raises(ValueError, match="scalar"):
        tt_multiply(a, jnp.ones(3))
    with pytest.raises(ValueError, match="column modes"):
        tt_matmul(m, a)
    with pytest.raises(TypeError, match="`a` must be a TTMatrix"):
        tt_matmul(a, a)
    for bad in (0, (2, 0), (2, 2, 2)):
        with pytest.raises(ValueError, match="max_rank"):
            lrjax.tt_round(a, bad)
    with pytest.raises(ValueError, match="eps"):
        lrjax.tt_round(a, 2, eps=-1.0)
    with pytest.raises(TypeError, match="`tt`"):
        lrjax.tt_round(np.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="vmap"):
        lrjax.tt_round(jax.tree.map(lambda c: jnp.stack([c, c]), a), 2)
