"""Each prox against a brute-force minimisation of its own objective."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from lrjax import prox

GRID = np.linspace(-8, 8, 320001)  # step 5e-5


def _scalar_penalties():
    lam = 0.7
    return [
        ("l1", prox.prox_l1, lam, lambda z: lam * np.abs(z)),
        ("elastic_net", prox.prox_elastic_net, (lam, 0.5), lambda z: lam * np.abs(z) + 0.25 * z**2),
        ("log_sum", prox.prox_log_sum, (lam, 0.3), lambda z: lam * np.log1p(np.abs(z) / 0.3)),
        (
            "mcp",
            prox.prox_mcp,
            (lam, 3.0),
            lambda z: np.where(
                np.abs(z) <= 3.0 * lam, lam * np.abs(z) - z**2 / 6.0, 3.0 * lam**2 / 2
            ),
        ),
        (
            "scad",
            prox.prox_scad,
            (lam, 3.7),
            lambda z: np.where(
                np.abs(z) <= lam,
                lam * np.abs(z),
                np.where(
                    np.abs(z) <= 3.7 * lam,
                    (2 * 3.7 * lam * np.abs(z) - z**2 - lam**2) / (2 * 2.7),
                    lam**2 * 4.7 / 2,
                ),
            ),
        ),
        ("capped_l1", prox.prox_capped_l1, (lam, 1.1), lambda z: lam * np.minimum(np.abs(z), 1.1)),
        ("schatten_half", prox.prox_schatten_p, (lam, 0.5), lambda z: lam * np.abs(z) ** 0.5),
        ("schatten_0.3", prox.prox_schatten_p, (lam, 0.3), lambda z: lam * np.abs(z) ** 0.3),
        ("nonneg", prox.prox_nonneg, None, lambda z: np.where(z >= 0, 0.0, np.inf)),
        (
            "box",
            prox.projection_box,
            (-0.5, 1.5),
            lambda z: np.where((z >= -0.5) & (z <= 1.5), 0.0, np.inf),
        ),
    ]


# 5.0: a step beyond MCP's gamma and SCAD's a - 1, where their closed forms do not hold (the
# objective is not convex there) and the candidates of every piece are compared instead
@pytest.mark.parametrize("scaling", [1.0, 0.6, 5.0])
@pytest.mark.parametrize(
    ("name", "fn", "hyper", "g"), _scalar_penalties(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_scalar_prox_matches_grid_search(name, fn, hyper, g, scaling):
    xs = np.linspace(-5, 5, 41) + 0.013
    z = np.asarray(fn(jnp.asarray(xs), hyper, scaling))
    for x, zi in zip(xs, z, strict=True):
        obj = 0.5 * (GRID - x) ** 2 + scaling * g(GRID)
        best = obj.min()
        mine = 0.5 * (zi - x) ** 2 + scaling * g(np.array(zi))
        assert mine <= best + 1e-7, (name, x, zi, GRID[obj.argmin()])


def _local_min_check(objective, z_star, rng, feasible=None, scales=(1e-1, 1e-3, 1e-6)):
    base = objective(z_star)
    for scale in scales:
        for _ in range(200):
            cand = z_star + scale * rng.standard_normal(z_star.shape)
            if feasible is not None:
                cand = feasible(cand)
            assert objective(cand) >= base - 1e-12


def test_block_norm_proxes(rng):
    x = rng.standard_normal((4, 3))
    for reg in (0.3, 10.0):
        z = np.asarray(prox.prox_l2(jnp.asarray(x), reg))
        _local_min_check(
            lambda v, reg=reg: 0.5 * np.sum((v - x) ** 2) + reg * np.linalg.norm(v), z, rng
        )
        for axis in (0, -1):
            z = np.asarray(prox.prox_group_l21(jnp.asarray(x), reg / 10, axis=axis))
            obj = lambda v, axis=axis, reg=reg: (
                0.5 * np.sum((v - x) ** 2) + reg / 10 * np.sum(np.linalg.norm(v, axis=axis))
            )
            _local_min_check(obj, z, rng)


def test_projections_match_constrained_minimisation(rng):
    for _ in range(5):
        x = 2 * rng.standard_normal(6)
        z = np.asarray(prox.projection_simplex(jnp.asarray(x), 1.5))
        ref = minimize(
            lambda v, x=x: 0.5 * np.sum((v - x) ** 2),
            np.full(6, 0.25),
            jac=lambda v, x=x: v - x,
            bounds=[(0, None)] * 6,
            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1.5}],
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        ).x
        np.testing.assert_allclose(z, ref, atol=1e-6)
        z = np.asarray(prox.projection_l2_ball(jnp.asarray(x), 1.0))
        np.testing.assert_allclose(z, x / max(1.0, np.linalg.norm(x)), rtol=1e-12)
    batch = rng.standard_normal((3, 5))
    zb = np.asarray(prox.projection_simplex(jnp.asarray(batch)))
    np.testing.assert_allclose(zb.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(zb >= 0)


def _nuclear(v):
    return np.linalg.svd(v, compute_uv=False).sum()


@pytest.mark.parametrize("reg", [0.2, 1.0, 50.0])
def test_prox_nuclear_is_the_minimiser(rng, reg):
    x = rng.standard_normal((5, 4))
    z = np.asarray(prox.prox_nuclear(jnp.asarray(x), reg))
    _local_min_check(lambda v: 0.5 * np.sum((v - x) ** 2) + reg * _nuclear(v), z, rng)
    same = np.asarray(prox.generalized_svt(jnp.asarray(x), reg))
    np.testing.assert_allclose(same, z, atol=1e-12)


def test_weighted_nuclear_and_nonconvex_svt_are_local_minimisers(rng):
    x = rng.standard_normal((5, 4))
    w = np.array([0.1, 0.4, 0.8, 1.5])
    z = np.asarray(prox.prox_weighted_nuclear(jnp.asarray(x), jnp.asarray(w)))
    obj = lambda v: 0.5 * np.sum((v - x) ** 2) + np.sum(w * np.linalg.svd(v, compute_uv=False))
    _local_min_check(obj, z, rng)
    for fn, hyper, g in [
        (prox.prox_log_sum, (0.5, 0.2), lambda s: 0.5 * np.log1p(s / 0.2)),
        (prox.prox_mcp, (0.8, 3.0), lambda s: np.where(s <= 2.4, 0.8 * s - s**2 / 6, 0.96)),
        (prox.prox_capped_l1, (0.8, 0.7), lambda s: 0.8 * np.minimum(s, 0.7)),
        (prox.prox_schatten_p, (0.5, 0.5), lambda s: 0.5 * np.sqrt(s)),
    ]:
        z = np.asarray(prox.generalized_svt(jnp.asarray(x), hyper, prox_fn=fn))
        obj = lambda v, g=g: (
            0.5 * np.sum((v - x) ** 2) + np.sum(g(np.linalg.svd(v, compute_uv=False)))
        )
        _local_min_check(obj, z, rng, scales=(1e-1, 1e-3))


def test_projection_rank_and_randomized_svt(rng):
    x = rng.standard_normal((30, 5)) @ rng.standard_normal((5, 20)) + 0.01 * rng.standard_normal(
        (30, 20)
    )
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(
        np.asarray(prox.projection_rank(jnp.asarray(x), 3)), (u[:, :3] * s[:3]) @ vt[:3], atol=1e-10
    )
    with pytest.raises(ValueError, match="`rank` must be a non-negative Python int"):
        prox.projection_rank(jnp.asarray(x), 2.5)
    exact = np.asarray(prox.prox_nuclear(jnp.asarray(x), 0.5))
    fast = prox.prox_nuclear_randomized(
        jnp.asarray(x), 0.5, rank=6, key=jax.random.key(0), n_iter=3
    )
    np.testing.assert_allclose(np.asarray(fast), exact, atol=1e-8)


def _tnn(v):
    vf = np.fft.fft(v, axis=2)
    return (
        sum(np.linalg.svd(vf[:, :, k], compute_uv=False).sum() for k in range(v.shape[2]))
        / v.shape[2]
    )


def test_tensor_nuclear_prox_is_the_minimiser(rng):
    x = rng.standard_normal((4, 3, 5))
    reg = 0.6
    z = np.asarray(prox.prox_tensor_nuclear(jnp.asarray(x), reg))
    assert z.dtype == x.dtype
    _local_min_check(lambda v: 0.5 * np.sum((v - x) ** 2) + reg * _tnn(v), z, rng)
    # n3 = 1: the t-SVD is the matrix SVD.
    m = x[:, :, :1]
    np.testing.assert_allclose(
        np.asarray(prox.prox_tensor_nuclear(jnp.asarray(m), reg))[:, :, 0],
        np.asarray(prox.prox_nuclear(jnp.asarray(m[:, :, 0]), reg)),
        atol=1e-12,
    )


def test_projection_simplex_at_large_scales():
    """jaxopt's scale-1e9 scenario: float32 partial sums cancelled (issue 26, item 3)."""
    for x, want in (
        ([1e9, 0.0], [1.0, 0.0]),
        ([1e9, -3e9], [1.0, 0.0]),
        ([-1e9, 1e9 + 0.5], [0, 1]),
    ):
        z = prox.projection_simplex(jnp.asarray(x, jnp.float32), 1.0)
        np.testing.assert_allclose(np.asarray(z), want, atol=1e-6)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 7)) * 1e6, jnp.float32)
    z = np.asarray(prox.projection_simplex(x, 2.0))
    np.testing.assert_allclose(z.sum(axis=-1), 2.0, rtol=1e-6)
    assert np.all(z >= 0)
    # the same answer as on the unshifted, float64 data
    x64 = jnp.asarray(np.random.default_rng(1).standard_normal((3, 5)), jnp.float64)
    ref = np.asarray(prox.projection_simplex(x64, 1.0))
    np.testing.assert_allclose(np.asarray(prox.projection_simplex(x64 + 1e4, 1.0)), ref, atol=1e-9)


