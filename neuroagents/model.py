"""NeuroImmuneModel: a Mesa model whose cells live in arrays.

The step is a list of named phases (DESIGN.md, "One step, in phases"); each
phase calls plain vectorized functions of the cell types and the
microenvironment, in order::

    dose -> sense -> decide -> secrete -> diffuse -> move -> pain -> record

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
from collections.abc import Mapping

import mesa
import numpy as np
import pandas as pd

from neuroagents.backend import resolve_backend
from neuroagents.cells.events import EventLog
from neuroagents.cells.macrophage import Macrophage
from neuroagents.cells.mast_cell import MastCell
from neuroagents.cells.microglia import Microglia
from neuroagents.cells.neuron import Neuron
from neuroagents.cells.signaling import check_inhibition_keys
from neuroagents.cells.t_cell import TCell
from neuroagents.errors import ConfigError
from neuroagents.interventions import parse_interventions
from neuroagents.pain import PainModel
from neuroagents.pharmacology import Pharmacology
from neuroagents.pharmacology.effects import combine_independent, split_by_kind
from neuroagents.tissue import Grid, Microenvironment

__all__ = ["CELL_TYPES", "DEFAULT_MEDIATORS", "PHASES", "NeuroImmuneModel"]

PHASES = ("dose", "sense", "decide", "secrete", "diffuse", "move", "pain", "record")
CELL_TYPES = {c.kind: c for c in (MastCell, Macrophage, TCell, Microglia, Neuron)}
DEFAULT_MEDIATORS = (
    "TNF", "IL1B", "IL6", "IL10", "IL17A", "IFNG", "IL4", "IL13", "GMCSF", "NGF", "PGE2", "histamine",
    "serotonin", "tryptase", "CCL2", "CSF1", "CX3CL1", "ATP", "BDNF", "SP", "CGRP", "elastase", "miR21", "IL23",
)  # fmt: skip
COMPARTMENTS = ("interstitium", "vessel")


def _positive(name, value, allowed="a number > 0"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(name, value, allowed)


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(name, value, "an integer >= 0")


class NeuroImmuneModel(mesa.Model):
    """Cells, mediators and the pain readouts on one tissue grid.

    Parameters (keyword-only)
    -------------------------
    width_um, height_um : float
        Size of the tissue patch, µm. ``depth_um`` > 0 makes the grid 3D.
    voxel_um : float
        Voxel edge, µm (20 µm as in PhysiCell and GranSim, parameters.md).
    n_mast_cells, n_macrophages, n_t_cells, n_microglia, n_neurons : int
        Initial numbers of cells (T cells usually start at 0 and infiltrate).
    injured_fraction : float
        Fraction of neurons injured at ``injury_time_min`` (0 = sham).
    vessel_spacing_um : float
        Distance between the parallel vessels (recruitment sites, sinks), µm.
    crowding_limit : int
        Most cells, of all types together, one voxel may hold after a move (2 T cells per 20 µm voxel in
        GranSim, parameters.md). Placement (seeding, recruitment, division) does not check it.
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
        Cell depletions at a time and knockouts of a mediator, receptor or cell type
        (see :mod:`neuroagents.interventions`).
    pain_params : Mapping, optional
        Overrides of the pain model's parameters (see ``docs/pain.md``).
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
        pain_params: Mapping | None = None,
        species: str = "mouse",
        seed: int | None = None,
        rng=None,
    ):
        super().__init__(seed=seed, rng=rng)
        if (
            isinstance(depth_um, bool)
            or not isinstance(depth_um, (int, float))
            or not math.isfinite(depth_um)
            or depth_um < 0
        ):
            raise ConfigError("depth_um", depth_um, "a length >= 0 (µm; 0 for a 2D patch)")
        for name, v in (("width_um", width_um), ("height_um", height_um), ("voxel_um", voxel_um)):
            _positive(name, v, "a length > 0 (µm)")
        for name, v in (("cell_dt_min", cell_dt_min), ("diffusion_dt_min", diffusion_dt_min)):
            _positive(name, v, "a time > 0 (min)")
        _positive("record_every_min", record_every_min, "a time > 0 (min)")
        _positive("vessel_spacing_um", vessel_spacing_um, "a length > 0 (µm)")
        counts = {"mast_cell": n_mast_cells, "macrophage": n_macrophages, "t_cell": n_t_cells,
                  "microglia": n_microglia, "neuron": n_neurons}  # fmt: skip
        for arg, v in zip(("n_mast_cells", "n_macrophages", "n_t_cells", "n_microglia", "n_neurons"),
                          counts.values(), strict=True):  # fmt: skip
            _count(arg, v)
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
        unknown = sorted(set(cell_params or {}) - set(CELL_TYPES))
        if unknown:
            raise ConfigError(
                f"cell_params.{unknown[0]}", (cell_params or {})[unknown[0]], f"a cell type among {sorted(CELL_TYPES)}"
            )
        for kind, v in (cell_params or {}).items():
            if not isinstance(v, Mapping):
                raise ConfigError(f"cell_params.{kind}", v, "a mapping of parameter names to values")
        if isinstance(mast_cell_stimulus, bool) or not (
            isinstance(mast_cell_stimulus, (int, float)) and 0 <= mast_cell_stimulus <= 1
        ):
            raise ConfigError("mast_cell_stimulus", mast_cell_stimulus, "a fraction in [0, 1]")
        self.mast_cell_stimulus = float(mast_cell_stimulus)
        self.inhibition = {}
        self.set_inhibition(inhibition or {})
        self.base_inhibition = dict(self.inhibition)
        self.spinal_inhibition = dict(self.inhibition)
        self.neutralization: dict[str, float] = {}  # mediator -> fraction bound by antibodies (periphery)
        self.spinal_neutralization: dict[str, float] = {}
        self.enzyme_inhibition: dict[str, float] = {}  # COX2 -> fraction of PGE2 synthesis blocked
        self.mirna_block: dict[str, float] = {}  # miR21 -> fraction of its effect blocked
        self.pharmacology = Pharmacology(list(drugs), species) if drugs else None

        self.backend = resolve_backend(backend)
        self.xp = self.backend.xp
        if self.backend.is_gpu:  # a device generator seeded from the model's own
            self.rng = self.backend.rng(int(self.rng.integers(2**63)))
        dims = [width_um, height_um] + ([depth_um] if depth_um and depth_um > 0 else [])
        shape = tuple(max(1, round(d / voxel_um)) for d in dims)
        self.grid = Grid(shape, spacing_um=voxel_um)
        self.env = Microenvironment(
            self.grid, list(mediators or DEFAULT_MEDIATORS), backend=self.backend, dtype=dtype, solver="lod"
        )
        self.cell_dt_min = float(cell_dt_min)
        self.diffusion_dt_min = float(diffusion_dt_min)
        self.record_every_min = float(record_every_min)
        self.crowding_limit = int(crowding_limit)
        self.injured_fraction = float(injured_fraction)
        self.injury_time_min = float(injury_time_min)
        self.injured = False
        self.time_min = 0.0
        self.events = EventLog()

        # compartments: parallel vessels along x (sinks and recruitment sites) in interstitium
        labels = np.zeros(shape, dtype=np.int8)
        n_ves = max(1, round(height_um / vessel_spacing_um))
        rows = ((np.arange(n_ves) + 0.5) * shape[1] / n_ves).astype(int)
        labels[:, rows, ...] = COMPARTMENTS.index("vessel")
        self.compartments = labels
        self.vessel_voxels = self.xp.asarray(np.flatnonzero(labels.reshape(-1) == 1))
        self.allowed = self.xp.asarray(labels == 0)
        self.env.set_vessels(labels == 1, 0.0)  # blood clears the mediators (assumption: plasma ~ 0)

        from neuroagents.cells.signaling import RECEPTORS

        self.depletions, self.knockouts = parse_interventions(
            list(interventions), cell_types={k: c.states for k, c in CELL_TYPES.items()},
            mediators=self.env.names, receptors=sorted(RECEPTORS),
        )  # fmt: skip
        self._next_depletion = 0
        for r in self.knockouts.receptors:  # a knocked-out receptor is fully and permanently blocked
            self.base_inhibition[r] = self.inhibition[r] = self.spinal_inhibition[r] = 1.0
        overrides = dict(cell_params or {})
        self.cell_types = {kind: cls(self, overrides.get(kind)) for kind, cls in CELL_TYPES.items()}
        for kind, n in counts.items():
            if n and kind not in self.knockouts.cell_types:
                self.cell_types[kind].seed_cells(n)
        self.species = species
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
        """``n`` positions (µm) uniformly in interstitial voxels, optionally within ``region`` (bool grid mask)."""
        ok = self.compartments == 0
        if region is not None:
            ok &= region
        voxels = np.flatnonzero(ok.reshape(-1))
        if voxels.size == 0:
            raise ConfigError("layout", "no interstitial voxel", "a tissue with room for cells")
        chosen = voxels[self.rng_host.integers(0, voxels.size, size=n)]
        idx = np.stack(np.unravel_index(chosen, self.grid.shape), axis=1)
        jitter = self.rng_host.uniform(0.0, 1.0, size=idx.shape)
        return self.xp.asarray((idx + jitter) * np.asarray(self.grid.spacing_um))

    def voxel_centres(self, voxels):
        """Centres (µm) of flat voxel indices, shape ``(k, ndim)``."""
        xp = self.xp
        idx = xp.stack(xp.unravel_index(voxels, self.grid.shape), axis=1)
        return (idx + 0.5) * xp.asarray(self.grid.spacing_um)

    def beside_vessels(self, field):
        """For each vessel voxel, the interstitial neighbour (across y) with more of ``field``.

        Returns
        -------
        beside : ndarray of shape (K,), int64
            Flat voxel indices where recruited cells enter.
        level : ndarray of shape (K,)
            The field's concentration there, nM.
        """
        xp = self.xp
        stride = int(np.prod(self.grid.shape[2:])) if self.grid.ndim > 2 else 1
        ny = self.grid.shape[1] if self.grid.ndim > 1 else 1
        v = self.vessel_voxels
        y = (v // stride) % ny
        flat = field.reshape(-1)
        labels = xp.asarray(self.compartments.reshape(-1))
        below = xp.where(y > 0, v - stride, v)
        above = xp.where(y < ny - 1, v + stride, v)
        lvl_below = xp.where(labels[below] == 0, flat[below], -1.0)
        lvl_above = xp.where(labels[above] == 0, flat[above], -1.0)
        beside = xp.where(lvl_above > lvl_below, above, below)
        level = xp.maximum(xp.maximum(lvl_above, lvl_below), 0.0)
        return beside, level

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
        if not self.injured and self.injured_fraction > 0 and self.time_min >= self.injury_time_min:
            self.cell_types["neuron"].injure(self.injured_fraction)
            self.injured = True
        if self.pharmacology is not None:
            self.apply_drug_effects(self.pharmacology.effects(self.time_min))
        while self._next_depletion < len(self.depletions) and self.depletions[self._next_depletion].time_min <= (
            self.time_min + 1e-9
        ):
            self.deplete(self.depletions[self._next_depletion])
            self._next_depletion += 1

    def deplete(self, d) -> int:
        """Remove a random fraction of one cell type (in one state, if given) now; returns how many."""
        ct = self.cell_types[d.cell_type]
        if ct.n == 0:
            return 0
        hit = self.rng.random(ct.n) < d.fraction
        if d.state is not None:
            hit &= ct.pop["state"] == ct.state_code(d.state)
        ct.event_counts["depleted"] = ct.event_counts.get("depleted", 0) + int(hit.sum())
        return ct.pop.remove(hit)

    def apply_drug_effects(self, effects: Mapping[str, Mapping[str, float]]) -> None:
        """Turn ``{compartment: {target: fraction}}`` into the model's inputs.

        Kinases, pathways and receptor blockade join :attr:`inhibition` (peripheral and DRG cells, nociceptors)
        and :attr:`spinal_inhibition` (the dorsal horn, from the CSF exposure) as independent actions;
        neutralized mediators reach receptors only as their free fraction; COX2 scales PGE2 synthesis;
        miR21 scales the exosomal miR-21 drive of macrophages.
        """
        periphery = split_by_kind(effects.get("periphery", {}))
        spinal = split_by_kind(effects.get("dorsal_horn", {}))

        def joined(groups):
            out = dict(self.base_inhibition)
            for key, v in {**groups["inhibition"], **groups["receptor_blockade"]}.items():
                out[key] = float(combine_independent([out.get(key, 0.0), v]))
            return out

        self.inhibition = joined(periphery)
        self.spinal_inhibition = joined(spinal)
        self.neutralization = dict(periphery["neutralization"])
        self.spinal_neutralization = dict(spinal["neutralization"])
        self.enzyme_inhibition = dict(periphery["enzyme_inhibition"])
        self.mirna_block = dict(periphery["mirna_block"])

    def free_fraction(self, mediator: str, spinal: bool = False) -> float:
        """Fraction of a mediator not bound by neutralizing antibodies (1 without drugs)."""
        table = self.spinal_neutralization if spinal else self.neutralization
        return 1.0 - table.get(mediator, 0.0)

    def _phase_sense(self, dt):
        for ct in self.cell_types.values():
            ct.sense(dt)

    def _phase_decide(self, dt):
        for ct in self.cell_types.values():
            ct.decide(dt)

    def _phase_secrete(self, dt):
        self.env.clear_sources()
        for ct in self.cell_types.values():
            if ct.n:
                ct.secrete()

    def _phase_diffuse(self, dt):
        n_sub = max(1, math.ceil(dt / self.diffusion_dt_min - 1e-9))
        for _ in range(n_sub):  # sub-steps in time
            self.env.step(dt / n_sub)

    def _phase_move(self, dt):
        self._occupancy = {k: self.xp.bincount(ct.pop["voxel"], minlength=self.grid.n_voxels)
                           for k, ct in self.cell_types.items() if ct.n}  # fmt: skip
        for ct in self.cell_types.values():
            ct.move(dt)
            if ct.n:
                self._occupancy[ct.kind] = self.xp.bincount(ct.pop["voxel"], minlength=self.grid.n_voxels)
            else:
                self._occupancy.pop(ct.kind, None)
        self.time_min += dt

    def occupancy_except(self, cell_type):
        """Cells of every other type in each voxel, ``(n_voxels,)`` int, or None (crowding counts all types)."""
        others = [v for k, v in getattr(self, "_occupancy", {}).items() if k != cell_type.kind]
        if not others:
            return None
        total = others[0].copy()
        for v in others[1:]:  # over cell types
            total += v
        return total

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
        """Cells per type and state."""
        return {kind: ct.census() for kind, ct in self.cell_types.items()}

    def mean_by_compartment(self) -> dict[str, np.ndarray]:
        """Mean concentration of each mediator (nM) in each compartment, ``{name: (M,)}``."""
        flat = self.env.fields.reshape(len(self.env.names), -1)
        out = {}
        labels = self.xp.asarray(self.compartments.reshape(-1))
        for c, name in enumerate(COMPARTMENTS):  # over compartments
            mask = labels == c
            n = int(mask.sum())
            out[name] = self.backend.to_host(flat[:, mask].mean(axis=1)) if n else np.zeros(len(self.env.names))
        return out

    def snapshot(self) -> dict:
        """Every recorded quantity now, as plain numbers (one census, one reduction per compartment)."""
        snap = {"time_min": self.time_min}
        for kind, counts in self.counts().items():
            for state, n in counts.items():
                snap[f"n_{kind}_{state}"] = n
        means = self.mean_by_compartment()
        for comp, values in means.items():
            for i, name in enumerate(self.env.names):
                snap[f"mean_{name}_nM_{comp}"] = float(values[i])
        snap.update(self.pain.readouts(self))
        return snap

    def _reporters(self) -> dict:
        keys = list(self.snapshot())
        return {k: (lambda m, k=k: m._snapshot.get(k, float("nan"))) for k in keys}

    def timeseries(self) -> pd.DataFrame:
        """One tidy row per recorded time (minutes), from the DataCollector."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def inspect(self, kind: str, cell_id: int) -> dict:
        """A readable record of one cell (see :meth:`CellType.inspect`)."""
        if kind not in self.cell_types:
            raise ConfigError("kind", kind, f"one of {sorted(self.cell_types)}")
        return self.cell_types[kind].inspect(cell_id)
