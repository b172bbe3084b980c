"""The dashboard page: ``solara run viz.app`` (what ``neuroagents dashboard`` serves).

Each browser session gets its own model (built when the page opens, in :func:`Page`) and its own play loop
(:class:`~viz.player.Player`), so two people, or two tabs, never share a run. The play loop sends a frame only
when the browser has drawn the last one, and stops when the browser disconnects; a session with no browser is
closed by the server after ``SOLARA_KERNEL_CULL_TIMEOUT`` (set by ``neuroagents dashboard``).

Layout, top to bottom, wrapping on narrow screens: the header (time, pain now, frame rate); the scenario and
lesson pickers and the run controls; the map, the readouts and the lesson (which folds away); the interventions,
the cell inspector and the parameters.
"""

from __future__ import annotations

import sys
from collections import deque

import solara

from neuroagents.errors import NeuroagentsError
from viz.charts import MAX_POINTS, Plots
from viz.components import ActionsPanel, Inspector, one_line, run_try_action
from viz.controls import Setup, build, initial_setup, scenario_choices, scenario_values, spec_for
from viz.frames import FrameSinks
from viz.lessons import load_lessons
from viz.live import LiveModel, format_time
from viz.memory import release_later
from viz.player import Player
from viz.run_controls import Header, RunControls
from viz.tissue_view import TissueView

__all__ = ["Page", "session_connected"]

NO_LESSON = "(no lesson)"
CSS = """
.na-try, .na-lesson-show { max-width: 100%; height: auto !important; min-height: 36px; }
.na-try .v-btn__content, .na-lesson-show .v-btn__content { white-space: normal; flex: 1 1 auto; text-align: left; }
"""
"""Long lesson buttons wrap inside the lesson card instead of running out of it."""


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


def session_connected():
    """``(connected, on_close, session_id)`` for this browser session: whether a page of it is connected now, a
    way to be told when the server closes it, and its id. Outside a Solara server: always connected."""
    try:
        from solara.server.kernel_context import PageStatus, get_current_context

        ctx = get_current_context()
    except (ImportError, RuntimeError):
        return (lambda: True), (lambda f: None), "local"

    def connected() -> bool:
        return not ctx.closed_event.is_set() and PageStatus.CONNECTED in list(ctx.page_status.values())

    return connected, ctx.on_close, str(ctx.id)


@solara.component
def LessonCard(lesson, model, message: solara.Reactive, redraw):
    """A lesson's explanation, its suggested experiment, and buttons for its one-click actions; it folds away."""
    open_ = solara.use_reactive(True)

    def run(t):
        try:
            a = run_try_action(model, t.kind, t.kwargs)
        except NeuroagentsError as exc:
            message.set(("error", one_line(exc)))
            return
        message.set(("ok", f"t = {format_time(a.time_min)}: {a.label} ({a.detail})"))
        redraw()

    import markdown  # a Solara dependency; plain HTML, because solara.Markdown may fetch mermaid from a CDN

    if not open_.value:
        with solara.Div(style={"flex": "0 0 auto"}):
            solara.Button(f"Lesson: {lesson.title} ▸", on_click=lambda: open_.set(True), outlined=True,
                          classes=["na-lesson-show"], style={"white-space": "normal", "max-width": "220px",
                                                             "height": "auto", "padding": "6px"})  # fmt: skip
        return
    with solara.Card(f"Lesson: {lesson.title}", margin=0, classes=["na-lesson"],
                     style={"flex": "1 1 280px", "max-width": "400px", "font-size": "15px"}):  # fmt: skip
        solara.Button("hide the lesson ◂", on_click=lambda: open_.set(False), text=True, classes=["na-lesson-hide"])
        solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(lesson.summary))
        solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown("**Try this**\n\n" + lesson.experiment))
        with solara.Row(style={"flex-wrap": "wrap"}):
            for t in lesson.actions:  # over a few suggested actions
                solara.Button(t.label, on_click=lambda t=t: run(t), outlined=True, classes=["na-try"],
                              style={"white-space": "normal", "height": "auto", "padding": "4px 8px"})  # fmt: skip


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
        with solara.Div(classes=["na-param"]):
            solara.Text(label, style={"font-size": "14px"})
            slider("", value=v, min=p.low, max=p.high, step=p.step, on_value=set_value)
    with solara.Row():
        solara.Button("Apply (restarts the run)", on_click=on_apply, color="primary" if pending else None,
                      disabled=not pending, classes=["na-apply"])  # fmt: skip
        solara.Button("Scenario values", on_click=lambda: values.set(dict(defaults)), text=True,
                      disabled=not pending)  # fmt: skip
    if pending:
        solara.Text(f"{len(pending)} change(s) not applied yet", style={"font-size": "12px", "color": "#b71c1c"})


