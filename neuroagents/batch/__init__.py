"""Sweeps: many runs of one scenario over parameters and seeds, on this machine or on a Dask cluster.

* :mod:`~neuroagents.batch.spec` — the sweep file (TOML): what to vary, how to sample it, replicates and seeds;
  every mistake is a one-line :class:`~neuroagents.errors.ConfigError` naming the file, the key, the value and
  what is allowed (or the nearest key);
* :mod:`~neuroagents.batch.schema` — the pydantic v2 models of the sweep file's tables, with the scenario
  schema's error messages;
* :mod:`~neuroagents.batch.design` — the design (full grid, random, Latin hypercube, Sobol or Morris via
  SALib) and the list of runs, each with its id, seed and validated scenario;
* :mod:`~neuroagents.batch.store` — the sweep directory: one Parquet file per finished run, written
  atomically, read back as one table; a rerun skips finished runs;
* :mod:`~neuroagents.batch.executors` — one run as a plain function of plain data (:func:`run_task`), run
  in this process or on Dask (a local cluster or a scheduler address), failed runs retried once;
* :mod:`~neuroagents.batch.batches` — runs of one structure grouped into batches that one worker task runs
  (``--batch N``);
* :mod:`~neuroagents.batch.lockstep_runs` — a batch's runs stepped together (:mod:`neuroagents.lockstep`), each
  giving the table it gives alone;
* :mod:`~neuroagents.batch.replicates` — ``neuroagents run SCENARIO --replicates N``: seeds seed + k, one table;
* :mod:`~neuroagents.batch.sweep` — :func:`~neuroagents.batch.sweep.run_sweep`, the whole thing;
* :mod:`~neuroagents.batch.analyze` — Sobol or Morris sensitivity indices of chosen readouts, and a plot.

Nothing heavy is imported here: ``neuroagents --help`` stays fast. Dask, SALib and xarray come with the
``cluster`` extra (``pip install -e ".[cluster]"``). See ``docs/headless.md``.
"""
