"""The catalogue subcommands: ``neuroagents scenarios``, ``mediators`` and ``info`` (what is there, with sources).

Each is a ``configure(parser)`` and a ``handler(args) -> exit status`` pair that :mod:`neuroagents.cli` lists in its
``COMMANDS``; the handlers import what they need when they run (the exit codes too: they are the CLI's).
"""

from __future__ import annotations

import argparse
import sys

from neuroagents.errors import NeuroagentsError
from neuroagents.exit_codes import EXIT_OK, EXIT_USAGE

__all__ = ["configure_info", "configure_mediators", "configure_scenarios", "info", "mediators", "scenarios"]


# --- scenarios ----------------------------------------------------------------------------------
def configure_scenarios(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", help="print this scenario resolved (inheritance and --set applied) as JSON")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (with a scenario; repeatable)"
    )


def scenarios(args: argparse.Namespace) -> int:
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
def configure_mediators(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", action="store_true", help="print CSV (every field and source) instead of a table")


def _format_half_life(minutes: float) -> str:
    if minutes == float("inf"):
        return "stable"
    if minutes < 1:
        return f"{minutes * 60:.3g} s"
    if minutes < 120:
        return f"{minutes:.3g} min"
    return f"{minutes / 60:.3g} h"


def mediators(args: argparse.Namespace) -> int:
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


# --- info ---------------------------------------------------------------------------------------
def configure_info(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of lines for people")


def info(args: argparse.Namespace) -> int:
    from neuroagents.info import collect, format_info

    facts = collect()
    if args.json:
        import json

        print(json.dumps(facts, indent=2))
    else:
        print(format_info(facts))
    return EXIT_OK
