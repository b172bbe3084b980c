"""Checkpoints: a whole model (and the state of the run around it) in one file that is data, not code.

Layout (format 2)::

    neuroagents-checkpoint 2\\n
    {header, one line of JSON}\\n
    payload: {"model": model, "run": run_state}, pickle protocol 5

The header is plain JSON, read without unpickling anything: the format, the neuroagents version, the git commit
and a SHA-256 of the package's source (``code_sha256``) that wrote the file, the time, steps, backend, the
scenario's name and the SHA-256 of its resolved form (``scenario_sha256``), the payload's length, and
``sha256``: a SHA-256 over the header (without that key) and the payload. Loading checks, in order, the magic
line, the header, the digest (a flipped bit or a cut file is refused here, before anything is unpickled), the
format, the version and the code, then unpickles the payload with
:class:`~neuroagents.state_pickle.RestrictedUnpickler`, and last checks that every field fits its grid.

Why a restricted unpickler and not arrays + JSON: the model's state is a graph of objects the science code keeps
growing (cells, pain, stroma, ...); pickling captures all of it without a hand-kept list of fields, and a NumPy
model resumes bit for bit. What makes a pickle dangerous is that loading it may *call* whatever it names; the
restricted unpickler (:mod:`neuroagents.state_pickle`) calls only what it lists, so a crafted file cannot run
code:

* globals resolve only to classes and functions defined in the model-state packages (``STATE_MODULES``, which
  read no files and start no processes; a test checks their source), a few Mesa, NumPy and stdlib types, and
  the explicit callables of ``REDUCE_CALLABLES`` (NumPy's array, scalar, dtype and random-generator
  reconstructors, ``set``, ``deque``, ``functools.partial``, ``random.Random``, and its own helpers);
* the ``REDUCE`` opcode (a call) is allowed only for those callables (and ``Enum`` lookups); objects of the
  state classes are made with ``object.__new__`` and filled with their saved attributes, never by running a
  constructor, and only objects (never classes, modules or functions) are filled; the protocol-0/1
  ``INST``/``OBJ`` calls and persistent ids are refused;
* ``getattr`` (bound methods, e.g. Mesa's wrapped ``step``) is allowed only for a public or single-underscore
  method of an object of a state class; a module is imported (``backend.xp``) only if it is NumPy, CuPy or a
  state module.

Anything else — a file from another format, version or code, a damaged one, a crafted one — is refused with one
:class:`CheckpointError` line. A checkpoint can be trusted to resume the run it came from with the code that
wrote it; it is not an archive format (use the time series and ``fields.zarr`` for that) and it is not signed:
the digest detects damage, not a forger who recomputes it, which is why loading never runs code either way.

A checkpoint is written to a temporary file beside the target and renamed over it, so the previous one stays
whole until the new one is complete. CuPy arrays are saved as NumPy arrays and put back on the device when
loaded (that needs a usable GPU, and says so); modules, mapping proxies and thread locks are saved by name or
recreated (see :class:`~neuroagents.state_pickle.CheckpointPickler`).

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

import functools
import hashlib
import io
import json
import pickle
import subprocess
import time
from pathlib import Path

import neuroagents
from neuroagents.errors import NeuroagentsError
from neuroagents.recording import atomic_write
from neuroagents.state_pickle import STATE_MODULES, CheckpointPickler, RestrictedUnpickler

__all__ = ["CHECKPOINT_FILE", "FORMAT", "STATE_MODULES", "CheckpointError", "CheckpointPickler", "RestrictedUnpickler",
           "code_identity", "load_checkpoint", "read_header", "save_checkpoint", "scenario_sha256"]  # fmt: skip

CHECKPOINT_FILE = "checkpoint.pkl"
"""Name of the checkpoint in a run's output directory."""
FORMAT = 2
"""Version of the checkpoint layout; a different one is refused."""
MAGIC = b"neuroagents-checkpoint 2\n"
_MAGIC_V1 = b"neuroagents-checkpoint\n"
_MAX_HEADER = 1 << 20
class CheckpointError(NeuroagentsError):
    """A checkpoint that cannot be written, read or resumed here."""


@functools.lru_cache(maxsize=1)
def code_identity() -> dict:
    """``{"git": commit or None, "code_sha256": SHA-256 of the package's .py files}`` of this neuroagents."""
    root = Path(neuroagents.__file__).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):  # over the package's source files (reading, once per process)
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    commit = None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)  # fmt: skip
        if out.returncode == 0:
            commit = out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"git": commit, "code_sha256": h.hexdigest()}


def scenario_sha256(resolved) -> str | None:
    """SHA-256 of a resolved scenario (canonical JSON), or None for none.

    Examples
    --------
    >>> scenario_sha256({"b": 1, "a": [1.5]}) == scenario_sha256({"a": [1.5], "b": 1})
    True
    """
    if resolved is None:
        return None
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _digest(header: dict, payload) -> str:
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    h.update(b"\0")
    h.update(payload)
    return h.hexdigest()


