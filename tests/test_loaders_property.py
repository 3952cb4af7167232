"""Property-based tests (hypothesis) for the loaders.

* Any table written by pandas / numpy in a supported layout (random shape, header or not,
  integer or text labels, label column anywhere, optional group column; csv / tsv / xlsx /
  npz) loads back with exactly the same values, labels, groups and axis.
* npz images — ``X`` (n, H, W) or (n, H, W, C), uint8 / uint16 / int16 / float32 / float64 —
  load as images with their dtype recorded, and ``write_data`` gives back the same shape,
  dtype and values.
* Anything else — random bytes, random cell text, a valid table with one cell replaced,
  npz files of random arrays (any number of dimensions) — either loads (finite numbers, consistent shapes; a table
  then survives ``write_data`` + ``load_data``) or is rejected with :class:`InputError`; never any other exception. A rejected file given to
  ``vaelab train`` gives exit code 2, one line on stderr and no output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from vaelab.cli.main import main
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset
from vaelab.data.io import load_data, write_data

# the active profile (tests/conftest.py) decides: derandomised 40 examples by default and in CI,
# VAELAB_HYPOTHESIS=deep for a random search with many examples
SETTINGS = settings()


def _not_a_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return s.lower() not in {"nan", "label", "patient"}
    return False


text_labels = st.text(alphabet=string.ascii_letters + string.digits + "+-_ ()", min_size=1, max_size=8).map(
    str.strip).filter(lambda s: s != "" and _not_a_number(s))
int_labels = st.integers(-(10**12), 10**12)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
values = st.floats(-1e300, 1e300, allow_nan=False, width=64)  # openpyxl writes "%.16g": 1.8e308 would overflow


@st.composite
def tables(draw):
    """A labelled table and how it is laid out on disk."""
    label_kind = draw(st.sampled_from(["int", "str"]))
    n_classes = draw(st.integers(2, 4))
    classes = draw(st.lists(int_labels if label_kind == "int" else text_labels, min_size=n_classes,
                            max_size=n_classes, unique=True))
    per_class = draw(st.lists(st.integers(2, 4), min_size=n_classes, max_size=n_classes))
    y = [c for c, k in zip(classes, per_class, strict=True) for _ in range(k)]
    n = len(y)
    order = draw(st.permutations(range(n)))
    y = [y[i] for i in order]
    d = draw(st.integers(1, 6))
    X = np.asarray(draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=n, max_size=n)), dtype=np.float64)
    fmt = draw(st.sampled_from([".csv", ".tsv", ".xlsx", ".npz"]))
    header = draw(st.sampled_from(["none", "text"] + (["axis"] if d >= 2 else [])))
    axis = None
    if header == "axis":
        axis = np.asarray(sorted(draw(st.lists(st.floats(-1e5, 1e5, allow_nan=False), min_size=d, max_size=d,
                                               unique=True))), dtype=np.float64)
    label_pos = draw(st.integers(0, d))
    groups = None
    if draw(st.booleans()):
        ids = draw(st.lists(st.one_of(st.integers(0, 10**6), text_labels), min_size=1, max_size=4, unique=True))
        groups = [draw(st.sampled_from(ids)) for _ in range(n)]
    by_name = header != "none" and draw(st.booleans())
    return dict(X=X, y=y, fmt=fmt, header=header, axis=axis, label_pos=label_pos, groups=groups, by_name=by_name,
                label_kind=label_kind)


def write_table(t: dict, folder: Path) -> tuple[Path, dict]:
    """Write with pandas / numpy (not vaelab's writer); returns the path and load_data arguments."""
    path = folder / f"data{t['fmt']}"
    X, y, d = t["X"], t["y"], t["X"].shape[1]
    if t["fmt"] == ".npz":
        arrays = {"X": X, "y": np.asarray(y)}
        if t["groups"] is not None:
            arrays["groups"] = np.asarray([str(g) for g in t["groups"]])
        if t["axis"] is not None:
            arrays["axis"] = t["axis"]
        np.savez(path, **arrays)
        return path, {}
    names = [repr(float(a)) for a in t["axis"]] if t["header"] == "axis" else [f"f{j}" for j in range(d)]
    df = pd.DataFrame(X, columns=names)
    df.insert(t["label_pos"], "label", y)
    kwargs: dict = {"label_column": "label" if t["by_name"] else t["label_pos"]}
    if t["groups"] is not None:
        df["patient"] = t["groups"]
        kwargs["group_column"] = "patient" if t["by_name"] else -1
    has_header = t["header"] != "none"
    if t["fmt"] == ".xlsx":
        df.to_excel(path, header=has_header, index=False)
    else:
        df.to_csv(path, sep="," if t["fmt"] == ".csv" else "\t", header=has_header, index=False)
    return path, kwargs


@SETTINGS
@given(tables())
def test_any_supported_table_round_trips(t):
    with tempfile.TemporaryDirectory() as tmp:
        path, kwargs = write_table(t, Path(tmp))
        ds = load_data(path, **kwargs)
    assert ds.X.shape == t["X"].shape
    # exactly: csv keeps repr(float) and npz the doubles; openpyxl writes 16 significant digits
    expected = np.vectorize(lambda v: float(f"{v:.16g}"))(t["X"]) if t["fmt"] == ".xlsx" else t["X"]
    assert np.array_equal(ds.X, expected)
    if t["label_kind"] == "int":
        assert ds.y.dtype == np.int64 and ds.y.tolist() == t["y"]
    else:
        assert list(ds.y) == t["y"]
    if t["groups"] is None:
        assert ds.groups is None
    else:
        assert list(ds.groups) == [str(g) for g in t["groups"]]
    if t["axis"] is not None:
        np.testing.assert_array_equal(ds.axis, t["axis"])
    if t["fmt"] != ".npz":
        assert ds.layout.header == (t["header"] != "none")
        assert ds.layout.label_position == t["label_pos"]


def _loads_or_rejects(path: Path, **kwargs) -> Dataset | None:
    """load_data either returns a sane Dataset or raises InputError (then the CLI says so in one line)."""
    try:
        ds = load_data(path, **kwargs)
    except InputError as e:
        msg = str(e)
        assert msg and "Traceback" not in msg
        _cli_rejects(path, kwargs)
        return None
    assert isinstance(ds, Dataset) and ds.n >= 1 and ds.X.ndim >= 2 and ds.X.shape[1] >= 1
    assert np.all(np.isfinite(ds.X)) and len(ds.y) == ds.n
    assert ds.y.dtype == np.int64 or all(isinstance(v, str) and v != "" for v in ds.y)
    assert ds.spec.shape == ds.feature_shape
    if ds.spec.kind == "image":  # written back in its own dtype and read again unchanged
        again = path.parent / "again.npz"
        write_data(ds, again)
        ds2 = load_data(again)
        assert ds2.spec == ds.spec and list(ds2.y) == [str(v) for v in ds.y]
        np.testing.assert_allclose(ds2.X, ds.X, rtol=1e-15, atol=0)  # exact below 2**53
    if ds.layout.kind == "table":  # what was accepted is written back and read again unchanged
        again = path.parent / "again.csv"
        write_data(ds, again)
        ds2 = load_data(again, label_column=ds.layout.label_position)
        assert ds2.y.dtype == ds.y.dtype and list(ds2.y) == list(ds.y)
        np.testing.assert_allclose(ds2.X, ds.X, rtol=1e-8, atol=0)  # the csv writer keeps 9 digits
        assert ds2.layout.header == ds.layout.header
    return ds


def _cli_rejects(path: Path, kwargs: dict) -> None:
    out = path.parent / "run"
    argv = ["train", str(path), "--quiet", "--out", str(out)]
    if "label_column" in kwargs:
        argv += ["--label-column", str(kwargs["label_column"])]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    lines = err.getvalue().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("vaelab: error: "), err.getvalue()
    assert not out.exists()


SUFFIXES = [".csv", ".tsv", ".txt", ".xlsx", ".npz"]
PREFIXES = [b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00", b"label,a,b\n", b"\xef\xbb\xbf", b"\x80\x04"]


@SETTINGS
@given(st.sampled_from(PREFIXES), st.binary(max_size=600), st.sampled_from(SUFFIXES))
def test_random_bytes_load_or_are_rejected(prefix, payload, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"x{suffix}"
        p.write_bytes(prefix + payload)
        _loads_or_rejects(p)


NASTY = ["n/a", "NA", "nan", "-inf", "1e400", "", " ", "1,5", "1_000", "0x10", "∞", "１", "1.5.2", '"', "'", "\t",
         "TRUE", "#DIV/0!", "1e-400", "+.5e3", "\u00a02", "None", "-", "label", "\n", "=1+1"]
cells = st.one_of(st.sampled_from(NASTY), st.text(max_size=6), finite.map(repr), st.integers().map(str))


@SETTINGS
@given(st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=6), st.sampled_from([",", "\t"]),
       st.booleans())
def test_random_cells_load_or_are_rejected(rows, sep, quoted):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / ("x.csv" if sep == "," else "x.tsv")
        if quoted:
            buf = io.StringIO()
            csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
            p.write_text(buf.getvalue(), encoding="utf-8")
        else:
            p.write_text("\n".join(sep.join(r) for r in rows) + "\n", encoding="utf-8")
        _loads_or_rejects(p)


@SETTINGS
@given(tables(), st.data())
def test_one_cell_replaced_loads_or_is_rejected(t, data):
    t = {**t, "fmt": data.draw(st.sampled_from([".csv", ".xlsx"])), "groups": None}
    with tempfile.TemporaryDirectory() as tmp:
        path, kwargs = write_table(t, Path(tmp))
        if t["fmt"] == ".csv":
            df = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        else:
            df = pd.read_excel(path, header=None, dtype=object)
        r = data.draw(st.integers(0, df.shape[0] - 1))
        c = data.draw(st.integers(0, df.shape[1] - 1))
        df = df.astype(object)
        value = data.draw(cells)
        if t["fmt"] == ".xlsx":  # openpyxl cannot write control characters at all
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        df.iat[r, c] = value
        if t["fmt"] == ".csv":
            df.to_csv(path, header=False, index=False)
        else:
            df.to_excel(path, header=False, index=False)
        ds = _loads_or_rejects(path, **kwargs)
        if ds is not None:  # then every feature cell still is a finite number
            assert ds.X.shape[1] == t["X"].shape[1]


npz_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.uint64, np.int8, np.uint8, np.bool_,
                           np.complex64, np.dtype("U3"), np.dtype("S2")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["X", "y", "groups", "axis", "other"]), npz_arrays, max_size=5),
       st.booleans())
