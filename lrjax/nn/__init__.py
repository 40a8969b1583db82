"""Flax NNX low-rank layers: factorized dense layers, low-rank convolutions, tensorized GRUs.

The only subpackage of lrjax that imports flax. Layers are shaped like their dense twins
(positional sizes, keyword-only options, required ``rngs``, ``dtype`` vs ``param_dtype``,
channels-last convolutions) and offer ``from_dense`` / ``from_conv`` to compress trained layers
with lrjax's own decompositions.
"""

from ._dense import CPLinear as CPLinear
from ._dense import LowRankLinear as LowRankLinear
from ._dense import TTLinear as TTLinear
from ._dense import TuckerLinear as TuckerLinear
from ._init import balanced_modes as balanced_modes
from ._recurrent import CPGRUCell as CPGRUCell
from ._recurrent import GRUCell as GRUCell
from ._recurrent import TTGRUCell as TTGRUCell
from ._recurrent import TuckerGRUCell as TuckerGRUCell

__all__ = [
    "CPGRUCell",
    "CPLinear",
    "GRUCell",
    "LowRankLinear",
    "TTGRUCell",
    "TTLinear",
    "TuckerGRUCell",
    "TuckerLinear",
    "balanced_modes",
]
