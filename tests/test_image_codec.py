"""Image compression (issue 12): rANS coder, Laplace models, the VAE codec, the file format and the commands.

Known answers: rANS lengths equal the ideal code length ``sum -log2 p`` (to a byte); a constant image under a
decoder whose mean is a constant image is reconstructed exactly; the reconstruction error of any image is
bounded by the quantiser (orthonormal DCT: ``|e|_2 <= step / 2 * sqrt(D)``, + half a grey level).
"""

import math

import numpy as np
import pytest
import torch

from image_data import stripes, tiny_image_run
from test_image_restoration import constant_model
from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.modalities.image import entropy
from vaelab.modalities.image.codec import MODES, PcaBasis, PcaCodec, VaeCodec, quality_steps
from vaelab.modalities.image.codec_file import pack_file, unpack_file


def test_rans_round_trip_and_ideal_length():
    rng = np.random.default_rng(0)
    models = [entropy.Laplace(b) for b in (0.05, 0.7, 3.0, 40.0)]
    vals = [int(round(rng.laplace(0, m.b))) for m in models for _ in range(200)]
    vals[5] = 10_000  # escapes
    vals[300] = -77
    ms = [m for m in models for _ in range(200)]
    enc, ideal = entropy.Encoder(), 0.0
    entropy.put_uniform(enc, 2, 3)
    for v, m in zip(vals, ms, strict=True):
        m.put(enc, v)
    data = enc.finish()
    dec = entropy.Decoder(data)
    assert entropy.get_uniform(dec, 3) == 2
    assert [m.get(dec) for m in ms] == vals
    dec.check_end()
    # ideal length of the in-range symbols under the coder's own frequencies
    for v, m in zip(vals, ms, strict=True):
        if abs(v) <= m.A:
            k = v + m.A
            ideal += -math.log2((m.cum(k + 1) - m.cum(k)) / entropy.M)
    escapes = sum(1 for v, m in zip(vals, ms, strict=True) if abs(v) > m.A)
    assert escapes == 2
    assert len(data) * 8 >= ideal + math.log2(3)
    assert len(data) * 8 <= ideal + math.log2(3) + 2 * 40 + escapes * 24 + 16


def test_laplace_frequencies_follow_the_density():
    m = entropy.Laplace(2.0)
    p = np.array([m.cum(k + 1) - m.cum(k) for k in range(2 * m.A + 1)]) / entropy.M
    q = np.arange(-m.A, m.A + 1)
    F = lambda t: np.where(t < 0, 0.5 * np.exp(t / 2.0), 1 - 0.5 * np.exp(-t / 2.0))  # noqa: E731
    np.testing.assert_allclose(p, F(q + 0.5) - F(q - 0.5), atol=1e-5)
    assert m.cum(2 * m.A + 1) < entropy.M  # room for the escape


def test_decoder_detects_a_foreign_stream():
    m = entropy.Laplace(1.0)
    enc = entropy.Encoder()
    for v in (0, 1, -2, 0, 3):
        m.put(enc, v)
    data = bytearray(enc.finish())
    data[0] ^= 0x40
    dec = entropy.Decoder(bytes(data))
    for _ in range(5):
        m.get(dec)
    with pytest.raises(InputError, match="corrupt"):
        dec.check_end()


def textured_constant_model(size: int = 8):
    """The constant-mean model of the completion tests plus a texture Gaussian (identity covariance)."""
    g = constant_model(size)
    D = size * size
    g.extra_["tex_rows"] = torch.eye(D)[None].float()
    g.extra_["tex_mean"] = torch.zeros(1, D)
    return g


def _round_trips(codec, X, z, c, qualities=(20, 40, 60)):
    """Encode at each quality; check that decoding gives back the encoder's images and class indices, and that
    the total size rises and the error falls with the quality; yield ``(quality, step, blobs, rec)``."""
    prev_err, prev_bytes = np.inf, 0
    for quality in qualities:
        blobs, rec = codec.encode(X, z, c, quality)
        back, cls = codec.decode(blobs, quality)
        np.testing.assert_array_equal(back, rec)
        np.testing.assert_array_equal(cls, c)
        err, nbytes = np.sqrt(((rec - X) ** 2).sum()), sum(len(b) for b in blobs)
        assert err < prev_err and nbytes > prev_bytes, quality
        prev_err, prev_bytes = err, nbytes
        yield quality, quality_steps(quality)[0], blobs, rec


