"""``neuroagents cohort``: options and handler (heavy imports only when it runs)."""

from __future__ import annotations

import argparse

__all__ = ["cohort", "configure_cohort"]


def configure_cohort(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_sweep

    configure_sweep(p, "cohort")  # a sweep's options: --out, --workers/--scheduler, --retries, --batch, --force


def cohort(args: argparse.Namespace) -> int:
    from neuroagents.batch.batches import default_batch_size, group_batches, structure_key
    from neuroagents.batch.commands import check_run_options, report_runs, sigterm_as_interrupt
    from neuroagents.batch.executors import make_executor
    from neuroagents.cohort.run import plan_cohort, run_cohort
    from neuroagents.cohort.spec import load_cohort

    check_run_options(args)
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
    report_runs(r, "individuals", [f"  table    {c.path}  (one row per individual: sex, seed, drawn values, readouts)"])
    return 0
