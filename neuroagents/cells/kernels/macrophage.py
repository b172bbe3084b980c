"""Macrophage sense, decide and secrete, fused per cell (numba); the reference is
:class:`neuroagents.cells.macrophage.Macrophage`.

Each phase is one pass over the cells except where the reference takes NumPy's ``exp`` of a per-cell array
(see :mod:`neuroagents.cells.kernels`): sense stops before the tolerance's ``exp(−λ dt)``, decide before the
transition probability ``1 − exp(−k dt)``; NumPy takes the ``exp`` and a second kernel finishes the phase.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuroagents.cells.kernels.signaling import JIT, occupancy, pack, pathway_columns, relax_cell
from neuroagents.cells.macrophage import TOLERIZED_RECEPTORS
from neuroagents.cells.signaling import PATHWAYS
from neuroagents.errors import ConfigError
from neuroagents.units import MOLECULES_PER_NM_UM3

__all__ = ["decide", "secrete", "sense"]

NFKB, STAT1, STAT3, STAT5, STAT6 = (PATHWAYS.index(p) for p in ("NFKB", "STAT1", "STAT3", "STAT5", "STAT6"))
EXPORTS = ("TNF", "IL1B", "IL6", "CCL2", "PGE2", "IL10", "opioid")
"""What macrophages release, in the reference's order (:meth:`Macrophage.secrete`)."""


# --- sense ----------------------------------------------------------------------------------------
@njit(**JIT)
def sense_kernel(voxel, flat, rows, free, hill, kdh, block, kgate, drives, path_inh, relax, cut, t_max, tolerance,
                 tlr_row, tlr_free, tlr_hill, tlr_kdh, tlr_blocked, on_min, off_min, w_nfkb, theta, acts, tlr4, inducer,
                 lam):  # fmt: skip
    """Pathways (tolerance cutting the receptors marked in ``cut``), TLR4 engagement, what induces tolerance
    (:meth:`Macrophage.tolerance_inducer`) and ``λ`` of the tolerance."""
    silent = np.empty(path_inh.shape[0])
    for i in range(voxel.shape[0]):
        gate = 1.0 - t_max * tolerance[i]
        relax_cell(i, voxel[i], flat, rows, free, hill, kdh, block, kgate, drives, path_inh, relax, cut, gate, silent,
                   acts)  # fmt: skip
    for i in range(voxel.shape[0]):  # a loop of its own: in the one above, it made that one 5x slower (measured)
        v = voxel[i]
        occ = occupancy(flat[tlr_row, v] * tlr_free, tlr_hill, tlr_kdh) if tlr_row >= 0 else 0.0
        tlr = occ * (1.0 - tlr_blocked)
        tlr4[i] = tlr
        u = tlr
        if w_nfkb != 0.0:
            strong = min(max((acts[NFKB][i] - theta) / (1.0 - theta), 0.0), 1.0)
            u = tlr + w_nfkb * strong * (1.0 - tlr)
        inducer[i] = u
        lam[i] = u / on_min + 1.0 / off_min


@njit(**JIT)
def tolerance_kernel(inducer, decay, on_min, off_min, tolerance):
    """``T = T∞ + (T − T∞) e^{−λ dt}`` with ``decay`` = NumPy's ``exp(−λ dt)``, in place."""
    for i in range(inducer.shape[0]):
        k_on = inducer[i] / on_min
        lam = k_on + 1.0 / off_min
        t_inf = k_on / lam
        tolerance[i] = t_inf + (tolerance[i] - t_inf) * decay[i]


def sense(ct, dt_min: float) -> bool:
    """Fused :meth:`Macrophage.sense`; False where the inhibition differs from cell to cell (the reference runs)."""
    if ct.n == 0:
        return True
    t = pack(ct, dt_min)
    if t is None:
        return False
    p, pop, m = ct.params, ct.pop, ct.model
    env = m.env
    flat = env.fields.reshape(len(env.names), -1)
    names = [r.name for r in ct.signaling.receptors]
    cut = np.array([r in TOLERIZED_RECEPTORS for r in names], dtype=np.uint8)
    k = names.index("TLR4")
    lam, inducer = np.empty(ct.n), np.empty(ct.n)
    tlr_blocked = float(m.inhibition.get("TLR4", 0.0))
    sense_kernel(pop["voxel"], flat, t.rows, t.free, t.hill, t.kdh, t.block, t.kgate, t.drives, t.path_inh, t.relax,
                 cut, p.tolerance_max, pop["tolerance"], t.rows[k], t.free[k], t.hill[k], t.kdh[k], tlr_blocked,
                 p.tolerance_on_min, p.tolerance_off_min, p.tolerance_nfkb_weight, p.tolerance_nfkb_threshold,
                 pathway_columns(pop), pop["tlr4"], inducer, lam)  # fmt: skip
    decay = np.exp(-lam * dt_min)  # NumPy's exp, as the reference takes it
    tolerance_kernel(inducer, decay, p.tolerance_on_min, p.tolerance_off_min, pop["tolerance"])
    return True


