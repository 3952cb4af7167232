"""Readers and writers for tables (csv, tsv, xlsx) and npz files.

Tables: by default the first column holds the label and the other columns are features,
with or without a header row (the seed report's ``pd.read_excel(header=None)`` layout).
A header whose feature cells are all numbers becomes the spectral axis. ``label_column``
and ``group_column`` may be a header name or a 0-based column index (negative counts from
the end). A table holds spectra (one row per sample).

npz: ``X`` (n, ...), ``y`` (n), optional ``groups`` (n) and ``axis``. The shape of one sample
decides what it is (:meth:`~vaelab.data.sample.SampleSpec.infer`): ``X`` (n, d) holds spectra
(``axis``, if present, gives their d axis values; only spectra have one); (n, H, W) grey images
and (n, H, W, C) with C <= 4 colour images, channels last — kept in memory exactly as in the
file; any other shape is generic. ``X`` is read as float (float32 / float64 kept, other numbers
become float64) and its dtype in the file is recorded in ``Dataset.spec.dtype``.

Everything read here is untrusted: problems raise :class:`~vaelab.core.errors.InputError` with
one line that says what and where; npz files are opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vaelab.core.atomic import atomic_file, normalise_zip
from vaelab.core.errors import InputError
from vaelab.data.dataset import Dataset, Layout
from vaelab.data.sample import SampleSpec

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
NPZ_SUFFIXES = {".npz"}
SUPPORTED = sorted([*TABLE_SUFFIXES, *EXCEL_SUFFIXES, *NPZ_SUFFIXES])


def load_data(
    path: str | Path,
    *,
    label_column: str | int | None = None,
    group_column: str | int | None = None,
    header: str | bool = "auto",
    split: str | None = None,
) -> Dataset:
    """Read a labelled data set from a table, an npz file or a folder of images.

    Parameters
    ----------
    path : csv / tsv / txt / xlsx / npz file.
    label_column : header name or column index of the labels (tables; default column 0).
    group_column : header name or column index of group ids (e.g. patient), optional.
    header : ``"auto"`` (detect), ``True`` or ``False``.
    split : part of an npz in the MedMNIST layout (``train`` | ``val`` | ``test``; default ``train``).
        Images: see :mod:`vaelab.modalities.image.io` (npz ``X`` (n, H, W[, C]), MedMNIST layout,
        a folder with one sub-folder of PNG/JPEG files per class).
    """
    from vaelab.modalities.image import io as image_io

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        _no_split(path, split)
        return image_io.load_image_folder(path)
    suffix = path.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        kind = image_io.npz_kind(path)
        if kind == "medmnist":
            return image_io.load_medmnist(path, split or "train")
        _no_split(path, split)
        return _load_npz(path)
    _no_split(path, split)
    if suffix in EXCEL_SUFFIXES:
        cells, rownum = _read_excel_cells(path)
    elif suffix in TABLE_SUFFIXES:
        cells, rownum = _read_text_cells(path, TABLE_SUFFIXES[suffix])
    else:
        raise InputError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUPPORTED)}")
    cells, rownum = _tidy(cells, rownum, path)
    return _parse_table(cells, rownum, path, label_column=label_column, group_column=group_column, header=header)


# --------------------------------------------------------------------------- reading tables

# a number as people write it: optional sign, digits with an optional decimal point, optional
# exponent; or nan / inf / infinity (caught later as "NaN or infinite"). No "1_000", no hex.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")
_INT64 = (-(2**63), 2**63 - 1)
_PLAIN = {str, float, int}


def _read_text_cells(path: Path, sep: str | None) -> tuple[np.ndarray, np.ndarray]:
    """All cells as strings (missing = ""), and the 1-based row number of each row in the file."""
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path}: the file is empty")
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: not a text table (binary content)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text table") from None
    try:
        df = pd.read_csv(
            path,
            sep=sep if sep is not None else r"\s+|,|;|\t",
            engine="c" if sep is not None else "python",
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else "could not parse"
        raise InputError(f"{path}: ragged or malformed rows ({msg})") from None
    except (UnicodeDecodeError, ValueError, csv.Error) as e:
        raise InputError(f"{path}: could not read as a table ({e.__class__.__name__})") from None
    cells = df.to_numpy(dtype=object)
    return cells, np.arange(1, len(cells) + 1)


def _read_excel_cells(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first sheet's cells as python values (None when empty) and their 1-based row numbers."""
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an xlsx workbook")
    try:
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            if not wb.worksheets:
                raise InputError(f"{path}: the workbook has no sheets")
            rows = [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    except InputError:
        raise
    except Exception as e:  # openpyxl raises many types for damaged files
        raise InputError(f"{path}: could not read the workbook ({e.__class__.__name__})") from None
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        raise InputError(f"{path}: the first sheet is empty")
    cells = np.empty((len(rows), width), dtype=object)
    for i, r in enumerate(rows):
        cells[i, : len(r)] = r
    return cells, np.arange(1, len(rows) + 1)


def _missing_mask(cells: np.ndarray) -> np.ndarray:
    """``_is_missing`` for every cell, vectorised (None, NaN, "" and whitespace-only text)."""
    flat = cells.ravel()
    m = np.asarray(pd.isna(flat), dtype=bool) | (flat == "")
    is_str = np.frompyfunc(lambda v: type(v) is str, 1, 1)(flat).astype(bool) & ~m
    if is_str.any():
        m[is_str] = np.asarray(pd.Series(flat[is_str], dtype=object).str.isspace(), dtype=bool)
    return m.reshape(cells.shape)


def _tidy(cells: np.ndarray, rownum: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Drop rows in which every cell is empty and trailing columns in which every cell is empty
    (spreadsheet exports often end rows with a separator or carry formatted empty rows)."""
    if cells.size == 0:
        raise InputError(f"{path}: the table is empty")
    missing = _missing_mask(cells)
    keep = ~missing.all(axis=1)
    cells, rownum, missing = cells[keep], rownum[keep], missing[keep]
    if len(cells) == 0:
        raise InputError(f"{path}: the table is empty")
    used = np.flatnonzero(~missing.all(axis=0))
    return cells[:, : used[-1] + 1], rownum


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def _to_float(v: Any) -> float | None:
    """A cell as float, or None when it is not a number (text, a date, a boolean, empty)."""
    if _is_missing(v) or isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if not isinstance(v, str):
        return None  # datetime, time, ... from a workbook
    s = v.strip()
    if not _NUMBER.fullmatch(s):
        return None
    return float(s)


def _parse_features(feats: np.ndarray) -> np.ndarray:
    """Feature cells to float64 (NaN where a cell is not a number)."""
    flat = feats.ravel()
    X = np.array(pd.to_numeric(pd.Series(flat, dtype=object), errors="coerce"), dtype=np.float64)
    # pandas turns booleans (and dates) into numbers and misses some spellings (non-breaking
    # spaces); settle those cells one by one with the strict rule of _to_float
    odd = np.frompyfunc(lambda v: type(v) not in _PLAIN, 1, 1)(flat).astype(bool)
    redo = np.flatnonzero(odd | ~np.isfinite(X))
    for i in redo:
        f = _to_float(flat[i])
        X[i] = np.nan if f is None else f
    return X.reshape(feats.shape)


def _resolve_column(spec: str | int | None, header_row: list[str] | None, ncols: int, what: str) -> int | None:
    if spec is None:
        return None
    if isinstance(spec, str) and header_row is not None and spec in header_row:
        return header_row.index(spec)
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().lstrip("-").isdigit()):
        i = int(spec)
        if not -ncols <= i < ncols:
            raise InputError(f"{what} {spec!r} is out of range: the table has {ncols} columns")
        return i % ncols
    names = "no header row" if header_row is None else f"header has {header_row[:6]}{'...' if len(header_row) > 6 else ''}"
    raise InputError(f"{what} {spec!r} not found ({names})")


def _detect_header(cells: np.ndarray, label_idx: int, feature_idx: list[int]) -> bool:
    """Whether the first row is a header, judged from the cells alone.

    It is a header when (1) a feature cell is text that is not a number, or (2) its label cell
    is text above labels that are all numbers, or (3) its label cell matches no other label
    and either its feature cells are not data (a strictly monotonic axis, a NaN / infinite
    spelling such as ``nan``) or every other label occurs at least twice (a class of one
    sample in the first row is far less likely than a column name; vaelab needs two samples
    per class anyway). Rule (3) makes every header that :func:`write_data` writes — whatever
    its feature names, ``"1e-400"`` or ``"nan"`` included — read back as a header.
    """
    first = cells[0]
    feats = [_to_float(first[j]) for j in feature_idx]
    if any(f is None for f in feats):
        return True  # text feature names
    if len(cells) < 2:
        return False
    label0 = _to_float(first[label_idx])
    rest = [_to_float(v) for v in cells[1:, label_idx]]
    if label0 is None and all(r is not None for r in rest):
        return True  # "label" above numeric labels
    lab0 = _text(first[label_idx])
    others = [_text(v) for v in cells[1:, label_idx]]
    if lab0 in set(others):
        return False
    values = np.asarray(feats, dtype=float)
    if not np.all(np.isfinite(values)):
        return True  # "nan" / "inf" as a column name above a data row
    diffs = np.diff(values)
    if len(diffs) > 0 and (np.all(diffs > 0) or np.all(diffs < 0)):
        return True  # a numeric header that is a spectral axis
    counts: dict[str, int] = {}
    for o in others:
        counts[o] = counts.get(o, 0) + 1
    return min(counts.values()) >= 2


def _as_int(v: Any) -> int | None:
    """An integer-valued cell as a python int (exactly, for integer text of any length), else None."""
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return int(v) if np.isfinite(v) and float(v).is_integer() and abs(v) < 2**53 else None
    if isinstance(v, str):
        s = v.strip()
        if _INTEGER.fullmatch(s):
            return int(s)
        f = _to_float(s)
        if f is not None and np.isfinite(f) and f.is_integer() and abs(f) < 2**53:
            return int(f)  # "1.0", "1e3"
    return None


def _text(v: Any) -> str:
    return str(v).strip()


def _parse_labels(values: np.ndarray, path: Path, rownum: np.ndarray) -> np.ndarray:
    """Integer labels as int64 when every label is an integer that fits, else the labels' text."""
    for i, v in enumerate(values):
        if _is_missing(v) or _text(v).lower() == "nan":
            raise InputError(f"{path}: row {rownum[i]}: empty label")
    ints = [_as_int(v) for v in values]
    if all(k is not None and _INT64[0] <= k <= _INT64[1] for k in ints):
        return np.asarray(ints, dtype=np.int64)
    return np.asarray([_text(v) for v in values], dtype=object)


def _group_str(v: Any) -> str:
    k = _as_int(v)
    return str(k) if k is not None else _text(v)


def _parse_table(
    cells: np.ndarray,
    rownum: np.ndarray,
    path: Path,
    *,
    label_column: str | int | None,
    group_column: str | int | None,
    header: str | bool,
) -> Dataset:
    if cells.ndim != 2 or cells.shape[0] == 0 or cells.shape[1] == 0:
        raise InputError(f"{path}: the table is empty")
    ncols = cells.shape[1]
    if ncols < 2:
        raise InputError(f"{path}: need a label column and at least one feature column, found {ncols} column")
    first_row = ["" if _is_missing(v) else _text(v) for v in cells[0]]
    by_name = any(isinstance(s, str) and not s.strip().lstrip("-").isdigit() for s in (label_column, group_column) if s is not None)
    if header == "auto" and by_name:
        header = True
    label_idx = _resolve_column(label_column, first_row if header is not False else None, ncols, "label column")
    label_idx = 0 if label_idx is None else label_idx
    group_idx = _resolve_column(group_column, first_row if header is not False else None, ncols, "group column")
    if group_idx is not None and group_idx == label_idx:
        raise InputError("the group column and the label column are the same column")
    feature_idx = [j for j in range(ncols) if j not in (label_idx, group_idx)]
    if not feature_idx:
        raise InputError(f"{path}: no feature columns left after the label and group columns")
    has_header = _detect_header(cells, label_idx, feature_idx) if header == "auto" else bool(header)
    body = cells[1:] if has_header else cells
    body_rows = rownum[1:] if has_header else rownum  # 1-based row numbers as a spreadsheet shows them
    if len(body) == 0:
        raise InputError(f"{path}: the table has a header but no data rows")

    feats = body[:, feature_idx]
    X = _parse_features(feats)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        cell = feats[r, c]
        col = feature_idx[c] + 1
        where = f"row {body_rows[r]}, column {col}"
        if _is_missing(cell):
            raise InputError(f"{path}: {where}: missing value (empty cell or ragged row); {int(bad.sum())} bad cell(s) in all")
        f = _to_float(cell)
        if f is not None:
            raise InputError(f"{path}: {where}: NaN or infinite value {_text(cell)!r}; {int(bad.sum())} bad cell(s) in all")
        raise InputError(f"{path}: {where}: non-numeric value {_text(cell)[:40]!r}; {int(bad.sum())} bad cell(s) in all")

    y = _parse_labels(body[:, label_idx], path, body_rows)
    groups = None
    if group_idx is not None:
        g = body[:, group_idx]
        for i, v in enumerate(g):
            if _is_missing(v) or _text(v).lower() == "nan":
                raise InputError(f"{path}: row {body_rows[i]}: empty group id")
        groups = np.asarray([_group_str(v) for v in g], dtype=object)

    axis = None
    feature_names = None
    label_name = None
    if has_header:
        feature_names = [first_row[j] for j in feature_idx]
        label_name = first_row[label_idx]
        ax = [_to_float(cells[0][j]) for j in feature_idx]
        if all(a is not None and np.isfinite(a) for a in ax):
            axis = np.asarray(ax, dtype=np.float64)
    label_position = sum(1 for j in range(label_idx) if j != group_idx)
    layout = Layout(kind="table", header=has_header, label_position=label_position, label_name=label_name,
                    feature_names=feature_names)
    return Dataset(X=X, y=y, groups=groups, axis=axis, layout=layout, source=str(path))


# --------------------------------------------------------------------------- npz


def _no_split(path: Path, split: str | None) -> None:
    if split is not None:
        raise InputError(f"{path}: --split {split} applies only to npz files in the MedMNIST layout "
                         "(train_images, train_labels, ...)")


def _load_npz(path: Path) -> Dataset:
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an npz archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            missing = {"X", "y"} - keys
            if missing:
                raise InputError(f"{path}: npz lacks {sorted(missing)} (found {sorted(keys)}); needs X and y")
            arrays = {k: z[k] for k in ("X", "y", "groups", "axis") if k in keys}
    except InputError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise InputError(f"{path}: npz holds object arrays (pickled data), refused; store numbers and strings") from None
        raise InputError(f"{path}: could not read npz ({str(e).splitlines()[0][:100] if str(e) else 'ValueError'})") from None
    except Exception as e:
        raise InputError(f"{path}: could not read npz ({e.__class__.__name__})") from None
    X = arrays["X"]
    if X.dtype.kind not in "iuf" or X.ndim < 2:
        raise InputError(f"{path}: X must be a numeric array of shape (n, features...), got {X.dtype} {X.shape}")
    if len(X) == 0:
        raise InputError(f"{path}: X holds no samples")
    if X.size == 0:
        raise InputError(f"{path}: X has no features (shape {X.shape})")
    file_dtype = X.dtype
    X = X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        r = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise InputError(f"{path}: X contains NaN or infinite values (first in sample {r})")
    y = arrays["y"]
    if y.ndim == 2 and y.shape[1] == 1:  # (n, 1), as MedMNIST stores labels
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(X):
        raise InputError(f"{path}: y must have one label per sample: X has {len(X)}, y has shape {y.shape}")
    if y.dtype.kind in "iu":
        if y.dtype.kind == "u" and y.max(initial=0) > _INT64[1]:
            raise InputError(f"{path}: y holds integers too large for int64")
        y = y.astype(np.int64)
    elif y.dtype.kind == "f":
        if not (np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53)):
            raise InputError(f"{path}: y holds non-integer numbers; labels must be integers or strings")
        y = y.astype(np.int64)
    elif y.dtype.kind in "US":
        y = np.asarray([_text(v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for v in y.tolist()],
                       dtype=object)
        for i, v in enumerate(y):
            if v == "" or v.lower() == "nan":
                raise InputError(f"{path}: y[{i}] is an empty label")
    else:
        raise InputError(f"{path}: y has unsupported dtype {y.dtype}")
    groups = arrays.get("groups")
    if groups is not None:
        if groups.shape != (len(X),) or groups.dtype.kind not in "iufUS":
            raise InputError(f"{path}: groups must be numbers or strings, one per sample (got {groups.dtype} {groups.shape})")
        vals = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in groups.tolist()]
        for i, v in enumerate(vals):
            if _is_missing(v) or (isinstance(v, str) and v.strip().lower() == "nan"):
                raise InputError(f"{path}: groups[{i}] is missing (empty or NaN)")
        groups = np.asarray([_group_str(v) for v in vals], dtype=object)
    axis = arrays.get("axis")
    if axis is not None:
        if X.ndim != 2:
            raise InputError(f"{path}: axis is for spectra, X of shape (n, points); "
                             f"X here has shape {X.shape}, so leave axis out")
        if axis.dtype.kind not in "iuf" or axis.shape != X.shape[1:2]:
            raise InputError(f"{path}: axis must be numeric with one value per feature ({X.shape[1:]}), got "
                             f"{axis.dtype} {axis.shape}")
        axis = axis.astype(np.float64)
        if not np.all(np.isfinite(axis)):
            raise InputError(f"{path}: axis contains NaN or infinite values")
    spec = SampleSpec.infer(X.shape[1:], axis=axis, dtype=file_dtype)
    return Dataset(X=X, y=y, groups=groups, axis=axis, layout=Layout(kind="npz"), source=str(path), spec=spec)


# --------------------------------------------------------------------------- writing


def _fmt_label(v: Any) -> Any:
    return int(v) if isinstance(v, (int, np.integer)) else str(v)


def write_data(ds: Dataset, path: str | Path, *, layout: Layout | None = None) -> Path:
    """Write ``ds`` atomically to csv / tsv / xlsx / npz in ``layout`` (default: the data set's own).

    Tables: the label column at ``layout.label_position``, features after it, a header row if
    the layout has one (feature names or the axis); only for samples of one dimension (spectra).
    npz: ``X``, ``y`` (strings), ``axis`` (spectra), ``groups``. ``X`` keeps its shape; images are
    written in ``ds.spec.dtype`` (integer types rounded and clipped to the type's range, so uint8
    in gives uint8 out), everything else as float32.
    """
    path = Path(path)
    layout = layout or ds.layout
    suffix = path.suffix.lower()
    if suffix == "" and ds.spec is not None and ds.spec.kind == "image":
        from vaelab.modalities.image.io import write_png_folder

        return write_png_folder(ds, path)
    if suffix not in SUPPORTED:
        raise InputError(f"{path}: unsupported output type {suffix!r}; use one of {', '.join(SUPPORTED)}")
    spec = ds.spec
    if suffix not in NPZ_SUFFIXES and spec is not None and len(spec.shape) != 1:
        raise InputError(f"{path}: a table holds one row of numbers per sample; {spec.describe()} "
                         "go to an npz file (.npz)" + (" or a folder of PNGs (a name without suffix)"
                                                       if spec.kind == "image" else ""))
    with atomic_file(path) as tmp:
        if suffix in NPZ_SUFFIXES:
            payload = {"X": _npz_X(ds), "y": np.asarray([str(v) for v in ds.y.tolist()])}
            if ds.axis is not None:
                payload["axis"] = np.asarray(ds.axis, dtype=np.float64)
            if ds.groups is not None:
                payload["groups"] = np.asarray([str(v) for v in ds.groups.tolist()])
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **payload)
            normalise_zip(tmp)
        else:
            df = _as_frame(ds, layout)
            if suffix in EXCEL_SUFFIXES:
                _write_xlsx(df, tmp, header=layout.header)
            else:
                sep = TABLE_SUFFIXES[suffix] or ","
                df.to_csv(tmp, sep=sep, header=layout.header, index=False, float_format="%.9g")
    return path


