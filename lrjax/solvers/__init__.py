"""The iteration layer: ``SolverInfo``, the fixed-point driver, implicit differentiation,
proximal gradient (ISTA/FISTA) and ADMM."""

from ._admm import ADMMResult as ADMMResult
from ._admm import admm as admm
from ._implicit import implicit_fixed_point as implicit_fixed_point
from ._info import SolverInfo as SolverInfo
from ._loop import iterate as iterate
from ._proximal_gradient import ProximalGradientResult as ProximalGradientResult
from ._proximal_gradient import proximal_gradient as proximal_gradient

__all__ = [
    "ADMMResult",
    "ProximalGradientResult",
    "SolverInfo",
    "admm",
    "implicit_fixed_point",
    "iterate",
    "proximal_gradient",
]