def test_infinite_entries_of_penalty_proxes_map_to_themselves():
    x = jnp.array([np.inf, -np.inf, 2.0])
    for fn, hyper in ((prox.prox_mcp, (0.3, 3.0)), (prox.prox_scad, (0.3, 3.7)),
                      (prox.prox_log_sum, (0.3, 0.5)), (prox.prox_capped_l1, (0.3, 1.0))):  # fmt: skip
        z = np.asarray(fn(x, hyper))
        assert z[0] == np.inf and z[1] == -np.inf and np.isfinite(z[2])


def _ksupport_norm(w, k):
    """The k-support norm in closed form (Argyriou, Foygel & Srebro 2012, Prop. 2.1)."""
    a = np.concatenate([[np.inf], np.sort(np.abs(w))[::-1]])  # 1-based, a_0 = inf
    k = min(k, len(w))
    for r in range(k):
        tail = a[k - r :].sum()
        if a[k - r - 1] > tail / (r + 1) >= a[k - r]:
            return np.sqrt(np.sum(a[1 : k - r] ** 2) + tail**2 / (r + 1))
    raise AssertionError("no r satisfies the closed form's condition")


def test_prox_ksupport_sq_closes_the_duality_gap():
    """Certificate: for z = prox, u = x - z is dual feasible with zero gap. The dual of
    ½‖z − x‖² + t‖z‖²_k is max_u <u, x> − ½‖u‖² − ‖u‖²_(k)* / (4t), where the dual norm is
    the l2 norm of the k largest |u_i| (an independent closed form, not the prox's own)."""
    rng = np.random.default_rng(0)
    for trial in range(120):
        n = int(rng.integers(1, 25))
        k = int(rng.integers(1, n + 3))
        lam, s = rng.exponential(), rng.exponential()
        x = rng.standard_normal(n) * rng.exponential()
        if trial % 4 == 0:
            x[rng.random(n) < 0.5] = 0.0  # sparse inputs hit the "at most k non-zeros" branch
        z = np.asarray(prox.prox_ksupport_sq(jnp.asarray(x), (lam, k), s))
        t = lam * s
        primal = 0.5 * np.sum((z - x) ** 2) + t * _ksupport_norm(z, k) ** 2
        u = x - z
        dual = u @ x - 0.5 * u @ u - np.sum(np.sort(u**2)[::-1][:k]) / (4 * t)
        assert primal - dual <= 1e-12 * max(1.0, primal), (trial, primal, dual)


