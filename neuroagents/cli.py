"""The ``neuroagents`` command line.

Subcommands are entries of :data:`COMMANDS`: a name, a one-line help, a
function that adds the subcommand's options to its parser and a handler that
runs it and returns the exit status. A later feature (``dashboard``,
``bench``) adds one entry; the
handlers import what they need when they run, so ``neuroagents --version``
stays fast.

Errors a person can act on (:class:`~neuroagents.errors.NeuroagentsError`)
and bad options become one line on stderr and exit status 2; ``--debug``
shows the traceback instead.

Examples
--------
>>> args = build_parser().parse_args(["run", "--hours", "1", "--backend", "numpy"])
>>> args.command, args.scenario, args.hours, args.backend
('run', None, 1.0, 'numpy')
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import neuroagents
from neuroagents import cli_catalogues as catalogues
from neuroagents.errors import NeuroagentsError
from neuroagents.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

__all__ = ["COMMANDS", "Command", "build_parser", "main"]



class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``neuroagents run: error: ...``."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@dataclass(frozen=True)
class Command:
    """One subcommand.

    Attributes
    ----------
    name : str
    help : str
        One line for ``neuroagents --help``.
    configure : callable
        ``configure(parser)`` adds the subcommand's arguments.
    handler : callable
        ``handler(args) -> int`` runs it and returns the exit status.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


# --- run ----------------------------------------------------------------------------------------
FIRST_RUN_SCENARIO = "sni"
"""What ``neuroagents run`` without a scenario runs: spared nerve injury (paw, DRG, dorsal horn; cells and pain)."""
FIRST_RUN_DAYS = 3.0
"""... for this many simulated days (about 10 s on 2 cores): the withdrawal threshold falls, evoked pain rises."""
FIRST_RUN_OUT = "runs/first_run"
"""Its default output directory."""


def _configure_run(p: argparse.ArgumentParser) -> None:
    from neuroagents.backend import BACKEND_CHOICES
    from neuroagents.tissue.microenvironment import DTYPES

    p.add_argument(
        "scenario",
        nargs="?",
        help="a built-in scenario name (see 'neuroagents scenarios') or a .toml file; leave out for the first run: "
        f"{FIRST_RUN_DAYS:g} days of '{FIRST_RUN_SCENARIO}' (spared nerve injury)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"output directory (default: runs/<scenario name>, or {FIRST_RUN_OUT} without a scenario)",
    )
    p.add_argument("--force", action="store_true", help="write over the outputs of an earlier run in --out")
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKEND_CHOICES,
        help="array backend; auto takes cupy only when a GPU is really usable (default: %(default)s)",
    )
    p.add_argument("--dtype", default="float64", choices=DTYPES, help="field precision (default: %(default)s)")
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--hours", type=float, default=None, metavar="H", help="simulated time, h (default: the scenario's)"
    )
    when.add_argument("--days", type=float, default=None, metavar="D", help="simulated time, days (instead of --hours)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the run")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, value read as TOML, e.g. --set cells.macrophage.speed_um_per_min=3 "
        "(repeatable)",
    )
    p.add_argument(
        "--snapshot-every",
        type=float,
        default=None,
        metavar="MIN",
        help="field snapshots (fields.zarr) every MIN simulated minutes, plus the first and last state; 0 for none "
        "(default: 1440 when xarray and zarr are installed)",
    )
    p.add_argument(
        "--snapshot-mediators",
        default=None,
        metavar="A,B",
        help="mediators to keep in the snapshots, comma-separated (default: all)",
    )
    p.add_argument(
        "--replicates",
        type=int,
        default=1,
        metavar="N",
        help="run N replicates, seeds SEED, SEED+1, ... (SEED: --seed or the scenario's), into one timeseries.parquet "
        "with a replicate column; time series only, no snapshots or checkpoints (default: %(default)s, one run)",
    )
    p.add_argument(
        "--posterior",
        default=None,
        metavar="FILE",
        help="with --replicates: replicate k also takes the values of a particle drawn by weight from FILE (a "
        "calibration's posterior.parquet); summary.png shows the 90%% credible band",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="B",
        help="with --replicates: replicates stepped together in lockstep, B at a time (default: 8); a stopped run "
        "loses the batch in progress, never a finished one",
    )
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=None,
        metavar="MIN",
        help="write checkpoint.pkl every MIN simulated minutes, for 'neuroagents resume DIR' (default: only when "
        "stopped by Ctrl-C or SIGTERM)",
    )


def _run(args: argparse.Namespace) -> int:
    if args.scenario is not None:
        return _run_scenario(args)
    overrides = _first_run_overrides(args)
    print(f"neuroagents run: no scenario given, so the first run: {FIRST_RUN_DAYS:g} days of spared nerve injury in "
          f"the mouse (the '{FIRST_RUN_SCENARIO}' scenario: paw, DRG and dorsal horn, with cells and pain). The whole "
          f"28 days: 'neuroagents run {FIRST_RUN_SCENARIO}'; the others: 'neuroagents scenarios'.")  # fmt: skip
    return _run_scenario(args, FIRST_RUN_SCENARIO, overrides, FIRST_RUN_OUT)


