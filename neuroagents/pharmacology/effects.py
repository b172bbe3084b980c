"""From dosing schedules to the fraction of each target hit, per tissue compartment.

For each drug the PK engine gives the free concentration at the site of
action in three compartments:

* ``periphery`` and ``drg``: the unbound plasma concentration (times the
  interstitial partition for antibodies); the DRG also sees a share of an
  intrathecal dose (:data:`~neuroagents.pharmacology.pk.DRG_CSF_FRACTION`);
* ``dorsal_horn``: the CSF concentration — an intrathecal dose directly, a
  systemic one through the unbound CSF/plasma ratio ``Kp,uu``.

Drugs with an effect compartment (``ke0``: prednisolone, methotrexate,
antagomir-21) act through the effect-site concentration ``Ce`` instead.

Occupancy of a target (inhibition, blockade, or fraction of a mediator
neutralized) follows the Hill/Emax law on the free concentration,
``i = Emax · C^h / (C^h + P^h)``, with ``P`` the free-drug potency (IC50 or
KD; whole-blood values are converted with the unbound fraction). Several
schedules of the same drug add their concentrations first; different drugs on
the same target combine as independent actions (Bliss),
``i = 1 − Π_d (1 − i_d)``.

Examples
--------
>>> from neuroagents.pharmacology import DosingSchedule, Pharmacology
>>> ph = Pharmacology([DosingSchedule("tofacitinib", "oral", dose_mg_per_kg=10)], species="mouse")
>>> e = ph.effects(30.0)
>>> sorted(e)
['dorsal_horn', 'drg', 'periphery']
>>> 0.5 < e["periphery"]["JAK1"] < 1.0 and e["periphery"]["JAK3"] > e["periphery"]["JAK1"]
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.pharmacology.dosing import DosingSchedule
from neuroagents.pharmacology.drugs import Drug, get_drug, target_kinds
from neuroagents.pharmacology.pk import LinearPK, mg_per_l_to_nM, resolve_species, scale_pk

__all__ = ["COMPARTMENTS", "MODEL_INPUTS", "Pharmacology", "combine_independent", "hill_occupancy", "split_by_kind"]

COMPARTMENTS = ("periphery", "drg", "dorsal_horn")
"""Tissue compartments for which effects are reported."""
MODEL_INPUTS = {
    "kinase": "inhibition",
    "pathway": "inhibition",
    "receptor": "receptor_blockade",
    "mediator": "neutralization",
    "enzyme": "enzyme_inhibition",
    "mirna": "mirna_block",
}
"""Which model input each target kind feeds (see :func:`split_by_kind` and ``docs/drugs.md``)."""


def hill_occupancy(c_nM, potency_nM: float, hill: float = 1.0, emax: float = 1.0):
    """``Emax · C^h / (C^h + P^h)``, in [0, Emax]; negative or absent concentrations read 0.

    Written as ``Emax / (1 + (P/C)^h)`` so that huge or tiny concentrations neither overflow nor give NaN.
    """
    c = np.maximum(np.asarray(c_nM, dtype=float), 0.0)
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.where(c > 0, (potency_nM / np.where(c > 0, c, 1.0)) ** hill, np.inf)
    return emax / (1.0 + ratio)


def combine_independent(fractions: Iterable):
    """Independent action (Bliss): ``1 − Π (1 − i)``."""
    spared = 1.0
    for f in fractions:  # over drugs on one target
        spared = spared * (1.0 - np.asarray(f, dtype=float))
    return 1.0 - spared


def split_by_kind(effects: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Group one compartment's ``{target: fraction}`` by the model input it feeds (:data:`MODEL_INPUTS`).

    Returns
    -------
    dict
        ``{"inhibition": {...}, "receptor_blockade": {...}, "neutralization": {...},
        "enzyme_inhibition": {...}, "mirna_block": {...}}`` (all keys present, possibly empty).
    """
    kinds = target_kinds()
    out: dict[str, dict[str, float]] = {v: {} for v in dict.fromkeys(MODEL_INPUTS.values())}
    for name, value in effects.items():
        out[MODEL_INPUTS[kinds[name]]][name] = value
    return out


