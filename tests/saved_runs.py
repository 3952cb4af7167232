"""Helper for the tests that a run saved before an option existed still loads with its old behaviour."""

import json
from pathlib import Path


def saved_before(run_dir: str | Path, *keys: str) -> None:
    """Rewrite the saved run ``run_dir``'s ``config.json`` as written before the options ``keys`` existed
    (those keys removed from its ``config``)."""
    path = Path(run_dir) / "config.json"
    doc = json.loads(path.read_text())
    for key in keys:
        del doc["config"][key]
    path.write_text(json.dumps(doc))


def reloaded_as_saved_before(model, run_dir: str | Path, keys: tuple[str, ...], counts: dict, seed: int):
    """Save ``model`` to ``run_dir``, rewrite it as saved before the options ``keys`` existed, load it back and
    check that it draws the same samples (``counts`` per class, ``seed``) as the model did; the loaded model."""
    import numpy as np

    from vaelab.models import load_model

    model.save(run_dir)
    S = model.sample(counts, seed=seed)[0]
    saved_before(run_dir, *keys)
    old = load_model(run_dir)
    np.testing.assert_array_equal(old.sample(counts, seed=seed)[0], S)
    return old
