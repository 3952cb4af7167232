"""Data sets, sample descriptions, readers/writers and preprocessing.

Modality-specific preprocessing steps (``asls``, ``savgol``, ...) live in ``vaelab.modalities``
and are found by the step registry when first asked for (``vaelab.data.preprocess.STEPS``);
nothing here imports a modality.
"""

from vaelab.data.dataset import Dataset, Layout, unique_labels
from vaelab.data.io import load_data, write_data
from vaelab.data.preprocess import Preprocessing
from vaelab.data.sample import SampleSpec

__all__ = ["Dataset", "Layout", "Preprocessing", "SampleSpec", "load_data", "unique_labels", "write_data"]
