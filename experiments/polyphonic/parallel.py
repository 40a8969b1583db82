"""Data-parallel and multi-process training for the polyphonic runner, on JAX's own runtime.

``config.mesh.data`` devices (``-1``: every device of every process) form one ``"data"`` mesh
axis: each padded batch is split along its sequences, the parameters, optimiser state and
moving average are replicated, and the compiler reduces the gradients (an all-reduce of the
parameter-sized gradient per step). On one device nothing is placed: the run is the
single-device program.

Several processes (hosts, or local processes in tests) join through
``jax.distributed.initialize``, driven by ``config.distributed`` or, where a field is left at
its default, by the environment variables ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``
and ``JAX_PROCESS_ID``. Every process reads the same data, draws the same batches (they are
functions of the seed and step) and feeds its own devices' rows; process 0 alone writes the
workdir's records, every process takes part in the checkpoint (Orbax).
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

from experiments._workdir import DistributedStartError

_ENV = {
    "coordinator_address": "JAX_COORDINATOR_ADDRESS",
    "num_processes": "JAX_NUM_PROCESSES",
    "process_id": "JAX_PROCESS_ID",
}


def mesh_problems(config) -> list[str]:
    """The problems with ``config.mesh`` and ``config.distributed`` (static checks: nothing
    here starts JAX)."""
    problems = []
    mesh = config.get("mesh")
    data = mesh.get("data") if hasattr(mesh, "get") else None
    if isinstance(data, bool) or not isinstance(data, int) or not (data >= 1 or data == -1):
        problems.append(
            f"config.mesh.data must be a positive number of devices or -1 (all), got {data!r}"
        )
    dist = config.get("distributed")
    if dist is None:
        return problems
    try:
        settings = distributed_settings(config)
    except ValueError as err:
        return [*problems, str(err)]
    n, pid = settings["num_processes"], settings["process_id"]
    if n is not None and pid is not None and not 0 <= pid < n:
        problems.append(
            f"config.distributed.process_id must be in [0, num_processes = {n}), got {pid}"
        )
    timeout = dist.get("timeout_s", 300)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        problems.append(f"config.distributed.timeout_s must be a positive int, got {timeout!r}")
    return problems


def distributed_settings(config) -> dict:
    """``coordinator_address``, ``num_processes`` and ``process_id`` from
    ``config.distributed``, each falling back to its environment variable; all None for a
    single-process run. ``coordinator_address = "auto"`` leaves all three to JAX's cluster
    detection (TPU slices, Slurm, Open MPI).

    Raises:
        ValueError: for a value that is not an address or an int, or a partial setting.
    """
    dist = config.get("distributed") or {}
    out: dict = {}
    for field, env in _ENV.items():
        value = dist.get(field, "" if field == "coordinator_address" else -1)
        source = f"config.distributed.{field}"
        if value in ("", -1, None):
            value, source = os.environ.get(env) or None, env
        if value is not None and field != "coordinator_address":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"{source} must be an int, got {value!r}") from None
        if field == "num_processes" and value is not None and value < 1:
            raise ValueError(f"{source} must be a positive int, got {value!r}")
        out[field] = value
    if out["coordinator_address"] == "auto":  # the cluster says (TPU, Slurm, Open MPI)
        return out
    given = [k for k, v in out.items() if v is not None]
    if given and len(given) < 3:
        missing = [f"config.distributed.{k} (or {_ENV[k]})" for k in out if out[k] is None]
        raise ValueError(
            f"a multi-process run needs all of coordinator_address, num_processes and "
            f"process_id; {', '.join(missing)} not set"
        )
    return out


def initialize(config) -> None:
    """Join the other processes when ``config.distributed`` (or the environment) names a
    coordinator; a no-op otherwise, and when this process has already joined.

    The JAX runtime *aborts* the process (``DEADLINE_EXCEEDED``, exit by SIGABRT) when not
    every process has joined within ``config.distributed.timeout_s``: the line this prints to
    stderr just before joining names the settings to check. Nothing in the workdir has been
    touched at that point, so the run starts again as it was.

    Raises:
        DistributedStartError: when the join fails with an exception, or the processes that
            joined are not ``num_processes`` (two processes given different counts).
    """
    settings = distributed_settings(config)
    if settings["coordinator_address"] is None or _joined():
        return
    timeout = int((config.get("distributed") or {}).get("timeout_s", 300))
    n, pid, address = (settings[k] for k in ("num_processes", "process_id", "coordinator_address"))
    where = (
        f"process {pid} of config.distributed.num_processes = {n} joining the coordinator at "
        f"config.distributed.coordinator_address = {address!r}"
    )
    print(
        f"{where} (config.distributed.timeout_s = {timeout}); should the runtime abort with "
        "DEADLINE_EXCEEDED, not all of process_id 0 .. num_processes - 1 started with this "
        "address: start them all (the workdir has not been touched)",
        file=sys.stderr,
        flush=True,
    )
    try:
        if address == "auto":  # TPU slices, Slurm, Open MPI: JAX reads the cluster's settings
            jax.distributed.initialize(initialization_timeout=timeout)
            return
        jax.distributed.initialize(address, n, pid, initialization_timeout=timeout)
    except Exception as err:  # the runtime raises XlaRuntimeError / RuntimeError variants
        message = str(err).strip().splitlines()[0][:300] if str(err).strip() else repr(err)
        raise DistributedStartError(
            f"{where} failed ({type(err).__name__}: {message}); the workdir was not touched"
        ) from None
    if jax.process_count() != n:
        raise DistributedStartError(
            f"{where}: the coordinator runs {jax.process_count()} processes, not "
            f"config.distributed.num_processes = {n}; give every process the same count (the "
            "workdir was not touched)"
        )


def _joined() -> bool:
    from jax._src import distributed

    return distributed.global_state.client is not None


def data_mesh(config) -> jax.sharding.Mesh | None:
    """The ``"data"`` mesh the config asks for, or None when it has one device (the run is
    then the single-device program).

    Raises:
        ValueError: when ``config.mesh.data`` asks for more devices than there are, or a
            count the processes cannot share evenly.
    """
    want = int(config.mesh.data) if "mesh" in config else -1
    devices = jax.devices()
    n = len(devices) if want == -1 else want
    if n > len(devices):
        raise ValueError(
            f"config.mesh.data = {want} asks for more devices than the {len(devices)} there are"
        )
    if n % jax.process_count():
        raise ValueError(
            f"config.mesh.data = {want} must be a multiple of the {jax.process_count()} "
            "processes (each feeds its own devices)"
        )
    if n == 1:
        return None
    per_process = n // jax.process_count()
    chosen = [d for p in range(jax.process_count())
              for d in [d for d in devices if d.process_index == p][:per_process]]  # fmt: skip
    return jax.make_mesh((n,), ("data",), axis_types=(AxisType.Auto,), devices=chosen)


def is_writer() -> bool:
    """Whether this process writes the workdir's records (process 0)."""
    return jax.process_index() == 0


def replicate(tree, mesh):
    """Every array of ``tree`` replicated on ``mesh`` (same values on every process)."""
    if mesh is None:
        return tree
    sharding = NamedSharding(mesh, P())

    def put(a):
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)


def shard_batch(arrays, mesh):
    """Each array's leading (sequence) axis split over the ``"data"`` axis; the rows are first
    padded to a multiple of the axis size with zeros, which the zero mask keeps out of every
    sum (the loss is a sum over masked frames divided by their count)."""
    if mesh is None:
        return arrays
    size = mesh.shape["data"]
    sharding = NamedSharding(mesh, P("data"))
    out = []
    for a in arrays:
        pad = -a.shape[0] % size
        if pad:
            a = np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)])
        out.append(jax.make_array_from_callback(a.shape, sharding, lambda index, a=a: a[index]))
    return tuple(out)


def agree(ok: bool) -> bool:
    """Process 0's ``ok`` on every process (a barrier): the others learn that process 0
    refused to run (a busy workdir, a config that does not match the recorded run) instead of
    waiting for it in a collective."""
    if jax.process_count() == 1:
        return ok
    from jax.experimental import multihost_utils

    return bool(multihost_utils.broadcast_one_to_all(np.int32(ok)))
