"""``neuroagents calibrate``: options and handler (heavy imports only when it runs)."""

from __future__ import annotations

import argparse

__all__ = ["calibrate", "configure_calibrate"]


def configure_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("calibration", metavar="CALIB.toml", help="a calibration file (see examples/calibrations/ and "
                   "docs/calibration.md)")  # fmt: skip
    p.add_argument("--out", default=None, metavar="DIR", help="calibration directory (default: "
                   "runs/calibrations/<name>); running the same command again continues from the last generation")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="run the particles on a local Dask cluster of N worker processes (default: in this "
                       "process, reproducible from the seed)")  # fmt: skip
    where.add_argument("--scheduler", default=None, metavar="ADDR",
                       help="run the particles on an existing Dask cluster: tcp://HOST:PORT or a scheduler file")
    p.add_argument("--force", action="store_true", help="discard a different calibration (and its database) in --out")
    p.add_argument("--quiet", action="store_true", help="no line per generation")


def calibrate(args: argparse.Namespace) -> int:
    import json

    from neuroagents.calibration.run import run_calibration
    from neuroagents.errors import ConfigError
    from neuroagents.progress import format_wall

    try:
        import pyabc  # noqa: F401
    except ImportError:
        raise ConfigError("calibrate", "pyabc", "installed: pip install -e '.[calibration]'") from None
    r = run_calibration(args.calibration, args.out, workers=args.workers, scheduler=args.scheduler,
                        force=args.force, progress=not args.quiet)  # fmt: skip
    wall = format_wall(r.wall_s)
    print(f"neuroagents calibrate: {r.generations} generations, {r.simulations} runs, wall time {wall}")
    summary = json.loads(r.files["summary"].read_text(encoding="utf-8"))["keys"]
    for key, s in summary.items():  # over calibrated keys: one line each
        print(f"  {key}: median {s['median']:.4g} {s['unit']} (90 % CI {s['ci90'][0]:.4g} to {s['ci90'][1]:.4g}; "
              f"prior {s['prior'][0]} {s['prior'][1]:g} to {s['prior'][2]:g})")  # fmt: skip
    print(f"  wrote    {', '.join(str(p) for p in r.files.values())}")
    return 0
