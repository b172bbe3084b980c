"""The model as the dashboard runs it: the real :class:`~neuroagents.model.NeuroImmuneModel`, plus a lock.

:class:`LiveModel` adds only what a live page needs around the model's own
step: a lock (the play loop steps in a thread while a click gives a drug or
the page draws; both wait for a step to end), a log of the actions taken
mid-run (markers on the plots), and the wall time of recent steps. It is
rebuilt from keyword arguments alone, as Mesa's controls rebuild a model on
Reset.

:func:`views` is the seam for tissue compartments: one :class:`View` per
compartment (grid, fields, cells), or one for the whole tissue while
``model.compartments`` is not a mapping.

Examples
--------
>>> m = LiveModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=4, n_neurons=2)
>>> m.step()
>>> m.steps, m.time_min, len(m.step_seconds)
(1, 1.0, 1)
>>> list(views(m))
['tissue']
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neuroagents.model import NeuroImmuneModel

__all__ = ["LiveModel", "View", "format_time", "host", "scenario_events", "views"]


class LiveModel(NeuroImmuneModel):
    """A :class:`~neuroagents.model.NeuroImmuneModel` with a lock, an action log and step timing.

    Parameters
    ----------
    **kwargs
        The model's keyword arguments (see :class:`~neuroagents.model.NeuroImmuneModel`).

    Attributes
    ----------
    lock : threading.RLock
        Held during :meth:`step`; hold it to change or read the model from another thread.
    actions : list of viz.actions.Action
        Mid-run actions, in order.
    step_seconds : collections.deque of float
        Wall time of the last 50 steps, s.
    scenario_events : list of viz.actions.Action
        What the scenario itself schedules (injury, first dose of each drug, depletions, knockouts), for markers.
    trace : viz.trace.LiveTrace
        The readouts at every frame drawn (the page takes them), whatever the recording interval.
    colour_tops : dict
        The highest value seen so far of each (compartment, mediator) on the map, nM: the fixed colour scale's
        top when none is typed.
    """

    def __init__(self, **kwargs):
        from viz.trace import LiveTrace

        self.lock = threading.RLock()
        self.actions: list = []
        self.step_seconds: deque[float] = deque(maxlen=50)
        self.colour_tops: dict = {}
        super().__init__(**kwargs)
        self.scenario_events = scenario_events(kwargs)
        self.trace = LiveTrace()
        self.trace.take(self)

    def step(self) -> None:
        """One model step, under :attr:`lock`, timed."""
        with self.lock:
            t0 = time.perf_counter()
            super().step()
            self.step_seconds.append(time.perf_counter() - t0)

    @property
    def mean_step_ms(self) -> float:
        """Mean wall time of the recent steps, ms (NaN before the first step)."""
        return 1e3 * float(np.mean(self.step_seconds)) if self.step_seconds else float("nan")


def scenario_events(kwargs: Mapping) -> list:
    """Markers for what a model's keyword arguments schedule: the injury, each drug's first dose, interventions."""
    from viz.actions import ROUTE_LABELS, Action

    out = []
    frac = kwargs.get("injured_fraction") or 0.0
    if frac > 0:
        out.append(Action(float(kwargs.get("injury_time_min") or 0.0), "injury", f"injury ({frac:.0%} of neurons)"))
    for d in kwargs.get("drugs") or ():  # over dosing tables
        d = d if isinstance(d, Mapping) else vars(d)
        route = ROUTE_LABELS.get(d.get("route"), d.get("route"))
        every = f" q{d['interval_h']:g}h" if d.get("interval_h") else ""
        out.append(Action(float(d.get("start_min") or 0.0), "drug", f"{d.get('drug')} {route}{every} (scenario)"))
    for i in kwargs.get("interventions") or ():  # over intervention tables
        where = f" in {i['compartment']}" if i.get("compartment") else ""
        if i.get("kind") == "deplete":
            state = f" ({i['state']})" if i.get("state") else ""
            label = f"deplete {i.get('fraction', 1.0):.0%} {i.get('cell_type')}{state}{where}"
            if i.get("every_min") and i.get("until_min") is not None:
                label += f", every {i['every_min'] / 60:g} h to day {i['until_min'] / 1440:g}"
            elif i.get("until_min") is not None:
                label += f", held to day {i['until_min'] / 1440:g}"
            out.append(Action(float(i.get("time_min") or 0.0), "deplete", label + " (scenario)"))
        elif i.get("kind") == "knockout":
            name = next((i[k] for k in ("mediator", "receptor", "cell_type") if k in i), "?")
            start = float(i.get("from_min") or 0.0)
            out.append(Action(start, "knockout", f"{name} knockout{where} (scenario)"))
        elif i.get("kind") == "transfer":
            state = f" {i['state']}" if i.get("state") else ""
            label = f"transfer {i.get('n')} {i.get('cell_type')}{state}{where} (scenario)"
            out.append(Action(float(i.get("time_min") or 0.0), "transfer", label))
    return sorted(out, key=lambda a: a.time_min)


@dataclass(frozen=True)
class View:
    """What one tissue compartment offers to draw.

    Attributes
    ----------
    name : str
    grid : neuroagents.tissue.Grid
    env : neuroagents.tissue.Microenvironment
    cell_types : Mapping[str, CellType]
    labels : ndarray of int8, optional
        The compartment's voxel regions (0 interstitium, 1 vessel), drawn as pale stripes.
    """

    name: str
    grid: object
    env: object
    cell_types: Mapping
    labels: np.ndarray | None = None


def views(model) -> dict[str, View]:
    """One :class:`View` per tissue compartment of ``model``, in the model's order."""
    comps = getattr(model, "compartments", None)
    if isinstance(comps, Mapping):
        out = {}
        for name, c in comps.items():  # over a few compartments
            regions = getattr(c, "regions", None)
            out[str(name)] = View(str(name), c.grid, c.env, c.cell_types,
                                  None if regions is None else host(regions))  # fmt: skip
        return out
    labels = comps if isinstance(comps, np.ndarray) else None
    return {"tissue": View("tissue", model.grid, model.env, model.cell_types, labels)}


def host(a) -> np.ndarray:
    """A NumPy copy of a NumPy or CuPy array (drawing happens on the host)."""
    return a.get() if hasattr(a, "get") else np.array(a, copy=True)


def format_time(minutes: float) -> str:
    """Simulated time for people.

    >>> format_time(0), format_time(95), format_time(3 * 1440 + 60)
    ('0 min', '1 h 35 min', '3 d 1 h')
    """
    m = round(minutes)
    d, rest = divmod(m, 1440)
    h, mm = divmod(rest, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {mm} min"
    return f"{mm} min"
