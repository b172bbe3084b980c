"""The pain trace: a row of cheap pain signals every cell step, equal to the full readouts where both exist.

The trace (:mod:`neuroagents.pain.trace`) computes the ongoing and standard-filament P and the von Frey
thresholds from a few forces around the last crossing; the readouts compute them from the whole series and a
48-point force grid. At every record the two must agree (same definitions, same arithmetic), whatever the
cadence; between records the trace sees what the records miss.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroagents.checkpoint import load_checkpoint, save_checkpoint
from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.pain import PainModel
from neuroagents.pain import readouts as ro
from neuroagents.pain.trace import FINE_GRID_POINTS, TRACE_COLUMNS, TraceBuffer, trace_signals
from neuroagents.scenario import load_scenario

SAME = ["pain_ongoing_hz", "neuron_mean_firing_hz", "mean_sensitization", "spinal_disinhibition"]  # the same call
CIRCUIT = ["pain_evoked_standard_hz", "withdrawal_threshold_g", "withdrawal_threshold_interp_g"]  # other forces


def make(n_neurons=8, params=None, species="mouse", seed=7, **kw):
    """A small tissue whose fields the test writes (as in ``tests/test_pain_nociceptor.py``)."""
    m = NeuroImmuneModel(seed=seed, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=n_neurons,
                         **kw)  # fmt: skip
    m.pain = PainModel(m, params=params, species=species)
    return m


def hold(m, doses_nM: dict, steps: int) -> None:
    """Set every field to 0 except ``doses_nM`` (uniform) before each of ``steps`` model steps."""
    for _ in range(steps):
        m.env.fields[:] = 0.0
        for name, c in doses_nM.items():
            m.env.fields[m.env.index(name)] = c
        m.step()


def at_records(m) -> pd.DataFrame:
    """The trace's rows at the recorded times, joined with the time series (suffix ``_rec``)."""
    return m.pain_trace().merge(m.timeseries(), on="time_min", suffixes=("", "_rec"))


def assert_trace_matches_records(m, min_rows: int) -> pd.DataFrame:
    joined = at_records(m)
    assert len(joined) >= min_rows
    for col in SAME:
        np.testing.assert_array_equal(joined[col], joined[f"{col}_rec"], err_msg=col)
    for col in CIRCUIT:
        np.testing.assert_allclose(joined[col], joined[f"{col}_rec"], rtol=1e-12, atol=0, err_msg=col)
    return joined


def test_one_row_per_cell_step_with_the_documented_columns():
    m = make(cell_dt_min=2.0, record_every_min=10.0)
    hold(m, {"PGE2": 5.0}, 13)
    trace = m.pain_trace()
    assert list(trace.columns) == list(TRACE_COLUMNS)
    assert len(trace) == m.steps == 13
    assert trace["step"].tolist() == list(range(1, 14)) and trace["step"].dtype == np.int64
    np.testing.assert_allclose(trace["time_min"], 2.0 * np.arange(1, 14))
    assert not trace.isna().any().any()  # cadence 1: every column every step
    assert (trace["mean_sensitization"].diff().iloc[1:] > 0).all()  # PGE2 sensitizes, step after step
    assert trace["withdrawal_threshold_interp_g"].iloc[-1] < trace["withdrawal_threshold_interp_g"].iloc[0]


SMALL = ["tissue.width_um=400", "tissue.height_um=400", "cells.initial.neuron=12"]


@pytest.mark.parametrize("scenario, steps, overrides", [("carrageenan", 40, []), ("nerve_injury", 30, SMALL)])
def test_at_every_record_the_trace_equals_the_recorded_readouts(scenario, steps, overrides):
    s = load_scenario(scenario, [*overrides, "time.record_every_min=6"])
    m = s.build_model(backend="numpy")
    for _ in range(steps):
        m.step()
    joined = assert_trace_matches_records(m, min_rows=5)
    assert joined["withdrawal_threshold_interp_g"].nunique() > 1  # the threshold moved: the window moved with it


def test_the_cadence_leaves_gaps_but_not_other_numbers():
    runs = {}
    for every in (1, 4):
        m = make(params={"trace_threshold_every_steps": every}, record_every_min=5.0)
        hold(m, {"PGE2": 20.0, "NGF": 0.05}, 14)
        runs[every] = m
    dense, sparse = runs[1].pain_trace(), runs[4].pain_trace()
    computed = sparse["withdrawal_threshold_interp_g"].notna()
    assert computed.tolist() == [s % 4 == 0 or s % 5 == 0 for s in sparse["step"]]  # every 4th step and the records
    pd.testing.assert_frame_equal(sparse[computed], dense[computed], check_exact=True)  # the window is only a cost
    pd.testing.assert_series_equal(sparse["pain_evoked_standard_hz"], dense["pain_evoked_standard_hz"], rtol=1e-12)
    assert_trace_matches_records(runs[4], min_rows=2)
    with pytest.raises(ConfigError, match=r"pain\.trace_threshold_every_steps"):
        make(params={"trace_threshold_every_steps": 0})


