"""Usual doses of the catalogued drugs: one systemic dose, mg/kg, per species, each range with a source.

What rodent studies and human labels give for one dose by mouth, under the skin, into a vein or the peritoneum
(:data:`~neuroagents.pharmacology.schema.SYSTEMIC_ROUTES`). A scenario whose dose falls outside its drug's range
runs, with a warning that names the drug, the dose and this range (``neuroagents.scenario.checks``): such a dose is
more often a mix-up of units (mg for mg/kg, µg for mg) than an experiment. The ranges are deliberately wide (the
doses of dose-response studies, not only the effective one); human ranges are the label doses divided by 70 kg.
Flags as in ``docs/references.md``: **U** from memory or a secondary source, not read during this work; the word
``assumption`` where no study gives a dose.

:mod:`neuroagents.pharmacology.drugs` attaches each entry to its :class:`~neuroagents.pharmacology.schema.Drug`
(``usual_dose_mg_per_kg``, with the sources as ``usual_dose_mg_per_kg.<species>``), which checks it.

Examples
--------
>>> USUAL_DOSES["celecoxib"]["rat"][:2]
(1.0, 50.0)
"""

from __future__ import annotations

__all__ = ["USUAL_DOSES"]

_H = "label dose / 70 kg"
_RODENT_JAK = "rodent arthritis and pain studies dose JAK inhibitors at 1-30 mg/kg/day by mouth (U)"
_MAB = "rodent studies give anti-cytokine antibodies at 1-25 mg/kg, i.p. or s.c. (U)"

