"""cp_constrained (AO-ADMM) on TensorLy's constrained_parafac scenario (planted (6, 8, 4)
rank-3 tensor, start = the factors plus 0.1 uniform noise): from the same start, the same
iterates as TensorLy where both project exactly, a lower error where TensorLy's unimodality
operator is a heuristic, and each constraint met."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrjax
from lrjax import prox
from lrjax.tensors import CPTensor

RANK = 3


def _scenario(seed=1234):
    rng = np.random.default_rng(seed)
    facs = [rng.random((n, RANK)) for n in (6, 8, 4)]
    x = np.einsum("ir,jr,kr->ijk", *facs)
    start = [f + 0.1 * rng.random(f.shape) for f in facs]
    return x, start


CASES = {  # TensorLy keyword, our prox, its hyperparams, the check on a factor (I_n, R)
    "nonneg": ({"non_negative": True}, prox.prox_nonneg, None, lambda f: (f >= 0).all()),
    "simplex": (
        {"simplex": [3, 3, 3]},
        prox.projection_simplex,
        3.0,
        lambda f: (f >= -1e-12).all() and np.allclose(f.sum(0), 3.0),
    ),
    "monotone": (
        {"monotonicity": True},
        prox.projection_monotone,
        None,
        lambda f: (np.diff(f, axis=0) >= -1e-12).all(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_same_iterates_as_tensorly_from_the_same_start(name):
    pytest.importorskip("tensorly")
    from tensorly.cp_tensor import CPTensor as TLCP
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import constrained_parafac

    keyword, op, hyper, check = CASES[name]
    x, start = _scenario()
    init = TLCP((np.ones(RANK), [s.copy() for s in start]))
    theirs = constrained_parafac(
        x, RANK, init=init, n_iter_max=30, tol_outer=0, tol_inner=0, **keyword
    )
    ours = lrjax.cp_constrained(
        x, RANK, prox=op, hyperparams=hyper, maxiter=30, tol=0.0,
        init=CPTensor(jnp.ones(RANK), tuple(jnp.asarray(s) for s in start)),
    )  # fmt: skip
    np.testing.assert_allclose(ours.cp.to_dense(), cp_to_tensor(theirs), atol=1e-10)
    assert all(check(np.asarray(f)) for f in ours.cp.factors)
    np.testing.assert_allclose(
        float(ours.info.error),
        np.linalg.norm(ours.cp.to_dense() - x) / np.linalg.norm(x),
        rtol=1e-10,
    )
    if name != "monotone":  # the planted factors meet these constraints: a close fit
        assert float(ours.info.error) < 0.05


def test_unimodal_exact_projection_fits_better_than_tensorlys_heuristic():
    pytest.importorskip("tensorly")
    from tensorly.cp_tensor import CPTensor as TLCP
    from tensorly.cp_tensor import cp_to_tensor
    from tensorly.decomposition import constrained_parafac

    x, start = _scenario()
    init = TLCP((np.ones(RANK), [s.copy() for s in start]))
    theirs = constrained_parafac(
        x, RANK, init=init, n_iter_max=30, tol_outer=0, tol_inner=0, unimodality=True
    )
    ours = lrjax.cp_constrained(
        x, RANK, prox=prox.projection_unimodal, maxiter=30, tol=0.0,
        init=CPTensor(jnp.ones(RANK), tuple(jnp.asarray(s) for s in start)),
    )  # fmt: skip
    theirs_err = np.linalg.norm(cp_to_tensor(theirs) - x) / np.linalg.norm(x)
    assert float(ours.info.error) <= theirs_err
    for f in ours.cp.factors:  # each column rises to one peak, then falls
        for col in np.asarray(f).T:
            steps = np.sign(np.round(np.diff(col), 12))
            steps = steps[steps != 0]
            assert np.sum(np.diff(steps) != 0) <= 1 and (
                steps.size == 0 or steps[-1] <= 0 or (steps > 0).all()
            )


def test_per_mode_operators_l1_sparsity_and_unconstrained_modes():
    x, _ = _scenario(7)
    lam, mu = 0.2, 0.1

    def objective(factors):  # 1/2 ||X - [[A, B, C]]||^2 + λ ||A||_1 + μ/2 (||B||^2 + ||C||^2)
        a, b, c = (np.asarray(f) for f in factors)
        fit = np.einsum("ir,jr,kr->ijk", a, b, c)
        penalty = lam * np.abs(a).sum() + 0.5 * mu * (np.sum(b**2) + np.sum(c**2))
        return 0.5 * np.sum((x - fit) ** 2) + penalty

    # every mode penalised (a scale-free mode would let the others shrink towards zero)
    res = lrjax.cp_constrained(
        x, RANK, prox=(prox.prox_l1, prox.prox_elastic_net, prox.prox_elastic_net),
        hyperparams=(lam, (0.0, mu), (0.0, mu)), maxiter=300,
    )  # fmt: skip
    free = lrjax.cp_als(x, RANK, maxiter=200)
    als = list(free.cp.factors)
    als[-1] = als[-1] * np.asarray(free.cp.weights)
    assert float(free.info.error) <= float(res.info.error) < 0.3
    assert objective(res.cp.factors) < objective(als)  # it minimises the penalised fit
    # at a stationary point the l1 mode meets its KKT conditions: |grad of the fit| <= λ on
    # zero entries, = λ sign(a) on the others
    a, b, c = (np.asarray(f) for f in res.cp.factors)
    grad = -np.einsum("ijk,jr,kr->ir", x - np.einsum("ir,jr,kr->ijk", a, b, c), b, c)
    on = np.abs(a) > 1e-8
    np.testing.assert_allclose(grad[on], -lam * np.sign(a[on]), atol=5e-3)
    assert np.all(np.abs(grad[~on]) <= lam + 5e-3)
    # mode 1 smooth, mode 2 plain least squares: runs and fits
    smooth = lrjax.cp_constrained(
        x, RANK, prox=(None, prox.prox_smooth, None), hyperparams=(None, 0.05, None), maxiter=100
    )
    assert float(smooth.info.error) < 0.1
    # a larger l1 weight gives a sparser first factor
    heavy = lrjax.cp_constrained(
        x, RANK, prox=(prox.prox_l1, None, None), hyperparams=(5.0, None, None), maxiter=200
    )
    light = lrjax.cp_constrained(
        x, RANK, prox=(prox.prox_l1, None, None), hyperparams=(0.01, None, None), maxiter=200
    )
    nz = lambda r: int(np.sum(np.abs(np.asarray(r.cp.factors[0])) > 1e-9))
    assert nz(heavy) < nz(light)
    # prox=None everywhere is ALS: exact least-squares updates, a monotone error, the
    # planted (noiseless) tensor fitted
    plain = lrjax.cp_constrained(x, RANK, prox=None, maxiter=200)
    hist = np.asarray(plain.info.history)[: int(plain.info.n_iter)]
    assert np.all(np.diff(hist) <= 1e-12) and float(plain.info.error) < 5e-3


def test_gradient_with_respect_to_a_hyperparameter_and_errors():
    x, _ = _scenario(3)

    def loss(lam):
        res = lrjax.cp_constrained(
            x, RANK, prox=prox.prox_smooth, hyperparams=lam, maxiter=5, inner=3, tol=0.0
        )
        return jnp.sum(res.cp.to_dense() ** 2)

    g = jax.grad(loss)(0.3)
    fd = (loss(0.3 + 1e-5) - loss(0.3 - 1e-5)) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-4)
    with pytest.raises(ValueError, match="one entry per mode"):
        lrjax.cp_constrained(x, RANK, prox=(prox.prox_nonneg, None), maxiter=2)
    with pytest.raises(ValueError, match="hyperparams"):
        lrjax.cp_constrained(x, RANK, prox=(prox.prox_l1,) * 3, hyperparams=0.1)
    with pytest.raises(ValueError, match=r"prox\[1\]"):
        lrjax.cp_constrained(x, RANK, prox=(None, 3, None))
    with pytest.raises(ValueError, match="init"):
        lrjax.cp_constrained(x, 2, prox=None, init=CPTensor(jnp.ones(3), (jnp.ones((6, 3)),) * 3))
