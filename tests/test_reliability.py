"""Reliability and security (issue 6).

* Bad input of every kind gives one line on stderr, exit code 2, no traceback, and leaves
  no output file or folder behind — in-process through ``vaelab.cli.main.main`` and (a subset)
  through the installed ``vaelab`` command and ``python -m vaelab``.
* Outputs are atomic; a failure half-way leaves the old output or nothing.
* Model files are safetensors + JSON only: a run folder whose weights were replaced by a
  pickle (whose ``__reduce__`` would create a file), a ``torch.save`` file or garbage is
  refused and nothing in it is executed.
* The same command with the same seed gives identical bytes (run folder, csv, xlsx, npz).
"""

from __future__ import annotations

import builtins
import concurrent.futures
import json
import os
import pickle
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from vaelab.cli.main import main
from vaelab.core.atomic import MARKER, atomic_dir, atomic_file
from vaelab.core.errors import InputError

# Tiny networks train several times faster on one thread, and a shared, busy machine makes
# multi-threaded torch far slower still; subprocesses get the same setting so that their
# bytes can be compared with in-process runs.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# --------------------------------------------------------------------------- helpers


def vaelab_command() -> list[str]:
    """The installed console script next to this interpreter (else ``python -m vaelab``)."""
    script = Path(sys.executable).parent / ("vaelab.exe" if os.name == "nt" else "vaelab")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "vaelab"]


