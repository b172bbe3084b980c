"""The dashboard's panels as Solara components: tissue picture, live plots, cell inspector, interventions.

Every component that shows the model reads Mesa's ``update_counter`` (so it
redraws after each frame of steps) and reads the model under its lock (the
play loop steps in a thread). Drawing time is recorded next to step time, so
the page can show both.
"""

from __future__ import annotations

import html
import random
import time
from collections import deque
from collections.abc import Callable

import numpy as np
import solara

from neuroagents.errors import NeuroagentsError
from viz import actions as act
from viz.drawing import cell_layer, colourbar_html, field_frame, heatmap_svg, legend_html, nearest_cell
from viz.live import format_time, host, views
from viz.mesa_parts import force_update, update_counter
from viz.plots import PALETTE, Marker, Series, line_chart

__all__ = ["ActionsPanel", "HeatmapSvg", "Inspector", "Plots", "TissueView", "run_try_action"]

MAX_CELLS = 1500
"""Most cells drawn at once; more are sampled (stable by id)."""
DEFAULT_DOSE_MG_PER_KG = 10.0
"""Dose offered first (assumption: a common rodent dose; set your protocol's)."""
MARKER_COLOURS = {"drug": "#1565c0", "deplete": "#6a1b9a", "knockout": "#c62828", "injury": "#000000"}


def one_line(exc: BaseException) -> str:
    """An error as one line of text."""
    return " ".join(str(exc).split())


@solara.component_vue("heatmap.vue")
def HeatmapSvg(svg: str, event_pick: Callable[[dict], None] | None = None):
    """The tissue SVG; a click sends ``{"x_um": ..., "y_um": ...}`` to ``event_pick``."""


# --- tissue picture -------------------------------------------------------------------------
@solara.component
def TissueView(model, mediator: solara.Reactive, compartment: solara.Reactive, selected: solara.Reactive,
               draw_ms: deque):  # fmt: skip
    """One mediator's field with the cells on top; click a cell to inspect it."""
    update_counter.get()
    log_scale = solara.use_reactive(False)
    z = solara.use_reactive(0)
    note = solara.use_reactive("")
    vs = views(model)
    name = compartment.value if compartment.value in vs else next(iter(vs))
    view = vs[name]
    names = list(view.env.names)
    med = mediator.value if mediator.value in names else names[0]
    nz = view.grid.shape[2] if view.grid.ndim == 3 else 0
    t0 = time.perf_counter()
    with model.lock:
        frame = field_frame(view, med, z_index=z.value if nz else None, log=log_scale.value)
        cells = cell_layer(view, max_cells=MAX_CELLS, z_index=z.value if nz else None)
        sel, sel_xy = _selected_position(model, view, selected.value)
    svg = heatmap_svg(view, frame, cells, selected=sel, selected_xy=sel_xy)
    draw_ms.append(1e3 * (time.perf_counter() - t0))

    def pick(data):
        with model.lock:
            hit = nearest_cell(view, float(data.get("x_um", np.nan)), float(data.get("y_um", np.nan)),
                               z_index=z.value if nz else None)  # fmt: skip
        if hit is None:
            note.set("No cell there: click closer to a cell.")
            return
        note.set("")
        selected.set((id(model), *hit))

    with solara.Card("Tissue", margin=0, classes=["na-tissue"]):
        with solara.Row(gap="12px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Mediator on the map", value=med, values=names, on_value=mediator.set)
            if len(vs) > 1:
                solara.Select("Compartment", value=name, values=list(vs), on_value=compartment.set)
            if nz:
                solara.SliderInt("z slice", value=z, min=0, max=nz - 1)
            solara.Checkbox(label="log colour scale", value=log_scale)
        HeatmapSvg(svg=svg, event_pick=pick)
        solara.HTML(tag="div", unsafe_innerHTML=colourbar_html(frame) + legend_html(cells))
        solara.Text(note.value or "Click a cell to inspect it.", style={"font-size": "12px", "color": "#555"})


def _selected_position(model, view, selected):
    """``((kind, id), (x, y))`` of the selected cell if it is in this model and view, else ``(None, None)``."""
    if not selected or selected[0] != id(model) or selected[1] not in view.cell_types:
        return None, None
    ct = view.cell_types[selected[1]]
    ids = host(ct.pop.ids)
    rows = np.flatnonzero(ids == selected[2])
    if rows.size == 0:
        return None, None
    pos = host(ct.pop.position_um)[rows[0]]
    y = float(pos[1]) if pos.size > 1 else 0.5 * view.grid.spacing_um[0]
    return (selected[1], selected[2]), (float(pos[0]), y)


