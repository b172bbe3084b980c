"""``neuroagents cohort``: options and handler (heavy imports only when it runs)."""

from __future__ import annotations

import argparse

__all__ = ["cohort", "configure_cohort"]


def configure_cohort(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_sweep

    configure_sweep(p)  # the same options as a sweep: --out, --workers/--scheduler, --retries, --batch, --force
    for action in p._actions:  # the positional and the help texts that name a sweep
        if action.dest == "sweep":
            action.dest, action.metavar = "cohort", "COHORT.toml"
            action.help = "a cohort file (see examples/cohorts/ and docs/cohorts.md)"
        elif action.dest == "out":
            action.help = ("cohort directory (default: runs/cohorts/<name>); running the same command again skips "
                           "the individuals already finished there")  # fmt: skip
        elif action.dest == "force":
            action.help = "discard a different cohort already in --out"
        elif action.dest == "dry_run":
            action.help = "validate the file, draw the individuals and print them; run nothing"


def cohort(args: argparse.Namespace) -> int:
    from neuroagents.batch.batches import check_batch_size, default_batch_size, group_batches, structure_key
    from neuroagents.batch.commands import SweepFailedRuns, sigterm_as_interrupt
    from neuroagents.batch.executors import make_executor
    from neuroagents.cohort.run import plan_cohort, run_cohort
    from neuroagents.cohort.spec import load_cohort
    from neuroagents.errors import ConfigError
    from neuroagents.progress import format_wall

    if args.retries < 0:
        raise ConfigError("--retries", args.retries, "an integer >= 0")
    if args.batch is not None:
        check_batch_size(args.batch)
    spec = load_cohort(args.cohort)
    sexes = "the scenario's sex" if spec.female_fraction is None else f"{spec.female_fraction:.0%} female"
    if args.dry_run:
        people, tasks, _ = plan_cohort(spec)
        print(people.to_string(index=False, max_rows=40))
        batch = default_batch_size(spec.backend) if args.batch is None else args.batch
        structures = len({structure_key(t.scenario, t.backend, t.dtype) for t in tasks})
        print(f"\ncohort {spec.name}: {len(tasks)} individuals ({sexes}, {len(spec.keys)} varied parameters) of "
              f"scenario {spec.scenario}; every individual's scenario validated; {structures} "
              f"structure{'s' if structures > 1 else ''}, {len(group_batches(tasks, batch))} batches of up to "
              f"{batch} runs")  # fmt: skip
        return 0
    executor = make_executor(args.workers, args.scheduler)
    with sigterm_as_interrupt():  # a batch scheduler's SIGTERM stops it as Ctrl-C does: cleanly, resumable
        c = run_cohort(args.cohort, args.out, executor=executor, force=args.force, retries=args.retries,
                       batch=args.batch)  # fmt: skip
    r = c.runs
    print(f"neuroagents cohort {spec.name}: {r.n_runs} individuals ({sexes}, {len(spec.keys)} varied parameters) "
          f"of scenario {spec.scenario}; batches of up to {r.batch} run{'s' if r.batch > 1 else ''}")  # fmt: skip
    print(f"  ran      {len(r.done)} now {r.executor or '(nothing to run)'}, {r.done_before} done before; "
          f"{r.retried} succeeded on a retry; wall time {format_wall(r.wall_s)}")  # fmt: skip
    print(f"  table    {c.path}  (one row per individual: sex, seed, drawn values, readouts)")
    if r.failed:
        first = next(iter(r.failed.items()))
        raise SweepFailedRuns(f"{len(r.failed)} of {r.n_runs} individuals failed every attempt (e.g. {first[0]}: "
                              f"{first[1]}); their errors are in {r.out_dir / 'runs'}; the others are in the table; "
                              "run the same command again to retry them")  # fmt: skip
    return 0
