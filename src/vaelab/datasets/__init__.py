"""Data sets bundled with vaelab.

``coffee()`` — 60 ATR-FTIR spectra of coffee from three origins (Brasil, Ethiopia, Vietnam;
20 each), 1841 points. Copied from the ``chemotools`` package by Pau Cabaneros
(https://github.com/paucablop/chemotools, MIT licence; the licence text ships beside this
file as ``LICENSE-chemotools.md``). The source gives no wavenumbers, so the axis is the
point index.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from vaelab.data.dataset import Dataset, Layout

COFFEE_CREDIT = (
    "Coffee ATR-FTIR spectra (60 spectra, 3 origins) from the chemotools package by Pau Cabaneros, "
    "MIT licence (https://github.com/paucablop/chemotools)."
)


def coffee() -> Dataset:
    """The bundled coffee FTIR set: ``X`` (60, 1841) float64, ``y`` origin names, ``axis`` point index."""
    with resources.files(__package__).joinpath("coffee.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        X = z["X"].astype(np.float64)
        y = np.asarray([str(v) for v in z["y"].tolist()], dtype=object)
        axis = z["axis"].astype(np.float64)
    names = [str(int(a)) for a in axis]
    return Dataset(X=X, y=y, axis=axis, layout=Layout(kind="table", header=True, label_position=0,
                                                      label_name="origin", feature_names=names),
                   source="vaelab.datasets.coffee")


__all__ = ["coffee", "COFFEE_CREDIT"]
