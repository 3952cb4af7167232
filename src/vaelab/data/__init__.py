"""Data sets, readers/writers and preprocessing."""

from . import spectral  # noqa: F401,I001  (registers asls/arpls/aspls/savgol/vector/area)
from .dataset import Dataset, Layout, unique_labels
from .io import load_data, write_data
from .preprocess import Preprocessing

__all__ = ["Dataset", "Layout", "Preprocessing", "load_data", "unique_labels", "write_data"]
