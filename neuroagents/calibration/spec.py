"""The calibration file: which scenario, which published time courses, which parameters with which priors.

A calibration file is TOML (``examples/calibrations/`` has an example; ``docs/calibration.md`` the whole format)::

    [calibration]
    scenario = "carrageenan"
    set = ["scenario.duration_min=360"]
    seed = 1

    [[data]]
    file = "../../validation/data/carrageenan_rat_ecam2012_108626.csv"   # relative to this file
    readout = "paw_volume"              # the file's rows of this readout
    column = "swelling_pct_paw"         # the model's time-series column
    scale = 1.0                         # model units per unit of the file

    [[priors]]
    key = "swelling.leak_max_per_min"
    distribution = "loguniform"         # or "uniform"
    min = 1e-3
    max = 1e-1
    unit = "1/min"
    source = "assumption: two decades around the default"

    [abc]
    population_size = 100
    generations = 6

Every mistake is a :class:`~neuroagents.errors.ConfigError` naming the file, the dotted key, the value and what is
allowed.

Examples
--------
>>> spec = parse_calibration({"calibration": {"scenario": "healthy", "seed": 1},
...     "data": [{"file": "x.csv", "column": "withdrawal_threshold_g"}],
...     "priors": [{"key": "pain.mouse_force_scale_g", "min": 0.2, "max": 1.0, "unit": "g", "source": "a"}]})
>>> spec.keys, spec.population_size, spec.data[0].file.name
(['pain.mouse_force_scale_g'], 100, 'x.csv')
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from neuroagents.batch.spec import load_file, validate_file
from neuroagents.calibration.schema import CalibrationFile

__all__ = ["CalibrationSpec", "DataSpec", "Prior", "load_calibration", "parse_calibration"]


@dataclass(frozen=True)
class DataSpec:
    """One published time course and the model column it is compared with (see :mod:`.schema`)."""

    file: Path
    readout: str | None
    column: str
    time_offset_min: float
    scale: float


@dataclass(frozen=True)
class Prior:
    """A calibrated key: its prior (uniform or log-uniform on ``[min, max]``), unit and source."""

    key: str
    distribution: str
    min: float
    max: float
    unit: str
    source: str


@dataclass(frozen=True)
class CalibrationSpec:
    """A validated calibration file."""

    where: str
    name: str
    description: str
    scenario: str
    scenario_path: str
    set: tuple[str, ...]
    seed: int
    backend: str
    data: tuple[DataSpec, ...]
    priors: tuple[Prior, ...]
    population_size: int
    generations: int
    min_epsilon: float
    min_acceptance_rate: float
    predictive_draws: int

    def to_dict(self) -> dict:
        """Plain JSON data: what a calibration directory records, and what a rerun must match."""
        d = asdict(self)
        d.pop("where")
        d["data"] = [{**x, "file": str(x["file"])} for x in d["data"]]
        return d

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.priors]


def load_calibration(path: str | os.PathLike) -> CalibrationSpec:
    """Read and validate a calibration file (:func:`neuroagents.batch.spec.load_file`): a mistake is a ConfigError
    naming the file, the key, the value and what is allowed (the data files are read when it starts)."""
    return load_file(path, "calibration", parse_calibration)


def parse_calibration(doc: dict, *, where: str = "calibration", base_dir: Path | None = None,
                      stem: str = "calibration") -> CalibrationSpec:  # fmt: skip
    """Validate a calibration document (the parsed TOML) into a :class:`CalibrationSpec`."""
    f = validate_file(CalibrationFile, doc, where, base_dir, stem)
    c, a = f.calibration, f.abc
    root = Path(base_dir) if base_dir is not None else Path.cwd()
    data = tuple(DataSpec(root / d.file, d.readout, d.column, d.time_offset_min, d.scale) for d in f.data)
    priors = tuple(Prior(p.key, p.distribution, p.min, p.max, p.unit, p.source) for p in f.priors)
    return CalibrationSpec(where, c.name, c.description, c.scenario, c.scenario_path, tuple(c.set), c.seed, c.backend,
                           data, priors, a.population_size, a.generations, a.min_epsilon, a.min_acceptance_rate,
                           a.predictive_draws)  # fmt: skip
