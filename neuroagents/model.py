"""NeuroImmuneModel: a Mesa model whose cells live in arrays.

The step is a list of named phases (:data:`PHASES`); each
phase calls plain vectorized functions of the cell types and the
microenvironment, in order::

    dose -> sense -> decide -> secrete -> diffuse -> move -> pain -> record

Everything scheduled (the injury, depletions, knockouts from a time, held
depletions, transfers, injections) is one sorted list of events,
:attr:`NeuroImmuneModel.schedule` (:mod:`neuroagents.schedule`), that the dose
phase consumes; drug effects are evaluated there each step (linear PK).

Every process has its own time step: the cells decide every ``cell_dt_min``;
diffusion sub-steps at ``diffusion_dt_min`` inside it; the recorder samples
every ``record_every_min``.

The model is rebuilt from its keyword arguments alone (Mesa's dashboard
resets that way, and so do sweeps and benchmarks), and the same ``seed``
gives the same results on NumPy.

Examples
--------
>>> m = NeuroImmuneModel(seed=1, width_um=400, height_um=400, n_mast_cells=5, n_macrophages=10, n_neurons=4)
>>> m.step()
>>> m.steps, m.time_min
(1, 1.0)
>>> sorted(m.cell_types)
['macrophage', 'mast_cell', 'microglia', 'neuron', 't_cell']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

import mesa
import numpy as np
import pandas as pd

from neuroagents.axons import link_axons
from neuroagents.backend import resolve_backend
from neuroagents.cells.events import EventLog
from neuroagents.cells.signaling import check_inhibition_keys
from neuroagents.compartment import Compartment, check_layout
from neuroagents.errors import ConfigError
from neuroagents.injections import parse_injections
from neuroagents.interventions import Depletion, parse_all
from neuroagents.pain import PainModel
from neuroagents.pharmacology import Pharmacology
from neuroagents.pharmacology.effects import combine_independent, split_by_kind
from neuroagents.registry import CELL_TYPES, MEDIATORS
from neuroagents.schedule import Event, Schedule
from neuroagents.sex import SEXES, sex_adjusted
from neuroagents.stroma import build_stroma
from neuroagents.timeline import (
    HeldDepletions,
    activate,
    check_scoped_knockouts,
    lift_cell_knockout,
    refresh_views,
    start_knockouts,
)
from neuroagents.transfer import place_cells

__all__ = ["CELL_TYPES", "DEFAULT_MEDIATORS", "PHASES", "NeuroImmuneModel"]

PHASES = ("dose", "sense", "decide", "secrete", "diffuse", "move", "pain", "record")
DEFAULT_MEDIATORS = MEDIATORS  # the registry's (neuroagents.registry), by the name the model always gave them


def _positive(name, value, allowed="a number > 0"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(name, value, allowed)


def _check_cell_params(where, cell_params):
    unknown = sorted(set(cell_params or {}) - set(CELL_TYPES))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", (cell_params or {})[unknown[0]],
                          f"a cell type among {sorted(CELL_TYPES)}")  # fmt: skip
    for kind, v in (cell_params or {}).items():
        if not isinstance(v, Mapping):
            raise ConfigError(f"{where}.{kind}", v, "a mapping of parameter names to values")


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(name, value, "an integer >= 0")


def _reported(model, key: str) -> float:
    """A DataCollector reporter: one key of the model's last snapshot (a module-level function, so it pickles)."""
    return model._snapshot.get(key, float("nan"))


