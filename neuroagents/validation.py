"""Published outcomes, run from the built-in scenarios: shared by the validation tests and docs/validation.md.

Each case names the scenarios it runs (with ``--set``-style overrides), the
readout it compares and the source of the expected direction. :func:`run`
steps a scenario to its end and returns the time series (one row per record).

Examples
--------
>>> len(CASES), sorted(CASES)[:5]
(15, ['arthritis_anti_tnf', 'arthritis_jak', 'carrageenan', 'carrageenan_indomethacin', 'carrageenan_kinins'])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import pandas as pd

__all__ = ["CASES", "SEEDS", "Case", "run", "validation_seeds"]


@dataclass(frozen=True)
class Case:
    """One published outcome: the arms to run and where the expectation comes from."""

    title: str
    source: str
    arms: dict[str, tuple[str, tuple[str, ...]]]  # label -> (scenario, overrides)
    readout: str
    expectation: str


CSF1_IT = ("injury.injured_fraction=0.0", "scenario.duration_days=5", "time.record_every_min=360",
           'injections=[{mediator="CSF1", compartment="dorsal_horn", dose_nM=50.0}]')
"""Intrathecal CSF1 into a naive mouse (`sni` without injury, 5 days, a record every 6 h): a bolus of 50 nM CSF1 in
the dorsal horn's interstitium (assumption: the order of what an intrathecal injection of recombinant CSF1 leaves in
the cord, not transcribed from Kuhn 2021 or Guan 2016)."""
NO_T_CELLS = 'interventions=[{kind="knockout", cell_type="t_cell"}]'
"""A T-cell knockout (Rag1-/-, nude)."""

CASES: dict[str, Case] = {
    "sni": Case(
        "Spared nerve injury: mechanical hypersensitivity from day 1 to day 28",
        "Smith 2013 Mol Pain (docs/references.md); Decosterd & Woolf 2000 Pain 87:149",
        {"SNI": ("sni", ()), "sham": ("sni", ("injury.injured_fraction=0.0",))},
        "withdrawal_threshold_interp_g",
        "SNI threshold below sham on every day from 1 to 28",
    ),
    "mir21": Case(
        "Neuronal miR-21: needed for macrophage entry into the DRG and for full hypersensitivity",
        "Simeoli 2017 Nat Commun 8:1778",
        {"SNI": ("sni", ()), "SNI, no neuronal miR-21": ("sni_mir21_knockout", ()),
         "SNI, intrathecal antagomir-21": ("sni_antagomir21", ())},
        "withdrawal_threshold_interp_g",
        "knockout or antagomir: fewer pro-inflammatory (M1) macrophages in the DRG and a higher threshold",
    ),
    "minocycline_timing": Case(
        "Minocycline: started at the injury it attenuates hypersensitivity; started once pain is established it "
        "lowers microglial activation but does not reverse it",
        "Raghavendra, Tanga & DeLeo 2003 J Pharmacol Exp Ther 306:624",
        {"SNI": ("sni", ()), "minocycline from the injury": ("sni_minocycline_early", ()),
         "minocycline from day 5": ("sni_minocycline_late", ())},
        "withdrawal_threshold_interp_g",
        "early: threshold higher than SNI during the first week; late: microglial BDNF down, threshold still far "
        "below baseline (no reversal)",
    ),
    "t_cells": Case(
        "T-cell deficiency: less mechanical hypersensitivity after nerve injury; transferring T cells restores it",
        "Costigan 2009 J Neurosci 29:14415 (Rag1-/-, IFN-γ); Moalem 2004 Pain 109:296; Cobos 2018 Cell Rep 22:1301",
        {"SNI": ("sni", ()), "SNI, Rag1-/-": ("sni_rag1", ()),
         "SNI, Rag1-/- + T cells": ("sni_rag1_transfer", ())},
        "withdrawal_threshold_interp_g",
        "Rag1-/-: threshold higher than wild type from the second week; with T cells transferred, as wild type",
    ),
    "sex": Case(
        "Sex: female and male mice develop similar pain after nerve injury, carried by different immune cells",
        "Sorge 2015 Nat Neurosci 18:1081 (SNI: similar mechanical hypersensitivity in both sexes; microglial "
        "inhibition (minocycline, TAT-P2X4) relieves it in males only; in T-cell-deficient females (nude, Rag1) it "
        "is microglia-dependent again); Kuhn 2021 eLife 10:e69056 (Tregs hold female microglia back); Taves 2016 "
        "Brain Behav Immun 55:70 (spinal p38 inhibition, males only)",
        {"SNI, male": ("sni", ()), "SNI, female": ("sni", ("scenario.sex=female",)),
         "minocycline from the injury, male": ("sni_minocycline_early", ()),
         "minocycline from the injury, female": ("sni_minocycline_early", ("scenario.sex=female",)),
         "Rag1-/-, female": ("sni_rag1", ("scenario.sex=female",)),
         "Rag1-/- + minocycline from the injury, female": ("sni_minocycline_early", (
             "scenario.sex=female", NO_T_CELLS))},
        "withdrawal_threshold_interp_g",
        "female threshold as low as male; minocycline relieves males, not females; without T cells, minocycline "
        "relieves females too",
    ),
    "csf1_intrathecal": Case(
        "Intrathecal CSF1: mechanical hypersensitivity in male mice, not in female ones unless they lack Tregs",
        "Kuhn 2021 eLife 10:e69056 (intrathecal CSF1 caused pain and an inflammatory microglial response in males "
        "only; Treg-deficient Foxp3-DTR females responded as males); Guan 2016 Nat Neurosci 19:94 (intrathecal CSF1 "
        "causes mechanical hypersensitivity and microglial proliferation)",
        {"vehicle, male": ("sni", CSF1_IT[:3]), "CSF1, male": ("sni", CSF1_IT),
         "CSF1, female": ("sni", (*CSF1_IT, "scenario.sex=female")),
         "CSF1, female without T cells": ("sni", (*CSF1_IT, "scenario.sex=female", NO_T_CELLS))},
        "withdrawal_threshold_interp_g",
        "males: the threshold falls within a day; females: hardly; females without T cells (no Tregs, the model's "
        "stand-in for Kuhn's Treg depletion): as males",
    ),
    "crush_vs_transection": Case(
        "Nerve injury: pain resolves after a crush, whose axons regrow, and lasts after a transection (SNI, ligated)",
        "Savastano 2014 J Neurosci Methods 227:166 (crush: reinnervation within 2-4 weeks, hypersensitivity "
        "resolving as it comes); Vogelaar 2004 Brain Res 1027:67; Decosterd & Woolf 2000 Pain 87:149 (SNI lasts)",
        {"SNI, 56 days": ("sni", ("scenario.duration_days=56",)), "crush": ("nerve_crush", ())},
        "withdrawal_threshold_interp_g",
        "crush: threshold back most of the way to baseline by day 56, the DRG macrophages no longer M1; SNI: still "
        "hypersensitive on day 56",
    ),
    "cci": Case(
        "Chronic constriction injury (rat): mechanical and heat hypersensitivity from day 2, lasting",
        "Bennett & Xie 1988 Pain 33:87 (heat hyperalgesia from the second postoperative day, lasting over 2 months; "
        "allodynia to innocuous mechanical stimulation)",
        {"CCI": ("cci", ()), "sham": ("cci", ("injury.injured_fraction=0.0", "injections=[]"))},
        "withdrawal_threshold_interp_g",
        "threshold and heat latency below sham on every day from 2 to 28, not wearing off",
    ),
    "carrageenan": Case(
        "Carrageenan in the rat paw: hyperalgesia within hours, resolving within about 48 h",
        "docs/references.md, 'Published outcomes' (threshold about -80% at 2.5 h; cytokines peak ~6 h)",
        {"carrageenan": ("carrageenan", ())},
        "withdrawal_threshold_interp_g",
        "threshold falls within hours; back near baseline by 48 h",
    ),
    "carrageenan_kinins": Case(
        "Carrageenan in the rat paw: kinins deepen the early hyperalgesia and the oedema",
        "a B2 antagonist (HOE 140) inhibits carrageenin hyperalgesia dose-dependently (Ferreira 1993 Br J Pharmacol "
        "110:1227) and lowers the oedema by 25-41 % (Buritova 1997 Eur J Pharmacol 320:73); kinins follow the amines "
        "in the carrageenan paw (Di Rosa 1971 J Pathol 104:15)",
        {"carrageenan": ("carrageenan", ()),
         "carrageenan, no bradykinin": ("carrageenan", ('interventions=[{kind="knockout", mediator="bradykinin"}]',))},
        "withdrawal_threshold_interp_g",
        "without bradykinin: a higher threshold and a longer heat latency in the first hours (2-4 h), and less "
        "oedema at 3 h",
    ),
    "carrageenan_nsaid": Case(
        "Carrageenan in the rat paw: a COX-2 inhibitor reduces the hyperalgesia and the oedema",
        "NSAIDs and COX-2 inhibitors reverse carrageenan hyperalgesia; COX-2 and PGE2 rise in parallel in the paw "
        "(Nantel 1999 Br J Pharmacol 128:853); indomethacin lowers carrageenan-exudate PGE2 (Barbieri 1977); a "
        "selective COX-2 inhibitor lowers the oedema (Seibert 1994 Proc Natl Acad Sci USA 91:12013)",
        {"carrageenan": ("carrageenan", ()),
         "celecoxib 30 mg/kg p.o.": ("carrageenan", (
             'drugs=[{drug="celecoxib", route="oral", dose_mg_per_kg=30.0, n_doses=1}]',))},
        "withdrawal_threshold_interp_g",
        "threshold higher with celecoxib during the prostaglandin phase (2-6 h), less oedema at 3 h",
    ),
    "carrageenan_indomethacin": Case(
        "Carrageenan in the rat paw: indomethacin lowers the oedema by about half over 1-5 h",
        "indomethacin 10 mg/kg, the positive control of a printed table, lowered the carrageenan oedema by 45, 42, 57, "
        "55 and 48 % at 1-5 h (Evid Based Complement Alternat Med 2012:108626, Table 1; "
        "validation/data/carrageenan_rat_ecam2012_108626_indomethacin.csv)",
        {"carrageenan": ("carrageenan", ()),
         "indomethacin 10 mg/kg p.o.": ("carrageenan", (
             'drugs=[{drug="indomethacin", route="oral", dose_mg_per_kg=10.0, n_doses=1}]',))},
        "swelling_pct_paw",
        "less oedema at 1-3 h and less paw PGE2 with indomethacin; the published size over 1-5 h",
    ),
    "arthritis_jak": Case(
        "Arthritis: a JAK inhibitor reduces pain, more at a higher dose",
        "JAK inhibitors reduce pain in RA trials (docs/references.md)",
        {"untreated": ("arthritis", ()),
         "tofacitinib 1 mg/kg": ("arthritis_tofacitinib", ("drugs[0].dose_mg_per_kg=1.0",)),
         "tofacitinib 15 mg/kg": ("arthritis_tofacitinib", ())},
        "withdrawal_threshold_interp_g",
        "threshold after treatment: untreated < 1 mg/kg < 15 mg/kg",
    ),
    "arthritis_anti_tnf": Case(
        "Antigen-induced arthritis: neutralizing TNF relieves the pain while the joint stays inflamed",
        "in rat antigen-induced arthritis etanercept and infliximab (from 6 h) decreased pain-related behaviour from "
        "day 3, while joint swelling was only weakly attenuated and the histology still showed pronounced "
        "inflammation on days 3 and 21; intra-articular etanercept lowered the joint afferents' responses to "
        "movement of the inflamed joint within 30 min: TNF acts on the nociceptors themselves (Boettger 2008 "
        "Arthritis Rheum 58:2368; timing from Boettger 2007 Acta Physiol 189 Suppl 653:P21-L2-09)",
        {"untreated": ("arthritis", ()),
         "etanercept 5 mg/kg s.c. every 3 days from 6 h": ("arthritis", (
             'drugs=[{drug="etanercept", route="sc", dose_mg_per_kg=5.0, interval_h=72.0, n_doses=7, '
             'start_min=360.0}]',))},
        "withdrawal_threshold_interp_g",
        "threshold higher with etanercept over days 3-21; the synovium's swelling and its M1 macrophages only a "
        "little lower",
    ),
    "cfa_opioids": Case(
        "CFA in the rat paw: immune-cell opioid peptides hold the hyperalgesia down; blocking them deepens it",
        "Rittner 2009 PLoS Pathog 5:e1000362 (naloxone reverses a tonic, leukocyte-opioid antinociception in the "
        "mycobacteria-inflamed paw); Stein & Machelska 2011 Pharmacol Rev 63:860 (review); Zöllner 2003 Mol "
        "Pharmacol 64:202 (peripheral μ receptors up within days of CFA)",
        {"CFA": ("cfa_rat", ()),
         "CFA, no opioid peptides": ("cfa_rat", ('interventions=[{kind="knockout", mediator="opioid"}]',))},
        "withdrawal_threshold_interp_g",
        "without the peptides: lower threshold and shorter heat latency while the paw is inflamed (days 5-12), the "
        "gap growing as μ receptors reach the terminals; the paw as swollen",
    ),
}


def validation_seeds(environ=None) -> tuple[int, ...]:
    """The seeds of the checks: ``NEUROAGENTS_VALIDATION_SEEDS`` (comma-separated), else 1, 2, 3.

    Every seed-robust case runs on each; the cases read from one run take the first. Other seeds show how robust
    the checks are to the random numbers (docs/validation.md, *Seed robustness*).

    Examples
    --------
    >>> validation_seeds({}), validation_seeds({"NEUROAGENTS_VALIDATION_SEEDS": "4, 5,6"})
    ((1, 2, 3), (4, 5, 6))
    >>> validation_seeds({"NEUROAGENTS_VALIDATION_SEEDS": "4,x"})
    Traceback (most recent call last):
    ...
    ValueError: NEUROAGENTS_VALIDATION_SEEDS = '4,x': allowed: seeds as non-negative integers separated by commas
    """
    environ = os.environ if environ is None else environ
    text = environ.get("NEUROAGENTS_VALIDATION_SEEDS")
    if text is None:
        return (1, 2, 3)
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ValueError(f"NEUROAGENTS_VALIDATION_SEEDS = {text!r}: allowed: seeds as non-negative integers "
                         "separated by commas")
    return tuple(int(part) for part in parts)


SEEDS = validation_seeds()
"""Seeds every seed-robust case is run with (:func:`validation_seeds`): each must show the published direction on
its own."""


def run(
    scenario: str, overrides: tuple[str, ...] = (), *, backend: str = "numpy", seed: int | None = None
) -> pd.DataFrame:
    """Run a scenario to its end; its time series with a ``day`` column (``seed`` replaces the scenario's)."""
    from neuroagents.scenario.loader import load_scenario

    if seed is not None:
        overrides = (*overrides, f"scenario.seed={int(seed)}")
    s = load_scenario(scenario, list(overrides))
    model = s.build_model(backend=backend)
    for _ in range(max(1, math.ceil(s.duration_min / model.cell_dt_min - 1e-9))):  # over cell steps
        model.step()
    model.record()
    table = model.timeseries()
    table["day"] = table["time_min"] / 1440.0
    return table
