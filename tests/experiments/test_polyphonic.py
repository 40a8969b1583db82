"""The polyphonic-music runner on a tiny config: a smoke run and resume-after-kill equivalence."""

import json
import logging
import re
import shutil

import jax
import numpy as np
import pytest

pytest.importorskip("ml_collections")
pytest.importorskip("orbax.checkpoint")

from experiments.polyphonic.configs import tiny
from experiments.polyphonic.configuration import check_config
from experiments.polyphonic.input_pipeline import (
    bucket_length,
    load_splits,
    train_batches,
    train_chunks,
)
from experiments.polyphonic.main import Diverged, Interrupted, run
from experiments.polyphonic.records import partial_result
from experiments.polyphonic.report import main as report_main
from experiments.polyphonic.train import train_step


def _config(**overrides):
    c = tiny.get_config()
    for k, v in overrides.items():
        setattr(c, k, v)
    return c


def test_one_epoch_smoke_run(tmp_path):
    result = run(_config(max_epochs=1), tmp_path)
    for name in ("metrics.jsonl", "summary.md", "result.json", "learning_curves.png"):
        assert (tmp_path / name).is_file(), name
    (record,) = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert np.isfinite(record["valid"]["nll"]) and 0 <= record["test"]["acc"] <= 100
    assert result["test_nll"] == record["test"]["nll"]
    assert record["train_frames"] == _train_predictions()
    # the untrained model is near 88 log 2 = 61 nats; one epoch must already improve on it
    assert result["test_nll"] < 61.0
    # TT cores (1,2,4,2) (2,2,2,2) (2,2,6,1) for input and (1,4,4,2) (2,2,2,2) (2,2,6,1) for the
    # recurrent map (hidden 16 = 4x2x2, last output mode tripled), plus one bias of 48
    assert result["cell_params"] == (16 + 16 + 24) + (32 + 16 + 24) + 48
    assert "published TT-GRU" in (tmp_path / "summary.md").read_text()


def _train_predictions() -> int:
    """Frames to predict in the tiny config's training split (T - 1 per sequence)."""
    return sum(s.shape[0] - 1 for s in load_splits(_config())["train"])


