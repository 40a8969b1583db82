"""The shard_map algorithms of lrjax.distributed on 8 CPU devices: results against the
single-device routines and NumPy, jit/vmap/grad, the bytes each moves (read from the compiled
program) against its docstring's formula, no gather of the whole input, and bad layouts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import lrjax
import lrjax.distributed as ld

KEY = jax.random.key(0)
MESH = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Explicit,))
AUTO = jax.make_mesh((8,), ("x",), axis_types=(AxisType.Auto,))


ROWS = P("x")


def _put(a, spec=ROWS, mesh=MESH):
    return jax.device_put(a, NamedSharding(mesh, spec))


def _tall(key=KEY, m=96, n=10, rank=3):
    k1, k2, k3 = jax.random.split(key, 3)
    return jax.random.normal(k1, (m, rank)) @ jax.random.normal(k2, (rank, n)) + 0.01 * (
        jax.random.normal(k3, (m, n))
    )


def _cp_tensor(key=KEY, shape=(16, 12, 10)):
    return lrjax.testing.random_cp(key, shape, 3).to_dense()


def _np(a):
    return np.asarray(a)


@pytest.mark.parametrize("mesh", [MESH, AUTO], ids=["explicit", "auto"])
def test_cp_als_recovers_a_planted_tensor_like_the_single_device_routine(mesh):
    x = _cp_tensor()
    res = ld.cp_als(_put(x, mesh=mesh), 3, tol=1e-12, maxiter=200)
    ref = lrjax.cp_als(x, 3, tol=1e-12, maxiter=200)
    assert float(res.info.error) < 1e-7 and bool(res.info.converged)
    np.testing.assert_allclose(_np(res.cp.to_dense()), _np(ref.cp.to_dense()), atol=1e-7)
    assert res.cp.factors[0].sharding.spec[0] == "x"


def test_cp_als_on_two_split_modes_and_under_jit_vmap_grad():
    mesh = jax.make_mesh((2, 4), ("a", "b"), axis_types=(AxisType.Explicit,) * 2)
    x = _cp_tensor(shape=(8, 12, 10))
    res = ld.cp_als(_put(x, P("a", "b"), mesh), 3, tol=1e-12, maxiter=300)
    assert float(res.info.error) < 1e-7
    assert res.cp.factors[1].sharding.spec[0] == "b"
    # jit of vmap over a batch whose second axis is split
    xs = jnp.stack([x, 2 * x])
    batched = jax.jit(jax.vmap(lambda t: ld.cp_als(t, 3, maxiter=20, tol=0.0)))(
        _put(xs, P(None, "a", "b"), mesh)
    )
    one = ld.cp_als(_put(2 * x, P("a", "b"), mesh), 3, maxiter=20, tol=0.0)
    np.testing.assert_allclose(_np(batched.cp.weights[1]), _np(one.cp.weights), rtol=1e-10)
    # gradient through the sharded solve equals the single-device one (implicit)
    loss = lambda f, t: jnp.sum(jnp.sin(f(t, 3, maxiter=50, tol=0.0).cp.to_dense()))
    g = jax.jit(jax.grad(lambda t: loss(ld.cp_als, t)))(_put(x, P("a", "b"), mesh))
    g_ref = jax.grad(lambda t: loss(lrjax.cp_als, t))(x)
    np.testing.assert_allclose(_np(g), _np(g_ref), atol=1e-7)


def test_cp_gradient_matches_autodiff_of_the_objective():
    x = _cp_tensor() + 0.1
    factors = tuple(
        jax.random.normal(k, (n, 3)) for k, n in zip(jax.random.split(KEY, 3), x.shape, strict=True)
    )
    got = ld.cp_gradient(_put(x), factors)
    want = jax.grad(lambda f: 0.5 * jnp.sum((lrjax.CPTensor(jnp.ones(3), f).to_dense() - x) ** 2))(
        factors
    )
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-12)


def _st_hosvd_split_last(x, ranks, split):
    """NumPy ST-HOSVD processing the split mode last (the distributed order)."""
    order = [n for n in range(x.ndim) if n != split] + [split]
    core, factors = x, [None] * x.ndim
    for n in order:
        u = np.linalg.svd(np.moveaxis(core, n, 0).reshape(core.shape[n], -1))[0][:, : ranks[n]]
        factors[n] = u
        core = np.moveaxis(np.tensordot(u.T, np.moveaxis(core, n, 0), axes=1), 0, n)
    return core, factors


def test_hosvd_and_hooi_sharded_along_one_mode():
    key1, key2 = jax.random.split(KEY)
    x = lrjax.testing.random_tucker(key1, (16, 12, 10), (3, 3, 2)).to_dense()
    x = x + 1e-3 * jax.random.normal(key2, x.shape)
    t = ld.hosvd(_put(x), (3, 3, 2))
    core, factors = _st_hosvd_split_last(np.asarray(x), (3, 3, 2), 0)
    ref = core
    for n, u in enumerate(factors):
        ref = np.moveaxis(np.tensordot(u, np.moveaxis(ref, n, 0), axes=1), 0, n)
    np.testing.assert_allclose(_np(t.to_dense()), ref, atol=1e-10)
    res = ld.tucker_hooi(_put(x), (3, 3, 2), tol=1e-14)
    single = lrjax.tucker_hooi(x, (3, 3, 2), tol=1e-14)
    np.testing.assert_allclose(_np(res.tucker.to_dense()), _np(single.tucker.to_dense()), atol=1e-9)
    np.testing.assert_allclose(float(res.info.error), float(single.info.error), rtol=1e-9)
    assert res.tucker.factors[0].sharding.spec[0] == "x"


def test_tsqr_truncated_and_randomized_svd_of_a_row_sharded_matrix():
    a = _tall()
    q, r = ld.tsqr(_put(a))
    np.testing.assert_allclose(_np(q) @ _np(r), _np(a), atol=1e-13)
    np.testing.assert_allclose(_np(q).T @ _np(q), np.eye(10), atol=1e-13)
    assert np.all(np.diag(_np(r)) >= 0)
    for got, want in zip(ld.truncated_svd(_put(a), 3), lrjax.truncated_svd(a, 3), strict=True):
        np.testing.assert_allclose(_np(got), _np(want), atol=1e-12)
    got = ld.randomized_svd(_put(a), 3, key=KEY, n_iter=2)
    want = lrjax.randomized_svd(a, 3, key=KEY, n_iter=2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(_np(g), _np(w), atol=1e-10)


def test_prox_nuclear_rows_values_gradient_and_vmap():
    a = _tall()
    np.testing.assert_allclose(
        _np(ld.prox_nuclear_rows(_put(a), 0.5)), _np(lrjax.prox.prox_nuclear(a, 0.5)), atol=1e-12
    )
    g = jax.jit(jax.grad(lambda t: jnp.sum(jnp.sin(ld.prox_nuclear_rows(t, 0.5)))))(_put(a))
    g_ref = jax.grad(lambda t: jnp.sum(jnp.sin(lrjax.prox.prox_nuclear(t, 0.5))))(a)
    np.testing.assert_allclose(_np(g), _np(g_ref), atol=1e-11)
    batch = jnp.stack([a, -a, 2 * a])
    out = jax.jit(jax.vmap(lambda t: ld.prox_nuclear_rows(t, 0.5)))(_put(batch, P(None, "x")))
    np.testing.assert_allclose(_np(out[2]), _np(lrjax.prox.prox_nuclear(2 * a, 0.5)), atol=1e-12)


def test_merged_frequent_directions_keeps_the_fd_bound():
    a = jax.random.normal(KEY, (256, 12)) * jnp.linspace(3.0, 0.1, 12)
    ell = 6
    b = _np(ld.frequent_directions(_put(a), ell))
    an = _np(a)
    gap = an.T @ an - b.T @ b
    assert np.linalg.eigvalsh(gap).min() > -1e-9  # B^T B <= A^T A
    s = np.linalg.svd(an, compute_uv=False)
    for k in range(ell):
        assert np.linalg.norm(gap, 2) <= np.sum(s[k:] ** 2) / (ell - k) + 1e-9, k
    # merging two sketches is itself an FD sketch of the union
    b1 = lrjax.frequent_directions(a[:128], ell)
    b2 = lrjax.frequent_directions(a[128:], ell)
    merged = _np(ld.fd_merge_rows(jnp.concatenate([b1, b2]), ell))
    gap = an.T @ an - merged.T @ merged
    assert np.linalg.norm(gap, 2) <= np.sum(s[2:] ** 2) / (ell - 2) + 1e-9


def test_robust_pca_and_completion_with_row_sharded_matrices():
    a = _tall()
    m = a + 3.0 * (jax.random.uniform(KEY, a.shape) < 0.05)
    res = ld.robust_pca(_put(m), maxiter=60, tol=0.0)
    ref = lrjax.robust_pca(m, maxiter=60, tol=0.0)
    np.testing.assert_allclose(_np(res.low_rank), _np(ref.low_rank), atol=1e-10)
    assert res.low_rank.sharding.spec[0] == "x"
    # missing entries (NaN there): the same as on one device, still sharded
    seen = jax.random.uniform(jax.random.key(6), a.shape) < 0.9
    gaps = jnp.where(seen, m, jnp.nan)
    res = ld.robust_pca(_put(gaps), mask=_put(seen), maxiter=60, tol=0.0)
    ref = lrjax.robust_pca(gaps, mask=seen, maxiter=60, tol=0.0)
    np.testing.assert_allclose(_np(res.low_rank), _np(ref.low_rank), atol=1e-10)
    assert res.low_rank.sharding.spec[0] == "x"
    mask = jax.random.uniform(jax.random.key(5), a.shape) < 0.8
    for method in (lrjax.CompletionSVT(tau=20.0), lrjax.SoftImpute(lam=0.2)):
        got = ld.complete_matrix(_put(a), _put(mask), method=method, maxiter=60, tol=0.0)
        want = lrjax.complete_matrix(a, mask, method=method, maxiter=60, tol=0.0)
        np.testing.assert_allclose(_np(got.matrix), _np(want.matrix), atol=1e-10)


def _programs():
    x = _cp_tensor(shape=(64, 12, 10))
    a = _tall(m=2048, n=12)
    mask = jax.random.uniform(KEY, a.shape) < 0.8
    return {
        "cp_als": (lambda t: ld.cp_als(t, 3, maxiter=5), x),
        "cp_gradient": (lambda t: ld.cp_gradient(t, tuple(jnp.ones((n, 3)) for n in t.shape)), x),
        "hosvd": (lambda t: ld.hosvd(t, (3, 3, 2)), x),
        "tucker_hooi": (lambda t: ld.tucker_hooi(t, (3, 3, 2), maxiter=5), x),
        "tsqr": (ld.tsqr, a),
        "truncated_svd": (lambda t: ld.truncated_svd(t, 3), a),
        "randomized_svd": (lambda t: ld.randomized_svd(t, 3, key=KEY), a),
        "frequent_directions": (lambda t: ld.frequent_directions(t, 4), a),
        "robust_pca": (lambda t: ld.robust_pca(t, maxiter=5), a),
        "complete_matrix": (
            lambda t: ld.complete_matrix(
                t, _put(mask), method=lrjax.CompletionSVT(tau=5.0), maxiter=5
            ),
            a,
        ),
    }


@pytest.mark.parametrize("name", list(_programs()))
def test_no_collective_moves_the_whole_input(name):
    """The compiled program's largest collective (an all-gather of the data would be the
    size of the input) stays far below the input's size."""
    fn, data = _programs()[name]
    summary = ld.communication(fn, _put(data))
    assert not any(
        c.kind == "all-gather" and c.bytes >= data.nbytes // 8 for c in summary["collectives"]
    ), summary
    assert summary["largest"] < data.nbytes // 4, (summary["largest"], data.nbytes)


