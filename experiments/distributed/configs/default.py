"""The two distributed papers on 8 devices (a ring of 8 agents and a 2 x 4 torus).

DGD+LOCAL (Zhu et al., NeurIPS 2019) as in their reference code: planted ``Y = U Vᵀ`` with
50 rows and rank 10, 20 columns per agent, step 2e-3, random start; plain DGD on their
least-squares illustration at two steps. Decentralized sketching (Srinivasa et al., NeurIPS
2019): 16 x 256 matrices of rank 1-4, every column sketched by its own Gaussian matrix of
1-10 rows, recovery by nuclear-norm least squares; success = relative error below 1e-2.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.dtype = "float64"
    c.agents = 8  # devices: a ring of 8, and the 2 x 4 torus

    c.consensus = ml_collections.ConfigDict()
    c.consensus.rows = 50
    c.consensus.rank = 10
    c.consensus.columns_per_agent = 20
    c.consensus.step = 2e-3
    c.consensus.iterations = 3000
    c.consensus.record_every = 50
    c.consensus.init_scale = 1.0
    c.consensus.dgd_steps = (0.1, 0.01)  # plain DGD, least squares: the O(step) gap
    c.consensus.dgd_iterations = 4000

    c.sketch = ml_collections.ConfigDict()
    c.sketch.d = 16
    c.sketch.columns = 256
    c.sketch.ranks = (1, 2, 3, 4)
    c.sketch.sizes = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    c.sketch.trials = 5
    c.sketch.lam = 1e-3
    c.sketch.stages = 8
    c.sketch.maxiter = 300
    c.sketch.success = 1e-2  # relative Frobenius error
    return c
