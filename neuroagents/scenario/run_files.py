"""What a scenario run leaves in its directory: the time series, the pain trace, the summary figure and the manifest.

:func:`write_outputs` writes them, each atomically (temporary name, then rename), the time series first. A
write that fails (a full or read-only disk) does not stop the others: the first failure is kept with its file
and cause (``run.write_error``) and recorded in the manifest, and a time series or manifest that the run
directory cannot take is written to the temporary directory instead, so nothing computed is lost.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from pathlib import Path

from neuroagents.cell_snapshots import CELLS_FILE
from neuroagents.checkpoint import CHECKPOINT_FILE, code_identity
from neuroagents.citation import citation
from neuroagents.outputs import describe_os_error
from neuroagents.progress import format_minutes
from neuroagents.recording import FIELDS_STORE, atomic_write, package_versions, write_json

__all__ = ["OUTPUT_FILES", "PAIN_TRACE_FILE", "kept", "write_outputs"]

PAIN_TRACE_FILE = "pain_trace.parquet"
"""The pain trace (:meth:`NeuroImmuneModel.pain_trace`): one row per cell step, beside the time series."""
OUTPUT_FILES = ("timeseries.parquet", PAIN_TRACE_FILE, CELLS_FILE, "manifest.json", "summary.png", FIELDS_STORE)
"""What a completed run leaves in its directory (plus ``checkpoint.pkl`` when checkpoints were asked for)."""


def kept(run) -> str:
    """What the user has after a failure, in words."""
    if run.write_error is None:
        return f"the time series so far and a manifest naming the error are in {run.path}"
    e = run.write_error
    ts, mf = e.get("timeseries_at"), e.get("manifest_at")
    saved = f"the time series was written to {ts} instead" if ts else f"the time series is in {run.path}"
    if mf:
        saved += f", and the manifest to {mf}"
    return f"writing {e['file']} failed ({e['cause']}): {saved}"


def write_outputs(run, model, status, error, seg, wall_s, *, draw: bool, final: bool = False) -> list[Path]:
    """Write the time series, the pain trace, the summary figure (when ``draw``) and the manifest, each atomically.

    The time series goes first. A write that fails (a full or read-only disk) does not stop the others; the
    first failure is kept in ``run.write_error`` (file and cause) and in the manifest, and a time series that
    cannot be written into the run directory is written to the temporary directory instead.
    """
    from neuroagents.scenario.summary import plot_summary

    path = run.path
    table = model.timeseries()
    files = []

    def attempt(name: str, write) -> bool:
        try:
            write()
            files.append(path / name)
            return True
        except OSError as exc:
            if run.write_error is None:
                run.write_error = {"file": str(path / name), "cause": describe_os_error(exc),
                                   "type": type(exc).__name__}  # fmt: skip
            return False

    def write_table(target: Path):
        with atomic_write(target) as tmp:
            table.to_parquet(tmp, index=False)

    if not attempt("timeseries.parquet", lambda: write_table(path / "timeseries.parquet")) and final:
        with contextlib.suppress(OSError):
            spare = _spare(run, "timeseries.parquet")
            write_table(spare)
            run.write_error["timeseries_at"] = str(spare)

    def write_trace():
        with atomic_write(path / PAIN_TRACE_FILE) as tmp:
            model.pain_trace().to_parquet(tmp, index=False)

    attempt(PAIN_TRACE_FILE, write_trace)
    cells = getattr(run, "cells", None)
    if cells is not None and cells.frames:

        def write_cells():
            with atomic_write(path / CELLS_FILE) as tmp:
                cells.table().to_parquet(tmp, index=False)

        attempt(CELLS_FILE, write_cells)
    if run.snapshots is not None and run.snapshots.schedule.count:
        files.append(path / FIELDS_STORE)
    notes = list(run.notes)
    if draw and run.write_error is None:

        def draw_png():
            with atomic_write(path / "summary.png") as tmp:
                plot_summary(table, tmp, title=_title(run.scenario, model, status))

        try:
            attempt("summary.png", draw_png)
        except Exception as exc:  # a figure must not hide the run's own error; it is reported below
            if error is None:
                raise
            notes.append(f"summary.png not drawn: {type(exc).__name__}: {exc}")
    segment = {**seg, "to_step": run.done, "to_min": model.time_min, "wall_s": round(wall_s, 3), "status": status}
    segments = [*run.segments, segment]
    if final:
        run.segments.append(segment)
    manifest = _manifest(run, model, status, error, segments, notes)
    if run.write_error is not None:
        manifest["write_error"] = dict(run.write_error)
        if manifest["error"] is None:
            manifest["status"] = "failed"
            e = run.write_error
            manifest["error"] = {"type": e["type"], "message": f"cannot write {e['file']}: {e['cause']}",
                                 "step": run.done, "time_min": model.time_min}  # fmt: skip
    if not attempt("manifest.json", lambda: write_json(path / "manifest.json", manifest)) and final:
        with contextlib.suppress(OSError):
            spare = _spare(run, "manifest.json")
            manifest["outputs"] = [p for p in manifest["outputs"] if p != "manifest.json"]  # it is not there
            write_json(spare, manifest)
            run.write_error["manifest_at"] = str(spare)
    if run.last_checkpoint:
        files.append(path / CHECKPOINT_FILE)
    return files


def _spare(run, name: str) -> Path:
    """Where a result goes when the run directory cannot take it: the temporary directory."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"neuroagents-{run.scenario.scenario.name}-{os.getpid()}-{name}"


def _manifest(run, model, status, error, segments, notes) -> dict:
    scenario = run.scenario
    snaps = run.snapshots
    return {
        "job": f"neuroagents scenario {scenario.scenario.name!r}",
        "description": scenario.scenario.description,
        "status": status,
        "error": error,
        "command": segments[0].get("command"),
        "created_utc": segments[0]["started_utc"],
        "updated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": list(scenario.files),
        "overrides": list(scenario.overrides),
        "seed": scenario.scenario.seed,
        "backend": model.backend.name,
        "device": model.backend.device,
        "dtype": run.dtype,
        "steps": run.done,
        "steps_planned": run.n_planned,
        "simulated_min": model.time_min,
        "duration_min": scenario.duration_min,
        "wall_s": round(sum(s["wall_s"] for s in segments), 3),
        "step_wall_s": round(sum(s.get("step_wall_s", 0.0) for s in segments), 3),
        "segments": segments,
        "fields": None if snaps is None else snaps.manifest_entry(),
        "checkpoint": {"file": CHECKPOINT_FILE if run.last_checkpoint else None, "every_min": run.checkpoint_every_min,
                       "last": run.last_checkpoint},
        "notes": notes,
        "scenario": scenario.resolved(),
        "model_kwargs": run.model_kwargs,
        "outputs": [p for p in (*OUTPUT_FILES, CHECKPOINT_FILE) if p == "manifest.json" or (run.path / p).exists()],
        "versions": package_versions(gpu=model.backend.is_gpu),
        "code": code_identity(),  # the commit and source that ran (versions.neuroagents is the one installed)
        "citation": citation(),
        "platform": platform.platform(),
    }


def _title(scenario, model, status: str) -> str:
    s = scenario.scenario
    tail = "" if status == "completed" else f" — {status.upper()} at t = {format_minutes(model.time_min)}"
    return (f"{s.name}: {s.species} ({s.sex}), seed {scenario.scenario.seed}, {format_minutes(model.time_min)}, "
            f"{model.backend.name}{tail}")  # fmt: skip
