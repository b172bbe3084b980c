"""The tissue picture: one mediator's field as a colour image, the cells on top, as one SVG.

Pure functions of a :class:`~viz.live.View` (no Solara here), so that they are
cheap to test and to time. The field becomes a small PNG (one pixel per voxel,
drawn pixelated), the cells become ``<use>`` references to one symbol per cell
type, coloured by state. When there are more than ``max_cells`` cells, a stable
sample is drawn (chosen by a hash of each cell's id, so the same cells stay on
screen from frame to frame) and the legend says how many are shown.

Coordinates: the SVG's user units are µm, x to the right and y downward, the
origin at the grid's origin; 3D grids are shown as one z slice, with the cells
within that slice.

Examples
--------
>>> cell_style("macrophage", "M1")
('circle', '#e41a1c')
>>> int(stable_sample(np.arange(10), 1.0).sum()), int(stable_sample(np.arange(10_000), 0.1).sum()) // 100
(10, 10)
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field

import numpy as np

from viz.live import View, host

__all__ = [
    "CELL_SYMBOLS",
    "STATE_COLOURS",
    "CellLayer",
    "FieldFrame",
    "cell_layer",
    "cell_style",
    "field_frame",
    "heatmap_svg",
    "nearest_cell",
    "stable_sample",
]

CELL_SYMBOLS = {"mast_cell": "square", "macrophage": "circle", "t_cell": "diamond", "microglia": "star",
                "neuron": "triangle"}  # fmt: skip
"""Marker shape of each cell type."""
STATE_COLOURS = {
    ("macrophage", "M0"): "#d9d9d9",
    ("macrophage", "M1"): "#e41a1c",
    ("macrophage", "M2"): "#377eb8",
    ("mast_cell", "resting"): "#ff7f00",
    ("mast_cell", "refractory"): "#fdd0a2",
    ("neuron", "intact"): "#ffffff",
    ("neuron", "injured"): "#f032e6",
    ("t_cell", "Th1"): "#4daf4a",
    ("t_cell", "Th17"): "#a65628",
    ("t_cell", "Treg"): "#984ea3",
    ("microglia", "surveillant"): "#a6cee3",
    ("microglia", "reactive"): "#ffff33",
}
"""Fill colour of each (cell type, state); other states take colours from :data:`_SPARE`."""
_SPARE = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f")
_SHAPES = {
    "circle": '<circle r="{r:.3g}"/>',
    "square": '<rect x="-{r:.3g}" y="-{r:.3g}" width="{d:.3g}" height="{d:.3g}"/>',
    "diamond": '<path d="M0,-{R:.3g} L{R:.3g},0 L0,{R:.3g} L-{R:.3g},0 Z"/>',
    "triangle": '<path d="M0,-{R:.3g} L{T:.3g},{h:.3g} L-{T:.3g},{h:.3g} Z"/>',
    "star": '<path d="M0,-{R:.3g} L{s:.3g},-{s:.3g} L{R:.3g},0 L{s:.3g},{s:.3g} L0,{R:.3g} L-{s:.3g},{s:.3g} '
    'L-{R:.3g},0 L-{s:.3g},-{s:.3g} Z"/>',
}


def cell_style(kind: str, state: str, states: tuple[str, ...] = ()) -> tuple[str, str]:
    """``(shape, colour)`` of a cell type in a state."""
    colour = STATE_COLOURS.get((kind, state))
    if colour is None:
        i = states.index(state) if state in states else abs(hash(state))
        colour = _SPARE[i % len(_SPARE)]
    return CELL_SYMBOLS.get(kind, "circle"), colour


def stable_sample(ids: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask keeping about ``fraction`` of ``ids``, the same ids from call to call (a multiplicative hash)."""
    if fraction >= 1.0:
        return np.ones(ids.shape, dtype=bool)
    h = (ids.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return h < np.uint64(int(fraction * 2**32))


@dataclass(frozen=True)
class FieldFrame:
    """One mediator's field, coloured.

    Attributes
    ----------
    png_base64 : str
        The image, one pixel per voxel (rows = y, columns = x).
    vmin, vmax : float
        Concentrations (nM) at the two ends of the colour scale.
    log : bool
        Whether the colour scale is logarithmic.
    mediator : str
    z_index : int or None
        The slice shown, for 3D grids.
    """

    png_base64: str
    vmin: float
    vmax: float
    log: bool
    mediator: str
    z_index: int | None = None


def _plane(view: View, a, z_index: int | None):
    """A 2D (nx, ny) plane of a grid-shaped array: the z slice in 3D, a one-row image in 1D."""
    a = host(a)
    if a.ndim == 3:
        return a[:, :, int(np.clip(z_index or 0, 0, a.shape[2] - 1))]
    if a.ndim == 1:
        return a[:, None]
    return a


def field_frame(view: View, mediator: str, *, z_index: int | None = None, log: bool = False,
                cmap: str = "viridis") -> FieldFrame:  # fmt: skip
    """Colour one mediator's field (auto-scaled to its current range) as a PNG.

    Parameters
    ----------
    view : View
    mediator : str
        One of ``view.env.names``.
    z_index : int, optional
        The z slice of a 3D grid (default 0).
    log : bool
        Logarithmic colour scale over three decades below the maximum.
    """
    import matplotlib
    from matplotlib.image import imsave

    plane = _plane(view, view.env.field(mediator), z_index).astype(np.float64)
    vmax = float(plane.max()) if plane.size else 0.0
    vmin = 0.0
    if log:
        vmin = vmax * 1e-3 if vmax > 0 else 1e-12
        scaled = (np.log10(np.maximum(plane, vmin)) - math.log10(vmin)) / max(math.log10(max(vmax, vmin) / vmin), 1e-12)
    else:
        scaled = plane / vmax if vmax > 0 else np.zeros_like(plane)
    rgba = matplotlib.colormaps[cmap](np.clip(scaled, 0.0, 1.0).T)  # rows = y
    if view.labels is not None:  # vessels as pale stripes
        vessel = _plane(view, view.labels, z_index).T == 1
        rgba[vessel] = 0.55 * rgba[vessel] + 0.45 * np.array([1.0, 1.0, 1.0, 1.0])
    buf = io.BytesIO()
    imsave(buf, (rgba * 255).astype(np.uint8), format="png")
    return FieldFrame(base64.b64encode(buf.getvalue()).decode("ascii"), vmin, vmax, log, mediator,
                      z_index if view.grid.ndim == 3 else None)  # fmt: skip


@dataclass
class CellLayer:
    """The cells to draw: per type, positions (µm, x and y), state names and ids of the drawn sample.

    Attributes
    ----------
    drawn : dict of str to (ndarray (k, 2), ndarray (k,) of str, ndarray (k,) of int)
    totals : dict of str to int
        All cells of each type (in the slice, for 3D).
    states : dict of str to tuple of str
    """

    drawn: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    states: dict = field(default_factory=dict)

    @property
    def n_drawn(self) -> int:
        """Cells drawn, all types."""
        return sum(len(v[2]) for v in self.drawn.values())

    @property
    def n_total(self) -> int:
        """Cells there, all types."""
        return sum(self.totals.values())


def _cells_in_plane(view: View, ct, z_index: int | None):
    pos = host(ct.pop.position_um)
    keep = np.ones(len(pos), dtype=bool)
    if view.grid.ndim == 3 and len(pos):
        dz = view.grid.spacing_um[2]
        z0 = view.grid.origin_um[2] + ((z_index or 0) + 0.5) * dz
        keep = np.abs(pos[:, 2] - z0) <= dz
    return pos, keep


def cell_layer(view: View, *, max_cells: int = 1500, z_index: int | None = None) -> CellLayer:
    """The cells of every type in ``view``, sampled down to about ``max_cells`` in all."""
    layer = CellLayer()
    per_kind = {}
    for kind, ct in view.cell_types.items():  # over the five cell types
        pos, keep = _cells_in_plane(view, ct, z_index)
        per_kind[kind] = (pos, keep, host(ct.pop["state"]), host(ct.pop.ids))
        layer.totals[kind] = int(keep.sum())
        layer.states[kind] = tuple(ct.states)
    total = sum(layer.totals.values())
    fraction = 1.0 if total <= max_cells else max_cells / total
    for kind, (pos, keep, state, ids) in per_kind.items():  # over cell types
        m = keep & stable_sample(ids, fraction)
        if view.grid.ndim == 1:
            xy = np.column_stack([pos[m, 0], np.full(int(m.sum()), 0.5 * view.grid.spacing_um[0])])
        else:
            xy = pos[m, :2]
        names = np.asarray(layer.states[kind], dtype=object)[state[m].astype(np.int64)]
        layer.drawn[kind] = (xy, names, ids[m])
    return layer


def nearest_cell(view: View, x_um: float, y_um: float, *, radius_um: float | None = None,
                 z_index: int | None = None) -> tuple[str, int] | None:  # fmt: skip
    """The cell (any type, drawn or not) closest to ``(x_um, y_um)`` within ``radius_um`` (default 2 voxels)."""
    radius = 2.0 * view.grid.spacing_um[0] if radius_um is None else radius_um
    best, best_d = None, radius
    for kind, ct in view.cell_types.items():  # over cell types
        if ct.n == 0:
            continue
        pos, keep = _cells_in_plane(view, ct, z_index)
        y = pos[:, 1] if pos.shape[1] > 1 else np.full(len(pos), 0.5 * view.grid.spacing_um[0])
        d = np.hypot(pos[:, 0] - x_um, y - y_um)
        d[~keep] = np.inf
        i = int(np.argmin(d))
        if d[i] <= best_d:
            best, best_d = (kind, int(host(ct.pop.ids)[i])), float(d[i])
    return best


def _symbols(r: float) -> str:
    R, d, s = 1.25 * r, 2 * r, 0.45 * r
    out = []
    for name, tpl in _SHAPES.items():  # over five marker shapes
        out.append(f'<g id="na-{name}">{tpl.format(r=r, d=d, R=R, s=s, T=1.1 * R, h=0.75 * R)}</g>')
    return "<defs>" + "".join(out) + "</defs>"


def heatmap_svg(
    view: View,
    frame: FieldFrame,
    cells: CellLayer,
    *,
    selected: tuple[str, int] | None = None,
    selected_xy: tuple[float, float] | None = None,
) -> str:
    """The field image with the cells on top, as one ``<svg>`` whose user units are µm.

    ``data-*`` attributes carry what the picture shows (mediator, scale, cells drawn and present) for tests and
    for people reading the page source.
    """
    g = view.grid
    ox, oy = g.origin_um[0], (g.origin_um[1] if g.ndim > 1 else 0.0)
    w = g.extent_um[0]
    h = g.extent_um[1] if g.ndim > 1 else g.spacing_um[0]
    r = 0.5 * min(g.spacing_um[:2]) if g.ndim > 1 else 0.5 * g.spacing_um[0]
    r = max(r, 0.004 * max(w, h))  # visible on large grids
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="na-heatmap-svg" viewBox="{ox:g} {oy:g} {w:g} {h:g}" '
        f'preserveAspectRatio="xMidYMid meet" style="width:100%;height:auto;max-height:560px;cursor:crosshair" '
        f'data-mediator="{html.escape(frame.mediator)}" data-vmax="{frame.vmax:.6g}" '
        f'data-cells-drawn="{cells.n_drawn}" data-cells-total="{cells.n_total}">',
        _symbols(r),
        f'<image href="data:image/png;base64,{frame.png_base64}" x="{ox:g}" y="{oy:g}" width="{w:g}" height="{h:g}" '
        'preserveAspectRatio="none" style="image-rendering:pixelated"/>',
    ]
    stroke = max(0.15 * r, 0.5)
    for kind, (xy, names, _ids) in cells.drawn.items():  # over cell types: one group each
        shape = CELL_SYMBOLS.get(kind, "circle")
        parts.append(f'<g class="na-cells" data-kind="{kind}" stroke="#000" stroke-width="{stroke:.3g}">')
        colours = {s: cell_style(kind, s, cells.states[kind])[1] for s in cells.states[kind]}
        parts.extend(
            f'<use href="#na-{shape}" x="{x:.1f}" y="{y:.1f}" fill="{colours[s]}"/>'
            for (x, y), s in zip(xy.tolist(), names.tolist(), strict=True)
        )  # one element per drawn cell: string formatting only, no model work
        parts.append("</g>")
    if selected is not None and selected_xy is not None:
        x, y = selected_xy
        parts.append(
            f'<circle class="na-selected" data-kind="{selected[0]}" data-id="{selected[1]}" cx="{x:.1f}" '
            f'cy="{y:.1f}" r="{2.2 * r:.3g}" fill="none" stroke="#00e5ff" stroke-width="{2 * stroke:.3g}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def legend_html(cells: CellLayer) -> str:
    """A small HTML legend: each cell type's shape and state colours, with counts (and how many are drawn)."""
    rows = []
    for kind, states in cells.states.items():  # over cell types
        total = cells.totals.get(kind, 0)
        if total == 0:
            continue
        shown = len(cells.drawn.get(kind, ((), (), ()))[2])
        shape = CELL_SYMBOLS.get(kind, "circle")
        swatches = " ".join(
            f'<span class="na-swatch" title="{kind} {s}"><svg width="14" height="14" viewBox="-7 -7 14 14">'
            f'<use href="#na-legend-{shape}" fill="{cell_style(kind, s, states)[1]}" stroke="#000" stroke-width="1"/>'
            f"</svg>{html.escape(s)}</span>"
            for s in states
        )
        note = "" if shown == total else f" (drawing {shown})"
        rows.append(f'<div class="na-legend-row" data-kind="{kind}" data-total="{total}">'
                    f"<b>{kind.replace('_', ' ')}</b> {total}{note}: {swatches}</div>")  # fmt: skip
    defs = _symbols(5.0).replace('id="na-', 'id="na-legend-')
    return (f'<svg width="0" height="0" style="position:absolute">{defs}</svg>'
            f'<div class="na-legend" style="font-size:12px;line-height:1.6">{"".join(rows)}</div>')  # fmt: skip


def colourbar_html(frame: FieldFrame, cmap: str = "viridis") -> str:
    """A horizontal colour bar with the scale's ends, nM."""
    import matplotlib

    stops = "".join(
        f'<stop offset="{i / 10:.1f}" stop-color="{matplotlib.colors.to_hex(matplotlib.colormaps[cmap](i / 10))}"/>'
        for i in range(11)
    )
    scale = "log" if frame.log else "linear"
    return (
        f'<div class="na-colourbar" style="font-size:12px">{html.escape(frame.mediator)} (nM, {scale}): '
        f"{frame.vmin:.3g} "
        f'<svg width="160" height="10"><defs><linearGradient id="na-cb">{stops}</linearGradient></defs>'
        f'<rect width="160" height="10" fill="url(#na-cb)"/></svg> {frame.vmax:.3g}</div>'
    )
