"""Readers and writers for tables (csv, tsv, xlsx) and npz files.

Tables: by default the first column holds the label and the other columns are features,
with or without a header row (the seed report's ``pd.read_excel(header=None)`` layout).
A header whose feature cells are all numbers becomes the spectral axis. ``label_column``
and ``group_column`` may be a header name or a 0-based column index (negative counts from
the end). npz: ``X`` (n × features...), ``y`` (n), optional ``groups`` (n) and ``axis``.

Everything read here is untrusted: problems raise :class:`~vaelab.errors.InputError` with
one line that says what and where; npz files are opened with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_file, normalise_zip
from ..errors import InputError
from .dataset import Dataset, Layout

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
) -> Dataset:
    """Read a labelled data set from a table or an npz file.

    Parameters
    ----------
    path : csv / tsv / txt / xlsx / npz file.
    label_column : header name or column index of the labels (tables; default column 0).
    group_column : header name or column index of group ids (e.g. patient), optional.
    header : ``"auto"`` (detect), ``True`` or ``False``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a data file ({', '.join(SUPPORTED)})")
    suffix = path.suffix.lower()
    if suffix in NPZ_SUFFIXES:
        return _load_npz(path)
    if suffix in EXCEL_SUFFIXES:
        cells = _read_excel_cells(path)
    elif suffix in TABLE_SUFFIXES:
        cells = _read_text_cells(path, TABLE_SUFFIXES[suffix])
    else:
        raise InputError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUPPORTED)}")
    return _parse_table(cells, path, label_column=label_column, group_column=group_column, header=header)


# --------------------------------------------------------------------------- reading tables


def _read_text_cells(path: Path, sep: str | None) -> np.ndarray:
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
            skip_blank_lines=True,
            encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as e:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else "could not parse"
        raise InputError(f"{path}: ragged or malformed rows ({msg})") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path}: could not read as a table ({e.__class__.__name__})") from None
    return df.to_numpy(dtype=object)


def _read_excel_cells(path: Path) -> np.ndarray:
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an xlsx workbook")
    try:
        df = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except Exception as e:  # openpyxl raises many types for damaged files
        raise InputError(f"{path}: could not read the workbook ({e.__class__.__name__})") from None
    if df.size == 0:
        raise InputError(f"{path}: the first sheet is empty")
    df = df.dropna(how="all")
    return df.to_numpy(dtype=object)


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def _to_float(v: Any) -> float | None:
    """A cell as float, or None when it is not a number (text). Missing cells give None."""
    if _is_missing(v):
        return None
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


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
    # numeric header: an axis (strictly monotonic) whose label cell matches no other label
    lab0 = str(first[label_idx]).strip()
    others = {str(v).strip() for v in cells[1:, label_idx]}
    diffs = np.diff(np.asarray(feats, dtype=float))
    monotonic = len(diffs) > 0 and (np.all(diffs > 0) or np.all(diffs < 0))
    return bool(monotonic and lab0 not in others)


def _parse_labels(values: np.ndarray, path: Path, row_offset: int) -> np.ndarray:
    for i, v in enumerate(values):
        if _is_missing(v):
            raise InputError(f"{path}: row {i + row_offset}: empty label")
    nums = [_to_float(v) for v in values]
    if all(n is not None and np.isfinite(n) and float(n).is_integer() for n in nums):
        return np.asarray([int(n) for n in nums], dtype=np.int64)
    return np.asarray([str(v).strip() for v in values], dtype=object)


