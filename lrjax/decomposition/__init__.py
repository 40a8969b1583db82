"""User-facing decomposition algorithms."""

from ._block_term import BlockTermResult as BlockTermResult
from ._block_term import block_term as block_term
from ._candelinc import CandelincResult as CandelincResult
from ._candelinc import candelinc as candelinc
from ._cmtf import CMTFResult as CMTFResult
from ._cmtf import cmtf as cmtf
from ._completion import CompletionResult as CompletionResult
from ._completion import CompletionSVT as CompletionSVT
from ._completion import SoftImpute as SoftImpute
from ._completion import complete_matrix as complete_matrix
from ._compressed import CompressedFactorizationResult as CompressedFactorizationResult
from ._compressed import NMFResult as NMFResult
from ._compressed import SparsePCAResult as SparsePCAResult
from ._compressed import compressed_factorization as compressed_factorization
from ._compressed import nmf as nmf
from ._compressed import sparse_pca as sparse_pca
from ._cp import CPResult as CPResult
from ._cp import cp_als as cp_als
from ._cp_apr import cp_apr as cp_apr
from ._cp_apr import poisson_nll as poisson_nll
from ._cp_complete import cp_complete as cp_complete
from ._cp_constrained import cp_constrained as cp_constrained
from ._cp_generalized import cp_generalized as cp_generalized
from ._cp_nonneg import cp_nonneg as cp_nonneg
from ._cp_opt import cp_opt as cp_opt
from ._cp_power import cp_power as cp_power
from ._cp_randomized import cp_randomized as cp_randomized
from ._dedicom import DedicomResult as DedicomResult
from ._dedicom import Paratuck2Result as Paratuck2Result
from ._dedicom import dedicom as dedicom
from ._dedicom import paratuck2 as paratuck2
from ._indscal import indscal as indscal
from ._parafac2 import Parafac2Result as Parafac2Result
from ._parafac2 import parafac2 as parafac2
from ._regression import TensorRegressionResult as TensorRegressionResult
from ._regression import cp_regression as cp_regression
from ._regression import regression_predict as regression_predict
from ._regression import tucker_regression as tucker_regression
from ._robust import LowRankProx as LowRankProx
from ._robust import RandomizedSVT as RandomizedSVT
from ._robust import RobustPCAResult as RobustPCAResult
from ._robust import robust_pca as robust_pca
from ._robust import tensor_robust_pca as tensor_robust_pca
from ._tr import TRResult as TRResult
from ._tr import tr_als as tr_als
from ._tr import tr_svd as tr_svd
from ._tt import tt_matrix_svd as tt_matrix_svd
from ._tt import tt_svd as tt_svd
from ._tt import tt_svd_adaptive as tt_svd_adaptive
from ._tt_cross import tt_cross as tt_cross
from ._tt_oi import TTResult as TTResult
from ._tt_oi import tt_oi as tt_oi
from ._tucker import TuckerResult as TuckerResult
from ._tucker import hosvd as hosvd
from ._tucker import tucker_hooi as tucker_hooi
from ._tucker_nonneg import tucker_nonneg as tucker_nonneg
from ._wlra import WLRAResult as WLRAResult
from ._wlra import wlra as wlra

__all__ = [
    "BlockTermResult",
    "CMTFResult",
    "CPResult",
    "CandelincResult",
    "CompletionResult",
    "CompletionSVT",
    "CompressedFactorizationResult",
    "DedicomResult",
    "LowRankProx",
    "NMFResult",
    "Parafac2Result",
    "Paratuck2Result",
    "RandomizedSVT",
    "RobustPCAResult",
    "SoftImpute",
    "SparsePCAResult",
    "TRResult",
    "TTResult",
    "TensorRegressionResult",
    "TuckerResult",
    "WLRAResult",
    "block_term",
    "candelinc",
    "cmtf",
    "complete_matrix",
    "compressed_factorization",
    "cp_als",
    "cp_apr",
    "cp_complete",
    "cp_constrained",
    "cp_generalized",
    "cp_nonneg",
    "cp_opt",
    "cp_power",
    "cp_randomized",
    "cp_regression",
    "dedicom",
    "hosvd",
    "indscal",
    "nmf",
    "parafac2",
    "paratuck2",
    "poisson_nll",
    "regression_predict",
    "robust_pca",
    "sparse_pca",
    "tensor_robust_pca",
    "tr_als",
    "tr_svd",
    "tt_cross",
    "tt_matrix_svd",
    "tt_oi",
    "tt_svd",
    "tt_svd_adaptive",
    "tucker_hooi",
    "tucker_nonneg",
    "tucker_regression",
    "wlra",
]
