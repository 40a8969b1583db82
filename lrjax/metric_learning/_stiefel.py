"""Optimization on the Stiefel manifold ``St(n, p) = {X in R^{n x p} : X^T X = I}``: the
Riemannian gradient in the canonical metric and two retractions (Wen & Yin, "A feasible
method for optimization with orthogonality constraints", Math. Program. 2013)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks

RETRACTIONS = ("cayley", "qr")


def _check_pair(x, g, name: str = "g"):
    x = _checks.as_array("x", x, ndim=2)
    g = _checks.as_array(name, g, ndim=2)
    if x.shape != g.shape:
        raise ValueError(f"`{name}` must have the shape of `x` {x.shape}, got {g.shape}.")
    if x.shape[1] > x.shape[0]:
        raise ValueError(f"`x` must be tall (n >= p), got shape {x.shape}.")
    return x, g


def stiefel_gradient(x: Float[Array, "n p"], g: Float[Array, "n p"]) -> Float[Array, "n p"]:
    """Riemannian gradient at ``x`` (orthonormal columns) of a function whose Euclidean
    gradient is ``g``, in the canonical metric: ``g - x g^T x`` (zero exactly at the
    stationary points of the constrained problem; Wen & Yin 2013, Lemma 1)."""
    x, g = _check_pair(x, g)
    return _gradient(x, g)


def _gradient(x, g):
    return g - x @ (g.T @ x)


def cayley_retraction(
    x: Float[Array, "n p"], g: Float[Array, "n p"], tau: float | Array
) -> Float[Array, "n p"]:
    """The Cayley curve ``Y(tau) = (I + tau/2 A)^{-1} (I - tau/2 A) x`` with the skew matrix
    ``A = g x^T - x g^T``: a descent curve on the manifold for ``tau > 0`` along which
    ``Y^T Y = I`` holds exactly. Computed in ``O(n p^2)`` through the ``2p x 2p`` system of
    the Sherman-Morrison-Woodbury form (Wen & Yin 2013, Lemma 4), never an ``n x n`` matrix.
    """
    x, g = _check_pair(x, g)
    return _cayley(x, g, jnp.asarray(tau, x.dtype))


def _cayley(x, g, tau):
    p = x.shape[1]
    u = jnp.concatenate([g, x], axis=1)  # A = U V^T with V = [x, -g]
    vt_u = jnp.block([[x.T @ g, x.T @ x], [-(g.T @ g), -(g.T @ x)]])
    vt_x = jnp.concatenate([x.T @ x, -(g.T @ x)], axis=0)
    eye = jnp.eye(2 * p, dtype=x.dtype)
    return x - tau * u @ jnp.linalg.solve(eye + 0.5 * tau * vt_u, vt_x)


def qr_retraction(x: Float[Array, "n p"], xi: Float[Array, "n p"]) -> Float[Array, "n p"]:
    """The QR retraction ``qf(x + xi)``: the orthonormal factor of ``x + xi``, its columns'
    signs fixed so that ``R`` has a non-negative diagonal (``xi = 0`` returns ``x``)."""
    x, xi = _check_pair(x, xi, "xi")
    return _qr(x + xi)


def _qr(y):
    q, r = jnp.linalg.qr(y)
    sign = jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0).astype(y.dtype)
    return q * sign


def retract(x, g, tau, retraction: str):
    """Step of length ``tau`` against the Riemannian gradient from ``x`` (``g`` Euclidean)."""
    if retraction == "cayley":
        return _cayley(x, g, tau)
    return _qr(x - tau * _gradient(x, g))
