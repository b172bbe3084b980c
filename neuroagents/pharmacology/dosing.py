"""Dosing schedules: which drug, by which route, how much, how often, from when to when.

A :class:`DosingSchedule` is validated on construction; every mistake is a
:class:`~neuroagents.errors.ConfigError` naming the key, the value and what is
allowed (an unknown drug or key comes with a close-match hint). Doses fall at
``start_min + k · interval_h · 60`` for ``k = 0, 1, ...`` while ``k < n_doses``
and the time is ``<= stop_min`` (both optional; with an interval, one of them
is required).

Examples
--------
>>> s = DosingSchedule.from_mapping({"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 10,
...                                  "interval_h": 12, "n_doses": 3})
>>> s.dose_times_min().tolist()
[0.0, 720.0, 1440.0]
>>> [round(d.amount_mg, 3) for d in s.doses(body_weight_kg=0.025)]
[0.25, 0.25, 0.25]
>>> DosingSchedule.from_mapping({"drug": "tofacitinib", "route": "oral", "dose_mg": -1})
Traceback (most recent call last):
...
neuroagents.errors.ConfigError: dosing.dose_mg = -1: must be a dose > 0 (mg)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.pharmacology.drugs import get_drug
from neuroagents.pharmacology.local import extra_routes
from neuroagents.pharmacology.pk import SPECIES, Dose
from neuroagents.pharmacology.schema import SYSTEMIC_ROUTES

__all__ = ["MAX_DOSES", "ROUTES", "DosingSchedule"]

ROUTES = ("oral", "sc", "iv", "intrathecal", "ip", "intraplantar", "intra_articular", "perineural", "intraganglionic")
"""Routes of administration: by mouth, under the skin, into a vein, into the CSF, into the peritoneum, and local
injections into the paw, a joint, beside a nerve, into a DRG (:mod:`neuroagents.pharmacology.local`)."""
MAX_DOSES = 10_000
"""Most doses one schedule may produce (a guard against a typo such as interval_h = 0.001)."""
_INFUSIBLE = ("iv", "intrathecal")


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class DosingSchedule:
    """A repeated dose of one drug.

    Parameters
    ----------
    drug : str
        A name from :data:`~neuroagents.pharmacology.drugs.DRUGS`.
    route : str
        One of :data:`ROUTES` that the drug allows (``Drug.routes``).
    dose_mg : float, optional
        Dose per administration, mg (give this or ``dose_mg_per_kg``).
    dose_mg_per_kg : float, optional
        Dose per administration, mg/kg of body weight.
    interval_h : float, optional
        Time between doses, h (needed for more than one dose).
    start_min : float
        Time of the first dose, min (>= 0).
    stop_min : float, optional
        No dose after this time, min (> ``start_min``).
    n_doses : int, optional
        Number of doses (>= 1). Without ``interval_h``, one dose.
    infusion_min : float
        Duration of a zero-order infusion, min (0 = bolus); i.v. and intrathecal only.
    where : str
        Prefix of the keys named in errors (e.g. ``"scenario.drugs[0]"``).
    """

    drug: str
    route: str
    dose_mg: float | None = None
    dose_mg_per_kg: float | None = None
    interval_h: float | None = None
    start_min: float = 0.0
    stop_min: float | None = None
    n_doses: int | None = None
    infusion_min: float = 0.0
    where: str = field(default="dosing", compare=False)

    def __post_init__(self) -> None:
        w = self.where
        drug = get_drug(self.drug, where=f"{w}.drug")
        if self.route not in ROUTES:
            close = difflib.get_close_matches(str(self.route), ROUTES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{w}.route", self.route, f"one of {list(ROUTES[:4])}{hint}, or a route every drug "
                              f"takes: {', '.join(ROUTES[4:])}")  # fmt: skip
        if self.route not in drug.routes and self.route not in extra_routes(drug):
            allowed = (f"a route of {drug.name}: one of {list(drug.routes)} (no {self.route} data catalogued), or "
                       f"one every drug takes: {', '.join(extra_routes(drug))}")
            raise ConfigError(f"{w}.route", self.route, allowed)
        if (self.dose_mg is None) == (self.dose_mg_per_kg is None):
            raise ConfigError(f"{w}.dose_mg", self.dose_mg, "given, or dose_mg_per_kg given (exactly one of the two)")
        for name, unit in (("dose_mg", "mg"), ("dose_mg_per_kg", "mg/kg")):
            v = getattr(self, name)
            if v is not None and not (_number(v) and v > 0):
                raise ConfigError(f"{w}.{name}", v, f"a dose > 0 ({unit})")
        if self.interval_h is not None and not (_number(self.interval_h) and self.interval_h > 0):
            raise ConfigError(f"{w}.interval_h", self.interval_h, "an interval > 0 (h)")
        if not (_number(self.start_min) and self.start_min >= 0):
            raise ConfigError(f"{w}.start_min", self.start_min, "a time >= 0 (min)")
        if self.stop_min is not None and not (_number(self.stop_min) and self.stop_min > self.start_min):
            raise ConfigError(f"{w}.stop_min", self.stop_min, f"a time > start_min = {self.start_min:g} (min)")
        n = self.n_doses
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ConfigError(f"{w}.n_doses", n, "an integer >= 1")
        if self.interval_h is None and n is not None and n > 1:
            raise ConfigError(f"{w}.interval_h", None, f"an interval > 0 (h) when n_doses = {n} > 1")
        if self.interval_h is not None and n is None and self.stop_min is None:
            raise ConfigError(f"{w}.n_doses", None, "an integer >= 1, or a stop_min, when interval_h is given")
        if not (_number(self.infusion_min) and self.infusion_min >= 0):
            raise ConfigError(f"{w}.infusion_min", self.infusion_min, "a duration >= 0 (min)")
        if self.infusion_min > 0 and self.route not in _INFUSIBLE:
            raise ConfigError(f"{w}.infusion_min", self.infusion_min, f"0 for route {self.route!r} "
                              f"(infusions: {list(_INFUSIBLE)})")  # fmt: skip
        count = self._count()
        if count > MAX_DOSES:
            raise ConfigError(f"{w}.interval_h", self.interval_h,
                              f"a schedule of at most {MAX_DOSES} doses (this one has {count})")  # fmt: skip

    @classmethod
    def from_mapping(cls, mapping: Mapping, where: str = "dosing") -> DosingSchedule:
        """Build from a mapping (a TOML table), naming unknown keys with a close-match hint."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(where, mapping, "a table of dosing keys")
        known = [f.name for f in fields(cls) if f.name != "where"]
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"{where}.{key}", mapping[key], f"a dosing key{hint}; known: {', '.join(known)}")
        for key in ("drug", "route"):
            if key not in mapping:
                raise ConfigError(f"{where}.{key}", None, "given")
        return cls(**dict(mapping), where=where)

    def _count(self) -> int:
        if self.interval_h is None:
            return 1
        n = self.n_doses if self.n_doses is not None else math.inf
        if self.stop_min is not None:
            n = min(n, math.floor((self.stop_min - self.start_min) / (self.interval_h * 60.0) + 1e-9) + 1)
        return int(n)

    def dose_times_min(self) -> np.ndarray:
        """Times of the doses, min, shape ``(n,)``."""
        step = 0.0 if self.interval_h is None else self.interval_h * 60.0
        return self.start_min + step * np.arange(self._count(), dtype=float)

    def unusual(self, species: str) -> str | None:
        """A warning when one dose lies outside the drug's usual range for ``species``, else ``None``.

        The range (``Drug.usual_dose_mg_per_kg``, :mod:`~neuroagents.pharmacology.usual_doses`) is for one systemic
        dose; intrathecal and local doses are checked against its upper end only (they are usually much smaller).
        A ``dose_mg`` is converted with the species' body weight.

        Examples
        --------
        >>> s = DosingSchedule("celecoxib", "oral", dose_mg_per_kg=3000, where="drugs[0]")
        >>> s.unusual("rat").split(" (source")[0]
        'drugs[0] (celecoxib): dose_mg_per_kg = 3000 is outside the usual 1-50 mg/kg of one systemic dose in the rat'
        >>> DosingSchedule("celecoxib", "oral", dose_mg_per_kg=30).unusual("rat") is None
        True
        """
        rng = get_drug(self.drug).usual_dose_mg_per_kg.get(species)
        if rng is None:
            return None
        weight = SPECIES[species].body_weight_kg
        per_kg = self.amount_mg(weight) / weight
        low = rng[0] if self.route in SYSTEMIC_ROUTES else 0.0
        if low <= per_kg <= rng[1]:
            return None
        given = (f"dose_mg = {self.dose_mg:g} ({per_kg:.3g} mg/kg for a {weight * 1e3:g} g {species})"
                 if self.dose_mg is not None else f"dose_mg_per_kg = {self.dose_mg_per_kg:g}")  # fmt: skip
        what = "one systemic dose" if self.route in SYSTEMIC_ROUTES else f"one dose (at most; {self.route})"
        return (f"{self.where} ({self.drug}): {given} is outside the usual {rng[0]:g}-{rng[1]:g} mg/kg of {what} in "
                f"the {species} (source: {get_drug(self.drug).sources[f'usual_dose_mg_per_kg.{species}']}); "
                "check the unit")  # fmt: skip

    def amount_mg(self, body_weight_kg: float) -> float:
        """Amount per dose, mg, for an animal of ``body_weight_kg``."""
        return float(self.dose_mg) if self.dose_mg is not None else float(self.dose_mg_per_kg) * body_weight_kg

    def doses(self, body_weight_kg: float) -> list[Dose]:
        """The schedule as :class:`~neuroagents.pharmacology.pk.Dose` records.

        A dose that weighs more than the animal (above 10⁶ mg/kg) is physically absurd: a
        :class:`~neuroagents.errors.ConfigError`.
        """
        amount = self.amount_mg(body_weight_kg)
        if amount > body_weight_kg * 1e6:  # mg in the animal's own mass
            key = "dose_mg" if self.dose_mg is not None else "dose_mg_per_kg"
            raise ConfigError(f"{self.where}.{key}", getattr(self, key), f"a dose lighter than the animal itself "
                              f"({body_weight_kg * 1e3:g} g, i.e. at most 1e+06 mg/kg); the usual dose of "
                              f"{self.drug} is {_usual_text(self.drug)}")  # fmt: skip
        return [Dose(float(t), self.route, amount, float(self.infusion_min)) for t in self.dose_times_min()]


def _usual_text(drug: str) -> str:
    ranges = get_drug(drug).usual_dose_mg_per_kg
    return ", ".join(f"{lo:g}-{hi:g} mg/kg ({sp})" for sp, (lo, hi) in ranges.items()) or "not catalogued"
