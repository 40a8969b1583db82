"""Loader for the four polyphonic-music datasets of Boulanger-Lewandowski et al. (ICML 2012)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._files import read_json, read_mat, read_pickle
from ._msi import data_root

N_KEYS = 88
LOWEST_PITCH = 21  # column j of a piano roll is MIDI pitch 21 + j (A0 .. C8)

# canonical name -> (file, (n_train, n_valid, n_test))
POLYPHONIC = {
    "jsb_chorales": ("JSB_Chorales.mat", (229, 76, 77)),
    "nottingham": ("Nottingham.mat", (694, 173, 170)),
    "piano_midi": ("Piano_midi.mat", (87, 12, 25)),
    "musedata": ("MuseData.mat", (524, 135, 124)),
}
_ALIASES = {"jsb": "jsb_chorales", "piano-midi.de": "piano_midi", "muse": "musedata"}
_SPLITS = ("train", "valid", "test")


class PolyphonicData(NamedTuple):
    """Train, validation and test splits: lists of ``(T_i, 88)`` uint8 piano rolls."""

    train: list[np.ndarray]
    valid: list[np.ndarray]
    test: list[np.ndarray]


def _canonical(name: str) -> str:
    key = name.lower().replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in POLYPHONIC:
        raise ValueError(
            f"`name` must be one of {tuple(POLYPHONIC)} or a path to a .mat/.json/.pkl file, "
            f"got {name!r}."
        )
    return key


def pitches_to_roll(sequence, *, where: str = "sequence") -> np.ndarray:
    """A ``(T, 88)`` uint8 piano roll from a list of time steps, each a list of MIDI pitches.

    Raises:
        ValueError: for an empty sequence, a step that is not a list, or a pitch that is not
            an integer in 21..108 (``None``, NaN, 200, ...), naming ``where``.
    """
    if not isinstance(sequence, list | tuple):
        raise ValueError(f"{where} must be a list of time steps, got {type(sequence).__name__}.")
    steps = list(sequence)
    if not steps:
        raise ValueError(f"{where} is empty (a sequence needs at least one time step).")
    roll = np.zeros((len(steps), N_KEYS), np.uint8)
    for t, step in enumerate(steps):
        if not isinstance(step, list | tuple | set | frozenset):
            raise ValueError(
                f"{where}, step {t}: a time step must be a list of MIDI pitches, got {step!r}."
            )
        for pitch in step:
            if isinstance(pitch, bool) or not isinstance(pitch, int | float | np.number):
                raise ValueError(
                    f"{where}, step {t}: pitch {pitch!r} is not a number (MIDI pitches are "
                    f"ints {LOWEST_PITCH}..{LOWEST_PITCH + N_KEYS - 1})."
                )
            p = int(pitch) if np.isfinite(pitch) else -1
            if p != pitch or not LOWEST_PITCH <= p < LOWEST_PITCH + N_KEYS:
                raise ValueError(
                    f"{where}, step {t}: pitch {pitch!r} is outside the piano range "
                    f"{LOWEST_PITCH}..{LOWEST_PITCH + N_KEYS - 1}."
                )
            roll[t, p - LOWEST_PITCH] = 1
    return roll


def _check_roll(roll, where: str) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != N_KEYS:
        raise ValueError(f"{where}: a piano roll must have shape (T, {N_KEYS}), got {roll.shape}.")
    if roll.shape[0] == 0:
        raise ValueError(f"{where} is empty (a sequence needs at least one time step).")
    if not np.isin(roll, (0, 1)).all():
        raise ValueError(f"{where}: a piano roll must be binary, got values {np.unique(roll)[:5]}.")
    return roll.astype(np.uint8)


def _from_mat(path: Path) -> dict:
    mat = read_mat(path, [f"{split}data" for split in _SPLITS])
    out = {}
    for split in _SPLITS:
        cells = np.asarray(mat[f"{split}data"]).ravel()
        out[split] = [_check_roll(c, f"{path}:{split}[{i}]") for i, c in enumerate(cells)]
    return out


def _from_pitch_lists(data, source: str) -> dict:
    if not isinstance(data, dict) or not set(_SPLITS) <= set(data):
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ValueError(
            f"{source} must map 'train', 'valid' and 'test' to lists of sequences, got {keys}."
        )
    out = {}
    for s in _SPLITS:
        if not isinstance(data[s], list | tuple):
            raise ValueError(
                f"{source}:{s} must be a list of sequences, got {type(data[s]).__name__}."
            )
        out[s] = [pitches_to_roll(seq, where=f"{source}:{s}[{i}]") for i, seq in enumerate(data[s])]
    return out


def load_polyphonic(
    name: str | os.PathLike = "jsb_chorales", *, root=None, steps_per_beat: int = 1
) -> PolyphonicData:
    """Load a polyphonic-music dataset as binary piano rolls.

    Args:
        name: ``"jsb_chorales"``, ``"nottingham"``, ``"piano_midi"`` or ``"musedata"`` (the
            copies shipped in ``data/poly_music``), or the path of your own copy: a ``.mat``
            file (keys ``traindata``/``validdata``/``testdata``, cells of ``(T, 88)`` rolls) or
            the original pickle format (``.pkl``, or ``.json`` with the same structure): a dict
            ``{"train", "valid", "test"}`` of lists of sequences, each a list of time steps,
            each a list of MIDI pitches in 21..108. A pickle is read as plain data by an
            unpickler that builds only lists, dicts, sets, numbers and strings: a file that
            refers to any class or function is rejected, so no code in it ever runs. Or a
            folder of MIDI files in ``train/``, ``valid/`` and ``test/`` subfolders, read by
            :func:`midi_to_roll`.
        root: data folder (see :func:`data_root`) for the named datasets.
        steps_per_beat: for MIDI folders, time steps per quarter note.

    Returns:
        :class:`PolyphonicData` of lists of ``(T_i, 88)`` uint8 arrays, column ``j`` = MIDI
        pitch ``21 + j``. For the named datasets the split sizes are checked against the
        published ones (JSB 229/76/77, Nottingham 694/173/170, Piano-midi.de 87/12/25,
        MuseData 524/135/124).

    Raises:
        ValueError: unknown name, missing or unreadable file (truncated, not the format its
            suffix says, a pickle with objects), wrong keys or structure, an empty split or
            sequence, a pitch that is not an integer on the piano, a non-binary roll, or split
            sizes that differ from the published ones; the message names the file.

    Examples:
        >>> data = load_polyphonic("jsb_chorales")
        >>> len(data.train), data.train[0].shape[1]
        (229, 88)

    References:
        Boulanger-Lewandowski, Bengio & Vincent, "Modeling temporal dependencies in
        high-dimensional sequences", ICML 2012.
    """
    path = Path(os.fspath(name))
    expected = None
    if path.is_dir():
        from ._user import read_midi_splits

        splits = read_midi_splits(path, steps_per_beat)
        return PolyphonicData(splits["train"], splits["valid"], splits["test"])
    if path.suffix.lower() not in (".mat", ".json", ".pkl", ".pickle"):
        key = _canonical(str(name))
        file, expected = POLYPHONIC[key]
        path = data_root(root) / "poly_music" / file
    if not path.is_file():
        raise ValueError(f"polyphonic dataset {name!r} not found at {path}.")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        splits = _from_mat(path)
    elif suffix == ".json":
        splits = _from_pitch_lists(read_json(path), str(path))
    else:  # read as plain data: nothing in the file is ever run (see lrjax.data._files)
        splits = _from_pitch_lists(read_pickle(path), str(path))
    for s in _SPLITS:
        if not splits[s]:
            raise ValueError(f"{path}: the {s!r} split holds no sequence.")
    if expected is not None:
        sizes = tuple(len(splits[s]) for s in _SPLITS)
        if sizes != expected:
            raise ValueError(
                f"{path.name}: split sizes {sizes} differ from the published {expected}."
            )
    return PolyphonicData(*(splits[s] for s in _SPLITS))