# fmt: off
USUAL_DOSES: dict[str, dict[str, tuple[float, float, str]]] = {
    "tofacitinib": {
        "mouse": (0.3, 50.0, f"Milici 2008 Arthritis Res Ther 10:R14: 1.5-15 mg/kg/day in mouse CIA (U); "
                             f"{_RODENT_JAK}"),
        "rat": (0.3, 50.0, f"Milici 2008: 1.5-15 mg/kg/day in rat adjuvant arthritis (U); {_RODENT_JAK}"),
        "human": (0.03, 0.3, f"5-10 mg twice daily, Xeljanz label (U); {_H}"),
    },
    "baricitinib": {
        "mouse": (0.3, 50.0, _RODENT_JAK),
        "rat": (0.3, 30.0, _RODENT_JAK),
        "human": (0.01, 0.15, f"2-4 mg once daily, Olumiant label (U); {_H}"),
    },
    "upadacitinib": {
        "mouse": (0.3, 50.0, _RODENT_JAK),
        "rat": (0.1, 30.0, f"Parmentier 2018 BMC Rheumatol 2:23: 0.1-10 mg/kg in rat adjuvant arthritis (U); "
                          f"{_RODENT_JAK}"),
        "human": (0.1, 0.7, f"15-45 mg once daily, Rinvoq label (U); {_H}"),
    },
    "ruxolitinib": {
        "mouse": (5.0, 100.0, "mouse studies give 30-90 mg/kg twice daily by mouth (U)"),
        "rat": (1.0, 50.0, _RODENT_JAK),
        "human": (0.03, 0.4, f"5-25 mg twice daily, Jakafi label (U); {_H}"),
    },
    "fedratinib": {
        "mouse": (10.0, 150.0, "Wernig 2008 Cancer Cell 13:311: 60-120 mg/kg twice daily in mice (U)"),
        "rat": (5.0, 100.0, "assumption: as in mice"),
        "human": (2.0, 8.0, f"400 mg once daily, Inrebic label (U); {_H}"),
    },
    "adalimumab": {
        "mouse": (0.5, 30.0, _MAB),
        "rat": (0.5, 30.0, _MAB),
        "human": (0.2, 2.0, f"40-80 mg s.c. every 1-2 weeks, Humira label (U); {_H}"),
    },
    "etanercept": {
        "mouse": (0.5, 30.0, _MAB),
        "rat": (0.3, 30.0, f"Sommer 2001 Pain 91:225: etanercept in rat nerve injury (U); {_MAB}"),
        "human": (0.2, 1.5, f"25-50 mg s.c. once or twice weekly, Enbrel label (U); {_H}"),
    },
    "infliximab": {
        "mouse": (1.0, 30.0, _MAB),
        "rat": (1.0, 30.0, _MAB),
        "human": (2.0, 12.0, "3-10 mg/kg i.v., Remicade label (U)"),
    },
    "tocilizumab": {
        "mouse": (1.0, 50.0, f"{_MAB}; mouse studies use the surrogate MR16-1 at up to 2 mg/mouse (U)"),
        "rat": (1.0, 30.0, _MAB),
        "human": (1.0, 12.0, "4-8 mg/kg i.v. or 162 mg s.c., Actemra label (U)"),
    },
    "tanezumab": {
        "mouse": (0.1, 30.0, "rodent anti-NGF antibody studies: 0.1-10 mg/kg (U)"),
        "rat": (0.1, 30.0, "rodent anti-NGF antibody studies: 0.1-10 mg/kg (U)"),
        "human": (0.01, 0.3, "2.5-10 mg s.c.; phase 2 up to 0.2 mg/kg i.v. (U)"),
    },
    "prednisolone": {
        "mouse": (0.5, 50.0, "rodent studies: 1-30 mg/kg (U)"),
        "rat": (0.5, 50.0, "rodent studies: 1-30 mg/kg (U)"),
        "human": (0.05, 2.0, f"5-60 mg/day, up to 2 mg/kg in children, label (U); {_H}"),
    },
    "methotrexate": {
        "mouse": (0.3, 50.0, "mouse arthritis studies: 1-35 mg/kg once to thrice weekly (U)"),
        "rat": (0.05, 5.0, "rat adjuvant arthritis: 0.1-1 mg/kg (U)"),
        "human": (0.05, 0.5, f"7.5-25 mg once weekly for arthritis, label (U); {_H}"),
    },
    "ibuprofen": {
        "mouse": (5.0, 200.0, "rodent analgesia studies: 10-100 mg/kg (U)"),
        "rat": (5.0, 200.0, "rodent analgesia studies: 10-100 mg/kg (U)"),
        "human": (2.0, 15.0, f"200-800 mg, label (U); {_H}"),
    },
    "naproxen": {
        "mouse": (3.0, 100.0, "rodent analgesia studies: 5-50 mg/kg (U)"),
        "rat": (1.0, 100.0, "rodent analgesia studies: 3-30 mg/kg (U)"),
        "human": (2.0, 10.0, f"250-500 mg, label (U); {_H}"),
    },
    "celecoxib": {
        "mouse": (1.0, 100.0, "rodent inflammatory pain studies: 3-50 mg/kg (U)"),
        "rat": (1.0, 50.0, "rat carrageenan paw: 0.3-30 mg/kg by mouth (U)"),
        "human": (1.0, 6.0, f"100-400 mg, Celebrex label (U); {_H}"),
    },
    "indomethacin": {
        "mouse": (1.0, 20.0, "rodent inflammation studies: 1-10 mg/kg (U)"),
        "rat": (1.0, 20.0, "rat carrageenan paw: 10 mg/kg by mouth as the positive control (Evid Based Complement "
                           "Alternat Med 2012:108626, Table 1, V for the dose)"),
        "human": (0.3, 3.0, f"25-200 mg/day, label (U); {_H}"),
    },
    "minocycline": {
        "mouse": (5.0, 100.0, "Raghavendra 2003 J Pharmacol Exp Ther 306:624: 10-40 mg/kg/day i.p. in rats (U); "
                              "mouse studies up to 50 mg/kg (U)"),
        "rat": (5.0, 100.0, "Raghavendra 2003: 10-40 mg/kg/day i.p. (U)"),
        "human": (1.0, 4.0, f"100-200 mg, label (U); {_H}"),
    },
    "antagomir-21": {
        "mouse": (1.0, 100.0, "Krützfeldt 2005 Nature 438:685: antagomirs at 80 mg/kg i.v. in mice (U)"),
        "rat": (1.0, 100.0, "assumption: as in mice"),
        "human": (1.0, 100.0, "assumption: no human dose exists; the mouse range"),
    },
}
"""``{drug: {species: (low, high, source)}}``: the usual range of one systemic dose, mg/kg."""
# fmt: on
