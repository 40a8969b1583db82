"""Communication-efficient algorithms for arrays sharded over a device mesh (``shard_map``
with explicit collectives).

Every routine here takes an array sharded with a ``NamedSharding`` (or a ``mesh`` and a
``spec``), states in its docstring the bytes it moves per iteration, and never gathers the
whole tensor or matrix onto one device; :func:`communication` measures what a compiled program
moves. The public routines of :mod:`lrjax` also accept sharded inputs (the compiler then
decides what moves); these are for when that is too much.
"""

from ._comm import Collective as Collective
from ._comm import communication as communication
from ._comm import sweep_bytes as sweep_bytes
from ._consensus import ConsensusResult as ConsensusResult
from ._consensus import DGDResult as DGDResult
from ._consensus import dgd as dgd
from ._consensus import dgd_local as dgd_local
from ._cp import cp_als as cp_als
from ._cp import cp_gradient as cp_gradient
from ._rows import complete_matrix as complete_matrix
from ._rows import fd_merge_rows as fd_merge_rows
from ._rows import frequent_directions as frequent_directions
from ._rows import robust_pca as robust_pca
from ._sketching import recover_sketched as recover_sketched
from ._sketching import sketch_columns as sketch_columns
from ._svd import prox_nuclear_rows as prox_nuclear_rows
from ._svd import randomized_svd as randomized_svd
from ._svd import truncated_svd as truncated_svd
from ._svd import tsqr as tsqr
from ._tucker import hosvd as hosvd
from ._tucker import tucker_hooi as tucker_hooi

__all__ = [
    "Collective",
    "ConsensusResult",
    "DGDResult",
    "communication",
    "complete_matrix",
    "cp_als",
    "cp_gradient",
    "dgd",
    "dgd_local",
    "fd_merge_rows",
    "frequent_directions",
    "hosvd",
    "prox_nuclear_rows",
    "randomized_svd",
    "recover_sketched",
    "robust_pca",
    "sketch_columns",
    "sweep_bytes",
    "truncated_svd",
    "tsqr",
    "tucker_hooi",
]
