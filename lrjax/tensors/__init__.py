"""Factorized containers: frozen pytree dataclasses with ``to_dense()`` and ``norm()``."""

from ._block_term import BlockTermTensor as BlockTermTensor
from ._cp import CPTensor as CPTensor
from ._dedicom import DedicomTensor as DedicomTensor
from ._dedicom import Paratuck2Tensor as Paratuck2Tensor
from ._dropout import tensor_dropout as tensor_dropout
from ._kronecker import kron_cholesky as kron_cholesky
from ._kronecker import kron_determinant as kron_determinant
from ._kronecker import kron_inv as kron_inv
from ._kronecker import kron_slogdet as kron_slogdet
from ._lowrank import LowRankMatrix as LowRankMatrix
from ._matching import cp_permute_factors as cp_permute_factors
from ._parafac2 import Parafac2Tensor as Parafac2Tensor
from ._tr import TRTensor as TRTensor
from ._tt import TTMatrix as TTMatrix
from ._tt import TTTensor as TTTensor
from ._tt_arith import tt_add as tt_add
from ._tt_arith import tt_bilinear_form as tt_bilinear_form
from ._tt_arith import tt_inner as tt_inner
from ._tt_arith import tt_matmul as tt_matmul
from ._tt_arith import tt_multiply as tt_multiply
from ._tt_arith import tt_transpose as tt_transpose
from ._tucker import TuckerTensor as TuckerTensor

__all__ = [
    "BlockTermTensor",
    "CPTensor",
    "DedicomTensor",
    "LowRankMatrix",
    "Parafac2Tensor",
    "Paratuck2Tensor",
    "TRTensor",
    "TTMatrix",
    "TTTensor",
    "TuckerTensor",
    "cp_permute_factors",
    "kron_cholesky",
    "kron_determinant",
    "kron_inv",
    "kron_slogdet",
    "tensor_dropout",
    "tt_add",
    "tt_bilinear_form",
    "tt_inner",
    "tt_matmul",
    "tt_multiply",
    "tt_transpose",
]