@solara.component
def Page():
    """The whole dashboard, one model and one play loop per browser session."""
    lessons = solara.use_memo(load_lessons, [])
    first = solara.use_memo(lambda: (initial_setup(),), [])[0]
    started = solara.use_memo(lambda: _start(first), [])
    setup = solara.use_reactive(first)
    model = solara.use_reactive(started[0])
    kwargs = solara.use_reactive(started[1] or {})
    values = solara.use_reactive(started[2] or {})
    defaults = solara.use_reactive(started[2] or {})
    error = solara.use_reactive(started[3])
    sinks = solara.use_memo(FrameSinks, [])
    run_state = solara.use_reactive((False, ""))  # (playing, why it stopped): one value, set at once
    mediator = solara.use_reactive(default_mediator(started[1]))
    compartment = solara.use_reactive("")
    counts = solara.use_reactive("macrophage")
    total = solara.use_reactive(False)
    scale = solara.use_reactive("fixed")
    scale_text = solara.use_reactive("")
    selected = solara.use_reactive(None)
    reference = solara.use_reactive(None)
    message = solara.use_reactive(None)
    draw_ms = solara.use_memo(lambda: deque(maxlen=20), [])

    def make_player():
        connected, on_close, sid = session_connected()

        def publish(seq):
            m = model.value
            if m is not None:
                with m.lock:
                    m.trace.take(m)
            show(seq)

        def stopped(reason):
            run_state.set((False, "" if reason == "paused" else reason))
            if reason.startswith(("the browser", "error", "the session")):
                print(f"neuroagents dashboard: session {sid}: play stopped: {reason}", file=sys.stderr, flush=True)

        p = Player(on_frame=publish, on_stop=stopped, connected=connected)

        def closed():
            p.pause("the session closed")
            release_later()  # once the session's objects are gone, give their memory back (viz.memory)

        on_close(closed)
        return p

    def show(seq):
        """Push frame ``seq`` to what shows it (header, map, charts, inspector), without a page re-render."""
        sinks.push(seq)

    player = solara.use_memo(make_player, [])

    def redraw():
        m = model.value
        with m.lock:
            m.trace.take(m)
        show(player.next_frame())

    def set_model(m):
        player.pause("a new run")
        player.join(30.0)
        model.set(m)
        selected.set(None)
        redraw()
        release_later()  # the old run's memory (viz.memory)

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
        if (new.scenario, new.lesson) != (setup.value.scenario, setup.value.lesson) and reference.value is not None:
            reference.set(None)  # a reference from another scenario would mislead
            message.set(("ok", "reference cleared: the scenario changed"))
        else:
            message.set(None)
        setup.set(new)
        kwargs.set(kw)
        values.set(vals)
        if new_values is None:
            defaults.set(dict(vals))
        set_model(m)
        error.set(None)

    def choose_scenario(name):
        restart(Setup(name))

    def choose_lesson(title):
        by_title = {ls.title: ls for ls in lessons.values()}
        if title in by_title:
            ls = by_title[title]
            restart(Setup(ls.scenario, ls.overrides, ls.name))

    def reset():
        try:
            set_model(LiveModel(**kwargs.value))
        except NeuroagentsError as exc:
            error.set(one_line(exc))

    def keep_reference():
        m = model.value
        with m.lock:
            arrays = m.trace.arrays(MAX_POINTS)
        reference.set({"arrays": arrays, "label": f"{setup.value.scenario}, to {format_time(m.time_min)}"})

    lesson = lessons.get(setup.value.lesson) if setup.value.lesson else None
    m = model.value
    solara.Title("neuroagents dashboard")
    solara.Style(CSS)
    with solara.Column(style={"padding": "8px", "gap": "8px"}, classes=["na-page"]):
        if m is not None:
            title = setup.value.scenario + (f" · lesson: {setup.value.lesson.replace('_', ' ')}" if lesson else "")
            Header(m, sinks, title, player, run_state, draw_ms)
        with solara.Row(gap="6px 12px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("scenario", dense=True, value=setup.value.scenario,
                          values=scenario_choices(setup.value.scenario), on_value=choose_scenario,
                          style={"max-width": "200px"})  # fmt: skip
            titles = [NO_LESSON, *(ls.title for ls in lessons.values())]
            solara.Select("lesson", dense=True, value=lesson.title if lesson else NO_LESSON, values=titles,
                          on_value=choose_lesson, style={"max-width": "300px"})  # fmt: skip
            if m is not None:
                RunControls(m, player, run_state, message, reset, redraw, keep_reference,
                            lambda: reference.set(None), reference.value is not None)  # fmt: skip
        with solara.Div():  # always there, so that what follows keeps its place (and its state) in the page
            if error.value:
                solara.Error(error.value, classes=["na-error"])
            if m is None:
                solara.Error("No model: fix the scenario (see the message above) or pick another.")
            elif message.value and message.value[0] == "error":
                solara.Error(message.value[1], dense=True, classes=["na-message-error"])
        if m is None:
            return
        vs_name = compartment.value
        with solara.Row(gap="8px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
            TissueView(m, sinks, mediator, compartment, selected, scale, scale_text, player, draw_ms)
            names = list(getattr(m, "compartments", {}) or {})
            on_screen = vs_name if vs_name in names else (names[0] if names else None)
            Plots(m, sinks, player, on_screen, counts, total, reference, draw_ms)
            if lesson is not None:
                LessonCard(lesson, m, message, redraw)
        with solara.Row(gap="8px", style={"align-items": "flex-start", "flex-wrap": "wrap"}):
            ActionsPanel(m, message, redraw, on_screen)
            Inspector(m, sinks, selected)
            with solara.Card("Parameters", margin=0, classes=["na-params"], style={"flex": "1 1 320px"}):
                ParamControls(values, defaults.value, lambda: restart(setup.value, dict(values.value)))