def test_bytes_per_iteration_match_the_formulas():
    x = _cp_tensor(shape=(64, 12, 10))
    xs = _put(x)
    summary = ld.communication(lambda t: ld.cp_als(t, 3, maxiter=5), xs)
    # mode 0 split: b (R Σ_{n≥1} I_n + R² + R + 2), the docstring's closed form
    assert summary["per_iteration"] == ld.sweep_bytes("cp_als", xs, 3) == 8 * (3 * 22 + 9 + 3 + 2)
    summary = ld.communication(lambda t: ld.tucker_hooi(t, (3, 3, 2), maxiter=5), xs)
    assert summary["per_iteration"] == ld.sweep_bytes("tucker_hooi", xs, (3, 3, 2))
    plan = jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=xs.sharding)  # planned, not run
    assert ld.sweep_bytes("cp_als", plan, 3) == ld.sweep_bytes("cp_als", xs, 3)
    with pytest.raises(ValueError, match="routine"):
        ld.sweep_bytes("cp_opt", xs, 3)
    with pytest.raises(ValueError, match="must be sharded"):
        ld.sweep_bytes("cp_als", np.asarray(x), 3)
    a = _put(_tall(m=2048, n=12))  # l = min(3 + 10, 12) = 12: b (n l + 2 l²) per power step
    summary = ld.communication(lambda t: ld.randomized_svd(t, 3, key=KEY), a)
    assert summary["per_iteration"] == 8 * (12 * 12 + 2 * 12 * 12)
    y = _put(_tall(m=64, n=8).T, P(None, "x"))  # ring: U (8 x 2) to each of two neighbours
    summary = ld.communication(
        lambda t: ld.dgd_local(t, 2, key=KEY, step=1e-3, maxiter=10, record_every=10), y
    )
    assert summary["per_iteration"] == 2 * 8 * 8 * 2
    # the compiler's own partitioning of the single-device routine moves the whole tensor once
    auto = ld.communication(lambda t: lrjax.cp_als(t, 3, maxiter=5), xs)
    assert auto["largest"] >= x.nbytes