def test_the_window_gives_the_readouts_thresholds_from_any_starting_guess():
    m = make(n_neurons=6)
    hold(m, {"PGE2": 30.0}, 20)
    pm = m.pain
    idx, ongoing, transduces, _ = pm._host_state(m)
    want = pm.readouts(m)

    def signals(guess):
        return trace_signals(pm.dorsal_horn, pm.params, pm.species, idx, ongoing, transduces, threshold=True,
                             guess=guess)  # fmt: skip

    results = [signals(g) for g in (0, 10, 30, FINE_GRID_POINTS)]
    crossings = {j for _, j in results}
    assert len(crossings) == 1  # whatever the guess
    j = crossings.pop()
    assert 4 < j < FINE_GRID_POINTS - 4  # an interior crossing: guesses near it take the windows, not the grid
    results += [signals(g) for g in (j, j - 1, j + 1, j - 3, j + 3, j + 5)]  # bracket, 8-force window, grid
    for out, _ in results:
        assert out["withdrawal_threshold_g"] == want["withdrawal_threshold_g"]
        assert out["withdrawal_threshold_interp_g"] == pytest.approx(want["withdrawal_threshold_interp_g"], rel=1e-12)
        assert out["pain_evoked_standard_hz"] == pytest.approx(want["pain_evoked_standard_hz"], rel=1e-12)


def full_grid(pm, idx, ongoing, transduces):
    """The readout's thresholds for any neuron state: the whole series and the 48-point grid."""
    p, sp, dh = pm.params, pm.species, pm.dorsal_horn
    fil = np.asarray(sp.filaments_g)
    fine = np.geomspace(fil[0], fil[-1], FINE_GRID_POINTS)
    forces = np.concatenate([fil, fine]) / p.mouse_force_scale_g
    resp = ro.von_frey_responses(dh, *ro.mechanical_afferents(forces, idx, ongoing, transduces, p),
                                 ro.ongoing_state(dh, ongoing, p), p)  # fmt: skip
    return (ro.threshold_from_responses(fil, resp[: fil.size], p.criterion_hz)[0],
            ro.threshold_from_responses(fine, resp[fil.size :], p.criterion_hz)[1])  # fmt: skip


@pytest.mark.parametrize("gain, ongoing_x, expect_g", [(0.0, 1.0, 2.0), (1.0, 1.0, None), (1.0, 300.0, 0.008)])
def test_at_the_ends_of_the_force_grid_too(gain, ongoing_x, expect_g):
    """No evoked C input (the cut-off), a naive one, a 300-fold ongoing one (the lightest filament): any guess."""
    m = make(n_neurons=4)
    pm = m.pain
    idx, ongoing, transduces, _ = pm._host_state(m)
    idx, ongoing = {**idx, "gain": idx["gain"] * gain}, ongoing * ongoing_x
    want = full_grid(pm, idx, ongoing, transduces)
    if expect_g is not None:
        assert want == (expect_g, expect_g)
    for guess in (0, 1, 24, FINE_GRID_POINTS - 1, FINE_GRID_POINTS):
        out, _ = trace_signals(pm.dorsal_horn, pm.params, pm.species, idx, ongoing, transduces, threshold=True,
                               guess=guess)  # fmt: skip
        assert out["withdrawal_threshold_g"] == want[0]
        assert out["withdrawal_threshold_interp_g"] == pytest.approx(want[1], rel=1e-12)


def test_the_same_seed_gives_the_same_trace_and_another_seed_another():
    def run(seed):
        s = load_scenario("nerve_injury", ["tissue.width_um=300", "tissue.height_um=300", "cells.initial.neuron=8"])
        m = s.build_model(backend="numpy", seed=seed)
        for _ in range(12):
            m.step()
        return m.pain_trace()

    a, b, c = run(3), run(3), run(4)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a.equals(c)


