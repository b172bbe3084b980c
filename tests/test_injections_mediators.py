"""Injections of named mediators: the dose lands where and when it says, in nM or pg/mL, as a bolus or a depot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import CATALOGUE
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario
from neuroagents.units import MOLECULES_PER_NM_UM3


def _three(injections, **kw):
    comps = [{"name": "paw", "kind": "periphery", "width_um": 300.0, "height_um": 300.0},
             {"name": "drg", "kind": "drg", "width_um": 300.0, "height_um": 300.0, "cells": {"neuron": 4}},
             {"name": "dh", "kind": "dorsal_horn", "width_um": 300.0, "height_um": 300.0}]  # fmt: skip
    return NeuroImmuneModel(seed=1, compartments=comps, injections=injections, **kw)


def test_a_cytokine_bolus_into_the_dorsal_horn_raises_its_field_there_only():
    m = _three([{"mediator": "IFNG", "compartment": "dh", "dose_nM": 2.0, "time_min": 3.0}])
    for _ in range(3):
        m.step()
    assert float(m.compartments["dh"].env.field("IFNG").max()) == 0.0
    dh = m.compartments["dh"]
    inter = dh.regions == 0
    m._phase_dose(1.0)  # t = 3: the bolus, before anything clears it
    f = dh.env.field("IFNG")
    assert np.allclose(f[inter], 2.0) and float(f[~inter].max()) == 0.0
    for name in ("paw", "drg"):
        assert float(m.compartments[name].env.field("IFNG").max()) == 0.0


def test_pg_per_ml_is_converted_with_the_catalogue_mass():
    m = _three([{"mediator": "IL17A", "compartment": "paw", "dose_pg_per_mL": 1000.0, "radius_um": 60.0}])
    m._phase_dose(1.0)
    paw = m.compartments["paw"]
    f = paw.env.field("IL17A")
    expected = 1000.0 / (CATALOGUE["IL17A"].molecular_mass_kda * 1e3)  # pg/mL / (g/mol) -> nM
    assert float(f.max()) == pytest.approx(expected)
    hit = f > 0
    assert hit.sum() == (paw.central_region(60.0) & (paw.regions == 0)).sum()  # only within the radius


def test_a_mediator_depot_releases_the_whole_dose_over_time():
    """Mass balance: with decay and vessel clearance off (TNF not held in the vessels), the field holds what the
    depot released, ``1 - exp(-k t)`` of the dose."""
    from neuroagents.mediators import Mediator

    tnf = CATALOGUE["TNF"].with_overrides(decay_per_min=0.0)
    assert isinstance(tnf, Mediator)
    m = NeuroImmuneModel(seed=1, width_um=200.0, height_um=200.0, n_mast_cells=0, n_macrophages=0, n_neurons=0,
                         vessel_spacing_um=1e6, mediators=[tnf if n == "TNF" else n for n in _names()],
                         injections=[{"mediator": "TNF", "dose_nM": 1.0, "depot_half_life_days": 0.01}],
                         cell_dt_min=1.0)  # fmt: skip
    env, comp = m.env, m.compartments["tissue"]
    comp.env.set_vessels(comp.regions == 1, {n: 0.0 for n in env.names if n != "TNF"})
    comp.env.set_vessel_exchange(comp.regions == 1, np.zeros(len(env.names)))  # nor through the vessel wall
    n_int = int((comp.regions == 0).sum())
    dose_molecules = 1.0 * MOLECULES_PER_NM_UM3 * m.grid.voxel_volume_um3 * n_int
    t_half = 0.01 * 1440.0
    for _ in range(30):
        m.step()
    total = float(env.field("TNF").sum()) * MOLECULES_PER_NM_UM3 * m.grid.voxel_volume_um3
    released = 1.0 - math.exp(-math.log(2.0) / t_half * 30.0)
    assert 0.2 < released < 0.95
    assert total == pytest.approx(released * dose_molecules, rel=1e-6)


def _names():
    from neuroagents.model import DEFAULT_MEDIATORS

    return DEFAULT_MEDIATORS


def test_a_knockout_does_not_stop_an_injection():
    m = _three([{"mediator": "TNF", "compartment": "paw", "dose_nM": 1.0}],
               interventions=[{"kind": "knockout", "mediator": "TNF"}])  # fmt: skip
    m.step()
    assert float(m.compartments["paw"].env.field("TNF").max()) > 0.5


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"mediator": "IL17", "compartment": "paw", "dose_nM": 1}, r"mediator = 'IL17'.*did you mean 'IL17A'"),
        ({"mediator": "TNF", "compartment": "paw"}, r"dose_nM = None: must be given, or dose_pg_per_mL"),
        ({"mediator": "TNF", "dose_nM": 1, "dose_pg_per_mL": 5, "compartment": "paw"}, r"exactly one"),
        ({"mediator": "TNF", "dose_nM": -1, "compartment": "paw"}, r"dose_nM = -1: must be a concentration >= 0"),
        ({"mediator": "TNF", "dose_ug_per_mL": 1, "compartment": "paw"}, r"dose_ug_per_mL = 1.*left out"),
        ({"agent": "carrageenan", "mediator": "TNF", "compartment": "paw"}, r"exactly one of 'agent'"),
        ({"agent": "carragenan", "dose_ug_per_mL": 1}, r"agent = 'carragenan'.*did you mean 'carrageenan'"),
        ({"agent": "CFA", "dose_nM": 1, "compartment": "paw"}, r"dose_nM = 1.*left out for an agent"),
        ({"mediator": "TNF", "dose_nM": 1, "compartment": "spinal"}, r"compartment = 'spinal'"),
    ],
)
def test_bad_injections_are_one_line_errors(item, match):
    with pytest.raises(ConfigError, match=match):
        _three([item])


def test_a_scenario_injects_a_cytokine_into_the_cord(tmp_path):
    path = tmp_path / "ifng.toml"
    path.write_text('base = "sni"\n[injury]\ninjured_fraction = 0.0\ntime_min = 0.0\n'
                    '[[injections]]\nmediator = "IFNG"\ncompartment = "dorsal_horn"\ndose_pg_per_mL = 5000.0\n'
                    'time_min = 0.0\n', encoding="utf-8")  # fmt: skip
    small = ["tissue.width_um=300", "tissue.height_um=300", "compartments.drg.height_um=300",
             "compartments.dorsal_horn.height_um=300", "scenario.duration_min=2", "time.cell_dt_min=1.0",
             "time.diffusion_dt_min=1.0"]  # fmt: skip
    m = load_scenario(path, small).build_model()
    m.step()
    assert float(m.compartments["dorsal_horn"].env.field("IFNG").max()) > 0.0
    assert float(m.compartments["paw"].env.field("IFNG").max()) == 0.0
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "sni"\n[[injections]]\nmediator = "IFNg"\ncompartment = "dorsal_horn"\ndose_nM = 1.0\n',
                   encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match=r"bad\.toml.*injections\[0\]\.mediator = 'IFNg'.*did you mean 'IFNG'"):
        load_scenario(bad)
