"""User-facing decomposition algorithms."""

from ._cp import CPResult as CPResult
from ._cp import cp_als as cp_als
from ._tt import tt_svd as tt_svd
from ._tt import tt_svd_adaptive as tt_svd_adaptive
from ._tucker import TuckerResult as TuckerResult
from ._tucker import hosvd as hosvd
from ._tucker import tucker_hooi as tucker_hooi

__all__ = [
    "CPResult",
    "TuckerResult",
    "cp_als",
    "hosvd",
    "tt_svd",
    "tt_svd_adaptive",
    "tucker_hooi",
]
