"""vaelab train / generate / reconstruct on a tiny synthetic clip set (tones, chirps, noise bursts)."""

import json

import numpy as np
import pytest
import soundfile as sf

from audio_data import tiny_audio_run
from vaelab.cli import main


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    rc = tiny_audio_run(d, per_class=4, epochs=2, width=32, latent_channels=16)
    assert rc == 0
    return d


def test_train_records_mel_and_default_model(audio_run):
    meta = json.loads((audio_run / "run" / "run.json").read_text())
    assert meta["model"] == "vaelab-audio"
    assert meta["data"]["layout"]["kind"] == "audio"
    assert meta["data"]["layout"]["mel"]["n_mels"] == 64 and meta["data"]["layout"]["mel"]["hop"] == 160
    assert meta["data"]["feature_shape"] == [64, 51]
    assert meta["data"]["sample"]["kind"] == "audio" and meta["data"]["sample"]["sample_rate"] == 16000


def test_generate_writes_clip_folder_that_train_reads(audio_run, tmp_path):
    out = tmp_path / "gen"
    assert main(["generate", str(audio_run / "run"), "--per-class", "2", "--seed", "1", "--out", str(out)]) == 0
    lines = (out / "labels.csv").read_text().splitlines()
    assert lines[0] == "file,label" and len(lines) == 7
    assert {ln.split(",")[1] for ln in lines[1:]} == {"tone", "chirp", "burst"}
    x, sr = sf.read(out / "tone" / "0.wav")
    assert sr == 16000 and len(x) == 8000
    again = tmp_path / "gen2"  # the same seed again, written by two worker processes: the same bytes
    assert main(["generate", str(audio_run / "run"), "--per-class", "2", "--seed", "1", "--jobs", "2",
                 "--out", str(again)]) == 0
    for k in ("tone/0.wav", "chirp/1.wav", "burst/1.wav"):
        assert (out / k).read_bytes() == (again / k).read_bytes()
    from vaelab.modalities.audio.io import load_clips
    from vaelab.modalities.audio.mel import MelParams

    assert load_clips(out, MelParams(duration=0.5)).waves.shape == (6, 8000)