def test_prox_ksupport_sq_special_cases_batch_and_gradient():
    x = jnp.array([3.0, -1.0, 0.5])
    # k >= n: squared l2 norm; k = 1: squared l1 norm, prox of t‖z‖₁² thresholds at 2t‖z‖₁
    np.testing.assert_allclose(prox.prox_ksupport_sq(x, (0.5, 5)), x / 2.0)
    z1 = np.asarray(prox.prox_ksupport_sq(x, (0.1, 1)))
    thr = 2 * 0.1 * np.abs(z1).sum()
    np.testing.assert_allclose(z1, np.sign(x) * np.maximum(np.abs(x) - thr, 0), atol=1e-12)
    np.testing.assert_array_equal(prox.prox_ksupport_sq(x, (0.0, 2)), x)  # λ = 0: identity
    batch = jnp.asarray(np.random.default_rng(2).standard_normal((4, 9)))
    rows = [prox.prox_ksupport_sq(b, (0.2, 3), 0.7) for b in batch]
    np.testing.assert_allclose(prox.prox_ksupport_sq(batch, (0.2, 3), 0.7), np.stack(rows))
    # differentiable: central differences through the bisection-located threshold
    f = lambda v: jnp.sum(jnp.sin(prox.prox_ksupport_sq(v, (0.3, 3))))
    g = np.asarray(jax.grad(f)(batch[0]))
    e = np.eye(9)[4] * 1e-6
    fd = (f(batch[0] + e) - f(batch[0] - e)) / 2e-6
    np.testing.assert_allclose(g[4], fd, rtol=1e-5, atol=1e-8)


