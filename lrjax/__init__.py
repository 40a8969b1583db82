"""lrjax: differentiable low-rank matrix and tensor decompositions in JAX.

Every routine is a pure function over pytrees that runs under ``jax.jit``, ``jax.vmap`` and
``jax.grad``. Subpackages: :mod:`lrjax.tensors` (factorized containers), :mod:`lrjax.linalg`
(multilinear algebra and SVDs), :mod:`lrjax.prox` (proximal operators), :mod:`lrjax.solvers`
(iteration driver, implicit differentiation), :mod:`lrjax.decomposition` (algorithms,
re-exported here).
"""

from . import decomposition as decomposition
from . import linalg as linalg
from . import prox as prox
from . import solvers as solvers
from . import tensors as tensors
from . import testing as testing
from .decomposition import CompletionResult as CompletionResult
from .decomposition import CPResult as CPResult
from .decomposition import RobustPCAResult as RobustPCAResult
from .decomposition import TuckerResult as TuckerResult
from .decomposition import WLRAResult as WLRAResult
from .decomposition import complete_matrix as complete_matrix
from .decomposition import cp_als as cp_als
from .decomposition import cp_nonneg as cp_nonneg
from .decomposition import hosvd as hosvd
from .decomposition import robust_pca as robust_pca
from .decomposition import tensor_robust_pca as tensor_robust_pca
from .decomposition import tt_svd as tt_svd
from .decomposition import tt_svd_adaptive as tt_svd_adaptive
from .decomposition import tucker_hooi as tucker_hooi
from .decomposition import wlra as wlra
from .linalg import frequent_directions as frequent_directions
from .linalg import randomized_svd as randomized_svd
from .linalg import truncated_svd as truncated_svd
from .solvers import SolverInfo as SolverInfo
from .tensors import CPTensor as CPTensor
from .tensors import LowRankMatrix as LowRankMatrix
from .tensors import TTTensor as TTTensor
from .tensors import TuckerTensor as TuckerTensor

__version__ = "0.1.0"

__all__ = [
    "CPResult",
    "CPTensor",
    "CompletionResult",
    "LowRankMatrix",
    "RobustPCAResult",
    "SolverInfo",
    "TTTensor",
    "TuckerResult",
    "TuckerTensor",
    "WLRAResult",
    "__version__",
    "complete_matrix",
    "cp_als",
    "cp_nonneg",
    "frequent_directions",
    "hosvd",
    "linalg",
    "prox",
    "randomized_svd",
    "robust_pca",
    "solvers",
    "tensor_robust_pca",
    "tensors",
    "testing",
    "truncated_svd",
    "tt_svd",
    "tt_svd_adaptive",
    "tucker_hooi",
    "wlra",
]