class NeuroImmuneModel(mesa.Model):
    """Cells, mediators and the pain readouts on one tissue grid.

    Parameters (keyword-only)
    -------------------------
    width_um, height_um : float
        Size of the tissue patch, µm. ``depth_um`` > 0 makes the grid 3D.
    voxel_um : float
        Voxel edge, µm (20 µm as in PhysiCell and GranSim, docs/references.md).
    n_mast_cells, n_macrophages, n_t_cells, n_microglia, n_neurons : int
        Initial numbers of cells (T cells usually start at 0 and infiltrate).
    cell_counts : Mapping[str, int], optional
        Initial numbers of other registered cell types (:data:`neuroagents.registry.CELL_TYPES`), e.g. an
        example type added with ``CELL_TYPES.register``.
    injured_fraction : float
        Fraction of neurons injured at ``injury_time_min`` (0 = sham).
    vessel_spacing_um : float
        Distance between the parallel vessels (recruitment sites, sinks), µm.
    crowding_limit : int
        Most cells, of all types together, one voxel may hold after a move (2 T cells per 20 µm voxel in
        GranSim, docs/references.md). Placement (seeding, recruitment, division) does not check it.
    mediators : sequence of str or Mediator
        Mediators on the grid (default: all the cell types use); catalogue names or
        :class:`~neuroagents.mediators.Mediator` objects (e.g. with overridden numbers).
    cell_params : Mapping[str, Mapping]
        Overrides per cell type, e.g. ``{"macrophage": {"speed_um_per_min": 2}}``.
    inhibition : Mapping[str, float]
        Constant fractional inhibition (0..1) of kinases or pathways — what the
        dose phase will compute from drugs (pharmacology issue).
    cell_dt_min, diffusion_dt_min, record_every_min : float
        Time steps of the cell phases, of diffusion (sub-steps), of recording.
    backend : {"auto", "numpy", "cupy"}
    dtype : {"float64", "float32"}
        Precision of the mediator fields.
    mast_cell_stimulus : float
        Inflammatory trigger of mast-cell degranulation in [0, 1] (e.g. compound 48/80), constant.
    drugs : sequence of Mapping
        Dosing schedules (``{"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 10, "interval_h": 12,
        "n_doses": 14}``; see ``docs/drugs.md``). Their effects at each step join ``inhibition``.
    interventions : sequence of Mapping
        Cell depletions (once, held over an interval or repeated), knockouts of a mediator, receptor or cell type
        (everywhere or in one compartment, for the whole run or from a time) and adoptive transfers (see
        :mod:`neuroagents.interventions`; events of :attr:`schedule`, applied in the dose phase).
    injections : sequence of Mapping
        Injected agents (carrageenan, CFA) or named mediators, bolus or depot (see :mod:`neuroagents.injections`).
    pain_params : Mapping, optional
        Overrides of the pain model's parameters (see ``docs/pain.md``).
    stroma_params : Mapping, optional
        Overrides of :class:`~neuroagents.stroma.StromaParams` (stromal COX-2: PGE2 induced by IL-1β and TNF in
        every compartment's interstitium), e.g. ``{"pge2_max_nM_per_min": 0}`` to switch it off.
    species : {"mouse", "rat"}
        Sets the scale of the behavioural readouts (von Frey grams).
    seed : int, optional
        Seed of the model's random generator (or pass ``rng``, not both).
    """

    def __init__(
        self,
        *,
        width_um: float = 2000.0,
        height_um: float = 2000.0,
        depth_um: float = 0.0,
        voxel_um: float = 20.0,
        n_mast_cells: int = 100,
        n_macrophages: int = 300,
        n_t_cells: int = 0,
        n_microglia: int = 0,
        n_neurons: int = 60,
        cell_counts: Mapping | None = None,
        injured_fraction: float = 0.0,
        injury_time_min: float = 0.0,
        vessel_spacing_um: float = 500.0,
        crowding_limit: int = 4,
        mediators=None,
        cell_params: Mapping | None = None,
        inhibition: Mapping | None = None,
        cell_dt_min: float = 1.0,
        diffusion_dt_min: float = 1.0,
        record_every_min: float = 10.0,
        backend: str = "numpy",
        dtype: str = "float64",
        mast_cell_stimulus: float = 0.0,
        drugs=(),
        interventions=(),
        injections=(),
        pain_params: Mapping | None = None,
        stroma_params: Mapping | None = None,
        species: str = "mouse",
        sex: str = "male",
        compartments=None,
        axons: Mapping | None = None,
        seed: int | None = None,
        rng=None,
    ):
        super().__init__(seed=seed, rng=rng)
        for name, v in (("cell_dt_min", cell_dt_min), ("diffusion_dt_min", diffusion_dt_min)):
            _positive(name, v, "a time > 0 (min)")
        _positive("record_every_min", record_every_min, "a time > 0 (min)")
        counts = {"mast_cell": n_mast_cells, "macrophage": n_macrophages, "t_cell": n_t_cells,
                  "microglia": n_microglia, "neuron": n_neurons}  # fmt: skip
        for arg, v in zip(("n_mast_cells", "n_macrophages", "n_t_cells", "n_microglia", "n_neurons"),
                          counts.values(), strict=True):  # fmt: skip
            _count(arg, v)
        if cell_counts is not None and not isinstance(cell_counts, Mapping):
            raise ConfigError("cell_counts", cell_counts, "a mapping of registered cell types to counts")
        for kind, v in (cell_counts or {}).items():  # over registered types beyond the five n_* keywords
            if kind not in CELL_TYPES or kind in counts:
                others = sorted(set(CELL_TYPES) - set(counts))
                raise ConfigError(f"cell_counts.{kind}", v, f"a registered cell type without an n_* keyword "
                                  f"(neuroagents.registry.CELL_TYPES): one of {others}")  # fmt: skip
            _count(f"cell_counts.{kind}", v)
            counts[kind] = v
        _count("crowding_limit", crowding_limit)
        if crowding_limit < 1:
            raise ConfigError("crowding_limit", crowding_limit, "an integer >= 1 (cells per voxel)")
        if isinstance(injured_fraction, bool) or not (
            isinstance(injured_fraction, (int, float)) and 0 <= injured_fraction <= 1
        ):
            raise ConfigError("injured_fraction", injured_fraction, "a fraction in [0, 1]")
        if isinstance(injury_time_min, bool) or not (
            isinstance(injury_time_min, (int, float)) and injury_time_min >= 0
        ):
            raise ConfigError("injury_time_min", injury_time_min, "a time >= 0 (min)")
        _check_cell_params("cell_params", cell_params)
        if isinstance(mast_cell_stimulus, bool) or not (
            isinstance(mast_cell_stimulus, (int, float)) and 0 <= mast_cell_stimulus <= 1
        ):
            raise ConfigError("mast_cell_stimulus", mast_cell_stimulus, "a fraction in [0, 1]")
        if sex not in SEXES:
            raise ConfigError("sex", sex, f"one of {list(SEXES)}")
        self.sex = sex
        self.mast_cell_stimulus = float(mast_cell_stimulus)
        self.inhibition = {}
        self.set_inhibition(inhibition or {})
        self.base_inhibition = dict(self.inhibition)
        self.spinal_inhibition = dict(self.inhibition)
        self.drg_inhibition = dict(self.inhibition)
        # drug effects other than kinase/receptor inhibition, per compartment kind (each its own exposure):
        # neutralization: mediator -> fraction bound by antibodies; enzyme_inhibition: COX2 -> fraction of PGE2
        # synthesis blocked; mirna_block: miR21 -> fraction of its effect blocked
        self.drug_tables = {k: {"neutralization": {}, "enzyme_inhibition": {}, "mirna_block": {}}
                            for k in ("periphery", "drg", "dorsal_horn")}  # fmt: skip
        self.neutralization = self.drug_tables["periphery"]["neutralization"]  # the periphery's, by their old names
        self.spinal_neutralization = self.drug_tables["dorsal_horn"]["neutralization"]
        self.enzyme_inhibition = self.drug_tables["periphery"]["enzyme_inhibition"]
        self.mirna_block = self.drug_tables["periphery"]["mirna_block"]
        self.pharmacology = Pharmacology(list(drugs), species) if drugs else None

        self.backend = resolve_backend(backend)
        self.xp = self.backend.xp
        if self.backend.is_gpu:  # a device generator seeded from the model's own
            self.rng = self.backend.rng(int(self.rng.integers(2**63)))
        self.cell_dt_min = float(cell_dt_min)
        self.diffusion_dt_min = float(diffusion_dt_min)
        self.record_every_min = float(record_every_min)
        self.crowding_limit = int(crowding_limit)
        self.injured_fraction = float(injured_fraction)
        self.injury_time_min = float(injury_time_min)
        self.injured = False
        self.time_min = 0.0
        self.events = EventLog()

        # compartments: one tissue patch, or several (paw / DRG / dorsal horn) linked by the neurons' axons
        mediators = list(mediators or DEFAULT_MEDIATORS)
        if injections and not any(getattr(m, "name", m) == "PAMP" for m in mediators):
            mediators.append("PAMP")  # the injected agonist's field, only where something is injected
        if compartments is None:
            layouts = [{"name": "tissue", "kind": "periphery", "width_um": width_um, "height_um": height_um,
                        "depth_um": depth_um, "voxel_um": voxel_um, "vessel_spacing_um": vessel_spacing_um,
                        "cells": counts}]  # fmt: skip
        else:
            if isinstance(compartments, (str, bytes)) or not isinstance(compartments, Sequence) or not compartments:
                raise ConfigError("compartments", compartments, "a non-empty list of compartment layouts")
            layouts = [check_layout(c, i) for i, c in enumerate(compartments)]
            names = [c["name"] for c in layouts]
            if len(set(names)) != len(names):
                raise ConfigError("compartments", names, "distinct compartment names")
        self.compartments: dict[str, Compartment] = {}
        for lay in layouts:  # over compartments (a handful)
            defaults = {"width_um": width_um, "height_um": height_um, "depth_um": 0.0, "voxel_um": voxel_um,
                        "vessel_spacing_um": vessel_spacing_um}  # fmt: skip
            geom = {k: lay.get(k, v) for k, v in defaults.items()}
            comp = Compartment(self, lay["name"], lay.get("kind", "periphery"), mediators=mediators, dtype=dtype,
                               **geom)  # fmt: skip
            self.compartments[comp.name] = comp
        first = next(iter(self.compartments.values()))
        self.grid = first.grid
        self.env = first.env
        self.regions = first.regions
        self.vessel_voxels = first.vessel_voxels
        self.allowed = first.allowed
        self.axons = link_axons(axons, self.compartments)

        parsed = self.check_interventions(list(interventions), full=True)
        self.depletions, self.knockouts = parsed.depletions, parsed.knockouts
        self.local_knockouts: dict = {}  # compartment -> Knockouts of its own (conditional knockouts)
        self._knockouts_in: dict = {}  # compartment -> what its cells see knocked out (neuroagents.timeline)
        self.receptor_blocks: dict = {}  # compartment kind -> receptors knocked out in it
        check_scoped_knockouts(self, parsed.knockouts.scoped)
        later_knockouts = start_knockouts(self, parsed.knockouts.scoped)  # those from t = 0 act before seeding
        self.held = HeldDepletions()
        self.injections = parse_injections(list(injections), self.compartments, first.env.names,
                                           {m.name: m.molecular_mass_kda for m in first.env.mediators})
        self.given_injections: list = []  # injected so far (depots release on), in the order given
        injury = [Event(self.injury_time_min, "injury", self.injured_fraction, strict=True)] \
            if self.injured_fraction > 0 else []  # fmt: skip
        self.schedule = Schedule([
            *injury, *(Event(d.time_min, "depletion", d) for d in self.depletions),
            *(Event(k.from_min, "knockout", k) for k in later_knockouts),
            *(Event(d.time_min, "hold", d) for d in self.depletions if d.until_min is not None),
            *(Event(t.time_min, "transfer", t) for t in parsed.transfers),
            *(Event(i.time_min, "injection", i) for i in self.injections),
        ])  # fmt: skip
        self._block_receptors(self.knockouts.receptors)
        self.species = species
        global_params = sex_adjusted(cell_params or {}, sex)
        for lay in layouts:  # over compartments
            comp = self.compartments[lay["name"]]
            where = "cell_params" if compartments is None else f"compartments.{comp.name}.cell_params"
            _check_cell_params(where, lay.get("cell_params"))
            local = {k: {**global_params.get(k, {}), **(lay.get("cell_params") or {}).get(k, {})} for k in CELL_TYPES}
            comp.cell_types = {kind: cls(comp, local.get(kind) or None) for kind, cls in CELL_TYPES.items()}
            cells = lay.get("cells") or {}
            if not isinstance(cells, Mapping):
                raise ConfigError(f"compartments.{comp.name}.cells", cells, "a table of cell counts by type")
            for kind, n in cells.items():
                if kind not in CELL_TYPES:
                    raise ConfigError(f"compartments.{comp.name}.cells.{kind}", n,
                                      f"a cell type among {sorted(CELL_TYPES)}")  # fmt: skip
                _count(f"compartments.{comp.name}.cells.{kind}", n)
                if kind == "neuron" and n and comp is not self.axons.soma:
                    raise ConfigError(f"compartments.{comp.name}.cells.neuron", n,
                                      f"0: neurons live in the compartment of their somata ({self.axons.soma.name})")
        for kind in CELL_TYPES:  # one id sequence per cell type across compartments: a cell's id is unique
            counter = first.cell_types[kind].pop.id_counter
            for comp in self.compartments.values():  # over compartments
                comp.cell_types[kind].pop.id_counter = counter
        for lay in layouts:  # seed after every compartment exists (neuron terminals point into others)
            comp = self.compartments[lay["name"]]
            for kind, n in (lay.get("cells") or {}).items():
                if n and kind not in comp.knockouts.cell_types:
                    comp.cell_types[kind].seed_cells(n)
                    comp.cell_types[kind].seeded += n
        self.cell_types = first.cell_types
        if stroma_params is not None and not isinstance(stroma_params, Mapping):
            raise ConfigError("stroma_params", stroma_params, "a mapping of StromaParams names to values")
        self.stroma_params = dict(stroma_params or {})
        for comp in self.compartments.values():  # over compartments: stromal COX-2 of each interstitium
            comp.stroma = build_stroma(comp, self.stroma_params, "stroma_params")
        self.neurons = self.axons.soma.cell_types["neuron"]
        self.pain = PainModel(self, params=pain_params, species=species)

        self.phase_order = PHASES
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self._next_record_min = 0.0
        self._record()

    # --- inputs ----------------------------------------------------------------------------
    def set_inhibition(self, inhibition: Mapping[str, float]) -> None:
        """Replace the fractional inhibition of kinases, pathways or receptors (0..1 each)."""
        check_inhibition_keys(inhibition)
        for key, v in inhibition.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ConfigError(f"inhibition.{key}", v, "a fraction in [0, 1]")
        self.inhibition = dict(inhibition)

    def random_interstitial_positions(self, n: int, region=None):
        """``n`` positions (µm) in the first compartment's interstitium (see :class:`Compartment`)."""
        return next(iter(self.compartments.values())).random_interstitial_positions(n, region)

    def voxel_centres(self, voxels):
        """Centres (µm) of flat voxel indices of the first compartment, shape ``(k, ndim)``."""
        return next(iter(self.compartments.values())).voxel_centres(voxels)

    def inhibition_in(self, kind: str) -> dict[str, float]:
        """Fractional inhibition seen by cells in a compartment of ``kind`` ("periphery", "drg", "dorsal_horn")."""
        if kind == "dorsal_horn":
            return self.spinal_inhibition
        if kind == "drg":
            return self.drg_inhibition
        return self.inhibition

    @property
    def rng_host(self) -> np.random.Generator:
        """A NumPy generator for layout choices (the model's own on the CPU)."""
        if not self.backend.is_gpu:
            return self.rng
        if not hasattr(self, "_rng_host"):
            self._rng_host = np.random.default_rng(int(self.rng.integers(2**63).get()))
        return self._rng_host

    # --- the step ---------------------------------------------------------------------------
    def step(self) -> None:
        """Advance the model by ``cell_dt_min`` through the phases in :data:`PHASES`."""
        dt = self.cell_dt_min
        for phase in self.phase_order:
            getattr(self, f"_phase_{phase}")(dt)

    def _phase_dose(self, dt):
        """Drug effects now, then the scheduled events due (:mod:`neuroagents.schedule`), in their order."""
        if self.pharmacology is not None:
            self.apply_drug_effects(self.pharmacology.effects(self.time_min))
        holds_applied = False
        for event in self.schedule.pop_due(self.time_min):  # over the events due (a few at most)
            if not holds_applied and event.what in ("transfer", "injection"):
                self.held.apply(self)  # running held depletions see the cells born since the last step
                holds_applied = True
            self._apply_event(event)
        if not holds_applied:
            self.held.apply(self)
        self.held.mark(self)  # transferred cells are not a held depletion's new arrivals

    def _apply_event(self, event: Event) -> None:
        what, item = event.what, event.item
        if what == "injury":
            self.neurons.injure(item)
            self.injured = True
        elif what == "depletion":
            self.deplete(item)
        elif what == "knockout":
            activate(self, item)
        elif what == "hold":
            self.held.start(self, item)
        elif what == "transfer":
            place_cells(self, item)
            if item.recruit:
                lift_cell_knockout(self, item.cell_type)
        else:  # an injection
            item.inject(self.compartments, self.time_min)
            self.given_injections.append(item)

    def add_dosing(self, schedule) -> None:
        """Add one dosing schedule to the run (a ``[[drugs]]`` table or a :class:`DosingSchedule`).

        PK is solved by superposition, so doses already given keep their exact course; the new schedule acts
        from the next step's dose phase. Schedules starting in the past are allowed (their earlier doses count).
        """
        old = self.pharmacology
        schedules = [*(old.schedules if old is not None else ()), schedule]
        kwargs = {"body_weight_kg": old.body_weight_kg} if old is not None else {}
        self.pharmacology = Pharmacology(schedules, self.species, **kwargs)

    def check_interventions(self, items: list, where: str = "interventions", *, single: bool = False,
                            full: bool = False):  # fmt: skip
        """Check intervention tables against this model (cell types, mediators, receptors, compartments).

        Returns ``(depletions, knockouts)`` as :func:`~neuroagents.interventions.parse_interventions` does (with
        ``full``, the :class:`~neuroagents.interventions.Parsed` record, transfers included). With ``single`` (one
        table given on its own, e.g. from the dashboard) an error names ``where.key``, not ``where[0].key``.
        """
        from neuroagents.cells.signaling import RECEPTORS

        try:
            p = parse_all(
                items, cell_types={k: c.states for k, c in CELL_TYPES.items()}, mediators=self.env.names,
                receptors=sorted(RECEPTORS), compartments=sorted(self.compartments), where=where,
            )  # fmt: skip
            return p if full else (p.depletions, p.knockouts)
        except ConfigError as exc:
            if not single:
                raise
            raise ConfigError(exc.key.replace(f"{where}[0]", where), exc.value, exc.allowed, exc.where) from None

    def _block_receptors(self, receptors) -> None:
        """Knocked-out receptors: fully and permanently blocked in every compartment (drug effects are rebuilt
        from :attr:`base_inhibition`, so the block outlasts them)."""
        for r in receptors:
            for table in (self.base_inhibition, self.inhibition, self.spinal_inhibition, self.drg_inhibition):
                table[r] = 1.0

    def knock_out(self, what: str, name: str) -> int:
        """Knock out a mediator, receptor or cell type from now to the end of the run; returns cells removed.

        Parameters
        ----------
        what : {"mediator", "receptor", "cell_type"}
        name : str
            A mediator on the grid, a receptor, or a cell type. A mediator is released by no cell from now on; a
            receptor is fully blocked in every compartment; a cell type is removed from every compartment and
            never recruited or born again.
        """
        if what not in ("mediator", "receptor", "cell_type"):
            raise ConfigError("knockout", what, "one of ['cell_type', 'mediator', 'receptor']")
        _, ko = self.check_interventions([{"kind": "knockout", what: name}], "knockout", single=True)
        old = self.knockouts
        self.knockouts = replace(old, mediators=old.mediators | ko.mediators, receptors=old.receptors | ko.receptors,
                                 cell_types=old.cell_types | ko.cell_types)  # fmt: skip
        refresh_views(self)
        self._block_receptors(ko.receptors)
        removed = 0
        for kind in ko.cell_types:
            removed += self.deplete(Depletion(kind, 1.0, self.time_min))
        return removed

    def knockouts_in(self, compartment: str):
        """What the cells of one compartment see knocked out now (everywhere's, joined with its own)."""
        return self._knockouts_in.get(compartment, self.knockouts)

    def deplete(self, d) -> int:
        """Remove a random fraction of one cell type (in one state and compartment, if given) now; returns how many."""
        names = [d.compartment] if getattr(d, "compartment", None) else list(self.compartments)
        removed = 0
        for name in names:  # over compartments
            ct = self.compartments[name].cell_types[d.cell_type]
            if ct.n == 0:
                continue
            hit = self.rng.random(ct.n) < d.fraction
            if d.state is not None:
                hit &= ct.pop["state"] == ct.state_code(d.state)
            ct.event_counts["depleted"] = ct.event_counts.get("depleted", 0) + int(hit.sum())
            removed += ct.pop.remove(hit)
        return removed

    def apply_drug_effects(self, effects: Mapping[str, Mapping[str, float]]) -> None:
        """Turn ``{compartment: {target: fraction}}`` into the model's inputs.

        Kinases, pathways and receptor blockade join :attr:`inhibition` (peripheral and DRG cells, nociceptors)
        and :attr:`spinal_inhibition` (the dorsal horn, from the CSF exposure) as independent actions;
        neutralized mediators reach receptors only as their free fraction; COX2 scales PGE2 synthesis;
        miR21 scales the exosomal miR-21 drive of macrophages.
        """
        periphery = split_by_kind(effects.get("periphery", {}))
        drg = split_by_kind(effects.get("drg", effects.get("periphery", {})))
        spinal = split_by_kind(effects.get("dorsal_horn", {}))

        def joined(groups, kind):
            out = dict(self.base_inhibition)
            out.update(dict.fromkeys(self.receptor_blocks.get(kind, ()), 1.0))  # receptors knocked out here
            for key, v in {**groups["inhibition"], **groups["receptor_blockade"]}.items():
                out[key] = float(combine_independent([out.get(key, 0.0), v]))
            return out

        self.inhibition = joined(periphery, "periphery")
        self.drg_inhibition = joined(drg, "drg")
        self.spinal_inhibition = joined(spinal, "dorsal_horn")
        for kind, groups in (("periphery", periphery), ("drg", drg), ("dorsal_horn", spinal)):
            for table in ("neutralization", "enzyme_inhibition", "mirna_block"):
                self.drug_tables[kind][table] = dict(groups[table])
        self.neutralization = self.drug_tables["periphery"]["neutralization"]
        self.spinal_neutralization = self.drug_tables["dorsal_horn"]["neutralization"]
        self.enzyme_inhibition = self.drug_tables["periphery"]["enzyme_inhibition"]
        self.mirna_block = self.drug_tables["periphery"]["mirna_block"]

    def free_fraction(self, mediator: str, spinal: bool = False, kind: str | None = None) -> float:
        """Fraction of a mediator not bound by neutralizing antibodies (1 without drugs).

        ``kind`` names the compartment kind ("periphery", "drg", "dorsal_horn"); ``spinal=True`` is the dorsal
        horn's; the default is the periphery's.
        """
        kind = kind or ("dorsal_horn" if spinal else "periphery")
        return 1.0 - self.drug_tables[kind]["neutralization"].get(mediator, 0.0)

    def _cell_types(self):
        for comp in self.compartments.values():  # over compartments
            yield from comp.cell_types.values()

    def _phase_sense(self, dt):
        for ct in self._cell_types():
            ct.sense(dt)

    def _phase_decide(self, dt):
        for ct in self._cell_types():
            ct.decide(dt)

    def _phase_secrete(self, dt):
        for comp in self.compartments.values():
            comp.env.clear_sources()
        for ct in self._cell_types():
            if ct.n:
                ct.secrete()
        for comp in self.compartments.values():  # over compartments: stromal PGE2 (vectorized over voxels)
            comp.stroma.secrete(dt)
        for inj in self.given_injections:  # depots release on
            inj.release(self.compartments, self.time_min, dt)

    def _phase_diffuse(self, dt):
        n_sub = max(1, math.ceil(dt / self.diffusion_dt_min - 1e-9))
        for comp in self.compartments.values():
            for _ in range(n_sub):  # sub-steps in time
                comp.env.step(dt / n_sub)

    def _phase_move(self, dt):
        for comp in self.compartments.values():
            comp.move_cells(dt)
        self.time_min += dt

    def _phase_pain(self, dt):
        self.pain.update(self, dt)

    def _phase_record(self, dt):
        if self.time_min + 1e-9 >= self._next_record_min:
            self._record()

    def _record(self):
        self._snapshot = self.snapshot()
        self.datacollector.collect(self)
        self._last_record_min = self.time_min
        self._next_record_min += self.record_every_min

    def record(self) -> None:
        """Record now, off schedule, unless this time is already recorded (e.g. at the end of a run)."""
        if getattr(self, "_last_record_min", None) != self.time_min:
            self._snapshot = self.snapshot()
            self.datacollector.collect(self)
            self._last_record_min = self.time_min

    # --- readouts ---------------------------------------------------------------------------
    def counts(self) -> dict[str, dict[str, int]]:
        """Cells per type and state, over all compartments."""
        total: dict[str, dict[str, int]] = {}
        for comp in self.compartments.values():
            for kind, ct in comp.cell_types.items():
                census = ct.census()
                acc = total.setdefault(kind, dict.fromkeys(census, 0))
                for state, n in census.items():
                    acc[state] += n
        return total

    def mean_by_compartment(self) -> dict[str, np.ndarray]:
        """Mean concentration of each mediator (nM), ``{place: (M,)}``.

        One tissue patch: by region (``interstitium``, ``vessel``). Several compartments: the interstitium of
        each, by compartment name.
        """
        if len(self.compartments) == 1:
            return next(iter(self.compartments.values())).mean_by_region()
        return {name: comp.mean_by_region()["interstitium"] for name, comp in self.compartments.items()}

    def snapshot(self) -> dict:
        """Every recorded quantity now, as plain numbers (one census, one reduction per compartment)."""
        snap = {"time_min": self.time_min}
        for kind, counts in self.counts().items():
            for state, n in counts.items():
                snap[f"n_{kind}_{state}"] = n
        if len(self.compartments) > 1:
            for name, comp in self.compartments.items():
                for kind, ct in comp.cell_types.items():
                    for state, n in ct.census().items():
                        snap[f"n_{kind}_{state}_{name}"] = n
        means = self.mean_by_compartment()
        for comp, values in means.items():
            for i, name in enumerate(self.env.names):
                snap[f"mean_{name}_nM_{comp}"] = float(values[i])
        snap.update(self.pain.readouts(self))
        return snap

    def _reporters(self) -> dict:
        return {k: partial(_reported, key=k) for k in self.snapshot()}

    def timeseries(self) -> pd.DataFrame:
        """One tidy row per recorded time (minutes), from the DataCollector."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def inspect(self, kind: str, cell_id: int, compartment: str | None = None) -> dict:
        """A readable record of one cell (see :meth:`CellType.inspect`), found in any compartment unless named."""
        if kind not in CELL_TYPES:
            raise ConfigError("kind", kind, f"one of {sorted(CELL_TYPES)}")
        if compartment is not None and compartment not in self.compartments:
            raise ConfigError("compartment", compartment, f"one of {sorted(self.compartments)}")
        names = [compartment] if compartment else list(self.compartments)
        for name in names:  # over compartments
            try:
                rec = self.compartments[name].cell_types[kind].inspect(cell_id)
            except ConfigError:
                continue
            rec["compartment"] = name
            return rec
        raise ConfigError("cell_id", cell_id, f"the id of a living {kind} (in {names})")
