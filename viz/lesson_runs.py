"""The lessons' experiments without a browser, through the dashboard's own code: the numbers the docs quote.

An :class:`Arm` is one run a lesson asks for: open the lesson (as the page's lesson menu does, :func:`open_lesson`),
click some of its one-click actions at given days (:func:`~viz.components.run_try_action`, what the buttons call),
and "run to day N" with the page's play loop (:class:`~viz.player.Player`, taking the live readouts at every frame as
the page does). :func:`measure` reads what the page shows at that time: the pain readouts and the counts of the
compartment on the map. Arms of one lesson that are untreated up to a day share that stretch (the model is copied
there, which resumes bit for bit), so a lesson's arms cost little more than its longest one.

``python -m viz.lesson_runs`` prints every arm's figures as the table ``docs/dashboard.md`` quotes (and
``tests/test_dashboard_numbers.py`` checks, by running them again: about a minute of CPU).

Examples
--------
>>> arm = Arm("cytokine_gradient", "mast cells gone", 0.01, (("Deplete all mast cells", 0.0),))
>>> m = run_arm(arm, overrides=("tissue.width_um=300", "tissue.height_um=300"))
>>> m.time_min, m.cell_types["mast_cell"].n, [a.label for a in m.actions]
(15.0, 0, ['deplete 100% mast_cell'])
"""

from __future__ import annotations

import io
import pickle
import threading
from dataclasses import dataclass

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.state_pickle import CheckpointPickler
from viz.components import run_try_action
from viz.controls import Setup, build
from viz.lessons import Lesson, load_lessons
from viz.live import views
from viz.player import Player

__all__ = ["ARMS", "Arm", "copy_model", "lesson_table", "measure", "open_lesson", "run_arm", "run_arms", "run_to"]

DAY_MIN = 1440.0


@dataclass(frozen=True)
class Arm:
    """One run of a lesson: its one-click actions (by label) at given days, then "run to day" ``day``.

    Attributes
    ----------
    lesson : str
        The lesson's name (its file name without the number), e.g. ``"jak_vs_anti_tnf"``.
    name : str
        What the arm is, for people.
    day : float
        Run to this day, d.
    actions : tuple of (str, float)
        ``(label of a lesson action, day it is clicked)``, in time order.
    """

    lesson: str
    name: str
    day: float
    actions: tuple[tuple[str, float], ...] = ()


ARMS = (
    Arm("macrophages_mir21", "SNI, at the start", 0.0),
    Arm("macrophages_mir21", "SNI", 3.0),
    Arm("macrophages_mir21", "miR-21 knocked out at t = 0", 3.0, (("Knock out miR-21", 0.0),)),
    Arm("macrophages_mir21", "antagomir-21 intrathecal daily from t = 0", 3.0,
        (("Antagomir-21 2 mg/kg intrathecal, daily (3 doses)", 0.0),)),
    Arm("macrophages_mir21", "macrophages 90 % depleted at day 1", 3.0,
        (("Deplete macrophages (90%, clodronate-like)", 1.0),)),
    Arm("central_sensitization", "SNI", 3.0),
    Arm("central_sensitization", "BDNF knocked out", 3.0, (("Knock out BDNF", 0.0),)),
    Arm("central_sensitization", "IL-1β knocked out", 3.0, (("Knock out IL-1β", 0.0),)),
    Arm("central_sensitization", "minocycline from t = 0", 3.0,
        (("Minocycline 50 mg/kg oral every 12 h (6 doses)", 0.0),)),
    Arm("jak_vs_anti_tnf", "arthritis, at the start", 0.0),
    Arm("jak_vs_anti_tnf", "arthritis, untreated", 10.0),
    Arm("jak_vs_anti_tnf", "tofacitinib from day 3", 10.0, (("Tofacitinib 15 mg/kg oral every 12 h (7 days)", 3.0),)),
    Arm("jak_vs_anti_tnf", "adalimumab at day 3", 10.0, (("Adalimumab 10 mg/kg s.c.", 3.0),)),
)  # fmt: skip
"""The runs ``docs/dashboard.md`` quotes: each lesson's experiment, seed 1, at the lesson's size."""


def open_lesson(lesson: Lesson | str, overrides: tuple[str, ...] = ()):
    """The lesson's model as the page builds it when the lesson is picked (``overrides`` added after its own)."""
    ls = load_lessons()[lesson] if isinstance(lesson, str) else lesson
    model, _, _ = build(Setup(ls.scenario, (*ls.overrides, *overrides), ls.name))
    return model


def _action(lesson: Lesson, label: str):
    for t in lesson.actions:  # over a few one-click actions
        if t.label == label:
            return t
    raise ConfigError("action", label, f"one of the lesson's {[t.label for t in lesson.actions]}", lesson.name)


