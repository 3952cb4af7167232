"""Loaders and writers: every format, header / no header, string / int labels, layouts preserved."""

import numpy as np
import pandas as pd
import pytest

from vaelab.core.errors import InputError
from vaelab.data.io import load_data, write_data


def _frame(X, y, header=None, label_pos=0):
    df = pd.DataFrame(X, columns=header)
    df.insert(label_pos, "label", y)
    return df


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_table_without_header_seed_layout(tmp_path, small_spectra, suffix, labels):
    X, y, _ = small_spectra
    yy = y if labels == "int" else np.asarray(["ctrl", "covA", "covB"])[y]
    df = _frame(X, yy)
    p = tmp_path / f"d{suffix}"
    if suffix == ".xlsx":
        df.to_excel(p, header=False, index=False)
    else:
        df.to_csv(p, header=False, index=False, sep="\t" if suffix == ".tsv" else ",")
    ds = load_data(p)
    assert ds.layout.header is False
    assert ds.X.shape == X.shape
    np.testing.assert_allclose(ds.X, X, rtol=1e-12)
    assert ds.axis is None
    if labels == "int":
        assert ds.y.dtype == np.int64
        np.testing.assert_array_equal(ds.y, y)
    else:
        assert list(ds.y) == list(yy)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_numeric_header_becomes_axis(tmp_path, small_spectra, suffix):
    X, y, axis = small_spectra
    names = [f"{a:g}" for a in axis]
    df = _frame(X, np.asarray(["a", "b", "c"])[y], header=names)
    p = tmp_path / f"d{suffix}"
    (df.to_excel if suffix == ".xlsx" else df.to_csv)(p, index=False)
    ds = load_data(p)
    assert ds.layout.header is True
    np.testing.assert_allclose(ds.axis, axis)
    assert ds.layout.label_name == "label"
    np.testing.assert_allclose(ds.X, X)


def test_numeric_header_with_int_labels(tmp_path, small_spectra):
    X, y, axis = small_spectra
    df = _frame(X, y, header=[f"{a:g}" for a in axis])
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    ds = load_data(p)
    assert ds.layout.header and ds.n == len(X)
    np.testing.assert_array_equal(ds.y, y)


def test_text_header_and_label_column_by_name_and_group(tmp_path, small_spectra):
    X, y, _ = small_spectra
    df = pd.DataFrame(X, columns=[f"w{j}" for j in range(X.shape[1])])
    df["patient"] = [f"p{i // 3}" for i in range(len(X))]
    df["diagnosis"] = np.asarray(["CTRL", "COV+", "COV-"])[y]
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    ds = load_data(p, label_column="diagnosis", group_column="patient")
    assert ds.X.shape == X.shape
    assert ds.axis is None and ds.layout.feature_names[0] == "w0"
    assert ds.groups[0] == "p0" and len(set(ds.groups)) == len(X) // 3
    assert set(ds.y) == {"CTRL", "COV+", "COV-"}
    # label column given by (negative) index
    ds2 = load_data(p, label_column=-1, group_column=-2)
    assert list(ds2.y) == list(ds.y)


