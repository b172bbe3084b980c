"""Virtual cohorts: many individuals of one scenario, differing in sex and in named parameters, run in batches.

* :mod:`~neuroagents.cohort.schema` — the cohort file's tables (pydantic), with the scenario schema's messages;
* :mod:`~neuroagents.cohort.spec` — the cohort file (TOML): scenario, size, seed, sex mix, the parameters that
  vary and on whose word, the readouts;
* :mod:`~neuroagents.cohort.sample` — the individuals: each one's sex, values and run seed, from streams keyed by
  the cohort's seed, the individual and the name drawn (individual ``k`` does not depend on the cohort's size);
* :mod:`~neuroagents.cohort.run` — ``neuroagents cohort COHORT.toml``: the individuals' runs through the sweep
  machinery (lockstep batches, Dask, resumable) and one row per individual.

Nothing heavy is imported here. See ``docs/cohorts.md``.
"""