# --- plots ----------------------------------------------------------------------------------
def _markers(model) -> list[Marker]:
    events = [*getattr(model, "scenario_events", []), *getattr(model, "actions", [])]
    return [Marker(a.time_min / 60.0, a.label, MARKER_COLOURS.get(a.kind, "#444")) for a in events]


def _count_series(ts, counts: str, dash=False) -> list[Series]:
    t = ts["time_min"].to_numpy() / 60.0
    cols = [c for c in ts.columns if c.startswith("n_")]
    out = []
    if counts == "all types":
        kinds = sorted({c[2:].rsplit("_", 1)[0] for c in cols})
        for i, k in enumerate(kinds):  # over cell types
            own = [
                c for c in cols if c.startswith(f"n_{k}_") and c[len(f"n_{k}_") :] and "_" not in c[len(f"n_{k}_") :]
            ]
            if own:
                out.append(Series(k, t, ts[own].sum(axis=1).to_numpy(), PALETTE[i % len(PALETTE)], dash))
    else:
        own = [c for c in cols if c.startswith(f"n_{counts}_") and "_" not in c[len(f"n_{counts}_") :]]
        for i, c in enumerate(own):  # over states
            out.append(Series(f"{counts} {c[len(f'n_{counts}_'):]}", t, ts[c].to_numpy(), PALETTE[i % len(PALETTE)],
                              dash))  # fmt: skip
    return out


CHARTS = (
    ("pain", "Pain signal (dorsal-horn output)", "spikes/s",
     (("pain_evoked_hz", "evoked (standard filament)"), ("pain_ongoing_hz", "ongoing"))),
    ("threshold", "Withdrawal threshold (von Frey)", "g",
     (("withdrawal_threshold_interp_g", "threshold (interpolated)"), ("withdrawal_threshold_g", "filament"))),
    ("spinal", "Spinal cord (central sensitization)", "1",
     (("spinal_disinhibition", "disinhibition"), ("spinal_nmda_gain", "NMDA gain"), ("windup_ratio", "wind-up ratio"))),
)  # fmt: skip
"""The time-series charts: id, title, unit, and (column, label) pairs."""


def _series(ts, columns, dash=False) -> list[Series]:
    t = ts["time_min"].to_numpy() / 60.0
    return [Series(label, t, ts[col].to_numpy(dtype=float), PALETTE[i], dash, step=col == "withdrawal_threshold_g")
            for i, (col, label) in enumerate(columns) if col in ts]  # fmt: skip


@solara.component
def Plots(model, counts: solara.Reactive, reference: solara.Reactive, draw_ms: deque):
    """Pain signal, withdrawal threshold, cell counts and the spinal state over time, with intervention markers."""
    update_counter.get()
    t0 = time.perf_counter()
    with model.lock:
        ts = model.timeseries()
        markers = _markers(model)
        kinds = list(model.cell_types)
    ref = reference.value
    svgs = []
    for cid, title, unit, columns in CHARTS:  # over four charts
        series = _series(ts, columns)
        if ref is not None:
            series += _series(ref["table"], columns, dash=True)
        svgs.append(line_chart(series, title=title, y_label=unit, markers=markers, chart_id=cid))
    cseries = _count_series(ts, counts.value) + (_count_series(ref["table"], counts.value, True) if ref else [])
    svgs.insert(2, line_chart(cseries, title=f"Cells: {counts.value.replace('_', ' ')}", y_label="cells",
                              markers=markers, chart_id="counts"))  # fmt: skip
    draw_ms.append(1e3 * (time.perf_counter() - t0))
    with solara.Card("Readouts", margin=0, classes=["na-plots"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Cell counts of", value=counts.value, values=["all types", *kinds], on_value=counts.set)
            if ref is not None:
                solara.Text(f"dashed: reference run ({ref['label']})", style={"font-size": "12px"})
        with solara.GridFixed(columns=2, row_gap="4px", column_gap="8px"):
            for cid, svg in zip(("pain", "threshold", "counts", "spinal"), svgs, strict=True):  # four charts
                solara.HTML(tag="div", unsafe_innerHTML=svg, classes=[f"na-plot-{cid}"])


# --- inspector ------------------------------------------------------------------------------
def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, float) for x in v):
        return "(" + ", ".join(f"{x:.0f}" for x in v) + ")"
    return html.escape(str(v))


