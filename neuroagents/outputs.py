"""Output directories that cannot be mixed up or lost: one writer each, checked before the first step.

* :class:`DirectoryLock` — an exclusive lock on an output directory (``.neuroagents.lock`` inside it), held
  for a run's, a resume's or a sweep's whole life. It is an ``flock`` on the lock file, so the kernel releases
  it on any exit, ``kill -9`` included; the file also names the holder (pid, host, start, command), so a
  second writer is refused with one line saying who holds it. A lock left by a process on *this* host that no
  longer holds it is stale and taken over; one naming another host is trusted (its ``flock`` may not reach
  here through a network file system) until its file is deleted by hand.
* :func:`check_out_dir` — refuse a directory that holds files (unless ``force``), one rule for every command.
* :func:`prepare_out_dir` — create the directory, lock it, and check that it can be written, naming the path
  and the cause (``read-only file system``, ``not a directory``) instead of a traceback after the run.
* :func:`estimate_run` and :func:`check_resources` — the disk (snapshots, checkpoint, time series) and the
  memory a run needs, from its grids, mediators, cells and snapshot schedule, checked against the free space
  of the output directory and the memory available here before anything runs.
* :class:`OutputError` — a file that could not be written: one line naming the file and the cause.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> with DirectoryLock(d) as lock:
...     DirectoryLock(d).acquire()
Traceback (most recent call last):
...
neuroagents.outputs.DirectoryInUseError: ... is in use by another neuroagents process (pid ...
>>> DirectoryLock(d).acquire().release()
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from neuroagents.errors import ConfigError, NeuroagentsError

__all__ = ["LOCK_FILE", "DirectoryInUseError", "DirectoryLock", "OutputError", "RunEstimate", "check_directory_path",
           "check_out_dir", "check_resources", "describe_os_error", "estimate_run", "prepare_out_dir"]  # fmt: skip

LOCK_FILE = ".neuroagents.lock"
"""Name of the lock file in a locked output directory (hidden: ``pandas.read_parquet(dir)`` skips it); it is
removed when the lock is released."""
BYTES_PER_VOXEL_MEDIATOR_MODEL = 4.0
"""Resident memory per voxel per mediator, in units of the field's item size: the field, the solver's
sources, uptake and line workspace (assumption, calibrated on a 2D NumPy run; see :func:`estimate_run`)."""
BASE_MEMORY_BYTES = 400e6
"""Resident memory of Python, NumPy, numba, pandas and the model without its fields (measured, ~0.4 GB)."""
BYTES_PER_CELL = 2000.0
"""Memory per cell (attribute arrays, signalling state, events; assumption, generous)."""


class OutputError(NeuroagentsError, OSError):
    """A file or directory that could not be written (the message names it and the cause)."""


class DirectoryInUseError(OutputError):
    """Another neuroagents process is writing into this directory."""


def describe_os_error(exc: OSError) -> str:
    """``'No space left on device'``-style text of an OSError (its strerror, else its text).

    Examples
    --------
    >>> describe_os_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    'No space left on device'
    """
    return exc.strerror or str(exc) or type(exc).__name__


# --- one writer per directory ---------------------------------------------------------------------------
class DirectoryLock:
    """An exclusive lock on ``directory`` (created if missing) for one process's run, resume or sweep.

    Parameters
    ----------
    directory : str or Path
    command : list of str, optional
        Written into the lock file, so that a refused second writer is told what holds the directory.

    Notes
    -----
    The lock file exists only while the lock is held (or after its holder was killed: it is then taken over).
    """

    def __init__(self, directory, *, command: list[str] | None = None):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self.command = command
        self.fd: int | None = None
        self.took_over: dict | None = None

    def _holder(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
            return json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> DirectoryLock:
        """Take the lock or raise :class:`DirectoryInUseError` (one line: who holds it, how to go on)."""
        import fcntl

        for _ in range(100):  # a few tries at most: only a release between our open and our flock needs one
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise OutputError(f"cannot write into {self.directory}: {describe_os_error(exc)}; give a writable "
                                  "directory with --out") from None  # fmt: skip
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(f"cannot lock {self.path}: {describe_os_error(exc)}") from None
                raise DirectoryInUseError(self._busy(self._holder())) from None
            try:  # the holder we waited for may have removed the file: then this lock is on nothing
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            raise OutputError(f"cannot lock {self.path}: it keeps being replaced")
        holder = self._holder()
        if holder.get("pid") is not None and holder.get("host") not in (None, platform.node()):
            os.close(fd)  # a holder on another host: its flock may not be visible here (NFS, Lustre)
            raise DirectoryInUseError(self._busy(holder) + f"; if no process runs there any more, delete {self.path}")
        if holder.get("pid") is not None:
            self.took_over = holder  # this host, not holding the flock: it ended without releasing (kill -9)
        me = {"pid": os.getpid(), "host": platform.node(), "started_utc": _now(), "command": self.command}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self.fd = fd
        return self

    def _busy(self, holder: dict) -> str:
        who = (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started_utc')}"
               if holder else "a process that is starting")  # fmt: skip
        cmd = f", {' '.join(holder['command'])!r}" if holder.get("command") else ""
        return (f"{self.directory} is in use by another neuroagents process ({who}{cmd}); wait for it to end, or "
                "give another --out")  # fmt: skip

    def release(self) -> None:
        """Give the lock up: remove the lock file while still holding it, then close it; safe to call twice.

        A process that opened the file before it was removed gets its ``flock`` on a removed file, notices (the
        name no longer leads to it) and tries again with a new file, so two writers can never both hold it.
        """
        if self.fd is None:
            return
        with contextlib.suppress(OSError):  # a vanished file system: the lock still goes with the descriptor
            self.path.unlink(missing_ok=True)
        os.close(self.fd)  # closing the descriptor drops the flock
        self.fd = None

    def __enter__(self) -> DirectoryLock:
        return self.acquire() if self.fd is None else self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_out_dir(out_dir, *, force: bool = False) -> Path:
    """Refuse to write into a directory that already holds files, unless ``force``.

    Parameters
    ----------
    out_dir : str or Path
    force : bool
        Write over existing outputs (other files in the directory are left alone).

    Returns
    -------
    Path

    Raises
    ------
    ConfigError
        When ``out_dir`` is a file, or a directory with entries (its own lock file aside) and ``force`` is false.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError("out_dir", str(path), "a directory (this is a file)")
    if path.is_dir() and not force:
        n = sum(1 for p in path.iterdir() if p.name != LOCK_FILE)
        if n:
            raise ConfigError(
                "out_dir", str(path), f"a new or empty directory (it holds {n} entries); pass --force to write over it"
            )
    return path


