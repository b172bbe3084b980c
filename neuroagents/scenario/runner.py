"""Run a scenario to its duration, checkpoint it, resume it, and write what it computed.

:func:`run_scenario` builds the model from a validated :class:`~neuroagents.scenario.schema.Scenario`, steps it
to the scenario's duration with a progress line (simulated time, rate, ETA), and writes into the output
directory (every file through a temporary name and a rename, so none is ever half written):

``timeseries.parquet``
    :meth:`NeuroImmuneModel.timeseries`: one row per recorded time (``time_min``, pain readouts, cells per type
    and state, mean mediators per compartment).
``pain_trace.parquet``
    :meth:`NeuroImmuneModel.pain_trace`: one row per cell step (``step``, ``time_min``, the cheap pain signals;
    ``docs/pain.md`` section 3).
``cells.parquet``
    Per-cell snapshots (:mod:`~neuroagents.cell_snapshots`: time, compartment, type, id, position, state,
    pathway activities) on the snapshot schedule: at t = 0, every ``snapshot_every_min`` and at the end.
``fields.zarr``
    Field snapshots (:class:`~neuroagents.recording.FieldSnapshots`): at t = 0, every ``snapshot_every_min``
    and at the end; read with ``xarray.open_zarr(path, group="tissue")``.
``manifest.json``
    The resolved scenario, files and overrides, seed, backend and device that ran, package versions, wall time,
    the snapshot schedule, the checkpoints, the segments of a resumed run, and the status (``completed``,
    ``failed`` with the error, or ``interrupted``).
``summary.png``
    Pain readouts and cell counts over time (:mod:`~neuroagents.scenario.summary`).
``checkpoint.pkl``
    With ``checkpoint_every_min``, and whenever a run is stopped by SIGINT or SIGTERM between two steps: the
    whole model (:mod:`neuroagents.checkpoint`); :func:`resume_run` carries on from it, and a resumed NumPy run
    equals the uninterrupted one bit for bit. The time series and the manifest are rewritten at each
    checkpoint, so a long run's results so far can be read while it runs.

After every step the fields are checked: a NaN, infinite or negative concentration stops the run with
:class:`ScenarioRunError` naming the mediator, and the last good checkpoint (taken before it) is kept. A run
that fails part-way still writes the time series so far and a manifest naming the error.
"""

from __future__ import annotations

import contextlib
import math
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from neuroagents.cell_snapshots import CellSnapshots
from neuroagents.checkpoint import CHECKPOINT_FILE, CheckpointError, load_checkpoint, scenario_sha256
from neuroagents.errors import ConfigError, NeuroagentsError
from neuroagents.outputs import (
    OutputError,
    check_directory_path,
    check_out_dir,
    check_resources,
    describe_os_error,
    estimate_run,
    prepare_out_dir,
)
from neuroagents.progress import Progress, format_minutes
from neuroagents.recording import (
    FIELDS_STORE,
    FieldSnapshots,
    SnapshotSchedule,
    fields_available,
    jsonable,
)
from neuroagents.scenario.checks import check_name, implausible_doses
from neuroagents.scenario.observers import Checkpoints, FieldsObserver, FinalRecord, ProgressObserver, step_through
from neuroagents.scenario.run_files import OUTPUT_FILES, kept, write_outputs
from neuroagents.scenario.schema import Scenario
from neuroagents.scenario.stop_signal import StopOnSignal

__all__ = ["DEFAULT_SNAPSHOT_EVERY_MIN", "OUTPUT_FILES", "Progress", "RunResult", "ScenarioRunError", "format_minutes",
           "planned_steps", "resume_run", "run_scenario"]  # fmt: skip

DEFAULT_SNAPSHOT_EVERY_MIN = 1440.0
"""Field snapshots once a simulated day by default (and at the start and the end)."""


