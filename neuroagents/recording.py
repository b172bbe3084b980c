"""What a run leaves on disk: field snapshots (xarray -> zarr), the manifest, and writes that cannot tear.

* :func:`atomic_write` — every file a run or a sweep writes goes to a temporary name beside its target and is
  then renamed over it (``os.replace``), so a reader, a crash or a second process never sees half a file.
* :func:`field_environments` — the mediator fields of a model, one :class:`~neuroagents.tissue.Microenvironment`
  per tissue compartment (``model.compartments`` when the model has several, else one named ``"tissue"``).
* :class:`FieldSnapshots` — a scheduled observer that appends the fields at fixed simulated times to one zarr
  store, one group per compartment, read back with ``xarray.open_zarr(path, group=name)``.
* :func:`check_fields` — NaN, infinite or negative concentrations stop a run
  (:class:`~neuroagents.errors.NumericalError`).
* :func:`package_versions` — the versions a manifest records.

xarray and zarr are optional dependencies (the ``fields`` extra); nothing here imports them at module level.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=100, n_mast_cells=2, n_macrophages=2, n_neurons=2)
>>> {name: env.fields.shape[1:] for name, env in field_environments(m).items()}
{'tissue': (10, 5)}
>>> SnapshotSchedule(every_min=60.0).due(0.0), SnapshotSchedule(every_min=None).due(0.0)
(True, False)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from neuroagents.errors import ConfigError, NeuroagentsError

__all__ = [
    "FIELDS_STORE",
    "FieldSnapshots",
    "SnapshotSchedule",
    "atomic_write",
    "check_fields",
    "current_umask",
    "field_environments",
    "fields_available",
    "jsonable",
    "package_versions",
    "write_json",
]

FIELDS_STORE = "fields.zarr"
"""Name of the field-snapshot store in a run's output directory."""
PACKAGES = ("numpy", "scipy", "numba", "pandas", "pyarrow", "mesa", "pydantic", "matplotlib", "xarray", "zarr",
            "dask", "distributed", "SALib")  # fmt: skip
"""Packages whose versions a manifest records (None when not installed)."""
CUPY_DISTRIBUTIONS = ("cupy-cuda13x", "cupy-cuda12x", "cupy")
"""The names CuPy is installed under (the gpu-cuda13 and gpu-cuda12 extras, or a build from source)."""
_EPS_MIN = 1e-9


# --- files that cannot tear ------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on failure remove it.

    The temporary name starts with ``.`` so that a reader of the directory (``pandas.read_parquet(dir)``)
    ignores it. The rename is atomic on POSIX file systems (and on the same NFS/Lustre directory). The file gets
    the permissions any new file gets here (``0666`` less the umask), not ``mkstemp``'s ``0600``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide results from colleagues
    finally:
        os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # the bytes reach the disk before the name does
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask (read from ``/proc/self/status`` where it can be, so that nothing is changed).

    Examples
    --------
    >>> 0 <= current_umask() <= 0o777
    True
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:  # over a few dozen lines
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as indented JSON through :func:`atomic_write`; returns ``path``."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    return Path(path)


def package_versions(*, gpu: bool = False) -> dict[str, str | None]:
    """Versions of neuroagents, Python and :data:`PACKAGES` (CuPy's when ``gpu``)."""
    import neuroagents

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    out = {"neuroagents": neuroagents.__version__, "python": platform.python_version()}
    out.update({p: version(p) for p in PACKAGES})
    out["cupy"] = next(filter(None, map(version, CUPY_DISTRIBUTIONS)), None) if gpu else None
    return out


