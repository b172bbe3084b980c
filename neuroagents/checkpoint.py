"""Checkpoints: a whole model (and the state of the run around it) in one file, written so it cannot tear.

A checkpoint is ``MAGIC`` followed by two pickles: a small header (format, versions, time, backend), readable
without loading the model, then the payload ``{"model": model, "run": run_state}``. It is written to a temporary
file beside the target and renamed over it, so the previous checkpoint stays whole until the new one is
complete. A NumPy model loaded from a checkpoint steps exactly as the one that was saved (same arrays, same
random generator states, same recorded rows).

The model is pickled by :class:`CheckpointPickler`, which handles what the standard pickler refuses and what
should not travel as is:

* modules held as attributes (``backend.xp``, the solver's kernel module) are saved by name and imported again;
* ``types.MappingProxyType`` (read-only catalogue tables) is saved as a dict and wrapped again;
* thread locks (held by CuPy's random bit generators) are recreated empty;
* CuPy arrays are copied to the host and put back on the current device when loaded, so a checkpoint holds
  only NumPy data (loading one written on a GPU needs a usable GPU, and says so).

A checkpoint is refused (:class:`CheckpointError`, one line) when its format or the neuroagents version that
wrote it differs from this one's: a model pickled by other code could resume into a different model.

Examples
--------
>>> import tempfile, pathlib
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=3, n_macrophages=3, n_neurons=2)
>>> m.step()
>>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "checkpoint.pkl", m, {"note": "demo"})
>>> read_header(path)["time_min"]
1.0
>>> m2, run, header = load_checkpoint(path)
>>> m.step(); m2.step()
>>> bool((m.env.fields == m2.env.fields).all()), run["note"]
(True, 'demo')
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
import threading
import time
import types
from pathlib import Path

import neuroagents
from neuroagents.errors import NeuroagentsError
from neuroagents.recording import atomic_write

__all__ = ["CHECKPOINT_FILE", "FORMAT", "CheckpointError", "CheckpointPickler", "load_checkpoint", "read_header",
           "save_checkpoint"]  # fmt: skip

CHECKPOINT_FILE = "checkpoint.pkl"
"""Name of the checkpoint in a run's output directory."""
FORMAT = 1
"""Version of the checkpoint layout; a different one is refused."""
MAGIC = b"neuroagents-checkpoint\n"
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class CheckpointError(NeuroagentsError):
    """A checkpoint that cannot be written, read or resumed here."""


def _import(name: str):
    return importlib.import_module(name)


def _mappingproxy(d: dict):
    return types.MappingProxyType(d)


def _lock(reentrant: bool):
    return threading.RLock() if reentrant else threading.Lock()


def _to_device(host):
    import cupy

    return cupy.asarray(host)


class CheckpointPickler(pickle.Pickler):
    """A :class:`pickle.Pickler` (the C one) that also saves modules, mapping proxies, locks and CuPy arrays.

    See the module docstring for what each becomes when loaded; everything else pickles as usual.
    """

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            return _import, (obj.__name__,)
        if isinstance(obj, types.MappingProxyType):
            return _mappingproxy, (dict(obj),)
        if isinstance(obj, _LOCK_TYPES):
            return _lock, (isinstance(obj, _LOCK_TYPES[1]),)
        cupy = sys.modules.get("cupy")
        if cupy is not None and isinstance(obj, cupy.ndarray):
            return _to_device, (cupy.asnumpy(obj),)
        return NotImplemented


def _header(model, run_state: dict) -> dict:
    from neuroagents.recording import package_versions

    gpu = bool(getattr(model.backend, "is_gpu", False))
    return {
        "format": FORMAT,
        "neuroagents": neuroagents.__version__,
        "versions": package_versions(gpu=gpu),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "time_min": float(model.time_min),
        "steps": int(getattr(model, "steps", 0)),
        "backend": model.backend.name,
        "device": model.backend.device,
        "scenario": run_state.get("scenario_name"),
    }


def save_checkpoint(path, model, run_state: dict | None = None) -> Path:
    """Write ``model`` and ``run_state`` to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Usually ``<out>/checkpoint.pkl``; the previous file there is replaced only once the new one is whole.
    model : NeuroImmuneModel
    run_state : dict, optional
        Plain data the caller needs to carry on (the runner's schedule, counters, options).

    Returns
    -------
    Path

    Raises
    ------
    CheckpointError
        When the model holds something that cannot be pickled (naming it) or the file cannot be written.
    """
    run_state = dict(run_state or {})
    header = _header(model, run_state)
    buf = io.BytesIO()
    buf.write(MAGIC)
    try:
        pickle.dump(header, buf, protocol=pickle.HIGHEST_PROTOCOL)
        CheckpointPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump({"model": model, "run": run_state})
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"cannot checkpoint the model at t = {model.time_min:g} min: {exc}") from exc
    path = Path(path)
    try:
        with atomic_write(path) as tmp:
            tmp.write_bytes(buf.getbuffer())
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: {exc.strerror or exc}") from exc
    return path


def _open(path) -> tuple[io.BufferedReader, dict]:
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise CheckpointError(f"no readable checkpoint at {path} ({exc.strerror or exc})") from None
    try:
        if fh.read(len(MAGIC)) != MAGIC:
            raise CheckpointError(f"{path} is not a neuroagents checkpoint")
        header = pickle.load(fh)
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        fh.close()
        raise CheckpointError(f"{path} is damaged: {exc}") from None
    except BaseException:
        fh.close()
        raise
    return fh, header


def read_header(path) -> dict:
    """The header of a checkpoint (format, versions, time, backend) without loading the model."""
    fh, header = _open(path)
    fh.close()
    return header


def check_compatible(header: dict, path) -> None:
    """Raise :class:`CheckpointError` unless this code can resume the checkpoint described by ``header``."""
    if header.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {header.get('format')!r} cannot be read by this neuroagents (format "
            f"{FORMAT}); resume it with neuroagents {header.get('neuroagents')}"
        )
    if header.get("neuroagents") != neuroagents.__version__:
        raise CheckpointError(
            f"{path}: written by neuroagents {header.get('neuroagents')}, this is {neuroagents.__version__}; a model "
            f"saved by other code may not resume into the same model. Resume it with neuroagents "
            f"{header.get('neuroagents')} (pip install 'neuroagents=={header.get('neuroagents')}'), or start the "
            "run again"
        )
    if header.get("backend") == "cupy":
        from neuroagents.backend import gpu_status

        usable, why = gpu_status()
        if not usable:
            raise CheckpointError(f"{path}: written on a GPU (cupy on {header.get('device')}); resuming it needs a "
                                  f"usable GPU, and here {why}")  # fmt: skip


def load_checkpoint(path) -> tuple[object, dict, dict]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Returns
    -------
    model : NeuroImmuneModel
        As it was when saved (on the GPU again if it ran there).
    run_state : dict
    header : dict

    Raises
    ------
    CheckpointError
        When the file is missing, damaged, from another format or neuroagents version, or needs a GPU.
    """
    fh, header = _open(path)
    with fh:
        check_compatible(header, path)
        try:
            payload = pickle.load(fh)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
            raise CheckpointError(f"{path} is damaged or incomplete: {type(exc).__name__}: {exc}") from None
    return payload["model"], payload["run"], header
