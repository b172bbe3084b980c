"""The tissue panel: one mediator's field and the cells on one canvas, its colour scale, legend and counts.

The map is :func:`TissueCanvas` (``canvas.vue``): Python sends it a small frame (:func:`viz.drawing.map_frame`),
the browser draws it and answers with the frame's number (``event_drawn``), which the session's
:class:`~viz.player.Player` waits for before stepping on. The colour scale is fixed (the top set by the
lesson, by the field typed, or the highest value seen so far on this run for that mediator) or automatic (each
frame's own maximum; then a depleted tissue looks as bright as an untreated one, which the colour bar says).
"""

from __future__ import annotations

import time
from collections import deque

import ipyvue
import numpy as np
import solara
import traitlets

from neuroagents.errors import ConfigError
from viz.drawing import cell_layer, colourbar_html, field_frame, legend_html, map_base, map_frame, nearest_cell
from viz.frames import LiveHTML, use_sink
from viz.inputs import NumberField
from viz.live import host, views

__all__ = ["SCALES", "TissueCanvas", "TissueView", "scale_top"]

MAX_CELLS = 1500
"""Most cells drawn at once; more are sampled (stable by id)."""
SCALES = ("fixed", "auto (each frame's maximum)")
SCALE_MAX = NumberField("colour scale top (nM)", 0.0, 1e9, low_open=True)


class TissueCanvas(ipyvue.VueTemplate):
    """The map's canvas (``canvas.vue``): ``base`` once per compartment, ``frame`` pushed with each frame.

    ``on_drawn`` gets ``{"seq", "fps"}`` once a frame is on screen, ``on_pick`` a click as ``{"x_um", "y_um"}``.
    """

    template_file = (__file__, "canvas.vue")
    base = traitlets.Dict().tag(sync=True)
    frame = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    on_drawn = traitlets.Any(None)
    on_pick = traitlets.Any(None)

    def vue_drawn(self, data):
        if self.on_drawn is not None:
            self.on_drawn(data)

    def vue_pick(self, data):
        if self.on_pick is not None:
            self.on_pick(data)


def scale_top(model, key: tuple, peak: float, typed: float | None) -> float:
    """The fixed scale's top for ``key`` (compartment, mediator): the typed value, else the highest seen so far.

    The highest value seen is kept on the model (``model.colour_tops``), so it starts again with a new run.
    """
    tops = model.colour_tops
    if typed is not None:
        return typed
    tops[key] = max(tops.get(key, 0.0), peak)
    return tops[key] if tops[key] > 0 else 1.0


def _selected_position(model, view, selected):
    """``(x, y)`` µm of the selected cell if it is in this model and view, else None."""
    if not selected or selected[0] != id(model) or selected[1] not in view.cell_types:
        return None
    ct = view.cell_types[selected[1]]
    rows = np.flatnonzero(host(ct.pop.ids) == selected[2])
    if rows.size == 0:
        return None
    pos = host(ct.pop.position_um)[rows[0]]
    y = float(pos[1]) if pos.size > 1 else 0.5 * view.grid.spacing_um[0]
    return float(pos[0]), y


