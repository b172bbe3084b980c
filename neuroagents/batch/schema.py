"""The sweep file schema: the tables ``[sweep]``, ``[design]``, ``[[parameters]]`` and ``[analysis]``, in pydantic v2.

The models follow the scenario schema (:mod:`neuroagents.scenario.schema`): unknown keys are errors with the
nearest key, numbers are never made from strings, ``inf``/``nan`` are refused, and every field carries the phrase
its error reads (``must be <allowed>``). Rules that tie keys together (a grid needs ``values`` or ``min``, ``max``
and ``n``; a Sobol design a power of 2 of samples; a log scale ``min > 0``; listed seeds fix the replicates) are
validators that raise :class:`~neuroagents.scenario.messages.Invalid`, so the message names the dotted key where
the problem is (``parameters[1].max``). :func:`~neuroagents.batch.spec.parse_sweep` turns a validated
:class:`SweepFile` into the :class:`~neuroagents.batch.spec.SweepSpec` the rest of :mod:`neuroagents.batch` uses.

Validate with ``context={"stem": ..., "base_dir": ...}``: the default name (the file's stem) and the directory a
relative scenario path starts from.

Examples
--------
>>> f = SweepFile.model_validate({"sweep": {"scenario": "healthy"}, "design": {"method": "lhs", "samples": 8},
...                               "parameters": [{"key": "injury.injured_fraction", "min": 0, "max": 1}]})
>>> f.sweep.name, f.sweep.n_replicates, f.parameters[0].max, f.analysis.at
('sweep', 1, 1.0, 'end')
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from neuroagents.backend import BACKEND_CHOICES
from neuroagents.errors import ConfigError
from neuroagents.scenario.messages import MISSING, Invalid
from neuroagents.scenario.schema_base import _f, _Table, _table, did_you_mean
from neuroagents.tissue.microenvironment import DTYPES

__all__ = ["MAX_RUNS", "METHODS", "AnalysisTable", "DesignTable", "FileTable", "ParameterTable", "ScenarioTable",
           "SweepFile", "SweepTable"]

METHODS = ("grid", "random", "lhs", "sobol", "morris")
"""Design methods: full grid, uniform random, Latin hypercube, Sobol (Saltelli, SALib) and Morris (SALib)."""
MAX_RUNS = 1_000_000
"""Most runs one sweep may hold (a guard against a typo in ``samples``)."""
MAX_REPLICATES = 10_000
"""Most replicates per design point (a guard against a typo)."""


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class FileTable(_Table):
    """A table of a sweep, cohort, trial or calibration file: an unknown key reads ``must be a key of [<table>] (did
    you mean ...): one of``."""

    table: ClassVar[str] = ""

    @classmethod
    def unknown_key_allowed(cls, key) -> str:
        """What an unknown key in this table must be (see :func:`~neuroagents.scenario.messages.to_config_error`)."""
        known = list(cls.model_fields)
        return f"a key of [{cls.table}]{did_you_mean(key, known)}: one of {', '.join(known)}"


class ScenarioTable(FileTable):
    """The head table of a file that runs a scenario (``[sweep]``, ``[cohort]``, ``[calibration]``): its name (default:
    the file's stem), a description, the scenario, fixed overrides and the backend."""

    name: str = Field(None, validate_default=True, pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100,
                      json_schema_extra={"allowed": "a name of letters, digits, '_', '-' or '.'"})  # fmt: skip
    description: str = _f("one line of text", "")
    scenario: str = _f("a built-in scenario name or a .toml file")
    set: list[str] = _f('an array of "KEY=VALUE" strings, as with --set', [])
    backend: Literal[BACKEND_CHOICES] = _f(f"one of {', '.join(map(repr, BACKEND_CHOICES))}", "auto")
    _scenario_path: str = PrivateAttr("")

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, v, info: ValidationInfo):
        return (info.context or {}).get("stem", cls.table) if v is None else v

    @field_validator("set")
    @classmethod
    def _overrides(cls, v: list[str]) -> list[str]:
        if not all("=" in s for s in v):
            raise Invalid('an array of "KEY=VALUE" strings, as with --set')
        return v

    @model_validator(mode="after")
    def _scenario(self, info: ValidationInfo):
        from neuroagents.scenario.loader import resolve_source

        base_dir = (info.context or {}).get("base_dir")
        self._scenario_path = str(resolve_source(self.scenario, base_dir, key=f"{self.table}.scenario"))
        return self

    @property
    def scenario_path(self) -> str:
        """The scenario file ``scenario`` names (resolved while validating)."""
        return self._scenario_path


