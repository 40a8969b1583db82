"""Tensor-train embedding layer (Hrinchuk et al., EMNLP Findings 2020; TensorLy-Torch's
``FactorizedEmbedding``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import _checks
from ..decomposition import tt_matrix_svd
from ..tensors import TTMatrix
from ._init import balanced_modes, check_positive, count_params, part_std, scaled_normal

__all__ = ["TTEmbedding"]


def _row_modes(name: str, modes, n: int, order: int | None) -> tuple[int, ...]:
    """Row modes whose product covers ``n`` (at least ``n``: the table may be padded). By
    default ``order`` (3) factors of ``n`` as equal as possible, or, when those are lopsided
    (a prime ``n``), near-equal sizes whose product just exceeds ``n``."""
    if modes is None:
        order = 3 if order is None else order
        size = max(1, round(n ** (1.0 / order)))
        while size**order < n:
            size += 1
        exact = balanced_modes(n, order)
        if max(exact) <= 2 * size:
            return exact
        padded = [size] * order
        for k in range(order):  # shrink while the product still covers n
            if math.prod(padded) // size * (size - 1) >= n:
                padded[k] = size - 1
        return tuple(padded)
    modes = tuple(int(m) for m in modes)
    if not modes or any(m < 1 for m in modes) or math.prod(modes) < n:
        raise ValueError(
            f"{name}={modes} must be positive integers whose product is at least {n}, got "
            f"product {math.prod(modes) if modes else 'of nothing'}"
        )
    return modes


def _col_modes(name: str, modes, n: int, order: int) -> tuple[int, ...]:
    if modes is None:
        return balanced_modes(n, order)
    modes = tuple(int(m) for m in modes)
    if len(modes) != order or any(m < 1 for m in modes) or math.prod(modes) != n:
        raise ValueError(
            f"{name}={modes} must be {order} positive integers (one per row mode) whose product "
            f"is {n}, got {len(modes)} with product {math.prod(modes) if modes else 0}"
        )
    return modes


class TTEmbedding(nnx.Module):
    r"""Embedding table stored as a tensor-train matrix: a drop-in for ``nnx.Embed`` with
    ``O(d n r^2)`` parameters instead of ``num_embeddings × features``.

    .. math:: E_{(i_1 \dots i_d),(j_1 \dots j_d)} = G_1[:, i_1, j_1, :] \cdots
        G_d[:, i_d, j_d, :],

    cores ``G_k`` of shape ``(r_{k-1}, v_k, f_k, r_k)``, the row (token) index split into
    ``(i_1, ..., i_d)`` over ``row_modes`` in C order and the feature index over
    ``feature_modes`` (Hrinchuk, Khrulkov, Mirvakhabova, Orlova & Oseledets 2020; TT-Rec;
    TensorLy-Torch's ``FactorizedEmbedding(factorization="blocktt")``). A lookup contracts
    the ``d`` core slices of each token, ``O(features r^2)`` per token; the table is never
    formed. The product of ``row_modes`` may exceed ``num_embeddings`` (a vocabulary of
    prime size needs no factorization): the extra rows are never looked up.

    Entries start with variance ``1 / features``, as ``nnx.Embed``'s default.

    Args:
        num_embeddings: number of rows (the vocabulary size).
        features: size of each embedding vector.
        ranks: TT ranks: an int (every inner rank), the ``d - 1`` inner ranks, or all ``d +
            1`` with 1 at both ends.
        row_modes: ``(v_1, ..., v_d)`` with product at least ``num_embeddings``; default
            ``d = 3`` near-equal factors (exact when that is as balanced, else padded).
        feature_modes: ``(f_1, ..., f_d)`` with product ``features``; default balanced.
        dtype: dtype of the computation and result (default: the parameters').
        param_dtype: dtype of the cores.
        rngs: the ``params`` stream initialises the cores.

    Examples:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> emb = TTEmbedding(10_000, 64, 8, row_modes=(25, 20, 20), rngs=nnx.Rngs(0))
        >>> emb(jnp.array([[1, 2, 3]])).shape, emb.num_params < 10_000 * 64 // 50
        ((1, 3, 64), True)

    References:
        O. Hrinchuk, V. Khrulkov, L. Mirvakhabova, E. Orlova, I. Oseledets, "Tensorized
        embedding layers", Findings of EMNLP 2020.
    """

    def __init__(
        self,
        num_embeddings: int,
        features: int,
        ranks: int | Sequence[int],
        *,
        row_modes: Sequence[int] | None = None,
        feature_modes: Sequence[int] | None = None,
        dtype=None,
        param_dtype=jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.num_embeddings = check_positive("num_embeddings", num_embeddings)
        self.features = check_positive("features", features)
        order = None if feature_modes is None else len(tuple(feature_modes))
        self.row_modes = _row_modes("row_modes", row_modes, self.num_embeddings, order)
        d = len(self.row_modes)
        self.feature_modes = _col_modes("feature_modes", feature_modes, self.features, d)
        self.ranks = (1, *_checks.ranks("ranks", ranks, d, form="tt"), 1)
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.compression_error: float | None = None  # set by from_embed
        std = part_std(1.0 / self.features, math.prod(self.ranks[1:-1]), d)
        keys = jax.random.split(rngs.params(), d)
        self.cores = nnx.List(
            nnx.Param(
                scaled_normal(
                    keys[k],
                    (self.ranks[k], self.row_modes[k], self.feature_modes[k], self.ranks[k + 1]),
                    std,
                    param_dtype,
                )
            )
            for k in range(d)
        )

    @property
    def num_params(self) -> int:
        """Number of trainable scalars (the cores' entries)."""
        return count_params(self)

    def flops_per_example(self) -> int:
        """FLOPs of one lookup: the chain of core slices, ``Σ_k 2 F_{<k} r_{k-1} f_k r_k``
        with ``F_{<k} = f_1 ⋯ f_{k-1}`` (the :func:`lrjax.nn.compress` report's measure)."""
        total, prefix = 0, 1
        for k in range(1, len(self.row_modes)):
            total += (
                2
                * prefix
                * self.feature_modes[k - 1]
                * self.ranks[k]
                * (self.feature_modes[k] * self.ranks[k + 1])
            )
            prefix *= self.feature_modes[k - 1]
        return total

    def _cores(self) -> list[jax.Array]:
        dtype = self.dtype or self.param_dtype
        return [jnp.asarray(c[...], dtype) for c in self.cores]

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """The embeddings of integer ``inputs`` of any shape: ``(*inputs.shape, features)``.
        An index outside ``[0, num_embeddings)`` gives NaN (``nnx.Embed``'s ``jnp.take``
        fills with NaN too); an eager call with such an index raises."""
        idx = jnp.asarray(inputs)
        if not jnp.issubdtype(idx.dtype, jnp.integer):
            raise ValueError(f"`inputs` must be integers (token indices), got dtype {idx.dtype}.")
        if _checks.is_concrete(idx) and idx.size:
            lo, hi = int(np.min(np.asarray(idx))), int(np.max(np.asarray(idx)))
            if lo < 0 or hi >= self.num_embeddings:
                bad = lo if lo < 0 else hi
                raise ValueError(f"`inputs` holds index {bad}, outside [0, {self.num_embeddings}).")
        flat = idx.reshape(-1)
        valid = (flat >= 0) & (flat < self.num_embeddings)
        digits = jnp.unravel_index(jnp.clip(flat, 0, self.num_embeddings - 1), self.row_modes)
        cores = self._cores()
        out = cores[0][0, digits[0]]  # (n, f_1, r_1)
        for core, i in zip(cores[1:], digits[1:], strict=True):
            out = jnp.einsum("nFr,rnfs->nFfs", out, core[:, i])  # core[:, i]: (r, n, f, r')
            out = out.reshape(out.shape[0], -1, out.shape[-1])
        emb = out[..., 0]
        emb = jnp.where(valid[:, None], emb, jnp.nan)
        return emb.reshape(*idx.shape, self.features)

    def embedding(self) -> jax.Array:
        """The table ``(num_embeddings, features)`` as a dense matrix (formed)."""
        table = TTMatrix(tuple(self._cores())).to_dense()
        return table[: self.num_embeddings]

    def attend(self, query: jax.Array) -> jax.Array:
        """``query @ embedding().T``, ``(..., num_embeddings)``: the output layer of a model
        whose input and output embeddings are tied (``nnx.Embed.attend``)."""
        query = jnp.asarray(query, self.dtype or self.param_dtype)
        if query.shape[-1] != self.features:
            raise ValueError(
                f"`query` must end in {self.features} features, got shape {query.shape}."
            )
        return query @ self.embedding().T

    @classmethod
    def from_embed(
        cls,
        embed,
        ranks: int | Sequence[int],
        *,
        row_modes: Sequence[int] | None = None,
        feature_modes: Sequence[int] | None = None,
        rngs: nnx.Rngs | None = None,
    ) -> TTEmbedding:
        """A TT embedding from a trained ``nnx.Embed`` (or another ``TTEmbedding``, or a
        ``(num_embeddings, features)`` array) by :func:`lrjax.tt_matrix_svd` of its table,
        padded with zero rows to the product of ``row_modes`` (TensorLy-Torch's
        ``FactorizedEmbedding.from_embedding``).
        Ranks that cannot be reached are capped, as TT-SVD does; a table of TT-matrix rank
        at most ``ranks`` comes back exactly. ``compression_error`` is the relative error
        ``||E_tt - E||_F / ||E||_F``."""
        attr = getattr(embed, "embedding", None)
        if isinstance(attr, nnx.Variable):  # nnx.Embed
            table = attr[...]
        elif callable(attr):  # a factorized embedding (TTEmbedding)
            table = attr()
        else:  # the table itself
            table = embed
        table = _checks.as_array("embed", table, ndim=2)
        n, f = table.shape
        order = None if feature_modes is None else len(tuple(feature_modes))
        rows = _row_modes("row_modes", row_modes, n, order)
        cols = _col_modes("feature_modes", feature_modes, f, len(rows))
        padded = jnp.pad(table, ((0, math.prod(rows) - n), (0, 0)))
        wanted = (1, *_checks.ranks("ranks", ranks, len(rows), form="tt"), 1)
        tt = tt_matrix_svd(padded, wanted[1:-1], row_modes=rows, col_modes=cols)
        out = cls(
            n,
            f,
            tt.rank,
            row_modes=rows,
            feature_modes=cols,
            param_dtype=table.dtype,
            rngs=rngs if rngs is not None else nnx.Rngs(0),
        )
        for param, core in zip(out.cores, tt.cores, strict=True):
            param[...] = core
        total = float(jnp.linalg.norm(table))
        diff = float(jnp.linalg.norm(out.embedding() - table))
        out.compression_error = diff / total if total > 0 else diff  # a zero table: exact
        return out
