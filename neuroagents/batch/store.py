"""The sweep directory: what was asked for, what finished, what failed — never half written, never mixed.

Layout::

    SWEEP_DIR/
      sweep.json               the validated sweep, its base scenario, versions; a rerun must match it
      sweep.toml               the sweep file as given
      design.parquet           one row per run: run_id, point, replicate, seed, one column per varied key
      results/<run_id>.parquet the time series of each finished run, with run_id, point, replicate, seed and
                               the varied keys as leading columns; read all with pandas.read_parquet(".../results")
      runs/<run_id>.json       each run's attempts: status, errors (type, message, traceback), wall time, host

A run is finished when its results file exists; files are written to a hidden temporary name and renamed, so
a reader (or a sweep killed at any moment) never sees a partial file, and a rerun skips exactly the finished
runs. Failed runs keep their errors in ``runs/`` and are tried again by a rerun.

Examples
--------
>>> import tempfile, pandas as pd
>>> store = SweepStore(tempfile.mkdtemp())
>>> store.write_result("p0000-r00", pd.DataFrame({"run_id": ["p0000-r00"], "time_min": [0.0]}), {"wall_s": 1.0})
>>> sorted(store.finished()), store.results()["time_min"].tolist()
(['p0000-r00'], [0.0])
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from neuroagents.errors import ConfigError
from neuroagents.outputs import LOCK_FILE
from neuroagents.recording import atomic_write, package_versions, write_json

__all__ = ["FORMAT", "SweepStore", "first_difference", "parquet_is_whole", "sweep_text"]

FORMAT = 1
"""Version of the sweep directory layout."""


def first_difference(a, b, prefix: str = "") -> str | None:
    """The first dotted key where two JSON documents differ, or None.

    Examples
    --------
    >>> first_difference({"a": {"b": 1, "c": [1, 2]}}, {"a": {"b": 1, "c": [1, 3]}})
    'a.c[1]'
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):  # over keys
            d = first_difference(a.get(k, "<missing>"), b.get(k, "<missing>"), f"{prefix}.{k}" if prefix else str(k))
            if d is not None:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{prefix} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):  # over items
            d = first_difference(x, y, f"{prefix}[{i}]")
            if d is not None:
                return d
        return None
    return None if a == b else (prefix or "(top level)")