class SweepTable(ScenarioTable):
    """``[sweep]``: which scenario, fixed overrides, replicates and their seeds, backend and dtype."""

    table: ClassVar[str] = "sweep"
    replicates: int | None = _f(f"an integer in [1, {MAX_REPLICATES}]", None, ge=1, le=MAX_REPLICATES)
    seeds: list[int] | None = _f("a non-empty array of integers in [0, 2**63 - 1]", None, min_length=1)
    base_seed: int | None = _f("an integer in [0, 2**62 - 1]", None, ge=0, le=2**62 - 1)
    independent_seeds: bool = _f("true or false", False)
    dtype: Literal[DTYPES] = _f(f"one of {', '.join(map(repr, DTYPES))}", "float64")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and not all(0 <= s < 2**63 for s in v):
            raise Invalid("a non-empty array of integers in [0, 2**63 - 1]")
        if v is not None and len(set(v)) != len(v):
            raise Invalid("distinct seeds (a repeated seed repeats a run)")
        return v

    @model_validator(mode="after")
    def _replicates(self):
        if self.seeds is not None:
            n = len(self.seeds)
            if self.replicates is not None and self.replicates != n:
                raise Invalid(f"{n} (one replicate per seed), or left out", ("replicates",), self.replicates)
            if n > MAX_REPLICATES:
                raise Invalid(f"an integer in [1, {MAX_REPLICATES}]", ("replicates",), n)
            if self.independent_seeds:
                raise Invalid("false when seeds are listed", ("independent_seeds",), True)
        return self

    @property
    def n_replicates(self) -> int:
        """Runs per design point: one per listed seed, else ``replicates`` (default 1)."""
        if self.seeds is not None:
            return len(self.seeds)
        return 1 if self.replicates is None else self.replicates


class DesignTable(FileTable):
    """``[design]``: the method and its size (``samples``), the design's own seed, Morris levels."""

    table: ClassVar[str] = "design"
    method: Literal[METHODS] = _f(f"one of {', '.join(map(repr, METHODS))}")
    samples: int | None = _f(f"an integer in [1, {MAX_RUNS:,}]: the design's size (left out for grid)", None)
    seed: int = _f("an integer in [0, 2**32 - 1]", 0, ge=0, le=2**32 - 1)
    levels: int | None = _f("an even integer >= 2 (Morris grid levels)", None, ge=2)

    @field_validator("levels")
    @classmethod
    def _even(cls, v: int | None) -> int | None:
        if v is not None and v % 2:
            raise Invalid("an even integer >= 2 (Morris grid levels)")
        return v

    @model_validator(mode="after")
    def _size(self):
        m, n = self.method, self.samples
        if m == "grid":
            if n is not None:
                raise Invalid("left out: a grid design is every combination", ("samples",), n)
        elif n is None or not 1 <= n <= MAX_RUNS:
            raise Invalid(f"an integer in [1, {MAX_RUNS:,}] for method = {m!r}", ("samples",), MISSING if n is None
                          else n)  # fmt: skip
        if m == "sobol" and n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise Invalid(f"a power of 2 for a Sobol design (Sobol sequences converge only then): e.g. {lower} or "
                          f"{lower * 2}", ("samples",), n)  # fmt: skip
        if m != "morris" and self.levels is not None:
            raise Invalid("left out: levels are for a morris design", ("levels",), self.levels)
        return self

    def size(self, n_params: int) -> int:
        """Design points of a sampled design with ``n_params`` parameters (not for a grid)."""
        if self.method == "sobol":
            return self.samples * (n_params + 2)
        if self.method == "morris":
            return self.samples * (n_params + 1)
        return self.samples