def test_constant_image_round_trips_exactly_and_error_is_bounded():
    g = textured_constant_model()
    X = np.full((2, 1, 8, 8), 0.7)
    X[1] = 0.4
    X = np.round(X * 255) / 255
    codec = VaeCodec(g)
    z, c = codec.codes(X, np.zeros(2, int))
    for quality, transform in ((60, "dct"), (80, "dct"), (100, "dct"), (60, "klt")):
        codec.transform = transform
        blobs, rec = codec.encode(X, z, c, quality)
        np.testing.assert_array_equal(rec, X)
        back, cls = codec.decode(blobs, quality)
        np.testing.assert_array_equal(back, X)
        assert list(cls) == [0, 0]
    codec.transform = "dct"
    # a non-constant image: error bounded by the quantiser, smaller and dearer with the quality
    rng = np.random.default_rng(1)
    Y = np.round(np.clip(0.5 + 0.2 * rng.standard_normal((2, 1, 8, 8)), 0, 1) * 255) / 255
    z, c = codec.codes(Y, np.zeros(2, int))
    for _, step, _, rec in _round_trips(codec, Y, z, c):
        err = np.sqrt(((rec - Y) ** 2).reshape(2, -1).sum(1)).max()
        assert err <= step / 2 * 8 + 0.5 / 255 * 8


def test_pca_codec_error_bounded():
    rng = np.random.default_rng(0)
    train = rng.uniform(0, 1, (50, 16))
    pc = PcaCodec(train, levels=0)
    blobs, rec = pc.encode(train[:5], 0.01)
    assert np.sqrt(((rec - train[:5]) ** 2).sum(1)).max() <= 0.005 * 4 + 1e-9
    assert all(len(b) > 0 for b in blobs)


def _images_on_a_plane(n: int, seed: int) -> np.ndarray:
    """(n, 1, 8, 8) grey-level images 0.5 + a u + b v with two fixed smooth patterns u, v."""
    rng = np.random.default_rng(seed)
    g = np.linspace(-1, 1, 8)
    u, v = np.outer(g, np.ones(8)), np.outer(np.ones(8), np.sin(3 * g))
    ab = rng.uniform(-0.2, 0.2, (n, 2))
    return np.round((0.5 + ab[:, :1, None] * u + ab[:, 1:, None] * v) * 255)[:, None] / 255


def test_pca_basis_known_answer_and_file(tmp_path):
    train = _images_on_a_plane(40, 0).reshape(40, -1)
    B = PcaBasis.fit(train)
    np.testing.assert_allclose(B.V @ B.V.T, np.eye(64), atol=1e-10)
    coef = (train - train.mean(0)) @ B.V.T
    np.testing.assert_allclose(B.b, np.abs(coef).mean(0))
    assert B.b[2:].max() < 1 / 255 < B.b[1] / 100  # two patterns (+ grey-level rounding): two components carry it
    np.testing.assert_allclose((coef @ B.V) + B.mean, train, atol=1e-12)
    f = tmp_path / "codec.safetensors"
    B.save(f)
    C = PcaBasis.load(f, 64)
    for a, b in ((B.mean, C.mean), (B.V, C.V), (B.b, C.b)):
        np.testing.assert_array_equal(a, b)
    PcaBasis.fit(train).save(tmp_path / "again.safetensors")
    assert (tmp_path / "again.safetensors").read_bytes() == f.read_bytes()  # deterministic
    with pytest.raises(InputError, match="not 16"):
        PcaBasis.load(f, 16)
    data = f.read_bytes()
    for name, bad in {"trunc": data[:-10], "zero": bytes(len(data)), "pickle": b"\x80\x04" + data[2:]}.items():
        (tmp_path / name).write_bytes(bad)
        with pytest.raises(InputError):
            PcaBasis.load(tmp_path / name, 64)
    from safetensors.numpy import save_file

    save_file({"mean": B.mean, "basis": B.V, "scale": B.b}, str(tmp_path / "foreign"), metadata={"format": "other"})
    with pytest.raises(InputError, match="not a vaelab image codec file"):
        PcaBasis.load(tmp_path / "foreign", 64)


def test_modes_pick_the_least_rd_cost_and_round_trip():
    g = textured_constant_model()
    train = _images_on_a_plane(40, 0)
    codec = VaeCodec(g, basis=PcaBasis.fit(train.reshape(40, -1)))
    assert codec.modes == MODES
    X = np.concatenate([_images_on_a_plane(3, 1), np.full((2, 1, 8, 8), np.round(0.7 * 255) / 255)])  # plane / constant
    X[4] = np.round(0.3 * 255) / 255
    z, c = codec.codes(X, np.zeros(5, int))
    for quality, step, blobs, _ in _round_trips(codec, X, z, c):
        lam = math.log(2) / 6 * step ** 2
        for i in range(5):  # the chosen mode has the least SSE + lambda * bits of the three
            costs = [((codec.per_mode_[m][1][i] - X[i]) ** 2).sum() + lam * 8 * codec.per_mode_[m][0][i] for m in MODES]
            assert codec.modes_[i] == int(np.argmin(costs))
            assert len(blobs[i]) == codec.per_mode_[MODES[codec.modes_[i]]][0][i]
        for m in MODES:  # every mode: error within the quantiser's bound (orthonormal transforms)
            e = np.sqrt(((codec.per_mode_[m][1] - X) ** 2).reshape(5, -1).sum(1))
            assert e.max() <= step / 2 * 8 + 0.5 / 255 * 8, m
        if quality == 60:  # constant images: exact under the constant model
            np.testing.assert_array_equal(codec.per_mode_["dct"][1][3:], X[3:])


