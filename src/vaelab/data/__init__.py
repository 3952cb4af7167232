"""Data sets, readers/writers and preprocessing."""

from vaelab.data.dataset import Dataset, Layout, unique_labels
from vaelab.data.io import load_data, write_data
from vaelab.data.preprocess import Preprocessing
from vaelab.modalities.spectra import preprocess as _spectra  # noqa: F401,E402  (registers asls/arpls/aspls/savgol/vector/area)

__all__ = ["Dataset", "Layout", "Preprocessing", "load_data", "unique_labels", "write_data"]