def check_directory_path(path: Path, option: str = "--out") -> None:
    """Refuse an output path that is a file or lies below one, or a name that climbs out (``..``), in one line."""
    if path.exists() and not path.is_dir():
        raise ConfigError(option, str(path), "a directory (this is a file)")
    for parent in path.parents:  # over the path's ancestors (a handful)
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(option, str(path), f"a directory path ({parent} is a file, not a directory)")
            break


def prepare_out_dir(path, *, command: list[str] | None = None, option: str = "--out") -> DirectoryLock:
    """Create ``path``, lock it, and check that a file can be written there; returns the held lock.

    Raises
    ------
    ConfigError
        ``path`` is a file or lies below one.
    OutputError
        The directory cannot be created or written (the message says why: permission, read-only file system).
    DirectoryInUseError
        Another process holds it.
    """
    path = Path(path)
    check_directory_path(path, option)
    lock = DirectoryLock(path, command=command).acquire()
    probe = path / f".neuroagents-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        lock.release()
        raise OutputError(f"cannot write into {path}: {describe_os_error(exc)}; give a writable directory with "
                          f"{option}") from None  # fmt: skip
    finally:
        probe.unlink(missing_ok=True)
    return lock


# --- what a run needs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunEstimate:
    """Disk and memory a run needs (estimates, upper bounds for the disk: snapshots before compression).

    Attributes
    ----------
    voxels : dict
        ``{compartment: voxels}``.
    mediators : int
    cells : int
        At t = 0.
    snapshots : int
        Field snapshots planned (t = 0, the schedule, the end).
    snapshot_bytes, checkpoint_bytes, timeseries_bytes : float
        Bytes on disk; ``timeseries_bytes`` counts the pain trace too (one row per cell step).
    memory_bytes : float
        Resident memory of the run.
    """

    voxels: dict
    mediators: int
    cells: int
    snapshots: int
    snapshot_bytes: float
    checkpoint_bytes: float
    timeseries_bytes: float
    memory_bytes: float

    @property
    def disk_bytes(self) -> float:
        """All files of the run (two checkpoints at once while one replaces the other)."""
        return self.snapshot_bytes + 2 * self.checkpoint_bytes + self.timeseries_bytes + 2e6

    def describe(self) -> str:
        """One line for the user."""
        grids = ", ".join(f"{n} {v:,}" for n, v in self.voxels.items())
        return (f"{sum(self.voxels.values()):,} voxels ({grids}) x {self.mediators} mediators, {self.cells:,} cells, "
                f"{self.snapshots} snapshots: about {format_bytes(self.memory_bytes)} of memory and at most "
                f"{format_bytes(self.disk_bytes)} on disk (snapshots {format_bytes(self.snapshot_bytes)}, checkpoint "
                f"{format_bytes(self.checkpoint_bytes)})")  # fmt: skip


