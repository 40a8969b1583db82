"""lrjax: differentiable low-rank matrix and tensor decompositions in JAX.

Every routine is a pure function over pytrees that runs under ``jax.jit``, ``jax.vmap`` and
``jax.grad``. Subpackages: :mod:`lrjax.tensors` (factorized containers), :mod:`lrjax.linalg`
(multilinear algebra and SVDs), :mod:`lrjax.prox` (proximal operators), :mod:`lrjax.solvers`
(iteration driver, implicit differentiation), :mod:`lrjax.decomposition` (algorithms,
re-exported here), :mod:`lrjax.imaging` (non-local denoising, background and face models),
:mod:`lrjax.metric_learning` (FLRML, k-NN), :mod:`lrjax.bandits` (low-rank dynamic pricing),
:mod:`lrjax.nn` (Flax layers, imported on its own).
"""

from . import bandits as bandits
from . import decomposition as decomposition
from . import imaging as imaging
from . import linalg as linalg
from . import metric_learning as metric_learning
from . import metrics as metrics
from . import prox as prox
from . import solvers as solvers
from . import tensors as tensors
from . import testing as testing
from .decomposition import BlockTermResult as BlockTermResult
from .decomposition import CandelincResult as CandelincResult
from .decomposition import CMTFResult as CMTFResult
from .decomposition import CompletionResult as CompletionResult
from .decomposition import CompletionSVT as CompletionSVT
from .decomposition import CompressedFactorizationResult as CompressedFactorizationResult
from .decomposition import CPResult as CPResult
from .decomposition import DedicomResult as DedicomResult
from .decomposition import LowRankProx as LowRankProx
from .decomposition import NMFResult as NMFResult
from .decomposition import Parafac2Result as Parafac2Result
from .decomposition import Paratuck2Result as Paratuck2Result
from .decomposition import RandomizedSVT as RandomizedSVT
from .decomposition import RobustPCAResult as RobustPCAResult
from .decomposition import SoftImpute as SoftImpute
from .decomposition import SparsePCAResult as SparsePCAResult
from .decomposition import TensorRegressionResult as TensorRegressionResult
from .decomposition import TRResult as TRResult
from .decomposition import TTResult as TTResult
from .decomposition import TuckerResult as TuckerResult
from .decomposition import WLRAResult as WLRAResult
from .decomposition import block_term as block_term
from .decomposition import candelinc as candelinc
from .decomposition import cmtf as cmtf
from .decomposition import complete_matrix as complete_matrix
from .decomposition import compressed_factorization as compressed_factorization
from .decomposition import cp_als as cp_als
from .decomposition import cp_apr as cp_apr
from .decomposition import cp_complete as cp_complete
from .decomposition import cp_constrained as cp_constrained
from .decomposition import cp_generalized as cp_generalized
from .decomposition import cp_nonneg as cp_nonneg
from .decomposition import cp_opt as cp_opt
from .decomposition import cp_power as cp_power
from .decomposition import cp_randomized as cp_randomized
from .decomposition import cp_regression as cp_regression
from .decomposition import dedicom as dedicom
from .decomposition import hosvd as hosvd
from .decomposition import indscal as indscal
from .decomposition import nmf as nmf
from .decomposition import parafac2 as parafac2
from .decomposition import paratuck2 as paratuck2
from .decomposition import regression_predict as regression_predict
from .decomposition import robust_pca as robust_pca
from .decomposition import sparse_pca as sparse_pca
from .decomposition import tensor_robust_pca as tensor_robust_pca
from .decomposition import tr_als as tr_als
from .decomposition import tr_svd as tr_svd
from .decomposition import tt_cross as tt_cross
from .decomposition import tt_matrix_svd as tt_matrix_svd
from .decomposition import tt_oi as tt_oi
from .decomposition import tt_svd as tt_svd
from .decomposition import tt_svd_adaptive as tt_svd_adaptive
from .decomposition import tucker_hooi as tucker_hooi
from .decomposition import tucker_nonneg as tucker_nonneg
from .decomposition import tucker_regression as tucker_regression
from .decomposition import wlra as wlra
from .linalg import frequent_directions as frequent_directions
from .linalg import randomized_svd as randomized_svd
from .linalg import truncated_svd as truncated_svd
from .linalg import tt_gather as tt_gather
from .linalg import tt_orthogonalize as tt_orthogonalize
from .linalg import tt_project as tt_project
from .linalg import tt_round as tt_round
from .solvers import SolverInfo as SolverInfo
from .tensors import BlockTermTensor as BlockTermTensor
from .tensors import CPTensor as CPTensor
from .tensors import DedicomTensor as DedicomTensor
from .tensors import LowRankMatrix as LowRankMatrix
from .tensors import Parafac2Tensor as Parafac2Tensor
from .tensors import Paratuck2Tensor as Paratuck2Tensor
from .tensors import TRTensor as TRTensor
from .tensors import TTMatrix as TTMatrix
from .tensors import TTTensor as TTTensor
from .tensors import TuckerTensor as TuckerTensor
from .tensors import tt_add as tt_add
from .tensors import tt_inner as tt_inner
from .tensors import tt_matmul as tt_matmul
from .tensors import tt_multiply as tt_multiply

__version__ = "0.1.0"

__all__ = [
    "BlockTermResult",
    "BlockTermTensor",
    "CMTFResult",
    "CPResult",
    "CPTensor",
    "CandelincResult",
    "CompletionResult",
    "CompletionSVT",
    "CompressedFactorizationResult",
    "DedicomResult",
    "DedicomTensor",
    "LowRankMatrix",
    "LowRankProx",
    "NMFResult",
    "Parafac2Result",
    "Parafac2Tensor",
    "Paratuck2Result",
    "Paratuck2Tensor",
    "RandomizedSVT",
    "RobustPCAResult",
    "SoftImpute",
    "SolverInfo",
    "SparsePCAResult",
    "TRResult",
    "TRTensor",
    "TTMatrix",
    "TTResult",
    "TTTensor",
    "TensorRegressionResult",
    "TuckerResult",
    "TuckerTensor",
    "WLRAResult",
    "__version__",
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
    "frequent_directions",
    "hosvd",
    "indscal",
    "linalg",
    "metrics",
    "nmf",
    "parafac2",
    "paratuck2",
    "prox",
    "randomized_svd",
    "regression_predict",
    "robust_pca",
    "solvers",
    "sparse_pca",
    "tensor_robust_pca",
    "tensors",
    "testing",
    "tr_als",
    "tr_svd",
    "truncated_svd",
    "tt_add",
    "tt_cross",
    "tt_gather",
    "tt_inner",
    "tt_matmul",
    "tt_matrix_svd",
    "tt_multiply",
    "tt_oi",
    "tt_orthogonalize",
    "tt_project",
    "tt_round",
    "tt_svd",
    "tt_svd_adaptive",
    "tucker_hooi",
    "tucker_nonneg",
    "tucker_regression",
    "wlra",
]
