"""The run's controls and the header: Reset, play/pause, Step, run to day N, speed; time, pain now, frame rate.

The buttons drive the session's :class:`~viz.player.Player` (the play loop with back-pressure) rather than
stepping on a timer. The header shows what the browser achieves (frames per second, as the browser itself
measured them), the pain readouts now (taken at every frame, see :mod:`viz.trace`), and the server's own times
(a model step, a drawing) beside them.
"""

from __future__ import annotations

import html
import math
from collections import deque

import numpy as np
import solara

from neuroagents.errors import NeuroagentsError
from viz.frames import LiveHTML
from viz.inputs import NumberField
from viz.live import format_time

__all__ = ["RUN_TO_DAY", "SPEEDS", "Header", "RunControls", "header_html"]

SPEEDS = {"fast": 0.0, "medium": 0.2, "slow": 0.6}
"""Shortest time between two frames (s), by the speed menu's label ("fast": as fast as the browser draws)."""
RUN_TO_DAY = NumberField("run to day", 0.0, 3650.0)


def _num(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and math.isfinite(v) else "–"


def header_html(model, title: str, player, playing: bool, status: str, draw_ms: deque) -> str:
    """The header's HTML now: title, time, pain now, frame rates and the server's times (``data-*`` for tests)."""
    now = model.trace.last
    fps = player.browser_fps
    draw = float(np.mean(draw_ms)) if draw_ms else float("nan")
    evoked, thr = now.get("pain_evoked_hz"), now.get("withdrawal_threshold_interp_g")
    state = status or ("playing" if playing else "paused")
    tm = {k: 1e3 * v for k, v in player.timings.items()}
    return (
        f'<div class="na-header" data-time-min="{model.time_min:g}" data-fps="{_num(fps, ".2f")}" '
        f'data-pain-now="{_num(evoked, ".6g")}" data-seq="{player.seq}" '
        'style="display:flex;gap:6px 22px;align-items:baseline;flex-wrap:wrap">'
        f'<span style="font-size:20px;font-weight:bold">neuroagents · {html.escape(title)}</span>'
        f"<span class='na-time' style='font-size:19px'>t = {format_time(model.time_min)}"
        f" ({model.time_min / 1440:.2f} d)</span>"
        f"<span class='na-pain-now' style='font-size:19px'>pain now: <b>{_num(evoked, '.1f')}</b> spikes/s "
        f"evoked · threshold <b>{_num(thr, '.2f')}</b> g</span>"
        f"<span class='na-rates' style='font-size:14px;color:#444'><b>{_num(fps, '.1f')}</b> frames/s in the "
        f"browser · step {model.steps}, {_num(model.mean_step_ms, '.0f')} ms per step · "
        f"{_num(draw, '.0f')} ms to draw"
        f"<span class='na-frame-times' data-steps-ms='{_num(tm['steps'], '.1f')}' "
        f"data-publish-ms='{_num(tm['publish'], '.1f')}' data-browser-ms='{_num(tm['browser'], '.1f')}' "
        f"title='last frame: model steps, server redraw, waiting for the browser'> · frame "
        f"{_num(tm['steps'], '.0f')} + {_num(tm['publish'], '.0f')} + {_num(tm['browser'], '.0f')} ms</span>"
        f" · <span class='na-status'>{html.escape(state)}</span></span></div>"
    )


@solara.component
def Header(model, sinks, title: str, player, run_state: solara.Reactive, draw_ms: deque):
    """Title, simulated time, pain now, and the frame rate the browser achieves next to the server's times.

    ``run_state`` is ``(playing, why it stopped)``.
    """
    run_state.value  # noqa: B018 - redraw when it changes (frames are pushed, see viz.frames)

    def make(seq):
        return header_html(model, title, player, *run_state.value, draw_ms)

    LiveHTML(sinks, "header", make, player.seq)


@solara.component
def RunControls(model, player, run_state: solara.Reactive, message: solara.Reactive,
                on_reset, redraw, on_keep, on_clear, has_reference: bool):  # fmt: skip
    """Reset, ▶/❚❚, Step, run to day N, speed, steps per frame, and the reference run's buttons."""
    speed = solara.use_reactive(next(iter(SPEEDS)))
    spf = solara.use_reactive(player.steps_per_frame)
    day = solara.use_reactive("")
    player.steps_per_frame = int(spf.value)
    player.min_frame_s = SPEEDS[speed.value]

    playing = run_state.value[0]

    def play(until_min=None):
        run_state.set((True, ""))
        player.play(model, until_min=until_min)
        if not player.playing:  # it did not start, or it is already done
            run_state.set((False, player.stopped_because))

    def toggle():
        if player.playing:
            player.pause("paused")
        else:
            play()

    def step():
        if player.playing:
            return
        with model.lock:
            for _ in range(int(spf.value)):  # steps of one frame
                model.step()
        redraw()

    def run_to():
        try:
            target = RUN_TO_DAY.parse(day.value)
        except NeuroagentsError as exc:
            message.set(("error", " ".join(str(exc).split())))
            return
        if target * 1440.0 <= model.time_min + 1e-9:
            message.set(("error", f"run to day = {day.value!r}: must be after now ({model.time_min / 1440:.2f} d)"))
            return
        message.set(None)
        play(until_min=target * 1440.0)

    with solara.Row(gap="6px", style={"align-items": "center", "flex-wrap": "wrap"}, classes=["na-run"]):
        solara.Button("Reset", color="primary", on_click=on_reset, disabled=False)
        solara.Button("❚❚" if playing else "▶", color="primary", on_click=toggle, classes=["na-play"])
        solara.Button("Step", color="primary", on_click=step, disabled=playing)
        solara.InputText("run to day", value=day, continuous_update=True, style={"max-width": "90px"},
                         dense=True, classes=["na-input-day"])  # fmt: skip
        solara.Button("Go", on_click=run_to, outlined=True, disabled=playing, classes=["na-run-to"])
        solara.Select("speed", dense=True, value=speed.value, values=list(SPEEDS), on_value=speed.set,
                      style={"max-width": "110px"})  # fmt: skip
        with solara.Div(style={"width": "190px"}):
            solara.SliderInt(f"steps per frame: {spf.value}", value=spf, min=1, max=50)
        solara.Button("Keep as reference", on_click=on_keep, small=True, outlined=True, classes=["na-keep"])
        solara.Button("Clear reference", on_click=on_clear, text=True, small=True, disabled=not has_reference)
