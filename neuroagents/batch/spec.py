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

The tables are checked by the pydantic models of :mod:`~neuroagents.batch.schema`. Every mistake is a
:class:`~neuroagents.errors.ConfigError` naming the file, the dotted key, the value and what is allowed (the
nearest key for a misspelt one); a parameter key or value the scenario refuses is reported with the scenario's
own message (checked in :mod:`~neuroagents.batch.design`).

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
from pydantic import ValidationError

from neuroagents.batch.schema import MAX_RUNS, METHODS, SweepFile
from neuroagents.errors import ConfigError

__all__ = ["MAX_RUNS", "METHODS", "Parameter", "SweepSpec", "load_file", "load_sweep", "parse_sweep", "read_toml",
           "validate_file"]


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


def read_toml(path: Path, label: str, kind: str = "sweep") -> dict:
    """The parsed TOML file ``path`` (a sweep or cohort file: ``kind``); a syntax error names ``label``, its line
    and column."""
    from neuroagents.scenario.loader import ScenarioSyntaxError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(kind, str(path), f"a readable UTF-8 {kind} file ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(exc))
        line, col = (int(m[1]), int(m[2])) if m else (text.count("\n") + 1, 1)
        raise ScenarioSyntaxError(label, line, col, str(exc)[: m.start()] if m else str(exc)) from None


def validate_file(model, doc: dict, where: str, base_dir: Path | None, stem: str):
    """``doc`` (a parsed TOML file) validated by the pydantic ``model`` of its kind (:class:`SweepFile`, ...), with
    the context its tables read (the default name ``stem``, the ``base_dir`` of relative paths).

    Raises
    ------
    ConfigError
        The first problem found, naming ``where``, the dotted key, the value and what is allowed.
    """
    from neuroagents.scenario.messages import to_config_error

    try:
        return model.model_validate(doc, context={"stem": stem, "base_dir": base_dir})
    except ValidationError as exc:
        raise to_config_error(exc, {}, where, root=model) from None
    except ConfigError as exc:  # a rule between tables, raised with its key but not the file
        raise ConfigError(exc.key, exc.value, exc.allowed, exc.where or where) from None


def load_file(path: str | os.PathLike, kind: str, parse):
    """Read the TOML file ``path`` of ``kind`` (sweep, cohort, trial, calibration) and validate it with ``parse``
    (called with ``where``, ``base_dir`` and ``stem``: the file, its folder, its name without ``.toml``).

    Raises
    ------
    ConfigError
        A missing file, a syntax error, or ``parse``'s error: naming the file, the key, the value, what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(kind, str(path), f"an existing {kind} file (.toml)")
    doc = read_toml(path, str(path), kind=kind)
    return parse(doc, where=str(path), base_dir=path.parent.resolve(), stem=path.stem)


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep file (:func:`load_file`)."""
    return load_file(path, "sweep", parse_sweep)


def parse_sweep(doc: dict, *, where: str = "sweep", base_dir: Path | None = None, stem: str = "sweep") -> SweepSpec:
    """Validate a sweep document (the parsed TOML) into a :class:`SweepSpec`.

    Parameters
    ----------
    doc : dict
        The parsed sweep file.
    where : str
        The file, as error messages name it.
    base_dir : Path, optional
        Where a relative scenario path starts (default: the working directory).
    stem : str
        The default ``[sweep] name`` (the file's name without ``.toml``).

    Raises
    ------
    ConfigError
        The first problem :class:`~neuroagents.batch.schema.SweepFile` finds, naming ``where``, the dotted key,
        the value and what is allowed.
    """
    f = validate_file(SweepFile, doc, where, base_dir, stem)
    sw, de, an = f.sweep, f.design, f.analysis
    parameters = tuple(Parameter(p.key, tuple(p.values) if p.values is not None else None, p.min, p.max, p.n,
                                 p.scale, p.integer) for p in f.parameters)  # fmt: skip
    return SweepSpec(where, sw.name, sw.description, sw.scenario, sw.scenario_path, tuple(sw.set), sw.n_replicates,
                     tuple(sw.seeds) if sw.seeds is not None else None, sw.base_seed, sw.independent_seeds,
                     sw.backend, sw.dtype, de.method, de.samples, de.seed, 4 if de.levels is None else de.levels,
                     parameters, tuple(an.readouts), an.at)  # fmt: skip