def _table(title: str, rows) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f'<div class="na-table"><b>{html.escape(title)}</b><table style="font-size:12px">{body}</table></div>'


def inspect_html(model, kind: str, cell_id: int) -> str:
    """One cell's record as HTML tables (state, events, pathways, local mediators; a neuron's pain state)."""
    rec = model.inspect(kind, cell_id)
    parts = [
        f'<div class="na-inspector" data-kind="{kind}" data-id="{cell_id}" data-state="{html.escape(rec["state"])}">'
        f"<h3>{kind.replace('_', ' ')} #{cell_id}: {html.escape(rec['state'])}</h3>",
    ]
    latest = f"{rec.get('latest_event')} at {format_time(rec.get('latest_event_at_min', 0.0))}"
    rows = [("position (µm)", rec.get("position_um")), ("age", format_time(rec.get("age_min", 0.0))),
            ("latest event", latest), *rec.get("columns", {}).items()]  # fmt: skip
    parts.append(_table("cell", rows))
    if rec.get("pathways"):
        parts.append(_table("pathway activity (0-1)", rec["pathways"].items()))
    local = sorted(rec.get("local_nM", {}).items(), key=lambda kv: -kv[1])
    parts.append(_table("mediators here (nM), highest first", [(k, v) for k, v in local[:8] if v > 0] or
                        [("(none)", "all zero")]))  # fmt: skip
    if rec.get("recent_events"):
        parts.append(_table("recent events", [(format_time(e[0]) if isinstance(e, (list, tuple)) else "", e)
                                               for e in rec["recent_events"][-5:]]))  # fmt: skip
    if kind == "neuron" and hasattr(model.pain, "inspect_neuron") and "row" in rec:
        pn = model.pain.inspect_neuron(model, rec["row"])
        flat = [(k, v) for k, v in pn.items() if not isinstance(v, dict) and k != "id"]
        flat += [(f"drive {k}", v) for k, v in pn.get("channel_drive", {}).items()]
        parts.append(_table("nociceptor (pain model)", flat))
    parts.append("</div>")
    return "".join(parts)