class SweepStore:
    """A sweep directory (see the module docstring).

    Parameters
    ----------
    path : str or Path
    """

    def __init__(self, path):
        self.path = Path(path)
        self.results_dir = self.path / "results"
        self.runs_dir = self.path / "runs"

    # --- the sweep itself ---------------------------------------------------------------------
    def prepare(self, record: dict, sweep_text: str | None, design_table, *, force: bool = False) -> bool:
        """Start a new sweep here, or check that the one here is the same; returns whether it was new.

        Parameters
        ----------
        record : dict
            What defines the sweep (its validated spec, base scenario, number of runs): kept in ``sweep.json``
            and compared with an earlier one.
        sweep_text : str or None
            The sweep file as given, kept as ``sweep.toml``.
        design_table : pandas.DataFrame
            One row per run.
        force : bool
            Discard an earlier sweep here (its results too) instead of refusing a different one.

        Raises
        ------
        ConfigError
            When the directory holds a different sweep (naming the first key that differs), or is not a
            sweep directory but not empty.
        """
        meta = self.path / "sweep.json"
        record = json.loads(json.dumps(record))  # as it reads back: tuples become lists
        if meta.is_file() and not force:
            old = json.loads(meta.read_text(encoding="utf-8"))
            diff = first_difference(old.get("sweep"), record)
            if diff is not None:
                raise ConfigError("--out", str(self.path), f"the directory of this same sweep, or a new one: it holds "
                                  f"a different sweep ({diff} differs), whose results must not mix with this one's; "
                                  "give another --out, or --force to discard it", )  # fmt: skip
            return False
        if force and self.path.exists():
            for name in ("results", "runs"):
                shutil.rmtree(self.path / name, ignore_errors=True)
            for name in ("sweep.json", "sweep.toml", "design.parquet"):
                (self.path / name).unlink(missing_ok=True)
        elif self.path.is_dir() and any(p.name != LOCK_FILE for p in self.path.iterdir()):
            raise ConfigError("--out", str(self.path), "a new or empty directory, or a sweep's directory (it holds "
                              "files but no sweep.json)")  # fmt: skip
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path / "design.parquet") as tmp:
            design_table.to_parquet(tmp, index=False)
        if sweep_text is not None:
            with atomic_write(self.path / "sweep.toml") as tmp:
                tmp.write_text(sweep_text, encoding="utf-8")
        write_json(meta, {"format": FORMAT, "created_utc": _now(), "versions": package_versions(), "sweep": record})
        return True

    def record(self) -> dict:
        """The ``sweep`` part of ``sweep.json``."""
        return json.loads((self.path / "sweep.json").read_text(encoding="utf-8"))["sweep"]

    def design(self):
        """``design.parquet`` (pandas)."""
        import pandas as pd

        return pd.read_parquet(self.path / "design.parquet")

    # --- runs ---------------------------------------------------------------------------------
    def finished(self) -> set[str]:
        """Ids of the runs whose results are written and readable.

        A results file that is not a whole Parquet file (cut by a full disk, damaged, or written by something
        else) does not count: it is renamed to a hidden ``.damaged-<run_id>.parquet`` (so that
        ``pandas.read_parquet`` of the directory still works) and the run is run again.
        """
        if not self.results_dir.is_dir():
            return set()
        done = set()
        for p in self.results_dir.glob("*.parquet"):  # over result files (a footer read each)
            if p.name.startswith("."):
                continue
            if parquet_is_whole(p):
                done.add(p.stem)
            else:
                p.replace(p.with_name(f".damaged-{p.name}"))
        return done

    def attempts(self, run_id: str) -> dict:
        """The attempt record of a run (empty if never tried)."""
        p = self.runs_dir / f"{run_id}.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}

    def write_result(self, run_id: str, table, info: dict) -> None:
        """Write a finished run's time series, then its record (status ``done``)."""
        with atomic_write(self.results_dir / f"{run_id}.parquet") as tmp:
            table.to_parquet(tmp, index=False)
        rec = self.attempts(run_id)
        rec.update({"run_id": run_id, "status": "done", "attempts": rec.get("attempts", 0) + 1,
                    "finished_utc": _now(), **info})  # fmt: skip
        rec.setdefault("errors", [])
        write_json(self.runs_dir / f"{run_id}.json", rec)

    def write_failure(self, run_id: str, error: dict, info: dict, *, final: bool) -> None:
        """Record a failed attempt (``final``: no retry left in this invocation, status ``failed``)."""
        rec = self.attempts(run_id)
        rec.update({"run_id": run_id, "status": "failed" if final else "retrying",
                    "attempts": rec.get("attempts", 0) + 1, **info})  # fmt: skip
        rec["errors"] = [*rec.get("errors", []), {**error, "at_utc": _now()}]
        write_json(self.runs_dir / f"{run_id}.json", rec)

    def results(self):
        """Every finished run's time series as one table (pandas), ordered by run id and time."""
        import pandas as pd

        files = sorted(p for p in self.results_dir.glob("*.parquet") if not p.name.startswith("."))
        if not files:
            return pd.DataFrame()
        table = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        return table.sort_values(["run_id", "time_min"], kind="stable", ignore_index=True)

    def runs(self):
        """One row per run of the design with its status (``done``, ``failed``, ``retrying``, ``pending``),
        attempts and last error (pandas)."""
        design = self.design()
        done = self.finished()
        status, attempts, last = [], [], []
        for run_id in design["run_id"]:  # over runs (bookkeeping, not simulation)
            rec = self.attempts(run_id)
            status.append("done" if run_id in done else rec.get("status", "pending"))
            attempts.append(rec.get("attempts", 0))
            errs = rec.get("errors") or []
            last.append(f"{errs[-1]['type']}: {errs[-1]['message']}" if errs else None)
        return design.assign(status=status, attempts=attempts, last_error=last)


def parquet_is_whole(path) -> bool:
    """Whether ``path`` is a whole Parquet file: ``PAR1`` at both ends and a footer that pyarrow can read.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.parquet"
    >>> pd.DataFrame({"a": [1, 2]}).to_parquet(p)
    >>> ok = parquet_is_whole(p)
    >>> _ = p.write_bytes(p.read_bytes()[:-9])
    >>> ok, parquet_is_whole(p)
    (True, False)
    """
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        size = path.stat().st_size
        if size < 12:
            return False
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
        if head != b"PAR1" or tail != b"PAR1":
            return False
        pq.read_metadata(path)
    except Exception:  # OSError, or whatever pyarrow raises for a bad footer (ArrowInvalid, ArrowException)
        return False
    return True


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def sweep_text(path: str | os.PathLike) -> str | None:
    """The text of a sweep file, or None when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
