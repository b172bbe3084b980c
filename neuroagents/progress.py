"""Progress lines for people: a run's simulated time, rate and ETA; a sweep's runs done, rate and ETA.

On a terminal the line is redrawn in place (at most every 0.5 s); on a pipe or a log file (a batch job) a new
line is written at most every 10 s, so logs stay short. Nothing is written when the stream is None.

Examples
--------
>>> import io
>>> s = io.StringIO()
>>> bar = RunCounter(s, total=10, label="sweep x", every_s=0.0)
>>> bar.update(done=4, failed=1)
>>> s.getvalue().split(",")[0]
'sweep x: 4 of 10 runs done (1 failed)'
"""

from __future__ import annotations

import math
import time
from typing import TextIO

__all__ = ["Progress", "RunCounter", "format_minutes", "format_wall"]


def format_minutes(minutes: float) -> str:
    """``90 min``, ``5 h``, ``7 d``: a simulated time for people.

    Examples
    --------
    >>> format_minutes(30), format_minutes(600), format_minutes(10080)
    ('30 min', '10 h', '7 d')
    """
    if minutes < 120:
        return f"{minutes:.3g} min"
    if minutes < 2880:
        return f"{minutes / 60:.3g} h"
    return f"{minutes / 1440:.3g} d"


def format_wall(seconds: float) -> str:
    """``0m07s``, ``1h05m``: a wall-clock duration for people (``?`` when unknown)."""
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class _Line:
    """A line redrawn in place on a terminal, or appended at most every ``every_s`` elsewhere."""

    def __init__(self, stream: TextIO | None, every_s: float | None):
        self.stream = stream
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.every_s = every_s if every_s is not None else (0.5 if self.tty else 10.0)
        self.t0 = time.perf_counter()
        self.last = self.t0  # the first line after every_s: a short job prints only its last line
        self.width = 0

    def _emit(self, text: str, force: bool) -> None:
        now = time.perf_counter()
        if self.stream is None or (not force and now - self.last < self.every_s):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _finish(self) -> None:
        if self.tty and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


class Progress(_Line):
    """A run's progress: simulated time, rate and ETA.

    Parameters
    ----------
    stream : text stream or None
        Where to write (None: nowhere).
    total_min : float
        Simulated time at the end, min.
    label : str
    every_s : float, optional
        Least wall time between two lines (default 0.5 s on a terminal, 10 s otherwise).
    start_min : float
        Simulated time when this process started (a resumed run), so the rate counts only its own work.
    """

    def __init__(self, stream: TextIO | None, total_min: float, label: str, every_s: float | None = None,
                 start_min: float = 0.0):  # fmt: skip
        super().__init__(stream, every_s)
        self.total_min = total_min
        self.label = label
        self.start_min = start_min

    def line(self, t_min: float) -> str:
        """The text of the line at simulated time ``t_min``."""
        wall = time.perf_counter() - self.t0
        rate = (t_min - self.start_min) / wall if wall > 0 else math.inf
        eta = (self.total_min - t_min) / rate if rate > 0 else math.inf
        pct = 100.0 * t_min / self.total_min if self.total_min > 0 else 100.0
        return (f"{self.label}: t = {format_minutes(t_min)} of {format_minutes(self.total_min)} ({pct:.0f}%), "
                f"{rate:.3g} simulated min per s, ETA {format_wall(max(eta, 0.0))}")  # fmt: skip

    def update(self, t_min: float, *, force: bool = False) -> None:
        """Write the line if ``every_s`` has passed since the last one (or ``force``)."""
        if self.stream is not None:
            self._emit(self.line(t_min), force)

    def close(self, t_min: float) -> None:
        """Write the final line."""
        self.update(t_min, force=True)
        self._finish()


class RunCounter(_Line):
    """A sweep's progress: runs done (and failed) of the total, runs per second and ETA.

    Parameters
    ----------
    stream : text stream or None
    total : int
        Runs this invocation has to do (finished runs skipped on a restart are not counted).
    label : str
    every_s : float, optional
    skipped : int
        Runs already finished before (shown, not counted in the rate).
    """

    def __init__(self, stream: TextIO | None, total: int, label: str, every_s: float | None = None,
                 skipped: int = 0):  # fmt: skip
        super().__init__(stream, every_s)
        self.total, self.label, self.skipped = total, label, skipped
        self.done = self.failed = 0

    def line(self) -> str:
        """The text of the line now."""
        wall = time.perf_counter() - self.t0
        finished = self.done + self.failed
        rate = finished / wall if wall > 0 else 0.0
        eta = (self.total - finished) / rate if rate > 0 else math.inf
        extra = [f"{self.failed} failed"] if self.failed else []
        extra += [f"{self.skipped} done before"] if self.skipped else []
        tail = f" ({', '.join(extra)})" if extra else ""
        return (f"{self.label}: {self.done} of {self.total} runs done{tail}, {rate:.3g} runs/s, "
                f"ETA {format_wall(max(eta, 0.0))}")  # fmt: skip

    def update(self, *, done: int | None = None, failed: int | None = None, force: bool = False) -> None:
        """Set the counts and write the line if it is time."""
        self.done = self.done if done is None else done
        self.failed = self.failed if failed is None else failed
        if self.stream is not None:
            self._emit(self.line(), force)

    def close(self) -> None:
        """Write the final line."""
        self.update(force=True)
        self._finish()
