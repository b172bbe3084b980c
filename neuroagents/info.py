"""``neuroagents info``: what this installation is and what it can use.

The version and where the package lives, Python, the versions of the packages a run records, whether a GPU is
usable (and why not), numba's threads and threading layer, and where the built-in scenarios are.

Examples
--------
>>> facts = collect()
>>> facts["python"]["version"].count("."), facts["scenarios"]["count"] > 0
(2, True)
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

__all__ = ["collect", "format_info"]


def _numba() -> dict:
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run in this process yet
        layer = f"not chosen yet (asked for: {numba.config.THREADING_LAYER})"
    return {
        "version": numba.__version__,
        "threads": numba.get_num_threads(),
        "threads_max": numba.config.NUMBA_NUM_THREADS,
        "threading_layer": layer,
        "jit_disabled": bool(numba.config.DISABLE_JIT),
    }


def collect() -> dict:
    """Facts about this installation, as plain JSON data.

    Returns
    -------
    dict
        ``neuroagents`` (version, location), ``python`` (version, executable), ``packages`` ({name: version or
        None}), ``gpu`` (usable, detail, cupy), ``numba`` (version, threads, threading_layer, ...),
        ``scenarios`` (folder, count).
    """
    import neuroagents
    from neuroagents.backend import gpu_status
    from neuroagents.recording import package_versions
    from neuroagents.scenario import BUILTIN_DIR, builtin_scenarios

    usable, detail = gpu_status()
    versions = package_versions(gpu=True)
    cupy = versions.pop("cupy")
    return {
        "neuroagents": {"version": neuroagents.__version__, "location": str(Path(neuroagents.__file__).parent)},
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "packages": {k: v for k, v in versions.items() if k not in ("neuroagents", "python")},
        "gpu": {"usable": usable, "detail": detail, "cupy": cupy},
        "numba": _numba(),
        "scenarios": {"folder": str(BUILTIN_DIR), "count": len(builtin_scenarios())},
    }


def format_info(facts: dict) -> str:
    """:func:`collect`'s facts as lines for people."""
    pkgs = facts["packages"]
    installed = ", ".join(f"{k} {v}" for k, v in pkgs.items() if v)
    missing = ", ".join(k for k, v in pkgs.items() if not v)
    gpu, nb, sc = facts["gpu"], facts["numba"], facts["scenarios"]
    lines = [
        f"neuroagents {facts['neuroagents']['version']} ({facts['neuroagents']['location']})",
        f"python      {facts['python']['version']} ({facts['python']['executable']})",
        f"packages    {installed}",
        f"not there   {missing or '(none)'}",
        f"GPU         {'usable: ' if gpu['usable'] else 'not usable: '}{gpu['detail']}"
        + (f" (cupy {gpu['cupy']})" if gpu["cupy"] else ""),
        f"numba       {nb['threads']} threads of {nb['threads_max']} (NUMBA_NUM_THREADS), threading layer "
        f"{nb['threading_layer']}" + (", JIT disabled (NUMBA_DISABLE_JIT)" if nb["jit_disabled"] else ""),
        f"scenarios   {sc['count']} built-in in {sc['folder']}",
    ]
    return "\n".join(lines)
