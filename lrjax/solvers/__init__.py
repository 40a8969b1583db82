"""The iteration layer: ``SolverInfo``, the fixed-point driver, implicit differentiation,
proximal gradient (ISTA/FISTA), ADMM and Levenberg-Marquardt."""

from ._admm import ADMMResult as ADMMResult
from ._admm import admm as admm
from ._implicit import implicit_fixed_point as implicit_fixed_point
from ._implicit import implicit_stationary_point as implicit_stationary_point
from ._info import SolverInfo as SolverInfo
from ._least_squares import LeastSquaresResult as LeastSquaresResult
from ._least_squares import levenberg_marquardt as levenberg_marquardt
from ._loop import iterate as iterate
from ._proximal_gradient import ProximalGradientResult as ProximalGradientResult
from ._proximal_gradient import proximal_gradient as proximal_gradient

__all__ = [
    "ADMMResult",
    "LeastSquaresResult",
    "ProximalGradientResult",
    "SolverInfo",
    "admm",
    "implicit_fixed_point",
    "implicit_stationary_point",
    "iterate",
    "levenberg_marquardt",
    "proximal_gradient",
]
