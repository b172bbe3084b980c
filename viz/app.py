"""The dashboard page: ``solara run viz.app`` (what ``neuroagents dashboard`` serves).

Each browser session gets its own model (built when the page opens, in
:func:`Page`), so two people, or two tabs, never share a run. The page:

* left: scenario and lesson pickers; run controls (Mesa's Reset, play/pause,
  Step; delay between frames; steps per frame); the key parameters
  (applied by rebuilding the model); a reference run to compare with;
* right: the lesson's text and one-click experiments; the tissue (a mediator
  field and the cells, click to inspect); the live readouts (pain signal,
  withdrawal threshold, cell counts, spinal state) with markers for every
  intervention; interventions applied now; the cell inspector.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import solara

from neuroagents.errors import NeuroagentsError
from viz.components import ActionsPanel, Inspector, Plots, TissueView, one_line, run_try_action
from viz.controls import Setup, build, initial_setup, scenario_choices, scenario_values, spec_for
from viz.lessons import load_lessons
from viz.live import format_time
from viz.mesa_parts import ModelController, force_update, update_counter

__all__ = ["Page"]

NO_LESSON = "(no lesson)"
SPEEDS = {"as fast as possible": 1, "fast": 50, "medium": 200, "slow": 600}
"""Delay between frames (ms), Mesa's play interval."""


def default_mediator(kwargs: dict | None) -> str:
    """The field worth seeing first: histamine under a mast-cell trigger, CCL2 after nerve injury, else TNF."""
    kwargs = kwargs or {}
    if (kwargs.get("mast_cell_stimulus") or 0) > 0:
        return "histamine"
    return "CCL2" if (kwargs.get("injured_fraction") or 0) > 0 else "TNF"


def _start(setup: Setup, values: dict | None = None):
    """Build the model for a setup: ``(model, kwargs, scenario values, error)``; on error, all but the error None."""
    try:
        model, kwargs, scenario = build(setup, values)
    except NeuroagentsError as exc:
        return None, None, None, one_line(exc)
    return model, kwargs, scenario_values(scenario) | (values or {}), None


@solara.component
def Header(model, setup: Setup, draw_ms: deque):
    """Title line: scenario, lesson, simulated time, and how long a step and a draw take."""
    update_counter.get()
    step_ms = model.mean_step_ms
    draw = float(np.mean(draw_ms)) if draw_ms else float("nan")
    lesson = f" · lesson: {setup.lesson.replace('_', ' ')}" if setup.lesson else ""
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="na-header" data-time-min="{model.time_min:g}" style="display:flex;gap:24px;'
            f'align-items:baseline;flex-wrap:wrap"><span style="font-size:20px;font-weight:bold">neuroagents · '
            f"{setup.scenario}{lesson}</span><span class='na-time' style='font-size:18px'>t = "
            f"{format_time(model.time_min)}</span><span style='font-size:12px;color:#555'>step {model.steps} · "
            f"{step_ms:.0f} ms per step · {draw:.0f} ms to draw</span></div>"
        ),
    )


@solara.component
def LessonCard(lesson, model, message: solara.Reactive):
    """A lesson's explanation, its suggested experiment, and buttons for its one-click actions."""

    def run(t):
        try:
            a = run_try_action(model, t.kind, t.kwargs)
        except NeuroagentsError as exc:
            message.set(("error", one_line(exc)))
            return
        message.set(("ok", f"t = {format_time(a.time_min)}: {a.label} ({a.detail})"))
        force_update()

    import markdown  # a Solara dependency; plain HTML, because solara.Markdown may fetch mermaid from a CDN

    with solara.Card(f"Lesson: {lesson.title}", margin=0, classes=["na-lesson"]):
        with solara.Columns([6, 6]):
            solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(lesson.summary))
            with solara.Column():
                solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown("**Try this**\n\n" + lesson.experiment))
                with solara.Row(style={"flex-wrap": "wrap"}):
                    for t in lesson.actions:  # over a few suggested actions
                        solara.Button(t.label, on_click=lambda t=t: run(t), outlined=True, classes=["na-try"])


@solara.component
def ParamControls(values: solara.Reactive, defaults: dict, on_apply):
    """The key parameters; Apply rebuilds the model with them (a fresh run)."""
    pending = {k: v for k, v in values.value.items() if defaults.get(k) != v}
    for key in values.value:  # over a dozen or two controls
        p = spec_for(key)
        if p is None:
            continue

        def set_value(v, key=p.key):
            values.set({**values.value, key: v})

        slider = solara.SliderInt if p.integer else solara.SliderFloat
        v = values.value[p.key]
        label = f"{p.label}: {v:g}" + (f" ({p.help})" if p.help else "")
        slider(label, value=v, min=p.low, max=p.high, step=p.step, on_value=set_value)
    with solara.Row():
        solara.Button("Apply (restarts the run)", on_click=on_apply, color="primary" if pending else None,
                      disabled=not pending, classes=["na-apply"])  # fmt: skip
        solara.Button("Scenario values", on_click=lambda: values.set(dict(defaults)), text=True,
                      disabled=not pending)  # fmt: skip
    if pending:
        solara.Text(f"{len(pending)} change(s) not applied yet", style={"font-size": "12px", "color": "#b71c1c"})