def test_the_trace_resolves_a_pulse_that_falls_between_two_records():
    """A 10-min PGE2 pulse (20-30 min) between records at 0 and 60 min: the trace sees its peak, the records only
    the tail (carrageenan-like: PGE2 sensitizes within minutes and wears off over an hour)."""
    m = make(record_every_min=60.0)
    hold(m, {}, 20)
    hold(m, {"PGE2": 100.0}, 10)
    hold(m, {}, 90)
    trace, records = m.pain_trace(), m.timeseries()
    assert records["time_min"].tolist() == [0.0, 60.0, 120.0]
    lowest = trace.loc[trace["withdrawal_threshold_interp_g"].idxmin()]
    assert 20.0 < lowest["time_min"] <= 40.0  # the trough follows the pulse, between the records
    assert lowest["withdrawal_threshold_interp_g"] < 0.85 * records["withdrawal_threshold_interp_g"].min()
    assert trace["pain_evoked_standard_hz"].max() > 1.5 * records["pain_evoked_standard_hz"].max()
    assert trace["withdrawal_threshold_interp_g"].iloc[-1] > lowest["withdrawal_threshold_interp_g"]  # it resolves
    assert_trace_matches_records(m, min_rows=2)


def test_a_checkpoint_keeps_the_trace_and_resumes_it_identically(tmp_path):
    s = load_scenario("nerve_injury", ["tissue.width_um=300", "tissue.height_um=300", "cells.initial.neuron=8"])
    m = s.build_model(backend="numpy", seed=2)
    for _ in range(7):
        m.step()
    m2, _, _ = load_checkpoint(save_checkpoint(tmp_path / "c.pkl", m, {}))
    pd.testing.assert_frame_equal(m2.pain_trace(), m.pain_trace(), check_exact=True)
    for _ in range(9):
        m.step()
        m2.step()
    pd.testing.assert_frame_equal(m2.pain_trace(), m.pain_trace(), check_exact=True)
    assert len(m2.pain_trace()) == 16


def test_the_buffer_grows_by_doubling_and_pickles_only_its_rows():
    buf = TraceBuffer(("a", "b"), capacity=4)
    sizes = set()
    for k in range(1000):
        buf.append((k, -k))
        sizes.add(buf._data.shape[0])
    assert sizes == {4 * 2**i for i in range(9)}  # 4 .. 1024: amortized growth
    np.testing.assert_array_equal(buf.array()[:, 0], np.arange(1000))
    assert buf.__getstate__()["_data"].shape == (1000, 2)


def test_a_model_without_neurons_traces_a_naive_neuron():
    m = make(n_neurons=0)
    m.step()
    m.step()
    trace = m.pain_trace()
    want = m.pain.readouts(m)
    assert len(trace) == 2
    for col in (*SAME, *CIRCUIT):
        assert trace[col].iloc[-1] == pytest.approx(want[col], rel=1e-12), col


def test_the_ongoing_state_is_the_readouts_call():
    m = make(n_neurons=5)
    hold(m, {"NGF": 1.0}, 3)
    pm = m.pain
    _, ongoing, _, _ = pm._host_state(m)
    assert m.pain_trace()["pain_ongoing_hz"].iloc[-1] == float(ro.ongoing_state(pm.dorsal_horn, ongoing, pm.params)
                                                                ["P"][0])  # fmt: skip


def test_on_a_device_the_trace_syncs_nowhere_new_and_is_numpys():
    """The strict backend (:mod:`neuroagents.strict_xp`) raises at any host sync outside the declared points, as
    a GPU would cost one: the trace adds none, and gives NumPy's numbers."""
    from neuroagents.backend import strict_backend
    from neuroagents.host_syncs import DECLARED, KNOWN

    sc = load_scenario("nerve_injury", [*SMALL, "tissue.crowding_limit=1000"])  # crowding draws other numbers off
    ref = NeuroImmuneModel.from_scenario(sc, backend="numpy", seed=3)  # NumPy (tests/test_motility.py): never here
    strict = NeuroImmuneModel.from_scenario(sc, backend=strict_backend(mode="record", allow={**DECLARED, **KNOWN}),
                                            seed=3)  # fmt: skip
    built = len(strict.backend.xp.syncs)  # building records once, outside a step
    for _ in range(6):
        ref.step()
        strict.step()
    steps = strict.backend.xp.syncs[built:]
    assert not [f"{s.where}: {s.op}" for s in steps if s.allowed is None]
    assert any("_copy_for_trace" in s.where for s in steps)  # the one copy the pain update makes, declared
    assert strict.backend.name == "strict" and len(strict.pain_trace()) == 6
    pd.testing.assert_frame_equal(strict.pain_trace(), ref.pain_trace(), check_exact=True)


