"""Lockstep batches (:mod:`neuroagents.lockstep`): each run of a batch equals the same run made alone, bit for bit
on NumPy, when the runs differ in seed and in drugs, interventions, injections, sex and cell rates; the batch's
fields are one array per compartment, diffused by one kernel call."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from neuroagents.batch import executors
from neuroagents.batch.executors import RunTask
from neuroagents.errors import ConfigError
from neuroagents.lockstep import Lockstep
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario


def _drug(doc, k):
    doc["drugs"] = [] if k == 0 else [{**doc["drugs"][0], "start_min": 20.0 * k, "dose_mg_per_kg": 5.0 * k}]


def _transfer(doc, k):
    doc["interventions"][1].update(time_min=30.0 * k, n=3 + 4 * k)


def _injection(doc, k):
    doc["injections"][0].update(dose_ug_per_mL=100.0 + 300.0 * k, time_min=10.0 * k)
    nsaid = {"drug": "celecoxib", "route": "oral", "dose_mg_per_kg": 10.0 * k, "n_doses": 1}
    anti_tnf = {"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 10.0}
    doc["drugs"] = [[], [nsaid], [nsaid, anti_tnf]][k]  # the stroma's COX-2 block and free TNF differ by run
    doc["inhibition"] = {"TNFR1": 0.3 * k, "IL1R1": 0.2 * k}  # and the receptors of the stroma and the venules


def _sex_and_rate(doc, k):
    doc["scenario"]["sex"] = ("male", "female", "female")[k]
    doc.setdefault("cells", {}).setdefault("macrophage", {})["speed_um_per_min"] = 1.0 + k
    doc["stroma"] = {"hill": 3.0 - 0.5 * k}  # the stroma's and the swelling's numbers differ: each run's alone
    doc["swelling"] = {"leak_per_min": 0.01 * (1 + k)}


CASES = {
    "arthritis_tofacitinib": _drug,  # no drug, then a dose from 20 min, twice as much from 40 min
    "sni_rag1_transfer": _transfer,  # the transferred T cells: how many, when
    "carrageenan": _injection,  # the dose and time of the injection; an NSAID, an anti-TNF
    "cfa": _sex_and_rate,  # sex, a cell rate, the stroma's Hill coefficient
}


def _tasks(name, vary, hours=2.0, n=3):
    base = load_scenario(name, [f"scenario.duration_min={hours * 60.0}"]).resolved()
    tasks = []
    for k in range(n):  # over runs: each its own seed and its own value of what varies
        doc = copy.deepcopy(base)
        doc["scenario"]["seed"] = 11 + k
        vary(doc, k)
        tasks.append(RunTask(f"r{k}", 0, k, 11 + k, {}, doc, "numpy", "float64", trace=True))
    return tasks


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_run_of_a_lockstep_batch_equals_it_alone(name):
    tasks = _tasks(name, CASES[name])
    together = executors.run_batch(tasks)
    alone = [executors.run_task(t) for t in tasks]
    for a, b in zip(together, alone, strict=True):  # over runs
        assert a.ok and b.ok, (a.error, b.error)
        assert a.info["lockstep"] == 3 and a.info["batch_size"] == 3
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        pd.testing.assert_frame_equal(a.trace, b.trace, check_exact=True)
    # what varies matters: no two runs are the same (so an engine that mixed them up would fail)
    last = [o.table.drop(columns=["run_id", "replicate", "seed"]).iloc[-1] for o in together]
    assert not last[0].equals(last[1]) and not last[1].equals(last[2])


def test_the_batch_diffuses_all_its_fields_in_one_call_per_compartment():
    s = load_scenario("sni")
    models = [NeuroImmuneModel.from_scenario(s, seed=k) for k in (1, 2, 3)]
    batch = Lockstep(models)
    for _ in range(3):  # over steps
        batch.step()
        batch.check_fields()
    for name, (fields, production, consumption) in batch.stacks.items():  # over compartments
        env = models[1].compartments[name].env
        m = len(env.names)
        assert fields.shape == (3, m, *env.grid.shape) and np.shares_memory(env.fields, fields)
        assert np.shares_memory(env._production, production) and np.shares_memory(env._consumption, consumption)
        assert batch._caches[name]._plan.decay_factor.shape == (3 * m,)  # one plan for the 3 runs' fields
    assert [m.steps for m in models] == [3, 3, 3] and models[0].time_min == 3 * models[0].cell_dt_min


def test_a_run_whose_fields_go_bad_leaves_the_batch_and_the_others_go_on():
    s = load_scenario("carrageenan")
    alone = NeuroImmuneModel.from_scenario(s, seed=2)
    models = [NeuroImmuneModel.from_scenario(s, seed=k) for k in (1, 2)]
    batch = Lockstep(models)
    batch.step()
    alone.step()
    models[0].env.fields[0, 3, 3] = -1.0
    batch.check_fields()
    assert list(batch.dropped) == [0] and "has NaN, infinite or negative values" in str(batch.dropped[0])
    assert batch.models == [models[1]] and batch.index == [1]
    for _ in range(5):  # over steps: the run left goes on as it would alone
        batch.step()
        alone.step()
    for name, comp in alone.compartments.items():  # over compartments
        assert np.array_equal(comp.env.fields, models[1].compartments[name].env.fields)


def test_runs_of_different_structures_are_refused():
    small = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=2, n_neurons=2)
    wide = NeuroImmuneModel(seed=1, width_um=300, height_um=200, n_mast_cells=2, n_macrophages=2, n_neurons=2)
    with pytest.raises(ConfigError, match=r"models\[1\] = 'a different structure': must be runs of one structure"):
        Lockstep([small, wide])


@pytest.mark.parametrize("name", ["sni", "carrageenan"])
def test_a_lockstep_step_on_the_device_path_syncs_only_where_declared_and_equals_the_runs_alone(name):
    """The device code path (NumPy's rules on the strict backend, not the fused CPU kernels): the batch's shared
    diffusion, stroma and swelling ask the device nothing outside the declared syncs, and each run equals itself
    alone (carrageenan: the runs differ in their injection, an NSAID and an anti-TNF, as in the CPU case)."""
    from neuroagents.backend import strict_backend
    from neuroagents.host_syncs import DECLARED, KNOWN
    from neuroagents.scenario import Scenario

    backend = strict_backend(mode="record", allow={**DECLARED, **KNOWN})
    docs = [t.scenario for t in _tasks(name, CASES.get(name, lambda doc, k: None), n=3)]

    def build(doc):
        return Scenario.model_validate(doc).build_model(backend=backend)

    models = [build(doc) for doc in docs]
    alone = [build(doc) for doc in docs]
    batch = Lockstep(models)
    backend.xp.syncs.clear()
    for _ in range(6):  # over steps
        batch.step()
        for m in alone:  # over runs
            m.step()
    forbidden = sorted({f"{x.label}: {x.where}: {x.op}" for x in backend.xp.syncs if x.allowed is None})
    assert not forbidden, "host syncs outside the declared points:\n" + "\n".join(forbidden)
    for a, b in zip(alone, models, strict=True):  # over runs
        for comp_name, comp in a.compartments.items():  # over compartments
            other = b.compartments[comp_name]
            assert np.array_equal(backend.to_host(comp.env.fields), backend.to_host(other.env.fields))
            assert np.array_equal(backend.to_host(comp.swelling.fluid), backend.to_host(other.swelling.fluid))
            assert np.array_equal(backend.to_host(comp.stroma.induction), backend.to_host(other.stroma.induction))


@pytest.mark.gpu
def test_a_lockstep_batch_on_a_gpu_equals_its_runs_alone():
    s = load_scenario("carrageenan")
    models = [NeuroImmuneModel.from_scenario(s, backend="cupy", seed=k) for k in (1, 2)]
    alone = NeuroImmuneModel.from_scenario(s, backend="cupy", seed=2)
    batch = Lockstep(models)
    for _ in range(20):  # over steps
        batch.step()
        batch.check_fields()
        alone.step()
    assert not batch.dropped
    for name, comp in alone.compartments.items():  # over compartments: the same kernels, the same numbers
        np.testing.assert_allclose(comp.env.to_host(), models[1].compartments[name].env.to_host(), rtol=1e-12, atol=0)
    assert alone.counts() == models[1].counts()


def test_a_batch_larger_than_memory_allows_runs_in_groups_that_fit(monkeypatch):
    from neuroagents.batch import lockstep_runs

    monkeypatch.setattr(lockstep_runs, "group_size", lambda *args: 2)  # as if memory held two runs at a time
    sizes, init = [], Lockstep.__init__

    def counting_init(self, models):
        sizes.append(len(models))
        init(self, models)

    monkeypatch.setattr(Lockstep, "__init__", counting_init)
    tasks = _tasks("nerve_injury", lambda doc, k: None, hours=0.5)
    together = executors.run_batch(tasks)
    assert sizes == [2, 1] and [o.info["lockstep"] for o in together] == [2, 2, 1]
    for a, task in zip(together, tasks, strict=True):  # over runs
        pd.testing.assert_frame_equal(a.table, executors.run_task(task).table, check_exact=True)


def test_a_model_with_its_own_diffuse_phase_diffuses_run_by_run():
    class Doubled(NeuroImmuneModel):
        def _phase_diffuse(self, dt):  # its own phase: two half steps
            super()._phase_diffuse(dt / 2)
            super()._phase_diffuse(dt / 2)

    kw = {"width_um": 200, "height_um": 200, "n_mast_cells": 3, "n_macrophages": 5, "n_neurons": 2}
    batch = Lockstep([Doubled(seed=s, **kw) for s in (1, 2)])
    alone = Doubled(seed=2, **kw)
    assert batch._together == {"secrete", "pain"}
    for _ in range(4):  # over steps
        batch.step()
        alone.step()
    assert np.array_equal(alone.env.fields, batch.models[1].env.fields)


def _pain_numbers(doc, k):
    """Runs that differ in the nociceptors' numbers (columns of the batch's pain update) and a neuron rate."""
    doc["pain"] = {**(doc.get("pain") or {}), "tau_on_min": 5.0 + 5.0 * k, "cytokine_soma_weight": 0.25 * k,
                   "injured_transduction": 1.0 - 0.3 * k}  # fmt: skip
    doc.setdefault("cells", {}).setdefault("neuron", {})["ectopic_hz"] = 2.0 + k


@pytest.mark.parametrize("kd_differs", [False, True])
def test_runs_that_differ_in_their_pain_numbers_each_equal_themselves_alone(monkeypatch, kd_differs):
    """The pain update is taken together for runs that differ in the nociceptors' numbers (columns); runs whose IL-6
    binding constant differs (the JAK network's, built once per constant) update their pain one by one. Either way
    each run equals itself alone, its pain trace too."""
    from neuroagents import lockstep

    calls, real = [], lockstep.update_pain
    monkeypatch.setattr(lockstep, "update_pain", lambda *a: calls.append(a) or real(*a))

    def vary(doc, k):
        _pain_numbers(doc, k)
        if kd_differs:
            doc["pain"]["il6_kd_nM"] = 0.33 * (1 + k)

    tasks = _tasks("sni", vary, hours=1.0)
    together = executors.run_batch(tasks)
    assert bool(calls) is not kd_differs
    for a, task in zip(together, tasks, strict=True):  # over runs
        b = executors.run_task(task)
        assert a.ok and b.ok, (a.error, b.error)
        pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
        pd.testing.assert_frame_equal(a.trace, b.trace, check_exact=True)
    traces = [o.trace["pain_ongoing_hz"].to_numpy() for o in together]
    assert not np.array_equal(traces[0], traces[2])  # the numbers matter


def test_a_run_whose_dorsal_horn_fails_leaves_the_batch_and_the_others_trace_on_as_alone():
    """The pain update and trace are shared, each run's dorsal horn its own: a run that raises there leaves the batch
    with its error, and the others' pain traces go on equal to their runs alone (the trace's host rows repacked)."""
    s = load_scenario("sni")
    models = [NeuroImmuneModel.from_scenario(s, seed=k) for k in (1, 2, 3)]
    alone = [NeuroImmuneModel.from_scenario(s, seed=k) for k in (1, 3)]
    batch = Lockstep(models)
    for _ in range(3):  # over steps
        batch.step()
    for m in alone:  # over runs
        for _ in range(3):  # over steps
            m.step()

    def broken(*args, **kwargs):
        raise RuntimeError("dorsal horn down")

    models[1].pain.dorsal_horn.update = broken
    for _ in range(4):  # over steps
        batch.step()
        for m in alone:  # over runs
            m.step()
    assert list(batch.dropped) == [1] and "dorsal horn down" in str(batch.dropped[1])
    assert batch.models == [models[0], models[2]]
    for a, b in zip(alone, batch.models, strict=True):  # over runs
        pd.testing.assert_frame_equal(a.pain_trace(), b.pain_trace(), check_exact=True)
        assert a.pain.dorsal_horn.disinhibition == b.pain.dorsal_horn.disinhibition
