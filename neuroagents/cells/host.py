"""What a cell type may read and write of the compartment it lives in: the :class:`CellHost` protocol.

A cell type (:class:`~neuroagents.cells.base.CellType`) is built with its compartment as ``model`` and touches
nothing else: every name it uses is declared here, and :class:`~neuroagents.compartment.Compartment` provides each
one explicitly (no attribute forwarding). The compartment answers for itself (grid, fields, vessels, drug effects
and knockouts as its own exposure sees them) and passes on a few of the model's (clock, random generator, event
log, the other compartments).

Cells **write** only through three doors: the fields' sources and sinks (``env``, via
:mod:`neuroagents.tissue.exchange`), the event log (``events.defer``) and draws from ``rng``. Everything else here is
read-only for them. ``tests/test_seams.py`` checks that the cell modules use no other name of their host.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=2, n_neurons=2)
>>> isinstance(m.compartments["tissue"], CellHost)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from neuroagents.axons import Axons
    from neuroagents.cells.events import EventLog
    from neuroagents.interventions import Knockouts
    from neuroagents.tissue import Grid, Microenvironment

__all__ = ["HOST_NAMES", "CellHost"]


@runtime_checkable
class CellHost(Protocol):
    """The compartment as a cell type sees it (see the module docstring for what cells may write)."""

    # --- the compartment's own ----------------------------------------------------------------
    name: str
    """``"tissue"`` for a single patch, else ``"paw"``, ``"drg"``, ``"dorsal_horn"``, ..."""
    kind: str
    """Drug exposure: ``"periphery"``, ``"drg"`` or ``"dorsal_horn"``."""
    grid: Grid
    env: Microenvironment
    """Fields ``(M, *grid.shape)``, nM; cells add sources and sinks through :mod:`neuroagents.tissue.exchange`."""
    allowed: Any
    """ndarray of bool, grid shape: voxels cells may enter (the interstitium)."""
    vessel_voxels: Any
    """ndarray of int64: flat indices of vessel voxels (recruitment sites)."""
    cell_types: Mapping[str, Any]
    """The cell types living here, by kind."""

    # --- the model's, passed on -----------------------------------------------------------------
    @property
    def xp(self) -> Any:
        """The array module (NumPy or CuPy)."""

    @property
    def rng(self) -> Any:
        """The model's random generator (on the backend); with :meth:`stream_key`, the only source of randomness."""

    @property
    def time_min(self) -> float:
        """Simulated time now, min."""

    @property
    def cell_dt_min(self) -> float:
        """The cell phases' time step, min."""

    @property
    def crowding_limit(self) -> int:
        """Most cells (all types) one voxel may hold after a move."""

    @property
    def events(self) -> EventLog:
        """The model's event log (cells add their events)."""

    @property
    def axons(self) -> Axons | None:
        """Where the neurons' somata and terminals are (:mod:`neuroagents.axons`)."""

    @property
    def compartments(self) -> Mapping[str, CellHost]:
        """Every compartment of the model, by name (e.g. whole-animal antigen presentation)."""

    @property
    def mast_cell_stimulus(self) -> float:
        """The scenario's inflammatory trigger of mast-cell degranulation, 0..1."""

    # --- drug effects and knockouts as this compartment sees them ---------------------------------
    @property
    def inhibition(self) -> Mapping[str, float]:
        """Fractional inhibition of kinases, pathways and receptors, 0..1 each."""

    @property
    def enzyme_inhibition(self) -> Mapping[str, float]:
        """Fraction of each enzyme's synthesis blocked (COX2 -> PGE2)."""

    @property
    def mirna_block(self) -> Mapping[str, float]:
        """Fraction of each microRNA's effect blocked (miR21)."""

    @property
    def knockouts(self) -> Knockouts:
        """Mediators, receptors and cell types knocked out for these cells now."""

    def stream_key(self) -> int:
        """A fresh key for counter-based random numbers (:mod:`neuroagents.cells.keyed_random`): crowding on a
        device draws its priorities from it instead of from :attr:`rng`."""

    def free_fraction(self, mediator: str, spinal: bool = False) -> float:
        """Fraction of ``mediator`` not bound by neutralizing antibodies."""

    # --- layout -----------------------------------------------------------------------------
    def random_interstitial_positions(self, n: int, region=None) -> np.ndarray:
        """``n`` positions (µm), shape ``(n, ndim)``, uniformly in the interstitium."""

    def random_interstitial_voxels(self, n: int) -> np.ndarray:
        """``n`` flat voxel indices drawn uniformly from the interstitium."""

    def voxel_centres(self, voxels) -> np.ndarray:
        """Centres (µm) of flat voxel indices, shape ``(k, ndim)``."""

    def beside_vessels(self, field) -> tuple[np.ndarray, np.ndarray]:
        """For each vessel voxel, the interstitial neighbour with more of ``field`` and its level (nM)."""

    def occupancy_except(self, cell_type) -> np.ndarray | None:
        """Cells of every other type in each voxel, ``(n_voxels,)``, or None."""


HOST_NAMES = frozenset(n for n in (*vars(CellHost), *CellHost.__annotations__) if not n.startswith("_"))
"""Every name a cell type may use of its host."""