class Pharmacology:
    """Drug concentrations and target effects over time for a set of dosing schedules.

    Parameters
    ----------
    schedules : iterable of DosingSchedule or Mapping
        Mappings are validated with :meth:`DosingSchedule.from_mapping` (errors name ``drugs[i].key``).
    species : {"mouse", "rat", "human"}
        Sets the body weight (mg/kg doses), the allometric scaling and the CSF physiology.
    body_weight_kg : float, optional
        Overrides the species' default body weight, kg.
    """

    def __init__(self, schedules: Iterable = (), species: str = "mouse", *, body_weight_kg: float | None = None):
        sp = resolve_species(species)
        w = body_weight_kg
        if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w < float("inf")):
            raise ConfigError("body_weight_kg", w, "a body weight > 0 (kg)")
        self.species = sp.name
        self.schedules: tuple[DosingSchedule, ...] = tuple(
            s if isinstance(s, DosingSchedule) else DosingSchedule.from_mapping(s, where=f"drugs[{k}]")
            for k, s in enumerate(schedules)
        )
        self._drugs: dict[str, Drug] = {}
        self._pk: dict[str, LinearPK] = {}
        self._doses: dict[str, list] = {}
        for s in self.schedules:  # group by drug: one PK system each, doses superposed
            if s.drug not in self._drugs:
                drug = get_drug(s.drug)
                self._drugs[s.drug] = drug
                used = {x.route for x in self.schedules if x.drug == s.drug}  # ip and local routes add states
                self._pk[s.drug] = LinearPK(scale_pk(drug, sp, body_weight_kg), routes=used)
                self._doses[s.drug] = []
        self.body_weight_kg = float(sp.body_weight_kg if body_weight_kg is None else body_weight_kg)
        for s in self.schedules:
            self._doses[s.drug].extend(s.doses(self.body_weight_kg))

    @property
    def drugs(self) -> tuple[str, ...]:
        """Names of the scheduled drugs."""
        return tuple(self._drugs)

    def doses(self, drug: str) -> list:
        """The :class:`~neuroagents.pharmacology.pk.Dose` records of one scheduled drug (all its schedules)."""
        self.pk(drug)
        return list(self._doses[drug])

    def pk(self, drug: str) -> LinearPK:
        """The PK system of one scheduled drug."""
        if drug not in self._pk:
            raise ConfigError("drug", drug, f"one of the scheduled drugs {list(self._pk)}")
        return self._pk[drug]

    @property
    def targets(self) -> dict[str, str]:
        """``{target: kind}`` for every target of the scheduled drugs."""
        return {t.name: t.kind for d in self._drugs.values() for t in d.targets}

    # --- concentrations -----------------------------------------------------------------------------------------
    def concentrations_over(self, times_min) -> dict[str, dict[str, np.ndarray]]:
        """Concentrations in nM at ``times_min`` (min), ``{drug: {output: ndarray (n_t,)}}``.

        Outputs: ``plasma_total``, ``plasma_free``, ``csf``, ``periphery``, ``drg``, ``dorsal_horn`` (free, at the
        site), and ``*_effect`` for drugs with an effect compartment.
        """
        t = self._times(times_min)
        out = {}
        for name, pk in self._pk.items():  # over drugs
            mg_l = pk.simulate(t, self._doses[name])
            out[name] = {k: mg_per_l_to_nM(v, pk.params.mw_g_per_mol) for k, v in mg_l.items()}
        return out

    def concentrations(self, t_min: float) -> dict[str, dict[str, float]]:
        """Concentrations in nM at one time ``t_min`` (min), as plain floats."""
        return {d: {k: float(v[0]) for k, v in c.items()} for d, c in self.concentrations_over([t_min]).items()}

    # --- effects --------------------------------------------------------------------------------------------
    def effects_over(self, times_min) -> dict[str, dict[str, np.ndarray]]:
        """Fraction of each target hit at ``times_min`` (min), ``{compartment: {target: ndarray (n_t,)}}``.

        Vectorized over times: one superposition per drug, no time stepping (cheap enough for plotting).
        """
        t = self._times(times_min)
        conc = self.concentrations_over(t)
        per_target: dict[str, dict[str, list]] = {c: {} for c in COMPARTMENTS}
        for name, drug in self._drugs.items():  # over drugs and their few targets
            fu = self._pk[name].params.fraction_unbound
            for comp in COMPARTMENTS:
                key = f"{comp}_effect" if drug.ke0_per_h is not None else comp
                c = conc[name][key]
                for tg in drug.targets:
                    i = hill_occupancy(c, tg.free_potency_nM(fu), tg.hill, tg.emax)
                    per_target[comp].setdefault(tg.name, []).append(i)
        return {comp: {tg: np.clip(combine_independent(v), 0.0, 1.0) for tg, v in d.items()}
                for comp, d in per_target.items()}  # fmt: skip

    def effects(self, t_min: float) -> dict[str, dict[str, float]]:
        """Fraction of each target hit at one time ``t_min`` (min), ``{compartment: {target: float}}``.

        Example: ``{"periphery": {"JAK1": 0.8, "TNF": 0.99, "COX2": 0.6}, "drg": {...}, "dorsal_horn": {...}}``.
        Kinase and pathway values are inhibitions, ``IL6R`` receptor blockade, mediators the fraction
        neutralized, ``COX2`` the inhibition of PGE2 production, ``miR21`` the block of its effect.
        """
        return {c: {k: float(v[0]) for k, v in d.items()} for c, d in self.effects_over([t_min]).items()}

    def model_inputs(self, t_min: float, compartment: str = "periphery") -> dict[str, dict[str, float]]:
        """One compartment's effects at ``t_min`` grouped by model input (see :func:`split_by_kind`)."""
        if compartment not in COMPARTMENTS:
            raise ConfigError("compartment", compartment, f"one of {list(COMPARTMENTS)}")
        return split_by_kind(self.effects(t_min)[compartment])

    @staticmethod
    def _times(times_min) -> np.ndarray:
        t = np.atleast_1d(np.asarray(times_min, dtype=float)).ravel()
        if not np.all(np.isfinite(t)):
            bad = t[~np.isfinite(t)][0]
            raise ConfigError("times_min", float(bad), "finite times (min)")
        return t
