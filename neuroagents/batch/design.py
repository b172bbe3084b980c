"""The design of a sweep: its points, its runs (point x replicate, each with a seed), and their scenarios.

Points, by ``[design] method``:

* ``grid`` — every combination of the parameters' values (``values``, or ``n`` points from ``min`` to ``max``);
* ``random`` — ``samples`` points drawn uniformly (on each parameter's scale) with the design's seed;
* ``lhs`` — a Latin hypercube of ``samples`` points (:class:`scipy.stats.qmc.LatinHypercube`, seeded): each
  parameter's range cut into ``samples`` strata, one point in each;
* ``sobol`` — Saltelli's extension of a scrambled Sobol sequence (SALib), ``samples * (D + 2)`` points for
  first-order and total Sobol indices;
* ``morris`` — ``samples`` Morris trajectories on a ``levels``-level grid (SALib), ``samples * (D + 1)`` points.

Seeds: replicate ``r`` runs with ``seeds[r]`` if listed, else ``base_seed + r`` (``base_seed`` defaults to the
scenario's seed): the same seeds at every point (common random numbers, so points differ by their parameters,
not by their noise). ``independent_seeds = true`` gives every run its own seed, derived from ``base_seed``, the
point and the replicate.

Each run's scenario is the sweep's scenario with the fixed ``set`` overrides, the point's values and the seed,
validated before any run starts: a value the scenario refuses stops the sweep with the scenario's message.

Examples
--------
>>> from neuroagents.batch.spec import parse_sweep
>>> spec = parse_sweep({"sweep": {"scenario": "healthy", "replicates": 2, "base_seed": 7},
...                     "design": {"method": "grid"},
...                     "parameters": [{"key": "injury.injured_fraction", "values": [0.0, 0.5]}]}, where="x.toml")
>>> d = build_design(spec)
>>> [(r.run_id, r.seed, r.params["injury.injured_fraction"]) for r in d.runs]
[('p0000-r00', 7, 0.0), ('p0000-r01', 8, 0.0), ('p0001-r00', 7, 0.5), ('p0001-r01', 8, 0.5)]
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass

import numpy as np

from neuroagents.batch.spec import SweepSpec
from neuroagents.errors import ConfigError

__all__ = ["Design", "Run", "build_design", "document_with", "salib_problem", "set_path", "toml_literal"]


@dataclass(frozen=True)
class Run:
    """One run of a sweep.

    Attributes
    ----------
    run_id : str
        ``p<point>-r<replicate>``, zero-padded; the key of the run's results.
    point, replicate, seed : int
    params : dict
        The varied keys and their values at this point.
    """

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict


@dataclass
class Design:
    """The points and runs of a sweep.

    Attributes
    ----------
    spec : SweepSpec
    X : ndarray of shape (n_points, D) or None
        The points in the sampling space (log10 of a log-scale parameter), as SALib sees them; None for a grid.
    points : list of dict
        The values of the varied keys at each point.
    runs : list of Run
        Point-major: every replicate of point 0, then of point 1, ...
    base_seed : int
    """

    spec: SweepSpec
    X: np.ndarray | None
    points: list[dict]
    runs: list[Run]
    base_seed: int

    def table(self):
        """One row per run: ``run_id, point, replicate, seed`` and one column per varied key (pandas)."""
        import pandas as pd

        rows = [{"run_id": r.run_id, "point": r.point, "replicate": r.replicate, "seed": r.seed, **r.params}
                for r in self.runs]  # fmt: skip
        return pd.DataFrame(rows)


def salib_problem(spec: SweepSpec) -> dict:
    """SALib's problem definition: the varied keys and their bounds in the sampling space."""
    return {"num_vars": len(spec.parameters), "names": spec.keys, "bounds": [list(p.bounds()) for p in spec.parameters]}


