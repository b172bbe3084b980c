"""Sex as mechanism (neuroagents/sex.py): what differs in females, and that each piece does what it says.

The outcome (female and male SNI pain alike, minocycline sparing the female one, microglia again needed without
T cells; Sorge 2015) is checked in tests/test_validation.py, case ``sex``. Here: the parameters each sex gets, and
each mechanism on its own: the Tregs' restraint of microglial release (Kuhn 2021) and its lifting without T cells,
the meningeal restimulation of dorsal-horn T cells, and T-cell IFN-γ switching astrocytes on.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.pain.dorsal_horn import DorsalHorn
from neuroagents.pain.params import PainParams
from neuroagents.sex import SEX_PAIN_VALUES, SEX_VALUES, sex_adjusted, sex_adjusted_pain

LAYOUT = [
    {"name": "paw", "kind": "periphery", "width_um": 300, "height_um": 300, "cells": {"macrophage": 5}},
    {"name": "drg", "kind": "drg", "width_um": 300, "height_um": 300, "cells": {"neuron": 10, "t_cell": 5}},
    {"name": "dorsal_horn", "kind": "dorsal_horn", "width_um": 300, "height_um": 200,
     "cells": {"microglia": 10, "t_cell": 5}},
]  # fmt: skip
NO_T_CELLS = [{"kind": "knockout", "cell_type": "t_cell"}]


def _model(**kw):
    return NeuroImmuneModel(seed=3, compartments=LAYOUT, **kw)


def test_each_sex_gets_its_parameters_and_a_scenario_value_wins():
    male, female = _model(sex="male"), _model(sex="female")
    mg = [m.compartments["dorsal_horn"].cell_types["microglia"].params for m in (male, female)]
    assert mg[0].treg_restraint == 0.0 and mg[1].treg_restraint == SEX_VALUES["female"]["microglia"]["treg_restraint"]
    assert mg[0].bdnf_molecules_per_s == mg[1].bdnf_molecules_per_s  # no output multiplier on microglia any more
    tc = [m.compartments["drg"].cell_types["t_cell"].params for m in (male, female)]
    assert tc[0].meningeal_restimulation == 0.0 < tc[1].meningeal_restimulation
    assert tc[1].infiltration_per_min == pytest.approx(3 * tc[0].infiltration_per_min)
    assert tc[1].ifng_th1_molecules_per_s == pytest.approx(3 * tc[0].ifng_th1_molecules_per_s)
    assert male.pain.params.astro_ifng_induction == 0.0
    assert female.pain.params.astro_ifng_induction == SEX_PAIN_VALUES["female"]["astro_ifng_induction"] > 0
    set_by_user = _model(sex="female", cell_params={"microglia": {"treg_restraint": 0.2}},
                         pain_params={"astro_ifng_induction": 0.3})  # fmt: skip
    assert set_by_user.compartments["dorsal_horn"].cell_types["microglia"].params.treg_restraint == 0.2
    assert set_by_user.pain.params.astro_ifng_induction == 0.3
    assert sex_adjusted({}, "male") == {} and sex_adjusted_pain(None, "male") == {}
    with pytest.raises(ConfigError, match="sex"):
        _model(sex="f")


def _release(model):
    """BDNF, TNF and IL-1β the dorsal horn's microglia export in one secrete call, all made reactive at p38 = 0.8."""
    mg = model.compartments["dorsal_horn"].cell_types["microglia"]
    mg.pop["state"][:] = 1
    mg.pop["P38"][:] = 0.8
    sent = {}
    mg.export = lambda mediator, molecules_per_min, *a, **k: sent.__setitem__(mediator, np.sum(molecules_per_min))
    mg.secrete()
    return np.array([sent[m] for m in ("BDNF", "TNF", "IL1B")])


def test_tregs_hold_female_microglial_release_back_unless_there_are_no_t_cells():
    """Kuhn 2021: meningeal Tregs restrain female microglia; without Tregs (Rag1-/-) they release as males'."""
    male, female, female_rag = _model(), _model(sex="female"), _model(sex="female", interventions=NO_T_CELLS)
    r = SEX_VALUES["female"]["microglia"]["treg_restraint"]
    assert female.compartments["dorsal_horn"].cell_types["microglia"].restrained()
    assert not female_rag.compartments["dorsal_horn"].cell_types["microglia"].restrained()
    m, f, f_rag = (_release(x) for x in (male, female, female_rag))
    assert np.all(m > 0)
    np.testing.assert_allclose(f, (1 - r) * m, rtol=1e-12)
    np.testing.assert_array_equal(f_rag, m)


def test_female_dorsal_horn_t_cells_are_restimulated_without_reactive_microglia():
    """The meninges' APCs restimulate female dorsal-horn T cells whatever the microglia do; not in the DRG, and
    not in males, whose T cells need reactive microglia or M1 macrophages."""
    for sex, dh_expected in (("male", 0.0), ("female", 1.0)):
        model = _model(sex=sex)
        for comp in model.compartments.values():  # over compartments: every APC resting
            for kind in ("macrophage", "microglia"):
                ct = comp.cell_types[kind]
                if ct.n:
                    ct.pop["state"][:] = 0
        dh = model.compartments["dorsal_horn"].cell_types["t_cell"].restimulation()
        drg = model.compartments["drg"].cell_types["t_cell"].restimulation()
        assert float(dh) == dh_expected and float(drg) == 0.0, (sex, dh, drg)


def _astrocytes_after(params, spinal_nM, days=3.0):
    dh = DorsalHorn(params)
    for _ in range(int(days * 24)):  # over hours
        dh.update(spinal_nM, {}, 60.0, afferent_hz=2.0)
    return dh.astrocytes


def test_t_cell_ifng_switches_astrocytes_on_only_where_the_weight_says_so():
    """Males: only microglial IL-1β/TNF switch the astrocytes on; females: IFN-γ too, and the rest is unchanged."""
    male = PainParams()
    female = dataclasses.replace(male, **SEX_PAIN_VALUES["female"])
    ifng = {"IFNG": 1.0}
    assert _astrocytes_after(male, ifng) == 0.0
    assert _astrocytes_after(female, ifng) > 0.5
    cytokines = {"IL1B": 0.5, "TNF": 0.5}
    assert _astrocytes_after(male, cytokines) == _astrocytes_after(female, cytokines) > 0.5
