"""Virtual trials: a cohort allocated to arms (placebo, drugs), endpoints per subject, the arms compared.

* :mod:`~neuroagents.trial.schema` — the trial file's tables (pydantic), with the scenario schema's messages;
* :mod:`~neuroagents.trial.spec` — the trial file (TOML): the cohort, the arms and their drugs, the endpoints,
  the responder thresholds, the seed;
* :mod:`~neuroagents.trial.run` — ``neuroagents trial TRIAL.toml``: allocation, the subjects' runs through the
  sweep machinery (lockstep batches, Dask, resumable), the outputs;
* :mod:`~neuroagents.trial.analysis` — endpoints per subject, arm summaries, each arm against the control with
  bootstrap intervals, a forest plot and the time courses per arm.

Nothing heavy is imported here. See ``docs/trials.md``.
"""
