"""The dashboard's panels for acting on the model and looking into it: interventions now, the cell inspector.

The inspector's table is pushed each frame directly (:mod:`viz.frames`); everything here reads the model under
its lock (the play loop steps in a thread). Every number typed here is parsed by
:mod:`viz.inputs`: a bad value is a one-line message naming the field, and nothing is applied.
"""

from __future__ import annotations

import html
import random

import solara

from neuroagents.errors import NeuroagentsError
from viz import actions as act
from viz.frames import LiveHTML
from viz.inputs import NumberField
from viz.live import format_time, host

__all__ = ["DOSE", "DOSES", "INTERVAL", "ActionLog", "ActionsPanel", "Inspector", "one_line", "run_try_action"]

DEFAULT_DOSE_MG_PER_KG = 10.0
"""Dose offered first (assumption: a common rodent dose; set your protocol's)."""
DOSE = NumberField("dose (mg/kg)", 0.0, 1000.0, low_open=True)
INTERVAL = NumberField("every (h)", 0.0, 720.0, low_open=True)
DOSES = NumberField("doses", 1, 1000, integer=True)
"""The intervention panel's numeric fields: ranges beyond which a value is a typo (1 g/kg; a month; 1000 doses)."""


def one_line(exc: BaseException) -> str:
    """An error as one line of text."""
    return " ".join(str(exc).split())


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


def _inspected(model, sel) -> str:
    try:
        with model.lock:
            return inspect_html(model, sel[1], sel[2])
    except (NeuroagentsError, KeyError, IndexError):
        return f'<div class="na-gone">{sel[1]} #{sel[2]} is gone (it died, left or was depleted).</div>'


@solara.component
def Inspector(model, sinks, selected: solara.Reactive):
    """The selected cell, live; or a way to pick one (click the map, or a random cell of a type and state)."""
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

    with solara.Card("Cell inspector", margin=0, classes=["na-inspector-card"], style={"flex": "1 1 380px"}):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("type", dense=True, value=kind_value, values=kinds, on_value=kind.set)
            solara.Select("state", dense=True, value=state.value if state.value in states else "any", values=states,
                          on_value=state.set)  # fmt: skip
            solara.Button("Pick one", on_click=pick_random, outlined=True)
        if note.value:
            solara.Text(note.value)
        sel = selected.value
        if not sel or sel[0] != id(model):
            solara.Text("Click a cell on the map, or pick one, to follow it here.")
            return
        LiveHTML(sinks, "inspector", lambda seq: _inspected(model, sel), 0)


# --- interventions --------------------------------------------------------------------------
def run_try_action(model, kind: str, kwargs: dict):
    """Apply one action (``drug``, ``deplete`` or ``knockout``) to ``model`` under its lock."""
    with model.lock:
        if kind == "drug":
            return act.give_drug(model, **kwargs)
        if kind == "deplete":
            return act.deplete_now(model, **kwargs)
        return act.knock_out_now(model, **kwargs)


ALL_COMPARTMENTS = "all compartments"
"""The 'where' menu's choice for a depletion or knockout that acts on every compartment (model-wide)."""