def test_quality_is_checked():
    for bad in (-1, 101, float("nan")):
        with pytest.raises(InputError, match="quality"):
            quality_steps(bad)
    assert quality_steps(0)[0] == 0.5 and quality_steps(10)[0] == 0.25


def test_file_format_round_trip_and_validation():
    blobs = [b"abc", b"", bytes(range(200))]
    data = pack_file({"quality": 50.0}, blobs)
    head, back = unpack_file(data)
    assert back == blobs and head["n"] == 3 and head["quality"] == 50.0
    for bad in (data[:-1], data + b"x", bytes(8) + data[8:], data[:12] + b"]" + data[13:], data[:5]):
        with pytest.raises(InputError, match="not a vaelab compressed-images file"):
            unpack_file(bad)


# ---------------------------------------------------------------- commands on a tiny trained run
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("codec")
    tiny_image_run(d, 20)
    return d


def test_cli_compress_decompress(tiny, tmp_path):
    X, y = stripes(20, 8)
    f = tmp_path / "x.vlz"
    for q, tol in ((80, 1), (30, 255)):
        assert main(["compress", str(tiny / "run"), "--input", str(tiny / "x.npz"), "--quality", str(q),
                     "--out", str(f)]) == 0
        assert main(["decompress", str(tiny / "run"), str(f), "--out", str(tmp_path / "o.npz")]) == 0
        z = np.load(tmp_path / "o.npz")
        assert z["X"].dtype == np.uint8 and z["X"].shape == X.shape
        assert np.abs(z["X"].astype(int) - X).max() <= tol
        np.testing.assert_array_equal(z["y"], [str(v) for v in y])
    assert f.stat().st_size < X.size  # quality 30 is smaller than the raw pixels


def test_cli_codec_file_modes_round_trip_and_mismatch(tiny, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny / "run", run)
    X, y = stripes(20, 8)
    f, o = tmp_path / "x.vlz", tmp_path / "o.npz"
    assert main(["compress", str(run), "--input", str(tiny / "x.npz"), "--fit", "--out", str(f)]) == 2
    assert "either" in capsys.readouterr().err and not (run / "codec.safetensors").exists()
    assert main(["compress", str(run), "--input", str(tiny / "x.npz"), "--fit"]) == 0
    assert (run / "codec.safetensors").is_file()
    assert main(["compress", str(run), "--input", str(tiny / "x.npz"), "--quality", "80", "--out", str(f)]) == 0
    assert b'"codec":"' in f.read_bytes()[:400]
    assert main(["decompress", str(run), str(f), "--out", str(o)]) == 0
    assert np.abs(np.load(o)["X"].astype(int) - X).max() <= 1
    data = f.read_bytes()
    k = 12 + int.from_bytes(data[8:12], "big") + 5
    (tmp_path / "bad.vlz").write_bytes(data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:])
    assert main(["decompress", str(run), str(tmp_path / "bad.vlz"), "--out", str(tmp_path / "bad.npz")]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "bad.npz").exists()
    # another codec file in the run: refused, nothing written
    PcaBasis.fit(np.random.default_rng(0).uniform(0, 1, (30, 64))).save(run / "codec.safetensors")
    o.unlink()
    assert main(["decompress", str(run), str(f), "--out", str(o)]) == 2
    err = capsys.readouterr().err
    assert "another codec file" in err and err.count("\n") == 1 and not o.exists()
    (run / "codec.safetensors").write_bytes(b"garbage")
    assert main(["compress", str(run), "--input", str(tiny / "x.npz"), "--out", str(tmp_path / "g.vlz")]) == 2
    assert capsys.readouterr().err.startswith("vaelab: error:") and not (tmp_path / "g.vlz").exists()


def test_cli_corrupt_file_exit_2_nothing_written(tiny, tmp_path, capsys):
    f = tmp_path / "x.vlz"
    assert main(["compress", str(tiny / "run"), "--input", str(tiny / "x.npz"), "--out", str(f)]) == 0
    data = f.read_bytes()
    head_end = 12 + int.from_bytes(data[8:12], "big")
    cases = {"trunc": data[:-3], "magic": b"P" + data[1:], "payload": data[:head_end + 5] + bytes([data[head_end + 5] ^ 0xFF])
             + data[head_end + 6:], "empty": b""}
    for name, bad in cases.items():
        p = tmp_path / f"{name}.vlz"
        p.write_bytes(bad)
        out = tmp_path / f"{name}.npz"
        assert main(["decompress", str(tiny / "run"), str(p), "--out", str(out)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("vaelab: error:") and err.count("\n") == 1 and not out.exists(), name
    out = tmp_path / "q.vlz"
    assert main(["compress", str(tiny / "run"), "--input", str(tiny / "x.npz"), "--quality", "120",
                 "--out", str(out)]) == 2
    assert "quality" in capsys.readouterr().err and not out.exists()