# --- decide ---------------------------------------------------------------------------------------
@njit(inline="always", **JIT)
def _rates(i, acts, tlr4, tolerance, vesicles, state, half, mir_block, t_max, theta, pol, repol, rev):
    """Rates to M1, M2, M0 of cell ``i`` (1/min), as :meth:`Macrophage.drives` and :meth:`Macrophage.decide`."""
    x = vesicles[i]
    if x < 0.0:
        x = 0.0
    mir = x / (x + half)
    mir = mir * (1.0 - mir_block)
    nfkb, stat1, stat5 = acts[NFKB][i], acts[STAT1][i], acts[STAT5][i]
    second = 1.0 - (1.0 - nfkb) * (1.0 - tlr4[i]) * (1.0 - mir)
    primed = stat1 * second
    pro = 1.0 - (1.0 - nfkb) * (1.0 - primed) * (1.0 - stat5) * (1.0 - mir)
    restored = 1.0 - (1.0 - stat1) * (1.0 - stat5)
    tol = t_max * tolerance[i] * (1.0 - restored)
    anti = 1.0 - (1.0 - acts[STAT6][i]) * (1.0 - acts[STAT3][i]) * (1.0 - tol)
    pro = min(max((pro - theta) / (1.0 - theta), 0.0), 1.0)
    anti = min(max((anti - theta) / (1.0 - theta), 0.0), 1.0)
    s = state[i]
    r1 = (pol * pro * (1 - anti) if s == 0 else 0.0) + (repol * pro if s == 2 else 0.0)
    r2 = (pol * anti * (1 - pro) if s == 0 else 0.0) + (repol * anti if s == 1 else 0.0)
    r0 = rev * (1 - pro) * (1 - anti) if s != 0 else 0.0
    return r1, r2, r0


@njit(**JIT)
def decide_kernel(voxel, flat, mir_row, mir_free, gain, keep, dt, acts, tlr4, tolerance, vesicles, state, half,
                  mir_block, t_max, theta, pol, repol, rev, age, exponent):  # fmt: skip
    """Age, miR-21 load, and ``−k dt`` of each cell's transitions into ``exponent`` (for NumPy's ``exp``)."""
    for i in range(voxel.shape[0]):
        age[i] += dt
        if mir_row >= 0:
            mir = flat[mir_row, voxel[i]] * mir_free
            vesicles[i] = vesicles[i] * keep + gain[0] * mir * gain[1] * gain[2] * dt
        r1, r2, r0 = _rates(i, acts, tlr4, tolerance, vesicles, state, half, mir_block, t_max, theta, pol, repol,
                            rev)  # fmt: skip
        exponent[i] = -(r1 + r2 + r0) * dt


@njit(**JIT)
def transition_kernel(acts, tlr4, tolerance, vesicles, state, half, mir_block, t_max, theta, pol, repol, rev,
                      survive, u, v, event, counts):  # fmt: skip
    """Apply the transitions (``survive`` = NumPy's ``exp(−k dt)``; ``u``, ``v`` the reference's draws).

    ``event[i]``: 0 none, 1 to M1, 2 to M2, 3 to M0; ``counts[1:4]`` how many of each.
    """
    for i in range(state.shape[0]):
        event[i] = 0
        r1, r2, r0 = _rates(i, acts, tlr4, tolerance, vesicles, state, half, mir_block, t_max, theta, pol, repol,
                            rev)  # fmt: skip
        total = r1 + r2 + r0
        if u[i] < 1.0 - survive[i]:
            w = v[i] * max(total, 1e-300)
            if w < r1:
                state[i], event[i] = 1, 1
            elif w < r1 + r2:
                state[i], event[i] = 2, 2
            else:
                state[i], event[i] = 0, 3
            counts[event[i]] += 1


def decide(ct, dt_min: float) -> bool:
    """Fused :meth:`Macrophage.decide` (the base's ageing included)."""
    p, pop, m = ct.params, ct.pop, ct.model
    if ct.n == 0:
        return True
    env = m.env
    flat = env.fields.reshape(len(env.names), -1)
    on_grid = "miR21" in env.names
    mir_row = env.index("miR21") if on_grid else -1
    mir_free = m.free_fraction("miR21") if on_grid else 1.0
    keep = float(np.exp(-p.mir21_loss_per_min * dt_min))  # NumPy's scalar exp, as the reference
    gain = np.array([p.mir21_uptake_per_min, p.cell_volume_um3, MOLECULES_PER_NM_UM3])
    acts = pathway_columns(pop)
    rules = (pop["tlr4"], pop["tolerance"], pop["mir21_vesicles"], pop["state"], p.mir21_half_effect_vesicles,
             float(m.mirna_block.get("miR21", 0.0)), p.tolerance_max, p.polarization_drive_threshold,
             p.polarization_per_min, p.repolarization_per_min, p.reversion_per_min)  # fmt: skip
    exponent = np.empty(ct.n)
    decide_kernel(pop["voxel"], flat, mir_row, mir_free, gain, keep, dt_min, acts, *rules, pop["age_min"], exponent)
    survive = np.exp(exponent)  # NumPy's exp, as the reference takes it
    u = m.rng.random(ct.n)
    v = m.rng.random(ct.n)
    event = np.empty(ct.n, dtype=np.int8)
    counts = np.zeros(4, dtype=np.int64)
    transition_kernel(acts, *rules, survive, u, v, event, counts)
    for code, name in ((1, "to_M1"), (2, "to_M2"), (3, "to_M0")):  # over three events, in the reference's order
        if counts[code]:
            ct.mark(event == code, name)
    return True


