"""Image data: npz (n, H, W[, C]), the MedMNIST layout with splits, class folders of PNG/JPEG; writers."""

import numpy as np
import pytest
from PIL import Image

from image_data import stripes, write_medmnist
from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.io import load_data, write_data
from vaelab.data.sample import SampleSpec


def _folder(root, sizes=None, mode="L"):
    X, y = stripes(8, 10)
    for i, (img, c) in enumerate(zip(X, y, strict=True)):
        d = root / f"class_{c}"
        d.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(img)
        if sizes is not None and i == 3:
            im = im.resize(sizes)
        im.convert(mode).save(d / f"{i}.png")
    return X, y


def test_plain_npz_keeps_uint8_and_shape(tmp_path):
    X, y = stripes(10, 9)
    np.savez(tmp_path / "a.npz", X=X, y=y)
    ds = load_data(tmp_path / "a.npz")
    assert ds.X.shape == (10, 9, 9)
    assert ds.spec.kind == "image" and ds.spec.dtype == "uint8"
    np.testing.assert_array_equal(ds.X, X)
    Xc = np.repeat(X[..., None], 3, axis=3).astype(np.float32) / 255
    np.savez(tmp_path / "c.npz", X=Xc, y=y)
    dc = load_data(tmp_path / "c.npz")
    assert dc.X.shape == (10, 9, 9, 3) and dc.X.dtype == np.float32 and dc.spec.dtype == "float32"


def test_medmnist_layout_and_splits(tmp_path):
    write_medmnist(tmp_path / "m.npz")
    tr = load_data(tmp_path / "m.npz")
    te = load_data(tmp_path / "m.npz", split="test")
    assert tr.n == 120 and te.n == 60 and tr.spec.dtype == "uint8" and tr.y.dtype == np.int64
    assert sorted(tr.class_counts().values()) == [60, 60]
    with pytest.raises(InputError, match="unknown split 'dev'; this file has train, val, test"):
        load_data(tmp_path / "m.npz", split="dev")
    np.savez(tmp_path / "p.npz", X=tr.X, y=tr.y)
    with pytest.raises(InputError, match="only to npz files in the MedMNIST layout"):
        load_data(tmp_path / "p.npz", split="train")


def test_folder_grey_and_rgb(tmp_path):
    X, y = _folder(tmp_path / "g")
    ds = load_data(tmp_path / "g")
    assert ds.X.shape == (8, 10, 10) and ds.spec.dtype == "uint8"
    assert sorted(set(ds.y.tolist())) == ["class_0", "class_1"]
    # files are read class by class in name order
    np.testing.assert_array_equal(ds.X[ds.y == "class_0"][0], X[0])
    _folder(tmp_path / "c", mode="RGB")
    (tmp_path / "c" / "class_0" / "notes.txt").write_text("ignored")
    assert load_data(tmp_path / "c").X.shape == (8, 10, 10, 3)


@pytest.mark.parametrize("problem, message", [
    ("corrupt", "not a readable image"),
    ("sizes", "all images must have one size"),
    ("empty", "class folder holds no PNG/JPEG images"),
    ("flat", "one sub-folder per class"),
])
def test_folder_errors(tmp_path, problem, message):
    root = tmp_path / "d"
    if problem == "flat":
        root.mkdir()
        Image.fromarray(stripes(1, 8)[0][0]).save(root / "a.png")
    else:
        _folder(root, sizes=(12, 12) if problem == "sizes" else None)
    if problem == "corrupt":
        (root / "class_0" / "0.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    if problem == "empty":
        (root / "class_2").mkdir()
    with pytest.raises(InputError, match=message):
        load_data(root)


def test_cli_bad_input_exit_2_nothing_written(tmp_path, capsys):
    root = tmp_path / "d"
    _folder(root)
    (root / "class_1" / "1.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    assert main(["train", str(root), "--epochs", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vaelab: error: ") and "not a readable image" in err[0]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    write_medmnist(tmp_path / "m.npz")
    assert main(["train", str(tmp_path / "m.npz"), "--split", "dev", "--out", str(out)]) == 2
    assert "unknown split 'dev'" in capsys.readouterr().err and not out.exists()


def test_writers_npz_and_png_roundtrip(tmp_path):
    X, y = stripes(6, 8)
    ds = Dataset(X=X.astype(np.float64) + 0.3, y=np.asarray(["a", "b"] * 3, dtype=object),
                 spec=SampleSpec.image(8, 8, dtype="uint8"))
    write_data(ds, tmp_path / "s.npz")
    back = load_data(tmp_path / "s.npz")
    assert back.spec.dtype == "uint8"
    np.testing.assert_array_equal(back.X, X)  # rounded back to the input's levels
    write_data(ds, tmp_path / "pngs")
    again = load_data(tmp_path / "pngs")
    np.testing.assert_array_equal(np.sort(again.X.reshape(6, -1), axis=0), np.sort(X.reshape(6, -1), axis=0))
    assert sorted(set(again.y.tolist())) == ["a", "b"]
    with pytest.raises(InputError, match="go to an npz file .* or a folder of PNGs"):
        write_data(ds, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
