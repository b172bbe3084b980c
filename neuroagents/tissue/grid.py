"""The tissue grid: shape, voxel spacing and the boundary of each side.

A grid is 1D, 2D or 3D with voxel-centred values. Axis 0 is x, axis 1 is y,
axis 2 is z; arrays are C-ordered, so the last axis is contiguous in memory.
Voxel ``(i, j, k)`` has its centre at ``origin + (i + 1/2, j + 1/2, k + 1/2) * spacing``.

Boundary kinds, per side (``xmin``, ``xmax``, ``ymin``, ...):

``no_flux``
    Nothing crosses the side (zero normal gradient). The default.
``dirichlet``
    The side touches a well-mixed bath held at a fixed concentration
    (``value_nM``), one voxel spacing beyond the edge voxel's centre.
``periodic``
    The side wraps to the opposite side; both sides of the axis must say so.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neuroagents.errors import ConfigError

__all__ = ["AXIS_NAMES", "BOUNDARY_KINDS", "Boundary", "Grid", "make_boundaries", "side_names"]

BOUNDARY_KINDS = ("no_flux", "dirichlet", "periodic")
AXIS_NAMES = ("x", "y", "z")


def side_names(ndim: int) -> tuple[str, ...]:
    """``("xmin", "xmax", "ymin", ...)`` for a grid of ``ndim`` dimensions."""
    return tuple(f"{AXIS_NAMES[a]}{s}" for a in range(ndim) for s in ("min", "max"))


@dataclass(frozen=True)
class Boundary:
    """The condition on one side of the grid.

    Parameters
    ----------
    kind : {"no_flux", "dirichlet", "periodic"}
    value_nM : float or Mapping[str, float]
        For ``dirichlet`` only: the bath concentration, nM, either one number
        for every mediator or one per mediator name (a ``"*"`` key gives the
        value for mediators not named).
    """

    kind: str = "no_flux"
    value_nM: float | Mapping[str, float] = 0.0

    def __post_init__(self) -> None:
        if self.kind not in BOUNDARY_KINDS:
            raise ConfigError("kind", self.kind, "one of " + ", ".join(map(repr, BOUNDARY_KINDS)), "boundary")
        values = self.value_nM.values() if isinstance(self.value_nM, Mapping) else [self.value_nM]
        for v in values:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ConfigError("value_nM", self.value_nM, "finite concentrations >= 0 (nM)", "boundary")

    def values_for(self, names: Sequence[str], where: str = "boundary") -> np.ndarray:
        """Bath values (nM) for each mediator in ``names``, shape ``(len(names),)``."""
        if not isinstance(self.value_nM, Mapping):
            return np.full(len(names), float(self.value_nM))
        unknown = sorted(set(self.value_nM) - set(names) - {"*"})
        if unknown:
            raise ConfigError(
                f"{where}.value_nM", dict(self.value_nM), f"keys among {list(names)} or '*' (unknown: {unknown})"
            )
        default = self.value_nM.get("*")
        missing = [n for n in names if n not in self.value_nM]
        if missing and default is None:
            raise ConfigError(
                f"{where}.value_nM",
                dict(self.value_nM),
                f"a value for every mediator or a '*' default (missing: {missing})",
            )
        return np.array([float(self.value_nM.get(n, default)) for n in names])


def _as_boundary(spec, where: str) -> Boundary:
    if isinstance(spec, Boundary):
        return spec
    if isinstance(spec, str):
        if spec not in BOUNDARY_KINDS:
            raise ConfigError(where, spec, "one of " + ", ".join(map(repr, BOUNDARY_KINDS)))
        return Boundary(spec)
    if isinstance(spec, Mapping):
        extra = set(spec) - {"kind", "value_nM"}
        if extra:
            raise ConfigError(where, dict(spec), f"keys 'kind' and 'value_nM' only (unknown: {sorted(extra)})")
        try:
            return Boundary(**spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc.key}", exc.value, exc.allowed) from None
    raise ConfigError(where, spec, "a boundary kind name, a Boundary or a {kind, value_nM} table")


def make_boundaries(ndim: int, spec=None) -> dict[str, Boundary]:
    """Complete boundary set for an ``ndim``-dimensional grid.

    Parameters
    ----------
    ndim : int
    spec : None, str, Boundary, or Mapping[str, str | Boundary | Mapping]
        ``None`` gives no-flux everywhere; one kind or Boundary applies to
        every side; a mapping sets named sides (``"xmin"``, ``"ymax"``, ...)
        or whole axes (``"x"``) and leaves the rest no-flux.

    Returns
    -------
    dict
        ``{side: Boundary}`` for every side, in axis order.
    """
    sides = side_names(ndim)
    out = {s: Boundary() for s in sides}
    if spec is None:
        return out
    if isinstance(spec, (str, Boundary)):
        b = _as_boundary(spec, "boundaries")
        out = {s: b for s in sides}
    elif isinstance(spec, Mapping):
        for key, value in spec.items():
            if key in AXIS_NAMES[:ndim]:
                b = _as_boundary(value, f"boundaries.{key}")
                out[f"{key}min"] = out[f"{key}max"] = b
            elif key in sides:
                out[key] = _as_boundary(value, f"boundaries.{key}")
            else:
                raise ConfigError(f"boundaries.{key}", value, f"a side among {', '.join(sides)} or an axis name")
    else:
        raise ConfigError("boundaries", spec, "a kind name, a Boundary, or a mapping of sides to kinds")
    for a in range(ndim):
        lo, hi = out[f"{AXIS_NAMES[a]}min"], out[f"{AXIS_NAMES[a]}max"]
        if (lo.kind == "periodic") != (hi.kind == "periodic"):
            raise ConfigError(
                f"boundaries.{AXIS_NAMES[a]}", (lo.kind, hi.kind), "periodic on both sides of an axis or on neither"
            )
    return out


@dataclass(frozen=True)
class Grid:
    """A regular grid of voxels.

    Parameters
    ----------
    shape : sequence of int
        Voxels per axis, ``(nx,)``, ``(nx, ny)`` or ``(nx, ny, nz)``; each >= 1.
    spacing_um : float or sequence of float
        Voxel edge length per axis, µm, > 0.
    origin_um : sequence of float, optional
        Position of the grid's low corner, µm (default 0).
    """

    shape: tuple[int, ...]
    spacing_um: tuple[float, ...] | float = 20.0
    origin_um: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        shape = self.shape
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        try:
            shape = tuple(int(n) for n in shape)
        except (TypeError, ValueError):
            raise ConfigError("grid.shape", self.shape, "a list of 1 to 3 positive integers") from None
        if (
            not 1 <= len(shape) <= 3
            or any(n < 1 for n in shape)
            or any(int(n) != n for n in (self.shape if not isinstance(self.shape, (int, np.integer)) else [self.shape]))
        ):
            raise ConfigError("grid.shape", self.shape, "a list of 1 to 3 positive integers")
        sp = self.spacing_um
        bad_spacing = ConfigError("grid.spacing_um", self.spacing_um, f"a number > 0 or {len(shape)} numbers > 0 (µm)")
        try:
            sp = (float(sp),) * len(shape) if isinstance(sp, numbers.Real) else tuple(float(s) for s in sp)
        except (TypeError, ValueError):
            raise bad_spacing from None
        if len(sp) != len(shape) or any(not math.isfinite(s) or s <= 0 for s in sp):
            raise ConfigError("grid.spacing_um", self.spacing_um, f"a number > 0 or {len(shape)} numbers > 0 (µm)")
        origin = (0.0,) * len(shape) if self.origin_um is None else tuple(float(o) for o in self.origin_um)
        if len(origin) != len(shape) or any(not math.isfinite(o) for o in origin):
            raise ConfigError("grid.origin_um", self.origin_um, f"{len(shape)} finite numbers (µm)")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing_um", sp)
        object.__setattr__(self, "origin_um", origin)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_voxels(self) -> int:
        return math.prod(self.shape)

    @property
    def voxel_volume_um3(self) -> float:
        """Volume of one voxel, µm³ (in 2D a slab one spacing thick; in 1D a cube)."""
        v = math.prod(self.spacing_um)
        missing = 3 - self.ndim
        return v * (self.spacing_um[-1] ** missing if missing else 1.0)

    @property
    def extent_um(self) -> tuple[float, ...]:
        """Side lengths of the domain, µm."""
        return tuple(n * d for n, d in zip(self.shape, self.spacing_um, strict=True))

    def centers_um(self, axis: int) -> np.ndarray:
        """Voxel-centre coordinates along ``axis``, µm, shape ``(shape[axis],)``."""
        return self.origin_um[axis] + (np.arange(self.shape[axis]) + 0.5) * self.spacing_um[axis]

    def voxel_of(self, positions_um, xp=np):
        """Flat voxel index of each position, clipped into the grid.

        Parameters
        ----------
        positions_um : ndarray of shape (n, ndim)
            Positions in µm.
        xp : module
            Array module of ``positions_um``.

        Returns
        -------
        ndarray of shape (n,), int64
            Indices into the C-ordered flattened grid.
        """
        flat = xp.zeros(positions_um.shape[0], dtype=xp.int64)
        for a in range(self.ndim):  # over axes, not cells
            i = xp.floor((positions_um[:, a] - self.origin_um[a]) / self.spacing_um[a]).astype(xp.int64)
            i = xp.clip(i, 0, self.shape[a] - 1)
            flat = flat * self.shape[a] + i
        return flat
