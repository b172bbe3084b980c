"""Conditional and inducible knockouts, held and repeated depletions, adoptive transfer: each acts where and
when it says, on what it names, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel

TC = {"t_cell": {"death_per_min": 0.0, "infiltration_per_min": 0.02}}  # no turnover; quick infiltration


def _tissues(interventions=(), cell_params=None, **kw):
    comps = [{"name": "paw", "kind": "periphery", "width_um": 300.0, "height_um": 300.0,
              "cells": {"macrophage": 30}},
             {"name": "drg", "kind": "drg", "width_um": 300.0, "height_um": 300.0,
              "cells": {"macrophage": 30, "neuron": 10, "t_cell": 8}},
             {"name": "dh", "kind": "dorsal_horn", "width_um": 300.0, "height_um": 300.0,
              "cells": {"microglia": 20, "t_cell": 5}}]  # fmt: skip
    return NeuroImmuneModel(seed=4, compartments=comps, injured_fraction=1.0, interventions=list(interventions),
                            cell_params=cell_params, vessel_spacing_um=150.0, **kw)  # fmt: skip


def _n(m, comp, kind):
    return m.compartments[comp].cell_types[kind].n


def _attract(m, kind="t_cell", mediator="CCL2"):
    """Prime T cells and fill every compartment with chemokine, so recruitment happens this step."""
    for comp in m.compartments.values():
        comp.cell_types["t_cell"].priming = 1.0
        comp.env.fields[comp.env.index(mediator)] = 1.0


# --- conditional and inducible knockouts -------------------------------------------------------------------------
def test_a_cell_type_knocked_out_in_one_compartment_is_absent_there_only():
    m = _tissues([{"kind": "knockout", "cell_type": "t_cell", "compartment": "drg"}], TC)
    assert _n(m, "drg", "t_cell") == 0 and _n(m, "dh", "t_cell") == 5
    for _ in range(20):
        _attract(m)
        m.step()
    assert _n(m, "drg", "t_cell") == 0  # never recruited into the DRG
    assert _n(m, "dh", "t_cell") > 5  # recruited in the dorsal horn
    assert "t_cell" not in m.knockouts.cell_types


def test_an_inducible_knockout_removes_the_cells_at_its_time_and_none_come_after():
    m = _tissues([{"kind": "knockout", "cell_type": "t_cell", "from_min": 10.0}], TC)
    for _ in range(10):  # t = 0 .. 9: still there, recruited
        _attract(m)
        m.step()
    assert _n(m, "drg", "t_cell") > 8 and _n(m, "dh", "t_cell") > 5
    m.step()  # t = 10: the knockout starts in this step's dose phase
    assert _n(m, "drg", "t_cell") == 0 and _n(m, "dh", "t_cell") == 0
    for _ in range(10):
        _attract(m)
        m.step()
    assert _n(m, "drg", "t_cell") == 0 and _n(m, "dh", "t_cell") == 0


def test_inducible_and_conditional_together():
    m = _tissues([{"kind": "knockout", "cell_type": "t_cell", "compartment": "dh", "from_min": 3.0}], TC)
    for _ in range(3):
        m.step()
    assert _n(m, "dh", "t_cell") == 5
    m.step()
    assert _n(m, "dh", "t_cell") == 0 and _n(m, "drg", "t_cell") == 8


def test_a_mediator_knocked_out_in_the_drg_is_released_by_no_drg_cell():
    m = _tissues([{"kind": "knockout", "mediator": "CCL2", "compartment": "drg"}])
    for _ in range(20):
        m.step()
    drg = m.compartments["drg"].env
    assert float(drg.field("CCL2").max()) == 0.0  # injured DRG neurons release no CCL2 ...
    assert float(drg.field("CSF1").max()) > 0.0  # ... but still CSF1
    assert float(m.compartments["dh"].env.field("CCL2").max()) == 0.0  # nor at their central terminals


def test_an_inducible_mediator_knockout_stops_release_from_its_time():
    m = _tissues([{"kind": "knockout", "mediator": "CSF1", "from_min": 10.0}])
    for _ in range(10):
        m.step()
    env = m.compartments["drg"].env
    assert float(env.field("CSF1").max()) > 0.0
    released = float(env.field("CSF1").sum())
    for _ in range(10):
        m.step()
    assert float(env.field("CSF1").sum()) < released  # no source any more: only decay and clearance


def test_a_receptor_knocked_out_in_one_compartment_survives_drug_effects():
    m = _tissues([{"kind": "knockout", "receptor": "TNFR1", "compartment": "paw"}],
                 drugs=[{"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 1.0}])  # fmt: skip
    m.step()  # drug effects rebuild the tables
    assert m.inhibition["TNFR1"] == 1.0
    assert m.drg_inhibition.get("TNFR1", 0.0) == 0.0 and m.spinal_inhibition.get("TNFR1", 0.0) == 0.0
    assert m.compartments["paw"].inhibition["TNFR1"] == 1.0


def test_a_receptor_knockout_in_a_compartment_whose_kind_is_shared_is_refused():
    comps = [{"name": "paw", "kind": "periphery", "width_um": 200.0, "height_um": 200.0},
             {"name": "knee", "kind": "periphery", "width_um": 200.0, "height_um": 200.0}]  # fmt: skip
    with pytest.raises(ConfigError, match=r"compartment = 'paw'.*kind \('periphery'\) no other compartment shares"):
        NeuroImmuneModel(seed=1, compartments=comps, n_neurons=0,
                         interventions=[{"kind": "knockout", "receptor": "TNFR1", "compartment": "paw"}])  # fmt: skip


# --- held and repeated depletions ----------------------------------------------------------------------------------
def _recruiting(interventions):
    return NeuroImmuneModel(width_um=400.0, height_um=400.0, n_mast_cells=0, n_macrophages=100, n_neurons=0, seed=3,
                            vessel_spacing_um=100.0, interventions=interventions,
                            cell_params={"macrophage": {"recruitment_per_min": 0.05}})  # fmt: skip


def _run_recruiting(m, steps):
    counts = []
    for _ in range(steps):
        m.env.fields[m.env.index("CCL2")] = 1.0  # keep recruiting
        m.step()
        counts.append(m.cell_types["macrophage"].n)
    return counts


def test_a_held_depletion_removes_recruits_as_they_come_until_its_end():
    once = _recruiting([{"kind": "deplete", "cell_type": "macrophage", "fraction": 1.0, "time_min": 2.0}])
    held = _recruiting([{"kind": "deplete", "cell_type": "macrophage", "fraction": 1.0, "time_min": 2.0,
                         "until_min": 20.0}])  # fmt: skip
    c_once, c_held = _run_recruiting(once, 30), _run_recruiting(held, 30)
    per_step = max(np.diff([0, *c_once[3:20]]))  # the most recruits one step brings
    assert per_step > 0
    assert c_once[19] > 5 * per_step  # after a one-off depletion recruits accumulate
    assert max(c_held[3:21]) <= per_step  # held: only this step's recruits are ever present
    assert c_held[29] > c_held[20] + 3  # after until_min they accumulate again
    assert held.cell_types["macrophage"].event_counts["depleted"] > 100


def test_a_held_partial_depletion_removes_that_fraction_of_newcomers():
    m = _recruiting([{"kind": "deplete", "cell_type": "macrophage", "fraction": 0.5, "time_min": 0.0,
                      "until_min": 1e6}])  # fmt: skip
    mac = m.cell_types["macrophage"]
    _run_recruiting(m, 40)
    removed = mac.event_counts["depleted"]
    arrived = mac.event_counts["recruited"] + 100
    assert removed == pytest.approx(0.5 * arrived, abs=4 * np.sqrt(arrived * 0.25) + 20)  # the last step's wait


def test_repeated_depletions_fall_every_interval():
    m = NeuroImmuneModel(width_um=400.0, height_um=400.0, n_mast_cells=0, n_macrophages=400, n_neurons=0, seed=2,
                         interventions=[{"kind": "deplete", "cell_type": "macrophage", "fraction": 0.5,
                                         "time_min": 2.0, "every_min": 5.0, "until_min": 22.0}])  # fmt: skip
    assert [d.time_min for d in m.depletions] == [2.0, 7.0, 12.0, 17.0, 22.0]
    counts = []
    for _ in range(25):
        m.step()
        counts.append(m.cell_types["macrophage"].n)
    drops = [i for i in range(1, 25) if counts[i] < 0.8 * counts[i - 1]]
    assert drops == [2, 7, 12, 17, 22]  # the step starting at t = 2 is index 2
    assert counts[-1] == pytest.approx(400 / 32, abs=12)


# --- adoptive transfer ----------------------------------------------------------------------------------------------
def test_transfer_into_a_t_cell_deficient_animal_restores_t_cells_that_recruit_again():
    ko = {"kind": "knockout", "cell_type": "t_cell"}
    runs = {}
    for recruit in (True, False):
        m = _tissues([ko, {"kind": "transfer", "cell_type": "t_cell", "n": 40, "compartment": "drg", "time_min": 3.0,
                           "state": "Th17", "recruit": recruit}], TC)  # fmt: skip
        assert _n(m, "drg", "t_cell") == 0 and _n(m, "dh", "t_cell") == 0  # Rag1-/-: none seeded
        for _ in range(3):
            m.step()
        assert _n(m, "drg", "t_cell") == 0
        m.step()  # t = 3: the transfer
        tc = m.compartments["drg"].cell_types["t_cell"]
        assert tc.n == 40 and tc.census() == {"Th1": 0, "Th17": 40, "Treg": 0}
        assert tc.event_counts["transferred"] == 40
        for _ in range(20):
            _attract(m)
            m.step()
        runs[recruit] = (_n(m, "drg", "t_cell"), _n(m, "dh", "t_cell"))
    assert runs[True][0] > 40 and runs[True][1] > 0  # the transferred type is recruited again, everywhere
    assert runs[False] == (40, 0)  # only the transferred cells


def test_transferred_cells_sit_in_the_interstitium_of_their_compartment():
    m = _tissues([{"kind": "transfer", "cell_type": "macrophage", "n": 500, "compartment": "paw"}])
    before = {c: _n(m, c, "macrophage") for c in ("paw", "drg")}
    m.step()
    paw = m.compartments["paw"]
    mac = paw.cell_types["macrophage"]
    assert mac.n == before["paw"] + 500 and _n(m, "drg", "macrophage") == before["drg"]
    assert paw.regions.reshape(-1)[mac.pop["voxel"]].max() == 0  # none in a vessel
    assert mac.seeded == 530


def test_transfer_entering_at_vessels_lands_beside_them():
    m = _tissues([{"kind": "transfer", "cell_type": "t_cell", "n": 50, "compartment": "dh", "entry": "vessels"}], TC)
    m.step()
    dh = m.compartments["dh"]
    tc = dh.cell_types["t_cell"]
    vox = tc.pop["voxel"][5:]
    ny = dh.grid.shape[1]
    vessel_rows = set(np.flatnonzero(dh.regions[0] == 1).tolist())
    rows = set((vox % ny).tolist())  # 2D: flat = x * ny + y
    assert tc.n == 55 and rows <= {r + d for r in vessel_rows for d in (-1, 1)}


def test_transfers_and_held_depletions_are_reproducible():
    items = [{"kind": "transfer", "cell_type": "t_cell", "n": 30, "compartment": "drg", "time_min": 2.0},
             {"kind": "deplete", "cell_type": "macrophage", "fraction": 0.7, "time_min": 1.0, "until_min": 15.0},
             {"kind": "knockout", "cell_type": "microglia", "compartment": "dh", "from_min": 5.0}]  # fmt: skip
    a, b = _tissues(items), _tissues(items)
    for _ in range(20):
        a.step()
        b.step()
    assert a.timeseries().equals(b.timeseries())
    assert _n(a, "dh", "microglia") == 0


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"kind": "knockout", "cell_type": "t_cell", "compartment": "spleen"}, r"compartment = 'spleen'"),
        ({"kind": "knockout", "cell_type": "t_cell", "from_min": -1}, r"from_min = -1.*\[0, 1e\+09\] \(min\)"),
        ({"kind": "knockout", "cell_type": "t_cell", "since_min": 3}, r"since_min = 3.*a key among"),
        ({"kind": "deplete", "cell_type": "macrophage", "time_min": 10, "until_min": 5}, r"until_min = 5.*>= time_min"),
        ({"kind": "deplete", "cell_type": "macrophage", "state": "M1", "until_min": 5}, r"state = 'M1'.*left out"),
        ({"kind": "deplete", "cell_type": "macrophage", "every_min": 60}, r"until_min = None.*every_min is given"),
        ({"kind": "deplete", "cell_type": "macrophage", "every_min": 0, "until_min": 9}, r"every_min = 0"),
        ({"kind": "deplete", "cell_type": "macrophage", "every_min": 1e-3, "until_min": 1e5}, r"at most 10000"),
        ({"kind": "transfer", "cell_type": "neuron", "n": 5, "compartment": "drg"}, r"cell_type = 'neuron'"),
        ({"kind": "transfer", "cell_type": "t_cell", "n": 0, "compartment": "drg"}, r"n = 0: must be an integer"),
        ({"kind": "transfer", "cell_type": "t_cell", "n": 5}, r"compartment = None: must be one of \['dh'"),
        ({"kind": "transfer", "cell_type": "t_cell", "n": 5, "compartment": "drg", "state": "Th2"}, r"state = 'Th2'"),
        ({"kind": "transfer", "cell_type": "mast_cell", "n": 5, "compartment": "paw", "entry": "vessels"},
         r"entry = 'vessels'.*'interstitium' for mast_cell"),
        ({"kind": "transfer", "cell_type": "t_cell", "n": 5, "compartment": "drg", "recruit": 1}, r"recruit = 1"),
    ],
)
def test_bad_tables_are_one_line_errors_naming_key_value_and_allowed(item, match):
    with pytest.raises(ConfigError, match=match):
        _tissues([item])


# --- in a scenario file, and through a checkpoint ---------------------------------------------------------------------
SMALL_SNI = ["tissue.width_um=300", "tissue.height_um=300", "compartments.drg.height_um=300",
             "compartments.dorsal_horn.height_um=300", "scenario.duration_min=4", "time.cell_dt_min=1.0",
             "time.diffusion_dt_min=1.0"]  # fmt: skip


def test_the_documented_tables_load_from_toml_and_act(tmp_path):
    from neuroagents.scenario import load_scenario

    path = tmp_path / "rag1_transfer.toml"
    path.write_text('''base = "sni"
[[interventions]]
kind = "knockout"
cell_type = "t_cell"
[[interventions]]
kind = "transfer"
cell_type = "t_cell"
n = 200
compartment = "drg"
time_min = 2.0
state = "Th1"
[[interventions]]
kind = "knockout"
cell_type = "macrophage"
compartment = "drg"
from_min = 3.0
[[interventions]]
kind = "deplete"
cell_type = "macrophage"
compartment = "paw"
fraction = 0.9
time_min = 1.0
until_min = 100.0
''', encoding="utf-8")  # fmt: skip
    m = load_scenario(path, SMALL_SNI).build_model()
    assert _n(m, "drg", "macrophage") == 60 and _n(m, "drg", "t_cell") == 0
    for _ in range(4):
        m.step()
    assert _n(m, "drg", "t_cell") == 200 and m.counts()["t_cell"]["Th1"] == 200
    assert _n(m, "drg", "macrophage") == 0 and _n(m, "paw", "macrophage") < 30
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "sni"\n[[interventions]]\nkind = "transfer"\ncell_type = "t_cell"\nn = 5\n'
                   'compartment = "DRG"\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match=r"bad\.toml.*interventions\[0\]\.compartment = 'DRG'.*did you mean 'drg'"):
        load_scenario(bad)


def test_a_checkpoint_mid_run_resumes_the_pending_interventions_exactly(tmp_path):
    from neuroagents.checkpoint import load_checkpoint, save_checkpoint

    items = [{"kind": "transfer", "cell_type": "t_cell", "n": 30, "compartment": "drg", "time_min": 6.0},
             {"kind": "deplete", "cell_type": "macrophage", "fraction": 0.7, "time_min": 1.0, "until_min": 15.0},
             {"kind": "knockout", "cell_type": "microglia", "compartment": "dh", "from_min": 8.0}]  # fmt: skip
    m = _tissues(items)
    for _ in range(4):
        m.step()
    path = save_checkpoint(tmp_path / "c.pkl", m, {})
    m2, _, _ = load_checkpoint(path)
    for _ in range(12):
        m.step()
        m2.step()
    assert m.timeseries().equals(m2.timeseries()) and _n(m2, "drg", "t_cell") >= 30