def spectra(n_per: int = 6, d: int = 16, classes=("a", "b", "c"), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small smooth 'spectra' (a Gaussian peak per class + noise), rounded so csv keeps them exactly."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, d)
    X, y = [], []
    for k, c in enumerate(classes):
        for _ in range(n_per):
            X.append(1 + np.exp(-((x - 0.25 - 0.25 * k) ** 2) / 0.01) + rng.normal(0, 0.05, d))
            y.append(c)
    return np.round(np.asarray(X), 6), np.asarray(y, dtype=object)


def write_csv(path: Path, X: np.ndarray, y, *, header: bool = True) -> Path:
    df = pd.DataFrame(X, columns=[f"{400 + 2 * j}" for j in range(X.shape[1])])
    df.insert(0, "label", list(y))
    df.to_csv(path, index=False, header=header)
    return path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (hidden ones too) with the bytes of files."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


class MakesFile:
    """Unpickling this calls ``open(path, "w")``, i.e. creates ``path`` — proof that code ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (builtins.open, (self.path, "w"))


# --------------------------------------------------------------------------- a trained run to damage


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, Path]:
    """Tiny seed-cvae runs on 16 and on 20 features (for swapped files) and a PPCA run."""
    root = tmp_path_factory.mktemp("trained")
    out = {}
    for d in (16, 20):
        X, y = spectra(d=d)
        data = write_csv(root / f"data{d}.csv", X, y)
        run = root / f"run{d}"
        assert main(["train", str(data), "--model", "seed-cvae", "--epochs", "2", "--quiet", "--out", str(run)]) == 0
        out[f"data{d}"], out[f"run{d}"] = data, run
    out["run_ppca"] = root / "run_ppca"  # a classical model: numpy weights, same loader rules
    assert main(["train", str(out["data16"]), "--model", "ppca", "--quiet", "--out", str(out["run_ppca"])]) == 0
    syn = root / "syn16.csv"
    assert main(["generate", str(out["run16"]), "--per-class", "3", "--out", str(syn)]) == 0
    out["syn16"] = syn
    return out


# --------------------------------------------------------------------------- the cases

# a case builds its inputs inside ``tmp`` and returns (argv, fragment of the expected message);
# outputs are always asked for inside ``tmp`` so that "nothing left behind" can be checked there.
Case = Callable[[Path, dict], tuple[list[str], str]]
CASES: dict[str, Case] = {}


def case(name: str):
    def deco(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return deco


def _train(data: Path, tmp: Path, *extra: str) -> list[str]:
    return ["train", str(data), "--epochs", "2", "--quiet", *extra, "--out", str(tmp / "run_out")]


def _table(tmp: Path, text: str | bytes, name: str = "d.csv") -> Path:
    p = tmp / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


GOOD = "a,1,2,3\na,2,3,1\nb,3,1,2\nb,1,1,1\n"


@case("nan cell")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("a,2,3,1", "a,2,nan,1")), tmp), "row 2, column 3: NaN or infinite value 'nan'"


@case("inf cell")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("b,3,1,2", "b,3,1,-inf")), tmp), "row 3, column 4: NaN or infinite value '-inf'"


@case("n/a cell")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("a,2,3,1", "a,n/a,3,1")), tmp), "row 2, column 2: non-numeric value 'n/a'"


@case("text cell")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("b,1,1,1", "b,1,oops,1")), tmp), "row 4, column 3: non-numeric value 'oops'"


@case("ragged short row")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("a,2,3,1", "a,2,3")), tmp), "row 2, column 4: missing value"


@case("ragged long row")
def _(tmp, t):
    return _train(_table(tmp, GOOD.replace("a,2,3,1", "a,2,3,1,9")), tmp), "ragged or malformed rows"


@case("empty file")
def _(tmp, t):
    return _train(_table(tmp, ""), tmp), "the file is empty"


@case("blank lines only")
def _(tmp, t):
    return _train(_table(tmp, "\n  \n\n"), tmp), "the file is empty"


@case("binary garbage csv")
def _(tmp, t):
    return _train(_table(tmp, bytes(range(256)) * 16), tmp), "not a text table (binary content)"


@case("non-utf8 csv")
def _(tmp, t):
    return _train(_table(tmp, "é,1,2\né,2,1\nü,1,1\nü,2,2\n".encode("latin-1")), tmp), "not a UTF-8 text table"


@case("utf16 csv")
def _(tmp, t):
    return _train(_table(tmp, GOOD.encode("utf-16")), tmp), "binary content"


@case("garbage xlsx")
def _(tmp, t):
    return _train(_table(tmp, np.random.default_rng(1).bytes(500), "d.xlsx"), tmp), "not an xlsx workbook"


@case("zip that is no workbook")
def _(tmp, t):
    p = tmp / "d.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return _train(p, tmp), "could not read the workbook"


@case("garbage npz")
def _(tmp, t):
    return _train(_table(tmp, np.random.default_rng(2).bytes(500), "d.npz"), tmp), "not an npz archive"


@case("truncated npz")
def _(tmp, t):
    p = tmp / "full.npz"
    np.savez_compressed(p, X=np.random.default_rng(0).random((20, 50)), y=np.arange(20) % 2)
    raw = p.read_bytes()
    p.unlink()
    return _train(_table(tmp, raw[: len(raw) // 2], "d.npz"), tmp), "npz"


@case("npz object arrays")
def _(tmp, t):
    p = tmp / "d.npz"
    np.savez(p, X=np.ones((4, 3), dtype=object), y=np.array(["a", "a", "b", "b"]))
    return _train(p, tmp), "object arrays (pickled data), refused"


@case("npz NaN")
def _(tmp, t):
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    p = tmp / "d.npz"
    np.savez(p, X=X, y=np.array([0, 0, 1, 1]))
    return _train(p, tmp), "X contains NaN or infinite values (first in sample 2)"


@case("npz without y")
def _(tmp, t):
    p = tmp / "d.npz"
    np.savez(p, X=np.ones((4, 3)))
    return _train(p, tmp), "npz lacks ['y']"


@case("npz without samples")
def _(tmp, t):
    p = tmp / "d.npz"
    np.savez(p, X=np.ones((0, 3)), y=np.zeros(0, dtype=int))
    return _train(p, tmp), "X holds no samples"


@case("header only")
def _(tmp, t):
    return _train(_table(tmp, "label,w1,w2\n"), tmp), "header but no data rows"


@case("xlsx n/a cell")
def _(tmp, t):
    p = tmp / "d.xlsx"
    pd.DataFrame([["a", 1, 2], ["a", "n/a", 3], ["b", 1, 2], ["b", 3, 4]]).to_excel(p, header=False, index=False)
    return _train(p, tmp), "row 2, column 2: non-numeric value 'n/a'"


@case("xlsx date cell")
def _(tmp, t):
    p = tmp / "d.xlsx"
    pd.DataFrame([["a", 1, 2], ["a", pd.Timestamp("2020-01-01"), 3], ["b", 1, 2], ["b", 3, 4]]).to_excel(
        p, header=False, index=False)
    return _train(p, tmp), "row 2, column 2: non-numeric value"


@case("only one class")
def _(tmp, t):
    return _train(_table(tmp, "a,1,2,3\na,2,3,1\na,3,1,2\n"), tmp), "only one class ('a')"


@case("class with a single sample")
def _(tmp, t):
    return _train(_table(tmp, GOOD + "c,1,2,2\n"), tmp), "class(es) ['c'] have fewer than 2 samples"


@case("missing label column")
def _(tmp, t):
    return _train(t["data16"], tmp, "--label-column", "diagnosis"), "label column 'diagnosis' not found"


@case("missing group column")
def _(tmp, t):
    return _train(t["data16"], tmp, "--group-column", "patient"), "group column 'patient' not found"


@case("label column out of range")
def _(tmp, t):
    return _train(t["data16"], tmp, "--label-column", "99"), "label column '99' is out of range"


@case("missing data file")
def _(tmp, t):
    return _train(tmp / "nope.csv", tmp), "no such file"


@case("unsupported data file")
def _(tmp, t):
    return _train(_table(tmp, "{}", "d.json"), tmp), "unsupported file type '.json'"


@case("unknown model")
def _(tmp, t):
    return _train(t["data16"], tmp, "--model", "nope"), "unknown model 'nope'"


@case("unknown preprocessing")
def _(tmp, t):
    return _train(t["data16"], tmp, "--preprocess", "zscore"), "unknown preprocessing 'zscore'"


@case("--out is a folder vaelab did not write")
def _(tmp, t):
    (tmp / "run_out").mkdir()
    (tmp / "run_out" / "precious.csv").write_text("patient data\n")
    return _train(t["data16"], tmp), "refusing to replace it"


@case("--out is a file")
def _(tmp, t):
    (tmp / "run_out").write_text("precious\n")
    return _train(t["data16"], tmp), "refusing to replace it"


def _run_copy(tmp: Path, t: dict, d: int = 16) -> Path:
    run = tmp / "run"
    shutil.copytree(t[f"run{d}"], run)
    return run


def _generate(run: Path, tmp: Path, *extra: str, out: str = "syn.csv") -> list[str]:
    return ["generate", str(run), "--per-class", "3", *extra, "--out", str(tmp / out)]


@case("weights replaced by a pickle")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "weights.safetensors").write_bytes(pickle.dumps(MakesFile(tmp / "pwned")))
    return _generate(run, tmp), "is a pickle/zip (torch.save) file, not safetensors; refused without loading"


@case("classical model's weights replaced by a pickle")
def _(tmp, t):
    run = tmp / "run"
    shutil.copytree(t["run_ppca"], run)
    (run / "weights.safetensors").write_bytes(pickle.dumps(MakesFile(tmp / "pwned")))
    return _generate(run, tmp), "is a pickle/zip (torch.save) file, not safetensors; refused without loading"


@case("weights replaced by a protocol-0 pickle")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "weights.safetensors").write_bytes(pickle.dumps(MakesFile(tmp / "pwned"), protocol=0))
    return _generate(run, tmp), "not a valid safetensors file"


@case("weights replaced by torch.save")
def _(tmp, t):
    run = _run_copy(tmp, t)
    torch.save({"module.enc.0.weight": torch.zeros(3), "payload": MakesFile(tmp / "pwned")}, run / "weights.safetensors")
    return _generate(run, tmp), "is a pickle/zip (torch.save) file"


@case("weights replaced by legacy torch.save")
def _(tmp, t):
    run = _run_copy(tmp, t)
    torch.save({"x": torch.zeros(3)}, run / "weights.safetensors", _use_new_zipfile_serialization=False)
    return _generate(run, tmp), "is a pickle/zip (torch.save) file"


@case("weights replaced by garbage")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "weights.safetensors").write_bytes(np.random.default_rng(3).bytes(4096))
    return _generate(run, tmp), "not a valid safetensors file"


@case("weights truncated")
def _(tmp, t):
    run = _run_copy(tmp, t)
    w = run / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    return _generate(run, tmp), "not a valid safetensors file"


@case("weights missing")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "weights.safetensors").unlink()
    return _generate(run, tmp), "missing weights file"


@case("feature count of run.json does not match the model")
def _(tmp, t):
    run = _run_copy(tmp, t)
    meta = json.loads((run / "run.json").read_text())
    meta["data"]["feature_shape"] = [17]
    (run / "run.json").write_text(json.dumps(meta))
    return _generate(run, tmp), "the model has 16 features per sample but run.json says 17"


@case("model files swapped in from a 20-feature run")
def _(tmp, t):
    run = _run_copy(tmp, t)
    for f in ("config.json", "weights.safetensors"):
        shutil.copyfile(t["run20"] / f, run / f)
    return _generate(run, tmp), "the model has 20 features per sample but run.json says 16"


@case("config.json feature shape tampered")
def _(tmp, t):
    run = _run_copy(tmp, t)
    cfg = json.loads((run / "config.json").read_text())
    cfg["feature_shape"] = [100_000_000]
    (run / "config.json").write_text(json.dumps(cfg))
    return _generate(run, tmp), "weights do not match the model config"


@case("config.json hidden layers tampered")
def _(tmp, t):
    run = _run_copy(tmp, t)
    cfg = json.loads((run / "config.json").read_text())
    cfg["config"]["hidden"] = [7]
    (run / "config.json").write_text(json.dumps(cfg))
    return _generate(run, tmp), "damaged model config"


@case("config.json not JSON")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "config.json").write_bytes(b"\x80\x04garbage")
    return _generate(run, tmp), "config.json: not valid JSON"


@case("run.json damaged")
def _(tmp, t):
    run = _run_copy(tmp, t)
    (run / "run.json").write_text('{"data": {"classes": 3}}')
    return _generate(run, tmp), "damaged run description"


@case("run.json axis tampered")
def _(tmp, t):
    run = _run_copy(tmp, t)
    meta = json.loads((run / "run.json").read_text())
    meta["data"]["axis"] = ["x"] * 16
    (run / "run.json").write_text(json.dumps(meta))
    return _generate(run, tmp), "damaged run description"


@case("not a run folder")
def _(tmp, t):
    (tmp / "run").mkdir()
    return _generate(tmp / "run", tmp), "no run.json; not a vaelab run folder"


@case("--per-class 0")
def _(tmp, t):
    return ["generate", str(t["run16"]), "--per-class", "0", "--out", str(tmp / "syn.csv")], "--per-class must be at least 1"


@case("generate --out is a folder")
def _(tmp, t):
    (tmp / "syn.csv").mkdir()
    return _generate(t["run16"], tmp), "is a folder"


@case("generate --out unsupported")
def _(tmp, t):
    return _generate(t["run16"], tmp, out="syn.json"), "unsupported output type '.json'"


def _evaluate(t: dict, tmp: Path, *, real: Path, synthetic: Path, run: Path | None = None, holdout=None) -> list[str]:
    argv = ["evaluate", "--real", str(real), "--synthetic", str(synthetic), "--out", str(tmp / "ev")]
    if run is not None:
        argv += ["--run", str(run)]
    if holdout is not None:
        argv += ["--holdout", str(holdout)]
    return argv


@case("evaluate: real data with another feature count than the run")
def _(tmp, t):
    return _evaluate(t, tmp, real=t["data20"], synthetic=t["syn16"], run=t["run16"]), \
        "the real data has 20 features per sample, the run was trained on 16"


@case("evaluate: holdout with another feature count than the run")
def _(tmp, t):
    return _evaluate(t, tmp, real=t["data16"], synthetic=t["syn16"], run=t["run16"], holdout=t["data20"]), \
        "the holdout data has 20 features per sample, the run was trained on 16"


@case("evaluate: synthetic with another feature count than the real data")
def _(tmp, t):
    return _evaluate(t, tmp, real=t["data20"], synthetic=t["syn16"]), "features per sample"


@case("evaluate: synthetic file is garbage")
def _(tmp, t):
    return _evaluate(t, tmp, real=t["data16"], synthetic=_table(tmp, bytes(range(256)), "s.csv")), "binary content"


def _check_refused(rc: int, err: str, expected: str, before: dict, tmp: Path) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaelab: error: "), err
    assert expected in lines[0], lines[0]
    assert snapshot(tmp) == before, "something was written or changed"
    assert not (tmp / "pwned").exists(), "a pickle was executed"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(name, trained, tmp_path, capsys):
    argv, expected = CASES[name](tmp_path, trained)
    before = snapshot(tmp_path)
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    _check_refused(rc, err, expected, before, tmp_path)
    assert out == ""


def test_the_pickle_payload_really_runs_code(tmp_path):
    """The pickle used above is not a dud: unpickling it does create the marker file."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(MakesFile(marker)))
    assert marker.exists()


def test_a_refused_output_folder_is_left_untouched(trained, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("do not delete\n")
    assert main(["train", str(trained["data16"]), "--epochs", "2", "--quiet", "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "do not delete\n" and len(list(out.iterdir())) == 1


# the same cases through the installed command (a subset: each process imports torch)
CLI_SUBSET = [
    "n/a cell",
    "only one class",
    "missing label column",
    "npz object arrays",
    "weights replaced by a pickle",
    "model files swapped in from a 20-feature run",
]


@pytest.fixture(scope="module")
def cli_results(trained, tmp_path_factory):
    """Run the subset through the console script (and one through ``python -m vaelab``), in parallel."""
    jobs = []
    for name in CLI_SUBSET + ["python -m vaelab: empty file"]:
        tmp = tmp_path_factory.mktemp("cli")
        builder = CASES["empty file"] if name.startswith("python -m") else CASES[name]
        argv, expected = builder(tmp, trained)
        cmd = [sys.executable, "-m", "vaelab"] if name.startswith("python -m") else vaelab_command()
        jobs.append((name, tmp, cmd + argv, expected, snapshot(tmp)))

    def run(job):
        name, tmp, cmd, expected, before = job
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, timeout=300, env=ENV)
        return name, (p, expected, before, tmp)

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(run, jobs))


@pytest.mark.parametrize("name", CLI_SUBSET + ["python -m vaelab: empty file"])
def test_bad_input_through_the_installed_command(name, cli_results):
    p, expected, before, tmp = cli_results[name]
    _check_refused(p.returncode, p.stderr, expected, before, tmp)
    assert p.stdout == ""


# --------------------------------------------------------------------------- atomic outputs


def test_atomic_file_failure_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.csv"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash half-way")
    assert list(tmp_path.iterdir()) == []  # not even the parent folders it created
    target.parent.mkdir(parents=True)
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("crash")
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["out.csv"]


def test_atomic_dir_failure_keeps_the_old_folder(tmp_path):
    out = tmp_path / "run"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (out / MARKER).is_file() and (out / "a.txt").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("second, unfinished")
        raise RuntimeError("crash")
    assert (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left
    with atomic_dir(out) as tmp:  # a folder vaelab wrote is replaced when the new one is complete
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, "b.txt"])


