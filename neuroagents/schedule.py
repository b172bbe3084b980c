"""One sorted list of what happens at a given time in a run: the events the model's dose phase consumes.

Every scheduled intervention of a run is an :class:`Event` in one :class:`Schedule`, sorted by time: the nerve
injury, one-off cell depletions, conditional and inducible knockouts (``from_min`` > 0), the starts of held
depletions, adoptive transfers and injections. At the start of each step (the ``dose`` phase) the model takes the
events that are due and applies them in the order of :data:`ORDER` (then by time, then as given), so that one
step's events act in a fixed order whatever their exact times within it.

Drug doses are not events: their effects are a continuous function of time (linear PK, superposed over every
dose; :mod:`neuroagents.pharmacology`) that the dose phase evaluates each step before the events.

Examples
--------
>>> s = Schedule([Event(10.0, "injection", "b"), Event(5.0, "depletion", "a"), Event(5.0, "injury", 0.5, strict=True)])
>>> [(e.what, e.time_min) for e in s.pop_due(0.0)]
[]
>>> [(e.what, e.time_min) for e in s.pop_due(12.0)]
[('injury', 5.0), ('depletion', 5.0), ('injection', 10.0)]
>>> len(s), len(s.done)
(0, 3)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from neuroagents.errors import ConfigError

__all__ = ["EPS_MIN", "ORDER", "Event", "Schedule"]

ORDER = ("injury", "depletion", "knockout", "hold", "transfer", "injection")
"""The order in which the events due at one step act."""
EPS_MIN = 1e-9
"""An event at ``time_min`` is due once the clock reaches ``time_min - EPS_MIN`` (float sums of time steps)."""


@dataclass(frozen=True)
class Event:
    """One scheduled event.

    Parameters
    ----------
    time_min : float
        When it is due, min.
    what : str
        One of :data:`ORDER`.
    item : object
        What acts: the injured fraction, a :class:`~neuroagents.interventions.Depletion`,
        :class:`~neuroagents.interventions.ScopedKnockout`, :class:`~neuroagents.interventions.Transfer` or
        :class:`~neuroagents.injections.Injection`.
    strict : bool
        Due only when the clock has reached ``time_min`` exactly (the injury's rule), not ``EPS_MIN`` before.
    """

    time_min: float
    what: str
    item: object
    strict: bool = False

    def __post_init__(self):
        if self.what not in ORDER:
            raise ConfigError("event", self.what, f"one of {list(ORDER)}")

    def due(self, now_min: float) -> bool:
        """Whether the event is due when the clock reads ``now_min``."""
        return now_min >= self.time_min if self.strict else self.time_min <= now_min + EPS_MIN


class Schedule:
    """The events still to come, sorted by time (stable: equal times keep the order given), and those done."""

    def __init__(self, events=()):
        self.pending: list[Event] = sorted(events, key=lambda e: e.time_min)
        self.done: list[Event] = []

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, event: Event) -> None:
        """Schedule one more event (after those already scheduled at the same time)."""
        times = [e.time_min for e in self.pending]
        self.pending.insert(bisect.bisect_right(times, event.time_min), event)

    def pop_due(self, now_min: float) -> list[Event]:
        """Remove and return the events due at ``now_min``, in the order they act (:data:`ORDER`, time, given)."""
        due = []
        for e in self.pending:  # sorted by time: stop past now
            if e.time_min > now_min + EPS_MIN:
                break
            if e.due(now_min):
                due.append(e)
        if not due:
            return due
        taken = {id(e) for e in due}
        self.pending = [e for e in self.pending if id(e) not in taken]
        due.sort(key=lambda e: ORDER.index(e.what))  # stable: time order within a kind
        self.done.extend(due)
        return due

    def done_items(self, what: str) -> list:
        """The items of the events of kind ``what`` done so far, in the order they acted."""
        return [e.item for e in self.done if e.what == what]
