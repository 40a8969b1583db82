"""Your own files through lrjax.data: images, multispectral cubes, videos and MIDI, against
what was written, and malformed files named in clear errors."""

import numpy as np
import pytest

from lrjax import data

PIL = pytest.importorskip("PIL.Image")
mido = pytest.importorskip("mido")
scipy_io = pytest.importorskip("scipy.io")


def test_load_image_reads_png_and_npy(tmp_path):
    gray = (np.arange(48).reshape(6, 8) * 5).astype(np.uint8)
    PIL.fromarray(gray).save(tmp_path / "a.png")
    np.testing.assert_allclose(data.load_image(tmp_path / "a.png"), gray / 255.0)
    np.testing.assert_allclose(data.load_image(str(tmp_path / "a.png")), gray / 255.0)
    np.save(tmp_path / "b.npy", gray)
    np.testing.assert_allclose(data.load_image(tmp_path / "b.npy"), gray / 255.0)
    np.save(tmp_path / "c.npy", gray / 255.0)
    np.testing.assert_allclose(data.load_image(tmp_path / "c.npy"), gray / 255.0)
    rgb = np.stack([gray] * 3, -1)
    np.save(tmp_path / "rgb.npy", rgb)
    np.testing.assert_allclose(data.load_image(tmp_path / "rgb.npy"), gray / 255.0, atol=1e-12)
    np.save(tmp_path / "bad.npy", gray * 2.0)
    with pytest.raises(ValueError, match=r"bad\.npy: the image must lie in \[0\.0, 1\.0\]"):
        data.load_image(tmp_path / "bad.npy")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=r"junk\.png: not a readable image"):
        data.load_image(tmp_path / "junk.png")
    with pytest.raises(ValueError, match=r"image file .*missing\.png not found"):
        data.load_image(tmp_path / "missing.png")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="the image must have 2 dimensions"):
        data.load_image(tmp_path / "cube.npy")


def test_load_msi_reads_npy_and_mat(tmp_path):
    rng = np.random.default_rng(0)
    cube = rng.uniform(0, 1, (5, 4, 6))
    np.save(tmp_path / "c.npy", cube)
    np.testing.assert_allclose(data.load_msi(tmp_path / "c.npy"), cube)
    scipy_io.savemat(tmp_path / "raw.mat", {"hsi": cube * 4095})  # raw counts: scaled by the peak
    np.testing.assert_allclose(data.load_msi(tmp_path / "raw.mat"), cube / cube.max())
    scipy_io.savemat(tmp_path / "two.mat", {"a": cube, "b": cube})
    with pytest.raises(ValueError, match=r"two\.mat: name the variable .*\['a', 'b'\]"):
        data.load_msi(tmp_path / "two.mat")
    np.testing.assert_allclose(data.load_msi(tmp_path / "two.mat", key="b"), cube)
    with pytest.raises(ValueError, match=r"two\.mat has no key 'c'"):
        data.load_msi(tmp_path / "two.mat", key="c")
    np.save(tmp_path / "neg.npy", -cube)
    with pytest.raises(ValueError, match=r"neg\.npy: the cube must lie in"):
        data.load_msi(tmp_path / "neg.npy")
    np.save(tmp_path / "flat.npy", cube[..., :1])
    with pytest.raises(ValueError, match="at least 2 bands"):
        data.load_msi(tmp_path / "flat.npy")