def test_atomic_dir_refuses_foreign_folders_and_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="not written by vaelab"), atomic_dir(mine):
        pass
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a folder"), atomic_dir(tmp_path / "f"):
        pass
    assert (mine / "thesis.tex").read_text() == "x" and (tmp_path / "f").read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty) as tmp:
        (tmp / "ok").write_text("1")
    assert (empty / "ok").is_file()


def test_outputs_are_readable_by_colleagues(trained, tmp_path):
    """mkstemp/mkdtemp make private files (0600/0700); outputs get the usual umask permissions."""
    old = os.umask(0o022)
    try:
        run = tmp_path / "run"
        assert main(["train", str(trained["data16"]), "--epochs", "2", "--quiet", "--out", str(run)]) == 0
        assert main(["generate", str(run), "--per-class", "2", "--out", str(tmp_path / "s.npz")]) == 0
    finally:
        os.umask(old)
    for p in [run, *run.iterdir(), tmp_path / "s.npz"]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o044 == 0o044, (p.name, oct(mode))


def test_write_failure_half_way_leaves_no_file(trained, tmp_path, monkeypatch, capsys):
    import vaelab.data.io as io

    def broken(df, path, *, header):
        Path(path).write_bytes(b"PK half a workbook")
        raise InputError("disk full (simulated)")

    monkeypatch.setattr(io, "_write_xlsx", broken)
    before = snapshot(tmp_path)
    assert main(["generate", str(trained["run16"]), "--per-class", "2", "--out", str(tmp_path / "o" / "s.xlsx")]) == 2
    assert "disk full" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_train_failure_while_writing_leaves_no_run_folder(trained, tmp_path, monkeypatch, capsys):
    """No half-written run folder; the final checkpoint survives, so --resume only has to write."""
    import vaelab.reporting.figures

    real = vaelab.reporting.figures.training_history

    def broken(*a, **k):
        raise InputError("cannot draw (simulated)")

    monkeypatch.setattr(vaelab.reporting.figures, "training_history", broken)
    run = tmp_path / "a" / "run"
    argv = ["train", str(trained["data16"]), "--epochs", "2", "--quiet", "--out", str(run)]
    assert main(argv) == 2
    assert "cannot draw" in capsys.readouterr().err
    assert not run.exists() and [p.name for p in (tmp_path / "a").iterdir()] == ["run.partial"]
    monkeypatch.setattr(vaelab.reporting.figures, "training_history", real)
    assert main([*argv, "--resume"]) == 0
    assert "(2 of 2 epochs done)" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["run"] and (run / "loss.png").is_file()


