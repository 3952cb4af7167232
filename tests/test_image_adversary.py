"""vaelab-image's ``adv_weight``: a class-conditional patch discriminator on the decoded mean (training only).

Known values (the low-pass, the hinge loss, the warm-up epoch, the adaptive weight's gradient balance), the default
untouched (no discriminator built, no term), determinism, save / load (no discriminator in the weights), a run saved
before the option, an interrupted training resumed exactly (discriminator and its Adam in the checkpoint), stacked
seeds refused, bad values refused.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from image_data import stripes
from interrupts import Interrupted, interrupt_loss
from saved_runs import reloaded_as_saved_before
from vaelab.core.errors import InputError
from vaelab.models import get_model, load_model
from vaelab.models.image.adversary import (
    MIN_SPREAD,
    Adversary,
    PatchDiscriminator,
    gaussian_lowpass,
    hinge_d_loss,
    pixel_stats,
    start_epoch,
)
from vaelab.models.image.vaelab_image import VaelabImage

SMALL = {"epochs": 6, "batch_size": 16, "latent_dim": 4, "kl_warmup": 1}


@pytest.fixture(scope="module")
def data():
    return stripes(48, 8)


def fit(data, seed: int = 0, **opts):
    g = get_model("vaelab-image", **{**SMALL, **opts})
    g.progress = False
    return g.fit(*data, seed=seed)


def weights(g) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in g.module.state_dict().items()}


def test_lowpass_hinge_and_warmup_known_values():
    x = torch.full((2, 1, 9, 9), 0.3)
    torch.testing.assert_close(gaussian_lowpass(x), x)  # a normalised kernel keeps a constant
    imp = torch.zeros(1, 1, 21, 21)
    imp[0, 0, 10, 10] = 1.0
    b = gaussian_lowpass(imp, 1.0)[0, 0]
    assert float(b.sum()) == pytest.approx(1.0, abs=1e-6)
    t = torch.arange(21.0) - 10
    var_x = float((b.sum(dim=0) * t**2).sum())
    assert var_x == pytest.approx(1.0, rel=0.02)  # the blurred impulse has the kernel's variance sigma^2
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    # (mean(relu(1 - real)) + mean(relu(1 + fake))) / 2 = ((0 + 0.5 + 2) / 3 + (0 + 1 + 2) / 3) / 2
    assert float(hinge_d_loss(real, fake)) == pytest.approx((2.5 / 3 + 3.0 / 3) / 2)
    assert start_epoch(20, 5) == 5 and start_epoch(50, 5) == 12 and start_epoch(8, 5) == 5 and start_epoch(137, 5) == 34
    d = PatchDiscriminator(1, 3)
    assert d(torch.zeros(4, 1, 28, 28), torch.tensor([0, 1, 2, 0])).shape == (4, 1, 7, 7)


def test_inputs_are_standardised_by_the_training_pixels():
    """pixel_stats: per-channel mean and sd (floored); the discriminator judges ``(x - centre) / spread``; the
    defaults 0 and 1 leave its input as given, byte for byte."""
    u = torch.zeros(2, 2, 1, 2)
    u[:, 0] = torch.tensor([[[0.1, 0.3]], [[0.5, 0.7]]])  # channel 0: mean 0.4, sample sd sqrt(0.2 / 3)
    u[:, 1] = 0.25  # channel 1: flat, sd floored
    centre, spread = pixel_stats(u)
    assert centre.shape == spread.shape == (2, 1, 1)
    torch.testing.assert_close(centre.flatten(), torch.tensor([0.4, 0.25]))
    torch.testing.assert_close(spread.flatten(), torch.tensor([math.sqrt(0.2 / 3), MIN_SPREAD]))
    x, c = torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        plain = PatchDiscriminator(1, 3)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        std = PatchDiscriminator(1, 3, centre=torch.tensor([[[0.3]]]), spread=torch.tensor([[[0.2]]]))
    assert torch.equal(plain(x, c), plain.net(torch.cat([x, torch.eye(3)[c][:, :, None, None].expand(-1, -1, 28, 28)], 1)))
    torch.testing.assert_close(std(x, c), plain((x - 0.3) / 0.2, c))


def test_standardised_judge_learns_a_low_contrast_task_quickly():
    """The cause found in session 16: on pixels of small spread (sd 0.03 here) the judge on raw [0, 1] inputs learns
    too slowly; standardised by the real pixels it separates real textured images from the same blurred within 150
    steps (accuracy on fresh images), where the same judge on the raw pixels does not."""
    from vaelab.models.image.adversary import BETAS
    from vaelab.training.optim import Adam

    def accuracy(standardise: bool) -> float:
        gen = torch.Generator().manual_seed(0)
        x, xf = (0.35 + 0.03 * torch.randn(256, 1, 12, 12, generator=gen) for _ in range(2))
        c = torch.zeros(256, dtype=torch.long)
        centre, spread = pixel_stats(x) if standardise else (0.0, 1.0)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            disc = PatchDiscriminator(1, 1, centre=centre, spread=spread)
        opt = Adam(disc.parameters(), lr=2e-3, betas=BETAS)
        for _ in range(150):
            b = torch.randperm(len(x), generator=gen)[:32]
            opt.zero_grad()
            hinge_d_loss(disc(x[b], c[b]), disc(gaussian_lowpass(x[b]), c[b])).backward()
            opt.step()
        with torch.no_grad():
            return 0.5 * (float((disc(xf, c).mean(dim=(1, 2, 3)) > 0).float().mean())
                          + float((disc(gaussian_lowpass(xf), c).mean(dim=(1, 2, 3)) < 0).float().mean()))

    assert accuracy(standardise=True) >= 0.9
    assert accuracy(standardise=False) < 0.75


def test_adaptive_weight_balances_the_two_gradients_at_the_last_layer():
    """lambda = ||d nll / dW|| / ||d g / dW|| over the mean's rows of the last layer W, so the adversarial part of the
    gradient there has ``adv_weight`` times the likelihood's norm; the variance's rows get none of it."""
    torch.manual_seed(0)
    last = torch.nn.Parameter(torch.randn(2, 3))  # row 0 makes the mean, row 1 the variance (C = 1)
    feats = torch.rand(5, 3)
    out = feats @ last.T
    mean = torch.sigmoid(out[:, :1]).view(5, 1, 1, 1).expand(5, 1, 8, 8)
    u = torch.rand(5, 1, 8, 8)
    nll = ((u - mean) ** 2).sum() + out[:, 1].pow(2).sum()
    adv = Adversary(1, 2, weight=0.5, kl_warmup=0)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        adv.disc = PatchDiscriminator(1, 2)
    c = torch.tensor([0, 1, 0, 1, 1])
    term, g = adv.generator_term(u, mean, c, nll, last)
    g_direct = -adv.disc(gaussian_lowpass(mean), c).mean(dim=(1, 2, 3)).sum()
    assert float(g) == pytest.approx(float(g_direct.detach()), rel=1e-6)
    n_nll = float(torch.autograd.grad(nll, last, retain_graph=True)[0][0].norm())
    n_adv = float(torch.autograd.grad(g_direct, last, retain_graph=True)[0][0].norm())
    g_term = torch.autograd.grad(term, last)[0]
    # lambda = n_nll / (n_adv + 1e-4): the term's gradient norm is 0.5 x the likelihood's (up to that epsilon)
    assert float(g_term[0].norm()) == pytest.approx(0.5 * n_nll * n_adv / (n_adv + 1e-4), rel=1e-4)
    assert float(g_term[1].abs().max()) == 0.0


def test_default_builds_no_discriminator_and_adds_no_term(data):
    g = get_model("vaelab-image", **SMALL)
    assert g.config.adv_weight == 0.0
    g.feature_shape_, g.classes_ = (8, 8), np.array([0, 1])
    assert g.callbacks() == [] and g._adversary is None
    a = fit(data)
    assert a._pixels is None
    assert all("adversarial" not in row for row in a.history_)
    b = fit(data, adv_weight=0.0)
    assert all(torch.equal(v, weights(b)[k]) for k, v in weights(a).items())


def test_option_trains_the_mean_adversarially_and_is_deterministic(data, tmp_path):
    a = fit(data, adv_weight=0.5)
    on = [row.get("adversarial") for row in a.history_]
    first = start_epoch(SMALL["epochs"], SMALL["kl_warmup"])
    assert all(v is None for v in on[:first]) and all(v is not None and math.isfinite(v) for v in on[first:])
    b = fit(data, adv_weight=0.5)
    assert all(torch.equal(v, weights(b)[k]) for k, v in weights(a).items())  # same seed, same bytes
    plain = fit(data)
    assert not torch.equal(weights(plain)["dec_out.weight"], weights(a)["dec_out.weight"])
    # the epochs before the adversary starts are the default's, step for step
    assert [r["loss"] for r in a.history_[:first]] == [r["loss"] for r in plain.history_[:first]]
    assert a._adversary is not None and a._adversary.disc is None  # dropped after training
    # its inputs were standardised by the training images' pixels in the model's unit scale (their min..max)
    X = data[0].astype(np.float64)
    expected = pixel_stats(torch.as_tensor((X - X.min()) / (X.max() - X.min()))[:, None].float())
    assert all(torch.allclose(p, e) for p, e in zip(a._adversary.pixels, expected, strict=True))
    a.save(tmp_path / "m")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "m" / "weights.safetensors"), framework="pt") as f:
        assert not any("disc" in k or k.startswith("adv") for k in f.keys())
    m = load_model(tmp_path / "m")
    assert m.config.adv_weight == 0.5
    np.testing.assert_array_equal(m.sample({0: 4, 1: 4}, seed=2)[0], a.sample({0: 4, 1: 4}, seed=2)[0])


def test_a_run_saved_before_the_option_loads_as_trained(data, tmp_path):
    g = fit(data)
    old = reloaded_as_saved_before(g, tmp_path / "m", ("adv_weight",), {0: 3, 1: 3}, seed=0)
    assert old.config.adv_weight == 0.0


def test_interrupted_training_resumes_exactly(tmp_path, monkeypatch):
    from vaelab.data.dataset import Dataset, Layout
    from vaelab.data.sample import SampleSpec
    from vaelab.runs import train_run

    X, y = stripes(40, 8)
    ds = Dataset(X=X.astype(np.float64), y=y, layout=Layout(kind="npz"), spec=SampleSpec.image(8, 8, dtype="uint8"))
    cfg = {**SMALL, "epochs": 10, "adv_weight": 0.5}
    ref = train_run(ds, tmp_path / "ref", model="vaelab-image", config=cfg, seed=1, progress=False, device="cpu")
    with monkeypatch.context() as mp:
        interrupt_loss(mp, VaelabImage, 7)
        with pytest.raises(Interrupted):
            train_run(ds, tmp_path / "run", model="vaelab-image", config=cfg, seed=1, progress=False,
                      checkpoint_every=3, device="cpu")
    run = train_run(ds, tmp_path / "run", model="vaelab-image", config=cfg, seed=1, progress=False, resume=True,
                    device="cpu")
    assert len(run.generator.history_) == 10 and start_epoch(10, 1) < 6  # resumed from epoch 6, adversary running

    def files(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    assert files(run.path) == files(ref.path)


def test_checkpointed_discriminator_state_round_trips_and_is_checked():
    adv = Adversary(1, 2, weight=0.5, kl_warmup=0)

    class T:  # the trainer attributes on_fit_start reads
        class learner:
            n_models = 1
        seeds, device = [3], torch.device("cpu")

        class config:
            lr, epochs = 1e-3, 8

    adv.on_fit_start(T)
    state = adv.state_dict()
    assert any(k.startswith("adv.opt.") for k in state) and any(k.startswith("adv.disc.") for k in state)
    other = Adversary(1, 2, weight=0.5, kl_warmup=0)
    T.seeds = [4]
    other.on_fit_start(T)
    other.load_state_dict(state)
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in state.items())
    with pytest.raises(InputError, match="discriminator"):
        other.load_state_dict({**state, "adv.other": torch.zeros(1)})
    with pytest.raises(InputError, match="discriminator"):
        other.load_state_dict({k: v[..., :1] if k.startswith("adv.disc.") else v for k, v in state.items()})


def test_stacked_seeds_and_bad_values_are_refused(data):
    from vaelab.training.multi import fit_many

    with pytest.raises(InputError, match="one network at a time"):
        fit_many(lambda: get_model("vaelab-image", **{**SMALL, "adv_weight": 0.5}), *data, seeds=[0, 1])
    for bad in (-0.5, float("nan"), "x", True):
        with pytest.raises(InputError, match="adv_weight must be"):
            get_model("vaelab-image", adv_weight=bad)
