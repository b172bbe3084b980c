"""Each innate-cell rule in isolation, under fields the test holds fixed.

A model is built with only the cell type under test; the test writes the
mediator fields it wants and calls the type's phase methods (``sense``,
``decide``, ``secrete``, ``walk``) in a loop. Without a ``diffuse`` call the
fields stay exactly what the test wrote, so every expectation can be worked
out by hand from the rule and its parameters.

Statistical checks use seeded generators and tolerances of about four
binomial (or Poisson) standard deviations, stated next to each check: wide
enough not to depend on the seed, narrow enough that a rate off by a factor
of ~1.5 fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.cells.mast_cell import GRANULE_CONTENT
from neuroagents.cells.signaling import RECEPTORS
from neuroagents.model import DEFAULT_MEDIATORS, NeuroImmuneModel
from neuroagents.units import MOLECULES_PER_NM_UM3

NO_CELLS = {"n_mast_cells": 0, "n_macrophages": 0, "n_t_cells": 0, "n_microglia": 0, "n_neurons": 0}


def make(seed=0, size_um=400.0, **kwargs):
    """A small 2D patch (20 µm voxels, one vessel row) holding only the cells asked for."""
    return NeuroImmuneModel(seed=seed, width_um=size_um, height_um=size_um, **{**NO_CELLS, **kwargs})


def hold(model, **conc_nM):
    """Set mediator fields to uniform concentrations (nM); every other field stays as it is."""
    for name, c in conc_nM.items():
        model.env.field(name)[...] = c


def produced_molecules_per_min(model, name):
    """Total release into ``name`` now in the source term, molecules/min (undoing the nM/min conversion)."""
    q = model.env.production_nM_per_min[model.env.index(name)]
    return float(q.sum()) * model.grid.voxel_volume_um3 * MOLECULES_PER_NM_UM3


def occupancy(receptor, conc_nM):
    kd = RECEPTORS[receptor].kd_nM
    return conc_nM / (conc_nM + kd)


def thresholded(signal, model):
    """The macrophage drive for a signal: (S − θ)/(1 − θ) clipped to [0, 1]."""
    theta = model.cell_types["macrophage"].params.polarization_drive_threshold
    return min(max((signal - theta) / (1 - theta), 0.0), 1.0)


def binomial_tol(p, n, k=4.0):
    return k * math.sqrt(max(p * (1 - p), 1e-4) / n)


# --- macrophages: polarization ---------------------------------------------------------------------------

N_MAC = 400


def polarize(model, minutes, dt=1.0):
    """Equilibrate pathway activity to the held fields, then sense+decide for ``minutes``."""
    mac = model.cell_types["macrophage"]
    mac.sense(400.0)  # one exact relaxation step of 400 min ≈ 27 τ: activity = its target
    for _ in range(round(minutes / dt)):  # over time steps
        mac.sense(dt)
        mac.decide(dt)
    return mac.census()


def test_macrophages_in_high_tnf_turn_m1_at_the_polarization_rate():
    """M0 -> M1 at k·P(1−A): held at 1 nM TNF (≈ 50 Kd), signal θ_TNFR1 ≈ 0.98, drive P = (0.98 − θ)/(1 − θ),
    A = 0, so M0(t) = exp(−k P t). (NF-κB-induced tolerance off: it would build during the 400-min set-up step
    and join A; the next test checks it.)"""
    m = make(seed=11, n_macrophages=N_MAC, cell_params={"macrophage": {"tolerance_nfkb_weight": 0.0}})
    k = m.cell_types["macrophage"].params.polarization_per_min
    hold(m, TNF=1.0)
    drive = thresholded(occupancy("TNFR1", 1.0), m)
    after_1 = polarize(m, 1 / k)
    frac_1 = after_1["M0"] / N_MAC
    after_2 = polarize(m, 1 / k)  # continues: t = 2/k in all
    frac_2 = after_2["M0"] / N_MAC
    expect_1, expect_2 = math.exp(-drive), math.exp(-2 * drive)  # 0.38, 0.14 at θ = 0.5
    assert frac_1 == pytest.approx(expect_1, abs=binomial_tol(expect_1, N_MAC))  # ± 0.10
    assert frac_2 == pytest.approx(expect_2, abs=binomial_tol(expect_2, N_MAC))  # ± 0.07
    assert after_2["M2"] == 0  # no anti-inflammatory drive at all
    assert after_2["M1"] + after_2["M0"] == N_MAC


def test_macrophages_in_il10_turn_m2_and_never_m1():
    """IL-10 (JAK1/TYK2 -> STAT3) gives the anti signal θ_IL10R ≈ 0.88, drive A = (0.88 − θ)/(1 − θ):
    M2 fraction 1 − exp(−k A t), no M1."""
    m = make(seed=12, n_macrophages=N_MAC)
    k = m.cell_types["macrophage"].params.polarization_per_min
    hold(m, IL10=1.0)
    counts = polarize(m, 2 / k)
    expect = 1 - math.exp(-2 * thresholded(occupancy("IL10R", 1.0), m))  # 0.78 at θ = 0.5
    assert counts["M1"] == 0
    assert counts["M2"] / N_MAC == pytest.approx(expect, abs=binomial_tol(expect, N_MAC))


def test_macrophages_in_nothing_stay_m0():
    m = make(seed=13, n_macrophages=N_MAC)
    k = m.cell_types["macrophage"].params.polarization_per_min
    counts = polarize(m, 2 / k)
    assert counts == {"M0": N_MAC, "M1": 0, "M2": 0}


def test_mir21_exosomes_alone_turn_macrophages_m1():
    """Simeoli 2017 (Nat Commun 8:1778): miR-21 vesicles from injured neurons make macrophages pro-inflammatory.

    The load grows by ``uptake × c × V_cell × 0.6022`` vesicles per minute, checked exactly after one
    step; it is the only drive here (NF-κB stays 0), and it reaches > 0.9 of its maximum within ~15 min,
    so after 2/k most cells (≈ 1 − exp(−1.9) = 0.85) are M1 and none M2.
    """
    m = make(seed=14, n_macrophages=N_MAC)
    mac = m.cell_types["macrophage"]
    p = mac.params
    hold(m, miR21=1.0)
    mac.decide(1.0)
    expected_load = p.mir21_uptake_per_min * 1.0 * p.cell_volume_um3 * MOLECULES_PER_NM_UM3 * 1.0
    np.testing.assert_allclose(mac.pop["mir21_vesicles"], expected_load, rtol=1e-12)
    counts = polarize(m, 2 / p.polarization_per_min)
    assert float(np.abs(mac.pop["NFKB"]).max()) == 0.0
    assert counts["M2"] == 0
    assert counts["M1"] / N_MAC > 0.7
    # without the exosomes nothing happens
    control = make(seed=14, n_macrophages=N_MAC)
    assert polarize(control, 2 / p.polarization_per_min)["M1"] == 0


def test_jak1_inhibitor_cuts_il10_stat3_in_macrophages_but_not_tnf_nfkb():
    """Through the cell type: IL-10R needs JAK1 and TYK2, so JAK1 at 95% passes 5%; TNFR1 is not JAK-coupled."""
    free = make(seed=15, n_macrophages=50)
    blocked = make(seed=15, n_macrophages=50, inhibition={"JAK1": 0.95})
    for m in (free, blocked):
        hold(m, IL10=1.0, TNF=1.0)
        m.cell_types["macrophage"].sense(400.0)
    f, b = free.cell_types["macrophage"].pop, blocked.cell_types["macrophage"].pop
    assert float(f["STAT3"].min()) > 0.8
    np.testing.assert_allclose(b["STAT3"], 0.05 * f["STAT3"], rtol=1e-9)
    np.testing.assert_allclose(b["NFKB"], f["NFKB"], rtol=1e-12)
    assert float(b["NFKB"].min()) > 0.95


def test_nfkb_inhibition_stops_tnf_driven_m1():
    m = make(seed=16, n_macrophages=100, inhibition={"NFKB": 1.0})
    hold(m, TNF=1.0)
    counts = polarize(m, 240)
    assert counts["M1"] == 0


# --- macrophages: endotoxin (TLR) tolerance ---------------------------------------------------------------

WITH_PAMP = [*DEFAULT_MEDIATORS, "PAMP"]  # the agonist field exists only where something is injected


def test_tlr4_engagement_builds_tolerance_at_the_exact_rate():
    """dT/dt = u (1 − T)/τ_on − T/τ_off with θ_TLR4 held (PAMP at Kd: u = θ = 1/2, no NF-κB route here):
    T(t) = T∞ (1 − exp(−λ t)), λ = u/τ_on + 1/τ_off, T∞ = (u/τ_on)/λ — exact for any step."""
    m = make(seed=31, n_macrophages=20, mediators=WITH_PAMP, cell_params={"macrophage": {"tolerance_nfkb_weight": 0.0}})
    mac, p = m.cell_types["macrophage"], m.cell_types["macrophage"].params
    hold(m, PAMP=RECEPTORS["TLR4"].kd_nM)
    for _ in range(6):  # 6 steps of 20 min
        mac.sense(20.0)
    k_on = 0.5 / p.tolerance_on_min
    lam = k_on + 1.0 / p.tolerance_off_min
    np.testing.assert_allclose(mac.pop["tolerance"], k_on / lam * (1 - math.exp(-lam * 120.0)), rtol=1e-12)


def test_strong_nfkb_builds_tolerance_too_and_so_limits_a_sterile_tnf_il1_loop():
    """A20 and IRAK-M are NF-κB's own targets (Wertz 2004, Boone 2004; TNF cross-tolerance, Park 2011): TNF and
    IL-1β without any TLR agonist build tolerance at u = w N, N the NF-κB activity above its threshold, rescaled;
    the tolerance then cuts TNFR1/IL-1R1, so NF-κB under a held sterile stimulus falls toward that threshold. With
    the weight at 0 sterile NF-κB builds none."""
    m = make(seed=31, n_macrophages=20, mediators=WITH_PAMP)
    mac, p = m.cell_types["macrophage"], m.cell_types["macrophage"].params
    hold(m, TNF=1.0, IL1B=1.0)
    mac.sense(400.0)  # ≈ 27 pathway time constants: NF-κB at its target, then tolerance over the step with it
    strong = np.clip((mac.pop["NFKB"] - p.tolerance_nfkb_threshold) / (1 - p.tolerance_nfkb_threshold), 0, 1)
    k_on = p.tolerance_nfkb_weight * strong / p.tolerance_on_min
    lam = k_on + 1.0 / p.tolerance_off_min
    np.testing.assert_allclose(mac.pop["tolerance"], k_on / lam * (1 - np.exp(-lam * 400.0)), rtol=1e-12)
    first = float(mac.pop["NFKB"].mean())
    assert first > 0.9 and float(mac.pop["tolerance"].min()) > 0.3
    for _ in range(3 * 24):  # three days of the same TNF and IL-1β
        mac.sense(60.0)
    later = float(mac.pop["NFKB"].mean())
    assert later < 0.6 * first, (first, later)  # the loop limits itself
    assert later > p.tolerance_nfkb_threshold  # ... down toward the threshold, not to zero
    sterile = make(seed=31, n_macrophages=20, mediators=WITH_PAMP,
                   cell_params={"macrophage": {"tolerance_nfkb_weight": 0.0}})  # fmt: skip
    hold(sterile, TNF=1.0, IL1B=1.0)
    sterile.cell_types["macrophage"].sense(400.0)
    assert float(sterile.cell_types["macrophage"].pop["tolerance"].max()) == 0.0


@pytest.mark.parametrize(("ligand", "receptor"), [("TNF", "TNFR1"), ("IL1B", "IL1R1"), ("PAMP", "TLR4")])
def test_tolerance_cuts_tlr_il1r_and_tnfr_signal_by_one_minus_tmax_t(ligand, receptor):
    """Cross-tolerance: NF-κB target θ_R (1 − t_max T) for each NF-κB receptor alone (400 min ≈ 27 τ: activity =
    target); the tolerance used is the one at the start of the step."""
    m = make(seed=32, n_macrophages=30, mediators=WITH_PAMP)
    mac, p = m.cell_types["macrophage"], m.cell_types["macrophage"].params
    mac.pop["tolerance"] = 0.6
    hold(m, **{ligand: 1.0})
    mac.sense(400.0)
    expect = occupancy(receptor, 1.0) * (1 - p.tolerance_max * 0.6)
    np.testing.assert_allclose(mac.pop["NFKB"], expect, rtol=1e-9)


def test_ifng_rescues_tolerant_cells_release_but_not_their_signalling_and_a_jak_inhibitor_undoes_it():
    """Tolerant M1 cells (T = 1) release TNF at (1 − t_max T (1 − R)) of the full rate, R = STAT1 from IFN-γ
    (Chen & Ivashkiv 2010: IFN-γ restores transcription, not proximal TLR signalling); JAK1 blocked, R = 0."""
    out = {}
    for label, inhibition, ifng in (("tolerant", {}, 0.0), ("ifng", {}, 1.0), ("ifng+jak", {"JAK1": 1.0}, 1.0)):
        m = make(seed=33, n_macrophages=40, mediators=WITH_PAMP, inhibition=inhibition)
        mac = m.cell_types["macrophage"]
        mac.pop["state"] = 1
        mac.pop["tolerance"] = 1.0
        hold(m, TNF=1.0, IFNG=ifng)
        mac.sense(400.0)
        mac.pop["tolerance"] = 1.0  # undo the step's slight decay, for a hand-computable release
        m.env.clear_sources()
        mac.secrete()
        out[label] = (produced_molecules_per_min(m, "TNF"), float(mac.pop["NFKB"].mean()), float(mac.pop["STAT1"][0]))
    p = m.cell_types["macrophage"].params
    full = 60 * 40 * p.tnf_m1_molecules_per_s
    r = occupancy("IFNGR", 1.0)
    assert out["ifng"][2] == pytest.approx(r, rel=1e-9) and out["ifng+jak"][2] == 0.0
    assert out["tolerant"][0] == pytest.approx(full * (1 - p.tolerance_max), rel=1e-9)
    assert out["ifng"][0] == pytest.approx(full * (1 - p.tolerance_max * (1 - r)), rel=1e-9)
    assert out["ifng+jak"][0] == pytest.approx(out["tolerant"][0], rel=1e-9)
    assert out["ifng"][1] == pytest.approx(out["tolerant"][1], rel=1e-12)  # proximal NF-κB: not rescued


def test_tolerant_macrophages_turn_m2_like_and_never_m1():
    """The tolerant program E = t_max T joins the anti drive (Pena 2011: tolerance is an M2-like state): at T = 1,
    A = (0.9 − θ)/(1 − θ) = 0.8 before T slowly wanes, so most M0 cells are M2 after 2/k; untolerized ones stay M0."""
    m = make(seed=34, n_macrophages=N_MAC, mediators=WITH_PAMP)
    k = m.cell_types["macrophage"].params.polarization_per_min
    m.cell_types["macrophage"].pop["tolerance"] = 1.0
    counts = polarize(m, 2 / k)
    assert counts["M1"] == 0
    assert counts["M2"] / N_MAC > 0.6  # ≈ 1 − exp(−2 · 0.6) = 0.7 with T waning from 0.91
    control = make(seed=34, n_macrophages=N_MAC, mediators=WITH_PAMP)
    assert polarize(control, 2 / k) == {"M0": N_MAC, "M1": 0, "M2": 0}


# --- macrophages: secretion, mass balance -------------------------------------------------------------------


def macrophages_in_states(states, seed=21):
    """A model whose macrophages have the given state codes (0 M0, 1 M1, 2 M2) and no vessel sink."""
    m = make(seed=seed, n_macrophages=len(states))
    closed = np.zeros(m.grid.shape, dtype=bool)
    m.env.set_vessels(closed)  # closed no-flux box: nothing leaves but by decay
    m.env.set_vessel_exchange(closed, np.zeros(len(m.env.names)))  # ... nor through a vessel wall
    m.cell_types["macrophage"].pop["state"] = np.asarray(states, dtype=np.int8)
    return m


def test_m1_and_m2_release_what_their_rules_say_in_molecules_per_minute():
    """Σ q · V_voxel · 0.6022 equals the per-cell rates (molecules/s × 60) times the number of cells per state."""
    n0, n1, n2 = 20, 30, 25
    m = macrophages_in_states([0] * n0 + [1] * n1 + [2] * n2)
    mac = m.cell_types["macrophage"]
    p = mac.params
    m.env.clear_sources()
    mac.secrete()
    expected = {
        "TNF": 60 * (n1 * p.tnf_m1_molecules_per_s + n0 * p.tnf_m0_molecules_per_s),
        "IL1B": 60 * n1 * p.il1b_m1_molecules_per_s,
        "IL6": 60 * n1 * p.il6_m1_molecules_per_s,
        "CCL2": 60 * n1 * p.ccl2_m1_molecules_per_s,
        "PGE2": 60 * n1 * p.pge2_m1_molecules_per_s,
        "IL10": 60 * n2 * p.il10_m2_molecules_per_s,
    }
    for name, rate in expected.items():
        assert produced_molecules_per_min(m, name) == pytest.approx(rate, rel=1e-12), name
    # the release sits in the secreting cells' voxels only
    cells = np.zeros(m.grid.n_voxels, dtype=bool)
    cells[mac.pop["voxel"]] = True
    q = m.env.production_nM_per_min.reshape(len(m.env.names), -1)
    assert not q[:, ~cells].any()


@pytest.mark.parametrize(
    ("state", "silent", "loud"),
    [(1, ["IL10"], ["TNF", "IL1B", "IL6", "CCL2", "PGE2"]), (2, ["TNF", "IL1B", "IL6", "CCL2", "PGE2"], ["IL10"])],
    ids=["M1", "M2"],
)
def test_m1_cells_release_no_il10_and_m2_cells_no_inflammatory_mediators(state, silent, loud):
    m = macrophages_in_states([state] * 40)
    m.env.clear_sources()
    m.cell_types["macrophage"].secrete()
    for name in silent:
        assert produced_molecules_per_min(m, name) == 0.0, name
    for name in loud:
        assert produced_molecules_per_min(m, name) > 0.0, name


def test_what_macrophages_secrete_arrives_in_the_fields_with_exact_decay():
    """Closed box, constant release Q for n steps of dt: total_n = Q w Σ_{i<n} f^i with f = exp(−λ dt) and
    w = (1 − f)/λ exactly (the solver integrates production and decay together: total_n = Q (1 − f^n)/λ).

    (LOD reaction then no-flux diffusion; the implicit diffusion conserves mass to round-off.)
    """
    m = macrophages_in_states([1] * 30 + [2] * 30)
    env, mac = m.env, m.cell_types["macrophage"]
    env.clear_sources()
    mac.secrete()
    names = ["TNF", "IL6", "CCL2", "PGE2", "IL10"]
    q = {name: produced_molecules_per_min(m, name) for name in names}
    dt, steps = 1.0, 5
    for _ in range(steps):  # over time steps
        env.step(dt)
    total = dict(zip(env.names, env.total_molecules(), strict=True))
    for name in names:
        lam = env.mediators[env.index(name)].decay_per_min
        f = math.exp(-lam * dt)
        w = -math.expm1(-lam * dt) / lam
        expect = q[name] * w * sum(f**i for i in range(steps))
        assert total[name] == pytest.approx(expect, rel=1e-9), name
        assert float(env.field(name).min()) >= 0.0


# --- chemotaxis at the cell-type level ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["macrophage", "t_cell"])
def test_cells_drift_up_a_ccl2_gradient_and_not_in_a_flat_field(kind):
    """30 min of walking with CCL2 rising along x (0.01 nM per voxel on 1 nM): mean Δx > 0 by > 4 standard errors.

    In a flat field of the same level the gradient is 0 and the walk unbiased: |mean Δx| < 4 standard errors.
    """
    shifts = {}
    for slope in (0.01, 0.0):
        m = make(seed=31, **{"n_macrophages" if kind == "macrophage" else "n_t_cells": 200})
        ct = m.cell_types[kind]
        hold(m, CCL2=1.0 + slope * np.arange(m.grid.shape[0])[:, None])
        x0 = ct.pop.position_um[:, 0].copy()
        for _ in range(30):  # over minutes
            ct.walk(1.0, ct.params.speed_um_per_min)
        dx = ct.pop.position_um[:, 0] - x0
        shifts[slope] = (float(dx.mean()), float(dx.std(ddof=1) / math.sqrt(dx.size)))
    (up, se_up), (flat, se_flat) = shifts[0.01], shifts[0.0]
    assert up > 4 * se_up
    assert abs(flat) < 4 * se_flat
    if kind == "macrophage":  # bias 0.7: a strong drift, ~2/3 of the 120 µm walked
        assert up > 40.0


def test_activated_macrophages_slow_down():
    m = macrophages_in_states([1] * 50 + [0] * 50, seed=32)
    mac = m.cell_types["macrophage"]
    p = mac.params
    x0 = mac.pop.position_um.copy()
    mac.move(1.0)  # may also remove a cell (death 2.1e-4/min): match survivors by id
    alive = np.isin(np.arange(100), mac.pop.ids)
    step = np.sqrt(((mac.pop.position_um - x0[alive]) ** 2).sum(axis=1))
    was_m1 = mac.pop.ids < 50
    assert float(step[was_m1].max()) <= p.activated_speed_um_per_min + 1e-9
    assert float(step[~was_m1].max()) <= p.speed_um_per_min + 1e-9
    assert float(step[~was_m1].max()) > p.activated_speed_um_per_min


# --- mast cells ---------------------------------------------------------------------------------------------

N_MAST = 40


def mast_model(seed=41, **kwargs):
    return make(seed=seed, n_mast_cells=N_MAST, **kwargs)


def step_holding(model, steps, **conc_nM):
    """Full model steps, re-writing the given fields before each (the mast cells read them in ``decide``)."""
    for _ in range(steps):  # over time steps
        hold(model, **conc_nM)
        model.step()


@pytest.mark.parametrize(
    ("name", "half_key"), [("SP", "sp_half_effect_nM"), ("CGRP", "cgrp_half_effect_nM")], ids=["SP", "CGRP"]
)
def test_mast_cells_degranulate_only_above_threshold(name, half_key):
    """Trigger h = c/(c + K) >= 0.5 exactly when c >= K: at 0.8 K nothing in 30 min; at 1.25 K every cell at once."""
    below = mast_model()
    k = getattr(below.cell_types["mast_cell"].params, half_key)
    step_holding(below, 30, **{name: 0.8 * k})
    assert below.cell_types["mast_cell"].event_counts["degranulated"] == 0
    assert float(below.cell_types["mast_cell"].pop["granules"].min()) == 1.0

    above = mast_model()
    step_holding(above, 1, **{name: 1.25 * k})
    mc = above.cell_types["mast_cell"]
    assert mc.census() == {"resting": 0, "refractory": N_MAST}
    np.testing.assert_allclose(mc.pop["granules"], 1.0 - mc.params.quantum_fraction, rtol=1e-12)


def test_a_degranulation_releases_one_quantum_of_every_granule_content():
    m = mast_model(seed=42)
    mc = m.cell_types["mast_cell"]
    p = mc.params
    step_holding(m, 1, SP=10.0)
    for name in GRANULE_CONTENT:  # the whole quantum leaves within the step
        store = getattr(p, f"{name.lower()}_molecules")
        constitutive = 60.0 * p.tnf_molecules_per_s * N_MAST if name == "TNF" else 0.0
        expect = N_MAST * p.quantum_fraction * store / m.cell_dt_min + constitutive
        assert produced_molecules_per_min(m, name) == pytest.approx(expect, rel=1e-9), name
    hist = m.env.field("histamine")
    assert float(hist.reshape(-1)[mc.pop["voxel"]].min()) > 0.0
    # the next step: refractory, no burst, only constitutive release
    step_holding(m, 1, SP=10.0)
    assert produced_molecules_per_min(m, "histamine") == 0.0


def test_mast_cells_are_refractory_then_degranulate_again():
    """Fired at t = 0 with ``refractory_min`` = 60: a held trigger does nothing at t = 1..59 and fires again at t = 60.

    The second quantum is ``quantum_fraction`` of what refilled meanwhile: granules 0.5 + 60/refill_min.
    """
    m = mast_model(seed=43)
    mc = m.cell_types["mast_cell"]
    p = mc.params
    assert p.refractory_min == 60.0
    step_holding(m, 60, SP=10.0)  # decisions at t = 0..59
    assert mc.event_counts["degranulated"] == N_MAST
    assert mc.census()["refractory"] == N_MAST
    np.testing.assert_allclose(mc.pop["granules"], 0.5 + 59 / p.refill_min, rtol=1e-12)
    step_holding(m, 1, SP=10.0)  # decision at t = 60
    assert mc.event_counts["degranulated"] == 2 * N_MAST
    np.testing.assert_allclose(mc.pop["released"], p.quantum_fraction * (0.5 + 60 / p.refill_min), rtol=1e-12)
    rec = m.inspect("mast_cell", int(mc.pop.ids[0]))
    assert rec["latest_event"] == "degranulated"
    assert rec["latest_event_at_min"] == 60.0


def test_granules_refill_linearly_over_refill_min_and_cap_at_one():
    m = mast_model(seed=44)
    mc = m.cell_types["mast_cell"]
    mc.pop["granules"] = 0.2
    for _ in range(100):  # over minutes, no trigger
        mc.decide(1.0)
    np.testing.assert_allclose(mc.pop["granules"], 0.2 + 100 / mc.params.refill_min, rtol=1e-12)
    mc.pop["granules"] = 0.9999
    mc.decide(10.0)
    assert float(mc.pop["granules"].max()) == 1.0


@pytest.mark.parametrize(("stimulus", "fires"), [(0.4, False), (1.0, True)])
def test_scenario_stimulus_attribute_triggers_mast_cells(stimulus, fires):
    m = mast_model(seed=45)
    m.mast_cell_stimulus = stimulus
    m.step()
    assert m.cell_types["mast_cell"].event_counts["degranulated"] == (N_MAST if fires else 0)


def test_mast_cells_do_not_move():
    m = mast_model(seed=46)
    mc = m.cell_types["mast_cell"]
    before = mc.pop.position_um.copy()
    step_holding(m, 5, SP=10.0)
    np.testing.assert_array_equal(mc.pop.position_um, before)
