"""The cell rules of neuroagents written the naive Mesa way: one ``mesa.Agent`` per cell.

This is the baseline of ``bench/cells.py``. Every cell is a Python object
with a ``step()`` method (sense, decide, secrete) and a ``move()`` method
(persistent random walk with chemotaxis, crowding, death, division),
and the model calls them for every agent in a random order, as a Mesa model
usually does. Per cell, in plain Python:

* read the local concentration from the NumPy field by indexing
  (``fields[m, voxel]``);
* receptor occupancy ``L^h / (L^h + Kd^h)``, the kinase gates, the pathways'
  probabilistic OR and their exponential relaxation
  (:mod:`neuroagents.cells.signaling`, same :data:`RECEPTORS` table);
* the state-change rules of the five types (polarization with TLR tolerance,
  degranulation and refill, activation with hysteresis, division up to a
  ceiling, death);
* secretion and uptake into the source terms by ``+=`` (BioFVM rule, as
  :mod:`neuroagents.tissue.exchange`);
* the PhysiCell random walk with chemotaxis, refused moves off the grid, out
  of the compartment or into a voxel holding ``crowding_limit`` cells of any
  kind (as the vectorized types count them: a dict of counts per voxel,
  checked cell by cell in the random order);
* recruitment and infiltration from vessel voxels (a loop over vessel voxels).

The parameters are the very dataclasses of ``neuroagents/cells/*.py`` (the
same instances, with the same overrides), the tissue is the vectorized
model's (same :class:`~neuroagents.tissue.Grid`, regions,
:class:`~neuroagents.tissue.Microenvironment` and stromal COX-2 rule,
:class:`~neuroagents.stroma.Stroma`, the leak, :class:`~neuroagents.swelling.Swelling`
(its endothelial B2 receptors tire of bradykinin), and the kinin source,
:class:`~neuroagents.kinins.Kinins`, all vectorized over voxels and run
after the cells' release as in the vectorized secrete phase), and the
initial cells are the vectorized model's cells for the same keyword
arguments and seed. Only the cell code differs. The baseline covers one
tissue patch without drugs, interventions or injections (the benchmark's
workloads); other models are refused.

The naive code is written as a careful Python programmer would write it, not
tuned: constants of a step (relaxation factors, kinase gates) are computed
once per step, and a random number is drawn only when a rule needs it.

Differences from the vectorized model that change no statistics: cells are
updated one after another in a random order (so crowding is first come,
first served instead of a random choice among the movers into a full
voxel), and random numbers come from Python's generator.

Examples
--------
>>> m = NaiveMesaModel(width_um=400, height_um=400, n_macrophages=20, n_mast_cells=5, n_neurons=4, seed=1)
>>> m.step()
>>> m.steps, m.time_min, len(m.agents) >= 28
(1, 1.0, True)
"""

from __future__ import annotations

import math
from collections import deque

import mesa

from neuroagents.cells.mast_cell import GRANULE_CONTENT
from neuroagents.cells.microglia import MICROGLIAL_IFNGR
from neuroagents.cells.signaling import PATHWAYS, RECEPTORS, Receptor, receptor_gate
from neuroagents.kinins import Kinins
from neuroagents.model import NeuroImmuneModel
from neuroagents.stroma import Stroma
from neuroagents.swelling import Swelling
from neuroagents.units import MOLECULES_PER_NM_UM3

__all__ = ["NaiveMesaModel"]


def _hill(x: float, k: float) -> float:
    x = max(x, 0.0)
    return x / (x + k)


def _kinase_gate(requirement: tuple, inhibition: dict) -> float:
    """Fraction of a receptor's signal that passes its kinases (scalar twin of the vectorized gate)."""
    gate = 1.0
    for req in requirement:
        if isinstance(req, tuple):
            blocked = 1.0
            for k in req:
                blocked *= inhibition.get(k, 0.0)
            gate *= 1.0 - blocked
        else:
            gate *= 1.0 - inhibition.get(req, 0.0)
    return gate


