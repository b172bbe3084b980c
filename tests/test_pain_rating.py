"""The patient-rated 0-10 score (neuroagents/pain/rating.py): anchored on published nociceptor rates, linear in
the pain signal between them, raised by central sensitization, zero at rest."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.model import NeuroImmuneModel
from neuroagents.pain import PainModel
from neuroagents.pain import readouts as ro
from neuroagents.pain.dorsal_horn import DorsalHorn
from neuroagents.pain.params import PainParams
from neuroagents.pain.rating import NRS_MAX, nrs_from_ongoing, rating_anchors


def ongoing_p(dh, p, nociceptor_hz):
    """The circuit's ongoing P (Hz) with the C nociceptors at ``nociceptor_hz`` (array)."""
    f_c = ro.pooled_nociceptor_hz(p, p.fibre_background_hz, np.asarray(nociceptor_hz, dtype=float))
    return dh.rest(np.full(f_c.shape, p.fibre_background_hz), f_c)["P"]


def test_the_anchors_are_the_naive_circuit_at_the_published_rates():
    p = PainParams()
    dh = DorsalHorn(p)
    p0, p10 = rating_anchors(dh, p)
    got = ongoing_p(dh, p, [p.nrs_zero_nociceptor_hz, p.nrs_top_nociceptor_hz])
    assert (p0, p10) == pytest.approx(tuple(got), rel=1e-9)
    assert nrs_from_ongoing(p0, (p0, p10)) == 0.0 and nrs_from_ongoing(p10, (p0, p10)) == NRS_MAX


def test_rating_is_zero_below_the_pain_threshold_and_grows_with_nociceptor_firing():
    p = PainParams()
    dh = DorsalHorn(p)
    anchors = rating_anchors(dh, p)
    rates = np.array([0.0, 0.1, 0.4, 1.0, 2.0, 5.0, 9.0, 20.0])
    nrs = nrs_from_ongoing(ongoing_p(dh, p, rates), anchors)
    assert np.all(nrs[rates < p.nrs_zero_nociceptor_hz] == 0.0)  # below 0.5 Hz nothing hurts (Tillman 1995)
    assert np.all(np.diff(nrs) >= 0.0) and np.all(np.diff(nrs[2:-1]) > 0.0)  # strictly rising over the scale
    assert nrs[-1] == NRS_MAX  # clipped at the top of the scale


def test_rating_is_linear_in_the_pain_signal_between_the_anchors():
    anchors = (0.3, 1.3)
    p = np.linspace(0.3, 1.3, 11)
    assert nrs_from_ongoing(p, anchors) == pytest.approx(np.arange(11.0))


def test_a_sensitized_dorsal_horn_rates_the_same_input_higher():
    """Central amplification: disinhibition raises P, hence the rating, for unchanged nociceptor firing."""
    p = PainParams()
    naive, sensitized = DorsalHorn(p), DorsalHorn(p)
    sensitized.disinhibition = 0.5
    anchors = rating_anchors(naive, p)
    assert rating_anchors(sensitized, p) == anchors  # the anchors are the naive circuit's, whatever the state
    rate = [3.0]
    before = nrs_from_ongoing(ongoing_p(naive, p, rate), anchors)
    after = nrs_from_ongoing(ongoing_p(sensitized, p, rate), anchors)
    assert after[0] > before[0] > 0.0


def test_anchors_that_do_not_rise_are_refused():
    with pytest.raises(ValueError, match="must rise"):
        nrs_from_ongoing(1.0, (1.0, 1.0))


def test_ectopic_firing_of_injured_neurons_is_rated_as_ongoing_pain():
    """A model whose neurons are all injured (ectopic discharge) rates ongoing pain above 0; an intact one 0."""
    def rating(injured):
        m = NeuroImmuneModel(seed=2, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=6)
        m.env.fields[:] = 0.0
        if injured:
            m.neurons.pop["state"][:] = 1
        m.pain = PainModel(m, species="human")
        m.pain.update(m, 1.0)
        return m.pain.readouts(m)["pain_rating_nrs"]

    assert rating(False) == 0.0
    assert rating(True) > 0.0
