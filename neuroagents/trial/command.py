"""``neuroagents trial``: options and handler (heavy imports only when it runs)."""

from __future__ import annotations

import argparse

__all__ = ["configure_trial", "trial"]


def configure_trial(p: argparse.ArgumentParser) -> None:
    from neuroagents.batch.commands import configure_sweep

    configure_sweep(p, "trial")  # a sweep's options: --out, --workers/--scheduler, --retries, --batch, --force


def trial(args: argparse.Namespace) -> int:
    from neuroagents.batch.batches import default_batch_size, group_batches, structure_key
    from neuroagents.batch.commands import check_run_options, report_runs, sigterm_as_interrupt
    from neuroagents.batch.executors import make_executor
    from neuroagents.trial.run import plan_trial, run_trial
    from neuroagents.trial.spec import load_trial

    check_run_options(args)
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
    change = t.comparisons[t.comparisons["measure"] == "change"]
    lines = [f"  {row['endpoint']}: {row['arm']} - {spec.control}: change {row['difference']:+.3g} "
             f"({spec.confidence:.0%} CI {row['ci_low']:+.3g} to {row['ci_high']:+.3g}; Welch p = {row['p_value']:.2g})"
             for row in change.to_dict("records")]  # fmt: skip
    report_runs(r, "subjects", [*lines, f"  wrote    {', '.join(str(p) for p in t.files.values())}"])
    return 0