class ParameterTable(FileTable):
    """One ``[[parameters]]`` table: a dotted scenario key with ``values``, or ``min``, ``max`` (and ``n``)."""

    table: ClassVar[str] = "parameters"
    key: str = _f('a dotted scenario key, e.g. "cells.macrophage.speed_um_per_min"')
    values: list[Any] | None = _f("a non-empty array of values", None, min_length=1)
    min: float | None = _f("a finite number (or give values = [...] in a grid design)", None)
    max: float | None = _f("a finite number (or give values = [...] in a grid design)", None)
    n: int | None = _f("an integer in [2, 10000]: grid points from min to max", None, ge=2, le=10_000)
    scale: Literal["linear", "log"] = _f("one of 'linear', 'log'", "linear")
    integer: bool = _f("true or false", False)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not v.strip():
            raise Invalid('a dotted scenario key, e.g. "cells.macrophage.speed_um_per_min"')
        return v.strip()

    @field_validator("values")
    @classmethod
    def _values(cls, v: list | None) -> list | None:
        if v is None:
            return v
        kinds = {type(x).__name__ for x in v}
        if not (kinds <= {"int", "float"} or len(kinds) == 1):
            raise Invalid("values of one type (numbers, or strings, or booleans)")
        if len({repr(x) for x in v}) != len(v):
            raise Invalid("distinct values")
        return [float(x) for x in v] if kinds == {"int", "float"} else v

    @model_validator(mode="after")
    def _range(self):
        if self.values is not None:  # min, max and n beside values: refused in SweepFile, after the method's rule
            return self
        for k in ("min", "max"):
            if getattr(self, k) is None:
                raise Invalid("a finite number (or give values = [...] in a grid design)", (k,), MISSING)
        if not self.min < self.max:
            raise Invalid(f"a number > min ({self.min:g})", ("max",), self.max)
        if self.scale == "log" and self.min <= 0:
            raise Invalid("a number > 0 for scale = 'log'", ("min",), self.min)
        return self


class AnalysisTable(FileTable):
    """``[analysis]``: the defaults of ``neuroagents analyze`` (readouts, and when to read them)."""

    table: ClassVar[str] = "analysis"
    readouts: list[str] = _f("a non-empty array of time-series column names",
                             ["withdrawal_threshold_g", "pain_ongoing_hz"], min_length=1)  # fmt: skip
    at: Any = _f("'end', 'mean' or a time >= 0 (min)", "end")

    @field_validator("at")
    @classmethod
    def _at(cls, v):
        if not (v in ("end", "mean") or (_number(v) and v >= 0)):
            raise Invalid("'end', 'mean' or a time >= 0 (min)")
        return v


class SweepFile(_Table):
    """A whole sweep file (see :mod:`neuroagents.batch.spec` for an example)."""

    sweep: SweepTable = _table("a table [sweep] (see docs/headless.md)")
    design: DesignTable = _table("a table [design] (see docs/headless.md)")
    parameters: list[ParameterTable] = _f("one or more tables [[parameters]] with a key", min_length=1)
    analysis: AnalysisTable = _table("a table [analysis]", AnalysisTable)

    @classmethod
    def unknown_key_allowed(cls, key) -> str:
        """What an unknown top-level key must be."""
        tables = list(cls.model_fields)
        return f"a table among [sweep], [design], [[parameters]], [analysis]{did_you_mean(key, tables)}"

    @field_validator("parameters")
    @classmethod
    def _for_the_design(cls, v: list[ParameterTable], info: ValidationInfo) -> list[ParameterTable]:
        design = info.data.get("design")
        method = design.method if design is not None else None  # None: [design] is wrong, and reported first
        for i, p in enumerate(v):  # over parameter tables
            if p.values is not None:
                if method not in (None, "grid"):
                    raise Invalid(f"left out: a {method} design samples between min and max", (i, "values"),
                                  p.values)  # fmt: skip
                if any(getattr(p, k) is not None for k in ("min", "max", "n")):
                    raise Invalid("given without min, max and n (one way or the other)", (i, "values"), p.values)
            elif method == "grid" and p.n is None:
                raise Invalid("an integer in [2, 10000]: grid points from min to max", (i, "n"), MISSING)
            elif method not in (None, "grid") and p.n is not None:
                raise Invalid(f"left out: a {method} design takes its size from [design] samples", (i, "n"), p.n)
        keys = [p.key for p in v]
        for j, k in enumerate(keys):  # over keys: the second of a pair is reported
            if k in keys[:j]:
                raise Invalid("a key not varied twice", (j, "key"), k)
        return v

    @model_validator(mode="after")
    def _not_too_many_runs(self):
        d = self.design
        n_points = (math.prod(len(p.values) if p.values is not None else p.n for p in self.parameters)
                    if d.method == "grid" else d.size(len(self.parameters)))  # fmt: skip
        reps = self.sweep.n_replicates
        if n_points * reps > MAX_RUNS:
            raise ConfigError("design", f"{n_points:,} points x {reps} replicates", f"at most {MAX_RUNS:,} runs")
        return self
