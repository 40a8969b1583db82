"""The polyphonic-music loader: split sizes, pitch mapping, the pickle format, bad input."""

import json
import pickle

import numpy as np
import pytest

pytest.importorskip("scipy")

from lrjax.data import data_root, load_polyphonic, pitches_to_roll

SIZES = {
    "jsb_chorales": (229, 76, 77),
    "nottingham": (694, 173, 170),
    "piano_midi": (87, 12, 25),
    "musedata": (524, 135, 124),
}


@pytest.mark.parametrize("name", list(SIZES))
def test_split_sizes_and_format(name):
    data = load_polyphonic(name)
    assert tuple(len(s) for s in data) == SIZES[name]
    roll = data.train[0]
    assert roll.dtype == np.uint8 and roll.ndim == 2 and roll.shape[1] == 88
    assert set(np.unique(roll)) <= {0, 1}


def test_pitch_mapping_matches_the_original_pitch_lists():
    """Column j is MIDI pitch 21 + j: the .mat rolls equal the JSON pitch lists (an independent
    copy of JSB Chorales in the original pickle structure)."""
    mat = load_polyphonic("jsb_chorales")
    raw = json.loads((data_root() / "poly_music" / "jsb-chorales-quarter.json").read_text())
    first = raw["train"][0][0]  # the MIDI pitches of the first chord
    assert sorted(np.flatnonzero(mat.train[0][0]) + 21) == sorted(first)
    from_json = load_polyphonic(str(data_root() / "poly_music" / "jsb-chorales-quarter.json"))
    for a, b in zip(mat, from_json, strict=True):
        assert len(a) == len(b)
        assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_reads_the_original_pickle_format(tmp_path):
    data = {"train": [[[60, 64], [], [21, 108]]], "valid": [[[40]]], "test": [[[50], [51]]]}
    path = tmp_path / "mine.pkl"
    path.write_bytes(pickle.dumps(data))
    out = load_polyphonic(str(path))
    assert out.train[0].shape == (3, 88)
    assert out.train[0][0, 60 - 21] == 1 and out.train[0][0].sum() == 2
    assert out.train[0][1].sum() == 0  # a frame with no notes
    assert out.train[0][2, 0] == 1 and out.train[0][2, 87] == 1


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"train": [[[20]]], "valid": [], "test": []}, "pitch 20 is outside"),
        ({"train": [[[109]]], "valid": [], "test": []}, "pitch 109 is outside"),
        ({"train": [[]], "valid": [], "test": []}, "is empty"),
        ({"train": [], "valid": []}, "must map 'train', 'valid' and 'test'"),
    ],
)
def test_malformed_input_is_named(tmp_path, data, match):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match):
        load_polyphonic(str(path))


def test_unknown_name_and_wrong_split_sizes(tmp_path):
    with pytest.raises(ValueError, match="`name` must be one of"):
        load_polyphonic("bach")
    # a shipped name pointing at a folder whose file has other split sizes
    from scipy.io import savemat

    (tmp_path / "poly_music").mkdir()
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = cells[0, 1] = np.zeros((3, 88), np.uint8)
    savemat(
        tmp_path / "poly_music" / "JSB_Chorales.mat",
        {f"{s}data": cells for s in ("train", "valid", "test")},
    )
    with pytest.raises(ValueError, match="split sizes"):
        load_polyphonic("jsb_chorales", root=tmp_path)


def test_pitches_to_roll_rejects_non_integer_pitches():
    with pytest.raises(ValueError, match=r"60\.5"):
        pitches_to_roll([[60.5]])