def test_bad_layouts_are_named():
    x = _cp_tensor()
    with pytest.raises(ValueError, match="`x` must be sharded over a mesh"):
        ld.cp_als(x, 3)
    with pytest.raises(ValueError, match=r"do not divide dimension 1 of `x` \(size 12\)"):
        ld.cp_als(x, 3, mesh=MESH, spec=P(None, "x"))
    with pytest.raises(ValueError, match="lacks"):
        ld.cp_als(x, 3, mesh=MESH, spec=P("y"))
    mesh2 = jax.make_mesh((2, 4), ("a", "b"), axis_types=(AxisType.Explicit,) * 2)
    with pytest.raises(ValueError, match="splits at most 1"):
        ld.tucker_hooi(_put(_cp_tensor(shape=(8, 12, 10)), P("a", "b"), mesh2), 2)
    a = _tall()
    with pytest.raises(ValueError, match="splits only dimension"):
        ld.tsqr(_put(jnp.ones((16, 96)), P(None, "x")))
    with pytest.raises(ValueError, match="fewer than its 10 columns"):
        ld.tsqr(_put(a[:64]))
    with pytest.raises(ValueError, match="`key`"):
        ld.randomized_svd(_put(a), 3, key=0)


def _probes():
    """One bad call per public routine of lrjax.distributed, with the argument its error must
    name (the layouts themselves: test_bad_layouts_are_named)."""
    t, a = _put(_cp_tensor()), _put(_tall())
    ones = tuple(jnp.ones((n, 3)) for n in (16, 12, 10))
    return {
        "communication": (lambda: ld.communication(3, a), "fn"),
        "complete_matrix": (lambda: ld.complete_matrix(a, jnp.ones((4, 4))), "mask"),
        "cp_als": (lambda: ld.cp_als(t, 0), "rank"),
        "cp_gradient": (lambda: ld.cp_gradient(t, ones[:2]), "factors"),
        "dgd": (lambda: ld.dgd(lambda x, d: x, jnp.zeros((8, 2)), jnp.zeros((8, 2)), step=0.0,
                               maxiter=10, mesh=MESH, axes="x", record_every=5), "step"),
        "dgd_local": (lambda: ld.dgd_local(_put(_tall().T, P(None, "x")), 0, key=KEY, step=0.1,
                                           maxiter=10, record_every=5), "rank"),
        "fd_merge_rows": (lambda: ld.fd_merge_rows(jnp.ones((16, 4)), 0), "sketch_size"),
        "frequent_directions": (lambda: ld.frequent_directions(a, 0), "sketch_size"),
        "hosvd": (lambda: ld.hosvd(t, (3, 3)), "ranks"),
        "prox_nuclear_rows": (lambda: ld.prox_nuclear_rows(a, -1.0), "reg"),
        "randomized_svd": (lambda: ld.randomized_svd(a, 0, key=KEY), "rank"),
        "recover_sketched": (lambda: ld.recover_sketched(jnp.ones((4, 2, 3)), jnp.ones((4, 2)),
                                                         lam=-1.0), "lam"),
        "robust_pca": (lambda: ld.robust_pca(a, maxiter=0), "maxiter"),
        "sketch_columns": (lambda: ld.sketch_columns(jnp.ones((4, 5)), 2, key=0), "key"),
        "sweep_bytes": (lambda: ld.sweep_bytes("cp_als", t, 0), "rank"),
        "truncated_svd": (lambda: ld.truncated_svd(a, 0), "rank"),
        "tsqr": (lambda: ld.tsqr(_put(jnp.ones((96,)))), "a"),
        "tucker_hooi": (lambda: ld.tucker_hooi(t, (3, 3, 2), maxiter=0), "maxiter"),
    }  # fmt: skip


RECORDS = {"Collective", "ConsensusResult", "DGDResult"}


def test_every_distributed_routine_names_its_bad_argument():
    probes = _probes()
    public = {n for n in ld.__all__ if n not in RECORDS}
    assert public == set(probes), sorted(public ^ set(probes))
    wrong = {}
    for name, (call, argument) in probes.items():
        try:
            jax.block_until_ready(call())
            wrong[name] = "no error"
        except ValueError as err:
            if f"`{argument}`" not in str(err):
                wrong[name] = str(err)[:200]
        except Exception as err:
            wrong[name] = f"{type(err).__name__}: {str(err)[:200]}"
    assert not wrong, wrong
