"""Loaders for the datasets shipped with the repository (NumPy out, nothing downloaded)."""

from ._msi import data_root as data_root
from ._msi import load_msi as load_msi
from ._polyphonic import PolyphonicData as PolyphonicData
from ._polyphonic import load_polyphonic as load_polyphonic
from ._polyphonic import pitches_to_roll as pitches_to_roll

__all__ = ["PolyphonicData", "data_root", "load_msi", "load_polyphonic", "pitches_to_roll"]
