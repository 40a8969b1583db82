"""Tensor dropout: random rank-one components (CP), core slices (Tucker) or bond indices (TT)
switched off, the regularizer of Kolbeinsson et al. (TensorLy-Torch's ``tensor_dropout``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _checks
from ._cp import CPTensor
from ._tt import TTTensor
from ._tucker import TuckerTensor


def _keep_mask(key: jax.Array, size: int, rate: float | Array, min_dim: int, dtype) -> Array:
    """A 0/1 mask of ``size`` entries, each kept with probability ``1 - rate`` and at least
    one kept (a random one when the draw keeps none); all ones when ``size <= min_dim``."""
    if size <= min_dim:
        return jnp.ones((size,), dtype)
    k_draw, k_one = jax.random.split(key)
    keep = jax.random.uniform(k_draw, (size,)) >= rate
    one = jax.nn.one_hot(jax.random.randint(k_one, (), 0, size), size) > 0
    return jnp.where(jnp.any(keep), keep, one).astype(dtype)


def tensor_dropout(
    tensor: CPTensor | TuckerTensor | TTTensor,
    rate: float | Array,
    *,
    key: jax.Array,
    min_dim: int = 1,
) -> CPTensor | TuckerTensor | TTTensor:
    r"""Tensor dropout: drop each rank-one component of a CP tensor, each slice of a Tucker
    core along every mode, or each bond index of a tensor train, with probability ``rate``
    (Kolbeinsson et al. 2021; TensorLy-Torch's ``tensor_dropout``).

    TensorLy-Torch slices the dropped components out, which changes shapes; here they are
    zeroed instead (CP weights, Tucker core slices, TT core columns), so shapes stay static
    under ``jit`` and the dense tensor is the same as TensorLy-Torch's for the same draw. As
    there, at least one component of every mode is kept (``rate=1`` keeps one at random),
    modes of rank at most ``min_dim`` are left alone, and nothing is rescaled. Apply it to a
    layer's weight during training only.

    Args:
        tensor: a CP, Tucker or TT tensor.
        rate: the dropout probability in ``[0, 1]`` (traced).
        key: PRNG key of the draw.
        min_dim: ranks at most this are not dropped (static; TensorLy-Torch's default 1).

    Returns:
        The same kind of tensor with the dropped components zeroed.

    Raises:
        TypeError: for another kind of tensor.
        ValueError: for a ``rate`` outside ``[0, 1]`` or a bad ``key``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> cp = CPTensor(jnp.ones(8), (jnp.ones((3, 8)), jnp.ones((4, 8))))
        >>> int(jnp.sum(tensor_dropout(cp, 1.0, key=jax.random.key(0)).weights != 0))
        1

    References:
        A. Kolbeinsson, J. Kossaifi, Y. Panagakis, A. Bulat, A. Anandkumar, I. Tzoulaki and
        P. M. Matthews, "Tensor dropout for robust learning", IEEE J. Sel. Topics Signal
        Process. 15(3), 2021.
    """
    rate = _checks.scalar("rate", rate, lambda v: 0 <= v <= 1, "in [0, 1]")
    key = _checks.prng_key("key", key)
    min_dim = _checks.nonneg_int("min_dim", min_dim)
    if isinstance(tensor, CPTensor):
        mask = _keep_mask(key, tensor.rank, rate, min_dim, tensor.weights.dtype)
        return CPTensor(tensor.weights * mask, tensor.factors)
    if isinstance(tensor, TuckerTensor):
        core = tensor.core
        for n, (k, r) in enumerate(
            zip(jax.random.split(key, tensor.ndim), tensor.rank, strict=True)
        ):
            shape = [1] * core.ndim
            shape[n] = r
            core = core * _keep_mask(k, r, rate, min_dim, core.dtype).reshape(shape)
        return TuckerTensor(core, tensor.factors)
    if isinstance(tensor, TTTensor):
        cores = list(tensor.cores)
        keys = jax.random.split(key, max(len(cores) - 1, 1))
        for n in range(len(cores) - 1):  # bond n joins core n and core n + 1
            r = cores[n].shape[-1]
            cores[n] = cores[n] * _keep_mask(keys[n], r, rate, min_dim, cores[n].dtype)
        return TTTensor(tuple(cores))
    raise TypeError(
        f"`tensor` must be a CPTensor, TuckerTensor or TTTensor, got {type(tensor).__name__}."
    )
