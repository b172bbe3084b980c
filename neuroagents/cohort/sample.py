"""The individuals of a cohort: each one's sex, parameter values and run seed, drawn from the cohort's seed.

A varied parameter's **typical value** is the one the scenario gives an individual of that sex: the value the
scenario sets, else the sex's own value (:data:`neuroagents.sex.SEX_VALUES`, :data:`~neuroagents.sex.SEX_PAIN_VALUES`),
else the parameter's default; for ``scenario.body_weight_kg`` (mg/kg doses and the allometric PK of drugs), the
species' reference weight. Individual ``k`` has

* ``θ_k = θ_typ · exp(ω · z)`` for a **lognormal** parameter, ``ω = sqrt(log(1 + CV²))``, so the cohort's median is
  ``θ_typ`` and its coefficient of variation the file's ``cv`` (the exponential model of inter-individual
  variability of population pharmacokinetics: Sheiner & Beal 1980 J Pharmacokinet Biopharm 8:553);
* ``logit θ_k = logit θ_typ + sd · z`` for a **logitnormal** one (a fraction stays in (0, 1)),

with ``z`` a standard normal draw. With ``posterior`` (a calibration's ``posterior.parquet``), individual ``k`` also
takes every key of one particle, drawn by weight: the posterior is then the population's spread of those keys
(a key cannot be both drawn from the posterior and given a ``[[variability]]``). A factor a sex applies on top
(:data:`~neuroagents.sex.SEX_MULTIPLIERS`) still applies: the model scales the individual's value as it scales a
value a scenario sets.

**Every draw has its own stream**, keyed by the cohort's seed, the individual's number and what is drawn (its sex,
a parameter's key, its run's seed): :class:`numpy.random.SeedSequence` of ``[seed, k, crc32(name)]``. Individual
``k`` is therefore the same in a cohort of 10 and of 10,000, and adding a varied parameter leaves the others' values
unchanged.

Examples
--------
>>> from neuroagents.cohort.spec import parse_cohort
>>> spec = parse_cohort({"cohort": {"scenario": "healthy", "size": 3, "seed": 7},
...     "variability": [{"key": "cells.macrophage.speed_um_per_min", "cv": 0.3, "source": "assumption"}]})
>>> from neuroagents.scenario import load_scenario
>>> people = individuals(spec, load_scenario("healthy").resolved())
>>> list(people.columns), people["sex"].tolist()
(['individual', 'run_id', 'seed', 'sex', 'cells.macrophage.speed_um_per_min'], ['male', 'male', 'male'])
>>> bool((people["cells.macrophage.speed_um_per_min"] > 0).all())
True
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np

from neuroagents.cohort.spec import CohortSpec, Variability
from neuroagents.errors import ConfigError

__all__ = ["individual_rng", "individuals", "run_seed", "typical_value", "vary"]

_PARAM_TABLES = ("cells", "pain", "stroma", "swelling", "kinins")


def individual_rng(seed: int, k: int, name: str) -> np.random.Generator:
    """The generator of draw ``name`` of individual ``k`` (see the module docstring)."""
    return np.random.default_rng(np.random.SeedSequence([seed, k, zlib.crc32(name.encode())]))


def run_seed(seed: int, k: int) -> int:
    """The model seed of individual ``k``'s run, in ``[0, 2**63)``."""
    state = np.random.SeedSequence([seed, k, zlib.crc32(b"run")]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def _defaults(table: str, kind: str | None):
    """The parameter dataclass of a table (``cells`` needs the cell type)."""
    if table == "cells":
        from neuroagents.registry import CELL_TYPES

        return CELL_TYPES[kind].Params if kind in CELL_TYPES else None
    if table == "pain":
        from neuroagents.pain.params import PainParams

        return PainParams
    if table == "stroma":
        from neuroagents.stroma import StromaParams

        return StromaParams
    if table == "swelling":
        from neuroagents.swelling import SwellingParams

        return SwellingParams
    from neuroagents.kinins import KininParams

    return KininParams


def typical_value(doc: dict, key: str, sex: str, where: str = "cohort"):
    """The value the resolved scenario ``doc`` gives ``key`` for an individual of ``sex`` (see the module docstring).

    Raises
    ------
    ConfigError
        When ``key`` has no numeric value there (naming ``where``).
    """
    from neuroagents.scenario import parse_key
    from neuroagents.sex import SEX_PAIN_VALUES, SEX_VALUES

    path = parse_key(key, where)
    node, found = doc, True
    for part in path:  # over key segments
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(part, str) and isinstance(node, dict) and part in node:
            node = node[part]
        else:
            found = False
            break
    value = node if found else None
    if value is None and path == ("scenario", "body_weight_kg"):
        from neuroagents.pharmacology.pk import SPECIES

        value = SPECIES[doc["scenario"]["species"]].body_weight_kg  # the species' reference weight
    if value is None and path[0] in _PARAM_TABLES and len(path) == (3 if path[0] == "cells" else 2):
        kind = path[1] if path[0] == "cells" else None
        if path[0] == "cells":
            value = SEX_VALUES.get(sex, {}).get(kind, {}).get(path[-1])
        elif path[0] == "pain":
            value = SEX_PAIN_VALUES.get(sex, {}).get(path[-1])
        params = _defaults(path[0], kind)
        fields = {f.name: f for f in dataclasses.fields(params)} if params is not None else {}
        if value is None and path[-1] in fields:
            value = fields[path[-1]].default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "not set and no parameter default" if value is None else repr(value)
        raise ConfigError(key, shown, "a numeric scenario key: one the scenario sets, or a parameter of "
                          "cells.<type>, pain, stroma, swelling or kinins", where)  # fmt: skip
    return value


def vary(v: Variability, typical, z: float, where: str = "cohort"):
    """The value of ``v`` for the standard normal draw ``z`` around ``typical`` (a Python number)."""
    if v.distribution == "lognormal":
        if not typical > 0:
            raise ConfigError(v.key, typical, "a parameter whose typical value is > 0 for a lognormal spread", where)
        value = typical * math.exp(v.sd_log * z)
    else:
        if not 0 < typical < 1:
            raise ConfigError(v.key, typical, "a parameter whose typical value is in (0, 1) for a logitnormal "
                              "spread", where)  # fmt: skip
        x = math.log(typical / (1.0 - typical)) + v.sd_log * z
        value = 1.0 / (1.0 + math.exp(-x))
    return round(value) if isinstance(typical, int) else value


def individuals(spec: CohortSpec, doc: dict):
    """One row per individual: ``individual, run_id, seed, sex`` and one column per varied key (pandas).

    Parameters
    ----------
    spec : CohortSpec
    doc : dict
        The cohort's scenario, resolved, with the fixed overrides (:meth:`Scenario.resolved`).
    """
    import pandas as pd

    width = max(5, len(str(spec.size - 1)))
    base_sex = doc["scenario"]["sex"]
    draws = _posterior_draws(spec)
    rows = []
    for k in range(spec.size):  # over individuals: a few scalar draws each
        if spec.female_fraction is None:
            sex = base_sex
        else:
            sex = "female" if individual_rng(spec.seed, k, "sex").random() < spec.female_fraction else "male"
        row = {"individual": k, "run_id": f"i{k:0{width}d}", "seed": run_seed(spec.seed, k), "sex": sex}
        for v in spec.variability:  # over varied parameters
            z = float(individual_rng(spec.seed, k, v.key).standard_normal())
            row[v.key] = vary(v, typical_value(doc, v.key, sex, spec.where), z, spec.where)
        if draws is not None:
            row.update(draws[k])
        rows.append(row)
    return pd.DataFrame(rows)


def _posterior_draws(spec: CohortSpec):
    """Each individual's particle (``{key: value}``, drawn by weight from the stream ``individual_rng(seed, k,
    "posterior")``, as :func:`~neuroagents.calibration.posterior.posterior_draws` draws), or ``None``."""
    if spec.posterior is None:
        return None
    from neuroagents.calibration.posterior import load_posterior, posterior_draws

    return posterior_draws(load_posterior(spec.posterior, "cohort.posterior", spec.where), spec.size, spec.seed)