def test_prox_ksupport_sq_jacobian_where_exactly_k_entries_are_kept_whole():
    """Two entries at θ = 1, the rest at 0: β may lie anywhere on a flat piece, and the
    bisection ends at its edge, where a clip at the tie passed half a derivative (fixed)."""
    rng = np.random.default_rng(0)
    for _ in range(21):  # the draw that exposed it: x ≈ [0.468, -0.064, -0.016, -0.991, 0.022]
        draws = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), rng.exponential()
    x, s = jnp.asarray(draws[0][3]), draws[2]
    f = lambda v: prox.prox_ksupport_sq(v, (0.3, 2), s)
    jac = np.asarray(jax.jacrev(f)(x))
    fd = np.stack([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in jnp.eye(5)], axis=1)
    np.testing.assert_allclose(jac, fd, atol=1e-8)
    np.testing.assert_allclose(np.diag(jac)[[0, 3]], 1.0 / (1.0 + 0.6 * s))


def test_prox_schatten_p_at_zero_weight_is_the_identity():
    """λ = 0 (or s = 0) returned all zeros: 0 * inf = NaN in the threshold."""
    x = jnp.array([0.3, -1.2, 0.0, 2.5])
    np.testing.assert_array_equal(prox.prox_schatten_p(x, (0.0, 0.8)), x)
    np.testing.assert_array_equal(prox.prox_schatten_p(x, (0.5, 0.5), 0.0), x)
    g = jax.grad(lambda lam: jnp.sum(prox.prox_schatten_p(x, (lam, 0.5))))(0.0)
    assert np.isfinite(float(g))


def _isotonic_pava(v, increasing=True):
    """Pool-adjacent-violators, the textbook sequential algorithm (an independent oracle)."""
    v = list(v if increasing else -np.asarray(v))
    blocks = []  # [mean, count]
    for a in v:
        blocks.append([a, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    out = np.concatenate([np.full(c, m) for m, c in blocks]) if blocks else np.zeros(0)
    return out if increasing else -out


def _unimodal_brute_force(v):
    best = None
    for m in range(len(v)):
        fit = np.concatenate([_isotonic_pava(v[: m + 1]), _isotonic_pava(v[m + 1 :], False)])
        err = np.sum((fit - v) ** 2)
        if best is None or err < best[0]:
            best = (err, fit)
    return best[1]


@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_monotone_and_unimodal_projections_match_pava(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((3, n))
    up = np.asarray(prox.projection_monotone(x))
    down = np.asarray(prox.projection_monotone(x, decreasing=True))
    for v, u, d in zip(x, up, down, strict=True):
        np.testing.assert_allclose(u, _isotonic_pava(v), atol=1e-12)
        np.testing.assert_allclose(d, _isotonic_pava(v, False), atol=1e-12)
    if n <= 7:
        uni = np.asarray(prox.projection_unimodal(x))
        for v, u in zip(x, uni, strict=True):
            np.testing.assert_allclose(u, _unimodal_brute_force(v), atol=1e-12)
    # projections: idempotent, and a monotone input is its own projection
    np.testing.assert_allclose(prox.projection_monotone(up), up, atol=1e-12)
    np.testing.assert_allclose(prox.projection_unimodal(up), up, atol=1e-12)


def test_prox_smooth_is_the_tridiagonal_solve_and_keeps_the_mean():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9))
    lam, s = 0.8, 0.5
    d = np.diff(np.eye(9), axis=0)
    want = np.linalg.solve(np.eye(9) + lam * s * d.T @ d, x.reshape(-1, 9).T).T.reshape(x.shape)
    got = np.asarray(prox.prox_smooth(x, lam, s))
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(got.mean(-1), x.mean(-1), atol=1e-12)  # D 1 = 0
    np.testing.assert_allclose(prox.prox_smooth(x, 0.0), x)
    # the optimality condition z - x + s λ D^T D z = 0
    z = got.reshape(-1, 9)
    np.testing.assert_allclose(z - x.reshape(-1, 9) + lam * s * z @ d.T @ d, 0.0, atol=1e-12)
