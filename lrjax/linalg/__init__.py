"""Multilinear algebra: unfoldings, mode products, Khatri-Rao/MTTKRP, truncated and
randomized SVD."""

from ._mttkrp import mttkrp as mttkrp
from ._mttkrp import partial_mttkrp as partial_mttkrp
from ._products import khatri_rao as khatri_rao
from ._products import kronecker as kronecker
from ._sketch import fd_finalize as fd_finalize
from ._sketch import fd_init as fd_init
from ._sketch import fd_update as fd_update
from ._sketch import frequent_directions as frequent_directions
from ._small import orthonormalize as orthonormalize
from ._small import spd_inverse as spd_inverse
from ._spectral import singular_value_map as singular_value_map
from ._svd import leading_left_singular_vectors as leading_left_singular_vectors
from ._svd import randomized_svd as randomized_svd
from ._svd import svd_flip as svd_flip
from ._svd import truncated_svd as truncated_svd
from ._threads import lapack_threads as lapack_threads
from ._tt import tt_round as tt_round
from ._unfold import fold as fold
from ._unfold import mode_dot as mode_dot
from ._unfold import multi_mode_dot as multi_mode_dot
from ._unfold import unfold as unfold

__all__ = [
    "fd_finalize",
    "fd_init",
    "fd_update",
    "fold",
    "frequent_directions",
    "khatri_rao",
    "kronecker",
    "lapack_threads",
    "leading_left_singular_vectors",
    "mode_dot",
    "mttkrp",
    "multi_mode_dot",
    "orthonormalize",
    "partial_mttkrp",
    "randomized_svd",
    "singular_value_map",
    "spd_inverse",
    "svd_flip",
    "truncated_svd",
    "tt_round",
    "unfold",
]
