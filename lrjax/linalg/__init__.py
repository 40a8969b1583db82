"""Multilinear algebra: unfoldings, mode products, Khatri-Rao/MTTKRP, truncated and
randomized SVD, sketches (Gaussian, CountSketch, sparse sign, SRHT) and learned sketches,
TT rounding and the TT manifold (orthogonalization, entries, tangent-space projection)."""

from ._mttkrp import mttkrp as mttkrp
from ._mttkrp import partial_mttkrp as partial_mttkrp
from ._products import khatri_rao as khatri_rao
from ._products import kronecker as kronecker
from ._sketch import fd_finalize as fd_finalize
from ._sketch import fd_init as fd_init
from ._sketch import fd_update as fd_update
from ._sketch import frequent_directions as frequent_directions
from ._sketches import CountSketch as CountSketch
from ._sketches import GaussianSketch as GaussianSketch
from ._sketches import SparseSignSketch as SparseSignSketch
from ._sketches import SRHTSketch as SRHTSketch
from ._sketches import count_sketch as count_sketch
from ._sketches import gaussian_sketch as gaussian_sketch
from ._sketches import learn_sketch as learn_sketch
from ._sketches import sketch_loss as sketch_loss
from ._sketches import sketched_lra as sketched_lra
from ._sketches import sparse_sign_sketch as sparse_sign_sketch
from ._sketches import srht_sketch as srht_sketch
from ._small import orthonormalize as orthonormalize
from ._small import spd_inverse as spd_inverse
from ._spectral import singular_value_map as singular_value_map
from ._svd import leading_left_singular_vectors as leading_left_singular_vectors
from ._svd import randomized_svd as randomized_svd
from ._svd import svd_flip as svd_flip
from ._svd import truncated_svd as truncated_svd
from ._threads import lapack_threads as lapack_threads
from ._tt import tt_gather as tt_gather
from ._tt import tt_orthogonalize as tt_orthogonalize
from ._tt import tt_project as tt_project
from ._tt import tt_round as tt_round
from ._unfold import fold as fold
from ._unfold import mode_dot as mode_dot
from ._unfold import multi_mode_dot as multi_mode_dot
from ._unfold import unfold as unfold

__all__ = [
    "CountSketch",
    "GaussianSketch",
    "SRHTSketch",
    "SparseSignSketch",
    "count_sketch",
    "fd_finalize",
    "fd_init",
    "fd_update",
    "fold",
    "frequent_directions",
    "gaussian_sketch",
    "khatri_rao",
    "kronecker",
    "lapack_threads",
    "leading_left_singular_vectors",
    "learn_sketch",
    "mode_dot",
    "mttkrp",
    "multi_mode_dot",
    "orthonormalize",
    "partial_mttkrp",
    "randomized_svd",
    "singular_value_map",
    "sketch_loss",
    "sketched_lra",
    "sparse_sign_sketch",
    "spd_inverse",
    "srht_sketch",
    "svd_flip",
    "truncated_svd",
    "tt_gather",
    "tt_orthogonalize",
    "tt_project",
    "tt_round",
    "unfold",
]
