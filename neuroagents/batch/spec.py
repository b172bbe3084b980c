"""The sweep file: which scenario, what to vary and how, how many replicates with which seeds.

A sweep file is TOML (``examples/sweeps/`` has examples; ``docs/headless.md`` the whole format)::

    [sweep]
    scenario = "nerve_injury"          # a built-in name, or a .toml path relative to this file
    set = ["scenario.duration_days=0.5", "tissue.width_um=600"]   # fixed overrides, as with --set
    replicates = 3                     # runs per design point
    base_seed = 1                      # replicate r runs with seed base_seed + r (the same at every point)

    [design]
    method = "sobol"                   # grid | random | lhs | sobol | morris
    samples = 16                       # sobol: N (a power of 2) -> N * (D + 2) points

    [[parameters]]
    key = "cells.macrophage.speed_um_per_min"     # any dotted scenario key, as with --set
    min = 0.5
    max = 4.0
    scale = "log"

    [analysis]
    readouts = ["withdrawal_threshold_g", "pain_ongoing_hz"]
    at = "end"                         # "end", "mean" (over time) or a time in minutes

Every mistake is a :class:`~neuroagents.errors.ConfigError` naming the file, the dotted key, the value and what
is allowed (the nearest key for a misspelt one); a parameter key or value the scenario refuses is reported with
the scenario's own message (checked in :mod:`~neuroagents.batch.design`).

Examples
--------
>>> spec = parse_sweep({"sweep": {"scenario": "healthy"}, "design": {"method": "grid"},
...                     "parameters": [{"key": "injury.injured_fraction", "values": [0.0, 0.5]}]}, where="x.toml")
>>> spec.method, spec.parameters[0].grid_values(), spec.replicates
('grid', [0.0, 0.5], 1)
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neuroagents.errors import ConfigError

__all__ = ["METHODS", "Parameter", "SweepSpec", "load_sweep", "parse_sweep"]

METHODS = ("grid", "random", "lhs", "sobol", "morris")
"""Design methods: full grid, uniform random, Latin hypercube, Sobol (Saltelli, SALib) and Morris (SALib)."""
_TABLES = {
    "sweep": ("name", "description", "scenario", "set", "replicates", "seeds", "base_seed", "independent_seeds",
              "backend", "dtype"),
    "design": ("method", "samples", "seed", "levels"),
    "parameters": ("key", "values", "min", "max", "n", "scale", "integer"),
    "analysis": ("readouts", "at"),
}  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
MAX_RUNS = 1_000_000
"""Most runs one sweep may hold (a guard against a typo in ``samples``)."""


def _did_you_mean(key, choices) -> str:
    from neuroagents.scenario.schema import did_you_mean

    return did_you_mean(key, choices)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Parameter:
    """One varied scenario key.

    Attributes
    ----------
    key : str
        Dotted scenario key, e.g. ``cells.macrophage.speed_um_per_min`` or ``drugs[0].dose_mg_per_kg``.
    values : tuple or None
        The values of a grid design.
    min, max : float or None
        Bounds of a sampled design (or of a grid with ``n`` points).
    n : int or None
        Grid points between ``min`` and ``max``.
    scale : {"linear", "log"}
        Sample uniformly in the value or in its log10 (``min`` > 0).
    integer : bool
        Round sampled values to integers (cell counts).
    """

    key: str
    values: tuple | None = None
    min: float | None = None
    max: float | None = None
    n: int | None = None
    scale: str = "linear"
    integer: bool = False

    def bounds(self) -> tuple[float, float]:
        """Bounds in the sampling space (log10 of the value for ``scale = "log"``)."""
        if self.scale == "log":
            return math.log10(self.min), math.log10(self.max)
        return float(self.min), float(self.max)

    def from_space(self, x: np.ndarray) -> np.ndarray:
        """Values from points in the sampling space, shape ``(n,)``."""
        v = 10.0**x if self.scale == "log" else np.asarray(x, dtype=float)
        return np.rint(v).astype(np.int64) if self.integer else v

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values from points of the unit interval, shape ``(n,)``."""
        lo, hi = self.bounds()
        return self.from_space(lo + np.asarray(u, dtype=float) * (hi - lo))

    def grid_values(self) -> list:
        """The values of a grid design: ``values``, or ``n`` points from ``min`` to ``max`` on the scale."""
        if self.values is not None:
            return list(self.values)
        return self.from_unit(np.linspace(0.0, 1.0, self.n)).tolist()


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file (see the module docstring for the keys)."""

    where: str
    name: str
    description: str
    scenario: str
    scenario_path: str
    set: tuple[str, ...]
    replicates: int
    seeds: tuple[int, ...] | None
    base_seed: int | None
    independent_seeds: bool
    backend: str
    dtype: str
    method: str
    samples: int | None
    design_seed: int
    levels: int
    parameters: tuple[Parameter, ...]
    readouts: tuple[str, ...]
    at: str | float

    def to_dict(self) -> dict:
        """Plain JSON data: what a sweep directory records, and what a rerun must match."""
        d = asdict(self)
        d.pop("where")
        d["parameters"] = [{k: v for k, v in asdict(p).items() if v is not None} for p in self.parameters]
        return d

    @property
    def keys(self) -> list[str]:
        """The varied keys, in file order."""
        return [p.key for p in self.parameters]


def _read(path: Path, label: str) -> dict:
    from neuroagents.scenario.loader import ScenarioSyntaxError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("sweep", str(path), f"a readable UTF-8 sweep file ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        line, col = (int(m[1]), int(m[2])) if m else (text.count("\n") + 1, 1)
        raise ScenarioSyntaxError(label, line, col, str(exc)[: m.start()] if m else str(exc)) from None


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep file.

    Raises
    ------
    ConfigError
        Naming the file, the key, the value and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("sweep", str(path), "an existing sweep file (.toml)")
    return parse_sweep(_read(path, str(path)), where=str(path), base_dir=path.parent.resolve(), stem=path.stem)


def _check_keys(table: dict, name: str, where: str, prefix: str) -> None:
    allowed = _TABLES[name]
    for key, value in table.items():  # over the table's keys
        if key not in allowed:
            raise ConfigError(f"{prefix}{key}", value, f"a key of [{name}]{_did_you_mean(key, allowed)}: one of "
                              f"{', '.join(allowed)}", where)  # fmt: skip


def _get_table(doc: dict, name: str, where: str, required: bool = True) -> dict:
    t = doc.get(name)
    if t is None:
        if required:
            raise ConfigError(name, None, f"a table [{name}] (see docs/headless.md)", where)
        return {}
    if not isinstance(t, dict):
        raise ConfigError(name, t, f"a table [{name}]", where)
    _check_keys(t, name, where, f"{name}.")
    return t


def _parameter(i: int, p, method: str, where: str) -> Parameter:
    k = f"parameters[{i}]"
    if not isinstance(p, dict):
        raise ConfigError(k, p, "a table [[parameters]] with key and values, or key, min and max", where)
    _check_keys(p, "parameters", where, f"{k}.")
    key = p.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"{k}.key", key, 'a dotted scenario key, e.g. "cells.macrophage.speed_um_per_min"', where)
    scale, integer = p.get("scale", "linear"), p.get("integer", False)
    if scale not in ("linear", "log"):
        raise ConfigError(f"{k}.scale", scale, "one of 'linear', 'log'", where)
    if not isinstance(integer, bool):
        raise ConfigError(f"{k}.integer", integer, "true or false", where)
    if "values" in p:
        values = p["values"]
        if method != "grid":
            raise ConfigError(f"{k}.values", values, f"left out: a {method} design samples between min and max", where)
        if any(x in p for x in ("min", "max", "n")):
            raise ConfigError(f"{k}.values", values, "given without min, max and n (one way or the other)", where)
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{k}.values", values, "a non-empty array of values", where)
        kinds = {type(v).__name__ for v in values}
        if not (kinds <= {"int", "float"} or len(kinds) == 1):
            raise ConfigError(f"{k}.values", values, "values of one type (numbers, or strings, or booleans)", where)
        if len({repr(v) for v in values}) != len(values):
            raise ConfigError(f"{k}.values", values, "distinct values", where)
        if kinds == {"int", "float"}:
            values = [float(v) for v in values]
        return Parameter(key.strip(), values=tuple(values), scale=scale, integer=integer)
    lo, hi = p.get("min"), p.get("max")
    for name, v in (("min", lo), ("max", hi)):
        if not _number(v):
            raise ConfigError(f"{k}.{name}", v, "a finite number (or give values = [...] in a grid design)", where)
    if not lo < hi:
        raise ConfigError(f"{k}.max", hi, f"a number > min ({lo})", where)
    if scale == "log" and lo <= 0:
        raise ConfigError(f"{k}.min", lo, "a number > 0 for scale = 'log'", where)
    n = p.get("n")
    if method == "grid":
        if not _int(n) or not 2 <= n <= 10_000:
            raise ConfigError(f"{k}.n", n, "an integer in [2, 10000]: grid points from min to max", where)
    elif n is not None:
        raise ConfigError(f"{k}.n", n, f"left out: a {method} design takes its size from [design] samples", where)
    return Parameter(key.strip(), min=float(lo), max=float(hi), n=n, scale=scale, integer=integer)


def _design_size(method: str, samples, n_params: int, levels: int) -> int:
    if method == "grid":
        return -1
    if method == "sobol":
        return samples * (n_params + 2)
    if method == "morris":
        return samples * (n_params + 1)
    return samples


def parse_sweep(doc: dict, *, where: str = "sweep", base_dir: Path | None = None, stem: str = "sweep") -> SweepSpec:
    """Validate a sweep document (the parsed TOML) into a :class:`SweepSpec`."""
    from neuroagents.backend import BACKEND_CHOICES
    from neuroagents.scenario.loader import resolve_source
    from neuroagents.tissue.microenvironment import DTYPES

    for key, value in doc.items():  # over top-level keys
        if key not in _TABLES:
            raise ConfigError(key, value, f"a table among [sweep], [design], [[parameters]], [analysis]"
                              f"{_did_you_mean(key, _TABLES)}", where)  # fmt: skip
    sw = _get_table(doc, "sweep", where)
    de = _get_table(doc, "design", where)
    an = _get_table(doc, "analysis", where, required=False)

    name = sw.get("name", stem)
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 100:
        raise ConfigError("sweep.name", name, "a name of letters, digits, '_', '-' or '.'", where)
    description = sw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("sweep.description", description, "one line of text", where)
    scenario = sw.get("scenario")
    if not isinstance(scenario, str):
        raise ConfigError("sweep.scenario", scenario, "a built-in scenario name or a .toml file", where)
    scenario_path = resolve_source(scenario, base_dir, key="sweep.scenario", where=where)
    fixed = sw.get("set", [])
    if not isinstance(fixed, list) or not all(isinstance(s, str) and "=" in s for s in fixed):
        raise ConfigError("sweep.set", fixed, 'an array of "KEY=VALUE" strings, as with --set', where)
    reps, seeds = sw.get("replicates"), sw.get("seeds")
    if seeds is not None:
        if not isinstance(seeds, list) or not seeds or not all(_int(s) and 0 <= s < 2**63 for s in seeds):
            raise ConfigError("sweep.seeds", seeds, "a non-empty array of integers in [0, 2**63 - 1]", where)
        if len(set(seeds)) != len(seeds):
            raise ConfigError("sweep.seeds", seeds, "distinct seeds (a repeated seed repeats a run)", where)
        if reps is not None and reps != len(seeds):
            raise ConfigError("sweep.replicates", reps, f"{len(seeds)} (one replicate per seed), or left out", where)
        reps = len(seeds)
    reps = 1 if reps is None else reps
    if not _int(reps) or not 1 <= reps <= 10_000:
        raise ConfigError("sweep.replicates", reps, "an integer in [1, 10000]", where)
    base_seed = sw.get("base_seed")
    if base_seed is not None and (not _int(base_seed) or not 0 <= base_seed < 2**62):
        raise ConfigError("sweep.base_seed", base_seed, "an integer in [0, 2**62 - 1]", where)
    independent = sw.get("independent_seeds", False)
    if not isinstance(independent, bool):
        raise ConfigError("sweep.independent_seeds", independent, "true or false", where)
    if independent and seeds is not None:
        raise ConfigError("sweep.independent_seeds", independent, "false when seeds are listed", where)
    backend, dtype = sw.get("backend", "auto"), sw.get("dtype", "float64")
    if backend not in BACKEND_CHOICES:
        raise ConfigError("sweep.backend", backend, f"one of {', '.join(map(repr, BACKEND_CHOICES))}", where)
    if dtype not in DTYPES:
        raise ConfigError("sweep.dtype", dtype, f"one of {', '.join(map(repr, DTYPES))}", where)

    method = de.get("method")
    if method not in METHODS:
        raise ConfigError("design.method", method, f"one of {', '.join(map(repr, METHODS))}"
                          f"{_did_you_mean(method, METHODS) if isinstance(method, str) else ''}", where)  # fmt: skip
    samples = de.get("samples")
    if method == "grid":
        if samples is not None:
            raise ConfigError("design.samples", samples, "left out: a grid design is every combination", where)
    elif not _int(samples) or not 1 <= samples <= MAX_RUNS:
        raise ConfigError("design.samples", samples, f"an integer in [1, {MAX_RUNS:,}] for method = {method!r}", where)
    if method == "sobol" and samples & (samples - 1):
        lower = 1 << (samples.bit_length() - 1)
        raise ConfigError("design.samples", samples, f"a power of 2 for a Sobol design (Sobol sequences converge "
                          f"only then): e.g. {lower} or {lower * 2}", where)  # fmt: skip
    design_seed = de.get("seed", 0)
    if not _int(design_seed) or not 0 <= design_seed < 2**32:
        raise ConfigError("design.seed", design_seed, "an integer in [0, 2**32 - 1]", where)
    levels = de.get("levels", 4)
    if method != "morris" and "levels" in de:
        raise ConfigError("design.levels", levels, "left out: levels are for a morris design", where)
    if not _int(levels) or levels < 2 or levels % 2:
        raise ConfigError("design.levels", levels, "an even integer >= 2 (Morris grid levels)", where)

    params = doc.get("parameters")
    if not isinstance(params, list) or not params:
        raise ConfigError("parameters", params, "one or more tables [[parameters]] with a key", where)
    parameters = tuple(_parameter(i, p, method, where) for i, p in enumerate(params))
    keys = [p.key for p in parameters]
    dup = next((k for k in keys if keys.count(k) > 1), None)
    if dup is not None:
        raise ConfigError(f"parameters[{keys.index(dup, keys.index(dup) + 1)}].key", dup, "a key not varied "
                          "twice", where)  # fmt: skip
    if method in ("sobol", "morris") and any(p.min is None for p in parameters):
        raise ConfigError("design.method", method, "grid for parameters given as values", where)
    n_points = (math.prod(len(p.grid_values()) for p in parameters) if method == "grid"
                else _design_size(method, samples, len(parameters), levels))  # fmt: skip
    if n_points * reps > MAX_RUNS:
        raise ConfigError("design", f"{n_points:,} points x {reps} replicates", f"at most {MAX_RUNS:,} runs", where)

    readouts = an.get("readouts", ["withdrawal_threshold_g", "pain_ongoing_hz"])
    if not isinstance(readouts, list) or not readouts or not all(isinstance(r, str) for r in readouts):
        raise ConfigError("analysis.readouts", readouts, "a non-empty array of time-series column names", where)
    at = an.get("at", "end")
    if not (at in ("end", "mean") or (_number(at) and at >= 0)):
        raise ConfigError("analysis.at", at, "'end', 'mean' or a time >= 0 (min)", where)
    return SweepSpec(where, name, description, scenario, str(scenario_path), tuple(fixed), reps,
                     tuple(seeds) if seeds is not None else None, base_seed, independent, backend, dtype, method,
                     samples, design_seed, levels, parameters, tuple(readouts), at)  # fmt: skip