def _npz_X(ds: Dataset) -> np.ndarray:
    """``X`` as written to npz: images in their recorded dtype, everything else float32."""
    X = np.asarray(ds.X)
    spec = ds.spec
    if spec is None or spec.kind != "image" or spec.dtype is None:
        return X.astype(np.float32)
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        # the type's range as floats that convert back without overflow (float(2**64 - 1) is 2**64)
        lo, hi = float(info.min), float(info.max)
        if hi > info.max:
            hi = float(np.nextafter(hi, 0.0))
        return np.clip(np.rint(X), lo, hi).astype(dtype)
    return X.astype(dtype)


def _as_frame(ds: Dataset, layout: Layout) -> pd.DataFrame:
    X = np.asarray(ds.X).reshape(len(ds.X), -1)
    d = X.shape[1]
    if layout.feature_names is not None and len(layout.feature_names) == d:
        names = list(layout.feature_names)
    elif ds.axis is not None and len(ds.axis) == d:
        names = [f"{a:g}" for a in ds.axis]
    else:
        names = [f"f{j}" for j in range(d)]
    label_name = layout.label_name or "label"
    pos = min(max(int(layout.label_position), 0), d)
    cols: list[Any] = names[:pos] + [label_name] + names[pos:]
    data: dict[Any, Any] = {}
    df = pd.DataFrame(X, columns=range(d))
    df.insert(pos, "__label__", [_fmt_label(v) for v in ds.y.tolist()])
    data = df
    data.columns = _dedupe(cols)
    return data


def _dedupe(cols: list[Any]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        c = str(c)
        k = seen.get(c, 0)
        out.append(c if k == 0 else f"{c}.{k}")
        seen[c] = k + 1
    return out


def _write_xlsx(df: pd.DataFrame, path: Path, *, header: bool) -> None:
    import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "data"
    from openpyxl.utils.exceptions import IllegalCharacterError

    try:
        if header:
            ws.append([_header_cell(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            ws.append([v.item() if isinstance(v, np.generic) else v for v in row])
    except IllegalCharacterError:
        raise InputError(f"{path}: a class or column name holds control characters that an xlsx file cannot "
                         "store; write csv, tsv or npz instead") from None
    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed  # openpyxl overwrites this with "now" when saving; fixed below
    wb.save(path)
    normalise_zip(path, _fixed_xlsx_times)


_XLSX_TIME = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:)")


def _fixed_xlsx_times(name: str, data: bytes) -> bytes:
    """The workbook's created / modified stamps set to 2000-01-01, so equal data give equal bytes."""
    if name == "docProps/core.xml":
        return _XLSX_TIME.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
    return data


def _header_cell(c: str) -> Any:
    f = _to_float(c)
    return f if f is not None and np.isfinite(f) else c
