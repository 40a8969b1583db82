"""INDSCAL, CANDELINC, DEDICOM, PARATUCK2 and block term decompositions: planted recovery
in float64, noisy fits against independent oracles, gradients and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorly as tl
from scipy.optimize import least_squares
from tensorly.decomposition import parafac

import lrjax
from lrjax.tensors import BlockTermTensor, DedicomTensor, Paratuck2Tensor
from lrjax.testing import congruence, relative_error
from tests.conftest import directional_fd


def _min_congruence(true, est):
    return congruence(true, est).max(axis=0).min()


def _grad_check(loss, x, seed=0, rtol=1e-5, symmetric=False):
    v = np.random.default_rng(seed).normal(size=x.shape)
    v = jnp.asarray(v + v.transpose(1, 0, 2) if symmetric else v)
    g = jax.jit(jax.grad(loss))(x)
    np.testing.assert_allclose(float(jnp.sum(g * v)), float(directional_fd(loss, x, v)), rtol=rtol)


# --- INDSCAL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_indscal_recovers_planted(seed):
    rng = np.random.default_rng(seed)
    a, c = rng.normal(size=(8, 3)), rng.normal(size=(5, 3))  # indefinite slices
    x = np.einsum("ir,jr,kr->ijk", a, a, c)
    cp, info = lrjax.indscal(x, 3)
    assert float(info.error) < 1e-10
    assert cp.factors[0] is cp.factors[1] or np.array_equal(cp.factors[0], cp.factors[1])
    assert _min_congruence(a, cp.factors[0]) > 0.999 and _min_congruence(c, cp.factors[2]) > 0.999


def test_indscal_noisy_at_least_as_good_as_symmetrised_tensorly_cp():
    """INDSCAL is CP with A = B: its optimum is no better than unconstrained CP's, and no
    worse than the symmetrised CP solution ((A + B) / 2 and refitted weights)."""
    rng = np.random.default_rng(3)
    a, c = rng.normal(size=(9, 2)), rng.uniform(0.5, 1.5, (6, 2))
    noise = rng.normal(size=(9, 9, 6))
    x = np.einsum("ir,jr,kr->ijk", a, a, c) + 0.1 * (noise + noise.transpose(1, 0, 2))
    _, info = lrjax.indscal(x, 2)
    tl_cp = parafac(tl.tensor(x), 2, init="svd", n_iter_max=2000, tol=1e-12)
    tl_err = np.linalg.norm(x - tl.cp_to_tensor(tl_cp)) / np.linalg.norm(x)
    assert float(info.error) >= tl_err * (1 - 1e-6)  # CP is the relaxation
    assert float(info.error) <= tl_err * 1.05


# --- CANDELINC -------------------------------------------------------------------------------


def _candelinc_problem(noise, seed=0):
    rng = np.random.default_rng(seed)
    phi0, phi2 = rng.normal(size=(10, 4)), rng.normal(size=(7, 3))
    factors = [phi0 @ rng.normal(size=(4, 3)), rng.normal(size=(9, 3)),
               phi2 @ rng.normal(size=(3, 3))]  # fmt: skip
    x = np.einsum("ir,jr,kr->ijk", *factors)
    return x + noise * rng.normal(size=x.shape), phi0, phi2, factors


def test_candelinc_recovers_planted_and_respects_constraints():
    x, phi0, phi2, factors = _candelinc_problem(0.0)
    res = lrjax.candelinc(x, 3, [phi0, None, phi2], maxiter=1000, tol=1e-15)
    assert float(res.info.error) < 1e-6
    for n in range(3):
        assert _min_congruence(factors[n], res.cp.factors[n]) > 0.999
    np.testing.assert_allclose(phi0 @ res.coefficients[0], res.cp.factors[0], atol=1e-12)
    np.testing.assert_allclose(phi2 @ res.coefficients[2], res.cp.factors[2], atol=1e-12)


def test_candelinc_noisy_matches_scipy_least_squares():
    """The constrained optimum, checked by SciPy's trust-region least squares on the
    constrained parameters started next to our solution."""
    x, phi0, phi2, _ = _candelinc_problem(0.3)
    res = lrjax.candelinc(x, 3, [phi0, None, phi2], maxiter=2000, tol=1e-15)
    w = np.asarray(res.cp.weights)

    def residual(t):
        a0 = phi0 @ t[:12].reshape(4, 3)
        a1 = t[12:39].reshape(9, 3)
        a2 = phi2 @ t[39:].reshape(3, 3)
        return (np.einsum("ir,jr,kr->ijk", a0, a1, a2) - x).ravel()

    t0 = np.concatenate([np.asarray(res.coefficients[0]).ravel(),
                         (np.asarray(res.coefficients[1]) * w).ravel(),
                         np.asarray(res.coefficients[2]).ravel()])  # fmt: skip
    t0 = t0 + 0.01 * np.random.default_rng(0).normal(size=t0.shape)
    sol = least_squares(residual, t0, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(
        float(res.info.error), np.linalg.norm(sol.fun) / np.linalg.norm(x), rtol=1e-8
    )


# --- DEDICOM / PARATUCK2 ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dedicom_recovers_planted(seed):
    rng = np.random.default_rng(seed)
    a, r, d = rng.normal(size=(8, 3)), rng.normal(size=(3, 3)), rng.uniform(0.5, 1.5, (6, 3))
    x = DedicomTensor(a, r, d).to_dense()
    res = lrjax.dedicom(x, 3)
    assert float(res.info.error) < 1e-6
    assert _min_congruence(a, res.dedicom.a) > 0.999
    assert _min_congruence(d, res.dedicom.d) > 0.999
    np.testing.assert_allclose(np.linalg.norm(res.dedicom.a, axis=0), 1.0)
    np.testing.assert_allclose(np.sqrt(np.mean(np.asarray(res.dedicom.d) ** 2, 0)), 1.0)


def _paratuck2_planted(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(8, 2)), rng.normal(size=(7, 3))
    da, db = rng.uniform(0.5, 1.5, (6, 2)), rng.uniform(0.5, 1.5, (6, 3))
    return Paratuck2Tensor(a, da, rng.normal(size=(2, 3)), db, b)


def test_paratuck2_recovers_planted():
    planted = _paratuck2_planted(5)
    x = planted.to_dense()
    res = lrjax.paratuck2(x, (2, 3))
    pt = res.paratuck2
    assert float(res.info.error) < 1e-6
    assert _min_congruence(planted.a, pt.a) > 0.999 and _min_congruence(planted.b, pt.b) > 0.999
    # the slice-wise interaction matrices D^A_k R D^B_k, expressed in the planted bases
    np.testing.assert_allclose(
        np.linalg.norm(pt.da, axis=1), np.linalg.norm(pt.db, axis=1), rtol=1e-10
    )


def test_paratuck2_multistart_by_vmap_over_keys():
    """From the SVD start this instance ends in a local minimum; random starts, vmapped,
    contain an exact fit (the documented way to restart)."""
    x = _paratuck2_planted(4).to_dense()
    single = lrjax.paratuck2(x, (2, 3))
    keys = jax.random.split(jax.random.key(0), 8)[:2]
    many = jax.vmap(lambda k: lrjax.paratuck2(x, (2, 3), key=k))(keys)
    assert float(single.info.error) > 1e-3
    assert float(jnp.min(many.info.error)) < 1e-6


def test_paratuck2_grad():
    # the contract file checks the other models' gradients; PARATUCK2's needs a well-posed
    # instance (see GRAD_SKIPPED there)
    rng = np.random.default_rng(5)
    x = _paratuck2_planted(5).to_dense()
    x = jnp.asarray(x + 0.01 * rng.normal(size=x.shape))
    _grad_check(lambda z: jnp.sum(jnp.sin(lrjax.paratuck2(z, (2, 3)).paratuck2.to_dense())), x)


# --- block term decomposition ----------------------------------------------------------------


def _btd_planted(seed, shape, ranks, n_blocks=2):
    rng = np.random.default_rng(seed)
    cores = rng.normal(size=(n_blocks, *ranks))
    factors = [rng.normal(size=(n_blocks, n, r)) for n, r in zip(shape, ranks, strict=True)]
    return BlockTermTensor(cores, factors)


def _block_error(planted, est):
    tb, eb = np.asarray(planted.blocks()), np.asarray(est.blocks())
    return max(
        min(np.linalg.norm(t - e) / np.linalg.norm(t) for e in eb) for t in tb
    )  # every planted block matched by some estimated block


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_block_term_ll1_recovers_planted_blocks(seed):
    """Rank-(L, L, 1) terms are essentially unique (De Lathauwer 2008): the blocks, not
    only the fit, are recovered."""
    planted = _btd_planted(seed, (6, 5, 4), (2, 2, 1))
    res = lrjax.block_term(planted.to_dense(), 2, (2, 2, 1))
    assert float(res.info.error) < 1e-6
    assert _block_error(planted, res.btd) < 1e-6


def test_block_term_general_ranks_with_restarts():
    planted = _btd_planted(1, (6, 8, 5), (2, 3, 2))
    x = planted.to_dense()
    keys = jax.random.split(jax.random.key(0), 6)[:2]
    many = jax.vmap(lambda k: lrjax.block_term(x, 2, (2, 3, 2), key=k, maxiter=100))(keys)
    best = int(jnp.argmin(many.info.error))
    btd = jax.tree.map(lambda leaf: leaf[best], many.btd)
    assert float(many.info.error[best]) < 1e-6
    assert _block_error(planted, btd) < 1e-6


def test_block_term_canonical_form():
    res = lrjax.block_term(_btd_planted(0, (6, 5, 4), (2, 2, 1)).to_dense(), 2, (2, 2, 1))
    btd = res.btd
    for f in btd.factors:
        for p in range(2):
            np.testing.assert_allclose(f[p].T @ f[p], np.eye(f.shape[-1]), atol=1e-10)
    norms = np.linalg.norm(np.asarray(btd.cores).reshape(2, -1), axis=1)
    assert norms[0] >= norms[1]


# --- bad input -------------------------------------------------------------------------------


def test_bad_input():
    x = np.ones((4, 4, 3))
    asym = x.copy()
    asym[0, 1, 0] = 2.0
    with pytest.raises(ValueError, match="symmetric"):
        lrjax.indscal(asym, 2)
    with pytest.raises(ValueError, match="square"):
        lrjax.indscal(np.ones((4, 5, 3)), 2)
    with pytest.raises(ValueError, match="square"):
        lrjax.dedicom(np.ones((4, 5, 3)), 2)
    with pytest.raises(ValueError, match="rank"):
        lrjax.dedicom(x, 5)
    with pytest.raises(ValueError, match=r"ranks\[1\]"):
        lrjax.paratuck2(np.ones((4, 5, 3)), (2, 6))
    with pytest.raises(ValueError, match="pair"):
        lrjax.paratuck2(x, 2)
    with pytest.raises(ValueError, match="one entry per mode"):
        lrjax.candelinc(x, 2, [None, None])
    with pytest.raises(ValueError, match=r"constraints\[0\]"):
        lrjax.candelinc(x, 2, [np.ones((5, 2)), None, None])
    with pytest.raises(ValueError, match="one rank per mode"):
        lrjax.block_term(x, 2, (2, 2))
    with pytest.raises(ValueError, match=r"ranks\[0\]"):
        lrjax.block_term(x, 2, (5, 1, 1))
    with pytest.raises(ValueError, match="key"):
        lrjax.block_term(x, 3, (2, 2, 1))
    with pytest.raises(ValueError, match="finite"):
        lrjax.indscal(np.full((3, 3, 2), np.nan), 1)


def test_results_relative_error_is_reported():
    """``info.error`` is the relative error of the returned tensor, for every model."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 5, 4))
    xs = x + x.transpose(1, 0, 2)
    for res, tensor, data in [
        (lrjax.indscal(xs, 2, maxiter=30), lambda r: r.cp, xs),
        (lrjax.dedicom(x, 2, maxiter=30), lambda r: r.dedicom, x),
        (lrjax.paratuck2(x, (2, 2), maxiter=30), lambda r: r.paratuck2, x),
        (lrjax.block_term(x, 2, (2, 2, 1), maxiter=30), lambda r: r.btd, x),
        (
            lrjax.candelinc(x, 2, [None, rng.normal(size=(5, 3)), None], maxiter=30),
            lambda r: r.cp,
            x,
        ),
    ]:
        expected = relative_error(data, tensor(res).to_dense())
        np.testing.assert_allclose(float(res.info.error), float(expected), rtol=1e-10)