def _strip(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_resume_after_interruption_gives_the_same_result(tmp_path):
    # Trained on chunks of at most 15 predicted frames (the tiny config: 12 sequences of <= 40):
    # 20 and 21 steps in the two epochs, the number changing with the random cuts.
    # The learning rate halves after every epoch (its state must resume too), under AdamW.
    cfg = dict(
        batch_size=2,
        train_chunk=15,
        weight_decay=0.05,
        checkpoint_every_steps=10,  # saves are a third of this test's time: few of them
        max_epochs=2,
        lr_decay=0.5,
        lr_patience=0,
        ema_decay=0.9,
    )  # the moving average is checkpointed as well
    straight = run(_config(**cfg), tmp_path / "a")
    read = lambda d: [
        json.loads(x) for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()
    ]
    steps = [r["step"] for r in read("a")]
    assert steps[0] != steps[1] - steps[0]  # other cuts, another number of pieces
    assert (steps[0] + 2) % 10 != 0  # the kill below falls between checkpoints
    with pytest.raises(Interrupted):
        run(_config(stop_after_steps=steps[0] + 2, **cfg), tmp_path / "b")  # mid-epoch 2
    partial = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert len(partial) == 1
    resumed = run(_config(**cfg), tmp_path / "b")
    assert resumed == straight
    assert resumed["train_chunk"] == 15 and resumed["weight_decay"] == 0.05
    assert _strip(read("a")) == _strip(read("b"))
    # each epoch predicts every frame of the training split once
    assert [r["train_frames"] for r in read("b")] == [_train_predictions()] * 2
    lr = tiny.get_config().learning_rate
    np.testing.assert_allclose([r["lr"] for r in read("b")], [lr, lr / 2], rtol=1e-6)


def test_resume_with_another_config_is_refused(tmp_path):
    with pytest.raises(Interrupted):
        run(_config(stop_after_steps=3), tmp_path)  # killed in epoch 2 of 2
    saved = (tmp_path / "config.json").read_text()
    lr = tiny.get_config().learning_rate
    with pytest.raises(ValueError, match=re.escape(f"learning_rate: {lr!r} in the run, 0.5 given")):
        run(_config(learning_rate=0.5), tmp_path)
    bad = _config()
    bad.cell.rank = (1, 3, 3, 1)
    with pytest.raises(ValueError, match=r"cell\.rank: \[1, 2, 2, 1\] in the run"):
        run(bad, tmp_path)
    assert (tmp_path / "config.json").read_text() == saved  # the record is not overwritten
    # fields that only say when to stop / what to print may change
    check_config(tmp_path, _config(max_epochs=5, progress=True, patience=3))
    # a workdir with a config but nothing trained yet (a start that failed early) is re-recorded
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    check_config(fresh, _config())
    check_config(fresh, _config(learning_rate=0.5))
    assert '"learning_rate": 0.5' in (fresh / "config.json").read_text()


def test_non_finite_step_is_skipped():
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from experiments.polyphonic.model import MusicRNN
    from experiments.polyphonic.train import pure_params

    model = MusicRNN(_config(), rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    ema = pure_params(model)
    y = (np.arange(2 * 8 * 88).reshape(2, 8, 88) % 7 == 0).astype(np.float32)
    mask = np.ones((2, 8), np.float32)
    key, decay = jax.random.key(0), jnp.float32(0.9)
    leaves = lambda t: [np.asarray(v) for v in jax.tree.leaves(t)]
    params0, opt0, ema0 = leaves(pure_params(model)), leaves(nnx.state(optimizer)), leaves(ema)
    bad = y.copy()
    bad[1, 3, 5] = np.nan  # one corrupt input frame: NaN loss and gradient
    loss, ema, taken = train_step(model, optimizer, ema, bad, y, mask, key, decay)
    assert np.isnan(loss) and not bool(taken)
    for before, after in [(params0, pure_params(model)), (opt0, nnx.state(optimizer)),
                          (ema0, ema)]:  # fmt: skip
        for b, a in zip(before, leaves(after), strict=True):
            np.testing.assert_array_equal(a, b)  # nothing moved, the step count included
    loss, ema, taken = train_step(model, optimizer, ema, y, y, mask, key, decay)
    assert np.isfinite(loss) and bool(taken)
    assert int(optimizer.step[...]) == 1
    assert not np.allclose(leaves(pure_params(model))[0], params0[0])
    assert all(np.isfinite(v).all() for v in leaves(ema))


def test_weight_decay_shrinks_weight_matrices_not_biases():
    import jax.numpy as jnp
    from flax import nnx

    from experiments.polyphonic.model import MusicRNN
    from experiments.polyphonic.train import optimizer_transform, pure_params

    lr, wd = 0.1, 0.5
    for decay, factor in [(wd, 1 - lr * wd), (0.0, 1.0)]:
        model = MusicRNN(_config(), rngs=nnx.Rngs(0))
        ones = lambda p: p if p.ndim >= 2 else jnp.ones_like(p)  # zero biases would hide a decay
        nnx.update(model, jax.tree.map(ones, nnx.state(model, nnx.Param)))
        before = pure_params(model)
        optimizer = nnx.Optimizer(model, optimizer_transform(5.0, decay), wrt=nnx.Param)
        optimizer.opt_state[1].hyperparams["learning_rate"][...] = lr
        # a zero gradient: Adam's step is 0, so only the decoupled decay moves a weight
        optimizer.update(model, jax.tree.map(jnp.zeros_like, nnx.state(model, nnx.Param)))
        after = pure_params(model)
        kinds = {p.ndim >= 2 for p in jax.tree.leaves(before)}
        assert kinds == {True, False}  # the model has both matrices (TT cores) and biases
        for b, a in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True):
            expect = b * factor if b.ndim >= 2 else b
            np.testing.assert_allclose(a, expect, rtol=1e-6)
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=r"config\.weight_decay must be finite and >= 0, got"):
            optimizer_transform(5.0, bad)