@solara.component
def MapFrame(model, sinks, view, med: str, zi, log: bool, scale: str, typed: float | None,
             selected: solara.Reactive, player, note: solara.Reactive, draw_ms: deque):  # fmt: skip
    """The canvas, its colour bar and legend: pushed a new frame directly (:mod:`viz.frames`), not re-rendered."""
    selected.value  # noqa: B018 - redraw when another cell is selected
    base = solara.use_memo(lambda: map_base(view, z_index=zi), [id(model), view.name, zi])
    all_views = list(views(model).values())
    several = len(all_views) > 1
    last: dict = {}

    def compute(seq):
        if last.get("seq") == seq:
            return last["out"]
        t0 = time.perf_counter()
        with model.lock:
            peak = float(host(view.env.field(med)).max()) if scale == "fixed" and typed is None else 0.0
            top = scale_top(model, (view.name, med), peak, typed) if scale == "fixed" else None
            ff = field_frame(view, med, z_index=zi, log=log, vmax=top)
            cells = cell_layer(view, max_cells=MAX_CELLS, z_index=zi)
            sel_xy = _selected_position(model, view, selected.value)
            everywhere = None
            if several:
                everywhere = {k: sum(v.cell_types[k].n for v in all_views) for k in view.cell_types}
        out = (map_frame(ff, cells, seq=seq, selected_xy=sel_xy),
               colourbar_html(ff) + legend_html(cells, where=view.name, everywhere=everywhere))  # fmt: skip
        draw_ms.append(1e3 * (time.perf_counter() - t0))
        last.update(seq=seq, out=out)
        return out

    def pick(data):
        try:
            x, y = float(data.get("x_um")), float(data.get("y_um"))
        except (TypeError, ValueError, AttributeError):
            return
        with model.lock:
            hit = nearest_cell(view, x, y, z_index=zi)
        if hit is None:
            note.set("No cell there: click closer to a cell.")
            return
        note.set("")
        selected.set((id(model), *hit))

    def drawn(data):
        try:
            player.drawn(int(data.get("seq", 0)), float(data.get("fps", "nan")))
        except (TypeError, ValueError, AttributeError):
            return

    canvas = TissueCanvas.element(base=base, on_drawn=drawn, on_pick=pick)  # frames are pushed: see viz.frames
    use_sink(sinks, "map", canvas, "frame", lambda seq: compute(seq)[0], player.seq)
    LiveHTML(sinks, "legend", lambda seq: compute(seq)[1], player.seq)


@solara.component
def TissueView(model, sinks, mediator: solara.Reactive, compartment: solara.Reactive,
               selected: solara.Reactive, scale: solara.Reactive, scale_text: solara.Reactive, player,
               draw_ms: deque):  # fmt: skip
    """One mediator's field with the cells on top; click a cell to inspect it."""
    log_scale = solara.use_reactive(False)
    z = solara.use_reactive(0)
    note = solara.use_reactive("")
    vs = views(model)
    name = compartment.value if compartment.value in vs else next(iter(vs))
    view = vs[name]
    names = list(view.env.names)
    med = mediator.value if mediator.value in names else names[0]
    nz = view.grid.shape[2] if view.grid.ndim == 3 else 0
    zi = z.value if nz else None
    typed, scale_error = None, ""
    if scale.value == "fixed" and (scale_text.value or "").strip():
        try:
            typed = SCALE_MAX.parse(scale_text.value)
        except ConfigError as exc:
            scale_error = " ".join(str(exc).split())

    with solara.Card(margin=0, classes=["na-tissue"], style={"flex": "1 1 360px", "min-width": "0", "padding": "6px"}):
        with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Mediator on the map", dense=True, value=med, values=names, on_value=mediator.set,
                          style={"max-width": "170px"})  # fmt: skip
            if len(vs) > 1:
                solara.Select("Compartment", dense=True, value=name, values=list(vs), on_value=compartment.set,
                              style={"max-width": "150px"})  # fmt: skip
            if nz:
                solara.SliderInt("z slice", value=z, min=0, max=nz - 1)
        MapFrame(model, sinks, view, med, zi, log_scale.value, scale.value, typed, selected, player, note, draw_ms)
        with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("colour scale", dense=True, value=scale.value, values=list(SCALES), on_value=scale.set,
                          style={"max-width": "150px"})  # fmt: skip
            solara.InputText("top (nM)", value=scale_text, continuous_update=True, placeholder="highest so far",
                             error=scale_error or False, dense=True, disabled=scale.value != "fixed",
                             style={"max-width": "120px"}, classes=["na-input-scale"])  # fmt: skip
            solara.Checkbox(label="log", value=log_scale)
        solara.Text(note.value or f"{view.name}: click a cell to inspect it.",
                    style={"font-size": "13px", "color": "#555"})  # fmt: skip