def _header(model, run_state: dict) -> dict:
    from neuroagents.recording import package_versions

    gpu = bool(getattr(model.backend, "is_gpu", False))
    return {
        "format": FORMAT,
        "neuroagents": neuroagents.__version__,
        **code_identity(),
        "versions": package_versions(gpu=gpu),
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "time_min": float(model.time_min),
        "steps": int(getattr(model, "steps", 0)),
        "backend": model.backend.name,
        "device": model.backend.device,
        "scenario": run_state.get("scenario_name"),
        "scenario_sha256": scenario_sha256(run_state.get("scenario")),
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
        When the model holds something that cannot be pickled or would be refused when loaded (naming it), or
        the file cannot be written (naming the cause).
    """
    run_state = dict(run_state or {})
    header = _header(model, run_state)
    buf = io.BytesIO()
    try:
        CheckpointPickler(buf, protocol=5).dump({"model": model, "run": run_state})
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"cannot checkpoint the model at t = {model.time_min:g} min: {exc}") from exc
    payload = buf.getbuffer()
    header["payload_bytes"] = len(payload)
    header["sha256"] = _digest(header, payload)
    path = Path(path)
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as fh:
            fh.write(MAGIC)
            fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            fh.write(payload)
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: {exc.strerror or exc}") from exc
    return path


# --- reading ------------------------------------------------------------------------------------------
def _open(path) -> tuple[dict, memoryview]:
    """The header and the payload of the checkpoint at ``path``, with its digest checked."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"no readable checkpoint at {path} ({exc.strerror or exc})") from None
    if data.startswith(_MAGIC_V1):
        raise CheckpointError(f"{path}: a checkpoint of format 1 (neuroagents before output-safety), which is not "
                              "read because loading it could run code; start the run again (with --force)")  # fmt: skip
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a neuroagents checkpoint (format {FORMAT})")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    try:
        if end < 0:
            raise ValueError("no header line")
        header = json.loads(data[len(MAGIC): end].decode("utf-8"))
        if not isinstance(header, dict) or not isinstance(header.get("sha256"), str):
            raise ValueError("no digest in the header")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged or incomplete: unreadable header ({exc})") from None
    payload = memoryview(data)[end + 1:]
    digest = header.pop("sha256")
    if header.get("payload_bytes") != len(payload):
        raise CheckpointError(f"{path} is damaged or incomplete: {len(payload)} bytes of model where the header says "
                              f"{header.get('payload_bytes')}")  # fmt: skip
    if _digest(header, payload) != digest:
        raise CheckpointError(f"{path} is damaged: its SHA-256 does not match its content (changed after it was "
                              "written); resume from another copy or start the run again")  # fmt: skip
    return header, payload


def read_header(path) -> dict:
    """The header of a checkpoint (format, versions, code, time, backend, scenario hash), its digest checked."""
    return _open(path)[0]


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
    here = code_identity()
    if header.get("code_sha256") != here["code_sha256"]:
        raise CheckpointError(
            f"{path}: written by other neuroagents code (git {header.get('git') or 'unknown'}, source SHA-256 "
            f"{str(header.get('code_sha256'))[:12]}), this is git {here['git'] or 'unknown'} (source "
            f"{here['code_sha256'][:12]}); a model saved by other code may not resume into the same model: resume "
            "it with the code that wrote it (git checkout that commit), or start the run again"
        )
    if header.get("backend") == "cupy":
        from neuroagents.backend import gpu_status

        usable, why = gpu_status()
        if not usable:
            raise CheckpointError(f"{path}: written on a GPU (cupy on {header.get('device')}); resuming it needs a "
                                  f"usable GPU, and here {why}")  # fmt: skip


def load_checkpoint(path) -> tuple[object, dict, dict]:
    """Load a checkpoint written by :func:`save_checkpoint`; nothing in the file is run.

    Returns
    -------
    model : NeuroImmuneModel
        As it was when saved (on the GPU again if it ran there).
    run_state : dict
    header : dict

    Raises
    ------
    CheckpointError
        When the file is missing, damaged, crafted, from another format, version or code, or needs a GPU.
    """
    header, payload = _open(path)
    check_compatible(header, path)
    try:
        out = RestrictedUnpickler(io.BytesIO(payload)).load()
    except RecursionError:
        raise CheckpointError(f"{path} is damaged or crafted: nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{path} is damaged or crafted: it asks for more memory than there is") from None
    except Exception as exc:  # whatever a malformed payload raises inside the unpickler: one line, nothing run
        raise CheckpointError(f"{path} is damaged or not a model checkpoint: {type(exc).__name__}: {exc}") from None
    if not (isinstance(out, dict) and isinstance(out.get("run"), dict) and "model" in out):
        raise CheckpointError(f"{path} is damaged or not a model checkpoint: no model and run state in it")
    model, run = out["model"], out["run"]
    from neuroagents.model import NeuroImmuneModel

    if not isinstance(model, NeuroImmuneModel):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a NeuroImmuneModel")
    if run.get("scenario") is not None and scenario_sha256(run["scenario"]) != header.get("scenario_sha256"):
        raise CheckpointError(f"{path}: the scenario in the file does not match its header (scenario_sha256)")
    _check_fields_shape(model, path)
    return model, run, header


def _check_fields_shape(model, path) -> None:
    """Refuse fields whose shape, dtype or layout do not match their grid (the kernels index them unchecked)."""
    from neuroagents.recording import field_environments

    try:
        envs = field_environments(model)
        for name, env in envs.items():  # over compartments (a handful)
            f = env.fields
            want = (len(env.names), *env.grid.shape)
            if tuple(f.shape) != want or str(f.dtype) not in ("float32", "float64") or not f.flags.c_contiguous:
                raise CheckpointError(f"{path} is damaged or crafted: the fields of {name!r} are {f.dtype} "
                                      f"{tuple(f.shape)}, where the grid needs float {want}")  # fmt: skip
    except CheckpointError:
        raise
    except Exception as exc:  # a model with parts missing or of the wrong kind
        raise CheckpointError(f"{path} is damaged or crafted: {type(exc).__name__}: {exc}") from None
