"""Factorized containers: frozen pytree dataclasses with ``to_dense()`` and ``norm()``."""

from ._block_term import BlockTermTensor as BlockTermTensor
from ._cp import CPTensor as CPTensor
from ._dedicom import DedicomTensor as DedicomTensor
from ._dedicom import Paratuck2Tensor as Paratuck2Tensor
from ._lowrank import LowRankMatrix as LowRankMatrix
from ._parafac2 import Parafac2Tensor as Parafac2Tensor
from ._tt import TTTensor as TTTensor
from ._tucker import TuckerTensor as TuckerTensor

__all__ = [
    "BlockTermTensor",
    "CPTensor",
    "DedicomTensor",
    "LowRankMatrix",
    "Parafac2Tensor",
    "Paratuck2Tensor",
    "TTTensor",
    "TuckerTensor",
]
