"""The model's one schedule of events (sorted by time, taken when due, applied in a fixed order within a step), and
the model built from a resolved scenario."""

from __future__ import annotations

import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario
from neuroagents.schedule import EPS_MIN, ORDER, Event, Schedule


def test_events_are_taken_when_due_in_a_fixed_order():
    s = Schedule([Event(7.0, "injection", "i"), Event(3.0, "transfer", "t"), Event(3.0, "depletion", "d1"),
                  Event(5.0, "depletion", "d2"), Event(20.0, "knockout", "k")])  # fmt: skip
    assert [e.item for e in s.pending] == ["t", "d1", "d2", "i", "k"]  # by time, equal times as given
    assert s.pop_due(2.0) == []
    assert [e.item for e in s.pop_due(8.0)] == ["d1", "d2", "t", "i"]  # ORDER first, then time
    assert [e.item for e in s.pending] == ["k"] and s.done_items("depletion") == ["d1", "d2"]
    s.add(Event(9.0, "hold", "h"))
    assert [e.item for e in s.pending] == ["h", "k"]
    assert [e.item for e in s.pop_due(20.0 - EPS_MIN / 2)] == ["k", "h"]  # float sums of steps: a hair early
    with pytest.raises(ConfigError, match="one of"):
        Event(1.0, "dose", None)
    assert ORDER.index("injury") < ORDER.index("depletion") < ORDER.index("transfer")


def test_a_strict_event_waits_for_its_exact_time():
    e = Event(5.0, "injury", 0.5, strict=True)
    assert not e.due(5.0 - EPS_MIN / 2) and e.due(5.0)
    assert Event(5.0, "depletion", None).due(5.0 - EPS_MIN / 2)


def test_the_model_consumes_its_schedule():
    m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=6, n_neurons=4,
                         injured_fraction=1.0, injury_time_min=2.0,
                         interventions=[{"kind": "deplete", "cell_type": "macrophage", "fraction": 1.0,
                                         "time_min": 3.0}],
                         injections=[{"mediator": "TNF", "compartment": "tissue", "dose_nM": 1.0, "time_min": 4.0}])
    assert [(e.what, e.time_min) for e in m.schedule.pending] == [("injury", 2.0), ("depletion", 3.0),
                                                                  ("injection", 4.0)]  # fmt: skip
    for _ in range(3):  # t = 0, 1, 2: the injury's step
        m.step()
    assert m.injured and int((m.neurons.pop["state"] == 1).sum()) == 4 and len(m.schedule) == 2
    m.step()  # t = 3
    assert m.cell_types["macrophage"].n == 0 and m.given_injections == []
    m.step()  # t = 4
    assert len(m.schedule) == 0 and len(m.given_injections) == 1
    assert [e.what for e in m.schedule.done] == ["injury", "depletion", "injection"]


def test_a_scenario_s_interventions_become_events():
    m = load_scenario("sni_rag1_transfer").build_model()
    kinds = [e.what for e in m.schedule.pending]
    assert "transfer" in kinds and "injury" in kinds
    assert [e.time_min for e in m.schedule.pending] == sorted(e.time_min for e in m.schedule.pending)


def test_a_model_builds_from_a_resolved_scenario():
    s = load_scenario("nerve_injury", overrides=["tissue.width_um=200", "tissue.height_um=200"])
    a, b = NeuroImmuneModel.from_scenario(s, seed=5), NeuroImmuneModel(**s.model_kwargs(seed=5))
    for m in (a, b):
        for _ in range(3):  # over steps
            m.step()
    assert a.timeseries().equals(b.timeseries()) and a.injury_time_min == s.injury.time_min
