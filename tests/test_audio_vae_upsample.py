"""vaelab-audio's ``upsample`` option: the patch decoder's last layer (T/4 feature steps -> T frames).

``"patch"`` (kernel = stride = 4) makes every 4-frame patch from one feature step, so the decoded mean can jump at
patch boundaries; ``"overlap"`` (kernel 8, stride 4) and ``"linear"`` (interpolation x4, then kernel 3) make the
frames next to a boundary from both adjacent steps. Checked on the layer's receptive field (which output frames a
change of one feature step reaches), on saved runs, and on the option's validation."""


import numpy as np
import pytest
import torch

from saved_runs import saved_before
from vaelab.core.errors import InputError
from vaelab.modalities.audio.mel import MelParams
from vaelab.models import get_model
from vaelab.models.audio_vae import PatchVAE, VaelabAudioConfig

P = MelParams(duration=0.25)
TINY = dict(width=16, latent_channels=8, n_res=1, batch_size=4, epochs=2, mel=P.to_dict())


def _frames_reached(upsample: str, step: int, steps: int = 6) -> np.ndarray:
    """Output frames (sorted indices) that change when decoder feature step ``step`` changes."""
    torch.manual_seed(0)
    layer = PatchVAE(8, 2, 16, 4, 1, upsample).do
    h = torch.randn(1, 16, steps)
    h2 = h.clone()
    h2[..., step] += 1.0
    with torch.no_grad():
        d = (layer(h2) - layer(h)).abs().amax(dim=1)[0]
    assert d.shape == (4 * steps,)
    return np.flatnonzero(d.numpy() > 1e-6)


@pytest.mark.parametrize(("upsample", "reach"), [("patch", range(8, 12)), ("overlap", range(6, 14)),
                                                 ("linear", range(5, 15))])
def test_receptive_field_of_one_feature_step(upsample, reach):
    """Step 2 of 6: "patch" reaches exactly its own frames 8-11; "overlap" also the 2 frames either side (kernel 8,
    padding 2); "linear" the frames whose interpolated position (i + 0.5) / 4 - 0.5 lies strictly between steps 1 and 3
    (frames 6-13), widened by one frame either side by the kernel-3 convolution."""
    np.testing.assert_array_equal(_frames_reached(upsample, 2), np.array(list(reach)))


def test_boundary_frames_mix_adjacent_steps_only_without_patch():
    """The last frame of patch 2 and the first of patch 3 depend on steps 2 and 3 with "overlap" / "linear"."""
    for upsample in ("overlap", "linear"):
        assert {11, 12} <= set(_frames_reached(upsample, 2)) & set(_frames_reached(upsample, 3))
    assert not set(_frames_reached("patch", 2)) & set(_frames_reached("patch", 3))


def test_bad_upsample_and_the_default():
    with pytest.raises(InputError, match="upsample"):
        VaelabAudioConfig(upsample="nearest")
    assert VaelabAudioConfig().upsample == "patch"  # not adopted (issue 13, session 7): the old layer stays the default


def test_runs_saved_without_the_option_load_as_patch(tmp_path):
    """A run whose config lacks ``upsample`` was made with the patch layer: it loads with it and decodes as saved."""
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 4, dtype=object)
    X = -4 + rng.standard_normal((len(y), *P.shape))
    g = get_model("vaelab-audio", **TINY, upsample="patch")
    g.progress = False
    g.fit(X, y, seed=0)
    g.save(tmp_path / "run")
    saved_before(tmp_path / "run", "upsample")
    h = type(g).load(tmp_path / "run")
    assert h.config.upsample == "patch"
    z = g.encode(X, y)
    np.testing.assert_array_equal(h.decode(z, y), g.decode(z, y))