# --------------------------------------------------------------------------- determinism


def test_same_command_same_seed_same_bytes(trained, tmp_path):
    """Train + generate twice with the same seed (once in a separate process, seconds later, so
    time stamps would show): identical files. The default model is used (the seed CVAE is
    covered by the SIGKILL/resume test)."""
    data = trained["data16"]
    args = ["--epochs", "5", "--seed", "3", "--quiet"]
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"

    def generate_all(run: Path) -> dict[str, bytes]:
        out = {}
        for suffix in (".csv", ".xlsx", ".npz"):
            o = tmp_path / f"{run.name}{suffix}"
            assert main(["generate", str(run), "--per-class", "4", "--seed", "9", "--out", str(o)]) == 0
            out[suffix] = o.read_bytes()
        return out

    assert main(["train", str(data), *args, "--out", str(a)]) == 0
    gen_a = generate_all(a)
    p = subprocess.run([*vaelab_command(), "train", str(data), *args, "--out", str(b)], capture_output=True, text=True,
                       timeout=300, env=ENV)
    assert p.returncode == 0, p.stderr
    gen_b = generate_all(b)
    files = sorted(f.name for f in a.iterdir())
    assert {"weights.safetensors", "config.json", "run.json", "history.csv", "loss.png", "preprocessing.json"} <= set(files)
    assert files == sorted(f.name for f in b.iterdir())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    for suffix in gen_a:
        assert gen_a[suffix] == gen_b[suffix], suffix
    # and the comparison can fail: another seed gives other weights
    assert main(["train", str(data), "--epochs", "5", "--seed", "4", "--quiet", "--out", str(c)]) == 0
    assert (c / "weights.safetensors").read_bytes() != (a / "weights.safetensors").read_bytes()


def test_safetensors_header_is_canonical(tmp_path):
    """safetensors keeps metadata in a hash map (order changes between processes); vaelab sorts it."""
    from safetensors.torch import load_file, save_file

    from vaelab.core.atomic import normalise_safetensors

    f = tmp_path / "w.safetensors"
    save_file({"b": torch.ones(2), "a": torch.zeros(3)}, str(f), metadata={"z": "1", "a": "2", "m": "3"})
    size = f.stat().st_size
    normalise_safetensors(f)
    raw = f.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert list(json.loads(raw[8 : 8 + n])["__metadata__"]) == ["a", "m", "z"] and len(raw) == size
    t = load_file(str(f))
    assert torch.equal(t["b"], torch.ones(2)) and torch.equal(t["a"], torch.zeros(3))
