"""The iteration layer: ``SolverInfo``, the fixed-point driver and implicit differentiation."""

from ._implicit import implicit_fixed_point as implicit_fixed_point
from ._info import SolverInfo as SolverInfo
from ._loop import iterate as iterate

__all__ = ["SolverInfo", "implicit_fixed_point", "iterate"]
