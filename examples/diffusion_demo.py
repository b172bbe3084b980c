"""Example: the microenvironment alone — five mediators from fixed point sources on a 2 mm × 2 mm patch.

This is not the model (no cells, no pain; ``neuroagents run`` runs the model). It shows the diffusion layer
(:mod:`neuroagents.tissue`) used directly: fixed sources stand in for cells:

* a cluster of degranulating **mast cells** 200 µm from a venule, releasing
  histamine, TNF and IL-6 (zero-order export, one cell per voxel);
* an **injured nerve fibre** releasing CCL2 along a 700-µm segment;
* a few **resident macrophages** releasing IL-10;
* a **venule**, a 20-µm band of voxels held at plasma levels, which drains
  what reaches it.

The fields advance with the LOD solver for 6 simulated hours (by default).
The run writes ``fields.png`` (one heatmap per mediator at the end),
``totals.parquet`` (one tidy row per recorded time and mediator) and
``manifest.json`` (parameters, backend, kernel, versions, wall time)::

    python examples/diffusion_demo.py --out runs/diffusion_demo [--hours H] [--backend auto|numpy|cupy]
        [--solver lod|explicit] [--kernel auto|reference|numba|cupy] [--dtype float64|float32] [--force]

Every number that stands for biology has its unit in its name and a source
from ``docs/references.md`` (flags V, M, U as there) or the word
``assumption``.

Examples
--------
>>> env = build_environment(backend="numpy", kernel="reference")
>>> env.names
('histamine', 'TNF', 'IL6', 'CCL2', 'IL10')
>>> env.grid.extent_um
(2000.0, 2000.0)
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

import neuroagents
from neuroagents.errors import ConfigError, NeuroagentsError
from neuroagents.outputs import check_out_dir
from neuroagents.recording import atomic_write
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.exchange import add_export
from neuroagents.units import AVOGADRO_PER_MOL, MOLECULES_PER_NM_UM3, SECONDS_PER_MIN, pg_per_ml_to_nM

__all__ = [
    "DEFAULT_HOURS",
    "MEDIATORS",
    "OUTPUT_FILES",
    "DemoResult",
    "build_environment",
    "main",
    "run_demo",
    "simulate",
    "stand_in_sources",
]

# --- the patch ------------------------------------------------------------------------------------
GRID_SHAPE = (200, 200)
"""Voxels along x and y."""
VOXEL_UM = 10.0
"""Voxel edge, µm (assumption: about one cell diameter; PhysiCell/GranSim use 20 µm, docs/references.md)."""
DEFAULT_HOURS = 6.0
"""Simulated time, h (carrageenan paw: tissue cytokines peak at about 6 h, docs/references.md, V)."""
DT_MIN = 0.1
"""Diffusion time step, min (numerical choice: λ·dt <= 0.14 for histamine, so the split decay errs < 7%)."""
RECORD_EVERY_MIN = 10.0
"""Interval between rows of ``totals.parquet``, min."""
BOUNDARIES = "no_flux"
"""Edges of the patch (assumption: the patch is surrounded by tissue like itself)."""

MEDIATORS = ("histamine", "TNF", "IL6", "CCL2", "IL10")
"""Catalogue names, in the order of the fields and the figure panels."""

# --- the stand-in cells (positions in µm; x to the right, y up) ------------------------------------
VESSEL_X_UM = (1200.0, 1220.0)
"""A postcapillary venule running along y (assumption: ~20 µm wide)."""
MAST_CELL_POSITIONS_UM = (
    (1015.0, 1400.0), (1005.0, 1425.0), (1000.0, 1375.0), (985.0, 1405.0),
    (1020.0, 1350.0), (1010.0, 1450.0), (980.0, 1440.0), (990.0, 1360.0),
)  # fmt: skip
"""Eight mast cells about 200 µm from the venule (assumption; skin holds 77–108 mast cells per mm², Janssens 2005,
V, docs/references.md — only this small cluster is activated). Not closer: the LOD solver clamps vessel voxels
after each axis sweep, which lets fast histamine leak across a nearby vessel at this time step
(docs/microenvironment.md)."""
NERVE_Y_UM = 600.0
NERVE_X_UM = (300.0, 1000.0)
"""An injured nerve fibre: a 700-µm segment along x at y = 600 µm (assumption)."""
MACROPHAGE_POSITIONS_UM = ((400.0, 1500.0), (800.0, 1100.0), (1500.0, 1600.0), (1600.0, 500.0), (700.0, 300.0))
"""Resident macrophages (assumption: five in the patch)."""

# --- release rates ----------------------------------------------------------------------------------
MAST_CELL_TNF_MOLECULES_PER_S = 5.4
"""TNF per activated mast cell (nlisim model rate, M; GranSim uses 0.21, 25-fold less — docs/references.md)."""
MAST_CELL_IL6_MOLECULES_PER_S = 2.4
"""IL-6 per activated mast cell (nlisim, M, docs/references.md)."""
MAST_CELL_HISTAMINE_PG = 1.0
"""Histamine stored per mast cell, pg (assumption: human mast cells hold ~1–3 pg; not in docs/references.md)."""
MAST_CELL_DEGRANULATION_H = 6.0
"""Piecemeal degranulation releases the store evenly over this time, h (assumption)."""
NERVE_CCL2_MOLECULES_PER_S_PER_10UM = 2.9
"""CCL2 per 10 µm of injured fibre (secretion 2.9 molecules/cell/s, M, docs/references.md; assumption: one
cell-equivalent per 10 µm)."""
MACROPHAGE_IL10_MOLECULES_PER_S = 0.16
"""IL-10 per resident macrophage (upper end of 0.08–0.16 molecules/cell/s, M, docs/references.md)."""

# --- plasma, held in the venule ---------------------------------------------------------------------
PLASMA_PG_PER_ML = {"TNF": 8.0, "IL6": 5.0, "IL10": 5.0}
"""Healthy plasma, upper bounds: TNF < 8, IL-6 < 5, IL-10 < 5 pg/mL (docs/references.md, V)."""
PLASMA_NM_ASSUMED = {"histamine": 0.0, "CCL2": 0.0}
"""Plasma levels taken as 0 nM (assumption: negligible next to the local release)."""

OUTPUT_FILES = ("fields.png", "totals.parquet", "manifest.json")
TABLE_COLUMNS = ("time_min", "mediator", "total_molecules", "mean_nM", "max_nM", "produced_molecules")


def _histamine_molecules_per_min(mass_kda: float) -> float:
    mol = MAST_CELL_HISTAMINE_PG * 1e-12 / (mass_kda * 1e3)  # g / (g/mol)
    return mol * AVOGADRO_PER_MOL / (MAST_CELL_DEGRANULATION_H * 60.0)


def _positions_of_nerve() -> np.ndarray:
    x = np.arange(NERVE_X_UM[0] + VOXEL_UM / 2, NERVE_X_UM[1], VOXEL_UM)
    return np.column_stack([x, np.full_like(x, NERVE_Y_UM)])


def stand_in_sources() -> dict[str, list[tuple[str, np.ndarray, float]]]:
    """The stand-in cells: for each mediator, ``(who, positions_um of shape (n, 2), molecules/min per cell)``."""
    from neuroagents.mediators import get_mediator

    mast = np.array(MAST_CELL_POSITIONS_UM)
    histamine_per_min = _histamine_molecules_per_min(get_mediator("histamine").molecular_mass_kda)
    return {
        "histamine": [("mast cells", mast, histamine_per_min)],
        "TNF": [("mast cells", mast, MAST_CELL_TNF_MOLECULES_PER_S * SECONDS_PER_MIN)],
        "IL6": [("mast cells", mast, MAST_CELL_IL6_MOLECULES_PER_S * SECONDS_PER_MIN)],
        "CCL2": [("injured nerve", _positions_of_nerve(), NERVE_CCL2_MOLECULES_PER_S_PER_10UM * SECONDS_PER_MIN)],
        "IL10": [("macrophages", np.array(MACROPHAGE_POSITIONS_UM), MACROPHAGE_IL10_MOLECULES_PER_S * SECONDS_PER_MIN)],
    }


def plasma_nM() -> dict[str, float]:
    """Concentration held in the venule for each mediator, nM."""
    from neuroagents.mediators import get_mediator

    out = {n: float(pg_per_ml_to_nM(v, get_mediator(n).molecular_mass_kda)) for n, v in PLASMA_PG_PER_ML.items()}
    out.update(PLASMA_NM_ASSUMED)
    return {n: out[n] for n in MEDIATORS}


def vessel_mask(grid: Grid) -> np.ndarray:
    """Bool array of shape ``grid.shape``: the venule's voxels."""
    x = grid.centers_um(0)
    cols = (x >= VESSEL_X_UM[0]) & (x < VESSEL_X_UM[1])
    return np.broadcast_to(cols[:, None], grid.shape).copy()


