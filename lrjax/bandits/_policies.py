"""Bandit pricing policies: GDG (Flaxman, Kalai & McMahan, "Online convex optimization in the
bandit setting: gradient descent without a gradient", SODA 2005) in the full price space, and
the low-rank policies of Mueller, Syrgkanis & Taddy (NeurIPS 2019) that run it in the span of
the product features: OPOK (features known) and OPOL (features learnt by an online SVD of the
observed demands).

Every policy is one ``lax.scan`` over the rounds, so a batch of seeds or of instances is one
vmapped program.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from .. import _checks, _random
from ._common import PricingProblem, best_coordinates, check_problem

METHODS = ("gdg", "opok", "opol")


class PricingResult(NamedTuple):
    """Result of :func:`dynamic_pricing`.

    Attributes:
        revenue: ``(T,)`` expected revenue of each round's posted prices (noise-free).
        regret: ``(T,)`` cumulative regret against :func:`best_fixed_price`.
        price: ``(N,)`` the policy's price (the centre of its exploration) after the last
            round.
        basis: ``(N, k)`` the orthonormal basis the policy searched in after the last round:
            the given features (OPOK), the learnt ones (OPOL); ``(N, 0)`` for GDG, which
            searches all of ``R^N``.
    """

    revenue: Float[Array, " t"]
    regret: Float[Array, " t"]
    price: Float[Array, " n"]
    basis: Float[Array, "n k"]


def _project(x, radius):
    """Euclidean projection onto the ball ``||x|| <= radius``."""
    norm = jnp.linalg.norm(x)
    return x * jnp.minimum(1.0, radius / jnp.maximum(norm, jnp.finfo(x.dtype).tiny))


def fkm_parameters(problem: PricingProblem, dim: int) -> tuple[Array, Array]:
    """Step size ``eta`` and exploration radius ``delta`` of one-point bandit gradient descent
    in ``dim`` dimensions over ``T`` rounds (Flaxman et al. 2005, Lipschitz case):
    ``eta = r / (C sqrt(T))`` and ``delta = T^(-1/4) sqrt(C r^2 dim / (3 (L r + C)))``, capped
    at ``r / 2``, with ``r`` the price radius and ``C``, ``L`` bounds on the size and the
    Lipschitz constant of the revenue over the ball (computed from the instance, as the
    theory assumes them known). The regret bound they give grows like ``T^(3/4) sqrt(dim)``.
    """
    problem = check_problem(problem)
    dim = _checks.positive_int("dim", dim)
    return _fkm(problem, dim)


def _fkm(problem, dim):
    r = problem.radius
    horizon = problem.z.shape[0]
    z_norm = jnp.linalg.norm(problem.z, axis=1)
    v_norm = jnp.sqrt(jnp.sum(problem.v**2, axis=(1, 2)))
    bound = jnp.max(r * z_norm + r**2 * v_norm)
    lipschitz = jnp.max(z_norm + 2.0 * r * v_norm)
    eta = r / (bound * jnp.sqrt(horizon))
    delta = horizon**-0.25 * jnp.sqrt(bound * r**2 * dim / (3.0 * (lipschitz * r + bound)))
    return eta, jnp.minimum(delta, 0.5 * r)


def _sphere(key, k, dtype):
    g = _random.normal(key, (k,), dtype)
    return g / jnp.linalg.norm(g)


def _demand(problem, p, t):
    """Observed demand ``q_t`` at prices ``p`` and the expected revenue ``f_t(U^T p)``."""
    y = problem.u.T @ p
    c = problem.z[t] - problem.v[t] @ y
    eps = problem.noise_scale * _random.normal(
        jax.random.fold_in(problem.noise_key, t), p.shape, p.dtype
    )
    return problem.u @ c + eps, y @ c


def _svd_update(basis, sigma, q):
    """Brand's rank-``k`` incremental SVD: the top-``k`` left singular pairs of ``[B diag(s),
    q]`` from those of ``B diag(s)``, in ``O(N k + k^3)``; the basis is re-orthonormalised
    (one CholeskyQR pass) so rounding does not accumulate over the rounds."""
    k = sigma.shape[0]
    m = basis.T @ q
    resid = q - basis @ m
    rho = jnp.linalg.norm(resid)
    tiny = jnp.finfo(q.dtype).eps * (jnp.linalg.norm(q) + 1.0)
    j = jnp.where(rho > tiny, resid / jnp.maximum(rho, tiny), 0.0)
    small = jnp.zeros((k + 1, k + 1), q.dtype)
    small = small.at[:k, :k].set(jnp.diag(sigma)).at[:k, k].set(m).at[k, k].set(rho)
    a, s, _ = jnp.linalg.svd(small)
    new = jnp.concatenate([basis, j[:, None]], axis=1) @ a[:, :k]
    gram = new.T @ new + jnp.finfo(q.dtype).eps * jnp.eye(k, dtype=q.dtype)
    low = jnp.linalg.cholesky(gram)
    new = jax.scipy.linalg.solve_triangular(low, new.T, lower=True).T
    return new, s[:k]


@functools.partial(jax.jit, static_argnames=("method", "rank"))
def _dynamic_pricing(problem, key, features, eta, delta, *, method, rank):
    dtype = problem.z.dtype
    n = problem.u.shape[0]
    horizon = problem.z.shape[0]
    r = problem.radius
    k = n if method == "gdg" else rank
    eta_d, delta_d = _fkm(problem, k)
    eta = eta_d if eta is None else jnp.asarray(eta, dtype)
    delta = delta_d if delta is None else jnp.asarray(delta, dtype)
    shrunk = r - delta  # play centres in (1 - delta/r) S so that centre + delta xi stays in S
    x_best = best_coordinates(problem)
    k_init, k_run = jax.random.split(key)
    if method == "gdg":
        basis0 = jnp.zeros((n, 0), dtype)
    elif method == "opok":
        basis0 = features
    else:
        basis0, _ = jnp.linalg.qr(_random.normal(k_init, (n, rank), dtype))
    sigma0 = jnp.zeros((k,), dtype)

    def embed(basis, x):
        return x if method == "gdg" else basis @ x

    def round_(carry, t):
        x, basis, sigma = carry
        xi = _sphere(jax.random.fold_in(k_run, t), k, dtype)
        p = embed(basis, x + delta * xi)
        q, expected = _demand(problem, p, t)
        revenue = p @ q  # the bandit's only feedback about its prices
        x_new = _project(x + eta * (k / delta) * revenue * xi, shrunk)
        if method == "opol":
            centre = basis @ x_new
            # Not differentiated: the first rounds' SVDs have repeated (zero) singular values.
            basis, sigma = lax.stop_gradient(_svd_update(basis, sigma, q))
            x_new = _project(basis.T @ centre, shrunk)
        best = x_best @ problem.z[t] - x_best @ problem.v[t] @ x_best
        return (x_new, basis, sigma), (expected, best - expected)

    x0 = jnp.zeros((k,), dtype)
    (x, basis, _), (revenue, loss) = lax.scan(round_, (x0, basis0, sigma0), jnp.arange(horizon))
    return PricingResult(revenue, jnp.cumsum(loss), embed(basis, x), basis)


def dynamic_pricing(
    problem: PricingProblem,
    key: Array,
    *,
    method: str = "opol",
    rank: int | None = None,
    features: Float[Array, "n d"] | None = None,
    eta: float | Array | None = None,
    delta: float | Array | None = None,
) -> PricingResult:
    """Post prices for ``T`` rounds of ``problem`` with a bandit policy; return the revenue
    and the regret.

    Each round, the policy posts ``p_t = basis (x_t + delta xi_t)`` with ``xi_t`` uniform on
    the unit sphere, observes the demands ``q_t`` and only uses their revenue ``<q_t, p_t>``
    to step ``x_{t+1} = proj(x_t + eta (k / delta) <q_t, p_t> xi_t)`` onto the shrunk ball
    ``||x|| <= radius - delta`` (one-point gradient estimate of Flaxman et al. 2005).

    * ``"gdg"``: in all ``N`` price coordinates (``basis`` the identity, ``k = N``).
    * ``"opok"``: in the span of the known features (``features``, default the instance's
      ``U``), ``k = d``: the regret grows with ``d``, not ``N``.
    * ``"opol"``: in the span of the top-``rank`` left singular vectors of the demands seen so
      far, kept by an online (incremental) SVD of ``q_1, ..., q_t``: every demand lies in the
      span of ``U`` up to noise whatever the prices, so the span is learnt while pricing. The
      search point is carried over each basis update through its price vector. Derivatives
      of an ``"opol"`` run hold each round's learnt basis fixed (the online SVD's rotation
      is not differentiated: its first rounds have repeated zero singular values).

    Args:
        problem: a :class:`PricingProblem` (e.g. from :func:`pricing_problem`).
        key: PRNG key of the exploration directions (and OPOL's initial basis).
        method: ``"gdg"``, ``"opok"`` or ``"opol"`` (static).
        rank: dimension of the learnt span for ``"opol"`` (static; default the instance's
            ``d``).
        features: ``(N, k)`` features for ``"opok"`` (orthonormalised here; default ``U``).
        eta, delta: step size and exploration radius (traced; default
            :func:`fkm_parameters` for the searched dimension).

    Returns:
        A :class:`PricingResult`.
    """
    problem = check_problem(problem)
    key = _checks.prng_key("key", key)
    method = _checks.choice("method", method, METHODS)
    n, d = problem.u.shape
    if method == "opol":
        rank = d if rank is None else _checks.positive_int("rank", rank)
        if rank > n:
            raise ValueError(f"`rank` must be at most the number of products ({n}), got {rank}.")
    elif rank is not None:
        raise ValueError(f"`rank` applies to method='opol' only, got rank={rank!r}.")
    if method == "opok":
        features = problem.u if features is None else _checks.as_array("features", features)
        if features.ndim != 2 or features.shape[0] != n or not 1 <= features.shape[1] <= n:
            raise ValueError(
                f"`features` must have shape ({n}, k) with 1 <= k <= {n}, got {features.shape}."
            )
        features, _ = jnp.linalg.qr(features)
        rank = features.shape[1]
    elif features is not None:
        raise ValueError("`features` applies to method='opok' only.")
    for name, value in (("eta", eta), ("delta", delta)):
        _checks.positive(name, value)
    if delta is not None and _checks.is_concrete(delta) and _checks.is_concrete(problem.radius):
        if not float(delta) < float(problem.radius):
            raise ValueError(
                f"`delta` must be smaller than the price radius ({float(problem.radius)}), "
                f"got {delta!r}."
            )
    return _dynamic_pricing(problem, key, features, eta, delta, method=method, rank=rank)
