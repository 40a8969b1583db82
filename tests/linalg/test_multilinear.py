import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from tensorly.tenalg import khatri_rao as tl_khatri_rao
from tensorly.tenalg import mode_dot as tl_mode_dot

from lrjax import linalg


@pytest.mark.parametrize("mode", [0, 1, 2, -1])
def test_unfold_fold_match_tensorly(rng, mode):
    x = rng.standard_normal((3, 4, 5))
    u = linalg.unfold(jnp.asarray(x), mode)
    np.testing.assert_array_equal(np.asarray(u), tl.unfold(x, mode % 3))
    np.testing.assert_array_equal(np.asarray(linalg.fold(u, mode, x.shape)), x)


def test_unfold_rejects_bad_mode():
    with pytest.raises(ValueError, match="`mode`"):
        linalg.unfold(jnp.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="`unfolded`"):
        linalg.fold(jnp.ones((2, 3)), 0, (3, 2))


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_mode_dot_matches_tensorly(rng, mode):
    x = rng.standard_normal((3, 4, 5))
    m = rng.standard_normal((6, x.shape[mode]))
    v = rng.standard_normal(x.shape[mode])
    np.testing.assert_allclose(
        np.asarray(linalg.mode_dot(jnp.asarray(x), jnp.asarray(m), mode)),
        tl_mode_dot(x, m, mode),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        np.asarray(linalg.mode_dot(jnp.asarray(x), jnp.asarray(v), mode)),
        tl_mode_dot(x, v, mode),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="matrix_or_vector"):
        linalg.mode_dot(jnp.asarray(x), jnp.ones((2, 7)), mode)


def test_multi_mode_dot(rng):
    x = rng.standard_normal((3, 4, 5))
    ms = [rng.standard_normal((2, n)) for n in x.shape]
    expected = np.einsum("ijk,ai,bj,ck->abc", x, *ms)
    out = linalg.multi_mode_dot(jnp.asarray(x), [jnp.asarray(m) for m in ms])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12)
    out_t = linalg.multi_mode_dot(jnp.asarray(x), [jnp.asarray(m.T) for m in ms], transpose=True)
    np.testing.assert_allclose(np.asarray(out_t), expected, rtol=1e-12)
    skipped = linalg.multi_mode_dot(jnp.asarray(x), [jnp.asarray(m) for m in ms], skip=1)
    np.testing.assert_allclose(
        np.asarray(skipped), np.einsum("ijk,ai,ck->ajc", x, ms[0], ms[2]), rtol=1e-12
    )


def test_khatri_rao_and_kronecker(rng):
    ms = [rng.standard_normal((n, 3)) for n in (2, 3, 4)]
    np.testing.assert_allclose(
        np.asarray(linalg.khatri_rao([jnp.asarray(m) for m in ms])), tl_khatri_rao(ms), rtol=1e-12
    )
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 5))
    np.testing.assert_allclose(
        np.asarray(linalg.kronecker([jnp.asarray(a), jnp.asarray(b)])), np.kron(a, b), rtol=1e-12
    )
    with pytest.raises(ValueError, match=r"matrices\[1\]"):
        linalg.khatri_rao([jnp.ones((2, 3)), jnp.ones((2, 4))])


def test_tensorly_options_of_the_products(rng):
    """TensorLy's keyword arguments give TensorLy's results."""
    from tensorly.tenalg import kronecker as tl_kronecker

    ms = [rng.standard_normal((n, 3)) for n in (2, 4, 5)]
    w, mask = rng.standard_normal(3), rng.random(2 * 4 * 5) < 0.5
    for kw in (
        {"weights": w},
        {"skip_matrix": 1},
        {"mask": mask},
        {"skip_matrix": 0, "weights": w},
    ):
        np.testing.assert_allclose(
            np.asarray(linalg.khatri_rao(ms, **kw)), tl_khatri_rao(ms, **kw), rtol=1e-12
        )
    np.testing.assert_allclose(  # reverse: the last matrix varies slowest
        np.asarray(linalg.khatri_rao(ms, reverse=True)), tl_khatri_rao(ms[::-1]), rtol=1e-12
    )
    ks = [rng.standard_normal(s) for s in ((2, 3), (3, 2), (2, 2))]
    for kw in ({"skip_matrix": 1}, {"reverse": True}, {"skip_matrix": 2, "reverse": True}):
        np.testing.assert_allclose(
            np.asarray(linalg.kronecker(ks, **kw)), tl_kronecker(ks, **kw), rtol=1e-12
        )
    with pytest.raises(ValueError, match="skip_matrix"):
        linalg.khatri_rao(ms, skip_matrix=3)
    with pytest.raises(ValueError, match="weights"):
        linalg.khatri_rao(ms, weights=np.ones(2))
    with pytest.raises(ValueError, match="mask"):
        linalg.khatri_rao(ms, mask=np.ones(7))
    with pytest.raises(ValueError, match="at least one"):
        linalg.kronecker(ks[:1], skip_matrix=0)


