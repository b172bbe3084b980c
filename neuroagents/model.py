"""NeuroImmuneModel: a Mesa model whose cells live in arrays.

The step is a list of named phases (:data:`PHASES`); each
phase calls plain vectorized functions of the cell types and the
microenvironment, in order::

    dose -> sense -> decide -> secrete -> diffuse -> move -> pain -> record

The pain phase also appends a row of cheap pain signals to the pain trace (:meth:`pain_trace`, every step).

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

import dataclasses
import math
from collections.abc import Mapping

import mesa
import numpy as np

from neuroagents.axons import link_axons
from neuroagents.backend import resolve_backend
from neuroagents.cells.events import EventLog
from neuroagents.cells.kernels import fused_for, resolve_cell_kernels
from neuroagents.cells.keyed_random import run_key, stream_key
from neuroagents.compartment import Compartment
from neuroagents.errors import ConfigError
from neuroagents.injections import parse_injections
from neuroagents.kinins import build_kinins
from neuroagents.model_args import check_arguments, check_cell_params, check_count, layouts_of
from neuroagents.model_inputs import ModelInputs
from neuroagents.model_readouts import ModelReadouts, _reported  # noqa: F401  (_reported: imported from here)
from neuroagents.pain import PainModel, PainParams
from neuroagents.pain.trace import TRACE_COLUMNS, TraceBuffer
from neuroagents.registry import CELL_TYPES, MEDIATORS
from neuroagents.schedule import Event, Schedule
from neuroagents.sex import sex_adjusted, sex_adjusted_pain
from neuroagents.stroma import build_stroma
from neuroagents.swelling import build_swelling
from neuroagents.timeline import (
    HeldDepletions,
    activate,
    check_scoped_knockouts,
    lift_cell_knockout,
    start_knockouts,
)
from neuroagents.transfer import place_cells

__all__ = ["CELL_TYPES", "DEFAULT_MEDIATORS", "PHASES", "NeuroImmuneModel"]

PHASES = ("dose", "sense", "decide", "secrete", "diffuse", "move", "pain", "record")
DEFAULT_MEDIATORS = MEDIATORS  # the registry's (neuroagents.registry), by the name the model always gave them


class NeuroImmuneModel(ModelInputs, ModelReadouts, mesa.Model):
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
    cell_kernels : {"auto", "numba", "reference"}
        Which code runs the cell phases: fused numba kernels (:mod:`neuroagents.cells.kernels`; the same results,
        bit for bit) or the vectorized NumPy rules they are checked against. ``"auto"``: numba on the NumPy
        backend, the reference elsewhere.
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
    swelling_params : Mapping, optional
        Overrides of :class:`~neuroagents.swelling.SwellingParams` (the swelling readout: leaked fluid and
        infiltrating cells, per compartment).
    kinin_params : Mapping, optional
        Overrides of :class:`~neuroagents.kinins.KininParams` (bradykinin formed where plasma leaks).
    species : {"mouse", "rat", "human"}
        Sets the scale of the behavioural readouts (von Frey grams).
    body_weight_kg : float, optional
        The animal's weight (kg): mg/kg doses and the allometric PK of its drugs; default the species' reference
        weight (:data:`neuroagents.pharmacology.pk.SPECIES`).
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
        cell_kernels: str = "auto",
        dtype: str = "float64",
        mast_cell_stimulus: float = 0.0,
        drugs=(),
        interventions=(),
        injections=(),
        pain_params: Mapping | None = None,
        stroma_params: Mapping | None = None,
        swelling_params: Mapping | None = None,
        kinin_params: Mapping | None = None,
        species: str = "mouse",
        body_weight_kg: float | None = None,
        sex: str = "male",
        compartments=None,
        axons: Mapping | None = None,
        seed: int | None = None,
        rng=None,
    ):
        super().__init__(seed=seed, rng=rng)
        counts = check_arguments(
            cell_dt_min=cell_dt_min, diffusion_dt_min=diffusion_dt_min, record_every_min=record_every_min,
            counts={"mast_cell": n_mast_cells, "macrophage": n_macrophages, "t_cell": n_t_cells,
                    "microglia": n_microglia, "neuron": n_neurons},
            cell_counts=cell_counts, crowding_limit=crowding_limit, injured_fraction=injured_fraction,
            injury_time_min=injury_time_min, cell_params=cell_params, mast_cell_stimulus=mast_cell_stimulus, sex=sex,
        )  # fmt: skip
        self.sex = sex
        self.mast_cell_stimulus = float(mast_cell_stimulus)
        self._init_inputs(inhibition, drugs, species, body_weight_kg)  # inhibition, drugs (neuroagents.model_inputs)

        self.backend = resolve_backend(backend)
        self.xp = self.backend.xp
        self.cell_kernels = resolve_cell_kernels(cell_kernels, self.backend.name)
        self._run_key, self._streams = run_key(self.rng), 0  # counter-based numbers (crowding): from the seed
        if self.backend.is_gpu:  # a device generator seeded from the model's own
            self.rng = self.backend.rng(int(self.rng.integers(2**63)))
        elif self.backend.name == "strict":  # tests: NumPy's draws, as device arrays (neuroagents.strict_xp)
            self._rng_host = self.rng
            self.rng = self.xp.random.wrap(self.rng)
        self.cell_dt_min = float(cell_dt_min)
        self.diffusion_dt_min = float(diffusion_dt_min)
        self.record_every_min = float(record_every_min)
        self.crowding_limit = int(crowding_limit)
        self.injured_fraction = float(injured_fraction)
        self.injury_time_min = float(injury_time_min)
        self.injured = False
        self.time_min = 0.0
        self.events = EventLog(xp=self.xp, to_host=self.backend.to_host)

        # compartments: one tissue patch, or several (paw / DRG / dorsal horn) linked by the neurons' axons
        mediators = list(mediators or DEFAULT_MEDIATORS)
        if injections and not any(getattr(m, "name", m) == "PAMP" for m in mediators):
            mediators.append("PAMP")  # the injected agonist's field, only where something is injected
        single = {"width_um": width_um, "height_um": height_um, "depth_um": depth_um, "voxel_um": voxel_um,
                  "vessel_spacing_um": vessel_spacing_um}  # fmt: skip
        layouts = layouts_of(compartments, single, counts)
        self.species = species
        self._build_compartments(layouts, single, mediators, dtype, axons)
        self._build_schedule(interventions, injections)
        self._build_cells(layouts, cell_params, sex, per_compartment=compartments is not None)
        self._build_readouts(stroma_params, pain_params, species, swelling_params, kinin_params)

    @classmethod
    def from_scenario(cls, scenario, *, backend: str = "numpy", dtype: str = "float64",
                      seed: int | None = None) -> NeuroImmuneModel:  # fmt: skip
        """The model of a validated scenario (:class:`~neuroagents.scenario.schema.Scenario`, from
        :func:`~neuroagents.scenario.load_scenario`): its inputs were checked once, at the edge, by the schema.

        ``seed`` replaces the scenario's own (sweeps); ``backend`` and ``dtype`` say where and how precisely to
        run. Equivalent to ``NeuroImmuneModel(**scenario.model_kwargs(...))``, the keyword arguments a dashboard
        reset or a checkpoint's manifest keep.
        """
        return cls(**scenario.model_kwargs(backend=backend, dtype=dtype, seed=seed))

    # --- building (in this order: the random draws of seeding follow it) ------------------------------------
    def _build_compartments(self, layouts: list, single: Mapping, mediators: list, dtype: str, axons) -> None:
        """One :class:`Compartment` per layout (grid, fields, vessels), and the axons that link them."""
        self.compartments: dict[str, Compartment] = {}
        for lay in layouts:  # over compartments (a handful)
            defaults = {**single, "depth_um": 0.0}  # a compartment's size defaults to the tissue's, in 2D
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


    def _build_schedule(self, interventions, injections) -> None:
        """Knockouts in force from t = 0, and the sorted events of the run (:mod:`neuroagents.schedule`)."""
        parsed = self.check_interventions(list(interventions), full=True)
        self.depletions, self.knockouts = parsed.depletions, parsed.knockouts
        self.local_knockouts: dict = {}  # compartment -> Knockouts of its own (conditional knockouts)
        self._knockouts_in: dict = {}  # compartment -> what its cells see knocked out (neuroagents.timeline)
        self.receptor_blocks: dict = {}  # compartment kind -> receptors knocked out in it
        check_scoped_knockouts(self, parsed.knockouts.scoped)
        later_knockouts = start_knockouts(self, parsed.knockouts.scoped)  # those from t = 0 act before seeding
        self.held = HeldDepletions()
        self.injections = parse_injections(list(injections), self.compartments, self.env.names,
                                           {m.name: m.molecular_mass_kda for m in self.env.mediators})
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

    def _build_cells(self, layouts: list, cell_params, sex: str, *, per_compartment: bool) -> None:
        """The cell types of every compartment (parameters adjusted for sex), then their cells, seeded."""
        first = next(iter(self.compartments.values()))
        self._block_receptors(self.knockouts.receptors)
        global_params = sex_adjusted(cell_params or {}, sex)
        for lay in layouts:  # over compartments
            comp = self.compartments[lay["name"]]
            where = f"compartments.{comp.name}.cell_params" if per_compartment else "cell_params"
            check_cell_params(where, lay.get("cell_params"))
            local = {k: {**global_params.get(k, {}), **(lay.get("cell_params") or {}).get(k, {})} for k in CELL_TYPES}
            comp.cell_types = {kind: cls(comp, local.get(kind) or None) for kind, cls in CELL_TYPES.items()}
            for ct in comp.cell_types.values():  # over cell types: fused kernels where one fits
                ct.fused = fused_for(ct, self.cell_kernels)
            cells = lay.get("cells") or {}
            if not isinstance(cells, Mapping):
                raise ConfigError(f"compartments.{comp.name}.cells", cells, "a table of cell counts by type")
            for kind, n in cells.items():
                if kind not in CELL_TYPES:
                    raise ConfigError(f"compartments.{comp.name}.cells.{kind}", n,
                                      f"a cell type among {sorted(CELL_TYPES)}")  # fmt: skip
                check_count(f"compartments.{comp.name}.cells.{kind}", n)
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

    def _build_readouts(self, stroma_params, pain_params, species: str, swelling_params=None,
                        kinin_params=None) -> None:  # fmt: skip
        """Stromal COX-2, swelling, the pain model, and the recorder with its first record (t = 0)."""
        for key, value, cls in (("stroma_params", stroma_params, "StromaParams"),
                                ("swelling_params", swelling_params, "SwellingParams"),
                                ("kinin_params", kinin_params, "KininParams")):  # fmt: skip
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(key, value, f"a mapping of {cls} names to values")
        self.stroma_params = dict(stroma_params or {})
        self.swelling_params = dict(swelling_params or {})
        self.kinin_params = dict(kinin_params or {})
        for comp in self.compartments.values():  # over compartments: stromal COX-2 and swelling of each interstitium
            comp.stroma = build_stroma(comp, self.stroma_params, "stroma_params")
            comp.swelling = build_swelling(comp, self.swelling_params, "swelling_params")
            comp.kinins = build_kinins(comp, self.kinin_params, "kinin_params")
        self.neurons = self.axons.soma.cell_types["neuron"]
        if isinstance(pain_params, PainParams):
            pain_params = dataclasses.asdict(pain_params)
        if pain_params is None or isinstance(pain_params, Mapping):  # anything else: PainModel's own error
            pain_params = sex_adjusted_pain(pain_params, self.sex)
        self.pain = PainModel(self, params=pain_params, species=species)
        self._pain_trace = TraceBuffer(TRACE_COLUMNS)  # a row every cell step (neuroagents.pain.trace)

        self.phase_order = PHASES
        self.datacollector = mesa.DataCollector(model_reporters=self._reporters())
        self._next_record_min = 0.0
        self._record()

    # --- layout ----------------------------------------------------------------------------
    def random_interstitial_positions(self, n: int, region=None):
        """``n`` positions (µm) in the first compartment's interstitium (see :class:`Compartment`)."""
        return next(iter(self.compartments.values())).random_interstitial_positions(n, region)

    def voxel_centres(self, voxels):
        """Centres (µm) of flat voxel indices of the first compartment, shape ``(k, ndim)``."""
        return next(iter(self.compartments.values())).voxel_centres(voxels)

    def stream_key(self) -> int:
        """A key no earlier call returned, for counter-based random numbers
        (:mod:`neuroagents.cells.keyed_random`): the run's key (from its seed) and a counter of calls."""
        self._streams += 1
        return stream_key(self._run_key, self._streams)

    @property
    def rng_host(self) -> np.random.Generator:
        """A NumPy generator for layout choices (the model's own on the CPU)."""
        if self.backend.name == "numpy":
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
        self._secrete_cells()
        for comp in self.compartments.values():  # over compartments: stromal PGE2, leak (vectorized over voxels)
            comp.stroma.secrete(dt)
            self._secrete_leak(comp, dt)
        self._release_injections(dt)

    def _secrete_cells(self, clear: bool = True) -> None:
        """The secrete phase's first part: sources cleared (``clear``: a lockstep batch clears them for all its runs
        at once), then every cell type's release and uptake."""
        for comp in self.compartments.values() if clear else ():
            comp.env.clear_sources()
        for ct in self._cell_types():
            if ct.n:
                ct.secrete()

    def _secrete_leak(self, comp, dt) -> None:
        """Swelling and the kinins it feeds, in ``comp`` (after its stroma: a lockstep batch runs the stroma and the
        swelling of its runs together, then :meth:`_secrete_kinins` of each)."""
        self._secrete_kinins(comp, dt, comp.swelling.update(dt))

    def _secrete_kinins(self, comp, dt, exudation) -> None:
        """The kinins of ``comp``, from the swelling's drive this step (``exudation``, ``(V,)`` or None)."""
        if getattr(comp, "kinins", None) is not None:  # a checkpoint from before the kinins has none
            comp.kinins.secrete(dt, exudation)

    def _release_injections(self, dt) -> None:
        """The secrete phase's last part: depots release on."""
        for inj in self.given_injections:  # over injections given
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
        self._trace_pain()

    def _phase_record(self, dt):
        if self.time_min + 1e-9 >= self._next_record_min:
            self._record()


