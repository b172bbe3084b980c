"""The microenvironment: mediator fields on a grid, and the solver that advances them.

Examples
--------
>>> from neuroagents.tissue import Grid, Microenvironment
>>> env = Microenvironment(Grid((32, 32), spacing_um=20.0), ["TNF", "IL10"], backend="numpy")
>>> env.fields.shape
(2, 32, 32)
>>> env.production_nM_per_min[env.index("TNF"), 16, 16] = 1.0   # a constant point source
>>> env.step(1.0)
>>> float(env.field("TNF")[16, 16]) > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from neuroagents.backend import Backend, resolve_backend
from neuroagents.errors import ConfigError, NumericalError
from neuroagents.mediators import Mediator, resolve_mediators
from neuroagents.tissue.diffusion.plans import ExplicitPlan, FieldSpec, LODPlan, Vessels, _check_dt
from neuroagents.tissue.diffusion.registry import SOLVERS, default_kernel, load_kernels
from neuroagents.tissue.exchange import PendingChecks
from neuroagents.tissue.grid import Grid, make_boundaries
from neuroagents.tissue.quiet_fields import QuietFields
from neuroagents.units import MOLECULES_PER_NM_UM3

__all__ = ["DTYPES", "Microenvironment"]

DTYPES = ("float32", "float64")


class Microenvironment:
    """Mediator concentration fields and their reaction–diffusion solver.

    Parameters
    ----------
    grid : Grid
    mediators : iterable of str or Mediator
        Catalogue names or :class:`~neuroagents.mediators.Mediator` entries.
    boundaries : optional
        See :func:`~neuroagents.tissue.grid.make_boundaries` (default no-flux).
    dtype : {"float64", "float32"}
    backend : {"auto", "numpy", "cupy"} or Backend
    solver : {"lod", "explicit"}
        ``"lod"``: implicit, unconditionally stable (default). ``"explicit"``:
        sub-cycles itself below its stability limit.
    kernel : {"auto", "reference", "numba", "cupy"}
        ``"auto"`` takes the fast kernel of the backend.
    explicit_cfl : float
        Fraction of the explicit stability limit used per sub-step, in (0, 1].
    check_every : int
        Check the fields for NaN, inf or negative values every this many steps
        (0 never). A failed check raises :class:`NumericalError`.

    Attributes
    ----------
    fields : ndarray of shape (M, *grid.shape)
        Concentrations, nM, on the backend's device.
    production_nM_per_min : ndarray of shape (M, *grid.shape)
        Zero-order source term ``q``; persists until :meth:`clear_sources`.
    consumption_per_min : ndarray of shape (M, *grid.shape)
        First-order sink term ``k`` (uptake, saturating secretion).
    time_min : float
        Simulated time.
    """

    def __init__(
        self,
        grid: Grid,
        mediators: Iterable[str | Mediator],
        *,
        boundaries=None,
        dtype: str = "float64",
        backend: str | Backend = "auto",
        solver: str = "lod",
        kernel: str = "auto",
        explicit_cfl: float = 0.9,
        check_every: int = 0,
    ):
        if not isinstance(grid, Grid):
            raise ConfigError("grid", grid, "a neuroagents.tissue.Grid")
        if str(dtype) not in DTYPES:
            raise ConfigError("dtype", dtype, "one of 'float32', 'float64'")
        if solver not in SOLVERS:
            raise ConfigError("solver", solver, "one of " + ", ".join(map(repr, SOLVERS)))
        if not isinstance(check_every, int) or check_every < 0:
            raise ConfigError("check_every", check_every, "an integer >= 0")
        self.grid = grid
        self.mediators = resolve_mediators(mediators)
        self.names = tuple(m.name for m in self.mediators)
        self.boundaries = make_boundaries(grid.ndim, boundaries)
        self.backend = resolve_backend(backend)
        self.solver = solver
        host_name = "numpy" if self.backend.name == "strict" else self.backend.name  # strict: NumPy's kernels
        self.kernel = default_kernel(host_name) if kernel == "auto" else kernel
        self._kernels = load_kernels(self.kernel, host_name)
        if self.backend.name == "strict":  # ... run as device kernels (neuroagents.strict_xp)
            self._kernels = self.backend.xp.device_kernels(self._kernels)
        self.explicit_cfl = explicit_cfl
        self.dtype = np.dtype(dtype)
        self.check_every = check_every
        self.spec = FieldSpec.build(grid, self.mediators, self.boundaries)
        ExplicitPlan.build(self.spec, 1.0, explicit_cfl)  # validates explicit_cfl
        xp = self.backend.xp
        shape = (len(self.mediators), *grid.shape)
        self.fields = xp.zeros(shape, dtype=self.dtype)
        self._production = xp.zeros(shape, dtype=self.dtype)
        self._consumption = xp.zeros(shape, dtype=self.dtype)
        # which mediators' source rows the exchange functions touched since the last clear;
        # None for direct writes we cannot see, which are then detected by a scan
        self._touched = np.zeros(len(self.mediators), dtype=bool)  # q rows written since the last clear
        self._touched_k = np.zeros(len(self.mediators), dtype=bool)  # k rows written since the last clear
        self._sources_known = False
        self._work = None
        self._plans: dict[tuple[str, float], object] = {}
        self._vessels = Vessels.none()
        self._vessels_dev = self._vessels
        self._base = None  # (q, k) of the vessels' exchange, restored by clear_sources; None without it
        self._base_at = None  # (vessel voxels, q there (M, Nv), k there (M, Nv)): the base where it is not zero
        self.pending_checks = PendingChecks(xp)  # the exchange's input checks, on a device (see check_pending)
        # the host path solves only the fields that can change (neuroagents/tissue/quiet_fields.py)
        self.quiet = QuietFields() if self.backend.name == "numpy" and self.kernel == "numba" else None
        self.time_min = 0.0
        self.steps = 0

    # --- lookup ---------------------------------------------------------------------------
    @property
    def xp(self):
        return self.backend.xp

    def index(self, name: str) -> int:
        """Position of mediator ``name`` along the first axis of :attr:`fields`."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError("mediator", name, f"one of {list(self.names)}") from None

    def field(self, name: str):
        """The concentration field of one mediator (a view), nM."""
        return self.fields[self.index(name)]

    def is_zero(self, name: str) -> bool:
        """Whether ``name``'s field is exactly zero everywhere, asked only where it costs no sync: on the host path
        (NumPy) a compiled scan up to the first non-zero voxel; off it always False.

        A rule that reads a field through ``c/(c + K)`` may skip a zero field: its term is exactly 0 (swelling,
        stroma), so skipping gives the same numbers.
        """
        if self.xp is not np:
            return False
        from neuroagents.tissue.diffusion.numba_kernels import nonzero_rows

        return not nonzero_rows(self.fields[self.index(name)].reshape(1, -1))[0]

    def _c4(self, a):
        return a.reshape(self.spec.shape4)

    # --- vessels and sources -------------------------------------------------------------
    def set_vessels(self, mask, values_nM: float | Mapping[str, float] = 0.0) -> None:
        """Hold voxels at fixed concentrations (vessels, clamps), replacing earlier ones.

        Parameters
        ----------
        mask : ndarray of bool, shape ``grid.shape``
            The voxels to hold.
        values_nM : float or Mapping[str, float]
            One value for every mediator, or a value per mediator name; a
            mediator left out of the mapping is not held (it moves freely
            through the vessel voxels).
        """
        mask = np.asarray(self.backend.to_host(mask) if not isinstance(mask, np.ndarray) else mask)
        if mask.shape != self.grid.shape or mask.dtype != bool:
            raise ConfigError(
                "vessels.mask", f"array {mask.dtype} {mask.shape}", f"a bool array of shape {self.grid.shape}"
            )
        if isinstance(values_nM, Mapping):
            unknown = sorted(set(values_nM) - set(self.names))
            if unknown:
                raise ConfigError(
                    "vessels.values_nM", dict(values_nM), f"keys among {list(self.names)} (unknown: {unknown})"
                )
            pairs = [(self.index(k), v) for k, v in values_nM.items()]
        else:
            pairs = [(m, values_nM) for m in range(len(self.names))]
        voxels = np.flatnonzero(mask.reshape(-1))
        idx, vals = [], []
        for m, v in pairs:  # over mediators
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"vessels.values_nM.{self.names[m]}", v, "a finite concentration >= 0 (nM)")
            idx.append(m * self.grid.n_voxels + voxels)
            vals.append(np.full(voxels.size, float(v)))
        flat = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
        values = np.concatenate(vals) if vals else np.zeros(0)
        self._vessels = Vessels(flat.astype(np.int64), values)
        xp = self.xp
        self._vessels_dev = Vessels(xp.asarray(self._vessels.flat_index), xp.asarray(values, dtype=self.dtype))
        self.fields.reshape(-1)[self._vessels_dev.flat_index] = self._vessels_dev.values

    def set_vessel_exchange(self, mask, rate_per_min, plasma_nM=None) -> None:
        """Exchange with blood in the voxels of ``mask``: ``dc/dt = −k (c − c_plasma)``, replacing earlier exchange.

        Unlike :meth:`set_vessels` (held voxels), the vessel voxels stay free: what the wall lets through is a
        first-order sink ``k`` (and a source ``k c_plasma``), kept in the source terms under what the cells add
        each step (:meth:`clear_sources` restores it). ``neuroagents/tissue/vessels.py`` gives ``k`` by size.

        Parameters
        ----------
        mask : ndarray of bool, shape ``grid.shape``
        rate_per_min : sequence of float, shape ``(M,)``
            ``k`` per mediator in the vessel voxels, 1/min, finite and >= 0.
        plasma_nM : sequence of float, shape ``(M,)``, optional
            Plasma concentration per mediator, nM (default 0).
        """
        mask = np.asarray(mask)
        if mask.shape != self.grid.shape or mask.dtype != bool:
            raise ConfigError(
                "vessels.mask", f"array {mask.dtype} {mask.shape}", f"a bool array of shape {self.grid.shape}"
            )
        n = len(self.names)
        k = np.asarray(rate_per_min, dtype=np.float64)
        c = np.zeros(n) if plasma_nM is None else np.asarray(plasma_nM, dtype=np.float64)
        for label, arr in (("vessels.rate_per_min", k), ("vessels.plasma_nM", c)):
            if arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ConfigError(label, arr.tolist(), f"{n} finite values >= 0, one per mediator {list(self.names)}")
        k4 = k[:, None] * mask.reshape(1, -1).astype(np.float64)
        xp = self.xp
        base_k = xp.asarray(k4.reshape(self._consumption.shape), dtype=self.dtype)
        base_q = xp.asarray((c[:, None] * k4).reshape(self._production.shape), dtype=self.dtype)
        self._base = (base_q, base_k) if np.any(k4 > 0) else None
        # the base is zero outside the vessels: a clear zeroes a row and writes back only these voxels
        at = np.flatnonzero(mask.reshape(-1))
        self._base_at = (xp.asarray(at), xp.asarray((c[:, None] * k4)[:, at], dtype=self.dtype),
                         xp.asarray(k4[:, at], dtype=self.dtype))  # fmt: skip
        self._base_fed = np.any((c[:, None] * k4) > 0, axis=1)  # mediators the plasma feeds (quiet_fields.py)
        self._production[...] = base_q
        self._consumption[...] = base_k
        self._touched[:] = False
        self._touched_k[:] = False
        self._sources_known = True

    @property
    def production_nM_per_min(self):
        """Zero-order source term ``q`` (nM/min), shape ``(M, *grid.shape)``.

        Writing into it directly is allowed; the next step then scans the
        source arrays. The exchange functions write through private handles
        and say which mediators they touched, so the model's step needs no scan.
        """
        self._sources_known = False
        return self._production

    @property
    def consumption_per_min(self):
        """First-order sink term ``k`` (1/min), shape ``(M, *grid.shape)`` (see :attr:`production_nM_per_min`)."""
        self._sources_known = False
        return self._consumption

    def source_rows(self, mediator_index: int, *, consumption: bool = True):
        """Writable ``(q, k)`` rows of one mediator for the exchange functions, marked as touched.

        ``consumption=False``: the caller writes only ``q`` (an export), so only ``q`` is marked and the next
        :meth:`clear_sources` resets only that row (``k`` is returned all the same, not to be written).
        """
        self._touched[mediator_index] = True
        if consumption:
            self._touched_k[mediator_index] = True
        return self._production[mediator_index], self._consumption[mediator_index]

    def clear_sources(self) -> None:
        """Zero the production and consumption terms (cells refill them each step), or reset them to the vessels'
        exchange (:meth:`set_vessel_exchange`) where there is one.

        Only the rows the exchange functions wrote since the last clear are
        reset, unless something may have written directly into the arrays.
        """
        if self._sources_known:
            rows, k_rows = np.flatnonzero(self._touched), np.flatnonzero(self._touched_k)
        else:
            rows = k_rows = np.arange(len(self.names))
        n = len(self.names)
        for arr, which, reset in ((self._production, 1, rows), (self._consumption, 2, k_rows)):
            if reset.size == n:
                arr.fill(0)
            elif reset.size:
                arr[reset] = 0  # writes only (a copy of the base rows would read them too)
            if reset.size and self._base is not None:
                at, values = self._base_at[0], self._base_at[which]
                flat = arr.reshape(n, -1)
                flat[reset[:, None], at[None, :]] = values[reset]
        self._touched[:] = False
        self._touched_k[:] = False
        self._sources_known = True

    def validate_sources(self) -> None:
        """Raise a clear error if a source term is NaN, infinite or negative."""
        for label, arr in (
            ("production_nM_per_min", self._production),
            ("consumption_per_min", self._consumption),
        ):
            bad = ~self.xp.isfinite(arr) | (arr < 0)
            if bool(bad.any()):
                m = int(self.backend.to_host(bad.reshape(len(self.names), -1).any(axis=1)).argmax())
                first = self.backend.to_host(arr[m][bad[m]])[0]
                raise ConfigError(f"sources.{label}.{self.names[m]}", float(first), "finite and >= 0 in every voxel")

    # --- stepping ---------------------------------------------------------------------------
    def plan(self, dt_min: float):
        """The (cached) coefficients of one step of ``dt_min`` for the chosen solver."""
        _check_dt(dt_min)
        key = (self.solver, float(dt_min))
        plan = self._plans.get(key)
        if plan is None:
            if self.solver == "lod":
                plan = LODPlan.build(self.spec, dt_min)
            else:
                plan = ExplicitPlan.build(self.spec, dt_min, self.explicit_cfl)
            if len(self._plans) > 16:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def step(self, dt_min: float) -> None:
        """Advance every field by ``dt_min`` minutes."""
        plan = self.plan(dt_min)
        has_sources = self._any_sources()
        active = None
        if self.quiet is not None and self.solver == "lod" and has_sources:  # with sources: the per-line path
            active = self.quiet.live(self, has_sources)
            if not active.any():
                self._advanced(dt_min)
                return
        q4 = self._c4(self._production) if has_sources else None
        k4 = self._c4(self._consumption) if has_sources else None
        if self._work is None and self.kernel != "reference" and self.solver == "explicit":  # LOD sweeps in place
            self._work = self.xp.empty_like(self.fields)
        work4 = None if self._work is None else self._c4(self._work)
        step = self._kernels.lod_step if self.solver == "lod" else self._kernels.explicit_step
        options = {} if active is None else {"active": active}  # the numba LOD kernel's mask
        step(self._c4(self.fields), plan, q4, k4, self._vessels_dev, work4, **options)
        self._advanced(dt_min)

    def _advanced(self, dt_min: float) -> None:
        self.time_min += float(dt_min)
        self.steps += 1
        if self.check_every and self.steps % self.check_every == 0:
            self.check_fields()

    def _any_sources(self) -> bool:
        if self._base is not None:  # the vessels' exchange is always there
            return True
        if self._sources_known:  # every write since the last clear went through the exchange
            return bool(self._touched.any())
        # direct writes into the arrays: scan them (one reduction each)
        return bool(self._production.any()) or bool(self._consumption.any())

    def check_pending(self) -> None:
        """Raise the exchange's input errors held on the device since the last call (one copy to the host).

        On NumPy they were raised at once and this does nothing; on a device the model calls it when it records.
        """
        self.pending_checks.raise_any(self.backend.to_host)

    def check_fields(self) -> None:
        """Raise :class:`NumericalError` if any field is NaN, infinite or negative."""
        f = self.fields.reshape(len(self.names), -1)
        bad_rows = self.backend.to_host((~self.xp.isfinite(f) | (f < 0)).any(axis=1))
        if bad_rows.any():
            m = int(np.argmax(bad_rows))
            raise NumericalError(
                f"field {self.names[m]!r} has NaN, infinite or negative values at t = {self.time_min:g} min "
                f"(step {self.steps}); the last good state is the one before this step"
            )

    # --- readouts ---------------------------------------------------------------------------
    def total_molecules(self) -> np.ndarray:
        """Amount of each mediator in the whole grid, molecules, shape ``(M,)``."""
        sums = self.fields.reshape(len(self.names), -1).sum(axis=1, dtype=np.float64)
        return self.backend.to_host(sums) * self.grid.voxel_volume_um3 * MOLECULES_PER_NM_UM3

    def mean_nM(self) -> np.ndarray:
        """Mean concentration of each mediator, nM, shape ``(M,)``."""
        return self.backend.to_host(self.fields.reshape(len(self.names), -1).mean(axis=1, dtype=np.float64))

    def to_host(self) -> np.ndarray:
        """A NumPy copy of :attr:`fields`."""
        return np.array(self.backend.to_host(self.fields))

    def __repr__(self) -> str:
        return (
            f"Microenvironment(grid={self.grid.shape} x {self.grid.spacing_um} µm, mediators={list(self.names)}, "
            f"solver={self.solver!r}, kernel={self.kernel!r}, backend={self.backend.name!r}, dtype={self.dtype.name})"
        )
