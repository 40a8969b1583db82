"""Reading the files a user hands in, safely and with errors that name the file.

A file is data, never code: pickles are read by an unpickler that builds only containers,
numbers and strings, and every failure (a truncated ``.mat``, malformed JSON, an image that
does not open) becomes a ``ValueError`` that names the path and what is wrong.
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


class _DataOnlyUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global: lists, tuples, dicts, sets, numbers, strings
    and bytes are built by opcodes alone, while any class or function (the way a pickle runs
    code) needs ``find_class``, which raises here."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("builtins", "set"), ("__builtin__", "set")):
            return set
        if (module, name) in (("builtins", "frozenset"), ("__builtin__", "frozenset")):
            return frozenset
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}; lrjax reads pickles of plain lists, dicts and "
            "numbers only (no classes, no code)"
        )


def read_pickle(path: Path) -> Any:
    """Load a pickle of plain data (lists, tuples, dicts, sets, numbers, strings) without
    running any code from it; Python 2 pickles (``latin1`` strings) are read too."""
    try:
        data = path.read_bytes()
        return _DataOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as err:  # fmt: skip
        raise ValueError(f"{path}: not a readable pickle of plain data ({err}).") from None


def read_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the file, line and column."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})."
        ) from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file ({err}).") from None


def read_mat(path: Path, keys: Iterable[str]) -> dict:
    """Load a MATLAB ``.mat`` file (v4-v7.2, SciPy's reader) and check that it has ``keys``."""
    from scipy.io import loadmat  # scipy ships with the [experiments] extra

    try:
        mat = loadmat(path)
    except Exception as err:  # SciPy raises many types for truncated or foreign files
        raise ValueError(
            f"{path}: not a readable MATLAB file ({type(err).__name__}: {err})."
        ) from None
    for key in keys:
        if key not in mat:
            found = sorted(k for k in mat if not k.startswith("__"))
            raise ValueError(f"{path} has no key {key!r} (keys: {found}).")
    return mat


def open_image(path: Path, mode: str) -> np.ndarray:
    """Decode an image file to an array in PIL ``mode`` (``"L"``, ``"RGB"`` or ``None`` for
    the file's own mode)."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as e:  # pragma: no cover - pillow ships with the [experiments] extra
        raise ImportError(
            "lrjax.data image loaders need pillow: pip install 'lrjax[experiments]'"
        ) from e
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode) if mode else im)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable image ({err}).") from None


def check_array(
    path: Path, what: str, arr: np.ndarray, *, ndim: int | None = None, shape=None,
    low: float | None = None, high: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Check a loaded array's dimensions, shape, finiteness and range, naming the file."""
    arr = np.asarray(arr)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{path}: {what} must have {ndim} dimensions, got shape {arr.shape}.")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{path}: {what} must have shape {tuple(shape)}, got {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{path}: {what} is empty (shape {arr.shape}).")
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise ValueError(f"{path}: {what} must be numeric, got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: {what} has NaN or infinite values.")
    if (low is not None and arr.min() < low) or (high is not None and arr.max() > high):
        raise ValueError(
            f"{path}: {what} must lie in [{low}, {high}], got values in [{arr.min()}, {arr.max()}]."
        )
    return arr


def downsample(a: np.ndarray, factor: int) -> np.ndarray:
    """Block-average the last two axes by an integer factor (crops to a multiple)."""
    if factor == 1:
        return a
    h, w = (a.shape[-2] // factor) * factor, (a.shape[-1] // factor) * factor
    a = a[..., :h, :w].reshape(*a.shape[:-2], h // factor, factor, w // factor, factor)
    return a.mean(axis=(-3, -1))
