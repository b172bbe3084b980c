"""``neuroagents run SCENARIO --replicates N`` on the command line: its option checks and its report.

The work is :func:`neuroagents.batch.replicates.write_replicates`; this module is the command's thin layer, kept
out of :mod:`neuroagents.cli` so that the CLI module stays one idea (parsing and dispatch).
"""

from __future__ import annotations

import argparse

from neuroagents.exit_codes import EXIT_OK

__all__ = ["check_replicate_options", "run_replicates_command"]


def check_replicate_options(args: argparse.Namespace) -> None:
    """Refuse a bad ``--replicates`` and the options a run of replicates does not take, in one line each."""
    from neuroagents.batch.batches import check_batch_size
    from neuroagents.batch.replicates import REPLICATE_BATCH, check_replicates
    from neuroagents.errors import ConfigError

    check_replicates(args.replicates)
    if args.batch is None:
        args.batch = REPLICATE_BATCH
    check_batch_size(args.batch)
    why = "left out with --replicates N > 1 (replicates record time series only"
    if args.checkpoint_every is not None:
        raise ConfigError("--checkpoint-every", args.checkpoint_every, f"{why}, and are not checkpointed: a stopped "
                          "run of replicates keeps the replicates that finished; rerun it with --force)")  # fmt: skip
    if args.snapshot_every:
        raise ConfigError("--snapshot-every", args.snapshot_every, f"{why}; run one seed alone for snapshots)")
    if args.snapshot_mediators:
        raise ConfigError("--snapshot-mediators", args.snapshot_mediators, f"{why})")


def run_replicates_command(args: argparse.Namespace, scenario, out: str | None) -> int:
    """``neuroagents run SCENARIO --replicates N``: N seeds, one table (:mod:`neuroagents.batch.replicates`)."""
    from neuroagents.batch.commands import sigterm_as_interrupt
    from neuroagents.batch.replicates import write_replicates

    with sigterm_as_interrupt():  # SIGTERM (a batch scheduler) stops it as Ctrl-C does: the completed ones written
        result = write_replicates(scenario, args.replicates, args.out or out or f"runs/{scenario.scenario.name}",
                                  backend=args.backend, dtype=args.dtype, force=args.force,
                                  command=["neuroagents", *args.argv], batch=args.batch,
                                  posterior=getattr(args, "posterior", None))  # fmt: skip
    t, name = result.table, scenario.scenario.name
    drawn = f", each with a particle of {args.posterior}" if getattr(args, "posterior", None) else ""
    print(f"neuroagents run {name}: {args.replicates} replicates, seeds {result.seeds[0]} to {result.seeds[-1]} "
          f"(replicate k: seed {result.seeds[0]} + k){drawn}")  # fmt: skip
    print(f"  backend  {result.backend} ({result.device})")
    print(f"  wall     {result.wall_s:.1f} s, {3600 * args.replicates / max(result.wall_s, 1e-9):.3g} runs/h")
    last = t[t["time_min"] == t["time_min"].max()]
    for label, c, unit in (("withdrawal threshold", "withdrawal_threshold_g", "g"),
                           ("evoked pain", "pain_evoked_hz", "Hz")):  # fmt: skip
        if c in last:
            v = last[c].to_numpy(dtype=float)
            print(f"  last     {label} {v.mean():.3g} {unit} (mean; {v.min():.3g} to {v.max():.3g} over replicates)")
    print(f"  outputs  {', '.join(str(f) for f in result.files)}")
    return EXIT_OK