def jsonable(obj):
    """Plain JSON data from arguments that may hold dataclasses (Mediator), tuples and NumPy scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


# --- fields -------------------------------------------------------------------------------------------
def field_environments(model) -> dict[str, object]:
    """The model's mediator fields, ``{compartment name: Microenvironment}``.

    A model with ``model.compartments`` as a mapping of objects with an ``env`` gives one entry per
    compartment, in its order; any other model gives ``{"tissue": model.env}``.
    """
    comps = getattr(model, "compartments", None)
    if isinstance(comps, Mapping) and comps and all(hasattr(c, "env") for c in comps.values()):
        return {str(name): c.env for name, c in comps.items()}
    return {"tissue": model.env}


def check_fields(model) -> None:
    """Raise :class:`~neuroagents.errors.NumericalError` naming the compartment if any field is NaN, inf or < 0."""
    envs = field_environments(model)
    for name, env in envs.items():  # over compartments (a handful)
        try:
            env.check_fields()
        except NeuroagentsError as exc:
            if len(envs) > 1:
                exc.args = (f"compartment {name!r}: {exc}",)
            raise


def fields_available() -> tuple[bool, str]:
    """Whether xarray and zarr can be imported here, and if not, what to install."""
    try:
        import xarray  # noqa: F401
        import zarr  # noqa: F401
    except ImportError as exc:
        return False, f"field snapshots need xarray and zarr ({exc.name} is missing): pip install -e '.[fields]'"
    return True, ""


def _dataset(env, grid, time_min: float, names: Sequence[str], compartment: str):
    """One snapshot as an xarray Dataset: a variable per mediator, dims ``(time, x, y[, z])``, nM on the host."""
    import xarray as xr

    dims = ("x", "y", "z")[: grid.ndim]
    host = env.backend.to_host(env.fields)
    data = {
        n: (("time", *dims), np.asarray(host[env.index(n)])[None], {"units": "nM", "long_name": f"{n} concentration"})
        for n in names
    }
    coords = {"time": ("time", [float(time_min)], {"units": "min", "long_name": "simulated time"})}
    for a, d in enumerate(dims):  # over axes
        coords[d] = (d, grid.centers_um(a), {"units": "µm", "long_name": f"voxel centre along {d}"})
    attrs = {"compartment": compartment, "voxel_um": list(grid.spacing_um), "dtype": str(env.dtype)}
    return xr.Dataset(data, coords=coords, attrs=attrs)


@dataclass
class SnapshotSchedule:
    """When to take field snapshots: at t = 0, every ``every_min`` simulated minutes, and at the end.

    Attributes
    ----------
    every_min : float or None
        Interval, min; None for no snapshots.
    next_min : float
        Simulated time of the next snapshot, min.
    count : int
        Snapshots taken so far (the length of the store's time axis).
    last_min : float or None
        Time of the last snapshot.
    """

    every_min: float | None
    next_min: float = 0.0
    count: int = 0
    last_min: float | None = None

    def due(self, time_min: float) -> bool:
        """Whether a snapshot is due at ``time_min``."""
        return self.every_min is not None and time_min + _EPS_MIN >= self.next_min and time_min != self.last_min

    def taken(self, time_min: float) -> None:
        """Advance the schedule past a snapshot taken at ``time_min``."""
        self.count += 1
        self.last_min = time_min
        if self.every_min is not None:
            while self.next_min <= time_min + _EPS_MIN:
                self.next_min += self.every_min


@dataclass
class FieldSnapshots:
    """Append field snapshots of a model to a zarr store (zarr format 2, consolidated metadata).

    Parameters
    ----------
    path : Path
        The store, e.g. ``runs/x/fields.zarr``: one group per compartment (``tissue`` for a single patch); each
        group is an xarray Dataset with one variable per mediator, shape ``(time, nx, ny[, nz])``, nM, and
        coordinates ``time`` (min) and ``x``, ``y``, ``z`` (voxel centres, µm).
    schedule : SnapshotSchedule
    mediators : sequence of str, optional
        The mediators to keep (default: all).

    Examples
    --------
    >>> import xarray as xr, tempfile, pathlib
    >>> from neuroagents.model import NeuroImmuneModel
    >>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=100, n_mast_cells=2, n_macrophages=2, n_neurons=2)
    >>> snaps = FieldSnapshots(pathlib.Path(tempfile.mkdtemp()) / "fields.zarr", SnapshotSchedule(30.0), ["TNF"])
    >>> snaps.write(m); m.step(); snaps.write(m)
    >>> ds = xr.open_zarr(snaps.path, group="tissue")
    >>> ds["TNF"].dims, ds["TNF"].shape, ds["time"].values.tolist()
    (('time', 'x', 'y'), (2, 10, 5), [0.0, 1.0])
    """

    path: Path
    schedule: SnapshotSchedule
    mediators: Sequence[str] | None = None
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def check(self, model) -> None:
        """Refuse mediators the model does not have (before the run starts)."""
        for name, env in field_environments(model).items():  # over compartments
            unknown = [m for m in self.mediators or () if m not in env.names]
            if unknown:
                allowed = f"mediators on the grid of compartment {name!r}: some of {', '.join(env.names)}"
                raise ConfigError("--snapshot-mediators", unknown[0], allowed)

    def write(self, model) -> None:
        """Append the model's fields now (every compartment) and advance the schedule."""
        first = self.schedule.count == 0
        for name, env in field_environments(model).items():  # over compartments
            names = tuple(self.mediators or env.names)
            ds = _dataset(env, env.grid, model.time_min, names, name)
            if first:
                ds.to_zarr(self.path, group=name, mode="w" if not self.groups else "a", zarr_format=2,
                           consolidated=True)  # fmt: skip
            else:
                ds.to_zarr(self.path, group=name, append_dim="time", zarr_format=2, consolidated=True)
            self.groups[name] = names
        self.schedule.taken(model.time_min)

    def maybe_write(self, model) -> bool:
        """:meth:`write` if the schedule says so; returns whether it did."""
        if self.schedule.due(model.time_min):
            self.write(model)
            return True
        return False

    def truncate(self) -> None:
        """Cut the store's time axis back to ``schedule.count`` snapshots (after resuming from a checkpoint).

        Snapshots written after the checkpoint by the interrupted run are dropped; the resumed run writes
        them again, identically.
        """
        import zarr

        if not self.groups or not self.path.exists():
            return
        root = zarr.open_group(str(self.path), mode="r+", zarr_format=2)
        for name, names in self.groups.items():  # over compartments
            group = root[name]
            for var in (*names, "time"):  # over arrays with a time axis
                arr = group[var]
                if arr.shape[0] != self.schedule.count:
                    arr.resize((self.schedule.count, *arr.shape[1:]))
        zarr.consolidate_metadata(str(self.path), zarr_format=2)

    def manifest_entry(self) -> dict:
        """What a run's manifest says about its snapshots."""
        s = self.schedule
        return {"store": self.path.name, "format": "zarr v2 (xarray), one group per compartment",
                "every_min": s.every_min, "snapshots": s.count, "last_min": s.last_min,
                "groups": {k: list(v) for k, v in self.groups.items()}}  # fmt: skip

    def state(self) -> dict:
        """Plain data to keep in a checkpoint."""
        s = self.schedule
        return {"every_min": s.every_min, "next_min": s.next_min, "count": s.count, "last_min": s.last_min,
                "mediators": list(self.mediators) if self.mediators else None,
                "groups": {k: list(v) for k, v in self.groups.items()}}  # fmt: skip

    @classmethod
    def from_state(cls, path: Path, state: Mapping) -> FieldSnapshots:
        """The inverse of :meth:`state`."""
        sched = SnapshotSchedule(state["every_min"], state["next_min"], state["count"], state["last_min"])
        return cls(Path(path), sched, state["mediators"], {k: tuple(v) for k, v in state["groups"].items()})
