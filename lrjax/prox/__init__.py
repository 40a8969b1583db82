"""Proximal operators and projections, one signature: ``prox(x, hyperparams, scaling=1.0)``.

Each returns :math:`\\arg\\min_z \\tfrac12\\|z - x\\|^2 + s\\,g(z; \\theta)`.
"""

from ._penalties import prox_capped_l1 as prox_capped_l1
from ._penalties import prox_log_sum as prox_log_sum
from ._penalties import prox_mcp as prox_mcp
from ._penalties import prox_scad as prox_scad
from ._penalties import prox_schatten_p as prox_schatten_p
from ._shape import projection_monotone as projection_monotone
from ._shape import projection_unimodal as projection_unimodal
from ._shape import prox_smooth as prox_smooth
from ._spectral import generalized_svt as generalized_svt
from ._spectral import projection_rank as projection_rank
from ._spectral import prox_nuclear as prox_nuclear
from ._spectral import prox_nuclear_randomized as prox_nuclear_randomized
from ._spectral import prox_tensor_nuclear as prox_tensor_nuclear
from ._spectral import prox_weighted_nuclear as prox_weighted_nuclear
from ._vector import projection_box as projection_box
from ._vector import projection_l2_ball as projection_l2_ball
from ._vector import projection_simplex as projection_simplex
from ._vector import prox_elastic_net as prox_elastic_net
from ._vector import prox_group_l21 as prox_group_l21
from ._vector import prox_ksupport_sq as prox_ksupport_sq
from ._vector import prox_l1 as prox_l1
from ._vector import prox_l2 as prox_l2
from ._vector import prox_nonneg as prox_nonneg

__all__ = [
    "generalized_svt",
    "projection_box",
    "projection_l2_ball",
    "projection_monotone",
    "projection_rank",
    "projection_simplex",
    "projection_unimodal",
    "prox_capped_l1",
    "prox_elastic_net",
    "prox_group_l21",
    "prox_ksupport_sq",
    "prox_l1",
    "prox_l2",
    "prox_log_sum",
    "prox_mcp",
    "prox_nonneg",
    "prox_nuclear",
    "prox_nuclear_randomized",
    "prox_scad",
    "prox_schatten_p",
    "prox_smooth",
    "prox_tensor_nuclear",
    "prox_weighted_nuclear",
]