def test_reconstruct_every_method(audio_run, tmp_path):
    out = tmp_path / "rec"
    rc = main(["reconstruct", str(audio_run / "run"), "--input", str(audio_run / "clips"), "--enhance",
               "none,laplacian:1.5,noise:0.1,contrast:1.2,hybrid,eq", "--gl-iter", "4", "--bootstrap", "50",
               "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "reconstruction.json").read_text())
    for m in ("original", "vocoder", "none", "laplacian", "noise", "contrast", "hybrid", "eq"):
        assert (out / m / "tone" / "0.wav").is_file()
    assert res["parameters"]["laplacian"] == {"laplacian": 1.5}
    assert set(res["means"]) == {"front_end", "vocoder", "none", "laplacian", "noise", "contrast", "hybrid", "eq"}
    assert len(res["per_clip"]["none"]) == 12
    c = res["comparisons"]["laplacian_vs_eq"]["lsd_high"]
    assert c["ci_low"] <= c["mean_diff"] <= c["ci_high"]
    # the original written is the input after resampling / trimming: identical metrics to itself
    assert (out / "spectrograms.png").is_file() and (out / "band_retention.png").is_file()
    assert "phase" in res["conventions"]


@pytest.mark.parametrize("args", [["--enhance", "sharpen"], ["--gl-iter", "0"]])
def test_reconstruct_bad_options_write_nothing(audio_run, tmp_path, capsys, args):
    out = tmp_path / "rec"
    rc = main(["reconstruct", str(audio_run / "run"), "--input", str(audio_run / "clips"), *args, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("vaelab: error:")
    assert not out.exists()


def test_train_on_bad_audio_exits_2(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    sf.write(d / "a.wav", np.zeros(4000, np.float32), 16000)
    (d / "labels.csv").write_text("file,label\na.wav,x\n")
    rc = main(["train", str(d), "--out", str(tmp_path / "run")])
    assert rc == 2 and "silence only" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_saved_model_reconstructs_like_fitted(audio_run):
    from vaelab.modalities.audio.io import load_clips
    from vaelab.modalities.audio.mel import log_mel
    from vaelab.runs import load_run

    run = load_run(audio_run / "run")
    clips = load_clips(audio_run / "clips", run.generator.mel_params)
    L = log_mel(clips.waves, run.generator.mel_params)
    z = run.generator.encode(L, clips.y)
    assert z.shape == (12, 16, 13)
    rec = run.generator.decode(z, clips.y)
    assert rec.shape == L.shape and np.all(np.isfinite(rec))
    assert set(run.generator.tuned_params()) == {"laplacian", "noise", "contrast"}


def test_audioldm2_reference_layout():
    from vaelab.models import get_model

    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 64, 21))
    y = np.array(["a", "b"] * 4, dtype=object)
    g = get_model("vaelab-audio", arch="audioldm2", width=32, epochs=1, batch_size=4)
    g.progress = False
    g.fit(X, y, seed=0)
    z = g.encode(X, y)
    assert z.shape == (8, 8, 16, 6)  # 8 latent channels at 4x downsampling (AudioLDM2's layout)
    Xs, ys = g.sample({"a": 2, "b": 1}, seed=0)
    assert Xs.shape == (3, 64, 21) and list(ys) == ["a", "a", "b"]


def test_evaluate_audio_folders(audio_run, tmp_path, capsys):
    gen = tmp_path / "gen"
    assert main(["generate", str(audio_run / "run"), "--per-class", "4", "--out", str(gen)]) == 0
    out = tmp_path / "ev"
    rc = main(["evaluate", "--real", str(audio_run / "clips"), "--synthetic", str(gen), "--holdout",
               str(audio_run / "clips"), "--run", str(audio_run / "run"), "--out", str(out)])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    for space in ("cnn", "melstats"):
        assert 0 <= m[space]["c2st_auc"] <= 1 and m[space]["frechet"] >= 0 and "dcr_ratio" in m[space]
    assert 0 <= m["tstr"] <= 1 and 0 <= m["trtr"] <= 1
    assert set(m["flags"]) >= {"distinguishable", "memorization"}
    assert m["protocol"].startswith("synthetic vs the training clips") and m["n_reference"] is None
    capsys.readouterr()
    rc = main(["evaluate", "--real", str(audio_run / "clips"), "--synthetic", str(tmp_path / "nope.csv"),
               "--out", str(tmp_path / "ev2")])
    assert rc == 2 and not (tmp_path / "ev2").exists()


def test_evaluate_against_held_out_reference_clips():
    """With reference clips (held out from the training sources) the comparison set is the reference: copies of
    the training clips sit at distance 0 from them (DCR ratio 0, all closer than the reference), clips drawn
    like the reference are indistinguishable from it (C2ST near 0.5), and the real-vs-real row compares the
    reference with the holdout."""
    from vaelab.modalities.audio.evaluate import evaluate_audio

    rng = np.random.default_rng(0)

    def clips(n, shift=0.0):
        base = np.linspace(-2, 0, 16)[None, :, None] + shift
        return base + 0.5 * rng.standard_normal((n, 16, 12))

    y = np.array(["a", "b"] * 20, dtype=object)
    L_train, L_ref, L_hold, L_new = clips(40), clips(40), clips(40, 1.0), clips(40)
    copies = evaluate_audio(L_train, y, L_train.copy(), y, L_hold=L_hold, y_hold=y, L_ref=L_ref, cnn_epochs=2)
    assert copies["protocol"].startswith("synthetic vs held-out") and copies["n_reference"] == 40
    assert copies["melstats"]["dcr_ratio"] == pytest.approx(0.0, abs=1e-9)
    fresh = evaluate_audio(L_train, y, L_new, y, L_hold=L_hold, y_hold=y, L_ref=L_ref, cnn_epochs=2)
    assert fresh["melstats"]["c2st_auc"] < 0.7
    assert fresh["melstats"]["c2st_auc_real_vs_real"] > 0.9  # the holdout is shifted: told apart


def test_mel_statistics_known_values():
    from vaelab.modalities.audio.features import mel_statistics

    L = np.zeros((1, 2, 4))
    L[0, 1] = [0, 2, 0, 2]
    f = mel_statistics(L)
    # per bin: mean, std, mean |delta|, 90th percentile
    assert np.allclose(f[0], [0, 1, 0, 1, 0, 2, 0, 2])


def test_audio_demo(tmp_path):
    from vaelab.modalities.audio.demo import run_audio_demo

    res = run_audio_demo(tmp_path / "demo", epochs=2, per_class=6, progress=False, log=lambda *a: None)
    assert (tmp_path / "demo" / "reconstruct" / "reconstruction.json").is_file()
    assert (tmp_path / "demo" / "synthetic" / "labels.csv").is_file()
    assert "vocoder" in res["reconstruction"] and "cnn" in res["generation"]
