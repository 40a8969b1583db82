"""Loader for the multispectral images shipped in ``data/cave_msi``, and where the shipped
data lives (:func:`data_root`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

MSI_FILES = {
    "chart_and_stuffed_toy": "cave_chart_and_stuffed_toy_150x150x31.mat",
    "cloth": "cave_cloth_256x256x31.mat",
}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding lrjax's shipped data.

    In order: ``root``; else ``$LRJAX_DATA``; else the repository's ``data/`` folder next to
    the ``lrjax`` package (a checkout or an editable install); else the copy inside an
    installed wheel (``lrjax/data/files``: the wheel carries every shipped dataset, so
    ``pip install lrjax`` loads them without a checkout and never downloads anything).
    """
    if root is not None:
        return Path(root)
    if "LRJAX_DATA" in os.environ:
        return Path(os.environ["LRJAX_DATA"])
    here = Path(__file__).resolve().parent
    checkout = here.parents[1] / "data"
    if (checkout / "SOURCES.md").is_file():
        return checkout
    return here / "files"


def load_msi(
    name: str | os.PathLike = "chart_and_stuffed_toy", *, root=None, key: str | None = None
) -> np.ndarray:
    """Load a CAVE multispectral image, or your own cube, as float64 ``(height, width, bands)``
    in [0, 1].

    Args:
        name: one of ``MSI_FILES``: ``"chart_and_stuffed_toy"`` (150 x 150 x 31, a crop,
            stored in [0, 1]) or ``"cloth"`` (256 x 256 x 31, raw 16-bit values, divided by
            their maximum as in the denoising literature); or the path of your cube, a
            ``.npy`` array or a ``.mat`` file, bands last, non-negative (divided by its
            maximum when that is above 1).
        root: data folder (see :func:`data_root`).
        key: the ``.mat`` variable holding your cube (default ``Omsi``, else the file's only
            3-D numeric variable).

    Returns:
        The image, bands last (for CAVE, 400-700 nm in 10 nm steps).

    Raises:
        ValueError: for an unknown name or a file that is missing or malformed (the message
            names it).
    """
    if isinstance(name, os.PathLike) or Path(name).suffix.lower() in (".mat", ".npy"):
        from ._user import read_cube

        path = Path(os.fspath(name))
        if not path.is_file():
            raise ValueError(f"multispectral cube file {path} not found.")
        return read_cube(path, key)
    if name not in MSI_FILES:
        raise ValueError(f"`name` must be one of {tuple(MSI_FILES)}, got {name!r}.")
    path = data_root(root) / "cave_msi" / MSI_FILES[name]
    if not path.is_file():
        raise ValueError(f"multispectral image {name!r} not found at {path}.")
    from ._files import check_array, read_mat

    mat = read_mat(path, ["Omsi"])
    img = check_array(path, "'Omsi'", np.asarray(mat["Omsi"], dtype=np.float64), ndim=3, low=0)
    if img.max() > 1.0:  # raw 16-bit CAVE values: scale to [0, 1]
        img = img / img.max()
    return img
