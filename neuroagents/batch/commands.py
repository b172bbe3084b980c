"""``neuroagents sweep`` and ``neuroagents analyze``: options and handlers (heavy imports only when they run)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from neuroagents.errors import NeuroagentsError

__all__ = ["FILES", "SweepFailedRuns", "analyze", "check_run_options", "configure_analyze", "configure_sweep",
           "report_runs", "sigterm_as_interrupt", "sweep"]


class SweepFailedRuns(NeuroagentsError):
    """Some runs of a sweep failed every attempt; the others are written."""


FILES = {"sweep": ("runs", "docs/headless.md", "print the runs"),
         "cohort": ("individuals", "docs/cohorts.md", "draw the individuals and print them"),
         "trial": ("subjects", "docs/trials.md", "draw and allocate the subjects and print them")}
"""What each kind of runs file calls its runs, where it is documented, and what its --dry-run shows."""


def configure_sweep(p: argparse.ArgumentParser, kind: str = "sweep") -> None:
    """The options of ``neuroagents sweep`` (``kind``: also ``cohort`` and ``trial``, which take the same)."""
    unit, doc, shows = FILES[kind]
    p.add_argument(kind, metavar=f"{kind.upper()}.toml", help=f"a {kind} file (see examples/{kind}s/ and {doc})")
    p.add_argument("--out", default=None, metavar="DIR", help=f"{kind} directory (default: runs/{kind}s/<name>); "
                   f"running the same command again skips the {unit} already finished there")  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="run on a local Dask cluster of N worker processes (default: in this process)")
    where.add_argument("--scheduler", default=None, metavar="ADDR",
                       help="run on an existing Dask cluster: its scheduler, tcp://HOST:PORT, or a scheduler "
                       "file (.json)")  # fmt: skip
    p.add_argument("--retries", type=int, default=1, metavar="K", help="further attempts of a failed run "
                   "(default: %(default)s)")  # fmt: skip
    p.add_argument("--batch", type=int, default=None, metavar="N",
                   help="runs of one structure (same grids, mediators, steps) per worker task, stepped together in "
                   "lockstep (default: 1, each run its own task)")  # fmt: skip
    p.add_argument("--force", action="store_true", help=f"discard a different {kind} already in --out")
    p.add_argument("--dry-run", action="store_true", help=f"validate the file, {shows}; run nothing")


def check_run_options(args: argparse.Namespace) -> None:
    """Refuse a negative ``--retries`` and a bad ``--batch`` (sweep, cohort, trial)."""
    from neuroagents.batch.batches import check_batch_size
    from neuroagents.errors import ConfigError

    if args.retries < 0:
        raise ConfigError("--retries", args.retries, "an integer >= 0")
    if args.batch is not None:
        check_batch_size(args.batch)


def report_runs(r, unit: str = "runs", lines=()) -> None:
    """Print the line saying what ran (a :class:`~neuroagents.batch.sweep.SweepResult`), then ``lines``; raise
    :class:`SweepFailedRuns` when some runs failed every attempt."""
    from neuroagents.progress import format_wall

    print(f"  ran      {len(r.done)} now {r.executor or '(nothing to run)'}, {r.done_before} done before; "
          f"{r.retried} succeeded on a retry; wall time {format_wall(r.wall_s)}")  # fmt: skip
    for line in lines:  # over the caller's lines
        print(line)
    if r.failed:
        first = next(iter(r.failed.items()))
        raise SweepFailedRuns(f"{len(r.failed)} of {r.n_runs} {unit} failed every attempt (e.g. {first[0]}: "
                              f"{first[1]}); their errors are in {r.out_dir / 'runs'}; the other {unit} are written; "
                              "run the same command again to retry them")  # fmt: skip


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Turn SIGTERM into KeyboardInterrupt for the duration (main thread only; elsewhere a no-op)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def sweep(args: argparse.Namespace) -> int:
    from neuroagents.batch.batches import default_batch_size, group_batches, structure_key
    from neuroagents.batch.executors import make_executor
    from neuroagents.batch.spec import load_sweep
    from neuroagents.batch.sweep import plan_sweep, run_sweep

    check_run_options(args)
    spec = load_sweep(args.sweep)
    if args.dry_run:
        design, tasks, _ = plan_sweep(spec)
        print(design.table().to_string(index=False, max_rows=40))
        batch = default_batch_size(spec.backend) if args.batch is None else args.batch
        structures = len({structure_key(t.scenario, t.backend, t.dtype) for t in tasks})
        print(f"\nsweep {spec.name}: {len(design.points)} points x {spec.replicates} replicates = {len(tasks)} runs "
              f"of scenario {spec.scenario} ({spec.method} design); every run's scenario validated; "
              f"{structures} structure{'s' if structures > 1 else ''}, {len(group_batches(tasks, batch))} batches of "
              f"up to {batch} runs")  # fmt: skip
        return 0
    executor = make_executor(args.workers, args.scheduler)
    with sigterm_as_interrupt():  # a batch scheduler's SIGTERM stops the sweep as Ctrl-C does: cleanly, resumable
        r = run_sweep(args.sweep, args.out, executor=executor, force=args.force, retries=args.retries,
                      batch=args.batch)  # fmt: skip
    print(f"neuroagents sweep {spec.name}: {r.n_runs} runs ({spec.method} design, {spec.replicates} replicates) "
          f"of scenario {spec.scenario}; batches of up to {r.batch} run{'s' if r.batch > 1 else ''}")  # fmt: skip
    report_runs(r, lines=[f"  results  {r.out_dir / 'results'}  (pandas.read_parquet of that directory: one table, "
                          "a run_id column)"])  # fmt: skip
    if spec.method in ("sobol", "morris"):
        print(f"  next     neuroagents analyze {r.out_dir}")
    return 0


def configure_analyze(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="SWEEP_DIR", help="the directory of a finished sobol or morris sweep")
    p.add_argument("--readout", action="append", default=None, metavar="COLUMN",
                   help="a time-series column to analyze (repeatable; default: the sweep file's [analysis] "
                   "readouts)")  # fmt: skip
    p.add_argument("--at", default=None, metavar="end|mean|MIN",
                   help="the value at the end, the mean over time, or at a time in minutes (default: the sweep "
                   "file's)")  # fmt: skip


def analyze(args: argparse.Namespace) -> int:
    from neuroagents.batch.analyze import analyze_sweep
    from neuroagents.errors import ConfigError

    at = args.at
    if at is not None and at not in ("end", "mean"):
        try:
            at = float(at)
        except ValueError:
            raise ConfigError("--at", at, "'end', 'mean' or a time in minutes") from None
    a = analyze_sweep(args.dir, readouts=args.readout, at=at)
    table = a.indices.pivot_table(index=["readout", "parameter"], columns="index", values="value", sort=False)
    print(f"neuroagents analyze {args.dir}: {a.method} indices")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    for note in a.notes:  # over notes
        print(f"  note: {note}", file=sys.stderr)
    print(f"  wrote    {a.csv}, {a.png}")
    return 0
