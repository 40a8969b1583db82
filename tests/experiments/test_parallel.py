"""Data-parallel polyphonic training on 8 host devices: the single-device metrics, checkpoints
that resume on another device count, the batch layout, and bad mesh / process settings."""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("orbax.checkpoint")

from experiments.polyphonic import parallel
from experiments.polyphonic.configs import tiny
from experiments.polyphonic.configuration import validate
from experiments.polyphonic.main import Interrupted, run

# float32 training; the devices sum the batch's frames in another order than one device does
RTOL = 1e-5


def _config(devices: int, **overrides):
    c = tiny.get_config()
    c.mesh.data = devices
    for k, v in overrides.items():
        setattr(c, k, v)
    return c


def _same_metrics(a: dict, b: dict) -> None:
    for key in ("valid_nll", "test_nll"):
        np.testing.assert_allclose(a[key], b[key], rtol=RTOL, err_msg=key)
    assert abs(a["test_acc"] - b["test_acc"]) < 1e-3
    assert a["best_epoch"] == b["best_epoch"] and a["epochs_run"] == b["epochs_run"]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return run(_config(1), tmp_path_factory.mktemp("one"))


def test_eight_devices_give_the_single_device_metrics(single, tmp_path):
    assert jax.device_count() == 8
    mesh = parallel.data_mesh(_config(-1))
    assert mesh is not None and mesh.shape["data"] == 8
    assert parallel.data_mesh(_config(1)) is None  # one device: the single-device program
    _same_metrics(run(_config(-1), tmp_path), single)


def test_a_checkpoint_written_on_eight_devices_resumes_on_one_and_on_four(single, tmp_path):
    first = tmp_path / "eight"
    with pytest.raises(Interrupted):  # killed after 3 of 4 steps; checkpoint of step 2 kept
        run(_config(8, stop_after_steps=3), first)
    for devices in (1, 4):
        work = tmp_path / f"on{devices}"
        shutil.copytree(first, work)
        _same_metrics(run(_config(devices), work), single)


def test_batches_are_split_over_the_data_axis_and_padded_with_masked_rows():
    mesh = parallel.data_mesh(_config(4))
    x = np.arange(6 * 3 * 2, dtype=np.float32).reshape(6, 3, 2)
    mask = np.ones((6, 3), np.float32)
    xs, ms = parallel.shard_batch((x, mask), mesh)
    assert xs.shape == (8, 3, 2) and xs.sharding.spec == jax.sharding.PartitionSpec("data")
    assert len(xs.addressable_shards) == 4 and xs.addressable_shards[0].data.shape[0] == 2
    np.testing.assert_array_equal(np.asarray(xs)[:6], x)
    np.testing.assert_array_equal(np.asarray(ms)[6:], 0.0)  # padded rows carry no frames
    w = parallel.replicate({"w": np.ones((3, 2), np.float32)}, mesh)["w"]
    assert w.sharding.is_fully_replicated and len(w.addressable_shards) == 4


def test_bad_mesh_and_process_settings_are_named(monkeypatch):
    import ml_collections

    for bad in (0, -2, "all", 2.0, True):
        c = _config(1)
        c.mesh = ml_collections.ConfigDict({"data": bad})  # as a config file may set it
        assert any("config.mesh.data" in p for p in validate(c)), bad
    with pytest.raises(ValueError, match="more devices than the 8"):
        parallel.data_mesh(_config(16))
    c = _config(1)
    c.distributed.num_processes, c.distributed.process_id = 2, 2
    c.distributed.coordinator_address = "127.0.0.1:1"
    assert any("process_id must be in [0, num_processes = 2)" in p for p in validate(c))
    c.distributed.process_id = 0
    c.distributed.timeout_s = 0
    assert any("timeout_s" in p for p in validate(c))
    c = _config(1)
    c.distributed.num_processes = 2  # no coordinator, no process id
    assert any("coordinator_address" in p and "process_id" in p for p in validate(c))
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    assert any("JAX_NUM_PROCESSES must be an int" in p for p in validate(_config(1)))
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "127.0.0.1:1")
    settings = parallel.distributed_settings(_config(1))
    assert settings == {"coordinator_address": "127.0.0.1:1", "num_processes": 2, "process_id": 1}
    assert not validate(_config(1))
    c = _config(1)
    c.distributed.coordinator_address = "auto"  # a TPU slice / Slurm: JAX finds the rest
    assert parallel.distributed_settings(c)["coordinator_address"] == "auto"