class NaiveCell(mesa.Agent):
    """One cell: position, direction, state, pathway activities; rules in Python.

    Parameters
    ----------
    model : NaiveMesaModel
    position : sequence of float
        Position, µm (``ndim`` values).
    direction : sequence of float, optional
        Unit direction of motion (random if not given).
    state : int
        Index into :attr:`states`.
    **columns
        Initial values of the type's own attributes (``mir21_vesicles``,
        ``granules``, ``P38``, ...).
    """

    kind = "cell"
    states: tuple[str, ...] = ("default",)
    receptors: tuple[str, ...] = ()
    chemoattractant: str | None = None
    attributes: tuple[str, ...] = ()

    def __init__(self, model, position, direction=None, state=0, **columns):
        super().__init__(model)
        self.params = model.params[self.kind]
        self.position = list(position)
        self.direction = self.random_direction() if direction is None else list(direction)
        self.voxel = model.voxel_of(self.position)
        self.state = int(state)
        self.age_min = 0.0
        self.activity = {p: float(columns.pop(p, 0.0)) for p in PATHWAYS}
        for name in self.attributes:
            setattr(self, name, columns.pop(name, 0.0))
        if columns:
            raise TypeError(f"{self.kind}: unknown attributes {sorted(columns)}")
        self.last_event = "born"
        self.last_event_min = model.time_min
        model.occupancy[self.voxel] = model.occupancy.get(self.voxel, 0) + 1

    # --- the agent's step ------------------------------------------------------------------
    def step(self) -> None:
        """Sense, decide and secrete (the part of the step before diffusion)."""
        dt = self.model.cell_dt_min
        self.sense(dt)
        self.decide(dt)
        self.secrete()

    def sense(self, dt_min: float) -> None:
        """Pathway activities relax toward what the receptors' ligands drive."""
        if not self.receptors:
            return
        m = self.model
        silent = dict.fromkeys(PATHWAYS, 1.0)
        for entry in self.receptors:
            r = entry if isinstance(entry, Receptor) else RECEPTORS[entry]  # a cell type's own reading, or shared
            c = max(self.concentration(r.ligand), 0.0)
            ch = c**r.hill
            occupied = ch / (ch + r.kd_nM**r.hill)
            block = self.receptor_block(r.name)
            if block is not None:
                occupied *= 1.0 - block
            signal = occupied * m.kinase_gate[r.name]
            for p in r.pathways:
                silent[p] *= 1.0 - signal
        for p in PATHWAYS:
            target = (1.0 - silent[p]) * m.pathway_pass[p]
            a = self.activity[p]
            self.activity[p] = a + (target - a) * m.relax[p]

    def receptor_block(self, receptor: str) -> float | None:
        """Fractional blockade of ``receptor`` (the model's inhibition), or None when it is not blocked."""
        return self.model.inhibition.get(receptor)

    def concentration(self, mediator: str) -> float:
        """Concentration (nM) of ``mediator`` in the cell's voxel; 0 if it is not on the grid."""
        m = self.model
        i = m.mediator_index.get(mediator)
        return 0.0 if i is None else float(m.fields[i, self.voxel])

    def decide(self, dt_min: float) -> None:
        self.age_min += dt_min

    def secrete(self) -> None:
        """No release by default."""

    def move(self) -> None:
        """Walk if motile, then die at ``death_per_min``."""
        p, dt = self.params, self.model.cell_dt_min
        if getattr(p, "speed_um_per_min", 0.0) > 0:
            self.walk(dt, p.speed_um_per_min)
        self.maybe_die(dt)

    # --- helpers ------------------------------------------------------------------------------
    def mark(self, event: str) -> None:
        m = self.model
        self.last_event = event
        self.last_event_min = m.time_min
        m.event_counts[self.kind][event] = m.event_counts[self.kind].get(event, 0) + 1
        m.events.append((m.time_min, self.kind, event, self.unique_id))

    def maybe_die(self, dt_min: float, rate: float | None = None) -> bool:
        rate = getattr(self.params, "death_per_min", 0.0) if rate is None else rate
        if rate > 0 and self.random.random() < 1.0 - math.exp(-rate * dt_min):
            self.mark("died")
            self.model.remove_cell(self)
            return True
        return False

    def random_direction(self) -> list[float]:
        v = [self.random.gauss(0.0, 1.0) for _ in range(self.model.ndim)]
        norm = math.sqrt(sum(x * x for x in v))
        return [x / max(norm, 1e-12) for x in v]

    def walk(self, dt_min: float, speed: float) -> None:
        """PhysiCell's persistent random walk with chemotaxis; refused moves stay put."""
        m, p = self.model, self.params
        if self.random.random() < 1.0 - math.exp(-dt_min / p.persistence_min):  # turn
            new = self.random_direction()
            if self.chemoattractant in m.mediator_index:
                g = m.gradient(self.chemoattractant, self.voxel)
                gnorm = math.sqrt(sum(x * x for x in g))
                ghat = [x / gnorm for x in g] if gnorm > 0 else [0.0] * len(g)
                b = p.chemotaxis_bias
                mixed = [(1.0 - b) * u + b * gh for u, gh in zip(new, ghat, strict=True)]
                norm = math.sqrt(sum(x * x for x in mixed))
                if norm > 1e-12:
                    new = [x / norm for x in mixed]
            self.direction = new
        if speed <= 0:
            return
        proposal = [x + d * speed * dt_min for x, d in zip(self.position, self.direction, strict=True)]
        if not m.inside(proposal):
            return
        voxel = m.voxel_of(proposal)
        if not m.allowed[voxel]:
            return
        if voxel != self.voxel:
            occupancy = m.occupancy  # cells of every kind (the vectorized crowding counts all types)
            if occupancy.get(voxel, 0) >= m.crowding_limit:
                return
            occupancy[self.voxel] -= 1
            occupancy[voxel] = occupancy.get(voxel, 0) + 1
            self.voxel = voxel
        self.position = proposal


