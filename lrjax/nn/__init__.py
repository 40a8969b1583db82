"""Flax NNX low-rank layers: factorized dense layers, low-rank convolutions, tensorized GRUs
and embeddings.

The only subpackage of lrjax that imports flax. Layers are shaped like their dense twins
(positional sizes, keyword-only options, required ``rngs``, ``dtype`` vs ``param_dtype``,
channels-last convolutions) and offer ``from_dense`` / ``from_conv`` to compress trained layers
with lrjax's own decompositions.
"""

from ._common import ConvOptions as ConvOptions
from ._common import DenseOptions as DenseOptions
from ._compress import CompressionReport as CompressionReport
from ._compress import LayerCompression as LayerCompression
from ._compress import compress as compress
from ._conv import CPConv as CPConv
from ._conv import SeparableLowRankConv as SeparableLowRankConv
from ._conv import TuckerConv as TuckerConv
from ._dense import CPLinear as CPLinear
from ._dense import LowRankLinear as LowRankLinear
from ._dense import TuckerLinear as TuckerLinear
from ._denton import BiclusterConv as BiclusterConv
from ._denton import MonochromaticConv as MonochromaticConv
from ._denton import kmeans as kmeans
from ._distill import KnowledgeTransferLoss as KnowledgeTransferLoss
from ._distill import feature_distance as feature_distance
from ._distill import knowledge_transfer_loss as knowledge_transfer_loss
from ._distill import soft_cross_entropy as soft_cross_entropy
from ._embedding import TTEmbedding as TTEmbedding
from ._force import force_potential as force_potential
from ._force import force_regularization as force_regularization
from ._init import balanced_modes as balanced_modes
from ._recurrent import CellOptions as CellOptions
from ._recurrent import CPGRUCell as CPGRUCell
from ._recurrent import GRUCell as GRUCell
from ._recurrent import TTGRUCell as TTGRUCell
from ._recurrent import TuckerGRUCell as TuckerGRUCell
from ._tt_linear import TTLinear as TTLinear

__all__ = [
    "BiclusterConv",
    "CPConv",
    "CPGRUCell",
    "CPLinear",
    "CellOptions",
    "CompressionReport",
    "ConvOptions",
    "DenseOptions",
    "GRUCell",
    "KnowledgeTransferLoss",
    "LayerCompression",
    "LowRankLinear",
    "MonochromaticConv",
    "SeparableLowRankConv",
    "TTEmbedding",
    "TTGRUCell",
    "TTLinear",
    "TuckerConv",
    "TuckerGRUCell",
    "TuckerLinear",
    "balanced_modes",
    "compress",
    "feature_distance",
    "force_potential",
    "force_regularization",
    "kmeans",
    "knowledge_transfer_loss",
    "soft_cross_entropy",
]
