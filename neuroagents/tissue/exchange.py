"""Cells <-> voxels: gather concentrations, scatter secretion and uptake.

Cells are arrays (one entry per cell), never objects. Each cell knows the flat
index of its voxel (:meth:`~neuroagents.tissue.grid.Grid.voxel_of`). Per
mediator and step there is one gather and one scatter-add (``add.at``,
which NumPy and CuPy both provide), never a Python loop over cells.

The inputs are checked (finite, >= 0). On NumPy a bad value raises at once; on a
device, asking would copy to the host and wait, so the check stays on the device
(:class:`PendingChecks`) and raises at the next record
(:meth:`~neuroagents.tissue.Microenvironment.check_pending`), naming the same key.

Secretion and uptake follow BioFVM (Ghaffarizadeh et al. 2016,
Bioinformatics 32:1256), per cell of volume ``V_c`` in a voxel of volume
``V_v``:

* net export ``E`` (molecules/min): ``q += E / (0.6022 V_v)`` (nM/min);
* secretion toward a saturation concentration, ``S (ρ* − ρ)`` with ``S`` in
  1/min and ``ρ*`` in nM: ``q += S ρ* V_c / V_v`` and ``k += S V_c / V_v``;
* uptake ``U ρ`` (1/min): ``k += U V_c / V_v``.

``q`` and ``k`` are the Microenvironment's ``production_nM_per_min`` and
``consumption_per_min`` (written through :meth:`Microenvironment.source_rows`);
the solver treats ``k`` implicitly, so no uptake rate, however large, drives a
concentration below zero.
"""

from __future__ import annotations

import math

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.tissue.scatter_kernel import scatter_add_scaled
from neuroagents.units import MOLECULES_PER_NM_UM3

__all__ = [
    "PendingChecks", "add_export", "add_saturating_secretion", "add_tissue_source", "add_tissue_sources", "add_uptake",
    "gather", "scatter_add",
]  # fmt: skip


def gather(fields, voxel_index):
    """Concentrations of every mediator at each cell's voxel.

    Parameters
    ----------
    fields : ndarray of shape (M, *grid.shape)
        Concentrations, nM.
    voxel_index : ndarray of shape (n,), int
        Flat voxel index of each cell.

    Returns
    -------
    ndarray of shape (M, n)
    """
    if voxel_index.ndim != 1:
        raise ConfigError("voxel_index", f"array of shape {voxel_index.shape}", "a 1-D integer array")
    return fields.reshape(fields.shape[0], -1)[:, voxel_index]


class PendingChecks:
    """Checks of the exchange's inputs kept on the device until someone asks (no host sync in the step).

    Parameters
    ----------
    xp : module
        The device's array module.

    Examples
    --------
    >>> checks = PendingChecks(np)
    >>> checks.note("secretion.TNF", np.array([1.0, -2.0, np.nan]))
    >>> checks.raise_any(np.asarray)
    Traceback (most recent call last):
    ...
    neuroagents.errors.ConfigError: secretion.TNF = -2.0: must be finite and >= 0 for every cell
    """

    def __init__(self, xp):
        self.xp = xp
        self._seen: dict[str, tuple] = {}  # key -> (0-d: smallest value so far, NaN ignored; 0-d: largest, NaN kept)

    def note(self, name: str, values) -> None:
        """Remember, on the device, the smallest and the largest of ``values`` (shape (n,)): two reductions (and two
        to fold them into what was seen before), which tell whether any value was negative, NaN or infinite."""
        if values.size == 0:
            return
        xp = self.xp
        lo, hi = xp.nanmin(values), xp.max(values)  # max keeps a NaN; nanmin finds a negative beside one
        prev = self._seen.get(name)
        self._seen[name] = (lo, hi) if prev is None else (xp.fmin(prev[0], lo), xp.maximum(prev[1], hi))

    def raise_any(self, to_host) -> None:
        """Raise :class:`ConfigError` for the first key with a bad value (one copy to the host), then forget.

        The value named is the key's most negative one, else a NaN or an infinity it held."""
        if not self._seen:
            return
        names, pairs = list(self._seen), list(self._seen.values())
        self._seen.clear()
        seen = to_host(self.xp.stack([v for pair in pairs for v in pair]))
        for k, name in enumerate(names):  # over keys (a few dozen)
            lo, hi = float(seen[2 * k]), float(seen[2 * k + 1])
            if lo < 0.0 or not hi < math.inf:
                raise ConfigError(name, lo if lo < 0.0 else hi, "finite and >= 0 for every cell")


