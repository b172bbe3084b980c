"""The step loop drives its observers: each sees every step in order, and a stop request ends the loop between
two steps with the state whole."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from neuroagents.cell_snapshots import CellSnapshots
from neuroagents.errors import NumericalError
from neuroagents.model import NeuroImmuneModel
from neuroagents.recording import SnapshotSchedule
from neuroagents.scenario.observers import FinalRecord, step_through


class Log:
    def __init__(self, stop=None, at=None):
        self.calls, self.stop, self.at = [], stop, at

    def start(self, model):
        self.calls.append(("start", model.time_min))

    def after_step(self, model):
        self.calls.append(("after_step", model.time_min))
        if self.stop is not None and model.steps == self.at:
            self.stop.requested = "SIGTERM"

    def finish(self, model, outcome):
        self.calls.append(("finish", outcome))


def _model():
    return NeuroImmuneModel(seed=2, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=4, n_neurons=2,
                            record_every_min=10.0)  # fmt: skip


def test_observers_see_every_step_in_order():
    m, run = _model(), SimpleNamespace(done=0, n_planned=4, error_step=None)
    a, b = Log(), Log()
    assert step_through(m, run, [a, b], SimpleNamespace(requested=None)) == "completed"
    assert a.calls == b.calls == [("start", 0.0)] + [("after_step", float(t)) for t in (1, 2, 3, 4)]
    assert run.done == 4 and run.error_step == 4 and m.steps == 4


def test_a_stop_request_ends_the_loop_between_steps():
    m, run, stop = _model(), SimpleNamespace(done=0, n_planned=10, error_step=None), SimpleNamespace(requested=None)
    log = Log(stop, at=3)
    assert step_through(m, run, [log], stop) == "interrupted"
    assert run.done == 3 and log.calls[-1] == ("after_step", 3.0)


def test_a_bad_field_stops_the_loop_before_the_observers_see_the_step():
    m, run = _model(), SimpleNamespace(done=0, n_planned=5, error_step=None)
    log = Log()
    m.step()
    m.env.fields[0, 0, 0] = np.nan  # what a broken kernel would leave
    run.done = 1
    with pytest.raises(NumericalError):
        step_through(m, run, [log], SimpleNamespace(requested=None))
    assert run.error_step == 2 and log.calls == [("start", 1.0)]


def test_final_record_and_cell_snapshots_act_only_on_a_whole_state():
    m = _model()
    cells = CellSnapshots(SnapshotSchedule(100.0))
    run = SimpleNamespace(done=0, n_planned=3, error_step=None)
    step_through(m, run, [FinalRecord(), cells], SimpleNamespace(requested=None))
    for o in (FinalRecord(), cells):  # over observers
        o.finish(m, "failed")
    assert m.timeseries()["time_min"].tolist() == [0.0] and len(cells.frames) == 1  # nothing from a failed end
    for o in (FinalRecord(), cells):
        o.finish(m, "completed")
    assert m.timeseries()["time_min"].tolist() == [0.0, 3.0] and sorted(set(cells.table()["time_min"])) == [0.0, 3.0]