@solara.component
def ActionsPanel(model, message: solara.Reactive, redraw, on_screen: str | None = None):
    """Give a drug now, deplete a cell type now, knock something out now; and the log of what was done.

    ``redraw()`` draws a new frame (markers, counts) after an action. With several compartments, a depletion or a
    knockout acts where the *where* menu says: the compartment on the map (``on_screen``, the default), another, or
    all of them.
    """
    from neuroagents.pharmacology import DRUGS

    drug = solara.use_reactive("tofacitinib")
    route = solara.use_reactive("oral")
    dose = solara.use_reactive(f"{DEFAULT_DOSE_MG_PER_KG:g}")
    repeat = solara.use_reactive(False)
    interval = solara.use_reactive("12")
    n_doses = solara.use_reactive("6")
    dep_kind = solara.use_reactive("macrophage")
    dep_state = solara.use_reactive("any")
    dep_fraction = solara.use_reactive(0.9)
    ko_what = solara.use_reactive("mediator")
    ko_name = solara.use_reactive("TNF")
    where = solara.use_reactive("")  # "" until chosen: the compartment on the map

    routes = list(DRUGS[drug.value].routes) if drug.value in DRUGS else ["oral"]
    route_value = route.value if route.value in routes else routes[0]
    kinds = list(model.cell_types)
    dep_kind_value = dep_kind.value if dep_kind.value in kinds else kinds[0]
    dep_states = ["any", *model.cell_types[dep_kind_value].states]
    ko_names = act.knockout_choices(model, ko_what.value)
    ko_value = ko_name.value if ko_name.value in ko_names else ko_names[0]
    comps = list(getattr(model, "compartments", {}) or {})
    several = len(comps) > 1
    places = [*comps, ALL_COMPARTMENTS]
    place = where.value if where.value in places else (on_screen if on_screen in comps else ALL_COMPARTMENTS)
    scope = None if not several or place == ALL_COMPARTMENTS else place

    def apply(kind, kwargs):
        try:
            a = run_try_action(model, kind, kwargs)
        except NeuroagentsError as exc:
            message.set(("error", one_line(exc)))
            return
        message.set(("ok", f"t = {format_time(a.time_min)}: {a.label} ({a.detail})"))
        redraw()

    def give():
        try:
            kwargs = {"drug": drug.value, "route": route_value, "dose_mg_per_kg": DOSE.parse(dose.value)}
            if repeat.value:
                kwargs |= {"interval_h": INTERVAL.parse(interval.value), "n_doses": DOSES.parse(n_doses.value)}
        except NeuroagentsError as exc:
            message.set(("error", one_line(exc)))
            return
        apply("drug", kwargs)

    def field(spec, value):
        try:
            spec.parse(value.value)
            error = False
        except NeuroagentsError:
            error = f"must be {spec.hint}"
        solara.InputText(spec.key, value=value, continuous_update=True, error=error, style={"max-width": "140px"},
                         classes=[f"na-input-{spec.key.split()[0]}"])  # fmt: skip

    with solara.Card("Interventions, now", margin=0, classes=["na-actions"], style={"flex": "1 1 380px"}):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("drug", dense=True, value=drug.value, values=sorted(DRUGS), on_value=drug.set)
            solara.Select("route", dense=True, value=route_value, values=routes, on_value=route.set)
            field(DOSE, dose)
            solara.Checkbox(label="repeat", value=repeat)
            if repeat.value:
                field(INTERVAL, interval)
                field(DOSES, n_doses)
            solara.Button("Give now", on_click=give, color="primary", classes=["na-give"])
        if drug.value in DRUGS:
            d = DRUGS[drug.value]
            solara.Text(f"{d.drug_class}; hits {', '.join(t.name for t in d.targets)}",
                        style={"font-size": "12px", "color": "#555"})  # fmt: skip
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("deplete", dense=True, value=dep_kind_value, values=kinds, on_value=dep_kind.set)
            solara.Select("state", dense=True, value=dep_state.value if dep_state.value in dep_states else "any",
                          values=dep_states, on_value=dep_state.set)  # fmt: skip
            solara.SliderFloat("fraction", value=dep_fraction, min=0.05, max=1.0, step=0.05)
            solara.Button("Deplete now", outlined=True, classes=["na-deplete"], on_click=lambda: apply(
                "deplete", {"cell_type": dep_kind_value, "fraction": dep_fraction.value, "compartment": scope,
                            "state": None if dep_state.value == "any" else dep_state.value}))  # fmt: skip
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("knock out a", dense=True, value=ko_what.value, values=list(act.KNOCKOUT_KINDS),
                          on_value=ko_what.set)  # fmt: skip
            solara.Select("name", dense=True, value=ko_value, values=ko_names, on_value=ko_name.set)
            solara.Button("Knock out now", outlined=True, classes=["na-knockout"], on_click=lambda: apply(
                "knockout", {"what": ko_what.value, "name": ko_value, "compartment": scope}))  # fmt: skip
        if several:
            with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
                solara.Select("where (deplete, knock out)", dense=True, value=place, values=places,
                              on_value=where.set, style={"max-width": "230px"})  # fmt: skip
                said = ("acts on every compartment (model-wide)" if scope is None else
                        f"acts on {scope} only" + (" (the compartment on the map)" if scope == on_screen else ""))
                solara.Text(said, style={"font-size": "13px"}, classes=["na-where"])
        ActionLog(model, message)


@solara.component
def ActionLog(model, message: solara.Reactive):
    """The last message and every action taken on this run."""
    if message.value and message.value[0] == "ok":  # errors are shown at the top of the page
        solara.Success(message.value[1], dense=True, classes=["na-message-ok"])
    with model.lock:
        log = list(model.actions)
    if log:
        rows = "".join(f"<li>{format_time(a.time_min)}: {html.escape(a.label)}, {html.escape(a.detail)}</li>"
                       for a in log)  # fmt: skip
        solara.HTML(tag="div", unsafe_innerHTML=f'<ul class="na-action-log" style="font-size:12px">{rows}</ul>')
