"""Factorized containers: frozen pytree dataclasses with ``to_dense()`` and ``norm()``."""

from ._cp import CPTensor as CPTensor
from ._lowrank import LowRankMatrix as LowRankMatrix
from ._tt import TTTensor as TTTensor
from ._tucker import TuckerTensor as TuckerTensor

__all__ = ["CPTensor", "LowRankMatrix", "TTTensor", "TuckerTensor"]