# --- secrete --------------------------------------------------------------------------------------
@njit(**JIT)
def secrete_kernel(voxel, state, acts, tolerance, t_max, rates, on, q_rows, per_nM, k_row, k_uptake, bad, bad_set):
    """Scatter-add of the seven exports (molecules/min -> nM/min) and the miR-21 uptake, in cell order.

    ``rates``: molecules/s of TNF (M1), TNF (M0), IL-1β, IL-6, CCL2, PGE2 (times COX-2 left), IL-10 (M2), then
    the COX-2 left, and the opioid peptides of M1 and of M2 (not tolerizable);
    ``on[j]``: whether export ``j`` happens; ``k_uptake`` < 0: no uptake. ``bad[j]`` gets the first negative or
    non-finite release of export ``j`` (nM/min) and ``bad_set[j]`` = 1.
    """
    per_s = 60.0
    for i in range(voxel.shape[0]):
        v = voxel[i]
        s = state[i]
        m1 = 1.0 if s == 1 else 0.0
        restored = 1.0 - (1.0 - acts[STAT1][i]) * (1.0 - acts[STAT5][i])
        m1_tol = m1 * (1.0 - t_max * tolerance[i] * (1.0 - restored))
        for j in range(7):
            if not on[j]:
                continue
            if j == 0:
                x = per_s * (m1_tol * rates[0] + (1.0 if s == 0 else 0.0) * rates[1])
            elif j == 4:
                x = per_s * m1_tol * rates[5] * rates[7]
            elif j == 5:
                x = per_s * (1.0 if s == 2 else 0.0) * rates[6]
            elif j == 6:
                x = per_s * (m1 * rates[8] + (1.0 if s == 2 else 0.0) * rates[9])
            else:
                x = per_s * m1_tol * rates[j + 1]
            x = x * per_nM
            if not (x >= 0.0 and x < np.inf) and not bad_set[j]:  # False for NaN, inf and negatives
                bad[j], bad_set[j] = x, 1
            q_rows[j][v] += x
        if k_uptake >= 0.0:
            k_row[v] += k_uptake


def secrete(ct) -> bool:
    """Fused :meth:`Macrophage.secrete`."""
    p, pop, m = ct.params, ct.pop, ct.model
    if ct.n == 0:
        return True
    env = m.env
    knocked = m.knockouts.mediators
    on = np.array([name in env.names and name not in knocked for name in EXPORTS], dtype=np.uint8)
    dummy = np.zeros(1)
    q_rows = tuple(env.source_rows(env.index(name), consumption=False)[0].reshape(-1) if on[j] else dummy
                   for j, name in enumerate(EXPORTS))  # fmt: skip
    cox = 1.0 - m.enzyme_inhibition.get("COX2", 0.0)
    rates = np.array([p.tnf_m1_molecules_per_s, p.tnf_m0_molecules_per_s, p.il1b_m1_molecules_per_s,
                      p.il6_m1_molecules_per_s, p.ccl2_m1_molecules_per_s, p.pge2_m1_molecules_per_s,
                      p.il10_m2_molecules_per_s, cox, p.opioid_m1_molecules_per_s,
                      p.opioid_m2_molecules_per_s])  # fmt: skip
    per_nM = 1.0 / (MOLECULES_PER_NM_UM3 * env.grid.voxel_volume_um3)
    if "miR21" in env.names:
        k_row = env.source_rows(env.index("miR21"))[1].reshape(-1)
        k_uptake = p.mir21_uptake_per_min * (p.cell_volume_um3 / env.grid.voxel_volume_um3)
    else:
        k_row, k_uptake = dummy, -1.0
    bad, bad_set = np.zeros(7), np.zeros(7, dtype=np.uint8)
    secrete_kernel(pop["voxel"], pop["state"], pathway_columns(pop), pop["tolerance"], p.tolerance_max, rates, on,
                   q_rows, per_nM, k_row, k_uptake, bad, bad_set)  # fmt: skip
    for j, name in enumerate(EXPORTS):  # over seven mediators
        if bad_set[j]:
            raise ConfigError(f"secretion.{name}.molecules_per_min", float(bad[j]), "finite and >= 0 for every cell")
    return True
