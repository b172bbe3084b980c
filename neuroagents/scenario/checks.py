"""Checks of a scenario before it runs: a name that is safe as a file name, doses that are plausible."""

from __future__ import annotations

import re

from neuroagents.errors import ConfigError

__all__ = ["LIMIT_DOSE_MG_PER_KG", "check_name", "implausible_doses"]

LIMIT_DOSE_MG_PER_KG = 2000.0
"""Above this a dose is implausible: the limit dose of acute oral toxicity testing (OECD Test Guideline 423 and
425, 2000 mg/kg; V). The drug catalogue has no per-drug usual range yet."""


def implausible_doses(scenario) -> list[str]:
    """Warnings for doses above :data:`LIMIT_DOSE_MG_PER_KG` (the run goes on: the PK is linear, but the result
    is unlikely to mean what was intended, e.g. ``dose_mg_per_kg = 1e12``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> w = implausible_doses(SimpleNamespace(drugs=[{"drug": "celecoxib", "dose_mg_per_kg": 30.0},
    ...                                              {"drug": "tofacitinib", "dose_mg_per_kg": 1e12}]))
    >>> len(w), w[0][:60]
    (1, 'drugs[1] (tofacitinib): dose_mg_per_kg = 1e+12 is above 2000')
    """
    out = []
    for i, d in enumerate(getattr(scenario, "drugs", None) or []):  # over dosing schedules
        dose = d.get("dose_mg_per_kg") if isinstance(d, dict) else None
        if isinstance(dose, (int, float)) and dose > LIMIT_DOSE_MG_PER_KG:
            out.append(f"drugs[{i}] ({d.get('drug')}): dose_mg_per_kg = {dose:g} is above {LIMIT_DOSE_MG_PER_KG:g} "
                       "mg/kg, the limit dose of acute toxicity testing (OECD TG 423/425); the usual doses in the "
                       "scenarios are 0.1-100 mg/kg; check the unit")  # fmt: skip
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