def build_environment(
    *, backend="auto", solver: str = "lod", kernel: str = "auto", dtype: str = "float64"
) -> Microenvironment:
    """The demo's microenvironment with its sources and venule set.

    Parameters
    ----------
    backend : {"auto", "numpy", "cupy"} or Backend
    solver : {"lod", "explicit"}
    kernel : {"auto", "reference", "numba", "cupy"}
    dtype : {"float64", "float32"}

    Returns
    -------
    Microenvironment
        Fields at 0 except in the venule; ``production_nM_per_min`` filled.
    """
    grid = Grid(GRID_SHAPE, spacing_um=VOXEL_UM)
    env = Microenvironment(
        grid, MEDIATORS, boundaries=BOUNDARIES, dtype=dtype, backend=backend, solver=solver, kernel=kernel
    )
    xp = env.xp
    for name, groups in stand_in_sources().items():  # over mediators and source groups
        for _, positions, rate in groups:
            add_export(env, name, grid.voxel_of(xp.asarray(positions), xp=xp), rate)
    mask = vessel_mask(grid)
    on_vessel = env.backend.to_host(env.production_nM_per_min.any(axis=0)) & mask
    if on_vessel.any():  # a source inside the venule would be overwritten every step
        raise ConfigError("demo.sources", "inside the venule", "positions outside VESSEL_X_UM")
    env.set_vessels(mask, plasma_nM())
    return env


