"""What every iterative routine reports about its run."""

from __future__ import annotations

from typing import NamedTuple

from jaxtyping import Array, Bool, Float, Int


class SolverInfo(NamedTuple):
    """Convergence record of an iterative solver (a pytree; batches under ``vmap``).

    Attributes:
        n_iter: number of iterations run.
        error: final error (for decompositions, the relative reconstruction error
            ``||x - x_hat||_F / ||x||_F``); non-finite when the run broke down.
        converged: True when the stopping test was met before ``maxiter`` and the error
            is finite.
        history: the error after each iteration, fixed length ``maxiter``; entries past
            ``n_iter`` are NaN.
    """

    n_iter: Int[Array, ""]
    error: Float[Array, ""]
    converged: Bool[Array, ""]
    history: Float[Array, " maxiter"]
