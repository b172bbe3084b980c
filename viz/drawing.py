"""The tissue picture: one mediator's field and the cells on top, as data for one ``<canvas>`` (``canvas.vue``).

Pure functions of a :class:`~viz.live.View` (no Solara here), so that they are
cheap to test and to time. A frame is small and flat: the field as one byte per
voxel (an index into a 256-colour table sent once, :func:`map_base`), and the
cells as one packed float32 array of positions per (cell type, state), which the
browser draws as one path each. Nothing in a frame becomes a DOM node: the page
updates the pixels of one canvas. When there are more than ``max_cells`` cells, a
stable sample is drawn (chosen by a hash of each cell's id, so the same cells stay
on screen from frame to frame) and the legend says how many are shown.

Coordinates: µm, x to the right and y downward, the origin at the grid's origin;
3D grids are shown as one z slice, with the cells within that slice.

Examples
--------
>>> cell_style("macrophage", "M1")
('circle', '#e41a1c')
>>> int(stable_sample(np.arange(10), 1.0).sum()), int(stable_sample(np.arange(10_000), 0.1).sum()) // 100
(10, 10)
>>> scale_bar_um(2000.0), scale_bar_um(130.0)
(200.0, 20.0)
"""

from __future__ import annotations

import base64
import html
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
    "map_base",
    "map_frame",
    "nearest_cell",
    "scale_bar_um",
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
    index_base64 : str
        One byte per voxel (row-major, rows = y, columns = x): the colour's index in :func:`colour_table`.
    shape : tuple of int
        ``(ny, nx)`` of the image.
    vmin, vmax : float
        Concentrations (nM) at the two ends of the colour scale.
    log : bool
        Whether the colour scale is logarithmic.
    mediator : str
    z_index : int or None
        The slice shown, for 3D grids.
    peak : float
        The field's highest value in the plane now, nM (above ``vmax`` when the scale is fixed lower).
    fixed : bool
        Whether ``vmax`` was given (a fixed scale) rather than the plane's maximum.
    """

    index_base64: str
    shape: tuple[int, int]
    vmin: float
    vmax: float
    log: bool
    mediator: str
    z_index: int | None = None
    peak: float = 0.0
    fixed: bool = False


def _plane(view: View, a, z_index: int | None):
    """A 2D (nx, ny) plane of a grid-shaped array: the z slice in 3D, a one-row image in 1D."""
    a = host(a)
    if a.ndim == 3:
        return a[:, :, int(np.clip(z_index or 0, 0, a.shape[2] - 1))]
    if a.ndim == 1:
        return a[:, None]
    return a


def colour_table(cmap: str = "viridis") -> bytes:
    """The 256 RGB colours of ``cmap``, 768 bytes (what a frame's indices point into)."""
    import matplotlib

    rgb = matplotlib.colormaps[cmap](np.linspace(0.0, 1.0, 256))[:, :3]
    return (rgb * 255 + 0.5).astype(np.uint8).tobytes()


def field_frame(view: View, mediator: str, *, z_index: int | None = None, log: bool = False,
                vmax: float | None = None) -> FieldFrame:  # fmt: skip
    """One mediator's field as colour indices, scaled to ``vmax`` (default: the plane's current maximum).

    Parameters
    ----------
    view : View
    mediator : str
        One of ``view.env.names``.
    z_index : int, optional
        The z slice of a 3D grid (default 0).
    log : bool
        Logarithmic colour scale over three decades below ``vmax``.
    vmax : float, optional
        A fixed top of the scale, nM (> 0); values above it take the top colour.
    """
    plane = _plane(view, view.env.field(mediator), z_index).astype(np.float64)
    peak = float(plane.max()) if plane.size else 0.0
    fixed = vmax is not None and math.isfinite(vmax) and vmax > 0
    top = float(vmax) if fixed else peak
    vmin = 0.0
    if log:
        vmin = top * 1e-3 if top > 0 else 1e-12
        scaled = (np.log10(np.maximum(plane, vmin)) - math.log10(vmin)) / max(math.log10(max(top, vmin) / vmin), 1e-12)
    else:
        scaled = plane / top if top > 0 else np.zeros_like(plane)
    index = (np.clip(scaled, 0.0, 1.0).T * 255 + 0.5).astype(np.uint8)  # rows = y
    return FieldFrame(base64.b64encode(np.ascontiguousarray(index).tobytes()).decode("ascii"), index.shape, vmin,
                      top, log, mediator, z_index if view.grid.ndim == 3 else None, peak, fixed)  # fmt: skip


@dataclass
class CellLayer:
    """The cells to draw: per type, positions (µm, x and y), state names and ids of the drawn sample.

    Attributes
    ----------
    drawn : dict of str to (ndarray (k, 2), ndarray (k,) of str, ndarray (k,) of int)
    totals : dict of str to int
        All cells of each type (in the slice, for 3D).
    states : dict of str to tuple of str
    state_totals : dict of str to dict of str to int
        All cells of each type in each state (in the slice, for 3D).
    """

    drawn: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    states: dict = field(default_factory=dict)
    state_totals: dict = field(default_factory=dict)

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
        codes = np.bincount(per_kind[kind][2][keep].astype(np.int64), minlength=len(ct.states))
        layer.state_totals[kind] = {s: int(codes[i]) for i, s in enumerate(ct.states)}
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


def scale_bar_um(width_um: float) -> float:
    """A round length for the map's scale bar, about a fifth of the width shown (µm)."""
    target = 0.2 * width_um
    nice = [m * 10**e for e in range(-1, 6) for m in (1, 2, 5)]
    return float(max([v for v in nice if v <= target] or [nice[0]]))


def _b64(a: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def map_base(view: View, *, z_index: int | None = None, cmap: str = "viridis") -> dict:
    """What the map's canvas needs once per compartment: geometry (µm), the colour table, the vessels.

    Returns
    -------
    dict
        ``origin_um``, ``extent_um`` (x, y), ``shape`` (ny, nx), ``lut`` (768 bytes, base64), ``vessels`` (one byte
        per voxel, 1 in a vessel, base64, or ``""``), ``cell_radius_um`` and ``scale_bar_um``.
    """
    g = view.grid
    ox, oy = g.origin_um[0], (g.origin_um[1] if g.ndim > 1 else 0.0)
    w = g.extent_um[0]
    h = g.extent_um[1] if g.ndim > 1 else g.spacing_um[0]
    r = 0.5 * min(g.spacing_um[:2]) if g.ndim > 1 else 0.5 * g.spacing_um[0]
    vessels = ""
    if view.labels is not None:
        vessels = _b64((_plane(view, view.labels, z_index).T == 1).astype(np.uint8), np.uint8)
    nx = g.shape[0]
    ny = g.shape[1] if g.ndim > 1 else 1
    return {"origin_um": [float(ox), float(oy)], "extent_um": [float(w), float(h)], "shape": [int(ny), int(nx)],
            "lut": base64.b64encode(colour_table(cmap)).decode("ascii"), "vessels": vessels,
            "cell_radius_um": float(max(r, 0.004 * max(w, h))), "scale_bar_um": scale_bar_um(float(w)),
            "name": view.name}  # fmt: skip


def map_frame(frame: FieldFrame, cells: CellLayer, *, seq: int = 0,
              selected_xy: tuple[float, float] | None = None) -> dict:  # fmt: skip
    """One frame of the map: the field's colour indices and one packed position array per (cell type, state).

    Returns
    -------
    dict
        ``seq`` (the frame's number, echoed by the browser once drawn), ``field`` (base64 bytes), ``mediator``,
        ``vmax``, ``groups`` (a list of ``{"kind", "state", "shape", "colour", "n", "xy"}``, ``xy`` the float32
        positions, µm, x y x y ..., base64), ``n_drawn``, ``n_total``, ``selected`` (``[x, y]`` µm or None).
    """
    groups = []
    for kind, (xy, names, _ids) in cells.drawn.items():  # over cell types
        for state in cells.states[kind]:  # over a few states: one path each
            m = names == state
            if not m.any():
                continue
            shape, colour = CELL_SYMBOLS.get(kind, "circle"), cell_style(kind, state, cells.states[kind])[1]
            groups.append({"kind": kind, "state": state, "shape": shape, "colour": colour, "n": int(m.sum()),
                           "xy": _b64(xy[m], np.float32)})  # fmt: skip
    return {"seq": int(seq), "field": frame.index_base64, "mediator": frame.mediator, "vmax": float(frame.vmax),
            "peak": float(frame.peak), "groups": groups, "n_drawn": cells.n_drawn, "n_total": cells.n_total,
            "selected": None if selected_xy is None else [float(selected_xy[0]), float(selected_xy[1])]}  # fmt: skip


def legend_html(cells: CellLayer, where: str = "", everywhere: dict[str, int] | None = None) -> str:
    """A small HTML legend: each cell type's shape and state colours, with counts in ``where`` (the compartment
    on the map) and how many are drawn; ``everywhere`` (cells of each type in all compartments) adds the total,
    labelled as such."""
    rows = []
    for kind, states in cells.states.items():  # over cell types
        total = cells.totals.get(kind, 0)
        if total == 0:
            continue
        shown = len(cells.drawn.get(kind, ((), (), ()))[2])
        shape = CELL_SYMBOLS.get(kind, "circle")
        by_state = cells.state_totals.get(kind, {})
        swatches = " ".join(
            f'<span class="na-swatch" title="{kind} {s}" data-state="{html.escape(s)}" data-n="{by_state.get(s, 0)}">'
            f'<svg width="14" height="14" viewBox="-7 -7 14 14"><use href="#na-legend-{shape}" '
            f'fill="{cell_style(kind, s, states)[1]}" stroke="#000" stroke-width="1"/></svg>{html.escape(s)} '
            f"{by_state.get(s, 0)}</span>"
            for s in states
        )
        note = "" if shown == total else f" (drawing {shown})"
        allc = everywhere.get(kind) if everywhere else None
        if allc is not None:
            note += f' <span class="na-legend-all" data-n="{allc}">({allc} in all compartments)</span>'
        rows.append(f'<div class="na-legend-row" data-kind="{kind}" data-total="{total}">'
                    f"<b>{kind.replace('_', ' ')}</b> {total}{note}: {swatches}</div>")  # fmt: skip
    defs = _symbols(5.0).replace('id="na-', 'id="na-legend-')
    head = f"<b>Cells in {html.escape(where)}</b> (the compartment on the map)" if where and where != "tissue" else ""
    return (f'<svg width="0" height="0" style="position:absolute">{defs}</svg>'
            f'<div class="na-legend" data-where="{html.escape(where)}" style="font-size:13px;line-height:1.6">'
            f'{head}{"".join(rows)}</div>')  # fmt: skip


def colourbar_html(frame: FieldFrame, cmap: str = "viridis") -> str:
    """A horizontal colour bar with the scale's ends, nM."""
    import matplotlib

    stops = "".join(
        f'<stop offset="{i / 10:.1f}" stop-color="{matplotlib.colors.to_hex(matplotlib.colormaps[cmap](i / 10))}"/>'
        for i in range(11)
    )
    scale = ("log" if frame.log else "linear") + (", fixed" if frame.fixed else ", auto: the current maximum")
    over = f" (peak {frame.peak:.3g}: above the scale)" if frame.fixed and frame.peak > frame.vmax else ""
    return (
        f'<div class="na-colourbar" data-fixed="{int(frame.fixed)}" data-vmax="{frame.vmax:.6g}" '
        f'style="font-size:13px">{html.escape(frame.mediator)} (nM, {scale}): {frame.vmin:.3g} '
        f'<svg width="160" height="10"><defs><linearGradient id="na-cb">{stops}</linearGradient></defs>'
        f'<rect width="160" height="10" fill="url(#na-cb)"/></svg> {frame.vmax:.3g}{over}</div>'
    )