def test_label_column_by_index_in_the_middle(tmp_path, small_spectra):
    X, y, _ = small_spectra
    df = _frame(X, y, label_pos=5)
    p = tmp_path / "d.csv"
    df.to_csv(p, header=False, index=False)
    ds = load_data(p, label_column=5)
    np.testing.assert_allclose(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.layout.label_position == 5


def test_npz_round_trip_with_groups_and_axis(tmp_path, small_spectra):
    X, y, axis = small_spectra
    p = tmp_path / "d.npz"
    np.savez(p, X=X, y=np.asarray(["a", "b", "c"])[y], groups=np.arange(len(X)) // 4, axis=axis)
    ds = load_data(p)
    np.testing.assert_allclose(ds.X, X)
    np.testing.assert_allclose(ds.axis, axis)
    assert ds.groups[4] == "1" and ds.y[0] == "a"
    out = tmp_path / "o.npz"
    write_data(ds, out)
    with np.load(out, allow_pickle=False) as z:
        assert z["y"].dtype.kind == "U" and list(z["y"][:2]) == ["a", "a"]
        np.testing.assert_allclose(z["axis"], axis)
        np.testing.assert_allclose(z["X"], X.astype(np.float32))


def test_npz_images_any_trailing_shape(tmp_path):
    X = np.random.default_rng(0).random((10, 4, 5))
    p = tmp_path / "img.npz"
    np.savez(p, X=X, y=np.arange(10) % 2)
    ds = load_data(p)
    assert ds.feature_shape == (4, 5)
    assert ds.y.dtype == np.int64


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".npz"])
@pytest.mark.parametrize("header", [False, True])
def test_write_then_read_same_layout(tmp_path, small_spectra, suffix, header):
    X, y, axis = small_spectra
    df = _frame(X, y, header=[f"{a:g}" for a in axis] if header else None)
    src = tmp_path / "src.csv"
    df.to_csv(src, index=False, header=header)
    ds = load_data(src)
    out = tmp_path / f"out{suffix}"
    write_data(ds, out)
    back = load_data(out)
    np.testing.assert_allclose(back.X, X, rtol=1e-6)
    if suffix == ".npz":
        assert [str(v) for v in back.y] == [str(v) for v in y]
    else:
        np.testing.assert_array_equal(back.y, y)
        assert back.layout.header == header
        if header:
            np.testing.assert_allclose(back.axis, axis)


def test_seed_layout_written_back_identically(tmp_path):
    """A headerless integer-labelled table written by vaelab reads back as the same table."""
    X = np.round(np.random.default_rng(1).random((6, 5)), 6)
    y = np.array([0, 0, 1, 1, 2, 2])
    src = tmp_path / "seed.xlsx"
    _frame(X, y).to_excel(src, header=False, index=False)
    out = tmp_path / "copy.xlsx"
    write_data(load_data(src), out)
    a = pd.read_excel(src, header=None)
    b = pd.read_excel(out, header=None)
    assert a.shape == b.shape
    np.testing.assert_array_equal(a[0].to_numpy(), b[0].to_numpy())
    np.testing.assert_allclose(a.iloc[:, 1:].to_numpy(float), b.iloc[:, 1:].to_numpy(float))


@pytest.mark.parametrize(
    "content, message",
    [
        ("0,1,2\n1,n/a,3\n", "non-numeric value 'n/a'"),
        ("0,1,2\n1,nan,3\n", "NaN or infinite"),
        ("0,1,2\n1,inf,3\n", "NaN or infinite"),
        ("0,1,2\n1,2\n", "missing value"),
        ("0,1,2\n1,2,3,4\n", "ragged"),
        ("", "empty"),
        ("label\n", "need a label column"),
    ],
)
def test_bad_tables_raise_input_error(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(InputError, match=message):
        load_data(p)


def test_garbage_and_missing_files(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary"):
        load_data(p)
    with pytest.raises(InputError, match="no such file"):
        load_data(tmp_path / "nope.csv")
    q = tmp_path / "x.xlsx"
    q.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="xlsx"):
        load_data(q)
    r = tmp_path / "x.parquet"
    r.write_text("a")
    with pytest.raises(InputError, match="unsupported"):
        load_data(r)


def test_npz_object_arrays_refused(tmp_path):
    p = tmp_path / "o.npz"
    np.savez(p, X=np.zeros((3, 2)), y=np.array(["a", 1, None], dtype=object))
    with pytest.raises(InputError, match="object arrays"):
        load_data(p)


def test_missing_label_column_name(tmp_path, small_spectra):
    X, y, _ = small_spectra
    p = tmp_path / "d.csv"
    _frame(X, y, header=[f"w{j}" for j in range(X.shape[1])]).to_csv(p, index=False)
    with pytest.raises(InputError, match="not found"):
        load_data(p, label_column="diagnosis")
    with pytest.raises(InputError, match="out of range"):
        load_data(p, label_column=999)
