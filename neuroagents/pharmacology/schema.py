"""What a catalogue entry is: :class:`Target` and :class:`Drug`, validated on construction.

A drug lists its molecular targets (kind, potency, Hill coefficient, Emax, the
assay the potency came from) and its human pharmacokinetic parameters; every
number must come with a source (``Drug.sources``, ``Target.source``) — the
constructor refuses an entry without one. The entries themselves are in
:mod:`neuroagents.pharmacology.drugs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from neuroagents.errors import ConfigError
from neuroagents.registry import DRUG_TARGETS

__all__ = ["ASSAYS", "NUMERIC_FIELDS", "SPECIES_NAMES", "SPECIES_PK_FIELDS", "SYSTEMIC_ROUTES", "TARGET_KINDS", "Drug",
           "Target"]  # fmt: skip

TARGET_KINDS = ("kinase", "pathway", "receptor", "mediator", "enzyme", "mirna")
"""Kinds of molecular target (see the module docstring for their meaning)."""
ASSAYS = ("enzyme", "cellular", "binding", "whole_blood", "ex_vivo_total", "assumption")
"""Where a potency was measured; ``whole_blood`` and ``ex_vivo_total`` are on total drug."""
_TOTAL_BASIS = ("whole_blood", "ex_vivo_total")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Target:
    """One molecular target of one drug.

    Parameters
    ----------
    name : str
        Target name as the model knows it (``"JAK1"``, ``"NFKB"``, ``"IL6R"``, ``"TNF"``, ``"COX2"``, ``"miR21"``).
    kind : str
        One of :data:`TARGET_KINDS`.
    potency_nM : float
        IC50 (inhibitors) or KD (binders, neutralizers), nM, > 0.
    hill : float
        Hill coefficient, > 0 (1 unless a source says otherwise).
    emax : float
        Largest fraction the drug can reach on this target, in (0, 1].
    assay : str
        One of :data:`ASSAYS` (what ``potency_nM`` was measured in).
    source : str
        Citation for the potency (and ``emax`` if < 1), or ``assumption``.
    """

    name: str
    kind: str
    potency_nM: float
    hill: float = 1.0
    emax: float = 1.0
    assay: str = "enzyme"
    source: str = ""

    def __post_init__(self) -> None:
        where = f"target {self.name!r}"
        if self.kind not in TARGET_KINDS:
            raise ConfigError("kind", self.kind, f"one of {list(TARGET_KINDS)}", where)
        allowed = DRUG_TARGETS.get(self.kind)  # a mediator target: any mediator (checked where the grid is known)
        if allowed is not None and self.name not in allowed:
            raise ConfigError("name", self.name, f"a {self.kind} among {list(allowed)}", where)
        if not (_finite(self.potency_nM) and self.potency_nM > 0):
            raise ConfigError("potency_nM", self.potency_nM, "a finite number > 0 (nM)", where)
        if not (_finite(self.hill) and self.hill > 0):
            raise ConfigError("hill", self.hill, "a finite number > 0", where)
        if not (_finite(self.emax) and 0 < self.emax <= 1):
            raise ConfigError("emax", self.emax, "a fraction in (0, 1]", where)
        if self.assay not in ASSAYS:
            raise ConfigError("assay", self.assay, f"one of {list(ASSAYS)}", where)
        if not self.source:
            raise ConfigError("source", self.source, "a citation or 'assumption'", where)

    def free_potency_nM(self, fraction_unbound: float) -> float:
        """Potency on the free (unbound) drug concentration, nM.

        Whole-blood and ex-vivo potencies are on total drug; the unbound
        equivalent is ``IC50 × fu`` (assumption: blood binds as plasma does).
        """
        return self.potency_nM * fraction_unbound if self.assay in _TOTAL_BASIS else self.potency_nM


NUMERIC_FIELDS = (
    "mw_g_per_mol", "cl_l_per_h", "v1_l", "q_l_per_h", "v2_l", "f_oral", "ka_oral_per_h", "f_sc", "ka_sc_per_h",
    "fraction_unbound", "csf_kp_uu", "tissue_partition", "ke0_per_h", "cl_exponent", "half_life_h", "tmax_h",
)  # fmt: skip
_FRACTIONS = ("f_oral", "f_sc", "fraction_unbound", "tissue_partition")
SPECIES_NAMES = ("mouse", "rat", "human")
"""Species a drug may carry measured PK for (``Drug.species_pk``)."""
SPECIES_PK_FIELDS = ("cl_l_per_h", "v1_l", "q_l_per_h", "v2_l", "f_oral", "ka_oral_per_h", "f_sc", "ka_sc_per_h",
                     "fraction_unbound", "csf_kp_uu", "tissue_partition", "ke0_per_h")  # fmt: skip
"""Fields a measured species value may replace (after allometric scaling)."""
SYSTEMIC_ROUTES = ("oral", "sc", "iv", "ip")
"""Routes the usual dose ranges (``Drug.usual_dose_mg_per_kg``) are for; intrathecal and local doses are smaller."""


@dataclass(frozen=True)
class Drug:
    """One drug: targets and human (70 kg) pharmacokinetics.

    Parameters
    ----------
    name, drug_class : str
    mw_g_per_mol : float
        Molecular mass, g/mol (converts mg/L to nM).
    targets : tuple of Target
    cl_l_per_h, v1_l : float
        Clearance (L/h) and central volume (L), human 70 kg.
    q_l_per_h, v2_l : float
        Inter-compartmental clearance (L/h) and peripheral volume (L); 0 for a one-compartment drug.
    f_oral, ka_oral_per_h, f_sc, ka_sc_per_h : float or None
        Bioavailability (fraction) and first-order absorption rate (1/h) by mouth and under the skin;
        ``None`` where the route is not available.
    fraction_unbound : float
        Free fraction in plasma, 1 − protein binding.
    csf_kp_uu : float
        Unbound CSF / unbound plasma concentration ratio at equilibrium (dorsal-horn exposure of
        systemic drug).
    tissue_partition : float
        Interstitial / plasma free concentration in periphery and DRG (1 for small molecules).
    ke0_per_h : float or None
        Effect-compartment rate constant, 1/h, where the effect lags the plasma concentration.
    cl_exponent : float
        Allometric exponent of clearance across species.
    half_life_h : float
        Reported terminal half-life (human), h — checked against the model in the tests.
    tmax_h : float or None
        Reported time of peak after the first listed extravascular route, h.
    species_pk : Mapping[str, Mapping[str, float]]
        Measured values that replace the allometrically scaled ones, per species.
    usual_dose_mg_per_kg : Mapping[str, tuple of float]
        The usual range ``(low, high)`` of one systemic dose (:data:`SYSTEMIC_ROUTES`), mg/kg, per species: what
        studies and labels give, for warning about doses outside it (a mix-up of units, a typo).
    sources : Mapping[str, str]
        For every number above (every ``species_pk`` entry as ``"species.field"``, every usual dose range as
        ``"usual_dose_mg_per_kg.species"``), a source.
    notes : str
    """

    name: str
    drug_class: str
    mw_g_per_mol: float
    targets: tuple[Target, ...]
    cl_l_per_h: float
    v1_l: float
    half_life_h: float
    q_l_per_h: float = 0.0
    v2_l: float = 0.0
    f_oral: float | None = None
    ka_oral_per_h: float | None = None
    f_sc: float | None = None
    ka_sc_per_h: float | None = None
    fraction_unbound: float = 1.0
    csf_kp_uu: float = 1.0
    tissue_partition: float = 1.0
    ke0_per_h: float | None = None
    cl_exponent: float = 0.75
    tmax_h: float | None = None
    species_pk: Mapping[str, Mapping[str, float]] = field(default_factory=dict, hash=False, compare=False)
    usual_dose_mg_per_kg: Mapping[str, tuple[float, float]] = field(default_factory=dict, hash=False, compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"drug {self.name!r}"
        for name in NUMERIC_FIELDS:
            v = getattr(self, name)
            if v is None:
                continue
            if not (_finite(v) and v >= 0):
                raise ConfigError(name, v, "a finite number >= 0", where)
            if name in _FRACTIONS and v > 1:
                raise ConfigError(name, v, "a fraction in [0, 1]", where)
            if not self.sources.get(name) and not (name in ("q_l_per_h", "v2_l") and v == 0):
                raise ConfigError(f"sources.{name}", None, "a citation or 'assumption' for every number", where)
        for name in ("mw_g_per_mol", "cl_l_per_h", "v1_l", "half_life_h", "fraction_unbound"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, getattr(self, name), "a number > 0", where)
        if (self.q_l_per_h > 0) != (self.v2_l > 0):
            raise ConfigError("v2_l", self.v2_l, "> 0 exactly when q_l_per_h > 0 (two compartments)", where)
        for route in ("oral", "sc"):
            f, ka = getattr(self, f"f_{route}"), getattr(self, f"ka_{route}_per_h")
            if (f is None) != (ka is None) or (ka is not None and ka <= 0):
                raise ConfigError(f"ka_{route}_per_h", ka, f"> 0, given together with f_{route}", where)
        if self.ke0_per_h is not None and self.ke0_per_h <= 0:
            raise ConfigError("ke0_per_h", self.ke0_per_h, "a rate > 0 (1/h) or None", where)
        if not self.targets:
            raise ConfigError("targets", self.targets, "at least one Target", where)
        for sp, over in self.species_pk.items():
            if sp not in SPECIES_NAMES:
                raise ConfigError("species_pk", sp, f"keys among {list(SPECIES_NAMES)}", where)
            for k, v in over.items():
                if k not in SPECIES_PK_FIELDS:
                    raise ConfigError(f"species_pk.{sp}.{k}", v, f"a field among {list(SPECIES_PK_FIELDS)}", where)
                if not (_finite(v) and v > 0):
                    raise ConfigError(f"species_pk.{sp}.{k}", v, "a finite number > 0", where)
                if not self.sources.get(f"{sp}.{k}"):
                    raise ConfigError(f"sources.{sp}.{k}", None, "a source for every species override", where)
        for sp, rng in self.usual_dose_mg_per_kg.items():
            key = f"usual_dose_mg_per_kg.{sp}"
            if sp not in SPECIES_NAMES:
                raise ConfigError("usual_dose_mg_per_kg", sp, f"keys among {list(SPECIES_NAMES)}", where)
            if not (isinstance(rng, tuple) and len(rng) == 2 and all(_finite(v) and v > 0 for v in rng)
                    and rng[0] < rng[1]):  # fmt: skip
                raise ConfigError(key, rng, "a pair (low, high) of doses with 0 < low < high (mg/kg)", where)
            if not self.sources.get(key):
                raise ConfigError(f"sources.{key}", None, "a source for every usual dose range", where)

    @property
    def protein_binding(self) -> float:
        """Fraction bound to plasma proteins, 1 − ``fraction_unbound``."""
        return 1.0 - self.fraction_unbound

    @property
    def routes(self) -> tuple[str, ...]:
        """Routes this drug can be given by: i.v. and intrathecal always, oral and s.c. where catalogued."""
        return tuple(r for r, ok in (("oral", self.f_oral is not None), ("sc", self.f_sc is not None),
                                     ("iv", True), ("intrathecal", True)) if ok)  # fmt: skip

    def target(self, name: str) -> Target | None:
        """The target called ``name``, or ``None``."""
        return next((t for t in self.targets if t.name == name), None)
