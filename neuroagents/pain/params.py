"""Parameters of the pain model, each with its unit and a source or ``assumption``.

Flags as in ``docs/references.md``: **V** read in a published
source, **M** a value another model chose, **U** unverified. Efficacies
("fractional increase of a current at full receptor occupancy") are mostly
assumptions: the literature gives directions far more often than sizes, and
the few sizes (Leo 2015) are the anchors. Calibrated values say what they were
calibrated to.

Abbreviations used in the sources:

* Crodelle 2019 — Crodelle, Piltz, Hagenauer & Booth, PLoS Comput Biol
  15:e1007106 (dorsal-horn firing-rate model, structure V).
* Crodelle & Maia 2021 — Brain Sci 11:505, code github.com/jcrodelle/damagedFibers
  (``DHmodelDiffEq.m``, ``damageAndRunDE.m``, ``diagnostics.m``): the same
  circuit with its numbers (M). The 2019 table itself was not readable here.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroagents.errors import ConfigError
from neuroagents.params import param

__all__ = ["SPECIES", "PainParams", "Species", "force_scale_g", "resolve_species"]

_LEO = "Leo 2015 Mediators Inflamm 2015:124942 (V; agonist at 10 pg/mL, taken as Emax: a lower bound)"
_CM = "Crodelle & Maia 2021 code (M)"
_CM_FIG = "Crodelle 2019 Fig 3 (V)"
_KAWASAKI = "direction Kawasaki 2008 J Neurosci 28:5189 (V); size assumption"
_G_MN = 9.80665
"""mN per gram-force."""


@dataclass(frozen=True)
class PainParams:
    """Every number of the pain model (see ``docs/pain.md`` for the equations)."""

    # --- peripheral: receptors (nM) -----------------------------------------------------------
    hill: float = param(1.0, "1", "assumption: simple binding for every sensitizing receptor", low=0.1, high=4.0)
    tnf_r1_kd_nM: float = param(0.019, "nM", "TNFR1 KD1 19 pM, GranSim (M)", low=1e-6)
    tnf_r2_kd_nM: float = param(0.42, "nM", "TNFR2 KD2 420 pM, GranSim (M)", low=1e-6)
    il1b_kd_nM: float = param(0.05, "nM", "assumption (as IL1R1 in cells/signaling.py)", low=1e-6)
    il6_kd_nM: float = param(0.33, "nM", "IL-6 Kd 330 pM, nlisim (M)", low=1e-6)
    il17a_kd_nM: float = param(0.5, "nM", "assumption (as IL17RA in cells/signaling.py)", low=1e-6)
    ngf_kd_nM: float = param(0.05, "nM", "assumption: high-affinity TrkA, tens of pM (U)", low=1e-6)
    pge2_ec50_nM: float = param(10.0, "nM", "assumption: EP4/EP2, nM range (U)", low=1e-6)
    histamine_ec50_nM: float = param(1000.0, "nM", "assumption: H1, µM range (U)", low=1e-6)
    serotonin_ec50_nM: float = param(100.0, "nM", "assumption: 5-HT2A/4/7, 0.1 µM range (U)", low=1e-6)
    il10_kd_nM: float = param(0.14, "nM", "IL-10 Kd 140 pM (M)", low=1e-6)
    bradykinin_kd_nM: float = param(
        2.0, "nM", "assumption: B2 binds bradykinin at sub-nM to nM; the nociceptor's response needs a few nM (U)",
        low=1e-6)
    elastase_ec50_nM: float = param(10.0, "nM", "assumption: PAR2 cleavage by leukocyte elastase, nM range (U)",
                                    low=1e-6)  # fmt: skip
    # --- peripheral: efficacies, fractional current increase at full occupancy -----------------
    tnf_r1_na: float = param(0.272, "1", f"TNFR1 agonist R32W: I_Na +27.2%, {_LEO}")
    tnf_r2_na: float = param(0.449, "1", f"TNFR2 agonist D145: I_Na +44.9%, {_LEO}")
    tnf_trpv1: float = param(0.3, "1", "assumption; direction Jin & Gereau 2006 J Neurosci (V: TNF heat "
                                       "hyperalgesia needs TRPV1, mechanical does not)")  # fmt: skip
    il1b_na: float = param(0.4, "1", "assumption; direction Binshtok 2008 J Neurosci (V: p38 -> TTX-r Na)")
    il1b_trpv1: float = param(0.3, "1", "assumption; IL-1b neutralization mainly reduces heat hyperalgesia "
                                        "(Schaible 2014 review, U)")  # fmt: skip
    il6_na: float = param(0.2, "1", "assumption")
    il6_trpv1: float = param(0.2, "1", "assumption; IL-6/JAK/STAT3 upregulates TRPV1 (Fang 2015, U)")
    il6_trpa1: float = param(0.3, "1", "assumption; direction Brenn 2007 Arthritis Rheum (V: IL-6 sensitizes "
                                       "joint C fibres to mechanical stimuli)")  # fmt: skip
    il17a_na: float = param(0.3, "1", "assumption; direction Ebbinghaus 2017 Sci Rep 7:10334 (V: TTX-r Na up)")
    il17a_trpa1: float = param(0.2, "1", "assumption; direction Richter 2012 Arthritis Rheum (U: mechanical)")
    ngf_na: float = param(0.3, "1", "assumption: NGF raises Nav1.7/1.8 (U)")
    ngf_trpv1: float = param(1.0, "1", "assumption; direction Shu & Mendell 1999 (U: NGF sensitizes TRPV1)")
    ngf_trpa1: float = param(0.2, "1", "assumption")
    pge2_na: float = param(0.4, "1", "assumption; direction Gold 1996 PNAS (U: PKA raises TTX-r Na)")
    pge2_trpv1: float = param(0.5, "1", "assumption; PKA phosphorylates TRPV1 (Bhave 2002, U)")
    pge2_trpa1: float = param(0.1, "1", "assumption")
    histamine_na: float = param(0.1, "1", "assumption")
    histamine_trpv1: float = param(0.3, "1", "assumption: H1 -> PLC/PKC -> TRPV1 (U)")
    histamine_trpa1: float = param(0.2, "1", "assumption")
    serotonin_na: float = param(0.3, "1", "assumption; direction Gold 1996 PNAS (U: 5-HT raises TTX-r Na)")
    serotonin_trpv1: float = param(0.3, "1", "assumption (U)")
    serotonin_trpa1: float = param(0.1, "1", "assumption")
    elastase_na: float = param(0.2, "1", "assumption; direction Vicuña 2015 Nat Med 21:518 (V: T-cell elastase "
                                         "in the DRG causes mechanical allodynia, blocked by SerpinA3N)")  # fmt: skip
    elastase_trpa1: float = param(0.3, "1", "assumption: elastase is a biased PAR2 agonist that sensitizes "
                                            "mechanosensitive channels (Zhao 2015 J Biol Chem, U)")  # fmt: skip
    bradykinin_na: float = param(0.3, "1", "assumption: B2 -> PKCε raises TTX-r Na (Khasar 1999 Neuron 24:253, U)")
    bradykinin_trpv1: float = param(
        1.0, "1", "assumption: B2 -> PLC/PKCε sensitizes TRPV1 strongly (Chuang 2001 Nature 411:957; Sugiura 2002 "
        "J Neurophysiol 88:544; V for direction)")  # fmt: skip
    bradykinin_trpa1: float = param(
        0.5, "1", "assumption: TRPA1 carries much of bradykinin's hyperalgesia (Bautista 2006 Cell 124:1269, V)")
    b2_tachyphylaxis_min: float = param(
        240.0, "min", "assumption: B2 receptors tire of lasting bradykinin (tachyphylaxis of nociceptor responses; "
        "Dray & Perkins 1993 Trends Neurosci 16:99, V for direction, U for the time): the time to lose them at full "
        "occupancy; a B2 antagonist barely touches CFA hyperalgesia (Perkins 1993 Pain 53:191, V)", low=1e-3)
    b2_recovery_min: float = param(480.0, "min", "assumption: B2 receptors come back within hours (U)", low=1e-3)
    il10_block: float = param(0.5, "1", "assumption; direction Shen 2013 Exp Neurol (U: IL-10 lowers Na "
                                        "channels): divides the pro-nociceptive drive", high=1.0)  # fmt: skip
    # --- endogenous opioid analgesia at the terminals (immune-cell opioid peptides on μ receptors) -------
    opioid_kd_nM: float = param(1.0, "nM", "β-endorphin binds μ receptors with Ki ~1-10 nM (Raynor 1994 Mol "
                                           "Pharmacol 45:330, U); the low end", low=1e-6)  # fmt: skip
    opioid_block: float = param(
        1.0, "1", "assumption: at full occupancy of fully available peripheral μ receptors, Gi/o signalling (less "
        "cAMP/PKA, less TTX-r Na and TRPV1 sensitization) removes the inflammatory drive: peripheral opioid agonists "
        "abolish inflammatory hyperalgesia (Stein & Machelska 2011 Pharmacol Rev 63:860, V for direction)", high=1.0)
    mor_rest: float = param(
        0.1, "1", "assumption: peripheral μ-receptor availability at rest, as a fraction of its inflamed level; "
        "inflammation raises their axonal transport to the terminals several-fold (Hassan 1993 Neuroscience 55:185, "
        "V for direction) under NGF (Mousa 2007 Brain 130:502, V)", high=1.0)
    mor_half_drive: float = param(
        0.2, "1", "assumption: the undivided mechanical drive (x of S = x/(1+x); 1 = half-sensitized) at which "
        "μ-receptor availability is half-way up", low=1e-6)
    mor_tau_min: float = param(
        5760.0, "min", "assumption: μ receptors reach inflamed terminals over days (more DRG μ receptors and "
        "G-protein coupling at 4 days of CFA, Zöllner 2003 Mol Pharmacol 64:202, U for the time); 4 d", low=1e-3)
    cytokine_soma_weight: float = param(0.5, "1", "assumption: TNF, IL-1b, IL-6 also act on DRG somata "
                                                  "(Schaefers 2003 J Neurosci, U)", high=1.0)  # fmt: skip
    # --- peripheral: channels -> thresholds and gain ---------------------------------------------
    mech_na_weight: float = param(2.0, "1", "assumption; calibrate to behavioural drops")
    mech_trpa1_weight: float = param(1.0, "1", "assumption")
    mech_max_drop: float = param(0.9, "1", "assumption: >= the -80% of carrageenan (docs/references.md)", high=0.99)
    heat_trpv1_weight: float = param(2.0, "1", "assumption")
    heat_na_weight: float = param(1.0, "1", "assumption")
    heat_max_shift_C: float = param(10.0, "°C", "incision lowers heat withdrawal temperature 47.6 -> 37.5 °C "
                                                "(Banik 2013 J Neurosci Methods, V)", high=30.0)  # fmt: skip
    gain_na_weight: float = param(1.0, "1", "assumption; direction Gudes 2015 J Neurophysiol (V: TNF raises gain)")
    tau_on_min: float = param(10.0, "min", "assumption: PGE2 hyperalgesia develops within ~15-30 min", low=1e-3)
    tau_off_min: float = param(45.0, "min", "direct-acting hyperalgesic agents last ~2 h "
                                            "(Aley & Levine 1999 J Neurosci, V)", low=1e-3)  # fmt: skip
    # --- hyperalgesic priming ------------------------------------------------------------------
    priming_on_min: float = param(1440.0, "min", "assumption: priming forms over ~1-3 days (onset delay 72 h, "
                                                 "Ferrari 2015 J Neurosci, V)", low=1e-3)  # fmt: skip
    priming_off_min: float = param(14400.0, "min", "assumption: priming lasts weeks (Reichling & Levine 2009 "
                                                   "Trends Neurosci, U); 10 d", low=1e-3)  # fmt: skip
    priming_drive_threshold: float = param(
        0.1, "1", "assumption: priming needs an inflammatory insult, not the trace sensitization a resting tissue's "
        "basal cytokines give (S_fast ~0.03-0.06 in sham; without it sham thresholds drifted 10 % down over 28 d)",
        high=0.99)
    priming_retained: float = param(0.3, "1", "assumption: fraction of sensitization kept by priming "
                                              "(0 = latent priming, as in rats)", high=1.0)  # fmt: skip
    priming_prolongs: float = param(10.0, "1", "assumption: primed PGE2 hyperalgesia > 24 h vs ~2 h "
                                               "(Aley 2000; Reichling & Levine 2009, U)")  # fmt: skip
    # --- ongoing firing --------------------------------------------------------------------------
    spont_na_gain: float = param(1.0, "1", "assumption: sensitized intact nociceptors fire more at rest")
    ectopic_na_gain: float = param(1.0, "1", "assumption: TNF enhances ectopic discharge (Schaefers 2003, U)")
    injured_transduction: float = param(1.0, "1", "assumption: injured terminals still transduce (CCI-like); "
                                                  "0 for transection (SNI)", high=1.0)  # fmt: skip
    # --- afferents ---------------------------------------------------------------------------------
    fibre_background_hz: float = param(1.0, "Hz", f"background on Abeta and Adelta fibres, {_CM}")
    n_adelta: float = param(90.0, "fibres", f"90 Adelta fibres, {_CM_FIG}", low=0.0)
    n_c: float = param(820.0, "fibres", f"820 C fibres, {_CM_FIG}", low=1.0)
    abeta_max_hz: float = param(15.0, "Hz", "assumption: sustained discharge of slowly adapting LTMRs "
                                            "during a held filament (10-30 Hz, U)")  # fmt: skip
    abeta_onset_hz: float = param(40.0, "Hz", f"Abeta response to stimulus onset, {_CM}")
    abeta_onset_ms: float = param(20.0, "ms", f"Abeta response lasts 0.02 s, {_CM}", low=0.0)
    abeta_threshold: float = param(0.02, "1", "assumption: LTMRs respond at ~2% of the nociceptor force", low=1e-6)
    adelta_max_hz: float = param(20.0, "Hz", "assumption")
    adelta_threshold: float = param(0.8, "1", "assumption: A-mechanonociceptors slightly below C", low=1e-6)
    c_max_hz: float = param(22.0, "Hz", f"C response to a noxious stimulus, {_CM}")
    c_threshold: float = param(1.0, "1", "defines the unit: force / force_scale_g at C half-activation", low=1e-6)
    mech_hill: float = param(3.0, "1", "assumption: steepness of force coding on a log axis", low=0.1, high=20.0)
    heat_half_C: float = param(46.0, "°C", "assumption; TRPV1 activates ~43 °C, calibrated so naive withdrawal "
                                           "is near 47.6 °C (Banik 2013, V)", low=20.0, high=60.0)  # fmt: skip
    heat_width_C: float = param(1.5, "°C", "assumption", low=1e-3)
    # --- dorsal-horn circuit (Crodelle 2019 structure; numbers from Crodelle & Maia 2021 code, M) -----
    p_max_hz: float = param(50.0, "Hz", _CM, low=1e-3)
    p_alpha: float = param(11.5, "Hz", _CM, low=1e-3)
    p_beta: float = param(28.2, "Hz", _CM, low=-1e3)
    e_max_hz: float = param(60.0, "Hz", _CM, low=1e-3)
    e_alpha: float = param(5.2, "Hz", _CM, low=1e-3)
    e_beta: float = param(29.2, "Hz", _CM, low=-1e3)
    i_max_hz: float = param(80.0, "Hz", _CM, low=1e-3)
    i_alpha: float = param(9.5, "Hz", _CM, low=1e-3)
    i_beta: float = param(28.0, "Hz", _CM, low=-1e3)
    i_offset_hz: float = param(1.0, "Hz", f"I_inf + 1, {_CM}")
    m_alpha: float = param(10.0, "Hz", f"NMDA activation M_inf(P), {_CM}", low=1e-3)
    m_beta: float = param(38.0, "Hz", f"NMDA activation M_inf(P), {_CM}", low=-1e3)
    w_abeta_p: float = param(0.8, "1", _CM)
    w_c_p: float = param(0.8, "1", _CM)
    w_e_p: float = param(0.35, "1", _CM)
    w_i_p: float = param(1.8, "1", _CM)
    w_c_e: float = param(1.6, "1", _CM)
    w_i_e: float = param(0.6, "1", _CM)
    w_abeta_i: float = param(0.8, "1", _CM)
    tau_p_s: float = param(0.001, "s", _CM, low=1e-6)
    tau_e_s: float = param(0.01, "s", _CM, low=1e-6)
    tau_i_s: float = param(0.02, "s", _CM, low=1e-6)
    nmda_max: float = param(2.0, "1", f"maxG = 2, {_CM}; calibrated with the kinetics below")
    nmda_rise_s: float = param(1.0, "s", f"tau_NMDA = 1 s, {_CM}; here the activity-gated rise", low=1e-6)
    nmda_decay_s: float = param(3.0, "s", "assumption: slower decay than rise so that wind-up at 1 Hz reaches "
                                          "~1.5-2 and fades below 0.2 Hz (Mendell 1966; Herrero 2000, U)",
                                low=1e-6)  # fmt: skip
    # --- central sensitization by spinal mediators ----------------------------------------------------
    bdnf_ec50_nM: float = param(0.5, "nM", "assumption: TrkB, sub-nM (U)", low=1e-6)
    bdnf_disinhibition: float = param(1.0, "1", "assumption: saturating BDNF abolishes net I->P inhibition; "
                                                "direction Coull 2005 Nature (V: microglial BDNF -> KCC2 down -> "
                                                "E_anion depolarized, GABA currents can invert)", high=1.0)  # fmt: skip
    il1b_disinhibition: float = param(0.2, "1", f"IL-1b lowers GABA/glycine currents, {_KAWASAKI}", high=1.0)
    il6_disinhibition: float = param(0.2, "1", f"IL-6 lowers GABA/glycine currents, {_KAWASAKI}", high=1.0)
    ifng_disinhibition: float = param(
        0.5, "1", "IFN-γ applied to the dorsal horn disrupts GABAergic inhibition of dorsal-horn neurons in vivo "
        "(Vikman, Duggan & Siddall 2007 Pain 133:18, V for direction; IFN-γ receptors sit at synapses of the "
        "superficial dorsal horn, Vikman 2003, U); size calibrated: T cells' IFN-γ holds pain when microglia are "
        "inhibited late (Raghavendra 2003) and removing T cells lowers it (Costigan 2009)", high=1.0)
    ifng_kd_nM: float = param(0.1, "nM", "assumption (as IFNGR in cells/signaling.py)", low=1e-6)
    tnf_nmda_gain: float = param(0.5, "1", f"TNF raises NMDA currents, {_KAWASAKI}")
    il1b_nmda_gain: float = param(0.5, "1", f"IL-1b raises NMDA currents, {_KAWASAKI}")
    tau_disinhibition_on_min: float = param(60.0, "min", "assumption", low=1e-3)
    tau_disinhibition_off_min: float = param(360.0, "min", "assumption: GABA/glycine currents recover within "
                                                           "hours of IL-1b/IL-6", low=1e-3)  # fmt: skip
    tau_kcc2_off_min: float = param(4320.0, "min", "assumption: KCC2 is re-expressed over days once BDNF-TrkB "
                                                   "signalling stops; it stays down for weeks while it goes on "
                                                   "(Coull 2003 Nature 424:938, V for the direction)",
                                    low=1e-3)  # fmt: skip
    tau_nmda_gain_min: float = param(30.0, "min", "assumption", low=1e-3)
    # --- spinal astrocytes: induction by microglia, maintenance by afferent input -------------------------
    astro_induction_min: float = param(
        2880.0, "min", "assumption: astrocytes turn reactive days after microglia (GFAP from day 3-4 after nerve "
        "injury, Raghavendra 2003 J Pharmacol Exp Ther 306:624; Tanga 2004 Neurochem Int 45:397, V for timing); "
        "time constant at saturating IL-1b/TNF (2 d: half-reactive by day 3-4 in sni.toml)", low=1e-3)
    astro_sustain_min: float = param(
        2880.0, "min", "assumption: once reactive, astrocytes are kept so by ongoing afferent input (local block "
        "of the injured nerve reverses established pain, Sukhotinsky 2004 Eur J Pain 8:135, V for direction)",
        low=1e-3)
    astro_off_min: float = param(
        20160.0, "min", "assumption: reactive astrocytes persist for weeks after their trigger is gone (GFAP up "
        "for > 4 weeks after nerve injury, Tanga 2004, U); 14 d", low=1e-3)
    astro_half: float = param(0.5, "1", "assumption: the self-sustaining loop needs astrocytes half-reactive "
                                        "(sets the threshold of the switch)", low=1e-3, high=1.0)  # fmt: skip
    astro_afferent_half_hz: float = param(
        0.5, "Hz", "assumption: mean afferent firing that half-engages the loop (naive nociceptors 0.1 Hz; injured "
        "ones fire ectopically at 1-10 Hz)", low=1e-6)
    astro_potentiation: float = param(
        0.0, "1", "assumption: primary-afferent synapses on projection neurons x (1 + a A); direction Gao 2009 "
        "J Neurosci 29:4096 (astrocytic CCL2 raises excitatory currents), Ikeda 2006 Science 312:1659 (spinal "
        "LTP), Gruber-Schoffnegger 2013 J Neurosci 33:6540 (glia gate it). Off by default: with the KCC2 route "
        "on, the circuit is at its allodynia threshold and any potentiation pins every nerve-injury arm at the "
        "lowest filament (a 0.1 took SNI and the miR-21 knockout both to 0.02 g)", high=5.0)
    astro_kcc2_loss: float = param(
        0.9, "1", "calibrated: fully reactive astrocytes keep KCC2 down without BDNF, to 90 % of what saturating "
        "BDNF does: sustained NMDA activity cleaves KCC2 through calpain (Zhou 2012 J Biol Chem 287:33853, V for "
        "direction), and astrocytes raise that activity (Gao 2009). At 1.0 the astrocytes alone pinned every "
        "nerve-injury arm at the lowest filament, so nothing upstream (T cells: Costigan 2009) could matter in the "
        "maintenance phase; much below 0.9 late minocycline reverses pain (Raghavendra 2003 says it does not)",
        high=1.0)
    astro_nmda_gain: float = param(0.5, "1", "assumption: astrocytic CCL2/CXCL1 raise NMDA currents (Gao 2009; "
                                              "Zhang 2013 J Neurosci 33:1345, V for direction)")  # fmt: skip
    astro_ifng_induction: float = param(
        0.0, "1", "weight of T-cell IFN-γ in switching the astrocytes on, beside microglial IL-1β/TNF: 0 in males, "
        "the reference (male pain goes through microglia); the female value is in neuroagents/sex.py (assumption: "
        "female nerve-injury pain is carried by T cells, not microglia, Sorge 2015 Nat Neurosci 18:1081, and it "
        "converges on the same loss of spinal KCC2 as in males, Mapplebeck 2019 Cell Rep 28:590; astrocytes answer "
        "T-cell IFN-γ, e.g. with MHC class II, Fierz 1985 J Immunol 134:3785, U)", high=1.0)
    astro_substep_min: float = param(60.0, "min", "numerical: largest sub-step of the astrocyte equation",
                                     low=1e-3)  # fmt: skip
    # --- behavioural protocols ------------------------------------------------------------------------
    criterion_hz: float = param(25.0, "Hz", f"P rate counted as pain ('area above 25' in diagnostics.m), {_CM}",
                                low=1e-3)  # fmt: skip
    vf_hold_s: float = param(2.0, "s", "assumption: filament held until withdrawal, <= 6-8 s (Chaplan 1994, V)",
                             low=0.05, high=10.0)  # fmt: skip
    vf_dt_s: float = param(0.01, "s", "numerical step of the protocols", low=1e-4, high=0.05)
    trace_threshold_every_steps: int = param(1, "steps", "numerical: cadence of the pain trace's von Frey series "
                                                         "columns (they are also computed at every record)", low=1,
                                             integer=True)  # fmt: skip
    mouse_force_scale_g: float = param(0.48, "g", "calibrated: naive mouse threshold 0.6-1 g (docs/references.md)",
                                       low=1e-3)  # fmt: skip
    rat_force_scale_g: float = param(8.2, "g", "calibrated: naive rat threshold ~15 g (docs/references.md; "
                                                "Chaplan 1994 cut-off 15 g)", low=1e-3)  # fmt: skip
    human_force_scale_g: float = param(6.2, "g", "calibrated: naive human pinprick pain threshold ~100 mN (10 g) "
                                                  "at the foot (Chantelau 2015 World J Diabetes 6:391 Table 3, V)",
                                       low=1e-3)  # fmt: skip
    # --- the patient-rated 0-10 scale (neuroagents/pain/rating.py, docs/pain.md) -------------------------------
    nrs_zero_nociceptor_hz: float = param(0.5, "Hz", "heat pain threshold at a minimum C-nociceptor discharge of "
                                                     "0.5 Hz (Tillman 1995 J Physiol 485:767, V)", low=0.0)  # fmt: skip
    nrs_top_nociceptor_hz: float = param(10.0, "Hz", "assumption: ongoing C-nociceptor discharge rated 10/10; CMH "
                                                     "nociceptors fire ~1-13 Hz to heat ramps rated painful "
                                                     "(Yarnitsky 1992 J Physiol 450:581, V)", low=1e-3)  # fmt: skip
    heat_start_C: float = param(30.0, "°C", "glass floor at 30 °C (Hargreaves-type set-ups, U)", low=0.0)
    heat_rate_C_per_s: float = param(1.7, "°C/s", "calibrated: naive latency ~10 s (Hargreaves 1988, U)", low=1e-3)
    heat_cutoff_s: float = param(20.0, "s", "common cut-off to avoid tissue damage (U)", low=0.1, high=120.0)
    heat_dt_s: float = param(0.1, "s", "numerical step of the heat ramp", low=1e-3, high=0.5)
    windup_hz: float = param(1.0, "Hz", "0.5-1 Hz C-fibre stimulation (docs/references.md)", low=0.05, high=5.0)
    windup_pulses: int = param(16, "pulses", "16th vs 1st response (docs/references.md)", low=2, high=100, integer=True)
    windup_c_hz: float = param(20.0, "Hz", "assumption: electrical C volley just above the naive response "
                                           "threshold of P (Crodelle & Maia use 22 Hz)")  # fmt: skip
    windup_c_ms: float = param(210.0, "ms", f"C volley duration 0.21 s, {_CM}", low=1.0)
    windup_c_delay_ms: float = param(90.0, "ms", f"C arrives 0.09 s after Abeta, {_CM}")
    windup_abeta_hz: float = param(40.0, "Hz", f"Abeta volley 40 Hz, {_CM}")
    windup_abeta_ms: float = param(20.0, "ms", f"Abeta volley 0.02 s, {_CM}")


@dataclass(frozen=True)
class Species:
    """What differs between species in the behavioural tests.

    Attributes
    ----------
    name : str
    filaments_g : tuple of float
        The von Frey series, g (ascending).
    evoked_force_g : float
        The standard stimulus for ``pain_evoked_hz``, g: a filament below the
        naive threshold, so that the readout grows with allodynia (assumption).
    source : str
    """

    name: str
    filaments_g: tuple[float, ...]
    evoked_force_g: float
    source: str


SPECIES: dict[str, Species] = {
    "mouse": Species(
        "mouse",
        (0.008, 0.02, 0.04, 0.07, 0.16, 0.4, 0.6, 1.0, 1.4, 2.0),
        0.4,
        "Stoelting mouse series 1.65-4.31 (U); Bonin 2014 Mol Pain SUDO uses the same range",
    ),
    "rat": Species(
        "rat",
        (0.4, 0.6, 1.0, 2.0, 4.0, 6.0, 8.0, 15.0, 26.0),
        6.0,
        "rat series 0.4-26 g; Chaplan 1994 used 0.41-15.1 g (V)",
    ),
    # People are tested with weighted pinpricks, not von Frey hairs: the mechanical pain threshold (MPT) of
    # quantitative sensory testing. The standard stimulus is the 64 mN pin, below the naive threshold.
    "human": Species(
        "human",
        tuple(round(mn / _G_MN, 4) for mn in (8, 16, 32, 64, 128, 256, 512)),
        round(64 / _G_MN, 4),
        "DFNS pinprick series 8-512 mN (Rolke 2006 Eur J Pain 10:77, V), in g (1 g = 9.807 mN)",
    ),
}


def resolve_species(name: str) -> Species:
    """The :class:`Species` called ``name``; a clear error otherwise."""
    if name not in SPECIES:
        raise ConfigError("pain.species", name, f"one of {sorted(SPECIES)}")
    return SPECIES[name]


def force_scale_g(params: PainParams, species: Species) -> float:
    """Force (g) that counts as one unit of mechanical stimulus for ``species``."""
    return float(getattr(params, f"{species.name}_force_scale_g"))
