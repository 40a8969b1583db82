"""Low-rank bandits for dynamic pricing (Mueller, Syrgkanis & Taddy, NeurIPS 2019): the
demand model and its simulator, the best fixed price in hindsight, and the GDG, OPOK and OPOL
pricing policies as jitted, vmap-able scans over the rounds."""

from ._common import PricingProblem as PricingProblem
from ._policies import PricingResult as PricingResult
from ._policies import dynamic_pricing as dynamic_pricing
from ._policies import fkm_parameters as fkm_parameters
from ._pricing import best_fixed_price as best_fixed_price
from ._pricing import pricing_problem as pricing_problem
from ._pricing import round_revenue as round_revenue

__all__ = [
    "PricingProblem",
    "PricingResult",
    "best_fixed_price",
    "dynamic_pricing",
    "fkm_parameters",
    "pricing_problem",
    "round_revenue",
]
