"""Helpers for tests of the command line, shared by the test modules (and usable by anyone testing a script).

Examples
--------
>>> rc, out, err = run_cli(["scenarios", "no_such_scenario"])
>>> rc, error_line(err).split(": error: ")[0]
(2, 'neuroagents scenarios')
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

__all__ = ["error_line", "forge_checkpoint", "on_step", "run_cli"]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``neuroagents ARGV`` in this process; the exit status, stdout and stderr."""
    from neuroagents.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def error_line(err: str) -> str:
    """The one ``neuroagents ...: error: ...`` line of ``err``; fails if there are none, several, or a traceback."""
    lines = [ln for ln in err.splitlines() if ln.startswith("neuroagents ") and ": error: " in ln]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def on_step(monkeypatch, k: int, action) -> None:
    """Call ``action(model)`` after the ``k``-th call of ``NeuroImmuneModel.step`` (1-based) completes.

    ``monkeypatch`` is pytest's fixture; the patch is undone with it.
    """
    from neuroagents.model import NeuroImmuneModel

    real = NeuroImmuneModel.step
    calls = []

    def step(self):
        real(self)
        calls.append(1)
        if len(calls) == k:
            action(self)

    monkeypatch.setattr(NeuroImmuneModel, "step", step)


def forge_checkpoint(path, payload: bytes, **header) -> Path:
    """A copy of the checkpoint at ``path`` with this payload (and header entries) and a *valid* digest, as a forger
    who knows the format would write it; beside ``path``, under a new name."""
    from neuroagents import checkpoint

    path = Path(path)
    real = checkpoint.read_header(path)
    real.update(header, payload_bytes=len(payload))
    real["sha256"] = checkpoint._digest({k: v for k, v in real.items() if k != "sha256"}, payload)
    out = path.parent / f"forged-{len(list(path.parent.iterdir()))}.pkl"
    out.write_bytes(checkpoint.MAGIC + json.dumps(real, sort_keys=True).encode() + b"\n" + payload)
    return out