def test_load_video_from_a_folder_with_ground_truth_and_from_npy(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (4, 6, 8)).astype(np.uint8)
    masks = np.zeros((4, 6, 8), np.uint8)
    masks[:, 1:3, 2:4] = 255
    masks[:, 5, :] = 85  # outside the region of interest
    (tmp_path / "in").mkdir()
    (tmp_path / "gt").mkdir()
    for i in range(4):  # file names sort in frame order
        PIL.fromarray(frames[i]).save(tmp_path / "in" / f"f{i:03d}.png")
        PIL.fromarray(masks[i]).save(tmp_path / "gt" / f"g{i:03d}.png")
    v = data.load_video(tmp_path / "in", truth=tmp_path / "gt")
    np.testing.assert_allclose(v.frames, frames / 255.0)
    np.testing.assert_array_equal(v.truth, masks == 255)
    np.testing.assert_array_equal(v.valid, masks != 85)
    assert v.labelled.all()
    np.save(tmp_path / "clip.npy", frames)
    w = data.load_video(tmp_path / "clip.npy", max_frames=3, downsample=2)
    assert w.frames.shape == (3, 3, 4) and not w.labelled.any() and w.valid.all()
    np.testing.assert_allclose(w.frames[0, 0, 0], frames[0, :2, :2].mean() / 255.0)
    np.save(tmp_path / "gt_small.npy", masks[:, :3])
    with pytest.raises(ValueError, match=r"gt_small\.npy: the ground truth must have the frames"):
        data.load_video(tmp_path / "clip.npy", truth=tmp_path / "gt_small.npy")
    PIL.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "in" / "f999.png")
    with pytest.raises(ValueError, match="the frames images differ in size"):
        data.load_video(tmp_path / "in")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no frames images"):
        data.load_video(tmp_path / "empty")
    with pytest.raises(ValueError, match="at least 2 frames"):
        data.load_video(tmp_path / "clip.npy", max_frames=1)


def _midi(path, events, ticks_per_beat=480, tempo_change=False):
    """A one-track MIDI file; events are (beat_on, beat_off, pitch, channel)."""
    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    if tempo_change:
        track.append(mido.MetaMessage("set_tempo", tempo=300000, time=0))
    msgs = []
    for on, off, pitch, ch in events:
        msgs.append((on, mido.Message("note_on", note=pitch, velocity=64, channel=ch)))
        msgs.append((off, mido.Message("note_off", note=pitch, velocity=0, channel=ch)))
    msgs.sort(key=lambda m: (m[0], m[1].type == "note_on"))
    now = 0
    for beat, msg in msgs:
        tick = round(beat * ticks_per_beat)
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.save(path)


def test_midi_to_roll_against_the_written_notes(tmp_path):
    events = [
        (0, 1, 60, 0),  # C4, one beat
        (1, 3, 64, 0),  # E4, two beats
        (0, 4, 36, 9),  # a drum: channel 10 is left out
        (2, 2.25, 67, 1),  # G4, a sixteenth: still sounds in the step of its onset
        (3, 4, 110, 0),  # off the piano: left out
    ]
    _midi(tmp_path / "a.mid", events, tempo_change=True)
    roll = data.midi_to_roll(tmp_path / "a.mid")
    want = np.zeros((4, 88), np.uint8)
    want[0, 60 - 21] = 1
    want[1:3, 64 - 21] = 1
    want[2, 67 - 21] = 1
    np.testing.assert_array_equal(roll, want)
    eighths = data.midi_to_roll(tmp_path / "a.mid", steps_per_beat=2)
    assert eighths.shape == (8, 88)
    np.testing.assert_array_equal(eighths[:, 64 - 21], [0, 0, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(eighths[:, 67 - 21], [0, 0, 0, 0, 1, 0, 0, 0])
    (tmp_path / "junk.mid").write_bytes(b"MThd garbage")
    with pytest.raises(ValueError, match=r"junk\.mid: not a readable MIDI file"):
        data.midi_to_roll(tmp_path / "junk.mid")
    _midi(tmp_path / "drums.mid", [(0, 1, 36, 9)])
    with pytest.raises(ValueError, match=r"drums\.mid: no note on the piano"):
        data.midi_to_roll(tmp_path / "drums.mid")
    with pytest.raises(ValueError, match="`steps_per_beat` must be a positive int"):
        data.midi_to_roll(tmp_path / "a.mid", steps_per_beat=0)


def test_load_polyphonic_reads_a_folder_of_midi_splits(tmp_path):
    for split, n in (("train", 3), ("valid", 1), ("test", 2)):
        (tmp_path / split).mkdir()
        for i in range(n):
            _midi(tmp_path / split / f"{i}.mid", [(0, 2, 60 + i, 0), (1, 2, 72, 0)])
    ds = data.load_polyphonic(tmp_path)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (3, 1, 2)
    assert ds.train[2].shape == (2, 88) and ds.train[2][:, 62 - 21].tolist() == [1, 1]
    (tmp_path / "valid" / "0.mid").unlink()
    with pytest.raises(ValueError, match=r"valid: no \.mid or \.midi file"):
        data.load_polyphonic(tmp_path)
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match="must hold 'train', 'valid' and 'test'"):
        data.load_polyphonic(tmp_path / "other")