@solara.component
def Page():
    """The whole dashboard, one model per browser session."""
    lessons = solara.use_memo(load_lessons, [])
    first = solara.use_memo(lambda: (initial_setup(),), [])[0]
    started = solara.use_memo(lambda: _start(first), [])
    setup = solara.use_reactive(first)
    model = solara.use_reactive(started[0])
    kwargs = solara.use_reactive(started[1] or {})
    values = solara.use_reactive(started[2] or {})
    defaults = solara.use_reactive(started[2] or {})
    error = solara.use_reactive(started[3])
    speed = solara.use_reactive("fast")
    play_interval = solara.use_reactive(SPEEDS["fast"])
    render_interval = solara.use_reactive(5)
    use_threads = solara.use_reactive(False)  # Mesa's option to draw in a second thread: off (drawing is cheap)
    mediator = solara.use_reactive(default_mediator(started[1]))
    compartment = solara.use_reactive("")
    counts = solara.use_reactive("macrophage")
    selected = solara.use_reactive(None)
    reference = solara.use_reactive(None)
    message = solara.use_reactive(None)
    draw_ms = solara.use_memo(lambda: deque(maxlen=20), [])

    def restart(new: Setup, new_values: dict | None = None):
        m, kw, vals, err = _start(new, new_values)
        if err is not None:
            error.set(err)
            return
        lesson = lessons.get(new.lesson) if new.lesson else None
        mediator.set(lesson.mediator if lesson is not None else default_mediator(kw))
        if lesson is not None:
            counts.set(lesson.counts)
        compartment.set(lesson.compartment if lesson is not None else "")
        setup.set(new)
        kwargs.set(kw)
        values.set(vals)
        if new_values is None:
            defaults.set(dict(vals))
        model.set(m)
        error.set(None)
        message.set(None)

    def choose_scenario(name):
        restart(Setup(name))

    def choose_lesson(title):
        by_title = {ls.title: ls for ls in lessons.values()}
        if title in by_title:
            ls = by_title[title]
            restart(Setup(ls.scenario, ls.overrides, ls.name))

    def keep_reference():
        with model.value.lock:
            table = model.value.timeseries()
        reference.set({"table": table, "label": f"{setup.value.scenario}, to {format_time(model.value.time_min)}"})

    def set_speed(label):
        speed.set(label)
        play_interval.set(SPEEDS[label])

    lesson = lessons.get(setup.value.lesson) if setup.value.lesson else None
    solara.Title("neuroagents dashboard")
    with solara.Columns([3, 9], style={"padding": "8px"}):
        with solara.Column():
            with solara.Card("Scenario", margin=0):
                solara.Select("scenario", value=setup.value.scenario, values=scenario_choices(setup.value.scenario),
                              on_value=choose_scenario)  # fmt: skip
                titles = [NO_LESSON, *(ls.title for ls in lessons.values())]
                solara.Select("lesson", value=lesson.title if lesson else NO_LESSON, values=titles,
                              on_value=choose_lesson)  # fmt: skip
                if error.value:
                    solara.Error(error.value, classes=["na-error"])
            if model.value is not None:
                with solara.Card("Run", margin=0, classes=["na-run"]):
                    ModelController(model, model_parameters=kwargs, play_interval=play_interval,
                                    render_interval=render_interval, use_threads=use_threads)  # fmt: skip
                    solara.Select("speed", value=speed.value, values=list(SPEEDS), on_value=set_speed)
                    solara.SliderInt("steps per frame (Step does this many)", value=render_interval, min=1, max=50)
                    with solara.Row():
                        solara.Button("Keep as reference", on_click=keep_reference, outlined=True,
                                      classes=["na-keep"])  # fmt: skip
                        solara.Button("Clear reference", on_click=lambda: reference.set(None), text=True,
                                      disabled=reference.value is None)  # fmt: skip
                with solara.Card("Parameters", margin=0, classes=["na-params"]):
                    ParamControls(values, defaults.value, lambda: restart(setup.value, dict(values.value)))
        with solara.Column():
            if model.value is None:
                solara.Error("No model: fix the scenario (see the message on the left) or pick another.")
                return
            Header(model.value, setup.value, draw_ms)
            if lesson is not None:
                LessonCard(lesson, model.value, message)
            with solara.Columns([5, 7]):
                TissueView(model.value, mediator, compartment, selected, draw_ms)
                Plots(model.value, counts, reference, draw_ms)
            with solara.Columns([6, 6]):
                ActionsPanel(model.value, message)
                Inspector(model.value, selected)
