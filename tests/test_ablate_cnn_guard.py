"""``vaelab ablate`` on images: the TSTR/TRTR CNN can take the chance guard of ``vaelab evaluate`` (``restarts`` of
SmallCNNClassifier; ``UTILITY_CNN_RESTARTS``, an option, off by default), the C2ST CNN never (at chance it is a
result); with the guard on, image cells carry the setting, so ``--resume`` never mixes cells computed without it with
cells computed with it (issue 11, session 16, fourth helper)."""

import math

import pytest

pytest.importorskip("torch")

from ablate_cells import PLAN, image_and_row_sets, settings_seen  # noqa: E402

SEED = 2   # see test_a_utility_cnn_left_at_chance_is_retrained_and_c2st_is_not


def _metrics(shapes, monkeypatch, **kw):
    """cell_metrics on (train = synthetic = the 160 training shapes, test = 100 others), with a record of the CNNs."""
    from vaelab.experiments.ablation import cell_metrics
    from vaelab.modalities.image.cnn import SmallCNNClassifier

    X, y, Xt, yt = shapes
    fits = []
    fit = SmallCNNClassifier.fit

    def record(self, *a):
        out = fit(self, *a)
        fits.append(("c2st" if len(self.classes_) == 2 else "utility", int(self.restarts), self.attempts_))
        return out

    with monkeypatch.context() as m:
        m.setattr(SmallCNNClassifier, "fit", record)
        values, errors = cell_metrics(X, y, X, y, Xt, yt, seed=SEED, features="identity", mmd_permutations=0,
                                      cnn_standardise=False, **kw)   # the raw pixels, where the plateau is
    assert not errors
    return values, fits


def test_a_utility_cnn_left_at_chance_is_retrained_and_c2st_is_not(shapes, monkeypatch):
    # 160 training rows, 15 epochs = 45 steps on raw pixels: the CNN at seed SEED is still on the chance plateau
    # (training loss >= 0.9 x ln 4; test balanced accuracy 0.28) at the end; the guard's restarts keep one at
    # 0.80 x ln 4 (0.46). The C2ST CNNs (real vs synthetic, here the same images: a C2ST at chance is the right
    # answer) are never retrained.
    new, fits = _metrics(shapes, monkeypatch, cnn_restarts=2)
    old, old_fits = _metrics(shapes, monkeypatch)   # the default: the ablation as before the guard
    utility = [f for f in fits if f[0] == "utility"]
    assert len(utility) == 2 and all(r == 2 and a >= 2 for _, r, a in utility)   # TSTR and TRTR both retrained
    assert {f for f in fits if f[0] == "c2st"} == {("c2st", 0, 1)} and len(fits) == len(old_fits)
    assert {f[1:] for f in old_fits} == {(0, 1)}
    assert new["c2st_auc"] == old["c2st_auc"]   # byte-identical: the C2ST CNN is the one before the guard
    assert old["trtr"] < 0.3 < 0.42 < new["trtr"]   # chance is 0.25
    assert new["tstr"] == new["trtr"] and old["tstr"] == old["trtr"]   # synthetic = training rows here
    assert all(new[k] == old[k] or (math.isnan(new[k]) and math.isnan(old[k]))
               for k in new if k not in ("tstr", "trtr"))


def test_image_cells_carry_the_guard_other_cells_do_not(monkeypatch):
    from vaelab.experiments import ablation as abl

    images, rows = image_and_row_sets()
    assert all("cnn_restarts" not in c for c in abl.plan_ablation(images, "ppca", **PLAN)["cells"])  # off: as before
    monkeypatch.setattr(abl, "UTILITY_CNN_RESTARTS", 2)   # on: image cells carry it (new cell IDs), others do not
    assert {c["cnn_restarts"] for c in abl.plan_ablation(images, "ppca", **PLAN)["cells"]} == {2}
    assert all("cnn_restarts" not in c for c in abl.plan_ablation(rows, "ppca", **PLAN)["cells"])
    assert settings_seen(monkeypatch, abl, images, "cnn_restarts") == [0, 2]
