"""Loaders for the datasets shipped with the repository (NumPy out, nothing downloaded)."""

from ._imaging import VideoData as VideoData
from ._imaging import cdnet_labels as cdnet_labels
from ._imaging import load_cdnet_highway as load_cdnet_highway
from ._imaging import load_faces as load_faces
from ._imaging import load_i2r_hall as load_i2r_hall
from ._imaging import load_image as load_image
from ._msi import data_root as data_root
from ._msi import load_msi as load_msi
from ._polyphonic import PolyphonicData as PolyphonicData
from ._polyphonic import load_polyphonic as load_polyphonic
from ._polyphonic import pitches_to_roll as pitches_to_roll

__all__ = [
    "PolyphonicData",
    "VideoData",
    "cdnet_labels",
    "data_root",
    "load_cdnet_highway",
    "load_faces",
    "load_i2r_hall",
    "load_image",
    "load_msi",
    "load_polyphonic",
    "pitches_to_roll",
]