def _check_hours(hours) -> float:
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) or hours <= 0:
        raise ConfigError("hours", hours, "a finite number of hours > 0")
    return float(hours)


def _record(env: Microenvironment, time_min: float, produced: np.ndarray) -> list[dict]:
    totals = env.total_molecules()
    means = env.mean_nM()
    maxes = env.backend.to_host(env.fields.reshape(len(env.names), -1).max(axis=1))
    return [
        {
            "time_min": round(time_min, 9),
            "mediator": name,
            "total_molecules": float(totals[m]),
            "mean_nM": float(means[m]),
            "max_nM": float(maxes[m]),
            "produced_molecules": float(produced[m]),
        }
        for m, name in enumerate(env.names)  # over mediators
    ]


def simulate(
    env: Microenvironment, hours: float, *, dt_min: float = DT_MIN, record_every_min: float = RECORD_EVERY_MIN
):
    """Advance ``env`` by ``hours`` and record totals on a fixed schedule.

    The last step is shortened when ``hours`` is not a whole number of steps,
    and the end time is always recorded.

    Parameters
    ----------
    env : Microenvironment
    hours : float
        Simulated time, h, > 0.
    dt_min : float
        Step, min.
    record_every_min : float
        Recording interval, min (rounded to whole steps).

    Returns
    -------
    table : pandas.DataFrame
        Columns ``time_min, mediator, total_molecules, mean_nM, max_nM, produced_molecules``
        (the last is the cumulative zero-order release, molecules).
    steps : int
    """
    import pandas as pd

    total_min = _check_hours(hours) * 60.0
    n_full = math.floor(total_min / dt_min + 1e-9)
    rest = total_min - n_full * dt_min
    record_steps = max(1, round(record_every_min / dt_min))
    release = env.backend.to_host(env.production_nM_per_min.reshape(len(env.names), -1).sum(axis=1, dtype=np.float64))
    release_molecules_per_min = release * env.grid.voxel_volume_um3 * MOLECULES_PER_NM_UM3
    rows = _record(env, 0.0, np.zeros(len(env.names)))
    for i in range(1, n_full + 1):  # over time steps
        env.step(dt_min)
        if i % record_steps == 0 or (i == n_full and rest <= 1e-9 * dt_min):
            t = i * dt_min
            rows += _record(env, t, release_molecules_per_min * t)
    steps = n_full
    if rest > 1e-9 * dt_min:
        env.step(rest)
        steps += 1
        rows += _record(env, total_min, release_molecules_per_min * total_min)
    env.backend.synchronize()
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)), steps


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` did.

    Attributes
    ----------
    out_dir : Path
    files : tuple of Path
        ``fields.png``, ``totals.parquet``, ``manifest.json``.
    backend : str
        The backend that ran (``"numpy"`` or ``"cupy"``).
    device : str
    kernel, solver, dtype : str
    steps : int
    simulated_min : float
    wall_s : float
        Whole run, s (set-up, stepping, writing).
    step_wall_s : float
        Stepping alone, s.
    table : pandas.DataFrame
    """

    out_dir: Path
    files: tuple[Path, ...]
    backend: str
    device: str
    kernel: str
    solver: str
    dtype: str
    steps: int
    simulated_min: float
    wall_s: float
    step_wall_s: float
    table: object


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _manifest(env, hours, steps, wall_s, step_wall_s, command) -> dict:
    sources = stand_in_sources()
    return {
        "job": "examples/diffusion_demo.py",
        "command": command,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backend": env.backend.name,
        "device": env.backend.device,
        "kernel": env.kernel,
        "solver": env.solver,
        "dtype": env.dtype.name,
        "steps": steps,
        "wall_s": round(wall_s, 3),
        "step_wall_s": round(step_wall_s, 3),
        "parameters": {
            "hours": hours,
            "dt_min": DT_MIN,
            "record_every_min": RECORD_EVERY_MIN,
            "grid_shape": list(env.grid.shape),
            "spacing_um": list(env.grid.spacing_um),
            "boundaries": BOUNDARIES,
            "vessel_x_um": list(VESSEL_X_UM),
            "plasma_nM": plasma_nM(),
            "mediators": {
                m.name: {
                    "diffusion_um2_per_min": m.diffusion_um2_per_min,
                    "decay_per_min": m.decay_per_min,
                    "molecular_mass_kda": m.molecular_mass_kda,
                    "sources": dict(m.sources),
                }
                for m in env.mediators
            },
            "sources": {
                name: [
                    {"who": who, "n": len(pos), "positions_um": np.asarray(pos).tolist(), "molecules_per_min": rate}
                    for who, pos, rate in groups
                ]
                for name, groups in sources.items()
            },
        },
        "versions": {
            "neuroagents": neuroagents.__version__,
            "python": platform.python_version(),
            "numpy": _version("numpy"),
            "numba": _version("numba"),
            "scipy": _version("scipy"),
            "pandas": _version("pandas"),
            "cupy": (_version("cupy-cuda12x") or _version("cupy")) if env.backend.is_gpu else None,
        },
        "platform": platform.platform(),
    }


def run_demo(
    out_dir="runs/diffusion_demo",
    *,
    hours: float = DEFAULT_HOURS,
    backend="auto",
    solver: str = "lod",
    kernel: str = "auto",
    dtype: str = "float64",
    force: bool = False,
    command: list[str] | None = None,
) -> DemoResult:
    """Run the demo and write its outputs into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing; must be empty unless ``force``.
    hours : float
        Simulated time, h.
    backend, solver, kernel, dtype
        Passed to :class:`~neuroagents.tissue.Microenvironment`.
    force : bool
        Write over the outputs of an earlier run.
    command : list of str, optional
        The command line, kept in the manifest.

    Returns
    -------
    DemoResult
    """
    hours = _check_hours(hours)
    path = check_out_dir(out_dir, force=force)
    t0 = time.perf_counter()
    env = build_environment(backend=backend, solver=solver, kernel=kernel, dtype=dtype)
    t1 = time.perf_counter()
    table, steps = simulate(env, hours)
    step_wall_s = time.perf_counter() - t1
    path.mkdir(parents=True, exist_ok=True)
    files = tuple(path / name for name in OUTPUT_FILES)
    with atomic_write(files[0]) as tmp:  # each file whole or not at all (a full disk leaves no half PNG)
        draw_fields(env, table, tmp)
    with atomic_write(files[1]) as tmp:
        table.to_parquet(tmp, index=False)
    wall_s = time.perf_counter() - t0
    manifest = _manifest(env, hours, steps, wall_s, step_wall_s, command if command is not None else sys.argv)
    with atomic_write(files[2]) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoResult(
        out_dir=path,
        files=files,
        backend=env.backend.name,
        device=env.backend.device,
        kernel=env.kernel,
        solver=env.solver,
        dtype=env.dtype.name,
        steps=steps,
        simulated_min=env.time_min,
        wall_s=wall_s,
        step_wall_s=step_wall_s,
        table=table,
    )


def _format_hours(minutes: float) -> str:
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def draw_fields(env: Microenvironment, table, png_path) -> None:
    """One heatmap per mediator (log colour scale, nM) and a time-course panel, saved as PNG.

    Uses matplotlib's object API with the Agg canvas, so no global backend is set.

    Parameters
    ----------
    env : Microenvironment
    table : pandas.DataFrame
        As returned by :func:`simulate`.
    png_path : str or Path
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.figure import Figure

    fields = env.to_host()
    n = len(env.names)
    ncols = 3
    nrows = math.ceil((n + 1) / ncols)
    fig = Figure(figsize=(5.2 * ncols, 4.4 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    lx, ly = env.grid.extent_um
    cmap = colormaps["magma"].with_extremes(under="black", bad="black")
    nerve = _positions_of_nerve()
    mast = np.array(MAST_CELL_POSITIONS_UM)
    macrophages = np.array(MACROPHAGE_POSITIONS_UM)
    for m, name in enumerate(env.names):  # over mediators
        ax = axes[m]
        field = fields[m].T  # rows = y, so x runs to the right
        vmax = float(field.max())
        norm = LogNorm(vmin=vmax * 1e-4, vmax=vmax) if vmax > 0 else Normalize(0.0, 1.0)
        im = ax.imshow(field, origin="lower", extent=(0, lx, 0, ly), cmap=cmap, norm=norm, interpolation="nearest")
        fig.colorbar(im, ax=ax, label=f"{name} (nM)", shrink=0.9)
        ax.axvspan(*VESSEL_X_UM, color="#4fc3f7", alpha=0.35, lw=0, label="venule (plasma level)")
        ax.plot(nerve[[0, -1], 0], nerve[[0, -1], 1], color="#81c784", lw=1, alpha=0.8, label="injured nerve (CCL2)")
        ax.scatter(mast[:, 0], mast[:, 1], s=6, facecolors="none", edgecolors="white", lw=0.5, label="mast cells")
        ax.scatter(macrophages[:, 0], macrophages[:, 1], s=14, marker="^", facecolors="none", edgecolors="#ffd54f",
                   lw=0.6, label="macrophages (IL-10)")  # fmt: skip
        ax.set_title(f"{name}: max {vmax:.3g} nM, mean {float(field.mean()):.3g} nM", fontsize=10)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
    axes[0].legend(loc="upper left", fontsize=7, framealpha=0.6)
    ax = axes[n]
    for name, rows in table.groupby("mediator", sort=False):  # over mediators
        peak = rows["mean_nM"].max()
        ax.plot(rows["time_min"] / 60.0, rows["mean_nM"] / peak if peak > 0 else rows["mean_nM"], label=name)
    ax.set_xlabel("time (h)")
    ax.set_ylabel("mean concentration / its maximum")
    ax.set_title("approach to steady state", fontsize=10)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    for ax in axes[n + 1 :]:
        ax.set_axis_off()
    fig.suptitle(
        f"neuroagents demo: {lx / 1000:g} mm × {ly / 1000:g} mm tissue, t = {_format_hours(env.time_min)} "
        f"({env.time_min:g} min) — {env.solver.upper()} solver, {env.backend.name}/{env.kernel}, {env.dtype.name}",
        fontsize=12,
    )
    fig.savefig(png_path, dpi=100, format="png")


def main(argv=None) -> int:
    """The example's command line (``python examples/diffusion_demo.py --help``); returns the exit status."""
    import argparse

    from neuroagents.backend import BACKEND_CHOICES
    from neuroagents.tissue.diffusion.registry import KERNELS, SOLVERS
    from neuroagents.tissue.microenvironment import DTYPES

    p = argparse.ArgumentParser(prog="diffusion_demo.py", description=__doc__.split("\n", 1)[0])
    p.add_argument("--out", default="runs/diffusion_demo", metavar="DIR", help="output directory (%(default)s)")
    p.add_argument("--force", action="store_true", help="write over the outputs of an earlier run in --out")
    p.add_argument("--hours", type=float, default=DEFAULT_HOURS, metavar="H", help="simulated time, h (%(default)s)")
    p.add_argument("--backend", default="auto", choices=BACKEND_CHOICES, help="array backend (%(default)s)")
    p.add_argument("--solver", default="lod", choices=SOLVERS, help="diffusion solver (%(default)s)")
    p.add_argument("--kernel", default="auto", choices=("auto", *KERNELS), help="solver kernel (%(default)s)")
    p.add_argument("--dtype", default="float64", choices=DTYPES, help="field precision (%(default)s)")
    args = p.parse_args(argv)
    command = ["python", "examples/diffusion_demo.py", *(sys.argv[1:] if argv is None else argv)]
    try:
        result = run_demo(args.out, hours=args.hours, backend=args.backend, solver=args.solver, kernel=args.kernel,
                          dtype=args.dtype, force=args.force, command=command)  # fmt: skip
    except NeuroagentsError as exc:
        print(f"diffusion_demo.py: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    shape = " x ".join(map(str, GRID_SHAPE))
    final = result.table[result.table["time_min"] == result.table["time_min"].max()]
    print(f"diffusion demo: {shape} voxels of {VOXEL_UM:g} µm, {len(MEDIATORS)} mediators, {args.hours:g} h")
    print(f"  backend  {result.backend} ({result.device}), kernel {result.kernel}, solver {result.solver}, "
          f"dtype {result.dtype}")  # fmt: skip
    print(f"  steps    {result.steps} to t = {result.simulated_min:g} min; wall time {result.wall_s:.1f} s "
          f"(stepping {result.step_wall_s:.1f} s)")  # fmt: skip
    for row in final.itertuples():  # over mediators, for people
        print(f"  {row.mediator:<10} mean {row.mean_nM:.3g} nM, max {row.max_nM:.3g} nM")
    print(f"  outputs  {', '.join(str(f) for f in result.files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
