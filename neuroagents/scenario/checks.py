"""Checks of a scenario before it runs: a name that is safe as a file name, doses in their usual range."""

from __future__ import annotations

import re

from neuroagents.errors import ConfigError

__all__ = ["check_name", "implausible_doses"]


def implausible_doses(scenario) -> list[str]:
    """Warnings for doses outside their drug's usual range in the scenario's species (the run goes on).

    The ranges are the catalogue's (``Drug.usual_dose_mg_per_kg``, :mod:`neuroagents.pharmacology.usual_doses`);
    each warning names the drug, the dose and the range, e.g. for ``dose_mg_per_kg = 500`` where 15 was meant.
    A dose heavier than the animal is refused earlier, when the scenario is checked
    (:meth:`~neuroagents.pharmacology.dosing.DosingSchedule.doses`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> w = implausible_doses(SimpleNamespace(scenario=SimpleNamespace(species="mouse"),
    ...                                       drugs=[{"drug": "celecoxib", "route": "oral", "dose_mg_per_kg": 30.0},
    ...                                              {"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 500}]))
    >>> len(w), w[0].split(" of one")[0]
    (1, 'drugs[1] (tofacitinib): dose_mg_per_kg = 500 is outside the usual 0.3-50 mg/kg')
    """
    from neuroagents.pharmacology.dosing import DosingSchedule

    species = scenario.scenario.species
    out = []
    for i, d in enumerate(getattr(scenario, "drugs", None) or []):  # over dosing schedules
        warning = DosingSchedule.from_mapping(d, where=f"drugs[{i}]").unusual(species)
        if warning:
            out.append(warning)
    return out


def check_name(name: str) -> str:
    """Refuse a scenario name that is not a safe file name (it names the default output directory).

    Examples
    --------
    >>> check_name("sni_day7")
    'sni_day7'
    >>> check_name("..")
    Traceback (most recent call last):
    ...
    neuroagents.errors.ConfigError: scenario.name = '..': must be a file-name-safe name: letters, digits, ...
    """
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}", name):
        raise ConfigError("scenario.name", name, "a file-name-safe name: letters, digits, '_', '-' and '.', not "
                          "starting with '.' or '-'")  # fmt: skip
    return name