def _first_run_overrides(args: argparse.Namespace) -> list[str]:
    """The first run's duration, unless ``--days``, ``--hours`` or a ``--set scenario.duration_...`` gives one."""
    own = args.days is not None or args.hours is not None
    own = own or any(s.replace(" ", "").startswith("scenario.duration_") for s in args.set or [])
    return [] if own else [f"scenario.duration_days={FIRST_RUN_DAYS!r}"]


def _scenario_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` options, then ``--seed``, ``--days`` and ``--hours`` as overrides of the scenario."""
    overrides = list(args.set or [])
    if getattr(args, "seed", None) is not None:
        overrides.append(f"scenario.seed={args.seed}")
    if getattr(args, "days", None) is not None:
        overrides.append(f"scenario.duration_days={args.days!r}")
    if getattr(args, "hours", None) is not None:
        overrides.append(f"scenario.duration_min={args.hours * 60.0!r}")
    return overrides


def _run_scenario(args: argparse.Namespace, name: str | None = None, first: Sequence[str] = (),
                  out: str | None = None) -> int:  # fmt: skip
    """Run the scenario ``name`` (default: the one given) with the overrides ``first`` before the options'."""
    from neuroagents.scenario import load_scenario
    from neuroagents.scenario.runner import run_scenario

    replicates = getattr(args, "replicates", 1)
    if replicates == 1 and getattr(args, "batch", None) is not None:
        from neuroagents.errors import ConfigError

        raise ConfigError("--batch", args.batch, "given with --replicates N > 1 only (replicates stepped together)")
    if replicates == 1 and getattr(args, "posterior", None) is not None:
        from neuroagents.errors import ConfigError

        raise ConfigError("--posterior", args.posterior, "given with --replicates N > 1 (the draws make the band)")
    if replicates != 1:
        from neuroagents.batch.replicate_command import check_replicate_options

        check_replicate_options(args)
    scenario = load_scenario(name or args.scenario, [*first, *_scenario_overrides(args)])
    if replicates != 1:
        from neuroagents.batch.replicate_command import run_replicates_command

        return run_replicates_command(args, scenario, out)
    snapshot_every = "default" if args.snapshot_every is None else (args.snapshot_every or None)
    mediators = None
    if args.snapshot_mediators:
        mediators = [m.strip() for m in args.snapshot_mediators.split(",") if m.strip()]
    result = run_scenario(
        scenario,
        args.out or out or f"runs/{scenario.scenario.name}",
        backend=args.backend,
        dtype=args.dtype,
        force=args.force,
        command=["neuroagents", *args.argv],
        snapshot_every_min=snapshot_every,
        snapshot_mediators=mediators,
        checkpoint_every_min=args.checkpoint_every,
        handle_signals=True,
    )
    return _report_run("run", scenario, result)


def _report_run(command: str, scenario, result) -> int:
    """Print what a run did (stdout); a run stopped by a signal says how to resume it and exits 130."""
    from neuroagents.scenario.runner import format_minutes

    t, name = scenario.tissue, scenario.scenario.name
    last = result.table.iloc[-1]
    print(
        f"neuroagents {command} {name}: {t.width_um / 1000:g} x {t.height_um / 1000:g} mm"
        f"{f' x {t.depth_um / 1000:g} mm' if t.depth_um else ''} ({' x '.join(map(str, t.shape))} voxels of "
        f"{t.voxel_um:g} µm), {scenario.scenario.species}, seed {scenario.scenario.seed}"
    )
    print(f"  backend  {result.backend} ({result.device})")
    print(
        f"  steps    {result.steps} to t = {format_minutes(result.simulated_min)} ({result.simulated_min:g} min); "
        f"wall time {result.wall_s:.1f} s"
    )
    readouts = [("withdrawal threshold", "withdrawal_threshold_g", "g"), ("pain", "pain_ongoing_hz", "Hz ongoing"),
                ("", "pain_evoked_hz", "Hz evoked")]  # fmt: skip
    shown = [f"{label} {float(last[c]):.3g} {unit}".strip() for label, c, unit in readouts if c in last]
    if shown:
        print(f"  last     {', '.join(shown)} (t = {format_minutes(float(last['time_min']))})")
    print(f"  outputs  {', '.join(str(f) for f in result.files)}")
    if result.status == "interrupted":
        print(f"neuroagents {command}: stopped at t = {result.simulated_min:g} min with a checkpoint; continue with "
              f"'neuroagents resume {result.out_dir}'", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    return EXIT_OK


# --- resume -------------------------------------------------------------------------------------
def _configure_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="the output directory of a run stopped after a checkpoint")


def _resume(args: argparse.Namespace) -> int:
    from neuroagents.scenario.runner import resume_run

    result = resume_run(args.dir, command=["neuroagents", *args.argv], handle_signals=True)
    return _report_run("resume", result.scenario, result)


# --- scenarios, mediators, info: neuroagents/cli_catalogues.py ------------------------------------
# --- sweep, analyze (neuroagents.batch) ---------------------------------------------------------------
def _configure_sweep(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_sweep

    configure_sweep(p)


def _sweep(args: argparse.Namespace) -> int:
    from neuroagents.batch.commands import sweep

    return sweep(args)


def _configure_analyze(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_analyze

    configure_analyze(p)


def _analyze(args: argparse.Namespace) -> int:
    from neuroagents.batch.commands import analyze

    return analyze(args)


# --- cohort (neuroagents.cohort) ----------------------------------------------------------------------
def _configure_cohort(p: argparse.ArgumentParser) -> None:
    from neuroagents.cohort.command import configure_cohort

    configure_cohort(p)


def _cohort(args: argparse.Namespace) -> int:
    from neuroagents.cohort.command import cohort

    return cohort(args)


# --- trial (neuroagents.trial) ------------------------------------------------------------------------
def _configure_trial(p: argparse.ArgumentParser) -> None:
    from neuroagents.trial.command import configure_trial

    configure_trial(p)


def _trial(args: argparse.Namespace) -> int:
    from neuroagents.trial.command import trial

    return trial(args)


# --- calibrate (neuroagents.calibration) --------------------------------------------------------------
def _configure_calibrate(p: argparse.ArgumentParser) -> None:
    from neuroagents.calibration.command import configure_calibrate

    configure_calibrate(p)


def _calibrate(args: argparse.Namespace) -> int:
    from neuroagents.calibration.command import calibrate

    return calibrate(args)


# --- dashboard (viz/server.py) -----------------------------------------------------------------------
def _configure_dashboard(p: argparse.ArgumentParser) -> None:
    from viz.server import configure

    configure(p)


def _dashboard(args: argparse.Namespace) -> int:
    from viz.server import handle

    return handle(args)


COMMANDS: list[Command] = [
    Command(
        "run", f"run a scenario (without one: {FIRST_RUN_DAYS:g} days of spared nerve injury)", _configure_run, _run
    ),
    Command("resume", "carry on a stopped run from its checkpoint to its end", _configure_resume, _resume),
    Command(
        "scenarios", "list the built-in scenarios, or show one resolved", catalogues.configure_scenarios,
        catalogues.scenarios,
    ),
    Command(
        "mediators", "list the mediator catalogue with its sources", catalogues.configure_mediators,
        catalogues.mediators,
    ),
    Command(
        "info", "versions, GPU status, numba threads, where the built-in scenarios are", catalogues.configure_info,
        catalogues.info,
    ),
    Command("sweep", "run a sweep file: many runs over parameters and seeds, resumable", _configure_sweep, _sweep),
    Command("analyze", "Sobol or Morris sensitivity indices of a finished sweep", _configure_analyze, _analyze),
    Command("cohort", "run a virtual cohort: individuals differing in sex and parameters, one row each",
            _configure_cohort, _cohort),
    Command("trial", "run a virtual trial: a cohort allocated to arms, endpoints, arms compared with the control",
            _configure_trial, _trial),
    Command("calibrate", "Bayesian calibration (ABC-SMC) of named parameters against published time courses",
            _configure_calibrate, _calibrate),
    Command("dashboard", "serve the live dashboard and lessons in a web browser", _configure_dashboard, _dashboard),
]
"""The subcommands, in the order ``--help`` lists them. Later features append theirs."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per entry of :data:`COMMANDS`."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's default must not overwrite '--debug' given before the subcommand.
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks instead of one-line errors"
    )
    parser = _Parser(
        prog="neuroagents",
        description="Agent-based tissue simulator of neuro-immune interactions in chronic pain.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"neuroagents {neuroagents.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:  # over subcommands
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[common])
        cmd.configure(p)
        p.set_defaults(handler=cmd.handler)
    return parser


class _LogToStderr:
    """Show the ``neuroagents`` logger's INFO lines (e.g. which backend "auto" chose) on stderr, then undo."""

    def __enter__(self):
        self.log = logging.getLogger("neuroagents")
        self.level = self.log.level
        self.handler = logging.StreamHandler(sys.stderr)
        self.handler.setFormatter(logging.Formatter("neuroagents: %(message)s"))
        self.log.addHandler(self.handler)
        if self.level == logging.NOTSET or self.level > logging.INFO:
            self.log.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        self.log.removeHandler(self.handler)
        self.log.setLevel(self.level)
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for an error the user can fix, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    args.argv = argv
    debug = getattr(args, "debug", False)
    try:
        with _LogToStderr():
            return args.handler(args)
    except NeuroagentsError as exc:
        if debug:
            raise
        message = " ".join(str(exc).split())  # one line, whatever the message
        print(f"neuroagents {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"neuroagents {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        if debug:
            raise
        print(f"neuroagents {args.command}: error: out of memory; shrink the tissue (or enlarge voxel_um), or run "
              "where there is more memory", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    except OSError as exc:  # a file the command could not read or write: which one, and why
        if debug:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"neuroagents {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