class NaiveMacrophage(NaiveCell):
    """M0/M1/M2 polarization, release by state, miR-21 uptake, slower when activated."""

    kind = "macrophage"
    states = ("M0", "M1", "M2")
    receptors = ("TNFR1", "IL1R1", "IFNGR", "CSF2R", "IL10R", "IL4R", "IL13R", "TLR4")
    chemoattractant = "CCL2"
    attributes = ("recruited", "mir21_vesicles", "tolerance", "tlr4")
    tolerized = ("TLR4", "IL1R1", "TNFR1")  # receptors whose signal TLR tolerance cuts

    def receptor_block(self, receptor: str) -> float | None:
        """The model's blockade, and for TLR4, IL-1R1 and TNFR1 also this cell's tolerance."""
        block = self.model.inhibition.get(receptor)
        if receptor not in self.tolerized:
            return block
        gate = 1.0 - self.params.tolerance_max * self.tolerance
        return 1.0 - (1.0 - (0.0 if block is None else block)) * gate

    def sense(self, dt_min: float) -> None:
        """Pathway activities, then tolerance relaxes toward what TLR4 engagement and strong NF-κB (A20, IRAK-M)
        drive (exact update)."""
        super().sense(dt_min)
        p, r = self.params, RECEPTORS["TLR4"]
        c = max(self.concentration(r.ligand), 0.0)
        ch = c**r.hill
        tlr = ch / (ch + r.kd_nM**r.hill) * (1.0 - self.model.inhibition.get("TLR4", 0.0))
        self.tlr4 = tlr  # the innate second signal IFN-γ needs
        inducer = tlr
        if p.tolerance_nfkb_weight != 0.0:
            theta = p.tolerance_nfkb_threshold
            strong = min(max((self.activity["NFKB"] - theta) / (1.0 - theta), 0.0), 1.0)
            inducer = tlr + p.tolerance_nfkb_weight * strong * (1.0 - tlr)
        k_on = inducer / p.tolerance_on_min
        lam = k_on + 1.0 / p.tolerance_off_min
        t_inf = k_on / lam
        self.tolerance = t_inf + (self.tolerance - t_inf) * math.exp(-lam * dt_min)

    def tolerant_program(self) -> float:
        """``E = t_max T (1 − R)``, ``R`` the rescue by IFN-γ and GM-CSF (STAT1, STAT5)."""
        a = self.activity
        restored = 1.0 - (1.0 - a["STAT1"]) * (1.0 - a["STAT5"])
        return self.params.tolerance_max * self.tolerance * (1.0 - restored)

    def decide(self, dt_min: float) -> None:
        self.age_min += dt_min
        p, a = self.params, self.activity
        if "miR21" in self.model.mediator_index:
            gained = p.mir21_uptake_per_min * self.concentration("miR21") * p.cell_volume_um3 * MOLECULES_PER_NM_UM3
            self.mir21_vesicles = self.mir21_vesicles * math.exp(-p.mir21_loss_per_min * dt_min) + gained * dt_min
        mir = _hill(self.mir21_vesicles, p.mir21_half_effect_vesicles)
        second = 1.0 - (1.0 - a["NFKB"]) * (1.0 - self.tlr4) * (1.0 - mir)  # IFN-γ primes; it needs a second signal
        pro = 1.0 - (1.0 - a["NFKB"]) * (1.0 - a["STAT1"] * second) * (1.0 - a["STAT5"]) * (1.0 - mir)
        anti = 1.0 - (1.0 - a["STAT6"]) * (1.0 - a["STAT3"]) * (1.0 - self.tolerant_program())
        theta = p.polarization_drive_threshold  # only signal above the threshold drives polarization
        pro = min(max((pro - theta) / (1.0 - theta), 0.0), 1.0)
        anti = min(max((anti - theta) / (1.0 - theta), 0.0), 1.0)
        to_m1 = to_m2 = to_m0 = 0.0
        if self.state == 0:
            to_m1 = p.polarization_per_min * pro * (1.0 - anti)
            to_m2 = p.polarization_per_min * anti * (1.0 - pro)
        else:
            to_m0 = p.reversion_per_min * (1.0 - pro) * (1.0 - anti)
            if self.state == 1:
                to_m2 = p.repolarization_per_min * anti
            else:
                to_m1 = p.repolarization_per_min * pro
        total = to_m1 + to_m2 + to_m0
        if self.random.random() < 1.0 - math.exp(-total * dt_min):
            v = self.random.random() * total
            if v < to_m1:
                self.state = 1
                self.mark("to_M1")
            elif v < to_m1 + to_m2:
                self.state = 2
                self.mark("to_M2")
            else:
                self.state = 0
                self.mark("to_M0")

    def secrete(self) -> None:
        m, p, v = self.model, self.params, self.voxel
        if self.state == 1:
            tol = 1.0 - self.tolerant_program()  # tolerance silences the tolerizable products
            m.export("TNF", v, 60.0 * (tol * p.tnf_m1_molecules_per_s))
            m.export("IL1B", v, 60.0 * tol * p.il1b_m1_molecules_per_s)
            m.export("IL6", v, 60.0 * tol * p.il6_m1_molecules_per_s)
            m.export("CCL2", v, 60.0 * tol * p.ccl2_m1_molecules_per_s)
            m.export("PGE2", v, 60.0 * tol * p.pge2_m1_molecules_per_s)
            m.export("opioid", v, 60.0 * p.opioid_m1_molecules_per_s)  # not tolerizable
        elif self.state == 0:
            m.export("TNF", v, 60.0 * p.tnf_m0_molecules_per_s)
        else:
            m.export("IL10", v, 60.0 * p.il10_m2_molecules_per_s)
            m.export("opioid", v, 60.0 * p.opioid_m2_molecules_per_s)
        m.uptake("miR21", v, p.mir21_uptake_per_min, p.cell_volume_um3)

    def move(self) -> None:
        p, dt = self.params, self.model.cell_dt_min
        self.walk(dt, p.speed_um_per_min if self.state == 0 else p.activated_speed_um_per_min)
        self.maybe_die(dt, p.death_per_min if self.recruited == 1 else p.resident_death_per_min)


