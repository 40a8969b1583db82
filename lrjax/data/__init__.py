"""Loaders for the datasets shipped with the repository (NumPy out, nothing downloaded)."""

from ._msi import data_root as data_root
from ._msi import load_msi as load_msi

__all__ = ["data_root", "load_msi"]