@pytest.mark.parametrize("shape", [(4, 5, 6), (3, 4, 5, 2)])
def test_mttkrp_matches_unfolding_times_khatri_rao(rng, shape):
    x = rng.standard_normal(shape)
    fs = [rng.standard_normal((n, 3)) for n in shape]
    for mode in range(len(shape)):
        others = [fs[m] for m in range(len(shape)) if m != mode]
        expected = tl.unfold(x, mode) @ tl_khatri_rao(others)
        got = linalg.mttkrp(jnp.asarray(x), [jnp.asarray(f) for f in fs], mode)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("modes", [[2, 3], [0, 1], [1, 2], [0], [3]])
def test_partial_mttkrp_blocks(rng, modes):
    shape = (3, 4, 5, 2)
    x = rng.standard_normal(shape)
    fs = [rng.standard_normal((n, 3)) for n in shape]
    idx = "abcd"
    spec = idx + "," + ",".join(idx[m] + "r" for m in modes) + "->"
    spec += "".join(idx[m] for m in range(4) if m not in modes) + "r"
    expected = np.einsum(spec, x, *[fs[m] for m in modes])
    got = linalg.partial_mttkrp(jnp.asarray(x), [jnp.asarray(f) for f in fs], modes)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("modes", [[2, 3], [0, 1], [1, 3]])
def test_rank_first_partial_and_factor_gemm_under_jit_vmap_grad(rng, modes):
    """The CP sweep's layout (rank first, factor transposes behind an optimization barrier)
    against NumPy, also batched and differentiated (the barrier must not block either)."""
    from lrjax.linalg._mttkrp import rank_first_partial

    shape = (3, 4, 5, 2)
    xs = rng.standard_normal((2, *shape))
    fs = [rng.standard_normal((n, 3)) for n in shape]
    idx = "abcd"
    spec = idx + "," + ",".join(idx[m] + "r" for m in modes) + "->r"
    spec += "".join(idx[m] for m in range(4) if m not in modes)
    fj = [jnp.asarray(f) for f in fs]
    got = jax.jit(jax.vmap(lambda x: rank_first_partial(x, fj, modes)))(jnp.asarray(xs))
    for b in range(2):
        expected = np.einsum(spec, xs[b], *[fs[m] for m in modes])
        np.testing.assert_allclose(np.asarray(got[b]), expected, rtol=1e-11, atol=1e-11)
    # d/dx of sum(out * w) is w contracted back with the factors: checked against NumPy.
    w = rng.standard_normal(got.shape[1:])
    grad = jax.grad(lambda x: jnp.sum(rank_first_partial(x, fj, modes) * w))(jnp.asarray(xs[0]))
    back = "r" + "".join(idx[m] for m in range(4) if m not in modes)
    back += "," + ",".join(idx[m] + "r" for m in modes) + "->" + idx
    np.testing.assert_allclose(
        np.asarray(grad), np.einsum(back, w, *[fs[m] for m in modes]), rtol=1e-11, atol=1e-11
    )


def test_mttkrp_errors():
    with pytest.raises(ValueError, match=r"factors\[1\]"):
        linalg.mttkrp(
            jnp.ones((2, 3, 4)), [jnp.ones((2, 2)), jnp.ones((4, 2)), jnp.ones((4, 2))], 0
        )
    with pytest.raises(ValueError, match="one matrix per mode"):
        linalg.mttkrp(jnp.ones((2, 3, 4)), [jnp.ones((2, 2))], 0)
