"""Run a scenario to its duration and write what it computed.

:func:`run_scenario` builds the model from a validated
:class:`~neuroagents.scenario.schema.Scenario`, steps it to the scenario's
duration with a progress line (simulated time, rate, ETA) on a stream, and
writes into the output directory:

``timeseries.parquet``
    :meth:`NeuroImmuneModel.timeseries`: one row per recorded time.
``manifest.json``
    The resolved scenario, the files it came from and the overrides, the seed,
    the backend and device that ran, package versions, wall time, and the
    status (``completed``, ``failed`` with the error, or ``interrupted``).
``summary.png``
    Pain readouts and cell counts over time (:mod:`~neuroagents.scenario.summary`).

A run that fails part-way still writes the time series so far and a manifest
naming the error, then raises :class:`ScenarioRunError`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO

import neuroagents
from neuroagents.demo import check_out_dir
from neuroagents.errors import NeuroagentsError
from neuroagents.scenario.schema import Scenario

__all__ = ["OUTPUT_FILES", "Progress", "RunResult", "ScenarioRunError", "run_scenario"]

OUTPUT_FILES = ("timeseries.parquet", "manifest.json", "summary.png")
_PACKAGES = ("numpy", "scipy", "numba", "pandas", "pyarrow", "mesa", "pydantic", "matplotlib")


class ScenarioRunError(NeuroagentsError, RuntimeError):
    """A scenario run stopped before its end; what it computed so far was written."""


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_scenario` did.

    Attributes
    ----------
    out_dir : Path
    files : tuple of Path
        The files written.
    backend, device : str
        The array backend that ran and its device.
    steps : int
    simulated_min : float
    wall_s : float
        Whole run, s (building, stepping, writing).
    table : pandas.DataFrame
        The time series.
    """

    out_dir: Path
    files: tuple[Path, ...]
    backend: str
    device: str
    steps: int
    simulated_min: float
    wall_s: float
    table: object


def format_minutes(minutes: float) -> str:
    """``90 min``, ``5 h``, ``7 d``: a simulated time for people.

    Examples
    --------
    >>> format_minutes(30), format_minutes(600), format_minutes(10080)
    ('30 min', '10 h', '7 d')
    """
    if minutes < 120:
        return f"{minutes:.3g} min"
    if minutes < 2880:
        return f"{minutes / 60:.3g} h"
    return f"{minutes / 1440:.3g} d"