def format_bytes(n: float) -> str:
    """``'1.5 GB'``-style size.

    Examples
    --------
    >>> format_bytes(1.5e9), format_bytes(2000), format_bytes(12)
    ('1.5 GB', '2 kB', '12 B')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _grid_voxels(width_um, height_um, depth_um, voxel_um) -> int:
    dims = [width_um, height_um] + ([depth_um] if depth_um else [])
    return math.prod(max(1, round(d / voxel_um)) for d in dims)


def estimate_run(model_kwargs: dict, *, duration_min: float, snapshot_every_min: float | None,
                 snapshot_mediators=None, record_every_min: float | None = None) -> RunEstimate:  # fmt: skip
    """What a run of :class:`~neuroagents.model.NeuroImmuneModel` ``(**model_kwargs)`` needs, before building it.

    Parameters
    ----------
    model_kwargs : dict
        :meth:`Scenario.model_kwargs`.
    duration_min : float
    snapshot_every_min : float or None
    snapshot_mediators : list of str, optional
    record_every_min : float, optional
        Default: the model's (``model_kwargs["record_every_min"]``, else 10).

    Examples
    --------
    >>> e = estimate_run({"width_um": 1000, "height_um": 1000, "voxel_um": 10, "n_macrophages": 10},
    ...                  duration_min=1440, snapshot_every_min=720)
    >>> e.voxels, e.snapshots, e.snapshot_bytes == 3 * 10_000 * e.mediators * 8
    ({'tissue': 10000}, 3, True)
    """
    from neuroagents.registry import MEDIATORS as DEFAULT_MEDIATORS

    k = model_kwargs
    itemsize = 4 if str(k.get("dtype", "float64")) == "float32" else 8
    comps = k.get("compartments") or None
    if comps:
        voxels = {c["name"]: _grid_voxels(c["width_um"], c["height_um"], c.get("depth_um") or 0, c["voxel_um"])
                  for c in comps}  # fmt: skip
        cells = sum(int(v) for c in comps for v in (c.get("cells") or {}).values())
    else:
        voxels = {"tissue": _grid_voxels(k.get("width_um", 1000.0), k.get("height_um", 1000.0), k.get("depth_um") or 0,
                                         k.get("voxel_um", 10.0))}  # fmt: skip
        cells = sum(int(v) for key, v in k.items() if key.startswith("n_") and isinstance(v, int))
    n_med = len(k.get("mediators") or DEFAULT_MEDIATORS)
    n_snap_med = len(snapshot_mediators) if snapshot_mediators else n_med
    n_snaps = 0
    if snapshot_every_min is not None:  # t = 0, every interval, and the end when it is not on the schedule
        whole = math.floor(duration_min / snapshot_every_min + 1e-9)
        n_snaps = whole + 1 + (duration_min - whole * snapshot_every_min > 1e-9)
    total = sum(voxels.values())
    field_bytes = total * n_med * itemsize
    record = record_every_min or k.get("record_every_min") or 10.0
    rows = int(duration_min // record) + 2
    columns = 40 + 2 * len(voxels) * n_med
    trace_values = (int(duration_min // (k.get("cell_dt_min") or 1.0)) + 1) * 10  # the pain trace: 10 per step
    return RunEstimate(
        voxels=voxels, mediators=n_med, cells=cells, snapshots=n_snaps,
        snapshot_bytes=float(n_snaps * total * n_snap_med * itemsize),
        checkpoint_bytes=float(field_bytes * 2 + cells * BYTES_PER_CELL),
        timeseries_bytes=float((rows * columns + trace_values) * 8),
        memory_bytes=float(BASE_MEMORY_BYTES + field_bytes * BYTES_PER_VOXEL_MEDIATOR_MODEL + cells * BYTES_PER_CELL
                           + (rows * columns + trace_values) * 8 * 3),
    )  # fmt: skip


def available_memory_bytes() -> float | None:
    """Memory available to a new allocation here (``MemAvailable`` on Linux), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:  # over a few dozen lines
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_resources(estimate: RunEstimate, out_dir, *, gpu: bool = False) -> None:
    """Refuse a run whose estimated disk need exceeds the free space of ``out_dir``, or whose memory exceeds what
    is available here (host memory; a GPU run's fields live on the device and are not checked here).

    Raises
    ------
    ConfigError
        A compartment, or all of them together, above :data:`~neuroagents.scenario.schema.MAX_VOXELS`.
    OutputError
        Not enough disk (naming the directory, the need and the free space, and what shrinks the need).
    ConfigError
        Not enough memory (naming the need per compartment and in total).
    """
    from neuroagents.scenario.schema import MAX_VOXELS

    for name, n in estimate.voxels.items():  # over compartments (a handful)
        if n > MAX_VOXELS:
            raise ConfigError(f"compartments.{name}" if len(estimate.voxels) > 1 else "tissue", f"{n:,} voxels",
                              f"at most {MAX_VOXELS:,} voxels; enlarge voxel_um or shrink it")  # fmt: skip
    if sum(estimate.voxels.values()) > MAX_VOXELS:
        raise ConfigError("compartments", f"{sum(estimate.voxels.values()):,} voxels in all",
                          f"at most {MAX_VOXELS:,} voxels together ({estimate.describe()})")  # fmt: skip
    free = shutil.disk_usage(out_dir).free
    if estimate.disk_bytes > free:
        raise OutputError(f"{out_dir}: the run needs up to {format_bytes(estimate.disk_bytes)} on disk and only "
                          f"{format_bytes(free)} is free ({estimate.describe()}); free space, give another --out, or "
                          "take fewer snapshots (--snapshot-every, --snapshot-mediators)")  # fmt: skip
    avail = available_memory_bytes()
    if not gpu and avail is not None and estimate.memory_bytes > avail:
        raise ConfigError("tissue", f"{sum(estimate.voxels.values()):,} voxels",
                          f"small enough to fit in memory: {estimate.describe()}, and {format_bytes(avail)} is "
                          "available here; enlarge voxel_um or shrink the tissue or its compartments")  # fmt: skip
