"""The drug catalogue: targets, potencies, pharmacokinetics, each number with a source.

Every :class:`Drug` carries its human (70 kg) pharmacokinetic parameters and
its molecular targets; every number has a unit (in the field name) and a
source in ``Drug.sources`` (or ``Target.source``): a citation, or the word
``assumption``. Flags as in ``docs/references.md``: **V** read
in a published source during this work, **U** unverified (from memory or a
secondary source; calibrate), **derived** computed from the sourced numbers
named beside it. ``docs/drugs.md`` shows the whole table.

Targets have a *kind* that says which model input they feed:

=========  ===================================  ===============================================
kind       names                                meaning of the fraction
=========  ===================================  ===============================================
kinase     JAK1, JAK2, JAK3, TYK2               fractional inhibition of the kinase
pathway    STAT1..6, NFKB, P38                  fractional inhibition of the pathway itself
receptor   IL6R (any of cells.signaling)        fraction of receptors blocked
mediator   TNF, NGF (any mediator name)         fraction of the soluble mediator neutralized
enzyme     COX2                                 fractional inhibition of PGE2 production
mirna      miR21                                fraction of the miRNA's effect blocked
=========  ===================================  ===============================================

Potency is an IC50 (inhibitors) or a KD (binders), nM. ``assay`` says what it
was measured in: ``enzyme`` (isolated enzyme; ATP and conditions vary between
labs, so cross-drug comparisons are approximate), ``cellular``, ``binding``
(KD), ``whole_blood`` / ``ex_vivo_total`` (total drug in blood or plasma: the
free-drug potency is IC50 × fraction unbound), or ``assumption``.

Examples
--------
>>> get_drug("tofacitinib").half_life_h
3.2
>>> get_drug("tofacitnib")
Traceback (most recent call last):
...
neuroagents.errors.ConfigError: drug = 'tofacitnib': must be a drug in the catalogue (did you mean 'tofacitinib'?)...
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import fields, replace
from types import MappingProxyType

from neuroagents.errors import ConfigError
from neuroagents.pharmacology.schema import ASSAYS, NUMERIC_FIELDS, TARGET_KINDS, Drug, Target
from neuroagents.pharmacology.usual_doses import USUAL_DOSES
from neuroagents.registry import DRUG_TARGETS

__all__ = ["ASSAYS", "DRUGS", "TARGET_KINDS", "Drug", "Target", "describe", "get_drug", "target_kinds"]


def _src(**kw) -> Mapping[str, str]:
    return MappingProxyType(kw)


def _t(name, kind, potency_nM, source, *, assay="enzyme", hill=1.0, emax=1.0) -> Target:
    return Target(name, kind, potency_nM, hill=hill, emax=emax, assay=assay, source=source)


def _jak(values: tuple[float, float, float, float], sources: tuple[str, str, str, str]) -> tuple[Target, ...]:
    return tuple(_t(k, "kinase", v, s) for k, v, s in zip(DRUG_TARGETS["kinase"], values, sources, strict=True))


_LN2 = math.log(2.0)
_ASSUME_HILL = "; Hill 1 (assumption)"
_JAK_KP = "assumption: JAK inhibitors are efflux-transporter substrates, modest CNS entry (U)"
_SM_TISSUE = "assumption: free drug equilibrates with interstitial fluid"
_MAB_KP = "Chang 2018 Fluids Barriers CNS 15:10: mAb CSF/serum 0.1-0.2% at steady state (V)"
_MAB_TISSUE = "assumption; adalimumab synovial fluid 31-96% of serum (Humira label, V)"
_MAB_EXP = "Rowland 2024 Xenobiotica 54:609: IgG mAb CL exponent 0.80 (V)"
_SM_EXP = "Hu & Hayton 2001 AAPS PharmSci 3:E29: CL exponent 0.74-0.75 (V)"
_MAB_FU = "assumption: antibodies do not bind plasma proteins"
_DERIVED_KA = "derived: ka giving the reported Tmax with the catalogue t1/2 (one compartment)"

# --- JAK inhibitors ---------------------------------------------------------------------------------------
_TOFA_LBL = "Xeljanz Swiss Fachinfo (V)"
_MEYER = f"Meyer 2010 J Inflamm 7:41, enzyme IC50 near Km ATP, via docs/references.md (U){_ASSUME_HILL}"
_BARI_LBL = "Olumiant SmPC via Lilly Medical UK (V)"
_BARI_IC50 = f"Olumiant SmPC / Fridman 2010 J Immunol 184:5298, isolated enzyme (V){_ASSUME_HILL}"
_UPA_PK = "Klünder 2018 Clin Pharmacokinet 57:977, IR popPK typical healthy male (V)"
_UPA_IC50 = f"Parmentier 2018 BMC Rheumatol 2:23, enzyme at 100 µM ATP (values U){_ASSUME_HILL}"
_RUXO_LBL = "Jakafi label via Nursing Drug Guide / Alomedika (V)"
_RUXO_IC50 = f"Quintás-Cardama 2010 Blood 115:3109, enzyme (U){_ASSUME_HILL}"
_FED_PK = "Zhang 2014 J Clin Pharmacol 54:415 (V)"
_FED_CCO = "Cancer Care Ontario fedratinib monograph (V)"
_FED_IC50 = f"Wernig 2008 Cancer Cell 13:311: ~35x (JAK1), ~334x (JAK3), ~135x (TYK2) over JAK2 (U){_ASSUME_HILL}"

# The entries below are a table: kept compact (one field group per line) on purpose.
# fmt: off
_JAK_DRUGS = [
    Drug(
        "tofacitinib", "small molecule: pan-JAK (JAK1/3 > JAK2) inhibitor", 312.37,
        _jak((3.2, 4.1, 1.6, 34.0), (_MEYER,) * 4),
        cl_l_per_h=_LN2 * 87.0 / 3.2, v1_l=87.0, half_life_h=3.2, f_oral=0.74, ka_oral_per_h=2.76,
        fraction_unbound=0.60, csf_kp_uu=0.2, tmax_h=1.0, species_pk={"rat": {"f_oral": 0.291}},
        sources=_src(
            mw_g_per_mol="C16H20N6O (free base)", cl_l_per_h="derived: ln2 V / t1/2",
            v1_l=f"Vd 87 L, {_TOFA_LBL}", half_life_h="t1/2 3.2 h, Dowty 2014 Drug Metab Dispos 42:759 (V)",
            f_oral=f"F 74%, {_TOFA_LBL}", ka_oral_per_h=f"{_DERIVED_KA}; Tmax ~1 h (Dowty 2014, V)",
            fraction_unbound=f"~40% protein bound, {_TOFA_LBL}", csf_kp_uu=_JAK_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP, tmax_h="Dowty 2014 (V); 0.5-1 h label",
            **{"rat.f_oral": "Lee & Kim 2019 Pharmaceutics 11:318: F 29.1% at 10 mg/kg in rats (V)"},
        ),
        notes="Cmax ~140 nM at 5 mg twice daily (docs/references.md). Enzyme IC50s at 1 mM ATP are ~5-20x higher "
        "(15/77/55/489 nM, U): enzyme potencies overstate cellular inhibition; calibrate.",
    ),
    Drug(
        "baricitinib", "small molecule: JAK1/JAK2 inhibitor", 371.42,
        _jak((5.9, 5.7, 400.0, 53.0), (_BARI_IC50, _BARI_IC50, f"{_BARI_IC50}; reported as > 400 nM", _BARI_IC50)),
        cl_l_per_h=_LN2 * 76.0 / 6.5, v1_l=76.0, half_life_h=6.5, f_oral=0.79, ka_oral_per_h=3.64,
        fraction_unbound=0.50, csf_kp_uu=0.2, tmax_h=1.0,
        sources=_src(
            mw_g_per_mol="C16H17N7O2S", cl_l_per_h="derived: ln2 V / t1/2", v1_l=f"Vd 76 L (i.v.), {_BARI_LBL}",
            half_life_h="5.7-7.3 h healthy, Zhang 2020 Clin Pharmacol Drug Dev 9:952 (V); ~12.5 h in RA (U)",
            f_oral=f"F 79%, {_BARI_LBL}", ka_oral_per_h=f"{_DERIVED_KA}; median Tmax ~1 h ({_BARI_LBL})",
            fraction_unbound=f"~50% bound, {_BARI_LBL}", csf_kp_uu=_JAK_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP, tmax_h=_BARI_LBL,
        ),
        notes="IL-6-induced pSTAT3 inhibition peaks ~2 h after dosing, back near baseline by 24 h (label).",
    ),
    Drug(
        "upadacitinib", "small molecule: JAK1-selective inhibitor", 380.37,
        _jak((43.0, 120.0, 2300.0, 4700.0), (_UPA_IC50,) * 4),
        cl_l_per_h=39.7, v1_l=210.0, half_life_h=_LN2 * 210.0 / 39.7, f_oral=1.0, ka_oral_per_h=12.5,
        fraction_unbound=0.48, csf_kp_uu=0.2, tmax_h=None,
        sources=_src(
            mw_g_per_mol="C17H19F3N6O", cl_l_per_h=f"CL/F 39.7 L/h, {_UPA_PK}", v1_l=f"Vss/F 210 L, {_UPA_PK}",
            half_life_h="derived: ln2 (V/F)/(CL/F) for the immediate-release form; 9-14 h terminal with the "
            "extended-release form (Mohamed 2020 Clin Pharmacokinet 59:531, V)",
            f_oral="apparent values (CL/F, V/F): F = 1 makes oral exposure right; i.v. is then under-predicted",
            ka_oral_per_h=f"1 / mean absorption time 0.08 h, {_UPA_PK} (lag 0.48 h not modelled)",
            fraction_unbound="52% bound, Rinvoq label (U)", csf_kp_uu=_JAK_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP,
        ),
        notes="~60x JAK1 over JAK2 and >100x over JAK3 in cellular assays (Parmentier 2018, V).",
    ),
    Drug(
        "ruxolitinib", "small molecule: JAK1/JAK2 inhibitor", 306.37,
        _jak((3.3, 2.8, 428.0, 19.0), (_RUXO_IC50,) * 4),
        cl_l_per_h=_LN2 * 72.0 / 3.0, v1_l=72.0, half_life_h=3.0, f_oral=0.95, ka_oral_per_h=2.68,
        fraction_unbound=0.03, csf_kp_uu=0.2, tmax_h=1.0,
        sources=_src(
            mw_g_per_mol="C17H18N6", cl_l_per_h="derived: ln2 V / t1/2", v1_l=f"Vd 72 L (myelofibrosis), {_RUXO_LBL}",
            half_life_h=f"3 h parent (5.8 h with metabolites), {_RUXO_LBL}", f_oral=f"95%, {_RUXO_LBL}",
            ka_oral_per_h=f"{_DERIVED_KA}; Tmax 1-2 h ({_RUXO_LBL})", fraction_unbound=f"97% bound, {_RUXO_LBL}",
            csf_kp_uu=_JAK_KP, tissue_partition=_SM_TISSUE, cl_exponent=_SM_EXP, tmax_h=_RUXO_LBL,
        ),
    ),
    Drug(
        "fedratinib", "small molecule: JAK2-selective inhibitor (also FLT3)", 524.68,
        _jak((105.0, 3.0, 1002.0, 405.0),
             (_FED_IC50, f"JAK2 3 nM, Wernig 2008 via docs/references.md (V){_ASSUME_HILL}", _FED_IC50, _FED_IC50)),
        cl_l_per_h=_LN2 * 1363.0 / 67.0, v1_l=1363.0, half_life_h=67.0, f_oral=0.77, ka_oral_per_h=1.71,
        fraction_unbound=0.08, csf_kp_uu=0.2, tmax_h=3.0,
        sources=_src(
            mw_g_per_mol="C27H36N6O3S (free base)", cl_l_per_h="derived: ln2 V / t1/2",
            v1_l="apparent Vss/F 1770 L (Inrebic label, U) x F", half_life_h=f"terminal ~67 h, {_FED_PK}",
            f_oral=f"77%, {_FED_CCO}", ka_oral_per_h=f"{_DERIVED_KA}; Tmax ~3 h ({_FED_PK})",
            fraction_unbound=f">92% bound, {_FED_CCO}", csf_kp_uu=_JAK_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP, tmax_h=_FED_PK,
        ),
        notes="Ex vivo pSTAT3 EC50 1210 ng/mL total (~2300 nM; ~180 nM free) in healthy volunteers (Zhang 2014, V): "
        "~60x the enzyme IC50 — enzyme potencies overstate cellular inhibition; calibrate.",
    ),
]

# --- biologics ------------------------------------------------------------------------------------------------
_HUMIRA = "Humira label via drugster.info (V)"
_ZHOU = "Zhou 2005 J Clin Pharmacol 45:490 (V)"
_KB2000 = "Korth-Bradley 2000 Ann Pharmacother 34:161, healthy volunteers (V)"
_XU2008 = "Xu 2008 J Clin Pharmacol 48:681, popPK in ankylosing spondylitis (V)"
_TCZ = "Zhang 2013 Int J Clin Pharmacol Ther 51:443 (V)"
_CLETON = "Cleton et al. PAGE 2011 abstract 2197, tanezumab popPK (V)"
_KD_U = "binding KD from memory: sub-100 pM in published SPR comparisons (U)"

_BIOLOGICS = [
    Drug(
        "adalimumab", "human IgG1 anti-TNF antibody", 148_000.0,
        (_t("TNF", "mediator", 0.085, f"KD ~85 pM, Kaymakcalan 2002 via Aspen RA monograph (V){_ASSUME_HILL}",
            assay="binding"),),
        cl_l_per_h=0.012, v1_l=5.35, half_life_h=14 * 24.0, f_sc=0.64, ka_sc_per_h=0.0182,
        fraction_unbound=1.0, csf_kp_uu=0.0015, tissue_partition=0.5, cl_exponent=0.80, tmax_h=131.0,
        sources=_src(
            mw_g_per_mol=f"148 kDa, {_HUMIRA}", cl_l_per_h=f"systemic CL ~12 mL/h, {_HUMIRA}",
            v1_l=f"Vss 4.7-6 L, {_HUMIRA}", half_life_h=f"~14 d, {_HUMIRA}", f_sc=f"64%, {_HUMIRA}",
            ka_sc_per_h=f"{_DERIVED_KA}; Tmax 131 h ({_HUMIRA})", fraction_unbound=_MAB_FU, csf_kp_uu=_MAB_KP,
            tissue_partition=_MAB_TISSUE, cl_exponent=_MAB_EXP, tmax_h=_HUMIRA,
        ),
        notes="Linear PK (no target-mediated disposition); Cmax 4.7 µg/mL after 40 mg s.c. (label).",
    ),
    Drug(
        "etanercept", "TNFR2-Fc fusion protein (soluble TNF and LT-alpha)", 150_000.0,
        (_t("TNF", "mediator", 0.011, f"{_KD_U}{_ASSUME_HILL}", assay="binding"),),
        cl_l_per_h=0.132 * 0.58, v1_l=12.0 * 0.58, half_life_h=68.0, f_sc=0.58, ka_sc_per_h=0.032,
        fraction_unbound=1.0, csf_kp_uu=0.0015, tissue_partition=0.5, cl_exponent=0.80, tmax_h=51.0,
        sources=_src(
            mw_g_per_mol="~150 kDa (U)", cl_l_per_h=f"CL/F 132 mL/h ({_KB2000}) x F ({_ZHOU})",
            v1_l=f"V/F 12 L ({_KB2000}) x F", half_life_h=f"68 h ({_KB2000}); 70-100 h ({_ZHOU})",
            f_sc=f"58%, {_ZHOU}", ka_sc_per_h=f"{_DERIVED_KA}; Tmax 51 h ({_KB2000})", fraction_unbound=_MAB_FU,
            csf_kp_uu=f"assumption: as for IgG, {_MAB_KP}", tissue_partition=_MAB_TISSUE, cl_exponent=_MAB_EXP,
            tmax_h=_KB2000,
        ),
    ),
    Drug(
        "infliximab", "chimeric IgG1 anti-TNF antibody (i.v.)", 149_000.0,
        (_t("TNF", "mediator", 0.044, f"{_KD_U}{_ASSUME_HILL}", assay="binding"),),
        cl_l_per_h=0.273 / 24, v1_l=3.06, q_l_per_h=1.72 / 24, v2_l=2.94, half_life_h=14 * 24.0,
        fraction_unbound=1.0, csf_kp_uu=0.0015, tissue_partition=0.5, cl_exponent=0.80,
        sources=_src(
            mw_g_per_mol="~149 kDa (U)", cl_l_per_h=f"0.273 L/d, {_XU2008}", v1_l=f"3.06 L, {_XU2008}",
            q_l_per_h=f"1.72 L/d, {_XU2008}", v2_l=f"2.94 L, {_XU2008}",
            half_life_h="~14 d terminal, Fasanmade 2009 Eur J Clin Pharmacol 65:1211 (V); label 7.7-9.5 d single dose",
            fraction_unbound=_MAB_FU, csf_kp_uu=_MAB_KP, tissue_partition=_MAB_TISSUE, cl_exponent=_MAB_EXP,
        ),
    ),
    Drug(
        "tocilizumab", "humanized IgG1 anti-IL-6 receptor antibody", 148_000.0,
        (_t("IL6R", "receptor", 2.54, f"KD 2.54 nM for IL-6R, Mihara 2005 Int Immunopharmacol 5:1731 (V)"
            f"{_ASSUME_HILL}", assay="binding"),),
        cl_l_per_h=_LN2 * 6.4 / (13 * 24.0), v1_l=6.4, half_life_h=13 * 24.0, f_sc=0.488, ka_sc_per_h=0.0436,
        fraction_unbound=1.0, csf_kp_uu=0.0015, tissue_partition=0.5, cl_exponent=0.80, tmax_h=72.0,
        sources=_src(
            mw_g_per_mol="~148 kDa (U)", cl_l_per_h="derived: ln2 V / t1/2 (linear approximation of TMDD)",
            v1_l="Vss 6.4 L, Actemra label (U)",
            half_life_h="up to 13 d at steady state, Actemra formulary monograph (V); concentration-dependent",
            f_sc=f"48.8% at 162 mg (22.7% at 81 mg), {_TCZ}", ka_sc_per_h=f"{_DERIVED_KA}; Tmax ~3 d (U)",
            fraction_unbound=_MAB_FU, csf_kp_uu=_MAB_KP, tissue_partition=_MAB_TISSUE, cl_exponent=_MAB_EXP,
            tmax_h="assumption: ~3 d after s.c. (U)",
        ),
        notes="Does not block mouse IL-6R (Lokau 2020 PLoS One 15:e0232612): in rodent scenarios it stands for "
        "a species-matched anti-IL-6R antibody.",
    ),
    Drug(
        "tanezumab", "humanized IgG2 anti-NGF antibody", 145_445.0,
        (_t("NGF", "mediator", 0.02, f"{_KD_U}{_ASSUME_HILL}", assay="binding"),),
        cl_l_per_h=0.182 / 24, v1_l=6.26, half_life_h=_LN2 * 6.26 / (0.182 / 24), f_sc=0.7, ka_sc_per_h=0.0169,
        fraction_unbound=1.0, csf_kp_uu=0.0015, tissue_partition=0.5, cl_exponent=0.80, tmax_h=168.0,
        sources=_src(
            mw_g_per_mol="145.4 kDa (wikimili tanezumab entry, V)", cl_l_per_h=f"linear CL 0.182 L/d, {_CLETON}",
            v1_l=f"V1 + V2 = 3.4 + 2.86 L, {_CLETON} (one compartment)",
            half_life_h="derived: ln2 V / CL ~24 d; docs/references.md ~3 weeks (U)",
            f_sc="assumption: typical IgG s.c. bioavailability", ka_sc_per_h=f"{_DERIVED_KA}; Tmax 7 d assumption",
            fraction_unbound=_MAB_FU, csf_kp_uu=_MAB_KP, tissue_partition=_MAB_TISSUE, cl_exponent=_MAB_EXP,
            tmax_h="assumption",
        ),
        notes="Parallel Michaelis-Menten elimination (Vmax/Km 0.33 L/d, Km 15.3 ng/mL) omitted: below ~15 ng/mL "
        "the model under-predicts clearance.",
    ),
]

# --- anti-inflammatory and analgesic small molecules ------------------------------------------------------------
_PICKUP = "Pickup 1980 Br J Clin Pharmacol 10:503 (V)"
_MAGEE = "Magee 2002 Br J Clin Pharmacol 53:474: ex vivo lymphocyte IC50 3.76 ng/mL, ~4 h transduction delay (V)"
_HERMAN = "Herman 1989 J Pharm Sci 78:165, low-dose MTX in RA, per m² x 1.8 m² (assumption: BSA) (V)"
_NSAID_KP = "assumption: CSF ~ unbound plasma for NSAIDs (Bannwarth 1995, U)"
_ANTAGOMIR_KE0 = "assumption: retention seen in mice (Krützfeldt 2005, U), not scaled"

_SMALL = [
    Drug(
        "prednisolone", "glucocorticoid", 360.44,
        (_t("NFKB", "pathway", 3.76 / 360.44 * 1e3, f"IC50 from {_MAGEE} on NF-kB: assumption; Emax 0.8 assumption",
            assay="ex_vivo_total", emax=0.8),
         _t("COX2", "enzyme", 3.76 / 360.44 * 1e3, "assumption: COX-2 induction suppressed at the NF-kB potency; "
            "Emax 0.7 assumption", assay="ex_vivo_total", emax=0.7)),
        cl_l_per_h=0.104 * 70, v1_l=0.588 * 70, half_life_h=4.1, f_oral=1.0, ka_oral_per_h=1.68,
        fraction_unbound=0.14, csf_kp_uu=0.7, ke0_per_h=_LN2 / 6.0, tmax_h=1.5,
        sources=_src(
            mw_g_per_mol="C21H28O5", cl_l_per_h=f"0.104 L/h/kg, {_PICKUP}", v1_l=f"0.588 L/kg, {_PICKUP}",
            half_life_h=f"4.1 h, {_PICKUP}; 2-4 h label", f_oral=f"F 1.06, {_PICKUP}",
            ka_oral_per_h=f"{_DERIVED_KA}; Tmax 1-2 h (MIMS monograph, V)",
            fraction_unbound="free 14%, 'Dose-dependent prednisolone kinetics' Clin Pharmacol Ther (V); "
            "saturable CBG binding ignored", csf_kp_uu="assumption: CSF ~10% of total plasma (U) / fu",
            tissue_partition=_SM_TISSUE, ke0_per_h="assumption: effect t1/2 6 h (delay ~4 h, Magee 2002; "
            "effect 12-36 h, docs/references.md U)", cl_exponent=_SM_EXP, tmax_h="MIMS prednisolone monograph (V)",
        ),
    ),
    Drug(
        "methotrexate", "antifolate DMARD (adenosine release)", 454.44,
        (_t("NFKB", "pathway", 10.0, "assumption: adenosine-mediated anti-inflammation as modest NF-kB inhibition "
            "(Emax 0.3) on the slow effect-site concentration", assay="assumption", emax=0.3),),
        cl_l_per_h=84.6 * 1.8 * 60 / 1000, v1_l=13.5 * 1.8, q_l_per_h=2.53, v2_l=(22.2 - 13.5) * 1.8,
        half_life_h=6.0, f_oral=0.70, ka_oral_per_h=1 / 1.2, f_sc=1.0, ka_sc_per_h=2.0,
        fraction_unbound=0.5, csf_kp_uu=0.05, ke0_per_h=_LN2 / (1.9 * 168), tmax_h=None,
        sources=_src(
            mw_g_per_mol="C20H22N8O5", cl_l_per_h=f"84.6 mL/min/m², {_HERMAN}", v1_l=f"13.5 L/m², {_HERMAN}",
            q_l_per_h="derived: gives the reported terminal t1/2 6 h with CL, V1, Vss",
            v2_l=f"Vss 22.2 L/m² - V1, {_HERMAN}", half_life_h=f"~6 h terminal, {_HERMAN}",
            f_oral=f"0.70, {_HERMAN}", ka_oral_per_h=f"1 / mean absorption time 1.2 h, {_HERMAN}",
            f_sc="assumption: s.c. complete (oral is ~2/3 of s.c., Hoekstra 2004 J Rheumatol 31:645, V)",
            ka_sc_per_h="assumption", fraction_unbound="42-57% bound, Bannwarth 1996 Clin Pharmacokinet 30:194 (V)",
            csf_kp_uu="assumption: poor CNS entry (CSF 1-3% of plasma, U)", tissue_partition=_SM_TISSUE,
            ke0_per_h="assumption: effect t1/2 = 1.9 weeks, the fastest RBC polyglutamate accumulation half-life "
            "(Dalrymple 2008 Arthritis Rheum 58:3299, V); clinical onset 3-6 weeks (label, V)",
            cl_exponent=_SM_EXP,
        ),
    ),
    Drug(
        "ibuprofen", "NSAID: non-selective COX inhibitor", 206.28,
        (_t("COX2", "enzyme", 7200.0, "human whole-blood COX-2 IC50 ~7.2 µM, Warner 1999 PNAS 96:7563 (U)"
            f"{_ASSUME_HILL}; cellular (synovial cells) 3.5 µM, Kawai 1998 Eur J Pharmacol 347:87 (V)",
            assay="whole_blood"),),
        cl_l_per_h=3.17, v1_l=3.17 * 2.0 / _LN2, half_life_h=2.0, f_oral=1.0, ka_oral_per_h=3.39,
        fraction_unbound=0.01, csf_kp_uu=1.0, tmax_h=0.75,
        sources=_src(
            mw_g_per_mol="C13H18O2", cl_l_per_h="derived: 200 mg i.v. AUC 3786 µg·min/mL, Geisslinger 1990 "
            "Biopharm Drug Dispos 11:243 (V)", v1_l="derived: CL t1/2 / ln2", half_life_h="1.5-2 h, Swiss Fachinfo (V)",
            f_oral="102.7% (lysine salt), Geisslinger 1990 (V)", ka_oral_per_h=f"{_DERIVED_KA}; Tmax 45 min (V)",
            fraction_unbound="99% bound, Swiss Fachinfo (V)", csf_kp_uu=_NSAID_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP, tmax_h="Geisslinger 1990 (V)",
        ),
        notes="Binding saturates above ~600 mg (Davies 1998 Clin Pharmacokinet 34:101): linear PK is a simplification.",
    ),
    Drug(
        "naproxen", "NSAID: non-selective COX inhibitor", 230.26,
        (_t("COX2", "enzyme", 64620.0, "ex vivo whole-blood COX-2 IC50 (COX-1 35.48 µM V; COX-2 64.6 µM U), "
            f"Int J Clin Pharmacol Ther 2008 46:180{_ASSUME_HILL}", assay="whole_blood"),),
        cl_l_per_h=0.13e-3 * 60 * 70, v1_l=0.16 * 70, half_life_h=14.0, f_oral=0.95, ka_oral_per_h=1.87,
        fraction_unbound=0.01, csf_kp_uu=1.0, tmax_h=2.0,
        sources=_src(
            mw_g_per_mol="C14H14O3", cl_l_per_h="0.13 mL/min/kg, Aleve Swiss Fachinfo (V)",
            v1_l="0.16 L/kg, Aleve Swiss Fachinfo (V)", half_life_h="~14 h, Aleve Swiss Fachinfo (V); 12-17 h",
            f_oral="95%, MIMS naproxen monograph (V)", ka_oral_per_h=f"{_DERIVED_KA}; Tmax 2-4 h (Swiss Fachinfo, V)",
            fraction_unbound=">99% bound, Swiss Fachinfo (V)", csf_kp_uu=_NSAID_KP, tissue_partition=_SM_TISSUE,
            cl_exponent=_SM_EXP, tmax_h="Swiss Fachinfo (V)",
        ),
    ),
    Drug(
        "celecoxib", "NSAID: COX-2-selective inhibitor", 381.37,
        (_t("COX2", "enzyme", 40.0,
            f"recombinant COX-2 IC50 0.04 µM, Penning 1997 J Med Chem 40:1347 (U){_ASSUME_HILL}"),),
        cl_l_per_h=27.7, v1_l=429.0, half_life_h=11.2, f_oral=1.0, ka_oral_per_h=1.07,
        fraction_unbound=0.03, csf_kp_uu=1.0, tmax_h=2.8,
        sources=_src(
            mw_g_per_mol="C17H14F3N3O2S", cl_l_per_h="CL/F 27.7 L/h, Celebrex label Table 1 (V)",
            v1_l="Vss/F 429 L, Celebrex label (V)", half_life_h="effective 11.2 h, Celebrex label (V)",
            f_oral="apparent values (CL/F, V/F); absolute F not studied (label)",
            ka_oral_per_h=f"{_DERIVED_KA}; Tmax 2.8 h (label, V)", fraction_unbound="~97% bound, label (V)",
            csf_kp_uu=_NSAID_KP, tissue_partition=_SM_TISSUE, cl_exponent=_SM_EXP, tmax_h="Celebrex label (V)",
        ),
        notes="One compartment with Vss/F under-predicts the peak (~0.39 vs 0.705 mg/L after 200 mg, label).",
    ),
    Drug(
        "indomethacin", "NSAID: non-selective COX inhibitor", 357.79,
        (_t("COX2", "enzyme", 44.0, "IL-1β-stimulated human synovial cells: COX-2 IC50 0.044 µM (COX-1 0.013 µM), "
            f"Kawai 1998 Eur J Pharmacol 347:87 (V){_ASSUME_HILL}", assay="cellular"),),
        cl_l_per_h=7.35, v1_l=7.35 * 4.5 / _LN2, half_life_h=4.5, f_oral=1.0, ka_oral_per_h=1.79,
        fraction_unbound=0.01, csf_kp_uu=1.0, tmax_h=1.5,
        sources=_src(
            mw_g_per_mol="C19H16ClNO4", cl_l_per_h="derived: 1.75 mL/kg/min x 70 kg, the middle of 1-2.5 mL/kg/min, "
            "Helleberg 1981 Clin Pharmacokinet 6:245 (V)", v1_l="derived: CL t1/2 / ln2",
            half_life_h="mean 4.5 h, Indocin label and Swiss Fachinfo (V)",
            f_oral="about 100 %, Swiss Fachinfo (V)", ka_oral_per_h=f"{_DERIVED_KA}; Tmax 1-2 h, Helleberg 1981 (V)",
            fraction_unbound="about 99 % bound, Indocin label (V; at least 90 %, Helleberg 1981)",
            csf_kp_uu=_NSAID_KP, tissue_partition=_SM_TISSUE, cl_exponent=_SM_EXP,
            tmax_h="1-2 h, Helleberg 1981 (V)",
        ),
        notes="Enterohepatic recycling (label; Helleberg 1981) is not modelled; COX-1 is not a model target.",
    ),
    Drug(
        "minocycline", "tetracycline; microglial inhibitor (p38 MAPK)", 457.48,
        (_t("P38", "pathway", 20.0, "Tikka 2001 J Neurosci 21:2580: 0.02 µM inhibits microglial p38 activation (V); "
            "taken as IC50 (assumption); Emax 0.7 assumption (stimulus-specific, Nikodemova 2006 J Neurochem)",
            assay="cellular", emax=0.7),),
        cl_l_per_h=4.5, v1_l=97.5, half_life_h=15.0, f_oral=0.95, ka_oral_per_h=1.42,
        fraction_unbound=0.32, csf_kp_uu=0.5, tmax_h=2.5,
        sources=_src(
            mw_g_per_mol="457.48 g/mol (RxReasoner, V)", cl_l_per_h="total CL 3.36-5.7 L/h, Swiss Fachinfo (V)",
            v1_l="80-115 L, Swiss Fachinfo (V)", half_life_h="12-17 h, Swiss Fachinfo (V)",
            f_oral="95-100%, Swiss Fachinfo (V)", ka_oral_per_h=f"{_DERIVED_KA}; Tmax 2-3 h (V)",
            fraction_unbound="59-76% bound, Swiss Fachinfo (V)",
            csf_kp_uu="assumption: higher CSF/serum than other tetracyclines (label, V; value U)",
            tissue_partition=_SM_TISSUE, cl_exponent=_SM_EXP, tmax_h="Swiss Fachinfo (V)",
        ),
        notes="Rodent studies use 10-40 mg/kg/day, often i.p. (docs/references.md): give it as s.c.-like or oral here.",
    ),
    Drug(
        "antagomir-21", "cholesterol-conjugated 2'-O-Me antisense oligonucleotide against miR-21-5p", 8000.0,
        (_t("miR21", "mirna", 10.0, "assumption: effect-site IC50; Emax 0.98: antagomirs silence their miRNA "
            "near completely (miR-122 undetectable in liver, Krützfeldt 2005 Nature 438:685, U; 0.9 left 10 % of "
            "the exosomal miR-21 to tip IFN-γ-primed DRG macrophages M1 once T cells came, issue 19)",
            assay="assumption", emax=0.98),),
        cl_l_per_h=_LN2 * 7.0 / 2.0, v1_l=7.0, half_life_h=2.0, f_sc=0.8, ka_sc_per_h=0.5,
        fraction_unbound=0.05, csf_kp_uu=0.001, ke0_per_h=_LN2 / 72.0,
        species_pk={"mouse": {"ke0_per_h": _LN2 / 72.0}, "rat": {"ke0_per_h": _LN2 / 72.0}},
        sources=_src(
            mw_g_per_mol="assumption: ~22-mer 2'-OMe phosphorothioate + cholesterol", cl_l_per_h="assumption",
            v1_l="assumption: 0.1 L/kg", half_life_h="assumption: plasma t1/2 of hours (tissue uptake)",
            f_sc="assumption", ka_sc_per_h="assumption", fraction_unbound="assumption: cholesterol conjugate binds "
            "lipoproteins", csf_kp_uu="assumption: oligonucleotides do not cross the BBB",
            tissue_partition="assumption", ke0_per_h="assumption: intracellular retention t1/2 3 d; antagomir "
            "silencing lasts weeks (Krützfeldt 2005 Nature 438:685, U)", cl_exponent="assumption: as small molecules",
            **{"mouse.ke0_per_h": _ANTAGOMIR_KE0, "rat.ke0_per_h": _ANTAGOMIR_KE0},
        ),
        notes="Assumption-heavy. Intrathecal miR-21-5p antagomir reduced neuropathic hypersensitivity and "
        "macrophage recruitment in the DRG (Simeoli 2017 Nat Commun 8:1778, V).",
    ),
]
# fmt: on


def _with_usual_doses(d: Drug) -> Drug:
    """``d`` carrying its usual dose ranges from :data:`~neuroagents.pharmacology.usual_doses.USUAL_DOSES`."""
    table = USUAL_DOSES.get(d.name, {})
    sources = {f"usual_dose_mg_per_kg.{sp}": src for sp, (*_, src) in table.items()}
    ranges = {sp: (lo, hi) for sp, (lo, hi, _) in table.items()}
    return replace(d, usual_dose_mg_per_kg=ranges, sources=_src(**d.sources, **sources))


DRUGS: dict[str, Drug] = {d.name: _with_usual_doses(d) for d in _JAK_DRUGS + _BIOLOGICS + _SMALL}
"""The catalogue, by name."""


def target_kinds() -> dict[str, str]:
    """``{target name: kind}`` over the whole catalogue (each name has one kind)."""
    out: dict[str, str] = {}
    for d in DRUGS.values():
        for t in d.targets:
            out.setdefault(t.name, t.kind)
    return out


def get_drug(name: str, where: str | None = None) -> Drug:
    """The catalogue entry for ``name``; a clear error with a close-match hint otherwise."""
    if isinstance(name, str) and name in DRUGS:
        return DRUGS[name]
    close = difflib.get_close_matches(name, DRUGS, n=1) if isinstance(name, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(where or "drug", name, f"a drug in the catalogue{hint}; known: {', '.join(sorted(DRUGS))}")


def describe(drug: Drug) -> list[dict]:
    """Rows of field, value and source for one drug, for people and manifests."""
    rows = [{"field": f.name, "value": getattr(drug, f.name), "source": drug.sources.get(f.name, "")}
            for f in fields(drug) if f.name in NUMERIC_FIELDS and getattr(drug, f.name) is not None]  # fmt: skip
    rows += [{"field": f"target.{t.name}.potency_nM", "value": t.potency_nM, "source": t.source} for t in drug.targets]
    return rows
