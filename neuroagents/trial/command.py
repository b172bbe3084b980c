"""``neuroagents trial``: options and handler (heavy imports only when it runs)."""

from __future__ import annotations

import argparse

__all__ = ["configure_trial", "trial"]


def configure_trial(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_sweep

    configure_sweep(p)  # the same options as a sweep: --out, --workers/--scheduler, --retries, --batch, --force
    for action in p._actions:  # the positional and the help texts that name a sweep
        if action.dest == "sweep":
            action.dest, action.metavar = "trial", "TRIAL.toml"
            action.help = "a trial file (see examples/trials/ and docs/trials.md)"
        elif action.dest == "out":
            action.help = ("trial directory (default: runs/trials/<name>); running the same command again skips "
                           "the subjects already finished there")  # fmt: skip
        elif action.dest == "force":
            action.help = "discard a different trial already in --out"
        elif action.dest == "dry_run":
            action.help = "validate the file, draw and allocate the subjects and print them; run nothing"


def trial(args: argparse.Namespace) -> int:
    from neuroagents.batch.batches import check_batch_size, default_batch_size, group_batches, structure_key
    from neuroagents.batch.commands import SweepFailedRuns, sigterm_as_interrupt
    from neuroagents.batch.executors import make_executor
    from neuroagents.errors import ConfigError
    from neuroagents.progress import format_wall
    from neuroagents.trial.run import plan_trial, run_trial
    from neuroagents.trial.spec import load_trial

    if args.retries < 0:
        raise ConfigError("--retries", args.retries, "an integer >= 0")
    if args.batch is not None:
        check_batch_size(args.batch)
    spec = load_trial(args.trial)
    what = (f"{spec.cohort.size} subjects in {len(spec.arms)} arms ({', '.join(spec.arm_names)}; control "
            f"{spec.control}) of scenario {spec.cohort.scenario}")  # fmt: skip
    if args.dry_run:
        people, tasks, _ = plan_trial(spec)
        print(people.to_string(index=False, max_rows=40))
        batch = default_batch_size(spec.cohort.backend) if args.batch is None else args.batch
        structures = len({structure_key(t.scenario, t.backend, t.dtype) for t in tasks})
        sizes = people["arm"].value_counts().reindex(spec.arm_names).tolist()
        print(f"\ntrial {spec.name}: {what}; arm sizes {sizes}; every subject's scenario validated; {structures} "
              f"structure{'s' if structures > 1 else ''}, {len(group_batches(tasks, batch))} batches of up to "
              f"{batch} runs")  # fmt: skip
        return 0
    executor = make_executor(args.workers, args.scheduler)
    with sigterm_as_interrupt():  # a batch scheduler's SIGTERM stops it as Ctrl-C does: cleanly, resumable
        t = run_trial(args.trial, args.out, executor=executor, force=args.force, retries=args.retries,
                      batch=args.batch)  # fmt: skip
    r = t.runs
    print(f"neuroagents trial {spec.name}: {what}; batches of up to {r.batch} run{'s' if r.batch > 1 else ''}")
    print(f"  ran      {len(r.done)} now {r.executor or '(nothing to run)'}, {r.done_before} done before; "
          f"{r.retried} succeeded on a retry; wall time {format_wall(r.wall_s)}")  # fmt: skip
    change = t.comparisons[t.comparisons["measure"] == "change"]
    for row in change.to_dict("records"):  # over arm comparisons: one line each
        print(f"  {row['endpoint']}: {row['arm']} - {spec.control}: change {row['difference']:+.3g} "
              f"({spec.confidence:.0%} CI {row['ci_low']:+.3g} to {row['ci_high']:+.3g}; Welch p = "
              f"{row['p_value']:.2g})")  # fmt: skip
    print(f"  wrote    {', '.join(str(p) for p in t.files.values())}")
    if r.failed:
        first = next(iter(r.failed.items()))
        raise SweepFailedRuns(f"{len(r.failed)} of {r.n_runs} subjects failed every attempt (e.g. {first[0]}: "
                              f"{first[1]}); their errors are in {r.out_dir / 'runs'}; the tables hold the others; "
                              "run the same command again to retry them")  # fmt: skip
    return 0
