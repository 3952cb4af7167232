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
from vaelab.modalities.image.codec import PcaCodec, VaeCodec, quality_steps
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
    prev_err, prev_bytes = np.inf, 0
    for quality in (20, 40, 60):
        step, _ = quality_steps(quality)
        blobs, rec = codec.encode(Y, z, c, quality)
        back, _ = codec.decode(blobs, quality)
        np.testing.assert_array_equal(back, rec)
        err = np.sqrt(((rec - Y) ** 2).reshape(2, -1).sum(1)).max()
        assert err <= step / 2 * 8 + 0.5 / 255 * 8
        nbytes = sum(len(b) for b in blobs)
        assert err < prev_err and nbytes > prev_bytes
        prev_err, prev_bytes = err, nbytes


def test_pca_codec_error_bounded():
    rng = np.random.default_rng(0)
    train = rng.uniform(0, 1, (50, 16))
    pc = PcaCodec(train, levels=0)
    blobs, rec = pc.encode(train[:5], 0.01)
    assert np.sqrt(((rec - train[:5]) ** 2).sum(1)).max() <= 0.005 * 4 + 1e-9
    assert all(len(b) > 0 for b in blobs)


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
