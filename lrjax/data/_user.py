"""Your own files for the experiments: video frames (an image folder or a ``.npy`` stack), and
MIDI files as piano rolls. Every failure names the file and what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import check_array, open_image
from ._files import downsample as block_average

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm")
MIDI_SUFFIXES = (".mid", ".midi")


def _to_unit(path: Path, what: str, arr: np.ndarray) -> np.ndarray:
    """Gray levels as float64 in [0, 1]: integers are divided by their type's maximum (8-bit
    images by 255), floats must already lie in [0, 1]."""
    arr = check_array(path, what, arr)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0:
            raise ValueError(f"{path}: {what} has negative integer values.")
        return arr.astype(np.float64) / float(np.iinfo(arr.dtype).max)
    if arr.dtype == bool:
        return arr.astype(np.float64)
    return check_array(path, what, arr.astype(np.float64), low=0.0, high=1.0)


def read_gray_image(path: Path) -> np.ndarray:
    """An image file (any format pillow reads, converted to 8-bit gray) or a 2-D ``.npy`` array
    as float64 ``(H, W)`` in [0, 1]."""
    if path.suffix.lower() == ".npy":
        arr = _read_npy(path)
        if arr.ndim == 3 and arr.shape[-1] in (3, 4):  # RGB(A): luma of the unit values
            return _to_unit(path, "the image", arr)[..., :3] @ np.array([0.299, 0.587, 0.114])
        check_array(path, "the image", arr, ndim=2)
        return _to_unit(path, "the image", arr)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(
            f"{path}: an image must be one of {IMAGE_SUFFIXES} or a .npy array, "
            f"got suffix {path.suffix!r}."
        )
    return open_image(path, "L").astype(np.float64) / 255.0


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err}).") from None


def read_cube(path: Path, key: str | None = None) -> np.ndarray:
    """A multispectral cube ``(H, W, bands)`` from a ``.npy`` file or a ``.mat`` file (its
    variable ``key``, else ``Omsi``, else its only 3-D numeric variable), as float64 in [0, 1]
    (a cube whose maximum is above 1 is divided by it, as for raw 16-bit CAVE values)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = _read_npy(path)
    elif suffix == ".mat":
        from ._files import read_mat

        mat = read_mat(path, [key] if key else [])
        if key is None:
            cubes = [k for k, v in mat.items() if not k.startswith("__")
                     and isinstance(v, np.ndarray) and v.ndim == 3
                     and np.issubdtype(v.dtype, np.number)]  # fmt: skip
            if "Omsi" in mat:
                key = "Omsi"
            elif len(cubes) == 1:
                key = cubes[0]
            else:
                raise ValueError(
                    f"{path}: name the variable that holds the cube (`key=`); 3-D numeric "
                    f"variables found: {sorted(cubes)}."
                )
        arr = mat[key]
    else:
        raise ValueError(f"{path}: a multispectral cube must be a .mat or .npy file.")
    cube = check_array(path, "the cube", np.asarray(arr, dtype=np.float64), ndim=3, low=0.0)
    if cube.shape[2] < 2:
        raise ValueError(
            f"{path}: the cube must have at least 2 bands (last axis), got {cube.shape}."
        )
    peak = cube.max()
    return cube / peak if peak > 1.0 else cube


def _frame_files(folder: Path, what: str) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder}: no {what} images ({', '.join(IMAGE_SUFFIXES)}) in the folder.")
    return files


def _stack(path: Path, what: str, max_frames: int | None, mode: str) -> np.ndarray:
    """``(T, H, W)`` frames from a folder of images (sorted by name) or a ``.npy`` stack."""
    if path.is_dir():
        files = _frame_files(path, what)[:max_frames]
        frames = [open_image(f, mode) for f in files]
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise ValueError(f"{path}: the {what} images differ in size: {sorted(shapes)}.")
        return np.stack(frames)
    if path.suffix.lower() == ".npy":
        arr = _read_npy(path)
        if arr.ndim == 4 and arr.shape[-1] in (3, 4):  # RGB(A): luma of the unit values
            arr = _to_unit(path, f"the {what}", arr)[..., :3] @ np.array([0.299, 0.587, 0.114])
        check_array(path, f"the {what}", arr, ndim=3)
        return arr[:max_frames]
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder.")
    raise ValueError(f"{path}: {what} must be a folder of images or a .npy array (T, H, W).")