def test_random_npz_loads_or_is_rejected(arrays, with_object):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.npz"
        if with_object:
            arrays = {**arrays, "y": np.asarray(["a", 1, None], dtype=object)}
        np.savez(p, **arrays)
        _loads_or_rejects(p)


@pytest.mark.parametrize("label_column", ["diagnosis", "7", "-9"])
def test_label_column_that_does_not_exist_is_rejected(tmp_path, label_column):
    p = tmp_path / "d.csv"
    p.write_text("label,a,b\nx,1,2\nx,2,1\ny,1,1\ny,2,2\n")
    with pytest.raises(InputError, match="not found|out of range"):
        load_data(p, label_column=label_column)
    _cli_rejects(p, {"label_column": label_column})


IMAGE_DTYPES = [np.uint8, np.uint16, np.int16, np.float32, np.float64]


@st.composite
def image_sets(draw):
    """An npz image set as np.savez writes it: X (n, H, W) or (n, H, W, C) with C <= 4, y, maybe groups."""
    n_classes = draw(st.integers(2, 3))
    classes = draw(st.lists(st.one_of(int_labels, text_labels), min_size=n_classes, max_size=n_classes,
                            unique_by=str))
    y = [c for c in classes for _ in range(draw(st.integers(2, 3)))]
    shape = draw(st.one_of(st.tuples(st.integers(1, 6), st.integers(1, 6)),
                           st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4))))
    dtype = np.dtype(draw(st.sampled_from(IMAGE_DTYPES)))
    elements = (st.floats(allow_nan=False, allow_infinity=False, width=dtype.itemsize * 8)
                if dtype.kind == "f" else None)
    X = draw(hnp.arrays(dtype, (len(y), *shape), elements=elements))
    groups = draw(st.none() | st.lists(st.integers(0, 3), min_size=len(y), max_size=len(y)))
    return X, y, groups


@SETTINGS
@given(image_sets())
def test_npz_images_round_trip_in_shape_and_dtype(data):
    X, y, groups = data
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "images.npz"
        arrays = {"X": X, "y": np.asarray([str(v) for v in y])}
        if groups is not None:
            arrays["groups"] = np.asarray(groups)
        np.savez(p, **arrays)
        ds = load_data(p)
        assert ds.spec.kind == "image" and ds.spec.shape == X.shape[1:] and ds.spec.dtype == X.dtype.name
        assert ds.X.dtype.kind == "f" and np.array_equal(ds.X, X)  # every value exact in float
        assert ds.spec.channels == (X.shape[3] if X.ndim == 4 else 1)
        write_data(ds, Path(tmp) / "out.npz")
        with np.load(Path(tmp) / "out.npz", allow_pickle=False) as z:
            assert z["X"].dtype == X.dtype and z["X"].shape == X.shape and np.array_equal(z["X"], X)
            assert z["y"].tolist() == [str(v) for v in y]
            assert (groups is None) == ("groups" not in z.files)
