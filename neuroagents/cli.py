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
>>> args.command, args.hours, args.backend, args.kernel
('run', 1.0, 'numpy', 'auto')
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import neuroagents
from neuroagents.errors import NeuroagentsError

__all__ = ["COMMANDS", "Command", "build_parser", "main"]

EXIT_OK = 0
EXIT_USAGE = 2
"""Bad options, bad values, an unavailable backend: anything the user can fix."""
EXIT_INTERRUPTED = 130


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
def _configure_run(p: argparse.ArgumentParser) -> None:
    from neuroagents.backend import BACKEND_CHOICES
    from neuroagents.tissue.diffusion.registry import KERNELS, SOLVERS
    from neuroagents.tissue.microenvironment import DTYPES

    p.add_argument(
        "scenario",
        nargs="?",
        help="a built-in scenario name (see 'neuroagents scenarios') or a .toml file; leave out to run the embedded "
        "demo",
    )
    p.add_argument("--demo", action="store_true", help="run the embedded demo (the default without a scenario)")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="output directory (default: runs/<scenario name>, or runs/demo)"
    )
    p.add_argument("--force", action="store_true", help="write over the outputs of an earlier run in --out")
    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKEND_CHOICES,
        help="array backend; auto takes cupy only when a GPU is really usable (default: %(default)s)",
    )
    p.add_argument(
        "--solver", default="lod", choices=SOLVERS, help="diffusion solver, demo only (default: %(default)s)"
    )
    p.add_argument(
        "--kernel",
        default="auto",
        choices=("auto", *KERNELS),
        help="solver implementation, demo only; auto takes the backend's fast kernel (default: %(default)s)",
    )
    p.add_argument("--dtype", default="float64", choices=DTYPES, help="field precision (default: %(default)s)")
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--hours", type=float, default=None, metavar="H", help="simulated time, h (default: the scenario's; demo 6)"
    )
    when.add_argument("--days", type=float, default=None, metavar="D", help="simulated time, days (instead of --hours)")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="seed of the run (scenario only)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, value read as TOML, e.g. --set cells.macrophage.speed_um_per_min=3 "
        "(repeatable; scenario only)",
    )
    p.add_argument(
        "--snapshot-every",
        type=float,
        default=None,
        metavar="MIN",
        help="field snapshots (fields.zarr) every MIN simulated minutes, plus the first and last state; 0 for none "
        "(default: 1440 when xarray and zarr are installed; scenario only)",
    )
    p.add_argument(
        "--snapshot-mediators",
        default=None,
        metavar="A,B",
        help="mediators to keep in the snapshots, comma-separated (default: all; scenario only)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=None,
        metavar="MIN",
        help="write checkpoint.pkl every MIN simulated minutes, for 'neuroagents resume DIR' (default: only when "
        "stopped by Ctrl-C or SIGTERM; scenario only)",
    )


_SCENARIO_ONLY = ("set", "seed", "snapshot_every", "snapshot_mediators", "checkpoint_every")


def _run(args: argparse.Namespace) -> int:
    if args.scenario is not None:
        if args.demo:
            raise NeuroagentsError(f"give a scenario or --demo, not both (scenario: {args.scenario!r})")
        return _run_scenario(args)
    given = [f"--{k.replace('_', '-')}" for k in _SCENARIO_ONLY if getattr(args, k, None) not in (None, [])]
    if given:
        raise NeuroagentsError(f"{' and '.join(given)} need a scenario (e.g. 'neuroagents run healthy --seed 2')")
    from neuroagents import demo

    hours = demo.DEFAULT_HOURS if args.hours is None and args.days is None else args.hours
    if args.days is not None:
        hours = args.days * 24.0
    result = demo.run_demo(
        args.out or "runs/demo",
        hours=hours,
        backend=args.backend,
        solver=args.solver,
        kernel=args.kernel,
        dtype=args.dtype,
        force=args.force,
        command=["neuroagents", *args.argv],
    )
    shape = " x ".join(map(str, demo.GRID_SHAPE))
    final = result.table[result.table["time_min"] == result.table["time_min"].max()]
    print(f"neuroagents demo: {shape} voxels of {demo.VOXEL_UM:g} µm, {len(demo.MEDIATORS)} mediators, {hours:g} h")
    print(
        f"  backend  {result.backend} ({result.device}), kernel {result.kernel}, solver {result.solver}, "
        f"dtype {result.dtype}"
    )
    print(
        f"  steps    {result.steps} to t = {result.simulated_min:g} min; wall time {result.wall_s:.1f} s "
        f"(stepping {result.step_wall_s:.1f} s)"
    )
    for row in final.itertuples():  # over mediators, for people
        print(f"  {row.mediator:<10} mean {row.mean_nM:.3g} nM, max {row.max_nM:.3g} nM")
    print(f"  outputs  {', '.join(str(f) for f in result.files)}")
    return EXIT_OK


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