def test_divergence_stops_the_run_with_a_clear_error(tmp_path):
    # Adam moves every weight by ~lr: 1e30 overflows the logits of the next evaluation
    with pytest.raises(Diverged, match=r"training diverged in epoch 1: validation NLL (nan|inf)"):
        run(_config(learning_rate=1e30), tmp_path)
    assert not (tmp_path / "result.json").exists()
    assert not (tmp_path / "metrics.jsonl").exists()  # no finished epoch to keep
    assert json.loads((tmp_path / "diverged.json").read_text())["epoch"] == 1
    # rerunning the command does not replay the divergence: it says where it is recorded
    with pytest.raises(Diverged, match=r"in epoch 1: .*holds a diverged run.*does not resume"):
        run(_config(learning_rate=1e30), tmp_path)


def test_buckets_and_batches():
    assert [bucket_length(n, 16) for n in (1, 16, 17, 100, 129)] == [16, 16, 24, 112, 160]
    assert len({bucket_length(n, 16) for n in range(1, 5000)}) <= 34  # 4 per octave

    lengths = np.array([5, 50, 7, 40, 9, 30, 11])
    batches = train_batches(7, lengths, 2, jax.random.key(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(7))  # every sequence once


def test_train_chunks_predict_every_frame_once():
    rng = np.random.default_rng(0)
    # frame t of sequence i holds (i, t): each piece says which predictions it makes
    seqs = [np.stack([np.full(n, i), np.arange(n)], 1) for i, n in
            enumerate([2, 3, 10, 11, 12, *rng.integers(2, 60, size=20)])]  # fmt: skip
    expect = sorted((i, t) for i, s in enumerate(seqs) for t in range(s.shape[0] - 1))
    layouts = set()
    for seed in range(4):
        pieces = train_chunks(seqs, 10, jax.random.key(seed))
        made = sorted((int(p[0, 0]), int(p[0, 1]) + k) for p in pieces for k in range(len(p) - 1))
        assert made == expect  # every prediction exactly once, nothing else
        for p in pieces:  # consecutive frames of one sequence, 1-10 predictions each
            assert 2 <= len(p) <= 11
            assert (p[:, 0] == p[0, 0]).all() and (np.diff(p[:, 1]) == 1).all()
        layouts.add(tuple(len(p) for p in pieces))
    assert len(layouts) == 4  # the cut points move with the key
    # pieces are views: the data is not copied (or changed)
    assert np.shares_memory(train_chunks(seqs[3:4], 4, jax.random.key(0))[0], seqs[3])
    with pytest.raises(ValueError, match="chunk must be a positive number of frames, got 0"):
        train_chunks(seqs, 0, jax.random.key(0))


def test_report_collects_runs(tmp_path, caplog):
    done = run(_config(max_epochs=1), tmp_path / "runs" / "tt")
    # an unfinished run: killed in its second epoch, reported at its best epoch so far
    cut = tmp_path / "runs" / "tt_cut"
    caplog.clear()
    with jax.log_compiles(True), caplog.at_level(logging.WARNING), pytest.raises(Interrupted):
        run(_config(seed=1, stop_after_steps=3), cut)
    # same shapes and optimiser settings in one process: the compiled training step is reused
    compiled = [r.getMessage()[:40] for r in caplog.records if "Compiling" in r.getMessage()]
    assert not [m for m in compiled if "train_step" in m], compiled
    report_main([str(tmp_path / "runs")])
    table = (tmp_path / "runs" / "table.md").read_text()
    assert f"| 1/1 | {done['valid_nll']:.3f} | {done['test_nll']:.3f} |" in table
    (first,) = [json.loads(x) for x in (cut / "metrics.jsonl").read_text().splitlines()]
    assert f"| 1 | 1/1 unfinished | {first['valid']['nll']:.3f} | {first['test']['nll']:.3f} |" in (
        table
    )
    # the two runs differ only in seed and run-control fields: one row of the seed table
    report_main(["--seeds", str(tmp_path / "runs")])
    (row,) = (tmp_path / "runs" / "seeds.md").read_text().splitlines()[2:]
    mean = (done["test_nll"] + first["test"]["nll"]) / 2
    per_seed = f"{done['test_nll']:.3f} / {first['test']['nll']:.3f} (unfinished)"
    assert f"| 0,1 | {per_seed} | {mean:.3f} |" in row
    # a run recorded before train_chunk existed is a seed of the same setting
    recorded = json.loads((cut / "config.json").read_text())
    del recorded["train_chunk"], recorded["weight_decay"]
    (cut / "config.json").write_text(json.dumps(recorded))
    report_main(["--seeds", str(tmp_path / "runs")])
    assert (tmp_path / "runs" / "seeds.md").read_text().splitlines()[2:] == [row]
    # a run from before config.json: its config is read back from summary.md
    (tmp_path / "runs" / "tt" / "config.json").unlink()
    report_main(["--seeds", str(tmp_path / "runs")])
    assert (tmp_path / "runs" / "seeds.md").read_text().splitlines()[2:] == [row]
    # a finished run resumed to train longer is unfinished until it ends again
    with pytest.raises(Interrupted):
        run(_config(max_epochs=2, stop_after_steps=1), tmp_path / "runs" / "tt")
    assert not (tmp_path / "runs" / "tt" / "result.json").exists()
    report_main([str(tmp_path / "runs")])
    assert "| 0 | 1/1 unfinished |" in (tmp_path / "runs" / "table.md").read_text()
    assert partial_result(cut)["cell_params"] == done["cell_params"]
    assert (tmp_path / "runs" / "nll_vs_params.png").is_file()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        report_main([str(tmp_path / "nowhere")])
    with pytest.raises(SystemExit) as exit_help:  # --help is not taken for a folder
        report_main(["--help"])
    assert exit_help.value.code == 0
    with pytest.raises(SystemExit) as exit_bad:
        report_main(["--seed", str(tmp_path / "runs")])
    assert exit_bad.value.code == 2
    # a run that decayed its learning rate on plateaus says so beside the rate; others do not
    assert ", decay" not in (tmp_path / "runs" / "table.md").read_text()
    decayed = tmp_path / "decayed" / "tt"
    shutil.copytree(tmp_path / "runs" / "tt", decayed)
    config = json.loads((decayed / "config.json").read_text())
    (decayed / "config.json").write_text(json.dumps({**config, "lr_decay": 0.5}))
    report_main([str(tmp_path / "decayed")])
    lr = f"{config['learning_rate']:g}"
    assert f" | {lr}, decay 0.5 / {config['dropout']:g} / " in (
        (tmp_path / "decayed" / "table.md").read_text()
    )
    # so does a run trained on chunks; a run recorded before train_chunk existed resumes
    assert ", chunks" not in (tmp_path / "decayed" / "table.md").read_text()
    (decayed / "config.json").write_text(json.dumps({**config, "train_chunk": 200}))
    report_main([str(tmp_path / "decayed")])
    assert f" / {config['dropout']:g} / 0, chunks 200 |" in (
        (tmp_path / "decayed" / "table.md").read_text()
    )
    # and a run with weight decay
    assert ", wd" not in (tmp_path / "decayed" / "table.md").read_text()
    (decayed / "config.json").write_text(json.dumps({**config, "weight_decay": 0.1}))
    report_main([str(tmp_path / "decayed")])
    assert f" / {config['dropout']:g} / 0, wd 0.1 |" in (
        (tmp_path / "decayed" / "table.md").read_text()
    )
    del config["train_chunk"], config["weight_decay"]
    (decayed / "config.json").write_text(json.dumps(config))
    check_config(decayed, _config())
    with pytest.raises(ValueError, match="train_chunk: -1 in the run, 8 given"):
        check_config(decayed, _config(train_chunk=8))
    with pytest.raises(ValueError, match=re.escape("weight_decay: 0.0 in the run, 0.1 given")):
        check_config(decayed, _config(weight_decay=0.1))


def test_report_flags_skipped_steps_and_non_finite_epochs(tmp_path):
    wd = tmp_path / "runs" / "tt"
    run(_config(), wd)  # two epochs
    history = [json.loads(x) for x in (wd / "metrics.jsonl").read_text().splitlines()]
    # as an older run that trained on NaNs would record it, then a recovered epoch
    history[0]["valid"]["nll"] = float("nan")
    history[1]["skipped_steps"] = 3
    (wd / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    (wd / "result.json").unlink()
    r = partial_result(wd)
    assert r["best_epoch"] == 2  # a non-finite epoch is never the best
    assert (r["skipped_steps"], r["first_nonfinite_epoch"]) == (3, 1)
    report_main([str(tmp_path / "runs")])
    row = (tmp_path / "runs" / "table.md").read_text().splitlines()[2]
    expect = (
        f"| 2/2 unfinished, 3 steps skipped from epoch 2, NaN from epoch 1 | {r['valid_nll']:.3f} |"
    )
    assert expect in row
    # a run the runner stopped with Diverged (diverged.json) says so instead of "unfinished"
    (wd / "diverged.json").write_text(json.dumps({"epoch": 3, "message": "m", "record": {}}))
    assert partial_result(wd)["diverged_epoch"] == 3
    report_main([str(tmp_path / "runs")])
    row = (tmp_path / "runs" / "table.md").read_text().splitlines()[2]
    assert "| 2/2 diverged in epoch 3, 3 steps skipped from epoch 2, NaN from epoch 1 |" in row
    report_main(["--seeds", str(tmp_path / "runs")])
    assert f"| {r['test_nll']:.3f} (diverged in epoch 3) |" in (
        (tmp_path / "runs" / "seeds.md").read_text()
    )


def _write_midi(path, roll, ticks_per_beat=96):
    """A piano roll as a MIDI file, one quarter note per time step (the inverse of
    ``lrjax.data.midi_to_roll`` at one step per beat)."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    padded = np.vstack([np.zeros((1, 88), roll.dtype), roll, np.zeros((1, 88), roll.dtype)])
    for j in range(88):
        change = np.flatnonzero(np.diff(padded[:, j].astype(int)))
        for on, off in zip(change[::2], change[1::2], strict=True):
            events.append(
                (on * ticks_per_beat, 1, mido.Message("note_on", note=21 + j, velocity=80))
            )
            events.append((off * ticks_per_beat, 0, mido.Message("note_off", note=21 + j)))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.save(path)


def test_a_folder_of_midi_files_round_trips_and_trains(tmp_path):
    pytest.importorskip("mido")
    splits = load_splits(_config())
    for name, rolls in splits.items():
        (tmp_path / "midi" / name).mkdir(parents=True)
        for i, roll in enumerate(rolls):
            _write_midi(tmp_path / "midi" / name / f"{i:03d}.mid", roll)
    mine = load_splits(_config(dataset=str(tmp_path / "midi")))
    for name, rolls in splits.items():  # same rolls back (file names sort in the same order);
        assert len(mine[name]) == len(rolls)  # MIDI does not record silence after the last note
        for a, b in zip(mine[name], rolls, strict=True):
            np.testing.assert_array_equal(a, b[: len(a)])
            assert not b[len(a) :].any()
    result = run(_config(dataset=str(tmp_path / "midi"), max_epochs=1), tmp_path / "run")
    assert np.isfinite(result["test_nll"])
