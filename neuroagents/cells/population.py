"""One cell type's individuals as arrays (a structure of arrays).

Every per-cell quantity is a column: an array whose first axis is the cell.
The live cells are the first ``n`` rows; rows past ``n`` are spare capacity,
so adding cells rarely reallocates (capacity grows geometrically) and
removing cells compacts with one boolean mask per column. Nothing loops over
cells in Python.

Examples
--------
>>> import numpy as np
>>> pop = Population("macrophage", ndim=2, columns={"state": np.int8, "age_min": np.float64})
>>> ids = pop.add(3, position_um=np.zeros((3, 2)), state=np.array([0, 1, 1], dtype=np.int8))
>>> ids.tolist(), pop.n
([0, 1, 2], 3)
>>> pop.remove(pop["state"] == 1)
2
>>> pop.ids.tolist()
[0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from neuroagents.errors import ConfigError

__all__ = ["IdCounter", "Population"]

_BUILTIN = ("id", "position_um")


class IdCounter:
    """The next id of one cell type. Populations of that type in several compartments share one, so a cell's id
    is unique in the whole model (``model.inspect(kind, id)`` needs no compartment)."""

    __slots__ = ("next",)

    def __init__(self, start: int = 0):
        self.next = int(start)



class Population:
    """The cells of one type, stored column-wise on the model's backend.

    Parameters
    ----------
    kind : str
        Cell type name (``"macrophage"``).
    ndim : int
        Spatial dimensions of positions (1, 2 or 3).
    columns : Mapping[str, dtype or (dtype, tuple)]
        Extra per-cell columns: a dtype for one value per cell, or
        ``(dtype, shape)`` for a vector per cell (e.g. ``(np.float64, (3,))``).
    xp : module
        ``numpy`` or ``cupy``.
    capacity : int
        Initial number of rows to allocate.

    Attributes
    ----------
    n : int
        Number of live cells.
    ids : ndarray of shape (n,), int64
        Unique, never reused, increasing in order of creation.
    position_um : ndarray of shape (n, ndim)
        Positions in µm.
    """

    def __init__(self, kind: str, ndim: int, columns: Mapping | None = None, *, xp=np, capacity: int = 64):
        if ndim not in (1, 2, 3):
            raise ConfigError(f"{kind}.ndim", ndim, "1, 2 or 3")
        self.kind = kind
        self.ndim = ndim
        self.xp = xp
        self.n = 0
        self.id_counter = IdCounter()
        self._specs: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
            "id": (np.dtype(np.int64), ()),
            "position_um": (np.dtype(np.float64), (ndim,)),
        }
        for name, spec in (columns or {}).items():
            if name in _BUILTIN:
                raise ConfigError(f"{kind}.columns.{name}", name, "a name other than 'id' and 'position_um'")
            dtype, shape = (spec, ()) if not isinstance(spec, tuple) else (spec[0], tuple(spec[1]))
            self._specs[name] = (np.dtype(dtype), shape)
        self._cap = max(int(capacity), 1)
        self._data = {name: xp.zeros((self._cap, *shape), dtype=dt) for name, (dt, shape) in self._specs.items()}

    # --- columns ------------------------------------------------------------------------------
    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def __getitem__(self, name: str):
        """The live rows of column ``name`` (a view: writing to it updates the cells)."""
        try:
            return self._data[name][: self.n]
        except KeyError:
            raise ConfigError(f"{self.kind} column", name, f"one of {list(self._specs)}") from None

    def __setitem__(self, name: str, value) -> None:
        self[name][...] = value

    @property
    def ids(self):
        return self["id"]

    @property
    def position_um(self):
        return self["position_um"]

    def __len__(self) -> int:
        return self.n

    # --- allocation ------------------------------------------------------------------------------
    def _reserve(self, total: int) -> None:
        if total <= self._cap:
            return
        cap = max(total, 2 * self._cap)
        for name, (dt, shape) in self._specs.items():
            new = self.xp.zeros((cap, *shape), dtype=dt)
            new[: self.n] = self._data[name][: self.n]
            self._data[name] = new
        self._cap = cap

    def add(self, count: int, **values):
        """Append ``count`` new cells.

        Parameters
        ----------
        count : int
        **values
            Initial column values (arrays with ``count`` rows, or scalars);
            columns not given start at 0. ``position_um`` is required.

        Returns
        -------
        ndarray of shape (count,), int64
            The new cells' ids.
        """
        if count < 0:
            raise ConfigError(f"{self.kind}.add.count", count, ">= 0")
        unknown = set(values) - set(self._specs)
        if unknown:
            raise ConfigError(f"{self.kind}.add", sorted(unknown), f"columns among {list(self._specs)}")
        if "id" in values:
            raise ConfigError(f"{self.kind}.add.id", values["id"], "not given (ids are assigned)")
        if count and "position_um" not in values:
            raise ConfigError(f"{self.kind}.add.position_um", None, f"an array of shape ({count}, {self.ndim})")
        start = self.n
        self._reserve(start + count)
        rows = slice(start, start + count)
        first = self.id_counter.next
        ids = self.xp.arange(first, first + count, dtype=np.int64)
        self._data["id"][rows] = ids
        for name, (_, shape) in self._specs.items():
            if name == "id":
                continue
            if name in values:
                v = self.xp.asarray(values[name])
                if v.ndim > 0 and v.shape != (count, *shape) and v.shape != shape:
                    raise ConfigError(
                        f"{self.kind}.add.{name}", f"array of shape {v.shape}", f"shape {(count, *shape)}"
                    )
                self._data[name][rows] = v
            else:
                self._data[name][rows] = 0
        self.n += count
        self.id_counter.next = first + count
        return ids

    def remove(self, mask) -> int:
        """Remove the cells where ``mask`` is true (death, egress); returns how many.

        Parameters
        ----------
        mask : ndarray of shape (n,), bool
        """
        mask = self.xp.asarray(mask)
        if mask.shape != (self.n,) or mask.dtype != bool:
            raise ConfigError(
                f"{self.kind}.remove.mask", f"array {mask.dtype} {mask.shape}", f"bool of shape ({self.n},)"
            )
        keep = ~mask
        n_keep = int(keep.sum())
        removed = self.n - n_keep
        if removed:
            for name in self._specs:
                col = self._data[name]
                col[:n_keep] = col[: self.n][keep]
            self.n = n_keep
        return removed

    # --- inspection ------------------------------------------------------------------------------
    def row_of(self, cell_id: int) -> int:
        """Row of the live cell with id ``cell_id`` (ids are sorted, so a binary search)."""
        ids = self.ids
        row = int(self.xp.searchsorted(ids, cell_id))
        if row >= self.n or int(ids[row]) != cell_id:
            raise ConfigError(f"{self.kind}.id", cell_id, "the id of a live cell")
        return row

    def record(self, cell_id: int) -> dict:
        """Every column of one cell as plain Python values, for people."""
        row = self.row_of(cell_id)
        out = {"kind": self.kind}
        for name in self._specs:
            v = self._data[name][row]
            v = v.get() if hasattr(v, "get") else v
            out[name] = v.tolist() if hasattr(v, "tolist") else v
        return out
