"""What the dashboard builds a model from: a scenario, overrides, and the key parameters as controls.

A :class:`Setup` is a scenario (built-in name or ``.toml`` path), its
``KEY=VALUE`` overrides (a lesson's, the command line's) and the lesson it came
from. :data:`PARAMS` are the parameters offered as controls, each a dotted
scenario key; a control whose key a scenario does not have is not shown, and a
scenario with compartments offers each compartment's cell counts.
Changing a control adds an override and rebuilds the model (the scenario loader
checks the value, so a mistake is the usual one-line error).

Examples
--------
>>> s = Setup("healthy", ("scenario.duration_min=60", "tissue.width_um=400"))
>>> model, kwargs, scenario = build(s, {"cells.initial.macrophage": 7})
>>> model.cell_types["macrophage"].n, kwargs["width_um"], scenario.scenario.name
(7, 400.0, 'healthy')
>>> param_overrides({"cells.initial.macrophage": 7, "scenario.seed": 1}, {"cells.initial.macrophage": 300,
...                                                                        "scenario.seed": 1})
('cells.initial.macrophage=7',)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from neuroagents.errors import ConfigError

__all__ = ["DEFAULT_SCENARIO", "PARAMS", "ParamSpec", "Setup", "build", "initial_setup", "param_overrides",
           "scenario_choices", "scenario_values", "spec_for"]  # fmt: skip

DEFAULT_SCENARIO = "nerve_injury"
SCENARIO_ENV = "NEUROAGENTS_DASHBOARD_SCENARIO"
OVERRIDES_ENV = "NEUROAGENTS_DASHBOARD_SET"
"""How ``neuroagents dashboard SCENARIO --set ...`` hands its choice to each new browser session (JSON list)."""


@dataclass(frozen=True)
class Setup:
    """A scenario, its overrides and the lesson it came from (``None`` when chosen directly)."""

    scenario: str
    overrides: tuple[str, ...] = ()
    lesson: str | None = None


@dataclass(frozen=True)
class ParamSpec:
    """One parameter control: a dotted scenario key, a label with units, the slider's range and step."""

    key: str
    label: str
    low: float
    high: float
    step: float
    integer: bool = False
    help: str = ""


PARAMS = (
    ParamSpec("scenario.seed", "random seed", 0, 100, 1, True, "same seed, same run"),
    ParamSpec("injury.injured_fraction", "injured neurons (fraction)", 0, 1, 0.01, help="0 = sham"),
    ParamSpec("stimulus.mast_cell", "mast-cell trigger (0-1)", 0, 1, 0.01, help="degranulation above 0.5"),
    ParamSpec("cells.initial.macrophage", "macrophages at start", 0, 1000, 5, True),
    ParamSpec("cells.initial.mast_cell", "mast cells at start", 0, 400, 5, True),
    ParamSpec("cells.initial.neuron", "neurons", 0, 200, 1, True),
    ParamSpec("cells.initial.microglia", "microglia at start", 0, 400, 5, True),
    ParamSpec("cells.initial.t_cell", "T cells at start", 0, 200, 5, True, "they also infiltrate"),
    ParamSpec("tissue.width_um", "tissue width (µm)", 200, 4000, 100, help="bigger is slower"),
    ParamSpec("tissue.height_um", "tissue height (µm)", 200, 4000, 100),
    ParamSpec("time.cell_dt_min", "cell time step (min)", 1, 10, 1, help="bigger runs faster, coarser"),
)
"""The key parameters offered as controls."""


CELL_KINDS = ("mast_cell", "macrophage", "t_cell", "microglia", "neuron")


def spec_for(key: str) -> ParamSpec | None:
    """The control for a scenario key: one of :data:`PARAMS`, or a compartment's cell count at start.

    >>> spec_for("compartments.drg.cells.macrophage").label
    'macrophages in the DRG at start'
    >>> spec_for("tissue.depth_um") is None
    True
    """
    for p in PARAMS:  # over a dozen controls
        if p.key == key:
            return p
    parts = key.split(".")
    if len(parts) == 4 and parts[0] == "compartments" and parts[2] == "cells" and parts[3] in CELL_KINDS:
        where = "the DRG" if parts[1] == "drg" else f"the {parts[1].replace('_', ' ')}"
        high = 200 if parts[3] == "neuron" else 1000
        plural = {"mast_cell": "mast cells", "macrophage": "macrophages", "t_cell": "T cells", "microglia": "microglia",
                  "neuron": "neurons"}[parts[3]]  # fmt: skip
        return ParamSpec(key, f"{plural} in {where} at start", 0, high, 1 if high == 200 else 5, True)
    return None


def _lookup(node, key: str):
    for part in key.split("."):  # a few levels
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            return None
    return node


def scenario_values(scenario) -> dict[str, float]:
    """The value of each control's key in a loaded scenario (keys it lacks are left out).

    A scenario with compartments offers each compartment's cell counts instead of ``cells.initial`` and the
    ``[tissue]`` sizes (which its compartments may not use).
    """
    keys = [p.key for p in PARAMS]
    comps = getattr(scenario, "compartments", None)
    if comps:
        keys = [k for k in keys if not k.startswith(("cells.initial.", "tissue."))]
        keys += [f"compartments.{name}.cells.{kind}" for name in comps for kind in CELL_KINDS
                 if _lookup(scenario, f"compartments.{name}.cells.{kind}")]  # fmt: skip
    out = {}
    for key in keys:  # over a dozen or two controls
        node = _lookup(scenario, key)
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            out[key] = int(node) if spec_for(key).integer else float(node)
    return out


def param_overrides(values: dict, defaults: dict) -> tuple[str, ...]:
    """``KEY=VALUE`` overrides for the controls whose value differs from the scenario's."""
    out = []
    for key, v in values.items():  # over controls
        if key in defaults and v != defaults[key]:
            out.append(f"{key}={int(v) if spec_for(key).integer else float(v)!r}")
    return tuple(out)


def build(setup: Setup, values: dict | None = None, *, backend: str = "numpy"):
    """Load the scenario with its overrides and the controls' values, and build a :class:`~viz.live.LiveModel`.

    Returns
    -------
    model : LiveModel
    kwargs : dict
        The model's keyword arguments (Mesa's Reset rebuilds from them).
    scenario : Scenario
        As loaded, before the controls' overrides.
    """
    from neuroagents.scenario import load_scenario
    from viz.live import LiveModel

    base = load_scenario(setup.scenario, setup.overrides)
    extra = param_overrides(values or {}, scenario_values(base))
    scenario = load_scenario(setup.scenario, (*setup.overrides, *extra)) if extra else base
    kwargs = scenario.model_kwargs(backend=backend)
    return LiveModel(**kwargs), kwargs, base


def scenario_choices(current: str | None = None) -> list[str]:
    """Built-in scenario names (and ``current``, e.g. a file given on the command line)."""
    from neuroagents.scenario import builtin_scenarios

    names = list(builtin_scenarios())
    if current and current not in names:
        names.insert(0, current)
    return names


def initial_setup() -> Setup:
    """What a new browser session starts with: the command line's scenario and ``--set`` (via the environment)."""
    scenario = os.environ.get(SCENARIO_ENV) or DEFAULT_SCENARIO
    raw = os.environ.get(OVERRIDES_ENV) or "[]"
    try:
        overrides = json.loads(raw)
    except ValueError:
        raise ConfigError(OVERRIDES_ENV, raw, "a JSON list of 'KEY=VALUE' strings") from None
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        raise ConfigError(OVERRIDES_ENV, raw, "a JSON list of 'KEY=VALUE' strings")
    return Setup(scenario, tuple(overrides))