def run_to(model, day: float) -> None:
    """"Run to day" ``day``: the page's play loop, frames taken as the page takes them, no browser to wait for."""

    def publish(seq):
        with model.lock:
            model.trace.take(model)

    p = Player(on_frame=publish, wait_for_browser=False)
    p.play(model, until_min=day * DAY_MIN)
    p.join()
    if p.stopped_because.startswith("error"):
        raise RuntimeError(p.stopped_because)


class _Copier(CheckpointPickler):
    """The checkpoint pickler without its list of classes (a copy in this process is never loaded from a file)."""

    def reducer_override(self, obj):
        if isinstance(obj, type):
            return NotImplemented
        return super().reducer_override(obj)


def copy_model(model):
    """An independent copy of a running model (its random state too, so both go on alike)."""
    buf = io.BytesIO()
    _Copier(buf, protocol=5).dump(model)
    out = pickle.loads(buf.getvalue())
    out.lock = threading.RLock()
    return out


def measure(model, compartment: str | None) -> dict[str, float]:
    """What the page shows now: the pain readouts, cells of each type and state in ``compartment`` (the one on the
    map; None: all compartments), and the mean of each mediator there (nM, key ``mean_<mediator>_nM``)."""
    with model.lock:
        row = dict(model.pain.readouts(model))
        for cname, comp in model.compartments.items():  # over a few compartments
            if compartment is not None and cname != compartment:
                continue
            for kind, ct in comp.cell_types.items():  # over cell types
                for state, n in ct.census().items():  # over a few states
                    row[f"n_{kind}_{state}"] = row.get(f"n_{kind}_{state}", 0) + n
        view = views(model)[compartment] if compartment else next(iter(views(model).values()))
        for name in view.env.names:  # over a dozen mediators
            row[f"mean_{name}_nM"] = float(np.mean(view.env.field(name)))
        row["time_min"] = float(model.time_min)
    return row


def run_arm(arm: Arm, overrides: tuple[str, ...] = (), start=None):
    """Run one arm from the lesson's start (or from ``start``, a model of this lesson untreated so far)."""
    lesson = load_lessons()[arm.lesson]
    model = open_lesson(lesson, overrides) if start is None else start
    for label, day in arm.actions:  # over the arm's clicks, in time order
        if day * DAY_MIN > model.time_min + 1e-9:
            run_to(model, day)
        run_try_action(model, (t := _action(lesson, label)).kind, t.kwargs)
    run_to(model, arm.day)
    return model


def run_arms(arms=ARMS, overrides: tuple[str, ...] = ()) -> dict[Arm, dict[str, float]]:
    """Every arm's :func:`measure` in its lesson's compartment.

    Arms of one lesson share their untreated stretch (up to their first click), copied with :func:`copy_model`.
    """
    out = {}
    lessons = load_lessons()
    by_lesson: dict[str, list[Arm]] = {}
    for arm in arms:  # over a few arms
        by_lesson.setdefault(arm.lesson, []).append(arm)
    for name, group in by_lesson.items():  # over lessons
        comp = lessons[name].compartment or None
        trunk = open_lesson(name, overrides)
        for arm in sorted(group, key=lambda a: a.actions[0][1] if a.actions else a.day):  # earliest branch first
            first = arm.actions[0][1] if arm.actions else arm.day
            if first * DAY_MIN > trunk.time_min + 1e-9:
                run_to(trunk, first)
            model = run_arm(arm, overrides, start=copy_model(trunk))
            out[arm] = measure(model, comp)
    return {arm: out[arm] for arm in arms}


def _f(row: dict, key: str, fmt: str) -> str:
    v = row.get(key)
    return "–" if v is None else format(v, fmt)


def lesson_table(results: dict[Arm, dict[str, float]]) -> str:
    """The figures of every arm as the Markdown table ``docs/dashboard.md`` quotes (one row per arm)."""
    comps = {n: ls.compartment for n, ls in load_lessons().items()}
    lines = ["| lesson | run (seed 1) | day | threshold (g) | evoked pain (spikes/s) | heat latency (s) | "
             "M1 macrophages | reactive microglia | PGE2 (nM, mean) | where |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for arm, row in results.items():  # over the arms
        lines.append(f"| {arm.lesson} | {arm.name} | {arm.day:g} | {_f(row, 'withdrawal_threshold_interp_g', '.2f')} "
                     f"| {_f(row, 'pain_evoked_hz', '.1f')} | {_f(row, 'heat_latency_s', '.1f')} "
                     f"| {_f(row, 'n_macrophage_M1', '.0f')} | {_f(row, 'n_microglia_reactive', '.0f')} "
                     f"| {_f(row, 'mean_PGE2_nM', '.0f')} | {comps[arm.lesson]} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:  # pragma: no cover - prints the table for the docs
    print(lesson_table(run_arms()))


if __name__ == "__main__":  # pragma: no cover
    main()