def _format_wall(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    """A progress line: simulated time, rate and ETA, redrawn in place on a terminal.

    Parameters
    ----------
    stream : text stream or None
        Where to write (None: nowhere).
    total_min : float
        Simulated time at the end, min.
    label : str
    every_s : float, optional
        Least wall time between two lines (default 0.5 s on a terminal, 10 s otherwise).
    """

    def __init__(self, stream: TextIO | None, total_min: float, label: str, every_s: float | None = None):
        self.stream = stream
        self.total_min = total_min
        self.label = label
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.every_s = every_s if every_s is not None else (0.5 if self.tty else 10.0)
        self.t0 = time.perf_counter()
        self.last = self.t0  # the first line after every_s: a short run prints only its last line
        self.width = 0

    def line(self, t_min: float) -> str:
        """The text of the line at simulated time ``t_min``."""
        wall = time.perf_counter() - self.t0
        rate = t_min / wall if wall > 0 else math.inf
        eta = (self.total_min - t_min) / rate if rate > 0 else math.inf
        pct = 100.0 * t_min / self.total_min if self.total_min > 0 else 100.0
        return (f"{self.label}: t = {format_minutes(t_min)} of {format_minutes(self.total_min)} ({pct:.0f}%), "
                f"{rate:.3g} simulated min per s, ETA {_format_wall(max(eta, 0.0))}")  # fmt: skip

    def update(self, t_min: float, *, force: bool = False) -> None:
        """Write the line if ``every_s`` has passed since the last one (or ``force``)."""
        now = time.perf_counter()
        if self.stream is None or (not force and now - self.last < self.every_s):
            return
        self.last = now
        text = self.line(t_min)
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, t_min: float) -> None:
        """Write the final line."""
        self.update(t_min, force=True)
        if self.tty and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _jsonable(obj):
    """Plain JSON data from kwargs that may hold Mediator dataclasses, tuples and NumPy scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _manifest(scenario: Scenario, model, kwargs, status, error, done, n_planned, wall_s, step_wall_s, command) -> dict:
    return {
        "job": f"neuroagents scenario {scenario.scenario.name!r}",
        "description": scenario.scenario.description,
        "status": status,
        "error": error,
        "command": command,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": list(scenario.files),
        "overrides": list(scenario.overrides),
        "seed": kwargs["seed"],
        "backend": model.backend.name,
        "device": model.backend.device,
        "dtype": kwargs["dtype"],
        "steps": done,
        "steps_planned": n_planned,
        "simulated_min": model.time_min,
        "duration_min": scenario.duration_min,
        "wall_s": round(wall_s, 3),
        "step_wall_s": round(step_wall_s, 3),
        "notes": ["scenario.sex is recorded here; the model has no sex parameter yet"],
        "scenario": scenario.resolved(),
        "model_kwargs": _jsonable(kwargs),
        "outputs": list(OUTPUT_FILES),
        "versions": {
            "neuroagents": neuroagents.__version__,
            "python": platform.python_version(),
            **{p: _version(p) for p in _PACKAGES},
            "cupy": (_version("cupy-cuda12x") or _version("cupy")) if model.backend.is_gpu else None,
        },
        "platform": platform.platform(),
    }


def run_scenario(
    scenario: Scenario,
    out_dir,
    *,
    backend: str = "auto",
    dtype: str = "float64",
    force: bool = False,
    command: list[str] | None = None,
    progress: TextIO | bool = True,
) -> RunResult:
    """Run ``scenario`` to its duration and write :data:`OUTPUT_FILES` into ``out_dir``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`~neuroagents.scenario.loader.load_scenario`.
    out_dir : str or Path
        Created if missing; must be empty unless ``force``.
    backend : {"auto", "numpy", "cupy"}
    dtype : {"float64", "float32"}
        Precision of the mediator fields.
    force : bool
        Write over the outputs of an earlier run.
    command : list of str, optional
        The command line, kept in the manifest.
    progress : text stream or bool
        Where the progress line goes: True for ``sys.stderr`` (the default), False for nowhere.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Before anything is written, when the output directory or the model's arguments are refused.
    ScenarioRunError
        When a step fails; the time series so far and a manifest with the error are written first.
    KeyboardInterrupt
        Likewise after writing, when interrupted.
    """
    from neuroagents.scenario.summary import plot_summary

    path = check_out_dir(out_dir, force=force)
    t0 = time.perf_counter()
    kwargs = scenario.model_kwargs(backend=backend, dtype=dtype)
    model = scenario.build_model(backend=backend, dtype=dtype)
    dt = model.cell_dt_min
    n_planned = max(1, math.ceil(scenario.duration_min / dt - 1e-9))
    stream = sys.stderr if progress is True else (progress or None)
    bar = Progress(stream, n_planned * dt, scenario.scenario.name)
    status, error, caught, done = "completed", None, None, 0
    t1 = time.perf_counter()
    try:
        for _ in range(n_planned):  # over cell steps
            model.step()
            done += 1
            bar.update(model.time_min)
    except KeyboardInterrupt as exc:
        status, caught = "interrupted", exc
    except Exception as exc:  # any failure: record it, write what was computed, then report it
        status, caught = "failed", exc
    if caught is not None:
        message = "interrupted" if isinstance(caught, KeyboardInterrupt) else str(caught)
        error = {"type": type(caught).__name__, "message": message, "step": done + 1, "time_min": model.time_min}
    if caught is None:
        model.record()  # the final state, whatever the recording schedule (not a half-done step's)
    t2 = time.perf_counter()
    bar.close(model.time_min)

    path.mkdir(parents=True, exist_ok=True)
    table = model.timeseries()
    table.to_parquet(path / "timeseries.parquet", index=False)
    files = [path / "timeseries.parquet"]
    plot_error = None
    try:
        plot_summary(table, path / "summary.png", title=_title(scenario, model, status))
        files.append(path / "summary.png")
    except Exception as exc:  # a figure must not hide the run's own error; it is reported below
        if caught is None:
            raise
        plot_error = f"{type(exc).__name__}: {exc}"
    wall_s = time.perf_counter() - t0
    manifest = _manifest(scenario, model, kwargs, status, error, done, n_planned, wall_s, t2 - t1, command)
    if plot_error:
        manifest["notes"].append(f"summary.png not drawn: {plot_error}")
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    files.append(path / "manifest.json")

    if isinstance(caught, KeyboardInterrupt):
        raise caught
    if caught is not None:
        raise ScenarioRunError(
            f"scenario {scenario.scenario.name!r} failed in step {done + 1} of {n_planned} (from t = "
            f"{model.time_min:g} min): {type(caught).__name__}: {caught}; the time series so far and a manifest "
            f"naming the error are in {path}"
        ) from caught
    return RunResult(path, tuple(files), model.backend.name, model.backend.device, done, model.time_min, wall_s,
                     table)  # fmt: skip


def _title(scenario: Scenario, model, status: str) -> str:
    s = scenario.scenario
    tail = "" if status == "completed" else f" — {status.upper()} at t = {format_minutes(model.time_min)}"
    return (f"{s.name}: {s.species} ({s.sex}), seed {scenario.scenario.seed}, {format_minutes(model.time_min)}, "
            f"{model.backend.name}{tail}")  # fmt: skip
