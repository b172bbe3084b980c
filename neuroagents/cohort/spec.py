"""The cohort file: which scenario, how many individuals, their sexes, and how their parameters vary.

A cohort file is TOML (``examples/cohorts/`` has examples; ``docs/cohorts.md`` the whole format)::

    [cohort]
    scenario = "sni"                   # a built-in name, or a .toml path relative to this file
    set = ["scenario.duration_days=7"] # fixed overrides, as with --set
    size = 200                         # individuals
    seed = 1                           # their draws and their runs' seeds
    female_fraction = 0.5              # left out: every individual has the scenario's sex

    [[variability]]
    key = "cells.macrophage.tnf_m1_molecules_per_s"
    cv = 0.3                           # log-normal, median = the scenario's value, CV 30 %
    source = "assumption: ..."         # every spread names its source

    [readouts]
    names = ["withdrawal_threshold_g", "pain_ongoing_hz"]
    at = ["end", 1440]                 # "end", "mean" (over time) or times in minutes

The tables are checked by the pydantic models of :mod:`~neuroagents.cohort.schema`. Every mistake is a
:class:`~neuroagents.errors.ConfigError` naming the file, the dotted key, the value and what is allowed (the
nearest key for a misspelt one).

Examples
--------
>>> spec = parse_cohort({"cohort": {"scenario": "healthy", "size": 3, "seed": 7, "female_fraction": 0.5},
...                      "variability": [{"key": "injury.injured_fraction", "distribution": "logitnormal",
...                                       "sd": 0.5, "source": "assumption"}]}, where="x.toml")
>>> spec.size, spec.keys, spec.readouts, spec.at
(3, ['injury.injured_fraction'], ('withdrawal_threshold_g', 'pain_ongoing_hz'), ('end',))
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from neuroagents.batch.spec import load_file, validate_file
from neuroagents.cohort.schema import CohortFile

__all__ = ["CohortSpec", "Variability", "cohort_spec", "load_cohort", "parse_cohort"]


@dataclass(frozen=True)
class Variability:
    """How one parameter differs between individuals.

    Attributes
    ----------
    key : str
        Dotted scenario key (``cells.macrophage.tnf_m1_molecules_per_s``, ``pain.gain``).
    distribution : {"lognormal", "logitnormal"}
    sd_log : float
        Standard deviation of the normal variable on the log (lognormal) or logit (logitnormal) scale; for a
        lognormal given by its CV, ``sqrt(log(1 + cv**2))``.
    spread : str
        The spread as the file gives it (``cv = 0.3``, ``sd = 0.5``), for tables and messages.
    source : str
        Where the spread comes from (a paper, or "assumption" with why).
    """

    key: str
    distribution: str
    sd_log: float
    spread: str
    source: str


@dataclass(frozen=True)
class CohortSpec:
    """A validated cohort file (see the module docstring for the keys)."""

    where: str
    name: str
    description: str
    scenario: str
    scenario_path: str
    set: tuple[str, ...]
    size: int
    seed: int
    female_fraction: float | None
    backend: str
    dtype: str
    variability: tuple[Variability, ...]
    readouts: tuple[str, ...]
    at: tuple
    posterior: str | None = None
    posterior_keys: tuple[str, ...] = ()
    posterior_crc32: int | None = None

    def to_dict(self) -> dict:
        """Plain JSON data: what a cohort directory records, and what a rerun must match."""
        d = asdict(self)
        d.pop("where")
        if self.posterior is None:  # absent when unused: a directory from before the key still matches
            for k in ("posterior", "posterior_keys", "posterior_crc32"):  # over the three posterior fields
                d.pop(k)
        return d

    @property
    def keys(self) -> list[str]:
        """The keys that differ between individuals: the varied ones in file order, then the posterior's."""
        return [v.key for v in self.variability] + list(self.posterior_keys)


def load_cohort(path: str | os.PathLike) -> CohortSpec:
    """Read and validate a cohort file (:func:`neuroagents.batch.spec.load_file`): a mistake is a ConfigError naming
    the file, the key, the value and what is allowed."""
    return load_file(path, "cohort", parse_cohort)


def parse_cohort(doc: dict, *, where: str = "cohort", base_dir: Path | None = None,
                 stem: str = "cohort") -> CohortSpec:  # fmt: skip
    """Validate a cohort document (the parsed TOML) into a :class:`CohortSpec`.

    Raises
    ------
    ConfigError
        The first problem :class:`~neuroagents.cohort.schema.CohortFile` finds, naming ``where``, the dotted key,
        the value and what is allowed.
    """
    f = validate_file(CohortFile, doc, where, base_dir, stem)
    return cohort_spec(f.cohort, f.variability, tuple(f.readouts.names), tuple(f.readouts.at), where)


def cohort_spec(c, variability, readouts: tuple, at: tuple, where: str, name: str | None = None,
                description: str | None = None) -> CohortSpec:  # fmt: skip
    """A :class:`CohortSpec` from a validated ``[cohort]`` table and ``[[variability]]`` tables (a cohort file's,
    or a trial file's with the trial's name)."""
    spread = tuple(Variability(v.key, v.distribution, v.sd_log,
                               f"cv = {v.cv:g}" if v.cv is not None else f"sd = {v.sd:g}", v.source)
                   for v in variability)  # fmt: skip
    post_keys, crc = (), None
    if c.posterior_path is not None:
        post_keys, crc = _posterior_keys(c.posterior_path, [v.key for v in spread], where)
    return CohortSpec(where, c.name if name is None else name, c.description if description is None else description,
                      c.scenario, c.scenario_path, tuple(c.set), c.size, c.seed, c.female_fraction, c.backend,
                      c.dtype, spread, readouts, at, c.posterior_path, post_keys, crc)  # fmt: skip


def _posterior_keys(path: str, varied: list[str], where: str) -> tuple[tuple[str, ...], int]:
    """The scenario keys a posterior file sets, and its CRC-32 (a rerun must match it); a key also given a
    ``[[variability]]`` is refused (each individual draws it from the posterior)."""
    import zlib

    from neuroagents.calibration.posterior import load_posterior
    from neuroagents.errors import ConfigError

    keys = tuple(c for c in load_posterior(path, "cohort.posterior", where).columns if c != "weight")
    for j, k in enumerate(varied):  # over varied keys (a handful)
        if k in keys:
            raise ConfigError(f"variability[{j}].key", k, "a key the posterior does not set (cohort.posterior "
                              "already draws it for each individual)", where)  # fmt: skip
    with open(path, "rb") as fh:
        return keys, zlib.crc32(fh.read())
