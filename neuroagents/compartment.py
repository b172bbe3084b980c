"""One tissue compartment: a grid, its mediator fields, its vessels and the cells that live there.

A model holds one compartment (a single tissue patch) or several — a paw or a
joint, the dorsal root ganglion (DRG), the spinal dorsal horn — each with its
own grid and fields. Cell types are built with their compartment as their
``model`` and use only what :class:`~neuroagents.cells.host.CellHost` declares:
the compartment's own grid, fields, vessels, drug effects and knockouts, and a
few of the model's (clock, random generator, event log), each passed on by an
explicit property. The neurons' axons link compartments (:mod:`neuroagents.axons`).

``kind`` says which drug exposure the compartment sees
(:mod:`neuroagents.pharmacology.effects`): ``"periphery"`` (skin, paw, joint,
nerve: the free plasma level), ``"drg"`` (the same, the DRG has no
blood-nerve barrier to speak of) or ``"dorsal_horn"`` (the CSF level).

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, compartments=[
...     {"name": "paw", "kind": "periphery", "width_um": 400, "height_um": 400, "cells": {"macrophage": 5}},
...     {"name": "drg", "kind": "drg", "width_um": 300, "height_um": 300, "cells": {"neuron": 4}},
...     {"name": "dorsal_horn", "kind": "dorsal_horn", "width_um": 300, "height_um": 200, "cells": {"microglia": 5}}])
>>> sorted(m.compartments), m.compartments["drg"].grid.shape
(['dorsal_horn', 'drg', 'paw'], (15, 15))
>>> m.compartments["paw"].cell_types["macrophage"].n, m.neurons.n
(5, 4)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from neuroagents.backend import fixed_bincount
from neuroagents.errors import ConfigError
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.vessels import tissue_clearance_per_min

__all__ = ["KINDS", "REGIONS", "Compartment", "check_layout"]

KINDS = ("periphery", "drg", "dorsal_horn")
REGIONS = ("interstitium", "vessel")
_LAYOUT_KEYS = {"name", "kind", "width_um", "height_um", "depth_um", "voxel_um", "vessel_spacing_um", "cells",
                "cell_params"}  # fmt: skip


def _positive(where, value, allowed):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(where, value, allowed)


class Compartment:
    """A tissue compartment (see module docstring).

    Parameters
    ----------
    model : NeuroImmuneModel
        The owner: random generator, clock, backend, drug effects, knockouts.
    name : str
        E.g. ``"paw"``, ``"drg"``, ``"dorsal_horn"`` (``"tissue"`` for a single patch).
    kind : {"periphery", "drg", "dorsal_horn"}
        Which drug exposure its cells see.
    width_um, height_um, depth_um : float
        Size, µm; ``depth_um`` > 0 makes the grid 3D.
    voxel_um : float
        Voxel edge, µm.
    vessel_spacing_um : float
        Distance between parallel vessels along x (blood: sinks and recruitment sites), µm.
    mediators : sequence
        Mediator names or :class:`~neuroagents.mediators.Mediator` objects on this grid.
    dtype : str
        Precision of the fields.

    Attributes
    ----------
    grid : Grid
    env : Microenvironment
        Fields ``(M, *grid.shape)``, nM.
    regions : ndarray of int8, grid shape
        0 = interstitium, 1 = vessel (:data:`REGIONS`).
    vessel_voxels : ndarray of int64
        Flat indices of vessel voxels (on the backend).
    allowed : ndarray of bool, grid shape
        Voxels cells may enter (the interstitium).
    cell_types : dict
        The cell types that live here, by kind (filled by the model).
    """

    def __init__(self, model, name: str, kind: str, *, width_um, height_um, depth_um=0.0, voxel_um=20.0,
                 vessel_spacing_um=500.0, mediators=(), dtype="float64"):  # fmt: skip
        where = "" if name == "tissue" else f"compartments.{name}."  # a single patch: the model's own keys
        if kind not in KINDS:
            raise ConfigError(f"{where}kind", kind, f"one of {list(KINDS)}")
        if isinstance(depth_um, bool) or not isinstance(depth_um, (int, float)) or not math.isfinite(depth_um) \
                or depth_um < 0:  # fmt: skip
            raise ConfigError(f"{where}depth_um", depth_um, "a length >= 0 (µm; 0 for a 2D patch)")
        for key, v in (("width_um", width_um), ("height_um", height_um), ("voxel_um", voxel_um),
                       ("vessel_spacing_um", vessel_spacing_um)):  # fmt: skip
            _positive(f"{where}{key}", v, "a length > 0 (µm)")
        self.model = model
        self.name = name
        self.kind = kind
        dims = [width_um, height_um] + ([depth_um] if depth_um and depth_um > 0 else [])
        shape = tuple(max(1, round(d / voxel_um)) for d in dims)
        self.grid = Grid(shape, spacing_um=voxel_um)
        self.env = Microenvironment(self.grid, list(mediators), backend=model.backend, dtype=dtype, solver="lod")
        labels = np.zeros(shape, dtype=np.int8)
        n_ves = max(1, round(height_um / vessel_spacing_um))
        rows = ((np.arange(n_ves) + 0.5) * shape[1] / n_ves).astype(int) if len(shape) > 1 else np.zeros(0, int)
        if len(shape) > 1:
            labels[:, rows, ...] = REGIONS.index("vessel")
        self.regions = labels
        xp = model.xp
        self.vessel_voxels = xp.asarray(np.flatnonzero(labels.reshape(-1) == 1))
        self.allowed = xp.asarray(labels == 0)
        # blood clears the mediators through the vessel wall, by size (tissue/vessels.py; plasma ~ 0, assumption)
        concentrate = labels.size / max(1, int((labels == 1).sum()))  # the tissue's clearance, in its vessel voxels
        rates = [tissue_clearance_per_min(m.molecular_mass_kda) * concentrate for m in self.env.mediators]
        self.env.set_vessel_exchange(labels == 1, rates)
        self.cell_types: dict = {}
        self._occupancy: dict = {}

    def __repr__(self) -> str:
        return f"Compartment({self.name!r}, kind={self.kind!r}, shape={self.grid.shape})"

    # --- what cells read of the model, passed on (neuroagents.cells.host.CellHost declares each) ----------------
    @property
    def xp(self):
        """The array module (NumPy or CuPy)."""
        return self.model.xp

    @property
    def rng(self):
        """The model's random generator (on the backend)."""
        return self.model.rng

    def stream_key(self) -> int:
        """The model's next key for counter-based random numbers (:meth:`NeuroImmuneModel.stream_key`)."""
        return self.model.stream_key()

    @property
    def time_min(self) -> float:
        """Simulated time now, min."""
        return self.model.time_min

    @property
    def cell_dt_min(self) -> float:
        """The cell phases' time step, min."""
        return self.model.cell_dt_min

    @property
    def crowding_limit(self) -> int:
        """Most cells (all types) one voxel may hold after a move."""
        return self.model.crowding_limit

    @property
    def events(self):
        """The model's event log (:class:`~neuroagents.cells.events.EventLog`)."""
        return self.model.events

    @property
    def axons(self):
        """Where the neurons' somata and terminals are (:class:`~neuroagents.axons.Axons`)."""
        return self.model.axons

    @property
    def compartments(self) -> dict:
        """Every compartment of the model, by name."""
        return self.model.compartments

    @property
    def mast_cell_stimulus(self) -> float:
        """The scenario's inflammatory trigger of mast-cell degranulation, 0..1."""
        return self.model.mast_cell_stimulus

    # --- drug effects and knockouts as this compartment sees them ---------------------------------------------
    @property
    def inhibition(self) -> dict[str, float]:
        """Fractional inhibition of kinases, pathways and receptors that this compartment's cells see."""
        return self.model.inhibition_in(self.kind)

    def free_fraction(self, mediator: str, spinal: bool = False) -> float:
        """Fraction of ``mediator`` not bound by neutralizing antibodies here."""
        return self.model.free_fraction(mediator, kind="dorsal_horn" if spinal else self.kind)

    @property
    def knockouts(self):
        """What is knocked out for this compartment's cells now (:class:`~neuroagents.interventions.Knockouts`)."""
        return self.model.knockouts_in(self.name)

    @property
    def enzyme_inhibition(self) -> dict[str, float]:
        """Fraction of each enzyme's synthesis blocked here (COX2 -> PGE2), from this compartment's exposure."""
        return self.model.drug_tables[self.kind]["enzyme_inhibition"]

    @property
    def mirna_block(self) -> dict[str, float]:
        """Fraction of each microRNA's effect blocked here (miR21, by an antagomir), from this exposure."""
        return self.model.drug_tables[self.kind]["mirna_block"]

    # --- layout -----------------------------------------------------------------------------
    def random_interstitial_positions(self, n: int, region=None):
        """``n`` positions (µm) uniformly in interstitial voxels, optionally within ``region`` (bool grid mask)."""
        ok = self.regions == 0
        if region is not None:
            ok &= region
        voxels = np.flatnonzero(ok.reshape(-1))
        if voxels.size == 0:
            raise ConfigError(f"compartments.{self.name}", "no interstitial voxel", "a tissue with room for cells")
        rng = self.model.rng_host
        chosen = voxels[rng.integers(0, voxels.size, size=n)]
        idx = np.stack(np.unravel_index(chosen, self.grid.shape), axis=1)
        jitter = rng.uniform(0.0, 1.0, size=idx.shape)
        return self.model.xp.asarray((idx + jitter) * np.asarray(self.grid.spacing_um))

    def random_interstitial_voxels(self, n: int):
        """``n`` flat voxel indices drawn uniformly from the interstitium (on the backend)."""
        pos = self.random_interstitial_positions(n)
        return self.grid.voxel_of(pos, self.model.xp)

    def voxel_centres(self, voxels):
        """Centres (µm) of flat voxel indices, shape ``(k, ndim)``."""
        xp = self.model.xp
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
        xp = self.model.xp
        below, above, below_open, above_open = self._vessel_neighbours()
        flat = field.reshape(-1)
        lvl_below = xp.where(below_open, flat[below], -1.0)
        lvl_above = xp.where(above_open, flat[above], -1.0)
        beside = xp.where(lvl_above > lvl_below, above, below)
        level = xp.maximum(xp.maximum(lvl_above, lvl_below), 0.0)
        return beside, level

    def _vessel_neighbours(self):
        """Each vessel voxel's neighbours across y (itself at the grid's edge) and whether each is interstitium:
        four ``(K,)`` arrays, fixed by the regions (cached, as :meth:`interstitial_voxels_within` is: the
        regions never change after the compartment is built; :meth:`beside_vessels` asks every step)."""
        cached = self.__dict__.get("_beside")
        if cached is None:
            xp = self.model.xp
            stride = int(np.prod(self.grid.shape[2:])) if self.grid.ndim > 2 else 1
            ny = self.grid.shape[1] if self.grid.ndim > 1 else 1
            v = self.vessel_voxels
            y = (v // stride) % ny
            labels = xp.asarray(self.regions.reshape(-1))
            below = xp.where(y > 0, v - stride, v)
            above = xp.where(y < ny - 1, v + stride, v)
            cached = self.__dict__["_beside"] = (below, above, labels[below] == 0, labels[above] == 0)
        return cached

    def interstitial_voxels_within(self, radius_um: float | None):
        """Flat indices (on the backend) of interstitial voxels within ``radius_um`` of the centre (all for None).

        Cached per radius: a depot asks every step.
        """
        cache = self.__dict__.setdefault("_within", {})
        if radius_um not in cache:
            inside = self.regions == 0
            if radius_um is not None:
                inside = inside & self.central_region(radius_um)
            cache[radius_um] = self.model.xp.asarray(np.flatnonzero(inside.reshape(-1)))
        return cache[radius_um]

    def central_region(self, radius_um: float):
        """Boolean grid mask of voxels whose centres lie within ``radius_um`` of the grid's centre."""
        g = self.grid
        axes = [(np.arange(n) + 0.5) * g.spacing_um[a] - g.extent_um[a] / 2 for a, n in enumerate(g.shape)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return sum(c * c for c in mesh) <= radius_um**2

    # --- crowding ---------------------------------------------------------------------------
    def count_occupancy(self) -> None:
        """Cells of each type in each voxel, before the moves."""
        xp, n_vox = self.model.xp, self.grid.n_voxels
        self._occupancy = {k: fixed_bincount(xp, ct.pop["voxel"], n_vox) for k, ct in self.cell_types.items()
                           if ct.n}  # fmt: skip

    def move_cells(self, dt: float) -> None:
        """Move every cell type in turn, keeping the occupancy of the others up to date."""
        self.count_occupancy()
        xp, n_vox = self.model.xp, self.grid.n_voxels
        for ct in self.cell_types.values():  # over cell types
            ct.move(dt)
            if ct.n:
                self._occupancy[ct.kind] = fixed_bincount(xp, ct.pop["voxel"], n_vox)
            else:
                self._occupancy.pop(ct.kind, None)

    def occupancy_except(self, cell_type):
        """Cells of every other type in each voxel, ``(n_voxels,)`` int, or None (crowding counts all types)."""
        others = [v for k, v in self._occupancy.items() if k != cell_type.kind]
        if not others:
            return None
        total = others[0].copy()
        for v in others[1:]:  # over cell types
            total += v
        return total

    # --- readouts ---------------------------------------------------------------------------
    def mean_by_region(self) -> dict[str, np.ndarray]:
        """Mean concentration of each mediator (nM) in each region, ``{region: (M,)}``."""
        flat = self.env.fields.reshape(len(self.env.names), -1)
        out = {}
        labels = self.model.xp.asarray(self.regions.reshape(-1))
        for c, region in enumerate(REGIONS):  # over regions
            mask = labels == c
            n = int(mask.sum())
            host = self.model.backend.to_host
            out[region] = host(flat[:, mask].mean(axis=1)) if n else np.zeros(len(self.env.names))
        return out


def check_layout(spec, i: int) -> dict:
    """Validate one compartment's layout mapping (from a scenario or a caller); returns a plain dict."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"compartments[{i}]", spec, "a mapping with name, kind, width_um, height_um, ...")
    unknown = sorted(set(spec) - _LAYOUT_KEYS)
    if unknown:
        raise ConfigError(f"compartments[{i}].{unknown[0]}", spec[unknown[0]], f"a key among {sorted(_LAYOUT_KEYS)}")
    name = spec.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"compartments[{i}].name", name, "a name like 'paw', 'drg' or 'dorsal_horn'")
    return dict(spec)
