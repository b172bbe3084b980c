"""The trial file: a cohort, its arms, their drugs, the endpoints, and how the arms are compared.

A trial file is TOML (``examples/trials/`` has examples; ``docs/trials.md`` the whole format)::

    [trial]
    seed = 1                            # the allocation's and the bootstrap's seed
    control = "placebo"                 # default: the first arm

    [cohort]                            # the subjects: a cohort (docs/cohorts.md); size counts all arms
    scenario = "arthritis"
    size = 600
    seed = 1
    female_fraction = 0.5

    [[variability]]                     # as in a cohort file
    key = "pain.mouse_force_scale_g"
    cv = 0.25
    source = "assumption"

    [[arms]]
    name = "placebo"

    [[arms]]
    name = "tofacitinib"
    drugs = [{drug = "tofacitinib", route = "oral", dose_mg_per_kg = 15.0, interval_h = 12.0, n_doses = 28,
              start_min = 10080.0}]

    [[endpoints]]
    name = "threshold_day21"
    readout = "withdrawal_threshold_g"
    baseline_min = 10080                # day 7: before the first dose
    visit_min = 30240                   # day 21
    better = "higher"                   # a higher withdrawal threshold is less pain

    [responders]
    thresholds = [0.3, 0.5]             # improvement from baseline that makes a responder (30 %, 50 %)

Every mistake is a :class:`~neuroagents.errors.ConfigError` naming the file, the dotted key, the value and what is
allowed.

Examples
--------
>>> spec = parse_trial({"trial": {"seed": 1}, "cohort": {"scenario": "healthy", "size": 4, "seed": 2},
...     "arms": [{"name": "placebo"}, {"name": "celecoxib", "drugs": [{"drug": "celecoxib", "route": "oral",
...               "dose_mg_per_kg": 30.0}]}],
...     "endpoints": [{"name": "e", "readout": "withdrawal_threshold_g", "baseline_min": 0, "visit_min": 60}]})
>>> spec.control, spec.arm_names, spec.cohort.readouts, spec.cohort.size
('placebo', ['placebo', 'celecoxib'], ('withdrawal_threshold_g',), 4)
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from neuroagents.batch.spec import load_file, validate_file
from neuroagents.cohort.spec import CohortSpec, cohort_spec
from neuroagents.trial.schema import TrialFile

__all__ = ["ANALYSIS_KEYS", "Arm", "Endpoint", "TrialSpec", "load_trial", "parse_trial", "runs_part"]


@dataclass(frozen=True)
class Arm:
    """One arm: its name and the drug tables its subjects get on top of the scenario's (none: placebo)."""

    name: str
    description: str
    drugs: tuple[dict, ...]


@dataclass(frozen=True)
class Endpoint:
    """A readout's change from ``baseline_min`` to ``visit_min``; ``better`` says which way it improves."""

    name: str
    readout: str
    baseline_min: float
    visit_min: float
    better: str


@dataclass(frozen=True)
class TrialSpec:
    """A validated trial file (see the module docstring for the keys)."""

    where: str
    name: str
    description: str
    seed: int
    control: str
    bootstrap: int
    confidence: float
    cohort: CohortSpec
    arms: tuple[Arm, ...]
    endpoints: tuple[Endpoint, ...]
    thresholds: tuple[float, ...]

    def to_dict(self) -> dict:
        """Plain JSON data: what a trial directory records, and what a rerun must match."""
        d = asdict(self)
        d.pop("where")
        d["cohort"] = self.cohort.to_dict()
        return d

    def runs_record(self) -> dict:
        """What defines the trial's runs (:func:`runs_part` of :meth:`to_dict`): a rerun with other endpoints, a
        new control, bootstrap or confidence re-analyses the same runs instead of refusing the directory."""
        return runs_part(self.to_dict())

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]


ANALYSIS_KEYS = ("description", "control", "bootstrap", "confidence", "endpoints", "thresholds")
"""Keys of a trial's record that only its analysis reads (the runs do not depend on them)."""


def runs_part(record: dict) -> dict:
    """A trial spec's record (:meth:`TrialSpec.to_dict`) without what only the analysis reads: the analysis keys, and
    the cohort's ``readouts`` and ``at`` (the endpoints' readouts)."""
    d = {k: v for k, v in record.items() if k not in ANALYSIS_KEYS}
    d["cohort"] = {k: v for k, v in record["cohort"].items() if k not in ("readouts", "at")}
    return d


def load_trial(path: str | os.PathLike) -> TrialSpec:
    """Read and validate a trial file (:func:`neuroagents.batch.spec.load_file`): a mistake is a ConfigError naming
    the file, the key, the value and what is allowed."""
    return load_file(path, "trial", parse_trial)


def parse_trial(doc: dict, *, where: str = "trial", base_dir: Path | None = None, stem: str = "trial") -> TrialSpec:
    """Validate a trial document (the parsed TOML) into a :class:`TrialSpec`.

    Raises
    ------
    ConfigError
        The first problem :class:`~neuroagents.trial.schema.TrialFile` finds, naming ``where``, the dotted key,
        the value and what is allowed.
    """
    f = validate_file(TrialFile, doc, where, base_dir, stem)
    t = f.trial
    readouts = tuple(dict.fromkeys(e.readout for e in f.endpoints))
    cohort = cohort_spec(f.cohort, f.variability, readouts, ("end",), where, name=t.name, description=t.description)
    arms = tuple(Arm(a.name, a.description, tuple(dict(d) for d in a.drugs)) for a in f.arms)
    endpoints = tuple(Endpoint(e.name, e.readout, e.baseline_min, e.visit_min, e.better) for e in f.endpoints)
    return TrialSpec(where, t.name, t.description, t.seed, f.control, t.bootstrap, t.confidence, cohort, arms,
                     endpoints, tuple(f.responders.thresholds))  # fmt: skip
