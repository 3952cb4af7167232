"""The vocoder's level-dependent lift (a curve fitted on round trips) and its pre-compensation."""

import numpy as np
import pytest

from saved_runs import saved_before
from vaelab.modalities.audio.mel import MelParams, log_mel
from vaelab.modalities.audio.vocoder import fit_level_lift, griffin_lim, level_lift, precompensate

P = MelParams(duration=0.25)


def test_level_lift_of_an_affine_change_is_that_line():
    """out = ref + 0.3 - 0.05 ref: the mean lift of every level group is 0.3 - 0.05 x its mean level (exact);
    levels are the group means of equal-count quantile groups."""
    ref = np.random.default_rng(0).normal(-5, 2, size=(7, 16, 30))
    curve = level_lift(ref, ref + 0.3 - 0.05 * ref, bins=10)
    assert curve.shape == (2, 10)
    np.testing.assert_allclose(curve[1], 0.3 - 0.05 * curve[0], atol=1e-12)
    assert np.all(np.diff(curve[0]) > 0)
    lo = np.sort(ref.ravel())[: ref.size // 10]
    assert curve[0, 0] == pytest.approx(lo.mean(), abs=1e-3)  # the lowest tenth (+ the cell on its upper edge)
    with pytest.raises(ValueError):
        level_lift(ref, ref[:3])


def test_precompensate_subtracts_the_interpolated_lift():
    curve = np.array([[-8.0, -4.0, 0.0], [0.2, 0.1, 0.0]])
    L = np.array([[-10.0, -8.0, -6.0], [-4.0, -2.0, 1.0]])
    np.testing.assert_allclose(precompensate(L, curve), L - np.array([[0.2, 0.2, 0.15], [0.1, 0.05, 0.0]]))
    # a vocoder with the affine lift f(L) = 0.1 - 0.02 L, pre-compensated with its own curve: what is left is the
    # second-order term -b f(L) = 0.02 f(L) (within the curve's level range, where the interpolation is exact)
    R = np.random.default_rng(1).normal(-5, 2, size=4000)
    aff = level_lift(R, R + 0.1 - 0.02 * R, bins=20)
    L = np.linspace(aff[0, 0], aff[0, -1], 50)
    pre = precompensate(L, aff)
    np.testing.assert_allclose(pre + 0.1 - 0.02 * pre - L, 0.02 * (0.1 - 0.02 * L), atol=1e-12)


def test_fit_level_lift_is_the_round_trip_of_the_vocoder():
    """Deterministic, and the same as analysing Griffin-Lim's output by hand; the lift of quiet cells is upwards."""
    t = np.arange(P.n_samples) / P.sample_rate
    x = np.stack([(0.3 * np.sin(2 * np.pi * (300 + 500 * k) * t) * (t < 0.15)).astype(np.float32) for k in range(3)])
    L = log_mel(x, P)
    curve = fit_level_lift(L, P, bins=5, seed=1)
    np.testing.assert_array_equal(curve, fit_level_lift(L, P, bins=5, seed=1))
    np.testing.assert_allclose(curve, level_lift(L, log_mel(griffin_lim(L, P, seed=1), P), bins=5))
    assert curve[1, 0] > 0


def _tiny_fitted_run(pairs: int):
    """A small vaelab-audio fitted for one epoch on ``2 * pairs`` random log-mels of two classes, and the log-mels."""
    from vaelab.models import get_model

    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * pairs, dtype=object)
    L = -4 + 0.5 * rng.standard_normal((len(y), *P.shape)) - 0.05 * np.arange(P.n_mels)[None, :, None]
    g = get_model("vaelab-audio", width=16, latent_channels=8, n_res=1, batch_size=4, epochs=1, mel=P.to_dict())
    g.progress = False
    g.fit(L, y, seed=0)
    return g, L


def test_a_fitted_run_carries_the_lift_and_writes_generated_clips_through_it(tmp_path):
    """vaelab-audio fits the lift on its training clips (every k-th, k = n // LIFT_CLIPS; here all) and saves it;
    generated clips are written pre-compensated; a run without the lift (saved before it existed) writes plain
    Griffin-Lim, as before."""
    from vaelab.models.audio_vae import VaelabAudio

    g, L = _tiny_fitted_run(4)
    curve = g.extra_["vocoder_lift"].numpy()
    assert curve.shape == (2, 20)
    np.testing.assert_allclose(curve, fit_level_lift(L, P, seed=1), atol=1e-4)
    g.save(tmp_path / "run")
    np.testing.assert_array_equal(VaelabAudio.load(tmp_path / "run").extra_["vocoder_lift"].numpy(), curve)

    from vaelab.modalities.audio.generate import vocode_generated

    X = L[:2] + 0.3
    np.testing.assert_array_equal(vocode_generated(g, X, P, seed=4, vocoder="griffin-lim"),
                                  griffin_lim(precompensate(X, curve), P, seed=4))
    del g.extra_["vocoder_lift"]
    np.testing.assert_array_equal(vocode_generated(g, X, P, seed=4, vocoder="griffin-lim"), griffin_lim(X, P, seed=4))


def test_runs_with_the_refined_vocoder_and_old_runs(tmp_path):
    """A vaelab-audio run (default vocoder "refine") writes clips with Griffin-Lim + refinement of the log-mels
    themselves (no pre-compensation); a run saved before the option (no "vocoder" in its config) loads as
    "griffin-lim" and writes exactly what it wrote before (pre-compensated Griffin-Lim); an unknown name is refused."""

    from vaelab.core.errors import InputError
    from vaelab.modalities.audio.generate import run_vocoder, vocode_generated
    from vaelab.modalities.audio.vocoder import REFINE_STEPS
    from vaelab.models import get_model
    from vaelab.models.audio_vae import VaelabAudio

    g, L = _tiny_fitted_run(2)
    X = L[:1] + 0.3
    assert run_vocoder(g) == "refine"
    np.testing.assert_array_equal(vocode_generated(g, X, P, seed=4),
                                  griffin_lim(X, P, seed=4, refine_steps=REFINE_STEPS))
    g.save(tmp_path / "run")
    saved_before(tmp_path / "run", "vocoder")
    old = VaelabAudio.load(tmp_path / "run")
    assert run_vocoder(old) == "griffin-lim"
    curve = old.extra_["vocoder_lift"].numpy()
    np.testing.assert_array_equal(vocode_generated(old, X, P, seed=4), griffin_lim(precompensate(X, curve), P, seed=4))
    with pytest.raises(InputError):
        get_model("vaelab-audio", vocoder="wavenet")
    with pytest.raises(InputError):
        vocode_generated(old, X, P, vocoder="wavenet")
