"""One of the processes of tests/distributed/test_multiprocess.py (not a test module).

Joined through the environment (``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``,
``JAX_PROCESS_ID``), it trains the tiny polyphonic config data-parallel across the processes,
then decomposes one tensor split between them (mode 0 over the processes' devices) with
``lrjax.cp_als`` and ``lrjax.distributed.cp_als``, and writes what it got to
``<out>/process<id>.json``.

    python tests/distributed/two_process_worker.py OUT WORKDIR
"""

from __future__ import annotations

import json
import os
import sys


def main(out: str, workdir: str) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import AxisType, NamedSharding
    from jax.sharding import PartitionSpec as P

    import lrjax
    import lrjax.distributed as ld
    from experiments.polyphonic.configs import tiny
    from experiments.polyphonic.main import run

    config = tiny.get_config()
    config.distributed.timeout_s = 60
    result = run(config, workdir)  # joins the other process (jax.distributed.initialize)
    assert jax.process_count() == 2, jax.process_count()

    x = np.asarray(lrjax.testing.random_cp(jax.random.key(7), (8, 6, 5), 3).to_dense())
    mesh = jax.make_mesh((jax.device_count(),), ("x",), axis_types=(AxisType.Explicit,))
    xs = jax.make_array_from_callback(x.shape, NamedSharding(mesh, P("x")), lambda i: x[i])
    dense = {}
    for name, fn in (("lrjax", lrjax.cp_als), ("distributed", ld.cp_als)):
        res = fn(xs, 3, tol=1e-12, maxiter=200)
        dense[name] = multihost_utils.process_allgather(res.cp.to_dense(), tiled=True).tolist()
    record = {
        "process": jax.process_index(),
        "devices": jax.device_count(),
        "local_rows": [s.data.shape[0] for s in xs.addressable_shards],
        "result": result,
        "dense": dense,
    }
    with open(os.path.join(out, f"process{jax.process_index()}.json"), "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
