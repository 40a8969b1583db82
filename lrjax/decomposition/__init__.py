"""User-facing decomposition algorithms."""

from ._completion import CompletionResult as CompletionResult
from ._completion import complete_matrix as complete_matrix
from ._cp import CPResult as CPResult
from ._cp import cp_als as cp_als
from ._cp_nonneg import cp_nonneg as cp_nonneg
from ._robust import RobustPCAResult as RobustPCAResult
from ._robust import robust_pca as robust_pca
from ._robust import tensor_robust_pca as tensor_robust_pca
from ._tt import tt_svd as tt_svd
from ._tt import tt_svd_adaptive as tt_svd_adaptive
from ._tucker import TuckerResult as TuckerResult
from ._tucker import hosvd as hosvd
from ._tucker import tucker_hooi as tucker_hooi
from ._wlra import WLRAResult as WLRAResult
from ._wlra import wlra as wlra

__all__ = [
    "CPResult",
    "CompletionResult",
    "RobustPCAResult",
    "TuckerResult",
    "WLRAResult",
    "complete_matrix",
    "cp_als",
    "cp_nonneg",
    "hosvd",
    "robust_pca",
    "tensor_robust_pca",
    "tt_svd",
    "tt_svd_adaptive",
    "tucker_hooi",
    "wlra",
]