def _parse_table(
    cells: np.ndarray,
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
    first_row = [str(v).strip() for v in cells[0]]
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
    row_offset = 2 if has_header else 1  # 1-based row numbers as a spreadsheet shows them
    if len(body) == 0:
        raise InputError(f"{path}: the table has a header but no data rows")

    feats = body[:, feature_idx]
    X = pd.DataFrame(feats).apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        cell = feats[r, c]
        col = feature_idx[c] + 1
        where = f"row {r + row_offset}, column {col}"
        if _is_missing(cell):
            raise InputError(f"{path}: {where}: missing value (empty cell or ragged row); {int(bad.sum())} bad cell(s) in all")
        f = _to_float(cell)
        if f is not None:
            raise InputError(f"{path}: {where}: NaN or infinite value {str(cell).strip()!r}; {int(bad.sum())} bad cell(s) in all")
        raise InputError(f"{path}: {where}: non-numeric value {str(cell).strip()[:40]!r}; {int(bad.sum())} bad cell(s) in all")

    y = _parse_labels(body[:, label_idx], path, row_offset)
    groups = None
    if group_idx is not None:
        g = body[:, group_idx]
        for i, v in enumerate(g):
            if _is_missing(v):
                raise InputError(f"{path}: row {i + row_offset}: empty group id")
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


def _group_str(v: Any) -> str:
    f = _to_float(v)
    if f is not None and np.isfinite(f) and f.is_integer():
        return str(int(f))
    return str(v).strip()


# --------------------------------------------------------------------------- npz


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
        raise InputError(f"{path}: could not read npz ({e})") from None
    except Exception as e:
        raise InputError(f"{path}: could not read npz ({e.__class__.__name__})") from None
    X = arrays["X"]
    if X.dtype.kind not in "iuf" or X.ndim < 2:
        raise InputError(f"{path}: X must be a numeric array of shape (n, features...), got {X.dtype} {X.shape}")
    X = X.astype(np.float64) if X.dtype.kind in "iu" else X
    if not np.all(np.isfinite(X)):
        r = int(np.argwhere(~np.isfinite(X.reshape(len(X), -1)))[0][0])
        raise InputError(f"{path}: X contains NaN or infinite values (first in sample {r})")
    y = arrays["y"]
    if y.ndim != 1 or len(y) != len(X):
        raise InputError(f"{path}: y must have one label per sample: X has {len(X)}, y has shape {y.shape}")
    if y.dtype.kind in "iu":
        y = y.astype(np.int64)
    elif y.dtype.kind == "f":
        if not (np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise InputError(f"{path}: y holds non-integer numbers; labels must be integers or strings")
        y = y.astype(np.int64)
    elif y.dtype.kind in "US":
        y = np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()], dtype=object)
    else:
        raise InputError(f"{path}: y has unsupported dtype {y.dtype}")
    groups = arrays.get("groups")
    if groups is not None:
        if groups.shape != (len(X),):
            raise InputError(f"{path}: groups must have one entry per sample")
        groups = np.asarray([str(v) for v in groups.tolist()], dtype=object)
    axis = arrays.get("axis")
    if axis is not None:
        if axis.dtype.kind not in "iuf" or axis.shape != X.shape[1:2] or X.ndim != 2:
            raise InputError(f"{path}: axis must be numeric with one value per feature ({X.shape[1:]}), got {axis.shape}")
        axis = axis.astype(np.float64)
    return Dataset(X=X, y=y, groups=groups, axis=axis, layout=Layout(kind="npz"), source=str(path))


# --------------------------------------------------------------------------- writing


def _fmt_label(v: Any) -> Any:
    return int(v) if isinstance(v, (int, np.integer)) else str(v)


def write_data(ds: Dataset, path: str | Path, *, layout: Layout | None = None) -> Path:
    """Write ``ds`` atomically to csv / tsv / xlsx / npz in ``layout`` (default: the data set's own).

    Tables: the label column at ``layout.label_position``, features after it, a header row if
    the layout has one (feature names or the axis). npz: ``X``, ``y`` (strings), ``axis``.
    """
    path = Path(path)
    layout = layout or ds.layout
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"{path}: unsupported output type {suffix!r}; use one of {', '.join(SUPPORTED)}")
    with atomic_file(path) as tmp:
        if suffix in NPZ_SUFFIXES:
            payload = {"X": np.asarray(ds.X, dtype=np.float32), "y": np.asarray([str(v) for v in ds.y.tolist()])}
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
    if header:
        ws.append([_header_cell(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([v.item() if isinstance(v, np.generic) else v for v in row])
    fixed = datetime.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.save(path)
    normalise_zip(path)


def _header_cell(c: str) -> Any:
    f = _to_float(c)
    return f if f is not None and np.isfinite(f) else c
