"""Depletions and knockouts act on what they name, when they say, and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel

SMALL = dict(width_um=600.0, height_um=600.0, n_mast_cells=10, n_macrophages=200, n_neurons=20, seed=5)


def test_clodronate_like_depletion_removes_the_fraction_at_its_time():
    m = NeuroImmuneModel(**SMALL, interventions=[{"kind": "deplete", "cell_type": "macrophage", "fraction": 0.9,
                                                  "time_min": 3.0}])  # fmt: skip
    for _ in range(3):
        m.step()
    before = m.cell_types["macrophage"].n
    m.step()  # t = 3 min: the depletion happens in this step's dose phase
    after = m.cell_types["macrophage"].n
    assert before >= 195  # resident macrophages do not die; few or no recruits in 3 min
    assert after == pytest.approx(0.1 * before, abs=4 * np.sqrt(before * 0.09))  # binomial, 4 sd
    assert m.cell_types["mast_cell"].n == 10 and m.cell_types["neuron"].n == 20  # nothing else touched


def test_depletion_can_target_one_state():
    m = NeuroImmuneModel(**SMALL, interventions=[{"kind": "deplete", "cell_type": "macrophage", "state": "M1",
                                                  "fraction": 1.0, "time_min": 1.0}])  # fmt: skip
    mac = m.cell_types["macrophage"]
    mac.pop["state"][:50] = 1
    m.step()
    m.step()
    assert mac.census()["M1"] == 0
    assert mac.census()["M0"] == 150


def test_cytokine_knockout_keeps_its_field_empty():
    m = NeuroImmuneModel(**SMALL, injured_fraction=1.0, interventions=[{"kind": "knockout", "mediator": "CCL2"}])
    for _ in range(30):
        m.step()
    assert float(m.env.field("CCL2").max()) == 0.0
    assert float(m.env.field("CSF1").max()) > 0.0  # injured neurons still release the rest


def test_blocked_mir21_release_reduces_macrophage_mir21_load():
    """Simeoli 2017: blocking neuronal miR-21 release keeps macrophages free of it."""
    loads = []
    for knock in ([], [{"kind": "knockout", "mediator": "miR21"}]):
        m = NeuroImmuneModel(**SMALL, injured_fraction=1.0, interventions=knock)
        for _ in range(60):
            m.step()
        loads.append(float(m.cell_types["macrophage"].pop["mir21_vesicles"].sum()))
    assert loads[0] > 0.0 and loads[1] == 0.0


def test_receptor_knockout_silences_its_pathway_only():
    m = NeuroImmuneModel(**SMALL, interventions=[{"kind": "knockout", "receptor": "TNFR1"}])
    mac = m.cell_types["macrophage"]
    m.env.fields[m.env.index("TNF")] = 1.0
    m.env.fields[m.env.index("IL10")] = 1.0
    for _ in range(30):
        mac.sense(10.0)
    assert float(mac.pop["NFKB"].max()) < 1e-12  # TNFR1 is the macrophages' only TNF receptor here
    assert float(mac.pop["STAT3"].min()) > 0.8  # IL-10 still signals


def test_t_cell_deficiency_means_no_t_cells_ever():
    m = NeuroImmuneModel(**SMALL, n_t_cells=20, interventions=[{"kind": "knockout", "cell_type": "t_cell"}])
    tc = m.cell_types["t_cell"]
    tc.priming = 1.0  # as if primed: infiltration would start now
    m.env.fields[m.env.index("CCL2")] = 1.0
    for _ in range(20):
        m.step()
    assert tc.n == 0


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"kind": "delete", "cell_type": "macrophage"}, r"interventions\[0\]\.kind = 'delete'.*did you mean 'deplete'"),
        ({"kind": "deplete", "cell_type": "macrophages"}, r"cell_type = 'macrophages'.*did you mean 'macrophage'"),
        ({"kind": "deplete", "cell_type": "macrophage", "fraction": 1.5}, r"fraction = 1\.5.*\[0, 1\]"),
        ({"kind": "deplete", "cell_type": "macrophage", "state": "M3"}, r"state = 'M3'"),
        ({"kind": "knockout", "mediator": "TNFa"}, r"mediator = 'TNFa'.*did you mean 'TNF'"),
        ({"kind": "knockout", "mediator": "TNF", "receptor": "TNFR1"}, r"exactly one"),
    ],
)
def test_bad_interventions_are_clear_errors(item, match):
    with pytest.raises(ConfigError, match=match):
        NeuroImmuneModel(**SMALL, interventions=[item])


def _three_tissue(**kw):
    comps = [{"name": "paw", "kind": "periphery", "width_um": 300.0, "height_um": 300.0, "cells": {"macrophage": 30}},
             {"name": "drg", "kind": "drg", "width_um": 300.0, "height_um": 300.0,
              "cells": {"macrophage": 30, "neuron": 10}},
             {"name": "dh", "kind": "dorsal_horn", "width_um": 300.0, "height_um": 300.0,
              "cells": {"microglia": 20, "t_cell": 5}}]  # fmt: skip
    return NeuroImmuneModel(seed=4, compartments=comps, injured_fraction=0.5, **kw)


def test_a_schedule_added_mid_run_equals_the_same_schedule_given_from_the_start():
    """``add_dosing`` (the dashboard's "give now"): PK by superposition, so the run is the one planned ahead."""
    dose = {"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 10.0, "start_min": 20.0, "interval_h": 1.0,
            "n_doses": 3}  # fmt: skip
    planned, live = _three_tissue(drugs=[dose]), _three_tissue()
    for _ in range(20):
        planned.step()
        live.step()
    live.add_dosing(dose)
    for _ in range(40):
        planned.step()
        live.step()
    assert live.inhibition["JAK1"] > 0.0  # the drug acts
    pd.testing.assert_frame_equal(planned.timeseries(), live.timeseries())


def test_knock_out_mid_run_reaches_every_compartment():
    m = _three_tissue()
    for _ in range(5):
        m.step()
    assert m.knock_out("receptor", "TNFR1") == 0
    m.add_dosing({"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 1.0, "start_min": m.time_min})
    m.step()  # drug effects are rebuilt from the base tables: the knockout must survive that
    assert m.inhibition["TNFR1"] == m.drg_inhibition["TNFR1"] == m.spinal_inhibition["TNFR1"] == 1.0
    assert m.knock_out("cell_type", "macrophage") == 60  # 30 in the paw + 30 in the DRG
    assert all(c.cell_types["macrophage"].n == 0 for c in m.compartments.values())
    m.knock_out("mediator", "CCL2")
    for _ in range(10):
        m.step()
    assert all(c.cell_types["macrophage"].n == 0 for c in m.compartments.values())  # never recruited again
    assert "CCL2" in m.knockouts.mediators and "TNFR1" in m.knockouts.receptors


def test_knock_out_of_an_unknown_name_is_a_clear_error():
    m = _three_tissue()
    with pytest.raises(ConfigError, match=r"knockout\.receptor = 'TNFR': .*did you mean 'TNFR1'"):
        m.knock_out("receptor", "TNFR")
    with pytest.raises(ConfigError, match=r"knockout = 'gene'"):
        m.knock_out("gene", "Tnf")
