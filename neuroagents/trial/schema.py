"""The trial file schema: ``[trial]``, the cohort's ``[cohort]`` and ``[[variability]]``, ``[[arms]]``,
``[[endpoints]]`` and ``[responders]``, in pydantic v2.

The tables follow the sweep and cohort files' (:mod:`neuroagents.cohort.schema`): unknown keys are errors with the
nearest key, numbers are never made from strings, ``inf``/``nan`` are refused, and every field carries the phrase
its error reads. An arm's drug tables are the scenario's ``[[drugs]]`` tables, checked as the scenario checks them
(:class:`~neuroagents.pharmacology.dosing.DosingSchedule`).

Examples
--------
>>> f = TrialFile.model_validate({"trial": {"seed": 1}, "cohort": {"scenario": "healthy", "size": 4, "seed": 2},
...     "arms": [{"name": "placebo"}, {"name": "tofa", "drugs": [{"drug": "tofacitinib", "route": "oral",
...               "dose_mg_per_kg": 15.0}]}],
...     "endpoints": [{"name": "threshold", "readout": "withdrawal_threshold_g", "baseline_min": 0, "visit_min": 60}]})
>>> f.control, [a.name for a in f.arms], f.responders.thresholds
('placebo', ['placebo', 'tofa'], [0.3, 0.5])
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from neuroagents.batch.schema import FileTable
from neuroagents.cohort.schema import CohortTable, VariabilityTable
from neuroagents.errors import ConfigError
from neuroagents.scenario.messages import Invalid
from neuroagents.scenario.schema_base import _f, _Table, _table, did_you_mean

__all__ = ["ArmTable", "EndpointTable", "RespondersTable", "TrialFile", "TrialTable"]


class TrialTable(FileTable):
    """``[trial]``: its name, the seed of the allocation and of the bootstrap, the control arm, the analysis."""

    table: ClassVar[str] = "trial"
    name: str = Field(None, validate_default=True, pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100,
                      json_schema_extra={"allowed": "a name of letters, digits, '_', '-' or '.'"})  # fmt: skip
    description: str = _f("one line of text", "")
    seed: int = _f("an integer in [0, 2**32 - 1]: the allocation's and the bootstrap's seed", ge=0, le=2**32 - 1)
    control: str | None = _f("the name of an arm (default: the first)", None)
    bootstrap: int = _f("an integer in [200, 100000]: bootstrap resamples of each comparison", 2000, ge=200,
                        le=100_000)  # fmt: skip
    confidence: float = _f("a level in [0.5, 0.999] of the confidence intervals", 0.95, ge=0.5, le=0.999)

    @field_validator("name", mode="before")
    @classmethod
    def _default_name(cls, v, info: ValidationInfo):
        return (info.context or {}).get("stem", "trial") if v is None else v


class ArmTable(FileTable):
    """One ``[[arms]]`` table: a name and the drugs its subjects get (none: a placebo arm)."""

    table: ClassVar[str] = "arms"
    name: str = _f("a name of letters, digits, '_', '-' or '.'", pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    description: str = _f("one line of text", "")
    drugs: list[dict[str, Any]] = _f("an array of drug tables, as the scenario's [[drugs]]", [])

    @field_validator("drugs")
    @classmethod
    def _drugs(cls, v: list[dict]) -> list[dict]:
        from neuroagents.pharmacology.dosing import DosingSchedule

        for j, d in enumerate(v):  # over the arm's drug tables
            try:
                DosingSchedule.from_mapping(d, where="drugs")
            except ConfigError as exc:
                raise Invalid(f"{exc.allowed} ({exc.key.removeprefix('drugs.')})", (j,), d) from None
        return v


class EndpointTable(FileTable):
    """One ``[[endpoints]]`` table: a readout's change from a baseline time to a visit, and which way is better."""

    table: ClassVar[str] = "endpoints"
    name: str = _f("a name of letters, digits, '_', '-' or '.'", pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    readout: str = _f('a time-series column, e.g. "withdrawal_threshold_g"')
    baseline_min: float = _f("a time >= 0 (min): the baseline visit", ge=0)
    visit_min: float = _f("a time > baseline_min (min): the visit the change is read at", gt=0)
    better: Literal["higher", "lower"] = _f("one of 'higher', 'lower': which way the readout improves", "higher")

    @model_validator(mode="after")
    def _order(self):
        if not self.visit_min > self.baseline_min:
            raise Invalid(f"a time > baseline_min ({self.baseline_min:g} min)", ("visit_min",), self.visit_min)
        return self


class RespondersTable(FileTable):
    """``[responders]``: the improvements from baseline that make a responder (fractions: 0.3 is 30 %)."""

    table: ClassVar[str] = "responders"
    thresholds: list[float] = _f("a non-empty array of increasing fractions in (0, 10]", [0.3, 0.5], min_length=1)

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if any(not 0 < x <= 10 for x in v) or any(b <= a for a, b in itertools.pairwise(v)):
            raise Invalid("a non-empty array of increasing fractions in (0, 10]")
        return v


class TrialFile(_Table):
    """A whole trial file (see :mod:`neuroagents.trial.spec` for an example)."""

    trial: TrialTable = _table("a table [trial] with a seed (see docs/trials.md)")
    cohort: CohortTable = _table("a table [cohort] (see docs/cohorts.md)")
    variability: list[VariabilityTable] = _f("an array of tables [[variability]] with a key", [])
    arms: list[ArmTable] = _f("two or more tables [[arms]], each with a name", min_length=2)
    endpoints: list[EndpointTable] = _f("one or more tables [[endpoints]]", min_length=1)
    responders: RespondersTable = _table("a table [responders]", RespondersTable)

    @classmethod
    def unknown_key_allowed(cls, key) -> str:
        """What an unknown top-level key must be."""
        tables = list(cls.model_fields)
        return (f"a table among [trial], [cohort], [[variability]], [[arms]], [[endpoints]], [responders]"
                f"{did_you_mean(key, tables)}")  # fmt: skip

    @field_validator("variability")
    @classmethod
    def _variability(cls, v):
        from neuroagents.cohort.schema import CohortFile

        return CohortFile._distinct(v)

    @field_validator("arms", "endpoints")
    @classmethod
    def _distinct_names(cls, v):
        names = [x.name for x in v]
        for j, n in enumerate(names):  # over names: the second of a pair is reported
            if n in names[:j]:
                raise Invalid("a name not used twice", (j, "name"), n)
        return v

    @model_validator(mode="after")
    def _control_and_size(self):
        names = [a.name for a in self.arms]
        if self.trial.control is not None and self.trial.control not in names:
            hint = did_you_mean(self.trial.control, names)
            allowed = f"the name of an arm{hint}: one of {', '.join(names)}"
            raise ConfigError("trial.control", self.trial.control, allowed)
        if self.cohort.size < 2 * len(self.arms):
            raise ConfigError("cohort.size", self.cohort.size, f"at least 2 subjects per arm ({2 * len(self.arms)} "
                              f"for {len(self.arms)} arms): the subjects are split between the arms")  # fmt: skip
        return self

    @property
    def control(self) -> str:
        """The control arm's name."""
        return self.trial.control if self.trial.control is not None else self.arms[0].name