class ScenarioRunError(NeuroagentsError, RuntimeError):
    """A scenario run stopped before its end; what it computed so far was written."""


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_scenario` or :func:`resume_run` did.

    Attributes
    ----------
    out_dir : Path
    files : tuple of Path
        The files written.
    backend, device : str
        The array backend that ran and its device.
    steps : int
        Cell steps done, in all segments.
    simulated_min : float
    wall_s : float
        This process, s (building or loading, stepping, writing).
    table : pandas.DataFrame
        The time series.
    status : {"completed", "interrupted"}
        ``interrupted`` when a signal stopped the run between two steps; it can be resumed.
    checkpoint : Path or None
        The last checkpoint written, if any.
    scenario : Scenario
        The scenario that ran.
    """

    out_dir: Path
    files: tuple[Path, ...]
    backend: str
    device: str
    steps: int
    simulated_min: float
    wall_s: float
    table: object
    status: str = "completed"
    checkpoint: Path | None = None
    scenario: Scenario | None = None


def planned_steps(duration_min: float, cell_dt_min: float) -> int:
    """Cell steps that reach ``duration_min`` (at least one).

    Examples
    --------
    >>> planned_steps(10.0, 1.0), planned_steps(10.5, 1.0), planned_steps(0.1, 1.0)
    (10, 11, 1)
    """
    return max(1, math.ceil(duration_min / cell_dt_min - 1e-9))


def _positive_or_none(key: str, value, unit: str = "min") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(key, value, f"a time > 0 ({unit}), or left out")
    return float(value)


@dataclass
class _Run:
    """Everything about a run but the model: kept in its checkpoint."""

    scenario: Scenario
    path: Path
    backend: str
    dtype: str
    n_planned: int
    snapshots: FieldSnapshots | None
    checkpoint_every_min: float | None
    next_checkpoint_min: float = math.inf
    done: int = 0
    last_checkpoint: dict | None = None
    segments: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    model_kwargs: dict = field(default_factory=dict)
    estimate: str = ""
    write_error: dict | None = None
    cells: CellSnapshots | None = None
    error_step: int | None = None  # the step an exception belongs to (not kept in checkpoints)

    def state(self) -> dict:
        s = self.scenario
        return {"scenario_name": s.scenario.name, "scenario": s.resolved(), "files": list(s.files),
                "overrides": list(s.overrides), "backend": self.backend, "dtype": self.dtype,
                "n_planned": self.n_planned, "done": self.done,
                "snapshots": self.snapshots.state() if self.snapshots else None,
                "checkpoint_every_min": self.checkpoint_every_min, "next_checkpoint_min": self.next_checkpoint_min,
                "segments": list(self.segments), "notes": list(self.notes),
                "model_kwargs": self.model_kwargs,
                "cells": self.cells.state() if self.cells else None}  # fmt: skip

    @classmethod
    def from_state(cls, path: Path, st: dict) -> _Run:
        scenario = Scenario.model_validate(st["scenario"])
        scenario._files, scenario._overrides = tuple(st["files"]), tuple(st["overrides"])
        snaps = FieldSnapshots.from_state(path / FIELDS_STORE, st["snapshots"]) if st["snapshots"] else None
        cells = CellSnapshots.from_state(st["cells"]) if st.get("cells") else None
        return cls(scenario, path, st["backend"], st["dtype"], st["n_planned"], snaps, st["checkpoint_every_min"],
                   st["next_checkpoint_min"], st["done"], None, list(st["segments"]), list(st["notes"]),
                   st["model_kwargs"], cells=cells)  # fmt: skip


# --- starting, resuming -----------------------------------------------------------------------------
def run_scenario(
    scenario: Scenario,
    out_dir,
    *,
    backend: str = "auto",
    dtype: str = "float64",
    force: bool = False,
    command: list[str] | None = None,
    progress: TextIO | bool = True,
    snapshot_every_min: float | str | None = "default",
    snapshot_mediators: list[str] | None = None,
    checkpoint_every_min: float | None = None,
    handle_signals: bool = False,
) -> RunResult:
    """Run ``scenario`` to its duration and write :data:`OUTPUT_FILES` into ``out_dir``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`~neuroagents.scenario.loader.load_scenario`.
    out_dir : str or Path
        Created if missing; must be empty unless ``force`` (then this run's outputs are replaced).
    backend : {"auto", "numpy", "cupy"}
    dtype : {"float64", "float32"}
        Precision of the mediator fields.
    force : bool
        Write over the outputs of an earlier run.
    command : list of str, optional
        The command line, kept in the manifest.
    progress : text stream or bool
        Where the progress line goes: True for ``sys.stderr`` (the default), False for nowhere.
    snapshot_every_min : float, None or "default"
        Field snapshots every this many simulated minutes (plus t = 0 and the end); None for none. "default":
        :data:`DEFAULT_SNAPSHOT_EVERY_MIN` when xarray and zarr are installed, else none (the manifest says why).
    snapshot_mediators : list of str, optional
        Mediators to keep in the snapshots (default all).
    checkpoint_every_min : float, optional
        Write ``checkpoint.pkl`` every this many simulated minutes.
    handle_signals : bool
        Stop cleanly on SIGINT/SIGTERM after the current step, with a checkpoint (the command line sets it).

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Before anything is written, when the output directory, an option or the model's arguments are refused.
    ScenarioRunError
        When a step fails or the fields go bad; the time series so far and a manifest with the error are
        written first, and the last good checkpoint is kept.
    KeyboardInterrupt
        Likewise after writing, when interrupted in the middle of a step.
    """
    t0 = time.perf_counter()
    path = Path(out_dir)
    check_name(scenario.scenario.name)
    check_directory_path(path)
    notes = []
    checkpoint_every_min = _positive_or_none("--checkpoint-every", checkpoint_every_min)
    if snapshot_every_min == "default":
        ok, why = fields_available()
        cells_every_min = DEFAULT_SNAPSHOT_EVERY_MIN  # per-cell snapshots need no xarray/zarr
        snapshot_every_min = DEFAULT_SNAPSHOT_EVERY_MIN if ok else None
        if not ok:
            notes.append(f"no field snapshots: {why}")
    else:
        snapshot_every_min = cells_every_min = _positive_or_none("--snapshot-every", snapshot_every_min)
        ok, why = fields_available()
        if snapshot_every_min is not None and not ok:
            raise ConfigError("--snapshot-every", snapshot_every_min, f"left out: {why}")
    if snapshot_mediators and snapshot_every_min is None:
        raise ConfigError("--snapshot-mediators", ",".join(snapshot_mediators), "given with field snapshots on")
    kwargs = scenario.model_kwargs(backend=backend, dtype=dtype)
    estimate = estimate_run(kwargs, duration_min=scenario.duration_min, snapshot_every_min=snapshot_every_min,
                            snapshot_mediators=snapshot_mediators)  # fmt: skip
    created = not path.exists()
    lock = prepare_out_dir(path, command=command)  # one writer per directory, from here to the last file
    started = False
    try:
        if (path / CHECKPOINT_FILE).exists() and not force:
            raise ConfigError("out_dir", str(path), f"a new or empty directory; it holds the checkpoint of an earlier "
                              f"run: continue it with 'neuroagents resume {path}', or pass --force to start "
                              "over")  # fmt: skip
        check_out_dir(path, force=force)
        check_resources(estimate, path, gpu=backend == "cupy")
        try:
            model = scenario.build_model(backend=backend, dtype=dtype)
        except MemoryError:
            raise ConfigError("tissue", f"{sum(estimate.voxels.values()):,} voxels", "small enough to build in "
                              f"memory here: building the model ran out of memory ({estimate.describe()})") from None
        snaps = None
        if snapshot_every_min is not None:
            snaps = FieldSnapshots(path / FIELDS_STORE, SnapshotSchedule(snapshot_every_min), snapshot_mediators)
            snaps.check(model)
        stream = sys.stderr if progress is True else (progress or None)
        warnings = implausible_doses(scenario)
        notes += warnings
        if stream is not None:  # after the last refusal, so that a refused run prints one line only
            stream.write(f"neuroagents: {scenario.scenario.name}: {estimate.describe()}\n")
            for w in warnings:  # over drugs dosed beyond reason (a handful at most)
                stream.write(f"neuroagents: warning: {w}\n")
        if force:  # this run's own outputs of an earlier run go; other files stay
            shutil.rmtree(path / FIELDS_STORE, ignore_errors=True)
            (path / CHECKPOINT_FILE).unlink(missing_ok=True)
        run = _Run(scenario, path, backend, dtype, planned_steps(scenario.duration_min, model.cell_dt_min), snaps,
                   checkpoint_every_min, checkpoint_every_min or math.inf, notes=notes,
                   model_kwargs=jsonable(kwargs), estimate=estimate.describe(),
                   cells=CellSnapshots(SnapshotSchedule(cells_every_min)) if cells_every_min else None)  # fmt: skip
        started = True
        return _drive(run, model, t0, command, progress, handle_signals)
    finally:
        lock.release()
        if created and not started:  # refused before the first step: leave no directory behind
            with contextlib.suppress(OSError):
                path.rmdir()


def resume_run(out_dir, *, command: list[str] | None = None, progress: TextIO | bool = True,
               handle_signals: bool = False) -> RunResult:  # fmt: skip
    """Carry on a run from the checkpoint in ``out_dir`` to the end of its scenario.

    The scenario, backend, dtype, snapshot and checkpoint schedules are the run's own (kept in the
    checkpoint). Field snapshots written after the checkpoint by the interrupted process are dropped and
    written again; the time series and the manifest are rewritten whole.

    Raises
    ------
    ConfigError
        When ``out_dir`` holds no checkpoint or a completed run.
    CheckpointError
        When the checkpoint is damaged, from another neuroagents version, or needs a GPU that is not here.
    """
    t0 = time.perf_counter()
    path = Path(out_dir)
    if not path.is_dir():
        raise ConfigError("resume", str(path), "a run directory holding checkpoint.pkl (no run was found there)")
    lock = prepare_out_dir(path, command=command, option="resume DIR")
    try:
        return _resume_locked(path, t0, command, progress, handle_signals)
    finally:
        lock.release()


def _resume_locked(path: Path, t0: float, command, progress, handle_signals) -> RunResult:
    import json

    manifest_path = path / "manifest.json"
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            manifest = None
    status = manifest.get("status") if isinstance(manifest, dict) else None
    if status == "completed":
        raise ConfigError("resume", str(path), "the directory of an unfinished run: this run completed")
    if not (path / CHECKPOINT_FILE).is_file():
        why = ("the run stopped before its first checkpoint; start it again (with --force) and give "
               "--checkpoint-every MIN") if manifest_path.is_file() else "no run was found there"  # fmt: skip
        raise ConfigError("resume", str(path), f"a run directory holding {CHECKPOINT_FILE} ({why})")
    model, state, header = load_checkpoint(path / CHECKPOINT_FILE)
    if isinstance(manifest, dict) and isinstance(manifest.get("scenario"), dict):
        if scenario_sha256(manifest["scenario"]) != header.get("scenario_sha256"):
            raise CheckpointError(f"{path / CHECKPOINT_FILE} belongs to another run than {manifest_path} (their "
                                  "scenarios differ); resume the directory the checkpoint came from")  # fmt: skip
    try:
        run = _Run.from_state(path, state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path / CHECKPOINT_FILE}: the run state in it is incomplete ({type(exc).__name__}: "
                              f"{exc})") from None  # fmt: skip
    run.last_checkpoint = {"time_min": header["time_min"], "steps": state["done"], "written_utc": header["written_utc"]}
    snaps = run.snapshots
    estimate = estimate_run(run.model_kwargs, duration_min=max(0.0, run.scenario.duration_min - model.time_min),
                            snapshot_every_min=snaps.schedule.every_min if snaps else None,
                            snapshot_mediators=snaps.mediators if snaps else None)  # fmt: skip
    run.estimate = estimate.describe()
    check_resources(estimate, path, gpu=run.backend == "cupy")
    if run.snapshots is not None:
        _reopen_snapshots(run, model)
    return _drive(run, model, t0, command, progress, handle_signals, resumed_from=run.last_checkpoint)


def _reopen_snapshots(run: _Run, model) -> None:
    """Cut the snapshot store back to the checkpoint; a missing or unreadable store restarts at the checkpoint."""
    snaps = run.snapshots
    store_ok = snaps.path.is_dir() or snaps.schedule.count == 0
    if store_ok:
        try:
            snaps.truncate()
            return
        except Exception as exc:  # a damaged store (zarr, OSError, KeyError): start a new one, say so
            why = f"unreadable ({type(exc).__name__}: {exc})"
    else:
        why = "missing"
    shutil.rmtree(snaps.path, ignore_errors=True)
    run.notes.append(f"{FIELDS_STORE} was {why} when the run resumed: the snapshots before t = "
                     f"{model.time_min:g} min are lost; the store restarts with the checkpoint's state")  # fmt: skip
    snaps.groups.clear()
    sched = snaps.schedule
    keep_next = sched.next_min  # the schedule goes on as before, after one snapshot of the checkpoint's state
    sched.count, sched.last_min = 0, None
    snaps.write(model)
    sched.next_min = keep_next


# --- the loop ---------------------------------------------------------------------------------------
def _drive(run: _Run, model, t0: float, command, progress, handle_signals, resumed_from=None) -> RunResult:
    """Step ``model`` from ``run.done`` to ``run.n_planned``, checkpointing and snapshotting; write the outputs."""
    stream = sys.stderr if progress is True else (progress or None)
    dt = model.cell_dt_min
    name = run.scenario.scenario.name
    bar = Progress(stream, run.n_planned * dt, name, start_min=model.time_min)
    seg = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command,
           "host": platform.node(), "from_step": run.done, "from_min": model.time_min,
           "resumed_from_checkpoint": resumed_from}  # fmt: skip
    status, caught = "completed", None
    run.error_step = None
    path = run.path
    path.mkdir(parents=True, exist_ok=True)
    checkpoints = Checkpoints(run, seg, t0)
    observers = [FinalRecord(), *([FieldsObserver(run)] if run.snapshots is not None else []),
                 *([run.cells] if run.cells is not None else []), checkpoints, ProgressObserver(bar)]  # fmt: skip
    t1 = time.perf_counter()
    with StopOnSignal(handle_signals, stream) as stop:
        try:
            status = step_through(model, run, observers, stop)
            if status == "interrupted":
                checkpoints.checkpoint(model)
        except KeyboardInterrupt as exc:
            status, caught = "interrupted", exc
        except Exception as exc:  # any failure: record it, write what was computed, then report it
            status, caught = "failed", exc
        stop.finishing = True  # a further Ctrl-C waits for the outputs below
        error_step = run.error_step
        error = None
        if caught is not None:
            message = "interrupted" if isinstance(caught, KeyboardInterrupt) else str(caught)
            error = {"type": type(caught).__name__, "message": message, "step": error_step,
                     "time_min": model.time_min}  # fmt: skip
            if isinstance(caught, OSError) and getattr(caught, "filename", None):
                error["file"] = str(caught.filename)
        seg["step_wall_s"] = round(time.perf_counter() - t1, 3)
        outcome = status if caught is None else "failed"
        for o in observers:  # over observers: the last record, the last snapshots, the progress line
            try:
                o.finish(model, outcome)
            except Exception as exc:  # a full disk at the last snapshot: the time series still goes first
                status, caught, outcome = "failed", exc, "failed"
                error = {"type": type(exc).__name__, "message": str(exc), "step": run.done,
                         "time_min": model.time_min,
                         "file": str(getattr(exc, "filename", None) or getattr(o, "path", None) or path)}  # fmt: skip
        files = write_outputs(run, model, status, error, seg, time.perf_counter() - t0, draw=True, final=True)
    ckpt = path / CHECKPOINT_FILE if run.last_checkpoint else None
    if isinstance(caught, KeyboardInterrupt):
        if ckpt is not None and stream is not None:
            stream.write(f"neuroagents: the last checkpoint is at t = {run.last_checkpoint['time_min']:g} min; "
                         f"continue with 'neuroagents resume {path}'\n")  # fmt: skip
        raise caught
    where = (f"; the last good checkpoint is {ckpt} (t = {run.last_checkpoint['time_min']:g} min)" if ckpt
             else "")  # fmt: skip
    if caught is not None:
        if error_step is None:
            when = f"before its first step (at t = {model.time_min:g} min)"
        elif isinstance(caught, OSError) and error_step == run.done and error_step > 0:
            when = f"after step {error_step} of {run.n_planned} (t = {model.time_min:g} min)"
        else:
            when = f"in step {error_step} of {run.n_planned} (from t = {(error_step - 1) * dt:g} min)"
        what = f"{type(caught).__name__}: {caught}"
        if isinstance(caught, OutputError):
            what = str(caught)
        elif isinstance(caught, OSError):
            what = f"cannot write {getattr(caught, 'filename', None) or path}: {describe_os_error(caught)}"
        if isinstance(caught, MemoryError):
            what = f"out of memory (MemoryError); the run needs {run.estimate or 'more memory than there is'}"
        raise ScenarioRunError(f"scenario {name!r} failed {when}: {what}; {kept(run)}{where}") from caught
    if run.write_error is not None:
        e = run.write_error
        raise OutputError(f"scenario {name!r} ran to its end but {e['file']} could not be written: {e['cause']}; "
                          f"{kept(run)}{where}")  # fmt: skip
    return RunResult(path, tuple(files), model.backend.name, model.backend.device, run.done, model.time_min,
                     time.perf_counter() - t0, model.timeseries(), status, ckpt, run.scenario)  # fmt: skip

