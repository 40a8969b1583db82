"""Files a user hands in are data: malformed ones get an error naming the file and the fault,
and a pickle can never run code (issue 26, items 14 and 15)."""

import json
import os
import pickle
import shutil

import numpy as np
import pytest

pytest.importorskip("scipy")
PIL = pytest.importorskip("PIL.Image")
from scipy.io import savemat  # noqa: E402

from lrjax.data import (  # noqa: E402
    data_root,
    load_faces,
    load_i2r_hall,
    load_image,
    load_msi,
    load_polyphonic,
)


class _RunsCode:
    """Pickles to ``os.system(...)``: what a malicious .pkl does on a plain ``pickle.load``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_never_runs_code(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": [_RunsCode(marker)], "valid": [], "test": []}))
    with pytest.raises(ValueError, match=r"evil\.pkl.*posix\.system|evil\.pkl.*os\.system"):
        load_polyphonic(str(path))
    assert not marker.exists()


def test_pickle_of_plain_data_loads(tmp_path):
    seqs = {"train": [[[60, 64], [62]], [[21]]], "valid": [[[108]]], "test": [[[], [70]]]}
    for protocol in (0, 2, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(seqs, protocol=protocol))
        data = load_polyphonic(str(path))
        assert [len(s) for s in data] == [2, 1, 1]
        assert data.train[0][0, 60 - 21] == 1 and data.train[0][0].sum() == 2
    path = tmp_path / "sets.pkl"  # the original files store each time step as a set? allow it
    path.write_bytes(pickle.dumps({"train": [[{60, 64}]], "valid": [[(61,)]], "test": [[[62]]]}))
    assert load_polyphonic(str(path)).train[0].sum() == 2


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x80\x04\x95", "not a readable pickle"),  # truncated
        (b"not a pickle at all", "not a readable pickle"),
    ],
)
def test_broken_pickle_names_the_file(tmp_path, content, match):
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"broken\.pkl.*{match}|{match}"):
        load_polyphonic(str(path))
    with pytest.raises(ValueError, match=r"broken\.pkl"):
        load_polyphonic(str(path))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ('{"train": [[[60]]], "valid": [[[60]]]', "not valid JSON"),
        ("[1, 2, 3]", "must map 'train', 'valid' and 'test'"),
        ({"train": {"a": 1}, "valid": [], "test": []}, "train must be a list of sequences"),
        ({"train": [[[None]]], "valid": [[[60]]], "test": [[[60]]]}, "None is not a number"),
        ({"train": [[[float("nan")]]], "valid": [[[60]]], "test": [[[60]]]}, "nan"),
        ({"train": [[[200]]], "valid": [[[60]]], "test": [[[60]]]}, "outside the piano range"),
        ({"train": [[[60.5]]], "valid": [[[60]]], "test": [[[60]]]}, "outside the piano range"),
        ({"train": [[60]], "valid": [[[60]]], "test": [[[60]]]}, "a time step must be a list"),
        ({"train": [[]], "valid": [[[60]]], "test": [[[60]]]}, "is empty"),
        ({"train": [], "valid": [[[60]]], "test": [[[60]]]}, "'train' split holds no sequence"),
    ],
)
def test_malformed_json_names_the_file_and_fault(tmp_path, data, match):
    path = tmp_path / "music.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ValueError) as err:
        load_polyphonic(str(path))
    assert "music.json" in str(err.value) and match in str(err.value), str(err.value)


def test_truncated_or_foreign_mat_names_the_file(tmp_path):
    good = data_root() / "poly_music" / "JSB_Chorales.mat"
    path = tmp_path / "cut.mat"
    path.write_bytes(good.read_bytes()[:3000])
    with pytest.raises(ValueError, match=r"cut\.mat.*not a readable MATLAB file"):
        load_polyphonic(str(path))
    path = tmp_path / "text.mat"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"text\.mat.*not a readable MATLAB file"):
        load_polyphonic(str(path))
    path = tmp_path / "keys.mat"
    savemat(path, {"traindata": np.zeros((1, 1))})
    with pytest.raises(ValueError, match=r"keys\.mat has no key 'validdata'"):
        load_polyphonic(str(path))


def _copy_root(tmp_path, *parts):
    """A data root in tmp_path with the given shipped sub-folders copied in."""
    for part in parts:
        shutil.copytree(data_root() / part, tmp_path / part)
    return tmp_path


def test_faces_file_with_missing_key_or_wrong_pixel_count(tmp_path):
    (tmp_path / "faces").mkdir()
    path = tmp_path / "faces" / "YaleB_32x32.mat"
    savemat(path, {"gnd": np.ones((3, 1))})
    with pytest.raises(ValueError, match=r"YaleB_32x32\.mat has no key 'fea'"):
        load_faces(root=tmp_path)
    savemat(path, {"fea": np.zeros((3, 1000)), "gnd": np.ones((3, 1))})
    with pytest.raises(ValueError, match=r"YaleB_32x32\.mat.*1024 pixels"):
        load_faces(root=tmp_path)
    savemat(path, {"fea": np.zeros((3, 1024)), "gnd": np.ones((2, 1))})
    with pytest.raises(ValueError, match=r"YaleB_32x32\.mat.*one integer label per image"):
        load_faces(root=tmp_path)
    savemat(path, {"fea": np.full((3, 1024), np.nan), "gnd": np.ones((3, 1))})
    with pytest.raises(ValueError, match=r"YaleB_32x32\.mat.*NaN"):
        load_faces(root=tmp_path)


def test_msi_and_video_files_that_are_broken(tmp_path):
    (tmp_path / "cave_msi").mkdir()
    path = tmp_path / "cave_msi" / "cave_chart_and_stuffed_toy_150x150x31.mat"
    savemat(path, {"Omsi": np.zeros((4, 4))})
    with pytest.raises(ValueError, match=r"150x150x31\.mat.*3 dimensions"):
        load_msi(root=tmp_path)
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match=r"150x150x31\.mat.*not a readable MATLAB file"):
        load_msi(root=tmp_path)
    (tmp_path / "i2r_hall").mkdir()
    savemat(tmp_path / "i2r_hall" / "testVideo.mat", {"X": np.zeros((2, 2, 2))})
    with pytest.raises(ValueError, match=r"testVideo\.mat has no key 'D'"):
        load_i2r_hall(root=tmp_path)


def test_corrupt_image_names_the_file(tmp_path):
    root = _copy_root(tmp_path, "set11")
    (root / "set11" / "barbara.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match=r"barbara\.tif.*not a readable image"):
        load_image("barbara", root=root)
