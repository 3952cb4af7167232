"""Helpers for the tests that a run saved before an option existed still loads with its old behaviour, and that
weights missing a tensor an option needs are refused."""

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


def without_weights(run_dir: str | Path, *names: str) -> None:
    """Rewrite the saved run ``run_dir``'s ``weights.safetensors`` without the tensors ``names`` (metadata kept)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = str(Path(run_dir) / "weights.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys() if k not in names}
    save_file(tensors, path, metadata=meta)


def reproducible_round_trip(fit, counts: dict, run_dir: str | Path, seed: int = 2):
    """``fit()`` twice gives the same samples (``counts`` per class, ``seed``), finite, the same when drawn twice, and
    the same after a save / load round trip to ``run_dir``; the loaded model."""
    import numpy as np

    from vaelab.models import load_model

    g = fit()
    S = g.sample(counts, seed=seed)[0]
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(g.sample(counts, seed=seed)[0], S)
    np.testing.assert_array_equal(fit().sample(counts, seed=seed)[0], S)
    g.save(run_dir)
    back = load_model(run_dir)
    np.testing.assert_array_equal(back.sample(counts, seed=seed)[0], S)
    return back