def load_video(
    path: str | os.PathLike,
    *,
    truth: str | os.PathLike | None = None,
    max_frames: int | None = None,
    downsample: int = 1,
):
    """Load your own video for background subtraction as :class:`VideoData`.

    Args:
        path: a folder of frames (any image format pillow reads, sorted by file name,
            converted to gray) or a ``.npy`` array ``(T, H, W)`` (or ``(T, H, W, 3)`` RGB):
            integers are divided by their type's maximum, floats must lie in [0, 1].
        truth: optional ground truth, a folder of masks or a ``.npy`` stack with one mask per
            frame, in CDnet's labels (255 foreground; 85 and 170 not evaluated; anything
            else background, so plain 0/255 masks work). Without it the video has no labelled
            frame and only the decomposition is run.
        max_frames: keep the first ``max_frames`` frames.
        downsample: block-average the frames (and take the majority of each mask block) by
            this integer factor.

    Returns:
        :class:`VideoData` ``(frames, truth, valid, labelled)``.

    Raises:
        ValueError: for a missing path, a folder without images, frames of different sizes,
            a malformed ``.npy``, values out of range, fewer than 2 frames, or ground truth
            whose shape differs from the frames'; the message names the file.

    Examples:
        >>> import numpy as np, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp()) / "clip.npy"
        >>> np.save(folder, np.zeros((5, 8, 6), np.uint8))
        >>> v = load_video(folder)
        >>> v.frames.shape, bool(v.labelled.any())
        ((5, 8, 6), False)
    """
    from ._imaging import VideoData, cdnet_labels

    path = Path(os.fspath(path))
    if max_frames is not None and (isinstance(max_frames, bool) or int(max_frames) < 1):
        raise ValueError(f"`max_frames` must be a positive int or None, got {max_frames!r}.")
    if isinstance(downsample, bool) or not isinstance(downsample, int) or downsample < 1:
        raise ValueError(f"`downsample` must be a positive int, got {downsample!r}.")
    frames = _to_unit(path, "the frames", _stack(path, "frames", max_frames, "L"))
    if frames.shape[0] < 2:
        raise ValueError(f"{path}: a video needs at least 2 frames, got {frames.shape[0]}.")
    t = frames.shape[0]
    if truth is None:
        fg = np.zeros(frames.shape, bool)
        valid = np.ones(frames.shape, bool)
        labelled = np.zeros(t, bool)
    else:
        tpath = Path(os.fspath(truth))
        gt = _stack(tpath, "ground-truth", max_frames, "L")
        if gt.shape != frames.shape:
            raise ValueError(
                f"{tpath}: the ground truth must have the frames' shape {frames.shape}, "
                f"got {gt.shape}."
            )
        fg, valid = cdnet_labels(np.asarray(gt))
        labelled = np.ones(t, bool)
    if downsample > 1:
        frames = block_average(frames, downsample)
        fg = block_average(fg.astype(np.float64), downsample) > 0.5
        valid = block_average(valid.astype(np.float64), downsample) > 0.5
    return VideoData(frames, fg, valid, labelled)


def midi_to_roll(path: str | os.PathLike, *, steps_per_beat: int = 1) -> np.ndarray:
    """Read a standard MIDI file as a binary piano roll ``(T, 88)`` (needs ``mido``, in the
    ``experiments`` extra).

    Time is measured in beats (the file's ticks per quarter note), so tempo changes do not
    move the grid: step ``t`` covers beats ``[t, t + 1) / steps_per_beat``, and a pitch is on
    in step ``t`` when one of its notes sounds at the step's midpoint (a note shorter than a
    step still sounds in the step of its onset). Notes on the percussion channel (10) and
    pitches off the piano (below 21 or above 108) are left out; the roll lasts until the last
    note of the piece ends. ``steps_per_beat=1`` gives the
    quarter-note steps of the JSB Chorales data.

    Args:
        path: a ``.mid`` / ``.midi`` file.
        steps_per_beat: time steps per quarter note (1: quarter notes, 2: eighths).

    Returns:
        ``(T, 88)`` uint8 roll, column ``j`` = MIDI pitch ``21 + j``.

    Raises:
        ImportError: without ``mido``.
        ValueError: for a file that is not a readable MIDI file or holds no piano note.
    """
    try:
        import mido
    except ImportError as err:  # pragma: no cover - mido ships with the [experiments] extra
        raise ImportError(
            "reading MIDI files needs mido: pip install 'lrjax[experiments]'"
        ) from err
    path = Path(os.fspath(path))
    if (
        isinstance(steps_per_beat, bool)
        or not isinstance(steps_per_beat, int)
        or steps_per_beat < 1
    ):
        raise ValueError(f"`steps_per_beat` must be a positive int, got {steps_per_beat!r}.")
    try:
        midi = mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise ValueError(
            f"{path}: not a readable MIDI file ({type(err).__name__}: {err})."
        ) from None
    if midi.type == 2:
        raise ValueError(f"{path}: MIDI type 2 (independent sequences) is not supported.")
    tpb = midi.ticks_per_beat
    notes: list[tuple[int, float, float]] = []  # (pitch, start beat, end beat)
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, []).append(tick)
            elif sounding.get(key):
                notes.append((msg.note, sounding[key].pop(0) / tpb, tick / tpb))
        end = tick
        for (_, pitch), starts in sounding.items():  # notes never released end with the track
            notes.extend((pitch, s / tpb, end / tpb) for s in starts)
    length = max((e for _, _, e in notes), default=0.0)  # the piece's end, every note counted
    notes = [(p, s, e) for p, s, e in notes if 21 <= p <= 108]
    if not notes:
        raise ValueError(f"{path}: no note on the piano (MIDI pitches 21..108) in the file.")
    n_steps = int(np.ceil(length * steps_per_beat))
    roll = np.zeros((max(n_steps, 1), 88), np.uint8)
    for pitch, start, stop in notes:
        a, b = start * steps_per_beat, stop * steps_per_beat
        first = int(np.floor(a))
        steps = np.arange(first, max(int(np.ceil(b)), first + 1))
        mids = steps + 0.5
        on = steps[(mids >= a) & (mids < b)]
        roll[on if on.size else [first], pitch - 21] = 1
    return roll


def read_midi_splits(folder: Path, steps_per_beat: int = 1) -> dict:
    """``{"train", "valid", "test"}`` lists of rolls from the MIDI files in the three
    subfolders of ``folder``."""
    out = {}
    for split in ("train", "valid", "test"):
        sub = folder / split
        if not sub.is_dir():
            raise ValueError(
                f"{folder}: a MIDI dataset folder must hold 'train', 'valid' and 'test' "
                f"subfolders of .mid files; {split!r} is missing."
            )
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in MIDI_SUFFIXES)
        if not files:
            raise ValueError(f"{sub}: no .mid or .midi file in the folder.")
        out[split] = [midi_to_roll(f, steps_per_beat=steps_per_beat) for f in files]
    return out
