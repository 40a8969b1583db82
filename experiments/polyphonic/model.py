"""The reference model of Tjandra et al.: Linear(88 -> 256) + LeakyReLU -> GRU cell -> dropout
-> Linear(512 -> 88), one logit per key."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from lrjax.nn import CPGRUCell, GRUCell, TTGRUCell, TuckerGRUCell

N_KEYS = 88


def make_cell(cell_cfg, in_features: int, hidden: int, rngs: nnx.Rngs):
    """The recurrent cell a config names (``cell.kind``: gru, cp, tucker or tt)."""
    kind = cell_cfg.kind
    if kind == "gru":
        return GRUCell(in_features, hidden, rngs=rngs)
    modes = dict(in_modes=tuple(cell_cfg.in_modes), hidden_modes=tuple(cell_cfg.hidden_modes))
    rank = cell_cfg.rank
    rank = tuple(rank) if isinstance(rank, list | tuple) else int(rank)
    if kind == "cp":
        return CPGRUCell(in_features, hidden, rank, **modes, rngs=rngs)
    if kind == "tucker":
        return TuckerGRUCell(in_features, hidden, rank, **modes, rngs=rngs)
    if kind == "tt":
        return TTGRUCell(in_features, hidden, rank, **modes, rngs=rngs)
    raise ValueError(f"config.cell.kind must be gru, cp, tucker or tt, got {kind!r}")


class MusicRNN(nnx.Module):
    """Next-frame model: ``(B, T, 88)`` piano rolls -> ``(B, T, 88)`` logits of the next frame."""

    def __init__(self, config, *, rngs: nnx.Rngs):
        self.embed = nnx.Linear(N_KEYS, config.embed, rngs=rngs)
        self.cell = make_cell(config.cell, config.embed, config.hidden, rngs)
        self.readout = nnx.Linear(config.hidden, N_KEYS, rngs=rngs)
        self.dropout = float(config.dropout)

    def __call__(self, x: jax.Array, *, dropout_key: jax.Array | None = None) -> jax.Array:
        e = jax.nn.leaky_relu(self.embed(x), 0.1)
        _, h = self.cell.sequence(e)
        if dropout_key is not None and self.dropout > 0.0:
            keep = 1.0 - self.dropout
            h = jnp.where(jax.random.bernoulli(dropout_key, keep, h.shape), h / keep, 0.0)
        return self.readout(h)
