"""Scenarios: TOML files that say what to simulate, validated before anything runs.

* :mod:`~neuroagents.scenario.schema` — the tables and keys (pydantic v2), and how they become
  :class:`~neuroagents.model.NeuroImmuneModel` keyword arguments;
* :mod:`~neuroagents.scenario.loader` — built-in names, ``base`` inheritance, ``--set`` overrides;
* :mod:`~neuroagents.scenario.messages` — key paths, and validation errors as one-line
  :class:`~neuroagents.errors.ConfigError` messages naming file, key, value and what is allowed;
* :mod:`~neuroagents.scenario.runner` — run a scenario to its duration and write the time series, the
  manifest and a summary figure (:mod:`~neuroagents.scenario.summary`).

The file format is described in ``neuroagents/scenarios/README.md``.

Examples
--------
>>> s = load_scenario("nerve_injury", overrides=["scenario.duration_min=2", "tissue.width_um=200",
...                                              "tissue.height_um=200"])
>>> m = s.build_model()
>>> m.step(); m.step()
>>> m.steps, m.injured
(2, True)
"""

from neuroagents.scenario.loader import (
    BUILTIN_DIR,
    ScenarioSyntaxError,
    builtin_scenarios,
    load_scenario,
    parse_key,
    parse_set,
    resolve_source,
)
from neuroagents.scenario.schema import Scenario

__all__ = [
    "BUILTIN_DIR",
    "Scenario",
    "ScenarioSyntaxError",
    "builtin_scenarios",
    "load_scenario",
    "parse_key",
    "parse_set",
    "resolve_source",
]
