"""Pharmacology: drug catalogue, compartmental PK, dosing schedules, target effects.

The pieces, in the order data flows:

* :mod:`~neuroagents.pharmacology.drugs` — what each drug hits (targets, potency) and its human PK, with sources
  (:mod:`~neuroagents.pharmacology.schema` says what an entry is);
* :mod:`~neuroagents.pharmacology.dosing` — :class:`DosingSchedule`: drug, route, dose, interval, start/stop;
* :mod:`~neuroagents.pharmacology.pk` — linear compartment models, scaled to mouse/rat/human, solved exactly by
  superposition;
* :mod:`~neuroagents.pharmacology.effects` — :class:`Pharmacology`: the fraction of each target hit in the
  periphery, the DRG and the dorsal horn at any time.

Equations, the drug table and how the model consumes the effects: ``docs/drugs.md``.

Examples
--------
>>> ph = Pharmacology([{"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 10}], species="mouse")
>>> ph.effects(3 * 1440.0)["periphery"]["TNF"] > 0.99  # fraction of soluble TNF neutralized at day 3
True
"""

from neuroagents.pharmacology.dosing import MAX_DOSES, ROUTES, DosingSchedule
from neuroagents.pharmacology.drugs import DRUGS, TARGET_KINDS, Drug, Target, get_drug
from neuroagents.pharmacology.effects import COMPARTMENTS, MODEL_INPUTS, Pharmacology, split_by_kind
from neuroagents.pharmacology.pk import SPECIES, Dose, LinearPK, scale_pk

__all__ = [
    "COMPARTMENTS",
    "DRUGS",
    "MAX_DOSES",
    "MODEL_INPUTS",
    "ROUTES",
    "SPECIES",
    "TARGET_KINDS",
    "Dose",
    "DosingSchedule",
    "Drug",
    "LinearPK",
    "Pharmacology",
    "Target",
    "get_drug",
    "scale_pk",
    "split_by_kind",
]
