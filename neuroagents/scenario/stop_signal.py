"""Stop a run cleanly on SIGINT or SIGTERM: :class:`StopOnSignal`, used by :mod:`neuroagents.scenario.runner`.

The run checks :attr:`StopOnSignal.requested` after each step, writes a checkpoint and its outputs, and ends with
the status ``interrupted``; ``neuroagents resume`` carries it on.
"""

from __future__ import annotations

import signal
import threading
from typing import TextIO

__all__ = ["StopOnSignal"]


class StopOnSignal:
    """While active (main thread only), SIGINT and SIGTERM ask the run to stop after the current step.

    A second SIGINT aborts at once (KeyboardInterrupt). Batch schedulers send SIGTERM before they kill a job
    at its time limit (SLURM waits ``KillWait``, 30 s by default), which is time enough to finish one step and
    write a checkpoint.
    """

    def __init__(self, enabled: bool, stream: TextIO | None):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.stream = stream
        self.requested: str | None = None
        self.finishing = False
        self.previous: dict = {}

    def _handle(self, signum, frame):
        if self.finishing:  # the outputs are being written: never leave them half done (manifest "running")
            if self.stream is not None:
                self.stream.write("\nneuroagents: writing the outputs; a moment\n")
                self.stream.flush()
            return
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        if self.stream is not None:
            self.stream.write(f"\nneuroagents: {self.requested}: stopping after this step and writing a checkpoint "
                              "(Ctrl-C again to abort at once)\n")  # fmt: skip
            self.stream.flush()

    def __enter__(self):
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):  # over the two stop signals
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():  # over the handlers replaced
            signal.signal(sig, handler)
        return False
