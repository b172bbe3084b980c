"""What a cell senses at a secreting voxel: this project's solvers beside a BioFVM-style split scheme.

Used by ``bench/diffusion.py`` (the "Accuracy at the source voxel" table). One secreting voxel in the middle of
a 2D no-flux box of ``N x N`` voxels, uniform first-order uptake ``k`` and decay ``λ`` everywhere (TNF-like
``D`` and ``λ``; ``k`` and the box are assumptions, numerical test values), run from zero to steady state. The
error is at the source voxel, relative to the steady state of the same grid without time error, solved directly
(``(λ + k − D Δ_h) c = q``), so space error does not enter.

The split scheme is reimplemented from the description in Ghaffarizadeh et al. (2016), BioFVM, *Bioinformatics*
32(8):1256: first-order operator splitting, diffusion and decay first, by LOD (one implicit sweep per axis, the
decay ``λ dt / d`` on each sweep's diagonal), then the cell terms per voxel, backward Euler:
``c ← (c + dt q) / (1 + dt k)``. (Written here from the equations; no BioFVM code is used.)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from neuroagents.tissue.diffusion import reference
from neuroagents.tissue.diffusion.convergence import laplacian_matrix
from neuroagents.tissue.diffusion.plans import KIND_CODES, ExplicitPlan, FieldSpec, LODPlan, Vessels
from neuroagents.tissue.diffusion.registry import load_kernels

D_UM2_MIN = 312.0  # TNF-like, as neuroagents.mediators
DECAY_PER_MIN = np.log(2) / 19.0  # TNF-like half-life 19 min, as neuroagents.mediators
DX_UM = 20.0  # as the diffusion benchmark (r = D dt / dx² = 0.78 at dt = 1 min)
N = 41  # voxels per side (assumption: 820 µm, far beyond the screening length of every k below)
T_MIN = 100.0  # from zero to steady state (>= 13 relaxation times 1 / (λ + k) for every k below)
UPTAKE_PER_MIN = (0.1, 1.0, 10.0)  # assumption: weak to strong receptor uptake
DTS_MIN = (0.1, 1.0, 5.0)
Q_NM_PER_MIN = 10.0  # any value: the errors are relative


def split_step(c, dt, k, q, sources_first=False):
    """One step of the BioFVM-style split scheme on the 2D field ``c`` (N, N) in place (see module docstring).

    ``sources_first`` applies the cell terms before the diffusion sweeps instead of after them (the same
    splitting, the field sampled at the other point of the cycle).
    """
    if sources_first:
        c += dt * q
        c /= 1.0 + dt * k
    r = D_UM2_MIN * dt / DX_UM**2
    for axis in (0, 1):
        lines = np.moveaxis(c, axis, -1)  # (N, N) view, lines along the last axis
        diag = np.full(lines.shape, 1.0 + 2.0 * r + DECAY_PER_MIN * dt / 2)
        diag[..., [0, -1]] -= r  # no-flux ends
        off = np.full(lines.shape, -r)
        lines[...] = reference.thomas(off, diag, off, lines)
    if not sources_first:
        c += dt * q
        c /= 1.0 + dt * k


def _project_run(solver, dt, k, q):
    spec = FieldSpec(
        shape4=(1, 1, N, N),
        diffusion=np.array([D_UM2_MIN]),
        decay=np.array([DECAY_PER_MIN]),
        spacing=np.array([1.0, DX_UM, DX_UM]),
        kinds=np.full((3, 2), KIND_CODES["no_flux"], dtype=np.int64),
        values=np.zeros((1, 3, 2)),
    )
    mod = load_kernels("numba", "numpy")
    plan = (LODPlan if solver == "lod" else ExplicitPlan).build(spec, dt)
    step = mod.lod_step if solver == "lod" else mod.explicit_step
    c4 = np.zeros(spec.shape4)
    q4 = q.reshape(spec.shape4)
    k4 = np.full(spec.shape4, k)
    work = np.empty_like(c4)
    for _ in range(round(T_MIN / dt)):  # over time steps
        step(c4, plan, q4, k4, Vessels.none(), work)
    return c4.reshape(N, N)


def _steady(k, q):
    a = (DECAY_PER_MIN + k) * scipy.sparse.identity(N * N) - D_UM2_MIN * laplacian_matrix((N, N), DX_UM)
    return scipy.sparse.linalg.spsolve(a.tocsc(), q.reshape(-1)).reshape(N, N)


def source_voxel_errors():
    """Rows ``(k, dt, r, {scheme: relative error at the source voxel})`` for every k and dt above."""
    mid = N // 2
    q = np.zeros((N, N))
    q[mid, mid] = Q_NM_PER_MIN
    rows = []
    for k in UPTAKE_PER_MIN:
        want = _steady(k, q)[mid, mid]
        for dt in DTS_MIN:
            got = {}
            for first in (False, True):
                c = np.zeros((N, N))
                for _ in range(round(T_MIN / dt)):  # over time steps
                    split_step(c, dt, k, q, sources_first=first)
                got["split, sources first" if first else "split"] = c[mid, mid]
            for solver in ("lod", "explicit"):
                got[solver] = _project_run(solver, dt, k, q)[mid, mid]
            rows.append((k, dt, D_UM2_MIN * dt / DX_UM**2, {s: v / want - 1 for s, v in got.items()}))
    return rows


def print_source_voxel_table():
    """Print :func:`source_voxel_errors` as a markdown table; return whether LOD beats the split scheme on every row."""
    print(
        f"\nAccuracy at the source voxel (2D {N}² no-flux, dx = {DX_UM:g} µm, D = {D_UM2_MIN:g} µm²/min, "
        f"λ = {DECAY_PER_MIN:.4f} /min, uniform uptake k, one secreting voxel, {T_MIN:g} min from zero; "
        "error against the grid's steady state solved directly):\n"
    )
    print(
        "| k (1/min) | dt (min) | r | LOD (this project) | split, BioFVM-style (cell terms after the sweeps) "
        "| split, cell terms before the sweeps | explicit |\n|---|---|---|---|---|---|---|"
    )
    ok = True
    for k, dt, r, err in source_voxel_errors():
        ok &= abs(err["lod"]) < min(abs(err["split"]), abs(err["split, sources first"]))
        print(
            f"| {k:g} | {dt:g} | {r:.2f} | {100 * err['lod']:+.1f} % | {100 * err['split']:+.1f} % "
            f"| {100 * err['split, sources first']:+.1f} % | {100 * err['explicit']:+.2f} % |"
        )
    return ok