def _sample(spec: SweepSpec) -> tuple[np.ndarray | None, list[dict]]:
    params = spec.parameters
    if spec.method == "grid":
        combos = itertools.product(*(p.grid_values() for p in params))
        return None, [dict(zip(spec.keys, c, strict=True)) for c in combos]
    d, n, seed = len(params), spec.samples, spec.design_seed
    if spec.method in ("random", "lhs"):
        rng = np.random.default_rng(seed)
        if spec.method == "random":
            u = rng.random((n, d))
        else:  # one point in each of n strata per parameter, strata paired at random
            from scipy.stats import qmc

            u = qmc.LatinHypercube(d=d, rng=rng).random(n)
        lo_hi = np.array([p.bounds() for p in params])
        x = lo_hi[:, 0] + u * (lo_hi[:, 1] - lo_hi[:, 0])
    elif spec.method == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(salib_problem(spec), n, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        x = morris.sample(salib_problem(spec), n, num_levels=spec.levels, seed=seed)
    columns = [p.from_space(x[:, j]).tolist() for j, p in enumerate(params)]
    return x, [dict(zip(spec.keys, vals, strict=True)) for vals in zip(*columns, strict=True)]


def _seed(spec: SweepSpec, base_seed: int, point: int, replicate: int) -> int:
    if spec.seeds is not None:
        return spec.seeds[replicate]
    if spec.independent_seeds:
        state = np.random.SeedSequence([base_seed, point, replicate]).generate_state(1, np.uint64)[0]
        return int(state >> np.uint64(1))
    return base_seed + replicate


def build_design(spec: SweepSpec, base_seed: int | None = None) -> Design:
    """The points and runs of ``spec`` (``base_seed`` defaults to ``spec.base_seed``, else 1)."""
    x, points = _sample(spec)
    base_seed = spec.base_seed if base_seed is None and spec.base_seed is not None else (base_seed or 1)
    wp, wr = max(4, len(str(len(points) - 1))), max(2, len(str(spec.replicates - 1)))
    runs = [Run(f"p{i:0{wp}d}-r{r:0{wr}d}", i, r, _seed(spec, base_seed, i, r), pt)
            for i, pt in enumerate(points) for r in range(spec.replicates)]  # fmt: skip
    return Design(spec, x, points, runs, base_seed)


# --- scenarios of the runs --------------------------------------------------------------------------
def toml_literal(value) -> str:
    """A value as ``--set`` reads it back (TOML).

    Examples
    --------
    >>> toml_literal(0.5), toml_literal(3), toml_literal(True), toml_literal("rat"), toml_literal(1e-05)
    ('0.5', '3', 'true', '"rat"', '1e-05')
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    raise ConfigError("value", value, "a number, a boolean or a string")


def set_path(doc, path: tuple, value) -> bool:
    """Set ``path`` in a plain scenario document; False when the path does not lead to an existing table."""
    node = doc
    for part in path[:-1]:  # over key segments
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    last = path[-1]
    if isinstance(last, int) and (not isinstance(node, list) or not 0 <= last < len(node)):
        return False
    if not isinstance(last, int) and not isinstance(node, dict):
        return False
    node[last] = value
    return True


def document_with(doc0: dict, values: dict, *, scenario_path: str, sets=(), where: str, extra: dict | None = None,
                  ) -> dict:  # fmt: skip
    """The resolved scenario ``doc0`` with ``values`` (``{dotted key: value}``) set, validated, resolved.

    A key whose table ``doc0`` lacks (``set_path`` cannot reach it) goes through the loader instead: the scenario
    ``scenario_path`` with the fixed ``sets`` and the values as ``--set`` strings. ``extra`` replaces top-level
    tables afterwards (a trial arm's ``drugs``). Used by cohorts, trials, calibrations and posterior runs.

    Raises
    ------
    ConfigError
        The scenario's own message for the key and value it refuses, naming ``where``.
    """
    from pydantic import ValidationError

    from neuroagents.scenario import Scenario, load_scenario, parse_key
    from neuroagents.scenario.messages import to_config_error

    doc = copy.deepcopy(doc0)
    try:
        if not all(set_path(doc, parse_key(k, where), v) for k, v in values.items()):  # a table the scenario lacks
            given = [f"{k}={toml_literal(v)}" for k, v in values.items()]
            doc = load_scenario(scenario_path, [*sets, *given]).resolved()
        doc.update(copy.deepcopy(extra or {}))
        return Scenario.model_validate(doc).resolved()
    except ValidationError as exc:
        raise to_config_error(exc, {}, where) from None
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.value, exc.allowed, where) from None


def _where(spec: SweepSpec, what: str) -> str:
    from pathlib import Path

    return f"{spec.where}, {what} (in scenario {Path(spec.scenario_path).stem})"


def base_scenario(spec: SweepSpec):
    """The sweep's scenario with its fixed ``set`` overrides (a Scenario), or the scenario's own error."""
    from neuroagents.scenario import load_scenario

    try:
        return load_scenario(spec.scenario_path, spec.set)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.value, exc.allowed, _where(spec, "sweep.set")) from None


def check_parameters(spec: SweepSpec) -> None:
    """Apply each parameter's extreme values (or each grid value) to the scenario; raise its error, if any."""
    from neuroagents.scenario import load_scenario

    for i, p in enumerate(spec.parameters):  # over parameters (a handful)
        values = p.grid_values() if spec.method == "grid" else p.from_space(np.array(p.bounds())).tolist()
        for v in values:  # over a parameter's extreme or grid values
            try:
                load_scenario(spec.scenario_path, [*spec.set, f"{p.key}={toml_literal(v)}"])
            except ConfigError as exc:
                raise ConfigError(exc.key, exc.value, exc.allowed, _where(spec, f"parameters[{i}]")) from None


def run_scenarios(spec: SweepSpec, design: Design, base) -> dict[str, dict]:
    """``{run_id: resolved scenario}`` for every run, each validated as a :class:`Scenario`.

    The point's values are set in the base scenario's resolved document and validated (fast); a point that
    does not validate that way goes through the scenario loader, which handles exclusive keys
    (``duration_days``/``duration_min``) and reports the error with the point's values.
    """
    from neuroagents.scenario import Scenario, load_scenario, parse_key

    doc0 = base.resolved()
    paths = [parse_key(k) for k in spec.keys]
    out: dict[str, dict] = {}
    by_point: dict[int, list[Run]] = {}
    for run in design.runs:  # over runs: group by point
        by_point.setdefault(run.point, []).append(run)
    for point, runs in by_point.items():  # over points
        values = design.points[point]
        doc = copy.deepcopy(doc0)
        ok = all(set_path(doc, path, _plain(values[k])) for path, k in zip(paths, spec.keys, strict=True))
        resolved = None
        if ok:
            try:
                resolved = Scenario.model_validate(doc).resolved()
            except Exception:  # any validation failure: the loader reports it properly below
                resolved = None
        if resolved is None:
            sets = [f"{k}={toml_literal(values[k])}" for k in spec.keys]
            try:
                resolved = load_scenario(spec.scenario_path, [*spec.set, *sets]).resolved()
            except ConfigError as exc:
                raise ConfigError(exc.key, exc.value, exc.allowed,
                                  _where(spec, f"design point {point} ({', '.join(sets)})")) from None  # fmt: skip
        for run in runs:  # over replicates
            r = copy.deepcopy(resolved)
            r["scenario"]["seed"] = run.seed
            out[run.run_id] = r
    return out


def _plain(v):
    """A NumPy scalar as the Python value TOML would have given."""
    return v.item() if hasattr(v, "item") else v