class NaiveMastCell(NaiveCell):
    """Sessile; degranulates on SP/CGRP or a stimulus, refractory, refills; constitutive IL-6/TNF."""

    kind = "mast_cell"
    states = ("resting", "refractory")
    attributes = ("granules", "refractory_until_min", "released")

    def decide(self, dt_min: float) -> None:
        self.age_min += dt_min
        p, now = self.params, self.model.time_min
        if self.state == 1 and self.refractory_until_min <= now:
            self.state = 0
            self.mark("recovered")
        self.granules = min(self.granules + dt_min / p.refill_min, 1.0)
        trigger = self.model.mast_cell_stimulus
        if "PAMP" in self.model.mediator_index:  # carrageenan, CFA (the vectorized rule's TLR4 EC50, 2 nM)
            trigger = max(trigger, _hill(self.concentration("PAMP"), 2.0))
        if "SP" in self.model.mediator_index:
            trigger = max(trigger, _hill(self.concentration("SP"), p.sp_half_effect_nM))
        if "CGRP" in self.model.mediator_index:
            trigger = max(trigger, _hill(self.concentration("CGRP"), p.cgrp_half_effect_nM))
        self.released = 0.0
        if self.state == 0 and trigger >= p.trigger_threshold and self.granules > 0:
            self.released = p.quantum_fraction * self.granules
            self.granules -= self.released
            self.state = 1
            self.refractory_until_min = now + p.refractory_min
            self.mark("degranulated")

    def secrete(self) -> None:
        m, p, v = self.model, self.params, self.voxel
        if self.released > 0:
            burst = self.released / m.cell_dt_min
            for name in GRANULE_CONTENT:
                m.export(name, v, burst * getattr(p, f"{name.lower()}_molecules"))
        m.export("IL6", v, 60.0 * p.il6_molecules_per_s)
        m.export("TNF", v, 60.0 * p.tnf_molecules_per_s)

    def move(self) -> None:
        """Mast cells are sessile."""


class NaiveTCell(NaiveCell):
    """Th1/Th17/Treg release; near-random walk up CCL2; infiltration is the model's (priming)."""

    kind = "t_cell"
    states = ("Th1", "Th17", "Treg")
    chemoattractant = "CCL2"

    def restimulation(self) -> float:
        """``a0 + (1 - a0) f``: f the activated share of this tissue's macrophages (M1) and microglia (reactive)."""
        f = self.model.apc_activated_share()
        return self.params.antigen_in_tissue + (1.0 - self.params.antigen_in_tissue) * f

    def secrete(self) -> None:
        m, p, v, s = self.model, self.params, self.voxel, self.state
        inh = m.inhibition
        gc = float(receptor_gate("IL2RG", inh, 1)[0]) / p.resolution  # γc JAK1/JAK3 -> STAT5, the model's own gate
        if s in (0, 1):
            gc *= self.restimulation()
        if s == 0:
            m.export("IFNG", v, 60.0 * gc * p.ifng_th1_molecules_per_s)
        elif s == 1:
            m.export("IL17A", v, 60.0 * gc * p.il17a_th17_molecules_per_s)
            m.export("GMCSF", v, 60.0 * gc * p.gmcsf_th17_molecules_per_s)
        else:
            m.export("IL10", v, 60.0 * p.il10_treg_molecules_per_s / p.resolution)
        if s != 2:
            m.export("elastase", v, 60.0 * p.elastase_molecules_per_s / p.resolution)
        restimulated = float(receptor_gate("IL2RG", inh, 1)[0]) * self.restimulation() / p.resolution  # every subset
        m.export("opioid", v, 60.0 * restimulated * p.opioid_molecules_per_s)