def _run_scenario(args: argparse.Namespace) -> int:
    from neuroagents.scenario import load_scenario
    from neuroagents.scenario.runner import run_scenario

    if args.solver != "lod" or args.kernel != "auto":
        raise NeuroagentsError(
            f"--solver {args.solver} --kernel {args.kernel}: a scenario runs the model, which always uses the lod "
            "solver with the backend's fast kernel; --solver and --kernel apply to the demo only"
        )
    scenario = load_scenario(args.scenario, _scenario_overrides(args))
    snapshot_every = "default" if args.snapshot_every is None else (args.snapshot_every or None)
    mediators = None
    if args.snapshot_mediators:
        mediators = [m.strip() for m in args.snapshot_mediators.split(",") if m.strip()]
    result = run_scenario(
        scenario,
        args.out or f"runs/{scenario.scenario.name}",
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


# --- scenarios ----------------------------------------------------------------------------------
def _configure_scenarios(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="print this scenario resolved (inheritance and --set applied) as JSON")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (with a scenario; repeatable)"
    )


def _scenarios(args: argparse.Namespace) -> int:
    from neuroagents.errors import ConfigError
    from neuroagents.scenario import BUILTIN_DIR, builtin_scenarios, load_scenario

    if args.scenario is not None:
        import json

        s = load_scenario(args.scenario, args.set)
        print(json.dumps({"files": list(s.files), "overrides": list(s.overrides), **s.resolved()}, indent=2))
        return EXIT_OK
    if args.set:
        raise NeuroagentsError("--set needs a scenario (e.g. 'neuroagents scenarios healthy --set scenario.seed=2')")
    rows, status = [], EXIT_OK
    for name in builtin_scenarios():  # over built-in files
        try:
            rows.append((name, load_scenario(name).scenario.description or "(no description)"))
        except ConfigError as exc:
            rows.append((name, f"DOES NOT LOAD: {' '.join(str(exc).split())}"))
            status = EXIT_USAGE
    width = max((len(n) for n, _ in rows), default=0)
    for name, text in rows:  # over built-in scenarios, for people
        print(f"{name:<{width}}  {text}")
    print(f"\n{len(rows)} built-in scenarios in {BUILTIN_DIR}. Run one with 'neuroagents run NAME'; show one "
          "resolved with 'neuroagents scenarios NAME'.")  # fmt: skip
    return status


# --- mediators ----------------------------------------------------------------------------------
def _configure_mediators(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", action="store_true", help="print CSV (every field and source) instead of a table")


def _format_half_life(minutes: float) -> str:
    if minutes == float("inf"):
        return "stable"
    if minutes < 1:
        return f"{minutes * 60:.3g} s"
    if minutes < 120:
        return f"{minutes:.3g} min"
    return f"{minutes / 60:.3g} h"


def _mediators(args: argparse.Namespace) -> int:
    from neuroagents.mediators import CATALOGUE

    if args.csv:
        import csv

        keys = ("diffusion_um2_per_min", "decay_per_min", "molecular_mass_kda")
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["name", *keys, "half_life_min", "diffusion_length_um", *(f"source_{k}" for k in keys)])
        for m in CATALOGUE.values():  # over catalogue entries
            w.writerow(
                [m.name, *(getattr(m, k) for k in keys), m.half_life_min, m.diffusion_length_um]
                + [m.sources.get(k, "") for k in keys]
            )
        return EXIT_OK
    header = ("name", "D µm²/min", "half-life", "length µm", "kDa", "description")
    rows = [
        (
            m.name,
            f"{m.diffusion_um2_per_min:,.0f}",
            _format_half_life(m.half_life_min),
            f"{m.diffusion_length_um:,.0f}",
            f"{m.molecular_mass_kda:.4g}",
            m.description,
        )
        for m in CATALOGUE.values()
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    labels = {"diffusion_um2_per_min": "D", "decay_per_min": "decay", "molecular_mass_kda": "mass"}

    def line(cells):
        left = cells[0].ljust(widths[0])
        mid = "  ".join(c.rjust(w) for c, w in zip(cells[1:-1], widths[1:], strict=True))
        return f"{left}  {mid}  {cells[-1]}"

    print(line(header))
    for m, r in zip(CATALOGUE.values(), rows, strict=True):  # over catalogue entries
        print(line(r))
        for key, label in labels.items():
            print(f"{'':{widths[0]}}    {label}: {m.sources.get(key, '(none)')}")
    print(
        f"\n{len(rows)} mediators. length = sqrt(D / decay), how far a field reaches from a source. Sources flagged"
        " V (read in a publication), M (another model's choice), U (unverified) or 'assumption'; see"
        " neuroagents/mediators.py."
    )
    return EXIT_OK


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


# --- dashboard (viz/server.py) -----------------------------------------------------------------------
def _configure_dashboard(p: argparse.ArgumentParser) -> None:
    from viz.server import configure

    configure(p)


def _dashboard(args: argparse.Namespace) -> int:
    from viz.server import handle

    return handle(args)


COMMANDS: list[Command] = [
    Command("run", "run a simulation (the embedded demo when no scenario is given)", _configure_run, _run),
    Command("resume", "carry on a stopped run from its checkpoint to its end", _configure_resume, _resume),
    Command("scenarios", "list the built-in scenarios, or show one resolved", _configure_scenarios, _scenarios),
    Command(
        "mediators",
        "list the mediator catalogue with its sources",
        _configure_mediators,
        _mediators,
    ),
    Command("sweep", "run a sweep file: many runs over parameters and seeds, resumable", _configure_sweep, _sweep),
    Command("analyze", "Sobol or Morris sensitivity indices of a finished sweep", _configure_analyze, _analyze),
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
