"""The sample description (SampleSpec): inference, JSON round trip, npz images, run.json, step modalities."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.io import load_data, write_data
from vaelab.data.preprocess import STEPS, Preprocessing
from vaelab.data.sample import SampleSpec
from vaelab.experiments.common import choose_preprocess


@pytest.mark.parametrize("shape,kind,desc", [
    ((1841,), "spectrum", "spectra of 1841 points"),
    ((28, 28), "image", "images of 28x28"),
    ((28, 28, 3), "image", "images of 28x28 with 3 channels"),
    ((8, 8, 16), "generic", "samples of shape 8x8x16"),
    ((2, 3, 4, 5), "generic", "samples of shape 2x3x4x5"),
])
def test_infer_from_the_shape_of_one_sample(shape, kind, desc):
    spec = SampleSpec.infer(shape, dtype=np.uint8)
    assert (spec.kind, spec.shape, spec.dtype) == (kind, shape, "uint8")
    assert spec.describe() == desc
    assert SampleSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_image_sizes_and_channels():
    grey, rgb = SampleSpec.image(28, 20), SampleSpec.image(28, 20, 3, dtype="uint8")
    assert (grey.height, grey.width, grey.channels, grey.shape) == (28, 20, 1, (28, 20))
    assert (rgb.height, rgb.width, rgb.channels, rgb.shape) == (28, 20, 3, (28, 20, 3))
    assert rgb.to_dict() == {"kind": "image", "shape": [28, 20, 3], "dtype": "uint8", "height": 28, "width": 20,
                             "channels": 3}
    with pytest.raises(AttributeError):
        _ = SampleSpec.spectrum(5).height


def test_spectrum_and_audio_round_trip_through_json():
    spec = SampleSpec.spectrum(3, axis=[400.0, 402.0, 404.0], dtype="float64")
    d = json.loads(json.dumps(spec.to_dict()))
    assert d["axis"] == [400.0, 402.0, 404.0] and SampleSpec.from_dict(d) == spec
    assert "axis" not in spec.to_dict(axis=False)
    audio = SampleSpec.audio((64, 128), sample_rate=16000, n_mels=64, n_fft=1024, hop_length=256)
    d = json.loads(json.dumps(audio.to_dict()))
    assert d == {"kind": "audio", "shape": [64, 128], "dtype": None, "sample_rate": 16000, "n_mels": 64,
                 "n_fft": 1024, "hop_length": 256}
    assert SampleSpec.from_dict(d) == audio


@pytest.mark.parametrize("d,match", [
    ({"kind": "video", "shape": [3]}, "unknown sample kind"),
    ({"kind": "image", "shape": [28, 0]}, "positive integer"),
    ({"kind": "image", "shape": "28x28"}, "must be a list"),
    ({"kind": "image", "shape": [28, 28], "axis": [1.0] * 28}, "axis describes spectra"),
    ({"kind": "image", "shape": [28, 28], "channels": 3}, "does not match"),
    ({"kind": "image", "shape": [28, 28, 7]}, "channels <= 4"),
    ({"kind": "spectrum", "shape": [3], "axis": [1.0, 2.0]}, "3 finite values"),
    ({"kind": "spectrum", "shape": [2], "axis": ["a", "b"]}, "numbers"),
    ({"kind": "spectrum", "shape": [3], "sample_rate": 100}, "describes audio"),
    ({"kind": "audio", "shape": [64, 10]}, "sample_rate"),
    ({"kind": "audio", "shape": [64, 10], "sample_rate": 0}, "positive integer"),
    ({"kind": "generic", "shape": [3], "dtype": "object"}, "numeric"),
    ({"kind": "generic", "shape": [3], "colour": "red"}, "unknown sample description"),
    ([1, 2], "needs 'kind'"),
])
def test_damaged_descriptions_are_refused(d, match):
    with pytest.raises(InputError, match=match):
        SampleSpec.from_dict(d)


def test_dataset_infers_its_spec_and_keeps_the_axis_in_step():
    X = np.zeros((4, 3))
    ds = Dataset(X=X, y=np.array([0, 0, 1, 1]), axis=np.array([1.0, 2.0, 3.0]))
    assert ds.spec == SampleSpec.spectrum(3, axis=[1.0, 2.0, 3.0], dtype="float64")
    sub = ds.subset(np.array([0, 2]))
    assert sub.spec == ds.spec and sub.n == 2
    from_spec = Dataset(X=X, y=ds.y, spec=ds.spec)  # the axis comes back from the spec
    np.testing.assert_array_equal(from_spec.axis, [1.0, 2.0, 3.0])
    img = Dataset(X=np.zeros((2, 5, 6)), y=np.array(["a", "b"]))
    assert img.spec.kind == "image" and img.axis is None
    with pytest.raises(ValueError, match="shape"):
        Dataset(X=np.zeros((2, 5, 6)), y=np.array(["a", "b"]), spec=SampleSpec.image(6, 5))


def _image_npz(path, shape=(8, 8), dtype=np.uint8, n=12, **extra):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(n, *shape)).astype(dtype)
    y = np.repeat(np.array(["normal", "pneumonia"]), n // 2)
    np.savez(path, X=X, y=y, **extra)
    return X, y


@pytest.mark.parametrize("shape,dtype", [((8, 8), np.uint8), ((8, 6, 3), np.uint8), ((8, 8, 1), np.float32),
                                         ((7, 5), np.float64)])
def test_npz_images_load_channels_last_and_write_back_in_their_dtype(tmp_path, shape, dtype):
    X, y = _image_npz(tmp_path / "img.npz", shape, dtype)
    ds = load_data(tmp_path / "img.npz")
    assert ds.X.shape == X.shape and ds.X.dtype.kind == "f" and np.array_equal(ds.X, X)
    assert ds.spec.kind == "image" and ds.spec.shape == shape and ds.spec.dtype == np.dtype(dtype).name
    write_data(ds, tmp_path / "out.npz")
    with np.load(tmp_path / "out.npz") as z:
        assert z["X"].dtype == dtype and z["X"].shape == X.shape and np.array_equal(z["X"], X)
        assert z["y"].tolist() == y.tolist() and "axis" not in z.files


def test_uint8_writer_rounds_and_clips():
    ds = Dataset(X=np.array([[[-3.0, 0.4], [254.6, 300.0]]] * 2), y=np.array([0, 1]),
                 spec=SampleSpec.image(2, 2, dtype="uint8"))
    from vaelab.data.io import _npz_X

    out = _npz_X(ds)
    assert out.dtype == np.uint8 and out[0].tolist() == [[0, 0], [255, 255]]


def test_axis_is_for_spectra_only_and_images_do_not_go_to_tables(tmp_path):
    _image_npz(tmp_path / "img.npz", axis=np.arange(8.0))
    with pytest.raises(InputError, match="axis is for spectra"):
        load_data(tmp_path / "img.npz")
    _image_npz(tmp_path / "ok.npz")
    ds = load_data(tmp_path / "ok.npz")
    for suffix in (".csv", ".xlsx"):
        with pytest.raises(InputError, match="images of 8x8 go to an npz"):
            write_data(ds, tmp_path / f"out{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.npz", "ok.npz"]


def test_steps_declare_the_kinds_they_apply_to():
    image, spectrum = SampleSpec.image(28, 28), SampleSpec.spectrum(100)
    for name in ("asls", "arpls", "aspls", "savgol", "vector", "area"):
        assert STEPS[name].modalities == frozenset({"spectrum"})
        Preprocessing.from_spec(name).check(spectrum)
        with pytest.raises(InputError, match=rf"^preprocessing step '{name}' applies to spectra; "
                                             r"this data set holds images of 28x28$"):
            Preprocessing.from_spec(f"minmax+{name}").check(image)
    for name in ("none", "minmax", "standard"):
        Preprocessing.from_spec(name).check(image).check(spectrum)
    with pytest.raises(InputError, match="applies to spectra"):
        choose_preprocess(["ppca"], "asls", image)
    assert choose_preprocess(["ppca"], "minmax", image) == "minmax"


def test_data_imports_no_modality_and_no_model():
    code = ("import sys, vaelab.data, vaelab.data.io; "
            "bad = [m for m in sys.modules if m.startswith(('vaelab.modalities', 'vaelab.models', 'torch'))]; "
            "assert not bad, bad; from vaelab.data.preprocess import STEPS; assert 'asls' in STEPS; "
            "assert 'vaelab.modalities.spectra.preprocess' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def _cli(argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, err.getvalue()


@pytest.mark.parametrize("step", ["asls", "savgol", "vector"])
def test_train_refuses_a_spectral_step_on_images(tmp_path, step):
    _image_npz(tmp_path / "img.npz", (28, 28))
    rc, err = _cli(["train", str(tmp_path / "img.npz"), "--model", "ppca", "--preprocess", step, "--quiet",
                    "--out", str(tmp_path / "run")])
    assert rc == 2 and err == (f"vaelab: error: preprocessing step {step!r} applies to spectra; "
                               "this data set holds images of 28x28\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img.npz"]


def test_run_json_keeps_the_sample_description(tmp_path):
    from vaelab.runs import load_run

    _image_npz(tmp_path / "img.npz", (6, 5))
    for pre in ("none", "minmax"):
        run_dir = tmp_path / f"run-{pre}"
        rc, err = _cli(["train", str(tmp_path / "img.npz"), "--model", "ppca", "--preprocess", pre, "--quiet",
                        "--out", str(run_dir)])
        assert rc == 0, err
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["data"]["sample"] == {"kind": "image", "shape": [6, 5], "dtype": "uint8", "height": 6,
                                          "width": 5, "channels": 1}
        assert load_run(run_dir).spec == SampleSpec.image(6, 5, dtype="uint8")
        rc, err = _cli(["generate", str(run_dir), "--per-class", "3", "--out", str(tmp_path / f"s-{pre}.npz")])
        assert rc == 0, err
        with np.load(tmp_path / f"s-{pre}.npz") as z:
            # model space is the input's own scale only without preprocessing: then uint8 comes back
            assert z["X"].shape == (6, 6, 5) and z["X"].dtype == (np.uint8 if pre == "none" else np.float32)


def test_old_run_json_without_a_sample_description_loads(tmp_path, small_spectra):
    from vaelab.runs import load_run

    X, y, axis = small_spectra
    np.savez(tmp_path / "s.npz", X=X, y=y, axis=axis)
    rc, err = _cli(["train", str(tmp_path / "s.npz"), "--model", "ppca", "--quiet", "--out", str(tmp_path / "run")])
    assert rc == 0, err
    f = tmp_path / "run" / "run.json"
    meta = json.loads(f.read_text())
    assert meta["data"]["sample"] == {"kind": "spectrum", "shape": [64], "dtype": "float64"}
    spec = load_run(tmp_path / "run").spec
    assert spec.kind == "spectrum" and spec.axis == tuple(axis)
    del meta["data"]["sample"]
    f.write_text(json.dumps(meta))
    assert load_run(tmp_path / "run").spec == SampleSpec.spectrum(64, axis=axis)
    meta["data"]["sample"] = {"kind": "image", "shape": [8, 8]}  # disagrees with feature_shape
    f.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="shape 8×8 but feature_shape 64; the run folder is inconsistent"):
        load_run(tmp_path / "run")
    meta["data"]["sample"] = {"kind": "spectrum", "shape": [64], "dtype": "complex64"}
    f.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="damaged run description"):
        load_run(tmp_path / "run")