class NaiveMicroglia(NaiveCell):
    """Processes average ligands over a radius; p38 hysteresis; release; local division."""

    kind = "microglia"
    states = ("surveillant", "reactive")
    receptors = ("CX3CR1", "CSF1R", "P2X4", MICROGLIAL_IFNGR)

    def concentration(self, mediator: str) -> float:
        """Mean over the voxel and its axis neighbours within ``process_radius_voxels`` (clipped at edges)."""
        m = self.model
        i = m.mediator_index.get(mediator)
        if i is None:
            return 0.0
        radius = int(self.params.process_radius_voxels)
        row, v = m.fields[i], self.voxel
        total, count, stride = float(row[v]), 1, 1
        for a in reversed(range(m.ndim)):
            size = m.shape[a]
            coord = (v // stride) % size
            for d in range(1, radius + 1):
                for sign in (-1, 1):
                    c = min(max(coord + sign * d, 0), size - 1)
                    total += float(row[v + (c - coord) * stride])
                    count += 1
            stride *= size
        return total / count

    def decide(self, dt_min: float) -> None:
        self.age_min += dt_min
        p, p38 = self.params, self.activity["P38"]
        if self.state == 0:
            if p38 >= p.p38_on and self.random.random() < 1.0 - math.exp(-p.activation_per_min * dt_min):
                self.state = 1
                self.mark("activated")
        elif p38 < p.p38_off and self.random.random() < 1.0 - math.exp(-p.deactivation_per_min * dt_min):
            self.state = 0
            self.mark("deactivated")

    def secrete(self) -> None:
        if self.state != 1:
            return
        m, p, v = self.model, self.params, self.voxel
        drive = self.activity["P38"] * 60.0
        m.export("BDNF", v, drive * p.bdnf_molecules_per_s)
        m.export("TNF", v, drive * p.tnf_molecules_per_s)
        m.export("IL1B", v, drive * p.il1b_molecules_per_s)

    def move(self) -> None:
        """Somata stay; reactive cells divide next to themselves, surveillant ones renew the resting density; old
        ones die."""
        m, p, dt = self.model, self.params, self.model.cell_dt_min
        dies = self.random.random() < 1.0 - math.exp(-p.death_per_min * dt)
        # reactive: logistic ceiling on proliferation; surveillant: self-renewal toward the seeded density
        rate = p.division_per_min * m.microglia_room if self.state == 1 else m.microglia_renewal
        if not dies and self.random.random() < 1.0 - math.exp(-rate * dt):
            offset = self.random_direction()
            child = [x + d * m.spacing_um[0] for x, d in zip(self.position, offset, strict=True)]
            if m.inside(child) and m.allowed[m.voxel_of(child)]:  # a daughter off the grid or in a vessel: none
                self.mark("divided")
                NaiveMicroglia(m, child, state=self.state, P38=self.activity["P38"])
        if dies:
            self.mark("died")
            m.remove_cell(self)


class NaiveNeuron(NaiveCell):
    """Injured somata release CCL2, CSF1, CX3CL1, ATP, miR-21; terminals release SP and CGRP by firing."""

    kind = "neuron"
    states = ("intact", "injured")
    attributes = ("firing_hz", "excitability", "terminal_voxel", "injured_min")

    def injury_program(self) -> float:
        """How far the injury response has come, in [0, 1]: ``1 − exp(−t/τ)`` since injury (1 at once if τ = 0)."""
        if self.state != 1:
            return 0.0
        tau = self.params.injury_program_tau_min
        if tau <= 0:
            return 1.0
        return 1.0 - math.exp(-max(self.model.time_min - self.injured_min, 0.0) / tau)

    def secrete(self) -> None:
        m, p, v = self.model, self.params, self.voxel
        if self.state == 1:
            per_min = self.injury_program() * 60.0
            m.export("CCL2", v, per_min * p.ccl2_injured_molecules_per_s)
            m.export("CSF1", v, per_min * p.csf1_injured_molecules_per_s)
            m.export("CX3CL1", v, per_min * p.cx3cl1_injured_molecules_per_s)
            m.export("ATP", v, per_min * p.atp_injured_molecules_per_s)
            m.export("miR21", v, per_min * p.mir21_injured_vesicles_per_s)
        spikes_per_min = self.firing_hz * 60.0
        m.export("SP", self.terminal_voxel, spikes_per_min * p.sp_molecules_per_spike)
        m.export("CGRP", self.terminal_voxel, spikes_per_min * p.cgrp_molecules_per_spike)

    def move(self) -> None:
        """Neurons stay where they are."""

    def fire(self) -> None:
        """Firing from injury alone: the cells layer's own pain seam (``IntrinsicActivity``)."""
        p = self.params
        self.firing_hz = self.excitability * (p.baseline_hz + (self.state == 1) * p.ectopic_hz)


NAIVE_TYPES = {c.kind: c for c in (NaiveMastCell, NaiveMacrophage, NaiveTCell, NaiveMicroglia, NaiveNeuron)}


class NaiveMesaModel(mesa.Model):
    """The five cell types as Mesa agents on the vectorized model's tissue.

    Parameters
    ----------
    seed : int, optional
        Seeds the layout (through the vectorized model built from the same
        arguments) and this model's random generators.
    **model_kwargs
        Keyword arguments of :class:`~neuroagents.model.NeuroImmuneModel`
        (grid, cell numbers, ``crowding_limit``, ``mediators``,
        ``cell_params``, ``inhibition``, ``cell_dt_min``, ...); the tissue,
        the parameters and the initial cells are that model's.
    template : NeuroImmuneModel, optional
        Adopt this model's tissue (the very same ``Microenvironment`` object)
        and its cells as they are now, instead of building one.
    """

    def __init__(self, *, seed: int | None = None, template: NeuroImmuneModel | None = None, **model_kwargs):
        super().__init__(seed=seed)
        if template is None:
            template = NeuroImmuneModel(seed=seed, **model_kwargs)
        elif model_kwargs:
            raise TypeError(f"give either template or model keyword arguments, not both: {sorted(model_kwargs)}")
        if template.backend.is_gpu:
            raise ValueError("the naive baseline reads fields element by element: use backend='numpy'")
        unsupported = [what for what, present in (
            ("several compartments", len(template.compartments) > 1), ("drugs", template.pharmacology is not None),
            ("interventions", bool(template.depletions) or any(vars(template.knockouts).values())),
            ("injections", bool(template.injections)),
        ) if present]  # fmt: skip
        if unsupported:
            raise ValueError(f"the naive baseline covers one tissue patch without drugs, interventions or "
                             f"injections; this model has {', '.join(unsupported)}")  # fmt: skip
        self.grid, self.env = template.grid, template.env
        self.ndim, self.shape, self.spacing_um = self.grid.ndim, self.grid.shape, self.grid.spacing_um
        self.lo = list(self.grid.origin_um)
        self.hi = [lo + ext for lo, ext in zip(self.grid.origin_um, self.grid.extent_um, strict=True)]
        self.regions = template.regions
        self.allowed = template.allowed.reshape(-1).tolist()
        self.vessel_voxels = template.vessel_voxels.tolist()
        self.mediator_index = {name: i for i, name in enumerate(self.env.names)}
        self.crowding_limit = template.crowding_limit
        self.cell_dt_min = template.cell_dt_min
        self.diffusion_dt_min = template.diffusion_dt_min
        self.injured_fraction = template.injured_fraction
        self.injury_time_min = template.injury_time_min
        self.injured = False
        self.inhibition = dict(template.inhibition)
        self.mast_cell_stimulus = float(getattr(template, "mast_cell_stimulus", 0.0))
        self.params = {kind: ct.params for kind, ct in template.cell_types.items()}
        self.tau_min = template.cell_types["macrophage"].signaling.tau_min
        self.seeded = {kind: ct.seeded for kind, ct in template.cell_types.items()}
        self.microglia_room = 1.0
        self.microglia_renewal = 0.0
        comp = next(iter(template.compartments.values()))
        self.stroma = Stroma(comp, comp.stroma.params)  # the tissue's stromal COX-2, with its own state
        self.stroma.induction = comp.stroma.induction.copy()
        self.swelling = Swelling(comp, comp.swelling.params)  # the tissue's leak, with its own state
        self.swelling.b2 = comp.swelling.endothelial_b2().copy()
        self.swelling.fluid, self.swelling.matrix = comp.swelling.fluid.copy(), comp.swelling.matrix
        self.kinins = Kinins(comp, comp.kinins.params)  # bradykinin from the tissue's leak (vectorized over voxels)
        self.per_molecule_nM = 1.0 / (MOLECULES_PER_NM_UM3 * self.grid.voxel_volume_um3)
        self.time_min = 0.0
        self.priming = float(template.cell_types["t_cell"].priming)
        self._apc_share = None  # the activated share of the APCs, counted once per cells phase
        self.activation = float(template.cell_types["t_cell"].activation)
        self.occupancy: dict[int, int] = {}  # cells of every kind per voxel
        self.event_counts = {kind: {} for kind in NAIVE_TYPES}
        self.events: deque = deque(maxlen=200_000)
        self._bind_arrays()
        self._constants()
        for kind, ct in template.cell_types.items():
            self._adopt(NAIVE_TYPES[kind], ct.pop)

    def _adopt(self, cls, pop) -> None:
        """One agent per row of a vectorized population (same positions, states, columns)."""
        cols = {name: pop[name].tolist() for name in ("position_um", "direction", "state", *PATHWAYS)}
        extra = {name: pop[name].tolist() for name in cls.attributes}
        for i in range(pop.n):
            values = {p: cols[p][i] for p in PATHWAYS} | {name: extra[name][i] for name in cls.attributes}
            cls(self, cols["position_um"][i], cols["direction"][i], cols["state"][i], **values)

    def _bind_arrays(self) -> None:
        """Flat views ``(M, n_voxels)`` of the fields and source terms (element access by voxel).

        The source terms are the Microenvironment's public arrays: writing into them directly is
        allowed (the environment then scans them before diffusing, outside the cell phases).
        """
        m = len(self.env.names)
        self.fields = self.env.fields.reshape(m, -1)
        self.production = self.env.production_nM_per_min.reshape(m, -1)
        self.consumption = self.env.consumption_per_min.reshape(m, -1)

    def _constants(self) -> None:
        """Per-step constants shared by every cell: relaxation factors, kinase gates, pathway blocks."""
        dt = self.cell_dt_min
        self.relax = {p: 1.0 - math.exp(-dt / self.tau_min[p]) for p in PATHWAYS}
        self.kinase_gate = {name: _kinase_gate(r.kinases, self.inhibition) for name, r in RECEPTORS.items()}
        self.pathway_pass = {p: 1.0 - self.inhibition.get(p, 0.0) for p in PATHWAYS}

    # --- what cells call ----------------------------------------------------------------------
    def voxel_of(self, position) -> int:
        flat = 0
        for a in range(self.ndim):
            i = math.floor((position[a] - self.lo[a]) / self.spacing_um[a])
            flat = flat * self.shape[a] + min(max(i, 0), self.shape[a] - 1)
        return flat

    def inside(self, position) -> bool:
        return all(lo <= x < hi for x, lo, hi in zip(position, self.lo, self.hi, strict=True))

    def export(self, mediator: str, voxel: int, molecules_per_min: float) -> None:
        i = self.mediator_index.get(mediator)
        if i is not None:
            self.production[i, voxel] += molecules_per_min * self.per_molecule_nM

    def uptake(self, mediator: str, voxel: int, rate_per_min: float, cell_volume_um3: float) -> None:
        i = self.mediator_index.get(mediator)
        if i is not None:
            self.consumption[i, voxel] += rate_per_min * cell_volume_um3 / self.grid.voxel_volume_um3

    def gradient(self, mediator: str, voxel: int) -> list[float]:
        """Central-difference gradient (nM/µm) at a voxel; one-sided on the edges."""
        row = self.fields[self.mediator_index[mediator]]
        out, stride = [0.0] * self.ndim, 1
        for a in reversed(range(self.ndim)):
            coord = (voxel // stride) % self.shape[a]
            up = voxel + stride if coord < self.shape[a] - 1 else voxel
            down = voxel - stride if coord > 0 else voxel
            span = ((coord < self.shape[a] - 1) + (coord > 0)) * self.spacing_um[a]
            out[a] = (float(row[up]) - float(row[down])) / span if span > 0 else 0.0
            stride *= self.shape[a]
        return out

    def apc_activated_share(self) -> float:
        """The share of this tissue's macrophages (M1) and microglia (reactive) that are activated, counted at the
        first T cell's release of a cells phase and read by every other T cell of that phase.

        A Mesa model would keep such a count at the model level, once per step: each T cell counting every
        antigen-presenting cell itself costs T x APC agent visits a step (at 1e5 cells of the mix, 20,000 T cells
        x 40,000 APCs made the naive step ~70x slower than its rules are).
        """
        if self._apc_share is None:
            apcs = [c for kind in (NaiveMacrophage, NaiveMicroglia) for c in self.agents_by_type.get(kind, ())]
            self._apc_share = sum(c.state == 1 for c in apcs) / len(apcs) if apcs else 0.0
        return self._apc_share

    def remove_cell(self, cell: NaiveCell) -> None:
        self.occupancy[cell.voxel] -= 1
        cell.remove()

    # --- the step -----------------------------------------------------------------------------
    def step(self) -> None:
        """dose -> cells (sense, decide, secrete) -> diffuse -> move (move, death, division, entry) -> pain."""
        dt = self.cell_dt_min
        self._phase_dose(dt)
        self._phase_cells(dt)
        self._phase_diffuse(dt)
        self._phase_move(dt)
        self._phase_pain(dt)

    def _phase_dose(self, dt_min: float) -> None:
        if not self.injured and self.injured_fraction > 0 and self.time_min >= self.injury_time_min:
            for cell in self.agents_by_type.get(NaiveNeuron, ()):
                if self.random.random() < self.injured_fraction and cell.state == 0:
                    cell.state = 1
                    cell.injured_min = self.time_min
                    cell.mark("injured")
            self.injured = True

    def _phase_cells(self, dt_min: float) -> None:
        """Every agent's ``step()`` in a random order, then the T-cell priming signal."""
        self._apc_share = None
        self.env.clear_sources()
        self._bind_arrays()
        self._constants()
        self.agents.shuffle_do("step")
        self.stroma.secrete(dt_min)  # the tissue's PGE2, after the cells' release (as the vectorized secrete)
        self.kinins.secrete(dt_min, self.swelling.update(dt_min))  # its leak, and the leak's bradykinin
        macs = self.agents_by_type.get(NaiveMacrophage, ())
        drive = sum(c.activity["NFKB"] for c in macs) / len(macs) if len(macs) else 0.0
        drive = max(drive, self.params["t_cell"].systemic_priming)
        stage = 1.0 - math.exp(-2.0 * dt_min / self.params["t_cell"].priming_min)  # two stages in series
        self.priming += (self.activation - self.priming) * stage
        self.activation += (drive - self.activation) * stage

    def _phase_diffuse(self, dt_min: float) -> None:
        n_sub = max(1, math.ceil(dt_min / self.diffusion_dt_min - 1e-9))
        for _ in range(n_sub):
            self.env.step(dt_min / n_sub)

    def _phase_move(self, dt_min: float) -> None:
        """Every agent's ``move()`` in a random order, then entry of monocytes and T cells."""
        self._bind_arrays()
        n_microglia = len(self.agents_by_type.get(NaiveMicroglia, ()))
        ceiling = self.params["microglia"].max_fold * max(self.seeded["microglia"], 1)
        self.microglia_room = max(0.0, 1.0 - n_microglia / ceiling)  # at the start of the phase, as vectorized
        p = self.params["microglia"]
        self.microglia_renewal = max(0.0, p.death_per_min + p.renewal_per_min
                                     * (1.0 - n_microglia / max(self.seeded["microglia"], 1)))  # fmt: skip
        self.agents.shuffle_do("move")
        self._recruit(dt_min)
        self.time_min += dt_min

    def _phase_pain(self, dt_min: float) -> None:
        """The neurons' firing (``IntrinsicActivity``: the neuroagents pain layer is not part of this baseline)."""
        for cell in self.agents_by_type.get(NaiveNeuron, ()):
            cell.fire()

    def _beside_vessel(self, voxel: int, row) -> tuple[int, float]:
        """The interstitial neighbour (across y) of a vessel voxel with more of a field, and its level."""
        stride = math.prod(self.shape[2:])
        ny = self.shape[1] if self.ndim > 1 else 1
        y = (voxel // stride) % ny
        below = voxel - stride if y > 0 else voxel
        above = voxel + stride if y < ny - 1 else voxel
        lvl_below = float(row[below]) if self.regions.flat[below] == 0 else -1.0
        lvl_above = float(row[above]) if self.regions.flat[above] == 0 else -1.0
        if lvl_above > lvl_below:
            return above, max(lvl_above, 0.0)
        return below, max(lvl_below, 0.0)

    def _recruit(self, dt_min: float) -> None:
        i = self.mediator_index.get("CCL2")
        if i is None or not self.vessel_voxels:
            return
        row, mac, tc = self.fields[i], self.params["macrophage"], self.params["t_cell"]
        for v in self.vessel_voxels:
            beside, level = self._beside_vessel(v, row)
            w = _hill(level, mac.recruitment_half_ccl2_nM)
            for _ in range(self.rng.poisson(w * mac.recruitment_per_min * dt_min)):
                NaiveMacrophage(self, self.voxel_centre(beside), recruited=1).mark("recruited")
            if self.priming > 0:
                w = self.priming * _hill(level, tc.infiltration_half_ccl2_nM)
                for _ in range(self.rng.poisson(w * tc.infiltration_per_min * tc.resolution * dt_min)):
                    cell = NaiveTCell(self, self.voxel_centre(beside), state=self._t_cell_subset(beside))
                    cell.mark("infiltrated")

    def _t_cell_subset(self, voxel: int) -> int:
        p = self.params["t_cell"]

        def h(name, receptor):  # what the receptor's kinases and any blockade of it let through
            i = self.mediator_index.get(name)
            if i is None:
                return 0.0
            gate = self.kinase_gate[receptor] * (1.0 - self.inhibition.get(receptor, 0.0))
            return _hill(float(self.fields[i, voxel]), p.cytokine_half_effect_nM) * gate

        g = p.subset_gain
        w = [1.0 + g * h("IFNG", "IFNGR"), 1.0 + g * (h("IL6", "IL6R") + h("IL23", "IL23R")),
             1.0 + g * h("IL10", "IL10R")]  # fmt: skip
        u, cum = self.random.random() * sum(w), 0.0
        for state, wi in enumerate(w):
            cum += wi
            if u <= cum:
                return state
        return len(w) - 1

    def voxel_centre(self, voxel: int) -> list[float]:
        idx = []
        for size in reversed(self.shape):
            idx.append(voxel % size)
            voxel //= size
        return [self.lo[a] + (i + 0.5) * self.spacing_um[a] for a, i in enumerate(reversed(idx))]

    # --- readouts -----------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """Cells per type and state (same layout as ``NeuroImmuneModel.counts()``)."""
        out = {kind: dict.fromkeys(cls.states, 0) for kind, cls in NAIVE_TYPES.items()}
        for cls in NAIVE_TYPES.values():
            for cell in self.agents_by_type.get(cls, ()):
                out[cls.kind][cls.states[cell.state]] += 1
        return out
