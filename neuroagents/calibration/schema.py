"""The calibration file schema: ``[calibration]``, ``[[data]]``, ``[[priors]]`` and ``[abc]``, in pydantic v2.

The tables follow the sweep, cohort and trial files' (:mod:`neuroagents.batch.schema`): unknown keys are errors
with the nearest key, numbers are never made from strings, ``inf``/``nan`` are refused, and every field carries the
phrase its error reads.

Examples
--------
>>> f = CalibrationFile.model_validate({"calibration": {"scenario": "healthy", "seed": 1},
...     "data": [{"file": "x.csv", "column": "withdrawal_threshold_g"}],
...     "priors": [{"key": "pain.mouse_force_scale_g", "min": 0.2, "max": 1.0, "unit": "g", "source": "assumption"}]})
>>> f.calibration.name, f.abc.population_size, f.priors[0].distribution
('calibration', 100, 'uniform')
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator, model_validator

from neuroagents.batch.schema import FileTable, ScenarioTable
from neuroagents.scenario.messages import Invalid
from neuroagents.scenario.schema_base import _f, _Table, _table, did_you_mean

__all__ = ["AbcTable", "CalibrationFile", "CalibrationTable", "DataTable", "PriorTable"]


class CalibrationTable(ScenarioTable):
    """``[calibration]``: which scenario, fixed overrides, the seed."""

    table: ClassVar[str] = "calibration"
    seed: int = _f("an integer in [0, 2**32 - 1]: the seed of the sampler and of the runs", ge=0, le=2**32 - 1)


class DataTable(FileTable):
    """One ``[[data]]`` table: a published time course (validation/data format) and the model column it is of."""

    table: ClassVar[str] = "data"
    file: str = _f("a CSV file of time_h, readout, unit, mean, spread, spread_kind, n, where, paper "
                   "(validation/data/README.md), relative to this file")  # fmt: skip
    readout: str | None = _f("a value of the file's readout column (left out: every row)", None)
    column: str = _f('the model\'s time-series column it is compared with, e.g. "withdrawal_threshold_g"')
    time_offset_min: float = _f("a time >= 0 (min): the model time of the file's time 0", 0.0, ge=0)
    scale: float = _f("a factor > 0: model units per unit of the file's means", 1.0, gt=0)


class PriorTable(FileTable):
    """One ``[[priors]]`` table: a calibrated key, its prior range, its unit and where the range comes from."""

    table: ClassVar[str] = "priors"
    key: str = _f('a dotted scenario key, e.g. "pain.rat_force_scale_g"')
    distribution: Literal["uniform", "loguniform"] = _f("one of 'uniform', 'loguniform'", "uniform")
    min: float = _f("a finite number: the prior's lower bound")
    max: float = _f("a finite number > min: the prior's upper bound")
    unit: str = _f('the unit of the value ("1" for a fraction or a factor)', min_length=1)
    source: str = _f('where the range comes from: a paper, or "assumption" with why', min_length=1)

    @model_validator(mode="after")
    def _range(self):
        if not self.max > self.min:
            raise Invalid(f"a number > min ({self.min:g})", ("max",), self.max)
        if self.distribution == "loguniform" and self.min <= 0:
            raise Invalid("a number > 0 for distribution = 'loguniform'", ("min",), self.min)
        return self


class AbcTable(FileTable):
    """``[abc]``: the ABC-SMC run (pyabc): particles per generation, generations, stopping, posterior draws."""

    table: ClassVar[str] = "abc"
    population_size: int = _f("an integer in [10, 100000]: particles per generation", 100, ge=10, le=100_000)
    generations: int = _f("an integer in [1, 100]: generations (populations) at most", 6, ge=1, le=100)
    min_epsilon: float = _f("a distance >= 0 at which to stop early", 0.0, ge=0)
    min_acceptance_rate: float = _f("a rate in [0, 1) below which to stop", 0.0, ge=0, lt=1)
    predictive_draws: int = _f("an integer in [0, 1000]: posterior draws run for the predictive check", 20, ge=0,
                               le=1000)  # fmt: skip


class CalibrationFile(_Table):
    """A whole calibration file (see :mod:`neuroagents.calibration.spec` for an example)."""

    calibration: CalibrationTable = _table("a table [calibration] with a scenario and a seed")
    data: list[DataTable] = _f("one or more tables [[data]] with a file and a column", min_length=1)
    priors: list[PriorTable] = _f("one or more tables [[priors]] with a key, a range, a unit and a source",
                                  min_length=1)  # fmt: skip
    abc: AbcTable = _table("a table [abc]", AbcTable)

    @classmethod
    def unknown_key_allowed(cls, key) -> str:
        """What an unknown top-level key must be."""
        tables = list(cls.model_fields)
        return f"a table among [calibration], [[data]], [[priors]], [abc]{did_you_mean(key, tables)}"

    @field_validator("priors")
    @classmethod
    def _distinct(cls, v: list[PriorTable]) -> list[PriorTable]:
        keys = [p.key for p in v]
        for j, k in enumerate(keys):  # over keys: the second of a pair is reported
            if k in keys[:j]:
                raise Invalid("a key not calibrated twice", (j, "key"), k)
            if k in ("scenario.seed", "scenario.sex", "scenario.species"):
                raise Invalid("a numeric model parameter", (j, "key"), k)
        return v

