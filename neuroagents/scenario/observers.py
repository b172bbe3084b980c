"""What watches a scenario run step by step: the observers its step loop drives.

The runner's loop (:func:`step_through`) steps the model and, after each step, calls every observer in turn; it
knows nothing of what they do. An observer has three methods:

``start(model)``
    Before the first step of a segment (a new run at t = 0, or a resumed one at its checkpoint).
``after_step(model)``
    After each step (its fields already checked).
``finish(model, outcome)``
    Once, after the last step: ``outcome`` is ``"completed"``, ``"interrupted"`` (stopped by a signal between
    two steps: the state is whole) or ``"failed"`` (an error or Ctrl-C in the middle of a step: it is not).

The runner's observers, in the order it calls them: :class:`FinalRecord` (the model's last time-series row),
:class:`FieldsObserver` (``fields.zarr``), :class:`~neuroagents.cell_snapshots.CellSnapshots` (``cells.parquet``),
:class:`Checkpoints` (``checkpoint.pkl`` and the outputs so far) and :class:`ProgressObserver` (the progress line).
"""

from __future__ import annotations

import time
from typing import Protocol

from neuroagents.checkpoint import CHECKPOINT_FILE, save_checkpoint
from neuroagents.outputs import OutputError
from neuroagents.recording import check_fields
from neuroagents.scenario.run_files import write_outputs

__all__ = ["Checkpoints", "FieldsObserver", "FinalRecord", "Observer", "ProgressObserver", "step_through"]


class Observer(Protocol):
    """Something the step loop calls (see the module docstring)."""

    def start(self, model) -> None: ...

    def after_step(self, model) -> None: ...

    def finish(self, model, outcome: str) -> None: ...


def step_through(model, run, observers, stop) -> str:
    """Step ``model`` from ``run.done`` to ``run.n_planned``, calling ``observers`` after each step.

    Returns ``"interrupted"`` when it stopped early, with the state whole, because ``stop.requested`` (a signal),
    else ``"completed"``. ``run.error_step`` says which step an exception belongs to (the one being taken, or the
    one just done when its fields or an observer fail; None before the first).
    """
    for o in observers:  # over observers (a handful)
        o.start(model)
    while run.done < run.n_planned:  # over cell steps
        run.error_step = run.done + 1
        model.step()
        run.done += 1
        run.error_step = run.done  # a bad field or a failed write belongs to the step just done
        check_fields(model)
        for o in observers:  # over observers
            o.after_step(model)
        if stop.requested and run.done < run.n_planned:
            return "interrupted"
    return "completed"


class FinalRecord:
    """The model's last time-series row at the end, whatever the recording schedule (not a half-done step's)."""

    def start(self, model) -> None:
        pass

    def after_step(self, model) -> None:
        pass  # the model records on its own schedule, in its record phase

    def finish(self, model, outcome: str) -> None:
        if outcome != "failed":
            model.record()


class FieldsObserver:
    """Field snapshots (``fields.zarr``) on the run's schedule, and the final state of a completed run."""

    def __init__(self, run):
        self.run = run

    @property
    def path(self):
        """The store, ``fields.zarr``."""
        return self.run.snapshots.path

    def start(self, model) -> None:
        self._take(model)

    def after_step(self, model) -> None:
        self._take(model)

    def finish(self, model, outcome: str) -> None:
        if outcome == "completed" and self.run.snapshots.schedule.last_min != model.time_min:
            self._take(model, force=True)

    def _take(self, model, *, force: bool = False) -> None:
        """Take a due (or, with ``force``, an unscheduled) snapshot; a failed write names the store."""
        snaps = self.run.snapshots
        try:
            if force:
                snaps.write(model)
            else:
                snaps.maybe_write(model)
        except OSError as exc:
            if not getattr(exc, "filename", None):  # zarr's errors name no file
                exc.filename = str(snaps.path)
            raise


class Checkpoints:
    """``checkpoint.pkl`` every ``run.checkpoint_every_min`` (and on demand), with the outputs so far.

    Parameters
    ----------
    run : the runner's run record
    segment : dict
        This segment's manifest entry so far (start time, command, host, ...).
    t0 : float
        ``time.perf_counter()`` when this process began the run.
    """

    def __init__(self, run, segment: dict, t0: float):
        self.run, self.segment, self.t0 = run, segment, t0

    def start(self, model) -> None:
        pass

    def after_step(self, model) -> None:
        run = self.run
        if model.time_min + 1e-9 >= run.next_checkpoint_min and run.done < run.n_planned:
            while run.next_checkpoint_min <= model.time_min + 1e-9:
                run.next_checkpoint_min += run.checkpoint_every_min
            self.checkpoint(model)
            write_outputs(run, model, "running", None, self.segment, time.perf_counter() - self.t0, draw=False)
            if run.write_error is not None:  # a full or read-only disk: stop while the checkpoint is whole
                raise OutputError(f"cannot write {run.write_error['file']}: {run.write_error['cause']}")

    def finish(self, model, outcome: str) -> None:
        pass

    def checkpoint(self, model) -> None:
        """Save the model and the run; the segment so far goes with it, so a resumed run's manifest lists it."""
        run = self.run
        state = run.state()
        done = {**self.segment, "to_step": run.done, "to_min": model.time_min,
                "wall_s": round(time.perf_counter() - self.t0, 3), "status": "checkpointed"}  # fmt: skip
        state["segments"] = [*run.segments, done]
        save_checkpoint(run.path / CHECKPOINT_FILE, model, state)
        run.last_checkpoint = {"time_min": model.time_min, "steps": run.done,
                               "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip


class ProgressObserver:
    """The progress line (:class:`~neuroagents.progress.Progress`): simulated time, rate, ETA."""

    def __init__(self, bar):
        self.bar = bar

    def start(self, model) -> None:
        pass

    def after_step(self, model) -> None:
        self.bar.update(model.time_min)

    def finish(self, model, outcome: str) -> None:
        self.bar.close(model.time_min)
