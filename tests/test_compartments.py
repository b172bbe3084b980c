"""Compartments linked by axons and injected agents, in the model and in scenario files (sex: tests/test_sex.py)."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import CATALOGUE
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario.loader import load_scenario

LAYOUT = [
    {"name": "paw", "kind": "periphery", "width_um": 400, "height_um": 400, "cells": {"macrophage": 10}},
    {"name": "drg", "kind": "drg", "width_um": 300, "height_um": 300, "cells": {"neuron": 20}},
    {"name": "dorsal_horn", "kind": "dorsal_horn", "width_um": 300, "height_um": 200, "cells": {"microglia": 10}},
]


def _model(**kw):
    return NeuroImmuneModel(seed=3, compartments=LAYOUT, **kw)


def _total(env, name):
    return float(env.fields[env.index(name)].sum())


def test_injured_neurons_ship_csf1_to_the_dorsal_horn_only_when_injured():
    sham, hurt = _model(), _model(injured_fraction=1.0)
    for m in (sham, hurt):
        for _ in range(5):
            m.step()
    assert _total(sham.compartments["dorsal_horn"].env, "CSF1") == 0.0
    assert _total(hurt.compartments["dorsal_horn"].env, "CSF1") > 0.0
    assert _total(hurt.compartments["drg"].env, "CSF1") > 0.0  # and at the somata
    assert _total(hurt.compartments["paw"].env, "CSF1") == 0.0  # not at the peripheral terminals


def test_terminals_point_into_their_compartments_and_sp_is_released_at_both_ends():
    m = _model(injured_fraction=1.0)
    pop = m.neurons.pop
    assert m.neurons is m.compartments["drg"].cell_types["neuron"]
    assert np.all(pop["terminal_voxel"] < m.compartments["paw"].grid.n_voxels)
    assert np.all((pop["central_voxel"] >= 0) & (pop["central_voxel"] < m.compartments["dorsal_horn"].grid.n_voxels))
    m.step()
    assert _total(m.compartments["paw"].env, "SP") > 0 and _total(m.compartments["dorsal_horn"].env, "SP") > 0


def test_neurons_outside_the_soma_compartment_are_refused():
    bad = [dict(c) for c in LAYOUT]
    bad[0] = {**bad[0], "cells": {"neuron": 3}}
    with pytest.raises(ConfigError, match=r"compartments.paw.cells.neuron"):
        NeuroImmuneModel(seed=1, compartments=bad)


def test_drugs_reach_each_compartment_with_its_own_exposure():
    m = _model(drugs=[{"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 30, "interval_h": 12,
                       "n_doses": 2}])  # fmt: skip
    for _ in range(60):
        m.step()
    assert m.compartments["paw"].inhibition["JAK1"] > 0.5
    assert m.compartments["drg"].inhibition["JAK1"] > 0.5
    assert m.compartments["dorsal_horn"].inhibition["JAK1"] < m.compartments["paw"].inhibition["JAK1"]  # CSF


def test_intrathecal_antagomir_blocks_mir21_in_the_drg_and_a_systemic_dose_hardly_does():
    """Simeoli 2017 gave antagomir-21 intrathecally to reach the DRG: the DRG sees the CSF exposure."""
    blocks = {}
    for route in ("intrathecal", "sc"):
        m = _model(drugs=[{"drug": "antagomir-21", "route": route, "dose_mg_per_kg": 2.0}])
        for _ in range(120):
            m.step()
        blocks[route] = {name: c.mirna_block.get("miR21", 0.0) for name, c in m.compartments.items()}
    assert blocks["intrathecal"]["drg"] > 0.5 > blocks["intrathecal"]["paw"]
    assert blocks["sc"]["drg"] < 0.2 and blocks["sc"]["dorsal_horn"] < 0.2


def test_anti_tnf_binds_tnf_where_it_reaches():
    m = _model(drugs=[{"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 10.0}])
    for _ in range(240):
        m.step()
    paw, dh = m.compartments["paw"], m.compartments["dorsal_horn"]
    assert paw.free_fraction("TNF") < 0.5  # an antibody: plenty in the tissue
    assert dh.free_fraction("TNF") > paw.free_fraction("TNF")  # little crosses into the CSF
    assert m.compartments["drg"].free_fraction("TNF") < dh.free_fraction("TNF")


def test_a_bolus_raises_the_agonist_by_its_dose_and_a_depot_releases_its_dose_over_time():
    slow = CATALOGUE["PAMP"].with_overrides(decay_per_min=0.0, diffusion_um2_per_min=0.0)
    layout = [{"name": "paw", "kind": "periphery", "width_um": 200, "height_um": 200, "vessel_spacing_um": 1e6}]
    bolus = NeuroImmuneModel(seed=1, compartments=layout, mediators=["TNF", slow], n_neurons=0,
                             injections=[{"agent": "carrageenan", "compartment": "paw", "dose_ug_per_mL": 50}])
    bolus.step()
    env = bolus.compartments["paw"].env
    inter = bolus.compartments["paw"].regions.reshape(-1) == 0
    pamp = env.fields[env.index("PAMP")].reshape(-1)
    assert pamp[inter].mean() == pytest.approx(50 / 500 * 1e3)  # µg/mL / kDa * 1e3 = nM
    depot = NeuroImmuneModel(seed=1, compartments=layout, mediators=["TNF", slow], cell_dt_min=60,
                             diffusion_dt_min=60, injections=[{"agent": "CFA", "compartment": "paw",
                             "dose_ug_per_mL": 50, "depot_half_life_days": 1.0}])  # fmt: skip
    for _ in range(24):  # one day: half the dose
        depot.step()
    env = depot.compartments["paw"].env
    pamp = env.fields[env.index("PAMP")].reshape(-1)
    assert pamp[inter].mean() == pytest.approx(50.0, rel=1e-6)


def test_scenario_errors_for_compartments_name_the_key():
    with pytest.raises(ConfigError, match=r"axons.spinal = 'dorsal_hron'.*did you mean 'dorsal_horn'"):
        load_scenario("sni", ["axons.spinal=dorsal_hron"])
    with pytest.raises(ConfigError, match=r"sni.toml: cells.initial"):
        load_scenario("sni", ["cells.initial.neuron=3"])
    with pytest.raises(ConfigError, match=r"injections\[0\].agent"):
        load_scenario("carrageenan", ["injections[0].agent=lps"])


def test_a_three_compartment_scenario_is_reproducible():
    a = load_scenario("sni", ["scenario.duration_min=60"]).build_model()
    b = load_scenario("sni", ["scenario.duration_min=60"]).build_model()
    for _ in range(12):
        a.step()
        b.step()
    a.record()
    b.record()
    assert a.timeseries().equals(b.timeseries())


def test_cell_ids_are_unique_across_compartments_and_inspect_finds_the_right_one():
    m = _model(injured_fraction=1.0)
    for _ in range(60):  # recruitment interleaves new cells in several compartments
        m.step()
    for kind in ("macrophage", "neuron", "microglia"):
        ids = np.concatenate([c.cell_types[kind].pop.ids for c in m.compartments.values()])
        assert len(np.unique(ids)) == len(ids), kind
    for name, comp in m.compartments.items():
        mac = comp.cell_types["macrophage"]
        if mac.n:
            assert m.inspect("macrophage", int(mac.pop.ids[-1]))["compartment"] == name
