"""Play a model in a thread, one frame at a time, and never faster than the browser draws.

:class:`Player` replaces Mesa's play loop (which steps and redraws on a timer, whether or not the browser keeps
up, and keeps stepping after the tab has gone). Each frame: run ``steps_per_frame`` model steps (checking for a
pause between steps), publish the frame (``on_frame``: the page redraws), then wait until the browser says it has
drawn that frame (:meth:`Player.drawn`) before starting the next one. So a slow browser slows the simulation
instead of queueing frames, a pause is answered within one model step, and a tab that is hidden (the browser
stops painting) or gone costs nothing.

The loop also stops on its own, with a reason in :attr:`Player.stopped_because`:

* the time asked for is reached (:meth:`Player.play` with ``until_min``: "run to day N" stops exactly there);
* ``connected()`` turns false (the browser tab closed or lost its connection), checked at least every
  ``check_s`` seconds while waiting;
* a step raised an error (the message, in one line).

Examples
--------
>>> from viz.live import LiveModel
>>> m = LiveModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=4, n_neurons=2)
>>> frames = []
>>> p = Player(on_frame=frames.append, wait_for_browser=False)
>>> p.steps_per_frame = 3
>>> p.play(m, until_min=7.0)
>>> p.join(10.0)
>>> m.time_min, p.stopped_because, frames[-1] == p.seq
(7.0, 'reached 7 min', True)
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from neuroagents.errors import NeuroagentsError

__all__ = ["Player"]

log = logging.getLogger("viz.player")


class Player:
    """One session's play loop with back-pressure from the browser.

    Parameters
    ----------
    on_frame : callable
        ``on_frame(seq)`` publishes frame ``seq`` (e.g. sets a reactive value the map and charts read). Called
        from the player's thread.
    on_stop : callable, optional
        ``on_stop(reason)`` when the loop ends by itself or on :meth:`pause`.
    connected : callable, optional
        ``connected() -> bool``: whether a browser is still attached; the loop stops when it is not.
    wait_for_browser : bool
        Wait for :meth:`drawn` after each frame (True on a page; False for tests and notebooks).
    ack_timeout_s : float
        Go on without the browser's word after this long (a browser that is connected but not painting, e.g. a
        hidden tab, gets one frame per this many seconds).
    check_s : float
        How often, at most, to check ``connected()`` while waiting.

    Attributes
    ----------
    steps_per_frame : int
        Model steps between two frames.
    min_frame_s : float
        Shortest time between two frames, s (the speed menu; 0 = as fast as the browser draws).
    seq : int
        Number of the last frame published.
    browser_fps : float
        Frames per second the browser reported drawing (NaN before it has said).
    stopped_because : str
        Why the loop last stopped ("" while playing or before the first play).
    timings : dict of str to float
        Wall time of the last frame's parts, s: ``steps`` (the model steps), ``publish`` (``on_frame``: reading
        the model and redrawing the page on the server), ``browser`` (waiting for the browser to draw it).
    """

    def __init__(self, *, on_frame: Callable[[int], None], on_stop: Callable[[str], None] | None = None,
                 connected: Callable[[], bool] | None = None, wait_for_browser: bool = True,
                 ack_timeout_s: float = 15.0, check_s: float = 0.25):  # fmt: skip
        self.on_frame = on_frame
        self.on_stop = on_stop
        self.connected = connected or (lambda: True)
        self.wait_for_browser = wait_for_browser
        self.ack_timeout_s = float(ack_timeout_s)
        self.check_s = float(check_s)
        self.steps_per_frame = 5
        self.min_frame_s = 0.0
        self.seq = 0
        self.acked = 0
        self.browser_fps = math.nan
        self.stopped_because = ""
        self.timings = {"steps": math.nan, "publish": math.nan, "browser": math.nan}
        self._playing = threading.Event()
        self._ack = threading.Event()
        self._thread: threading.Thread | None = None
        self._until_min: float | None = None

    # --- from the page ----------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        """Whether the loop is running."""
        return self._playing.is_set()

    def play(self, model, *, until_min: float | None = None) -> None:
        """Start playing ``model`` (until ``until_min`` simulated minutes, if given); a no-op while playing."""
        if self.playing:
            return
        if until_min is not None and model.time_min + 1e-9 >= until_min:
            self.stopped_because = f"already at {_fmt_min(model.time_min)}"
            return
        self.join(5.0)  # a previous loop that is finishing its last step
        self._until_min = until_min
        self.stopped_because = ""
        self._playing.set()
        self._thread = threading.Thread(target=self._run, args=(model,), name="viz-player", daemon=True)
        self._thread.start()

    def pause(self, reason: str = "paused") -> None:
        """Stop after the model step under way (returns at once)."""
        if self._playing.is_set():
            self._stop(reason)

    def drawn(self, seq: int, fps: float | None = None) -> None:
        """The browser has drawn frame ``seq`` (at ``fps`` frames per second, as it measured)."""
        self.acked = max(self.acked, int(seq))
        if fps is not None and math.isfinite(fps):
            self.browser_fps = float(fps)
        self._ack.set()

    def next_frame(self) -> int:
        """A new frame number (for frames drawn outside the loop, e.g. after Step)."""
        self.seq += 1
        return self.seq

    def join(self, timeout: float | None = None) -> None:
        """Wait for the loop's thread to end."""
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    # --- the loop ---------------------------------------------------------------------------------
    def _stop(self, reason: str) -> None:
        first = self._playing.is_set()
        self._playing.clear()
        self._ack.set()  # wake a wait
        if first:
            self.stopped_because = reason
            log.info("play stopped: %s", reason)
            if self.on_stop is not None:
                self.on_stop(reason)

    def _run(self, model) -> None:
        try:
            while self._playing.is_set():
                t0 = time.monotonic()
                if not self.connected():
                    self._stop("the browser disconnected")
                    break
                for _ in range(max(int(self.steps_per_frame), 1)):  # model steps of one frame
                    if not self._playing.is_set():
                        break
                    if self._until_min is not None and model.time_min + 1e-9 >= self._until_min:
                        break
                    model.step()
                t1 = time.monotonic()
                self._ack.clear()
                self.on_frame(self.next_frame())
                t2 = time.monotonic()
                if self._until_min is not None and model.time_min + 1e-9 >= self._until_min:
                    self._stop(f"reached {_fmt_min(self._until_min)}")
                    break
                if self.wait_for_browser:
                    self._wait_for_browser()
                self.timings = {"steps": t1 - t0, "publish": t2 - t1, "browser": time.monotonic() - t2}
                rest = self.min_frame_s - (time.monotonic() - t0)
                while rest > 0 and self._playing.is_set():  # the speed menu's pause between frames
                    time.sleep(min(rest, self.check_s))
                    rest = self.min_frame_s - (time.monotonic() - t0)
        except NeuroagentsError as exc:
            self._stop("error: " + " ".join(str(exc).split()))
        except Exception as exc:  # a failed step must end the loop with a message, not a dead thread
            log.exception("step failed")
            self._stop(f"error in a step: {type(exc).__name__}: {' '.join(str(exc).split())}")

    def _wait_for_browser(self) -> None:
        deadline = time.monotonic() + self.ack_timeout_s
        while self._playing.is_set() and self.acked < self.seq:
            self._ack.wait(self.check_s)
            self._ack.clear()
            if not self.connected():
                self._stop("the browser disconnected")
                return
            if time.monotonic() > deadline:
                log.info("frame %d not drawn within %.0f s; going on", self.seq, self.ack_timeout_s)
                return


def _fmt_min(minutes: float) -> str:
    from viz.live import format_time

    return format_time(minutes)