def scatter_add(
    xp, target_flat, voxel_index, values, *, name="values", pending: PendingChecks | None = None, scale: float = 1.0
):
    """``target_flat[voxel_index[i]] += values[i] * scale`` for all i, duplicates summed.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``cupy``.
    target_flat : ndarray of shape (n_voxels,)
        Modified in place.
    voxel_index : ndarray of shape (n,), int
    values : ndarray of shape (n,) or float
    name : str
        Used in the error message when ``values`` holds NaN, inf or a negative.
    pending : PendingChecks, optional
        Off NumPy, where that error waits (without it, off NumPy, nothing is checked).
    scale : float
        Multiplies every value (a unit conversion); the check applies to the products.

    Notes
    -----
    On NumPy with a float64 target the check and the add are one compiled call
    (:func:`~neuroagents.tissue.scatter_kernel.scatter_add_scaled`, the same sums bit for bit).
    """
    if xp is np and target_flat.dtype == np.float64:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        if flat.shape[0] in (1, voxel_index.shape[0]):
            bad = scatter_add_scaled(target_flat, voxel_index, flat, float(scale))
            if bad >= 0:
                raise ConfigError(name, float(flat[0 if flat.shape[0] == 1 else bad] * scale),
                                  "finite and >= 0 for every cell")  # fmt: skip
            return
    values = xp.asarray(values, dtype=xp.float64)
    values = xp.broadcast_to(values if scale == 1.0 else values * scale, voxel_index.shape)
    if xp is np:
        ok = (values >= 0) & (values < xp.inf)  # False for NaN, inf and negatives
        if values.size and not bool(ok.all()):
            raise ConfigError(name, float(values[~ok][0]), "finite and >= 0 for every cell")
    elif pending is not None:  # asking the device would copy to the host and wait: the check waits instead
        pending.note(name, values)
    xp.add.at(target_flat, voxel_index, values)  # O(cells), unlike a bincount over the whole grid


def add_export(env, mediator: str, voxel_index, molecules_per_min):
    """Cells release ``molecules_per_min`` each into their voxel (zero-order).

    Parameters
    ----------
    env : Microenvironment
    mediator : str
    voxel_index : ndarray of shape (n,), int
    molecules_per_min : float or ndarray of shape (n,)
        Release per cell, molecules/min, >= 0.
    """
    q_row, _ = env.source_rows(env.index(mediator), consumption=False)
    per_molecule_nM = 1.0 / (MOLECULES_PER_NM_UM3 * env.grid.voxel_volume_um3)
    scatter_add(
        env.xp,
        q_row.reshape(-1),
        voxel_index,
        molecules_per_min,
        name=f"secretion.{mediator}.molecules_per_min",
        pending=env.pending_checks,
        scale=per_molecule_nM,
    )


def add_tissue_source(env, mediator: str, voxels, rate_nM_per_min, dt_min: float):
    """A rule of the tissue itself (stromal COX-2, kinin formation) adds ``rate_nM_per_min`` to each of ``voxels``.

    Parameters
    ----------
    env : Microenvironment
    mediator : str
    voxels : ndarray of shape (V,), int
        Flat voxel indices, all distinct (a compartment's interstitium): a plain add, no scatter.
    rate_nM_per_min : ndarray of shape (V,)
    dt_min : float
        The step, for the count.

    Returns
    -------
    0-d array
        Molecules added over the step (on the backend: no host sync).
    """
    q_row, _ = env.source_rows(env.index(mediator), consumption=False)
    q_row.reshape(-1)[voxels] += rate_nM_per_min.astype(q_row.dtype)
    return rate_nM_per_min.sum() * (MOLECULES_PER_NM_UM3 * env.grid.voxel_volume_um3 * dt_min)