def test_a_pain_seam_without_the_circuit_leaves_the_trace_empty():
    from neuroagents.cells.neuron import IntrinsicActivity

    m = make(n_neurons=3)
    m.pain = IntrinsicActivity()
    m.step()
    assert m.steps == 1 and len(m.pain_trace()) == 0 and list(m.pain_trace().columns) == list(TRACE_COLUMNS)


def _states(n_runs=4, steps=(6, 12, 20, 30)):
    """Runs of one small tissue held in different PGE2 levels for different times: their dorsal horns and host state
    (neurons' indices, ongoing firing, transduction), as a lockstep batch's trace reads them."""
    runs = []
    for k in range(n_runs):  # over runs
        m = make(n_neurons=6, seed=3 + k, params={"astro_potentiation": 0.5})  # (off by default)
        hold(m, {"PGE2": 5.0 * (k + 1), "IL1B": 0.2 * k}, steps[k])
        dh = m.pain.dorsal_horn  # each run's slow spinal state its own: NMDA ceiling, disinhibition, potentiation
        dh.nmda_gain, dh.disinhibition, dh.astrocytes = 1.0 + 0.3 * k, 0.1 * k, 0.2 * k
        dh._potentiate()
        idx, ongoing, transduces, _ = m.pain._host_state(m)
        runs.append((m.pain, idx, ongoing, transduces))
    return runs


def test_the_trace_of_several_runs_at_once_is_each_runs_own():
    """:func:`trace_signals_together` (a lockstep batch's trace) gives each run what :func:`trace_signals` gives it:
    the same floats, on threshold steps and others, from guesses at, near and far from each crossing (the far ones
    take the reference's wider windows)."""
    from neuroagents.pain.trace_batch import trace_key, trace_signals_together

    runs = _states()
    assert len({trace_key(pm) for pm, *_ in runs}) == 1
    assert len({pm.dorsal_horn.potentiation for pm, *_ in runs}) > 1  # the runs' circuits differ
    stack = {key: np.stack([idx[key] for _, idx, _, _ in runs]) for key in ("s_mech", "threshold_factor", "gain")}
    ongoing = np.stack([o for _, _, o, _ in runs])
    transduces = np.stack([t for _, _, _, t in runs])
    crossings = [trace_signals(pm.dorsal_horn, pm.params, pm.species, idx, o, t, threshold=True)[1]
                 for pm, idx, o, t in runs]  # fmt: skip
    assert len(set(crossings)) > 1
    for thresholds, shift in (([True] * 4, 0), ([False, True, False, True], 1), ([True] * 4, 9), ([False] * 4, 0)):
        guesses = [max(j + shift * (-1) ** k, 0) for k, j in enumerate(crossings)]
        pm0 = runs[0][0]
        together = trace_signals_together([pm.dorsal_horn for pm, *_ in runs], pm0.params, pm0.species, stack, ongoing,
                                          transduces, thresholds, guesses)  # fmt: skip
        for (pm, idx, o, t), threshold, guess, got in zip(runs, thresholds, guesses, together, strict=True):
            want = trace_signals(pm.dorsal_horn, pm.params, pm.species, idx, o, t, threshold=threshold, guess=guess)
            assert got[1] == want[1]
            for key, value in want[0].items():  # the same floats, NaN where the reference has NaN
                assert got[0][key] == value or (np.isnan(value) and np.isnan(got[0][key])), key


def test_the_trace_reads_no_parameter_outside_trace_fields():
    """Every :class:`PainParams` field outside ``TRACE_FIELDS`` (and the force scales) leaves the trace's signals as
    they are when changed in the parameters it is given (the circuit's come from the dorsal horn, compared apart by
    ``trace_key``); each field inside changes them: runs that share ``TRACE_FIELDS`` share their trace's numbers."""
    import copy
    import dataclasses

    from neuroagents.pain.trace_batch import TRACE_FIELDS

    pm, idx, ongoing, transduces = _states(n_runs=1, steps=(20,))[0]

    def signals(p):
        return trace_signals(pm.dorsal_horn, p, pm.species, idx, ongoing, transduces, threshold=True, guess=0)[0]

    base = signals(pm.params)
    for field in dataclasses.fields(pm.params):  # over the parameters (~100)
        value = getattr(pm.params, field.name)
        if field.name.endswith("_force_scale_g") or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        p = copy.copy(pm.params)
        object.__setattr__(p, field.name, type(value)(value * 1.5 + 1))  # no validation: any number will do
        changed = signals(p) != base
        assert changed is (field.name in TRACE_FIELDS), field.name
