"""Loaders for the datasets shipped with lrjax (NumPy out, nothing downloaded): in a checkout
from ``data/``, in an installed wheel from the copy it carries (:func:`data_root`). The
named files: ``MSI_FILES``, ``SET11``, ``POLYPHONIC``. The same loaders read your own files:
an image (:func:`load_image`), a multispectral cube (:func:`load_msi`), a video
(:func:`load_video`), MIDI files (:func:`load_polyphonic`, :func:`midi_to_roll`)."""

from ._imaging import SET11 as SET11
from ._imaging import VideoData as VideoData
from ._imaging import cdnet_labels as cdnet_labels
from ._imaging import load_cdnet_highway as load_cdnet_highway
from ._imaging import load_faces as load_faces
from ._imaging import load_i2r_hall as load_i2r_hall
from ._imaging import load_image as load_image
from ._msi import MSI_FILES as MSI_FILES
from ._msi import data_root as data_root
from ._msi import load_msi as load_msi
from ._polyphonic import POLYPHONIC as POLYPHONIC
from ._polyphonic import PolyphonicData as PolyphonicData
from ._polyphonic import load_polyphonic as load_polyphonic
from ._polyphonic import pitches_to_roll as pitches_to_roll
from ._user import load_video as load_video
from ._user import midi_to_roll as midi_to_roll

__all__ = [
    "MSI_FILES",
    "POLYPHONIC",
    "SET11",
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
    "load_video",
    "midi_to_roll",
    "pitches_to_roll",
]
