"""Force regularization (Wen et al., ICCV 2017): coordinate filters into a low-rank space."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

__all__ = ["force_potential", "force_regularization"]

_KINDS = ("l2", "lnorm")


def force_potential(kernel: jax.Array, kind: str = "l2", *, eps: float = 1e-12) -> jax.Array:
    """Potential energy of the normalized filters of a kernel; its negative gradient is the
    attractive force of Wen et al.

    Filters are the slices along the last axis (Flax ``HWIO`` convolution kernels and
    ``(in, out)`` dense kernels alike), flattened and normalized: :math:`\\hat w_i = w_i /
    \\|w_i\\|`. With ``kind="l2"``, :math:`E = \\tfrac12 \\sum_{i<j} \\|\\hat w_i - \\hat w_j\\|^2`
    (force :math:`\\sum_j (\\hat w_j - \\hat w_i)`, the paper's L2-norm force); with
    ``kind="lnorm"``, :math:`E = \\sum_{i<j} \\|\\hat w_i - \\hat w_j\\|` (force :math:`\\sum_j
    (\\hat w_j - \\hat w_i) / \\|\\hat w_j - \\hat w_i\\|`, the Lnorm force). Minimizing ``E``
    pulls the filter directions together, so they span a lower-dimensional space.

    Args:
        kernel: array with filters along the last axis.
        kind: ``"l2"`` or ``"lnorm"``.
        eps: smoothing of the norms (keeps the gradient finite for equal filters).

    Returns:
        Scalar potential.

    Examples:
        >>> w = jnp.stack([jnp.ones(4), jnp.ones(4)], axis=-1)  # two identical filters
        >>> abs(float(force_potential(w))) < 1e-12
        True

    References:
        Wen, Xu, Wu, Li, Chen & Li, "Coordinating filters for faster deep neural networks",
        ICCV 2017.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    w = kernel.reshape(-1, kernel.shape[-1]).T  # (n_filters, d)
    wn = w / jnp.sqrt(jnp.sum(w * w, axis=1, keepdims=True) + eps)
    if kind == "l2":
        n = wn.shape[0]
        total = jnp.sum(wn, axis=0)
        return 0.5 * (n * jnp.sum(wn * wn) - jnp.sum(total * total))
    diff = wn[:, None, :] - wn[None, :, :]
    dist = jnp.sqrt(jnp.sum(diff * diff, axis=-1) + eps)
    return 0.5 * (jnp.sum(dist) - wn.shape[0] * jnp.sqrt(eps))


def _default_mask(params):
    return jax.tree.map(lambda p: getattr(p, "ndim", 0) == 4, params)


def force_regularization(
    strength: float, kind: str = "l2", *, mask: Callable | object | None = None
) -> optax.GradientTransformation:
    """An optax transformation that adds ``strength * grad force_potential(w)`` to the gradient
    of every masked parameter (default: 4-D leaves, i.e. convolution kernels).

    Chain it before the optimizer: ``optax.chain(force_regularization(1e-3), optax.sgd(0.1))``.
    Equivalent to adding ``strength * force_potential(w, kind)`` to the loss.

    Args:
        strength: force strength ``lambda_s``.
        kind: ``"l2"`` or ``"lnorm"`` (see :func:`force_potential`).
        mask: a pytree of booleans or a callable ``params -> pytree of booleans`` choosing the
            kernels (filters along their last axis).

    Returns:
        ``optax.GradientTransformation`` (stateless; needs ``params`` in ``update``).

    Examples:
        >>> tx = force_regularization(0.1)
        >>> params = {"conv": jnp.ones((3, 3, 2, 4)).at[0, 0, 0, 0].set(2.0)}
        >>> grads = jax.tree.map(jnp.zeros_like, params)
        >>> upd, _ = tx.update(grads, tx.init(params), params)
        >>> bool(jnp.any(upd["conv"] != 0))
        True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if strength < 0:
        raise ValueError(f"strength must be non-negative, got {strength!r}")
    grad_e = jax.grad(lambda w: force_potential(w, kind))

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("force_regularization needs params: call update(grads, state, params)")
        chosen = (
            mask(params)
            if callable(mask)
            else (mask if mask is not None else _default_mask(params))
        )
        out = jax.tree.map(
            lambda g, p, m: g + strength * grad_e(p).astype(g.dtype) if m else g,
            updates,
            params,
            chosen,
        )
        return out, state

    return optax.GradientTransformation(init, update)