def add_tissue_sources(envs, mediator: str, voxels, rate_nM_per_min, dt_min: float, production):
    """:func:`add_tissue_source` in the same compartment of the ``B`` runs of a lockstep batch at once.

    Parameters
    ----------
    envs : sequence of Microenvironment
        One per run, in the order of the rows of ``rate_nM_per_min``.
    mediator : str
    voxels : ndarray of shape (V,), int
        Flat voxel indices, all distinct, the same in every run.
    rate_nM_per_min : ndarray of shape (B, V)
    dt_min : float
    production : ndarray of shape (B, M, *grid)
        The runs' production terms as one array (the batch's; each run's are views of it).

    Returns
    -------
    ndarray of shape (B,)
        Molecules each run added over the step (on the backend: no host sync).
    """
    m = envs[0].index(mediator)
    for env in envs:  # over runs: each marks its row as written
        env.source_rows(m, consumption=False)
    q = production.reshape(len(envs), len(envs[0].names), -1)
    q[:, m, voxels] += rate_nM_per_min.astype(q.dtype)
    return rate_nM_per_min.sum(axis=-1) * (MOLECULES_PER_NM_UM3 * envs[0].grid.voxel_volume_um3 * dt_min)


def add_saturating_secretion(env, mediator: str, voxel_index, rate_per_min, saturation_nM, cell_volume_um3):
    """Cells secrete ``S (ρ* − ρ)`` into their voxel, weighted by volume fraction.

    Parameters
    ----------
    env : Microenvironment
    mediator : str
    voxel_index : ndarray of shape (n,), int
    rate_per_min : float or ndarray of shape (n,)
        ``S``, 1/min, >= 0.
    saturation_nM : float or ndarray of shape (n,)
        ``ρ*``, nM, >= 0: the secretion stops when the voxel reaches it.
    cell_volume_um3 : float or ndarray of shape (n,)
        ``V_c``, µm³.
    """
    xp = env.xp
    q_row, k_row = env.source_rows(env.index(mediator))
    frac = xp.asarray(cell_volume_um3, dtype=xp.float64) / env.grid.voxel_volume_um3
    s = xp.asarray(rate_per_min, dtype=xp.float64) * frac
    where = f"secretion.{mediator}"
    scatter_add(xp, k_row.reshape(-1), voxel_index, s, name=f"{where}.rate_per_min", pending=env.pending_checks)
    q = s * xp.asarray(saturation_nM, dtype=xp.float64)
    scatter_add(xp, q_row.reshape(-1), voxel_index, q, name=f"{where}.saturation_nM", pending=env.pending_checks)


def add_uptake(env, mediator: str, voxel_index, rate_per_min, cell_volume_um3):
    """Cells take up ``U ρ`` from their voxel, weighted by volume fraction.

    Parameters
    ----------
    env : Microenvironment
    mediator : str
    voxel_index : ndarray of shape (n,), int
    rate_per_min : float or ndarray of shape (n,)
        ``U``, 1/min, >= 0.
    cell_volume_um3 : float or ndarray of shape (n,)
        ``V_c``, µm³.
    """
    xp = env.xp
    _, k_row = env.source_rows(env.index(mediator))
    k = xp.asarray(rate_per_min, dtype=xp.float64) * (
        xp.asarray(cell_volume_um3, dtype=xp.float64) / env.grid.voxel_volume_um3
    )
    scatter_add(
        xp, k_row.reshape(-1), voxel_index, k, name=f"uptake.{mediator}.rate_per_min", pending=env.pending_checks
    )
