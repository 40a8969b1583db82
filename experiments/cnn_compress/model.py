"""The small VGG-style network of the experiment and its FLOP count.

Three blocks of two 3 x 3 convolutions (batch norm, ReLU) and a 2 x 2 max-pool, global average
pooling and a dense classifier. ``__call__`` returns the logits and the three block outputs
(the "local knowledge" of LRDKT). Convolutions are attributes ``conv0`` ... ``conv5`` so that
``lrjax.nn.compress`` policies name them by path.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

N_CONV = 6


class VGG(nnx.Module):
    """``widths[b]`` channels in block ``b``; ``in_channels`` input channels (1: grayscale)."""

    def __init__(self, widths, n_classes: int, *, in_channels: int = 1, rngs: nnx.Rngs):
        chans = [in_channels] + [w for w in widths for _ in range(2)]
        for i in range(N_CONV):
            setattr(
                self,
                f"conv{i}",
                nnx.Conv(chans[i], chans[i + 1], (3, 3), use_bias=False, rngs=rngs),
            )
            setattr(self, f"bn{i}", nnx.BatchNorm(chans[i + 1], momentum=0.9, rngs=rngs))
        self.head = nnx.Linear(widths[-1], n_classes, rngs=rngs)

    def __call__(self, x):
        blocks = []
        for i in range(N_CONV):
            x = jax.nn.relu(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
            if i % 2 == 1:
                x = nnx.max_pool(x, (2, 2), strides=(2, 2))
                blocks.append(x)
        return self.head(jnp.mean(x, axis=(1, 2))), blocks


def conv_flops(layer) -> int:
    """FLOPs per output position of a convolution layer (dense or factorized)."""
    if hasattr(layer, "flops_per_position"):
        return int(layer.flops_per_position())
    kh, kw, c, n = layer.kernel[...].shape
    return 2 * kh * kw * c * n


def model_flops(model: VGG, size: int = 32) -> int:
    """FLOPs of one forward pass on a ``size x size`` image (convolutions and the classifier;
    batch norm, ReLU and pooling are left out, as in the papers)."""
    total = 0
    for i in range(N_CONV):
        side = size // 2 ** (i // 2)
        total += conv_flops(getattr(model, f"conv{i}")) * side * side
    return total + 2 * int(model.head.kernel[...].size)
