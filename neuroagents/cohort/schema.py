"""The cohort file schema: the tables ``[cohort]``, ``[[variability]]`` and ``[readouts]``, in pydantic v2.

The models follow the sweep file's (:mod:`neuroagents.batch.schema`): unknown keys are errors with the nearest
key, numbers are never made from strings, ``inf``/``nan`` are refused, and every field carries the phrase its
error reads. :func:`~neuroagents.cohort.spec.parse_cohort` turns a validated :class:`CohortFile` into the
:class:`~neuroagents.cohort.spec.CohortSpec` the rest of :mod:`neuroagents.cohort` uses.

Validate with ``context={"stem": ..., "base_dir": ...}``: the default name (the file's stem) and the directory a
relative scenario path starts from.

Examples
--------
>>> f = CohortFile.model_validate({"cohort": {"scenario": "healthy", "size": 4, "seed": 3},
...     "variability": [{"key": "cells.macrophage.speed_um_per_min", "cv": 0.3, "source": "assumption"}]})
>>> f.cohort.name, f.cohort.size, f.variability[0].distribution, f.readouts.at
('cohort', 4, 'lognormal', ['end'])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import PrivateAttr, ValidationInfo, field_validator, model_validator

from neuroagents.batch.schema import FileTable, ScenarioTable
from neuroagents.scenario.messages import MISSING, Invalid
from neuroagents.scenario.schema_base import _f, _Table, _table, did_you_mean
from neuroagents.tissue.microenvironment import DTYPES

__all__ = ["DISTRIBUTIONS", "MAX_INDIVIDUALS", "CohortFile", "CohortTable", "ReadoutsTable", "VariabilityTable"]

MAX_INDIVIDUALS = 1_000_000
"""Most individuals one cohort may hold (a guard against a typo in ``size``)."""
DISTRIBUTIONS = ("lognormal", "logitnormal")
"""How a parameter varies between individuals: log-normal around the scenario's value (a positive quantity:
rates, amounts, half-saturation constants), or logit-normal around it (a fraction in (0, 1))."""


class CohortTable(ScenarioTable):
    """``[cohort]``: which scenario, fixed overrides, how many individuals, their sexes, the seed."""

    table: ClassVar[str] = "cohort"
    size: int = _f(f"an integer in [1, {MAX_INDIVIDUALS:,}]: the number of individuals", ge=1, le=MAX_INDIVIDUALS)
    seed: int = _f("an integer in [0, 2**32 - 1]", ge=0, le=2**32 - 1)
    female_fraction: float | None = _f("a fraction in [0, 1] (left out: every individual has the scenario's sex)",
                                       None, ge=0, le=1)  # fmt: skip
    dtype: Literal[DTYPES] = _f(f"one of {', '.join(map(repr, DTYPES))}", "float64")
    posterior: str | None = _f("a calibration's posterior.parquet (a path relative to this file): each individual "
                               "draws one particle by weight", None)  # fmt: skip
    _posterior_path: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _posterior(self, info: ValidationInfo):
        if self.posterior is None:
            return self
        from pathlib import Path

        base_dir = (info.context or {}).get("base_dir")
        path = Path(self.posterior).expanduser()
        path = path if path.is_absolute() or base_dir is None else Path(base_dir) / path
        if not path.is_file():
            raise Invalid("an existing posterior file (posterior.parquet of neuroagents calibrate)", ("posterior",),
                          self.posterior)  # fmt: skip
        self._posterior_path = str(path)
        return self

    @property
    def posterior_path(self) -> str | None:
        """The posterior file ``posterior`` names (resolved while validating), or ``None``."""
        return self._posterior_path


class VariabilityTable(FileTable):
    """One ``[[variability]]`` table: a parameter that differs between individuals, how much, and on whose word."""

    table: ClassVar[str] = "variability"
    key: str = _f('a dotted scenario key, e.g. "cells.macrophage.tnf_m1_molecules_per_s"')
    distribution: Literal[DISTRIBUTIONS] = _f(f"one of {', '.join(map(repr, DISTRIBUTIONS))}", "lognormal")
    cv: float | None = _f("a coefficient of variation in (0, 10] (lognormal)", None, gt=0, le=10)
    sd: float | None = _f("a standard deviation in (0, 10] on the logit scale (logitnormal)", None, gt=0, le=10)
    source: str = _f('the variability\'s source: a paper, or "assumption" with why', min_length=1)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not v.strip():
            raise Invalid('a dotted scenario key, e.g. "cells.macrophage.tnf_m1_molecules_per_s"')
        return v.strip()

    @model_validator(mode="after")
    def _spread(self):
        wanted, other = ("cv", "sd") if self.distribution == "lognormal" else ("sd", "cv")
        if getattr(self, wanted) is None:
            raise Invalid(f"{VariabilityTable.model_fields[wanted].json_schema_extra['allowed']} for distribution = "
                          f"{self.distribution!r}", (wanted,), MISSING)  # fmt: skip
        if getattr(self, other) is not None:
            raise Invalid(f"left out: a {self.distribution} spread is given by {wanted}", (other,),
                          getattr(self, other))  # fmt: skip
        return self

    @property
    def sd_log(self) -> float:
        """The standard deviation of the normal variable behind the distribution (log or logit scale)."""
        return math.sqrt(math.log1p(self.cv**2)) if self.distribution == "lognormal" else float(self.sd)


class ReadoutsTable(FileTable):
    """``[readouts]``: the time-series columns each individual's row carries, and when they are read."""

    table: ClassVar[str] = "readouts"
    names: list[str] = _f("a non-empty array of time-series column names",
                          ["withdrawal_threshold_g", "pain_ongoing_hz"], min_length=1)  # fmt: skip
    at: list[Any] = _f("a non-empty array of 'end', 'mean' or times >= 0 (min)", ["end"], min_length=1)

    @field_validator("names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise Invalid("distinct column names")
        return v

    @field_validator("at")
    @classmethod
    def _at(cls, v: list) -> list:
        for i, x in enumerate(v):  # over read times (a handful)
            ok = x in ("end", "mean") or (isinstance(x, (int, float)) and not isinstance(x, bool)
                                          and math.isfinite(x) and x >= 0)  # fmt: skip
            if not ok:
                raise Invalid("'end', 'mean' or a time >= 0 (min)", (i,), x)
        if len({repr(x) for x in v}) != len(v):
            raise Invalid("distinct read times")
        return [x if isinstance(x, str) else float(x) for x in v]


class CohortFile(_Table):
    """A whole cohort file (see :mod:`neuroagents.cohort.spec` for an example)."""

    cohort: CohortTable = _table("a table [cohort] (see docs/cohorts.md)")
    variability: list[VariabilityTable] = _f("an array of tables [[variability]] with a key", [])
    readouts: ReadoutsTable = _table("a table [readouts]", ReadoutsTable)

    @classmethod
    def unknown_key_allowed(cls, key) -> str:
        """What an unknown top-level key must be."""
        tables = list(cls.model_fields)
        return f"a table among [cohort], [[variability]], [readouts]{did_you_mean(key, tables)}"

    @field_validator("variability")
    @classmethod
    def _distinct(cls, v: list[VariabilityTable]) -> list[VariabilityTable]:
        keys = [p.key for p in v]
        for j, k in enumerate(keys):  # over keys: the second of a pair is reported
            if k in keys[:j]:
                raise Invalid("a key not listed twice", (j, "key"), k)
            if k in ("scenario.sex", "scenario.seed"):
                raise Invalid("a model parameter: sex comes from cohort.female_fraction, seeds from cohort.seed",
                              (j, "key"), k)  # fmt: skip
        return v
