"""Signaling is wired as the literature says: JAK inhibitors reach JAK-coupled receptors only."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.cells.signaling import PATHWAYS, RECEPTORS, SignalingNetwork
from neuroagents.errors import ConfigError

ALL = SignalingNetwork(sorted(RECEPTORS))


def test_occupancy_is_half_at_kd_and_saturates():
    net = SignalingNetwork(["IL6R"])
    kd = RECEPTORS["IL6R"].kd_nM
    occ = net.occupancy({"IL6": np.array([0.0, kd, 1e4 * kd])}, 3)["IL6R"]
    np.testing.assert_allclose(occ, [0.0, 0.5, 1.0], atol=1e-4)


def test_jak1_inhibition_cuts_il6_stat3_but_not_tnf_nfkb():
    conc = {"IL6": np.full(4, 10.0), "TNF": np.full(4, 1.0)}
    free = ALL.target_activity(conc, 4)
    blocked = ALL.target_activity(conc, 4, {"JAK1": 0.95})
    assert np.all(blocked["STAT3"] < 0.1 * free["STAT3"])
    np.testing.assert_allclose(blocked["NFKB"], free["NFKB"])
    assert free["NFKB"][0] > 0.9


def test_either_jak_suffices_for_il6_so_jak2_alone_does_little():
    conc = {"IL6": np.full(2, 10.0)}
    free = ALL.target_activity(conc, 2)["STAT3"]
    jak2 = ALL.target_activity(conc, 2, {"JAK2": 0.95})["STAT3"]
    both = ALL.target_activity(conc, 2, {"JAK2": 0.95, "TYK2": 0.95})["STAT3"]
    np.testing.assert_allclose(jak2, free)  # TYK2 substitutes
    assert np.all(both < free)


def test_gmcsf_stat5_needs_jak2():
    conc = {"GMCSF": np.full(1, 5.0)}
    assert ALL.target_activity(conc, 1, {"JAK2": 1.0})["STAT5"][0] == 0.0
    assert ALL.target_activity(conc, 1, {"JAK1": 1.0})["STAT5"][0] > 0.9


def test_pathway_inhibitor_acts_downstream_of_all_receptors():
    conc = {"TNF": np.full(1, 1.0), "IL1B": np.full(1, 1.0)}
    act = ALL.target_activity(conc, 1, {"NFKB": 0.8})
    assert act["NFKB"][0] == pytest.approx(0.2 * ALL.target_activity(conc, 1)["NFKB"][0])


def test_relaxation_is_exact_exponential():
    net = SignalingNetwork(["TNFR1"], tau_min=10.0)
    a = {p: np.zeros(1) for p in PATHWAYS}
    t = {p: np.ones(1) for p in PATHWAYS}
    for _ in range(10):
        a = net.relax(a, t, 1.0)
    assert a["NFKB"][0] == pytest.approx(1 - np.exp(-1.0))


def test_unknown_names_are_clear_errors():
    with pytest.raises(ConfigError, match="receptor = 'IL6X'"):
        SignalingNetwork(["IL6X"])
    with pytest.raises(ConfigError, match=r"inhibition\.JAK9"):
        ALL.target_activity({}, 1, {"JAK9": 0.5})