@solara.component
def Inspector(model, selected: solara.Reactive):
    """The selected cell, live; or a way to pick one (click the map, or a random cell of a type and state)."""
    update_counter.get()
    kind = solara.use_reactive("macrophage")
    state = solara.use_reactive("any")
    note = solara.use_reactive("")
    kinds = list(model.cell_types)
    kind_value = kind.value if kind.value in kinds else kinds[0]
    states = ["any", *model.cell_types[kind_value].states]

    def pick_random():
        with model.lock:
            ct = model.cell_types[kind_value]
            ids = host(ct.pop.ids)
            if state.value != "any" and state.value in ct.states:
                ids = ids[host(ct.pop["state"]) == ct.state_code(state.value)]
        if ids.size == 0:
            note.set(f"No {kind_value} {'' if state.value == 'any' else state.value + ' '}cell right now.")
            return
        note.set("")
        selected.set((id(model), kind_value, int(random.choice(ids.tolist()))))

    with solara.Card("Cell inspector", margin=0, classes=["na-inspector-card"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("type", value=kind_value, values=kinds, on_value=kind.set)
            solara.Select("state", value=state.value if state.value in states else "any", values=states,
                          on_value=state.set)  # fmt: skip
            solara.Button("Pick one", on_click=pick_random, outlined=True)
        if note.value:
            solara.Text(note.value)
        sel = selected.value
        if not sel or sel[0] != id(model):
            solara.Text("Click a cell on the map, or pick one, to follow it here.")
            return
        try:
            with model.lock:
                text = inspect_html(model, sel[1], sel[2])
        except (NeuroagentsError, KeyError, IndexError):
            solara.Text(f"{sel[1]} #{sel[2]} is gone (it died, left or was depleted).")
            return
        solara.HTML(tag="div", unsafe_innerHTML=text)


# --- interventions --------------------------------------------------------------------------
def run_try_action(model, kind: str, kwargs: dict):
    """Apply one action (``drug``, ``deplete`` or ``knockout``) to ``model`` under its lock."""
    with model.lock:
        if kind == "drug":
            return act.give_drug(model, **kwargs)
        if kind == "deplete":
            return act.deplete_now(model, **kwargs)
        return act.knock_out_now(model, **kwargs)


@solara.component
def ActionsPanel(model, message: solara.Reactive):
    """Give a drug now, deplete a cell type now, knock something out now; and the log of what was done."""
    from neuroagents.pharmacology import DRUGS

    drug = solara.use_reactive("tofacitinib")
    route = solara.use_reactive("oral")
    dose = solara.use_reactive(DEFAULT_DOSE_MG_PER_KG)
    repeat = solara.use_reactive(False)
    interval = solara.use_reactive(12.0)
    n_doses = solara.use_reactive(6)
    dep_kind = solara.use_reactive("macrophage")
    dep_state = solara.use_reactive("any")
    dep_fraction = solara.use_reactive(0.9)
    ko_what = solara.use_reactive("mediator")
    ko_name = solara.use_reactive("TNF")

    routes = list(DRUGS[drug.value].routes) if drug.value in DRUGS else ["oral"]
    route_value = route.value if route.value in routes else routes[0]
    kinds = list(model.cell_types)
    dep_kind_value = dep_kind.value if dep_kind.value in kinds else kinds[0]
    dep_states = ["any", *model.cell_types[dep_kind_value].states]
    ko_names = act.knockout_choices(model, ko_what.value)
    ko_value = ko_name.value if ko_name.value in ko_names else ko_names[0]

    def apply(kind, kwargs):
        try:
            a = run_try_action(model, kind, kwargs)
        except NeuroagentsError as exc:
            message.set(("error", one_line(exc)))
            return
        message.set(("ok", f"t = {format_time(a.time_min)}: {a.label} ({a.detail})"))
        force_update()

    def give():
        extra = {"interval_h": interval.value, "n_doses": n_doses.value} if repeat.value else {}
        apply("drug", {"drug": drug.value, "route": route_value, "dose_mg_per_kg": dose.value, **extra})

    with solara.Card("Interventions, now", margin=0, classes=["na-actions"]):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("drug", value=drug.value, values=sorted(DRUGS), on_value=drug.set)
            solara.Select("route", value=route_value, values=routes, on_value=route.set)
            solara.InputFloat("dose (mg/kg)", value=dose, continuous_update=True)
            solara.Checkbox(label="repeat", value=repeat)
            if repeat.value:
                solara.InputFloat("every (h)", value=interval, continuous_update=True)
                solara.InputInt("doses", value=n_doses, continuous_update=True)
            solara.Button("Give now", on_click=give, color="primary", classes=["na-give"])
        if drug.value in DRUGS:
            d = DRUGS[drug.value]
            solara.Text(f"{d.drug_class}; hits {', '.join(t.name for t in d.targets)}",
                        style={"font-size": "12px", "color": "#555"})  # fmt: skip
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("deplete", value=dep_kind_value, values=kinds, on_value=dep_kind.set)
            solara.Select("state", value=dep_state.value if dep_state.value in dep_states else "any",
                          values=dep_states, on_value=dep_state.set)  # fmt: skip
            solara.SliderFloat("fraction", value=dep_fraction, min=0.05, max=1.0, step=0.05)
            solara.Button("Deplete now", outlined=True, classes=["na-deplete"], on_click=lambda: apply(
                "deplete", {"cell_type": dep_kind_value, "fraction": dep_fraction.value,
                            "state": None if dep_state.value == "any" else dep_state.value}))  # fmt: skip
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("knock out a", value=ko_what.value, values=list(act.KNOCKOUT_KINDS), on_value=ko_what.set)
            solara.Select("name", value=ko_value, values=ko_names, on_value=ko_name.set)
            solara.Button("Knock out now", outlined=True, classes=["na-knockout"],
                          on_click=lambda: apply("knockout", {"what": ko_what.value, "name": ko_value}))  # fmt: skip
        ActionLog(model, message)


@solara.component
def ActionLog(model, message: solara.Reactive):
    """The last message and every action taken on this run."""
    update_counter.get()
    if message.value:
        kind, text = message.value
        (solara.Error if kind == "error" else solara.Success)(text, dense=True)
    with model.lock:
        log = list(model.actions)
    if log:
        rows = "".join(f"<li>{format_time(a.time_min)}: {html.escape(a.label)}, {html.escape(a.detail)}</li>"
                       for a in log)  # fmt: skip
        solara.HTML(tag="div", unsafe_innerHTML=f'<ul class="na-action-log" style="font-size:12px">{rows}</ul>')
