"""Bayesian calibration: ABC-SMC (pyabc) of named parameters against published time courses.

* :mod:`~neuroagents.calibration.schema` — the calibration file's tables (pydantic), with the scenario's messages;
* :mod:`~neuroagents.calibration.spec` — the calibration file (TOML): scenario, data files, priors with units and
  sources, the ABC run;
* :mod:`~neuroagents.calibration.data` — the data files (``validation/data`` format) as the distance reads them;
* :mod:`~neuroagents.calibration.run` — ``neuroagents calibrate CALIB.toml``: ABC-SMC, resumable from pyabc's
  database, in this process or on Dask;
* :mod:`~neuroagents.calibration.outputs` — the posterior, a corner plot, the posterior-predictive check, a scenario
  file at the posterior medians.

pyabc comes with the ``calibration`` extra (``pip install -e ".[calibration]"``). See ``docs/calibration.md``.
"""
