"""Validation against published outcomes (docs/references.md, "Published outcomes"), from the built-in scenarios.

Each run is a whole scenario (tens of seconds on one core), so the runs are shared by the tests of a module.
The expectations are directions and time windows from the sources in neuroagents/validation.py, not numbers
fitted to the model's own output.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroagents.validation import CASES, SEEDS, run
from neuroagents.validation_pool import RunPool, pool_workers

pytestmark = pytest.mark.slow

_POOL: RunPool | None = None
"""The runs of the selected checks, started in worker processes when the module's first check runs."""
_DECLARED: tuple[str, ...] = ()
"""The cases the running check declared (``@pytest.mark.cases``): the only ones it may read."""


def _seed_arg(seed: int) -> int | None:
    return None if seed == 1 else seed  # seed 1 is the built-in scenarios' own


def _cases(item) -> tuple[str, ...]:
    marker = item.get_closest_marker("cases")
    return tuple(marker.args) if marker else ()


@pytest.fixture(scope="module", autouse=True)
def _runs_in_parallel(request):
    """Start every run the selected checks of this module read (their ``cases`` markers, at their seeds), in
    ``NEUROAGENTS_VALIDATION_WORKERS`` worker processes (neuroagents/validation_pool.py), longest first."""
    global _POOL
    keys = []
    for item in request.session.items:
        if getattr(item, "module", None) is not request.module:
            continue
        callspec = getattr(item, "callspec", None)
        seed = callspec.params.get("seed", SEEDS[0]) if callspec else SEEDS[0]
        for case in _cases(item):
            keys += [(scenario, overrides, _seed_arg(seed)) for scenario, overrides in CASES[case].arms.values()]
    _POOL = RunPool(pool_workers())
    _POOL.submit(keys)
    yield
    _POOL.close()
    _POOL = None


@pytest.fixture(autouse=True)
def _declared_cases(request):
    global _DECLARED
    _DECLARED = _cases(request.node)
    yield
    _DECLARED = ()


def _arm(case: str, label: str):
    return _seeded(case, label, SEEDS[0])  # 1 unless NEUROAGENTS_VALIDATION_SEEDS says otherwise


@functools.cache
def _run(scenario: str, overrides: tuple[str, ...], seed: int | None = None):  # cases share arms: each runs once
    table = _POOL.result(scenario, overrides, seed) if _POOL is not None else run(scenario, overrides, seed=seed)
    out = os.environ.get("NEUROAGENTS_VALIDATION_DUMP")  # a folder: keep every run for docs/validation.md's numbers
    if out:
        name = f"{scenario}_{seed or 1}_{hashlib.sha1(repr(overrides).encode()).hexdigest()[:8]}.parquet"
        table.assign(overrides=repr(overrides)).to_parquet(os.path.join(out, name))
    return table


def _seeded(case: str, label: str, seed: int):
    # a check reads only the cases it declares, so that their runs were started in parallel before it asked
    assert case in _DECLARED, f"this check reads case {case!r}: add it to its @pytest.mark.cases(...)"
    scenario, overrides = CASES[case].arms[label]
    return _run(scenario, overrides, _seed_arg(seed))


def _window(table, column, first_day, last_day):
    """Mean of ``column`` over the records from ``first_day`` to ``last_day`` (inclusive)."""
    return table.query(f"{first_day} <= day <= {last_day}")[column].mean()


DATA = Path(__file__).resolve().parents[1] / "validation" / "data"
"""Published time courses transcribed from printed tables (validation/data/README.md)."""


def _shape_distance(table, column: str, csv: str) -> tuple[float, float]:
    """How far the model's ``column`` is from a published curve, each divided by its own maximum over the published
    time points (the shape: the units differ, per cent of a tissue section against mL of paw).

    Returns
    -------
    rms : float
        Root mean square of the differences of the two scaled curves.
    z_rms : float
        The same in units of the published spread (SD or SEM, scaled likewise): below 1, the model lies within one
        spread of the published means on average.
    """
    pub = pd.read_csv(DATA / csv)
    hours, values = table["time_min"].to_numpy() / 60.0, table[column].to_numpy()
    model = np.array([values[np.abs(hours - h).argmin()] for h in pub["time_h"]])
    published, spread = pub["mean"].to_numpy(), pub["spread"].to_numpy()
    diff = model / model.max() - published / published.max()
    return float(np.sqrt(np.mean(diff**2))), float(np.sqrt(np.mean((diff / (spread / published.max())) ** 2)))


def _daily(table, column):
    """The readout at each whole day (the record nearest each day)."""
    days = np.arange(0, int(table["day"].max()) + 1)
    idx = np.abs(table["day"].to_numpy()[:, None] - days[None, :]).argmin(axis=0)
    return days, table[column].to_numpy()[idx]


@pytest.mark.cases("sni")
def test_sni_hypersensitivity_from_day_1_through_day_28():
    sni, sham = _arm("sni", "SNI"), _arm("sni", "sham")
    days, thr = _daily(sni, "withdrawal_threshold_interp_g")
    _, thr_sham = _daily(sham, "withdrawal_threshold_interp_g")
    assert days[-1] == 28
    assert thr[0] == pytest.approx(thr_sham[0])  # the same animal before surgery
    # from day 1 on, every day: at least 30 % below sham (Smith 2013: SNI lowers the threshold from day 1)
    assert np.all(thr[1:] < 0.7 * thr_sham[1:]), list(zip(days, thr, thr_sham, strict=True))
    # and it does not wear off: day 28 is as low as day 7 or lower
    assert thr[28] <= thr[7] * 1.1
    # the filament readout agrees: below the naive filament from day 1
    _, filament = _daily(sni, "withdrawal_threshold_g")
    assert np.all(filament[1:] < filament[0])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("mir21")
def test_mir21_knockout_reduces_drg_macrophages_and_hypersensitivity(seed):
    wt, ko = _seeded("mir21", "SNI", seed), _seeded("mir21", "SNI, no neuronal miR-21", seed)
    late = slice(int(np.searchsorted(wt["day"], 3.0)), None)  # days 3-28
    m1_wt = wt["n_macrophage_M1_drg"].to_numpy()[late].mean()
    m1_ko = ko["n_macrophage_M1_drg"].to_numpy()[late].mean()
    assert m1_ko < 0.5 * m1_wt, (m1_wt, m1_ko)
    total = [t[["n_macrophage_M0_drg", "n_macrophage_M1_drg", "n_macrophage_M2_drg"]].sum(axis=1).to_numpy()[late]
             for t in (wt, ko)]  # fmt: skip
    assert total[1].mean() < total[0].mean()  # fewer macrophages in the DRG (Simeoli 2017)
    thr_wt = wt["withdrawal_threshold_interp_g"].to_numpy()[late]
    thr_ko = ko["withdrawal_threshold_interp_g"].to_numpy()[late]
    assert thr_ko.mean() > 1.2 * thr_wt.mean()  # less hypersensitivity
    assert thr_ko.mean() < ko["withdrawal_threshold_interp_g"].iloc[0]  # ... but still some (microglia, ectopia)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("mir21")
def test_intrathecal_mir21_antagomir_reduces_drg_macrophages_and_hypersensitivity(seed):
    """Simeoli 2017: the antagomir, given intrathecally, does what the knockout does."""
    wt, ag = _seeded("mir21", "SNI", seed), _seeded("mir21", "SNI, intrathecal antagomir-21", seed)
    late = slice(int(np.searchsorted(wt["day"], 3.0)), None)  # days 3-28
    m1 = [t["n_macrophage_M1_drg"].to_numpy()[late].mean() for t in (wt, ag)]
    assert m1[1] < 0.5 * m1[0], m1
    thr = [t["withdrawal_threshold_interp_g"].to_numpy()[late].mean() for t in (wt, ag)]
    assert thr[1] > 1.2 * thr[0], thr


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan")
def test_carrageenan_hyperalgesia_develops_within_hours(seed):
    t = _seeded("carrageenan", "carrageenan", seed)
    base = t["withdrawal_threshold_interp_g"].iloc[0]
    early = t[t["time_min"] <= 360]
    assert early["withdrawal_threshold_interp_g"].min() < 0.7 * base  # within 6 h: at least 30 % down
    assert t.loc[t["withdrawal_threshold_interp_g"].idxmin(), "time_min"] <= 360 or (
        early["withdrawal_threshold_interp_g"].min() < 0.6 * base)  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan")
def test_carrageenan_hyperalgesia_resolves_within_48_h(seed):
    """The paw macrophages tolerize to the agonist (cells/macrophage.py), so their TNF/IL-1β loop stops."""
    t = _seeded("carrageenan", "carrageenan", seed)
    base = t["withdrawal_threshold_interp_g"].iloc[0]
    assert t["withdrawal_threshold_interp_g"].iloc[-1] > 0.85 * base


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("cci")
def test_cci_hypersensitivity_from_day_2_through_day_28(seed):
    """Bennett & Xie 1988 (Pain 33:87): loose ligatures around the rat sciatic nerve give heat hyperalgesia from the
    second postoperative day, lasting over 2 months, and allodynia to innocuous touch. The model's CCI was built like
    its SNI and not calibrated on this. Bars, each with 1.5x its margin: threshold 30 % (20 %) and heat latency 3 %
    (2 %) below sham on every day from 2 to 28, and day 28 no better than day 7."""
    cci, sham = (_seeded("cci", label, seed) for label in CASES["cci"].arms)
    for column, bar in (("withdrawal_threshold_interp_g", 0.7), ("heat_latency_s", 0.97)):
        days, injured = _daily(cci, column)
        _, control = _daily(sham, column)
        assert days[-1] == 28 and injured[0] == pytest.approx(control[0])
        assert np.all(injured[2:] < bar * control[2:]), list(zip(days, injured, control, strict=True))
    thr = "withdrawal_threshold_interp_g"
    assert _window(cci, thr, 27, 28) <= _window(cci, thr, 6.5, 7.5)  # it does not wear off


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan")
def test_carrageenan_paw_swells_within_hours_and_subsides_by_48_h(seed):
    """Winter 1962 (Proc Soc Exp Biol Med 111:544): the carrageenan paw swells within hours and the oedema subsides
    within a day or two. The swelling readout (neuroagents/swelling.py) is calibrated on the size only."""
    t = _seeded("carrageenan", "carrageenan", seed)
    sw, hours = t["swelling_pct_paw"].to_numpy(), t["time_min"].to_numpy() / 60.0
    peak = sw.max()
    assert 25.0 < peak < 100.0, peak  # about half the paw's volume, not a doubling
    assert 2.0 <= hours[sw.argmax()] <= 6.0, hours[sw.argmax()]  # published 3-5 h
    assert sw[hours <= 1.0].max() > 0.3 * peak  # under way within the first hour (the amines, then the kinins)
    assert sw[-1] < 0.15 * peak, (sw[-1], peak)  # mostly gone at 48 h


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan")
def test_carrageenan_reaches_minus_70_percent_at_2_5_h(seed):
    """docs/references.md (rat paw, about −80 % at 2.5 h): the issue's bar for the model is −70 % at 2.5 h."""
    t = _seeded("carrageenan", "carrageenan", seed)
    thr = t["withdrawal_threshold_interp_g"].to_numpy()
    at = thr[np.abs(t["time_min"].to_numpy() - 150.0).argmin()]
    assert at < 0.3 * thr[0], at / thr[0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan_kinins")
def test_kinins_deepen_the_early_carrageenan_hyperalgesia(seed):
    """Ferreira 1993 (Br J Pharmacol 110:1227): HOE 140, a B2 antagonist, inhibits carrageenin hyperalgesia. In the
    model the leaked plasma's kininogen gives bradykinin (neuroagents/kinins.py); knocking it out is the kininogen-
    deficient or B2-blocked paw. The bars: 10 % (threshold) and 5 % (heat latency), each with 1.5x its margin, over
    2-4 h; by 48 h the two arms are back within a few per cent of each other. Bradykinin also opens venular gaps
    (swelling.py): HOE 140 given with carrageenan lowers the oedema at 3 h by 25-41 % (Buritova 1997 Eur J Pharmacol
    320:73); the model's must be at least 25 % lower and not gone (the amines and cytokines still open gaps)."""
    wt, ko = (_seeded("carrageenan_kinins", label, seed) for label in CASES["carrageenan_kinins"].arms)
    early = [t.query("120 <= time_min <= 240") for t in (wt, ko)]
    thr, heat = "withdrawal_threshold_interp_g", "heat_latency_s"
    assert early[1][thr].mean() > 1.15 * early[0][thr].mean()
    assert early[1][heat].mean() > 1.075 * early[0][heat].mean()
    assert ko[thr].iloc[-1] == pytest.approx(wt[thr].iloc[-1], rel=0.1)
    at_3_h = [t.iloc[np.abs(t["time_min"].to_numpy() - 180.0).argmin()]["swelling_pct_paw"] for t in (wt, ko)]
    assert 0.3 * at_3_h[0] < at_3_h[1] < 0.75 * at_3_h[0], at_3_h


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan")
def test_carrageenan_oedema_has_the_published_shape(seed):
    """The rat paw's oedema 1-5 h after carrageenan (validation/data/carrageenan_rat_ecam2012_108626.csv, the vehicle
    row of a printed table): the shapes (each curve over its maximum) within one published SEM of each other in root
    mean square. Without the kinins' phase the model's oedema fails it (docs/validation.md, *Swelling*)."""
    t = _seeded("carrageenan", "carrageenan", seed)
    rms, z_rms = _shape_distance(t, "swelling_pct_paw", "carrageenan_rat_ecam2012_108626.csv")
    assert z_rms < 1.0, (rms, z_rms)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan_nsaid")
def test_cox2_inhibitor_reduces_carrageenan_hyperalgesia(seed):
    """Celecoxib blocks the stromal COX-2 (neuroagents/stroma.py) and the M1 macrophages' PGE2: less paw PGE2 and a
    higher threshold in the prostaglandin phase (2-6 h), the direction NSAIDs show in the carrageenan paw."""
    ctrl, cox = (_seeded("carrageenan_nsaid", label, seed) for label in CASES["carrageenan_nsaid"].arms)
    window = [t.query("120 <= time_min <= 360") for t in (ctrl, cox)]
    pge2 = [w["mean_PGE2_nM_paw"].mean() for w in window]
    assert pge2[1] < 0.5 * pge2[0], pge2
    thr = [w["withdrawal_threshold_interp_g"].mean() for w in window]
    assert thr[1] > 1.1 * thr[0], thr
    assert cox["withdrawal_threshold_interp_g"].min() < 0.7 * cox["withdrawal_threshold_interp_g"].iloc[0]  # partial
    # the assay's own readout: a COX-2 inhibitor lowers the oedema at 3 h (Seibert 1994 PNAS 91:12013, SC-58125;
    # Winter 1962 built the assay for such drugs), as PGE2 no longer potentiates the leak; partly (the amines, kinins)
    oedema = [t.iloc[np.abs(t["time_min"].to_numpy() - 180.0).argmin()]["swelling_pct_paw"] for t in (ctrl, cox)]
    assert 0.3 * oedema[0] < oedema[1] < 0.8 * oedema[0], oedema


INDOMETHACIN_CSV = "carrageenan_rat_ecam2012_108626_indomethacin.csv"


def _indomethacin_distance(ctrl, indo) -> float:
    """How far the model's indomethacin oedema is from the printed one, both over their own controls' maxima at the
    published hours (1-5 h), in units of the published SEM scaled likewise (root mean square)."""
    pub_c = pd.read_csv(DATA / "carrageenan_rat_ecam2012_108626.csv")
    pub_i = pd.read_csv(DATA / INDOMETHACIN_CSV)
    hours = ctrl["time_min"].to_numpy() / 60.0
    at = [np.abs(hours - h).argmin() for h in pub_i["time_h"]]
    model_c, model_i = ctrl["swelling_pct_paw"].to_numpy()[at], indo["swelling_pct_paw"].to_numpy()[at]
    scale = pub_c["mean"].max()
    diff = model_i / model_c.max() - pub_i["mean"].to_numpy() / scale
    return float(np.sqrt(np.mean((diff / (pub_i["spread"].to_numpy() / scale)) ** 2)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan_indomethacin")
def test_indomethacin_lowers_the_carrageenan_oedema_and_paw_pge2(seed):
    """Indomethacin 10 mg/kg by mouth with the carrageenan (COX-2, Kawai 1998 IC50 44 nM): less oedema at 1, 2 and 3 h
    and less paw PGE2 over 2-5 h, the direction of the printed positive control (45-57 % less oedema at 1-5 h)."""
    ctrl, indo = (_seeded("carrageenan_indomethacin", label, seed) for label in CASES["carrageenan_indomethacin"].arms)
    hours = ctrl["time_min"].to_numpy() / 60.0
    for h in (1.0, 2.0, 3.0):
        i = np.abs(hours - h).argmin()
        assert indo["swelling_pct_paw"].iloc[i] < 0.9 * ctrl["swelling_pct_paw"].iloc[i], h
    pge2 = [t.query("120 <= time_min <= 300")["mean_PGE2_nM_paw"].mean() for t in (ctrl, indo)]
    assert pge2[1] < 0.7 * pge2[0], pge2


@pytest.mark.xfail(strict=True, reason="the model's indomethacin lowers the oedema by about a third at 1 h and less "
                   "after (its PGE2 potentiates a leak that amines and kinins open, a third of the oedema; its human "
                   "PK scaled to the rat wears off within hours), against 42-57 % published at 1-5 h: "
                   "docs/validation.md, *Indomethacin*")  # fmt: skip
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("carrageenan_indomethacin")
def test_indomethacin_oedema_matches_the_printed_positive_control(seed):
    """The indomethacin row of the printed table (validation/data, 1-5 h) within one published SEM of the model's
    indomethacin arm in root mean square, both scaled by their controls' maxima."""
    ctrl, indo = (_seeded("carrageenan_indomethacin", label, seed) for label in CASES["carrageenan_indomethacin"].arms)
    assert _indomethacin_distance(ctrl, indo) < 1.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("arthritis_jak")
def test_jak_inhibitor_reduces_arthritis_pain_dose_dependently(seed):
    """Tofacitinib takes away the IFN-γ/GM-CSF (JAK-STAT) rescue of the synovial macrophages from tolerance and
    evens out the Th17 lottery (IL-6/IL-23 -> STAT3); pain falls with the dose (mean threshold from day 10). The bar
    +20 % at 15 mg/kg is asked with 1.5x its margin."""
    after = {label: _seeded("arthritis_jak", label, seed).query("day >= 10")["withdrawal_threshold_interp_g"].mean()
             for label in CASES["arthritis_jak"].arms}  # fmt: skip
    untreated, low, high = after["untreated"], after["tofacitinib 1 mg/kg"], after["tofacitinib 15 mg/kg"]
    assert untreated < low < high and high > 1.3 * untreated, after


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("arthritis_jak")
def test_jak_inhibitor_reduces_synovial_swelling(seed):
    """Tofacitinib (CP-690,550) reduced paw swelling in rat adjuvant and mouse collagen arthritis (Milici 2008 Arthritis
    Res Ther 10:R14): the swelling of the synovium from day 10 falls with the dose, and stays above a resting
    joint's (the arthritis is damped, not cured)."""
    after = {label: _seeded("arthritis_jak", label, seed).query("day >= 10")["swelling_pct_paw"].mean()
             for label in CASES["arthritis_jak"].arms}  # fmt: skip
    untreated, low, high = after["untreated"], after["tofacitinib 1 mg/kg"], after["tofacitinib 15 mg/kg"]
    assert untreated > low > high > 5.0, after
    assert high < 0.75 * untreated, after


def _anti_tnf_days_3_to_21(seed):
    """Threshold, swelling and paw M1 macrophages over days 3-21, (untreated, etanercept) each."""
    arms = [_seeded("arthritis_anti_tnf", label, seed) for label in CASES["arthritis_anti_tnf"].arms]
    return {c: [_window(t, c, 3, 21) for t in arms]
            for c in ("withdrawal_threshold_interp_g", "swelling_pct_paw", "n_macrophage_M1_paw")}  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("arthritis_anti_tnf")
def test_anti_tnf_relieves_arthritis_pain_while_the_joint_stays_inflamed(seed):
    """Boettger 2008: in antigen-induced arthritis TNF neutralization lowers the pain while the swelling is only
    weakly attenuated and the synovitis persists (TNF sensitizes the joint's nociceptors through TNFR1). In the model
    etanercept takes TNF off the nociceptors' TNFR1/TNFR2 and the stroma's COX-2 drive, while the depot's TLR agonist,
    IL-1β and the T cells' GM-CSF keep the macrophages M1. Days 3-21: the threshold higher by more than the untreated
    arms of seeds 1-3 differ (±5 %; asked with 1.5x that margin), the swelling above 60 % and the paw's M1 macrophages
    above 85 % of the untreated joint's (the bars of "weakly attenuated" and "pronounced inflammation")."""
    v = _anti_tnf_days_3_to_21(seed)
    threshold, swelling, m1 = v["withdrawal_threshold_interp_g"], v["swelling_pct_paw"], v["n_macrophage_M1_paw"]
    assert threshold[1] > 1.075 * threshold[0], threshold
    assert swelling[1] > 0.6 * swelling[0], swelling
    assert m1[1] > 0.85 * m1[0], m1


@pytest.mark.xfail(strict=True, reason="the model's etanercept raises the threshold by 9-20 % over days 3-21; in the "
                   "rats' antigen-induced arthritis the pain thresholds returned to control levels faster with the "
                   "drugs: TNF is one of many sensitizers of the model's synovial nociceptors (PGE2, NGF, IL-6, IL-1β, "
                   "bradykinin), docs/validation.md, *Anti-TNF*")  # fmt: skip
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("arthritis_anti_tnf")
def test_anti_tnf_relieves_arthritis_pain_by_a_quarter_or_more(seed):
    """The size: a quarter, about the smallest difference 10 rats per arm show as significant at the spread of
    von Frey and pressure thresholds (coefficient of variation 20-30 %; assumption, the paper's numbers not
    transcribed here)."""
    threshold = _anti_tnf_days_3_to_21(seed)["withdrawal_threshold_interp_g"]
    assert threshold[1] > 1.25 * threshold[0], threshold


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("minocycline_timing")
def test_minocycline_from_the_injury_attenuates_the_development_of_hypersensitivity(seed):
    """Raghavendra 2003: minocycline from the day of nerve injury attenuates the development of mechanical
    hypersensitivity and microglial activation. In the model it keeps the microglia from the spinal IL-1β/TNF that
    would switch the astrocytes on, and from the BDNF that takes KCC2 away."""
    sni, early = (_seeded("minocycline_timing", label, seed) for label in ("SNI", "minocycline from the injury"))
    thr = "withdrawal_threshold_interp_g"
    base = sni[thr].iloc[0]
    first_week = [_window(t, thr, 1, 7) for t in (sni, early)]
    # the bar "clearly attenuated" is 1.5x SNI's first-week threshold and a quarter of the way back to baseline;
    # asked with 1.5x those margins
    assert first_week[1] > 2.25 * first_week[0], first_week
    assert first_week[1] - first_week[0] > 0.375 * (base - first_week[0]), (base, first_week)
    bdnf = [_window(t, "mean_BDNF_nM_dorsal_horn", 1, 7) for t in (sni, early)]
    assert bdnf[1] < 0.2 * bdnf[0], bdnf  # microglial activation (their BDNF) much lower
    astro = [_window(t, "spinal_astrocytes", 5, 7) for t in (sni, early)]
    assert astro[1] < 0.25 * astro[0], astro  # the maintenance switch has not been thrown


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("minocycline_timing")
def test_minocycline_started_after_pain_is_established_does_not_reverse_it(seed):
    """Raghavendra 2003: started on day 5 minocycline lowers microglial activation but does not reverse the
    established hypersensitivity: reactive astrocytes, kept so by the injured afferents' discharge, now keep KCC2
    down without microglial BDNF (pain/dorsal_horn.py)."""
    sni, late = (_seeded("minocycline_timing", label, seed) for label in ("SNI", "minocycline from day 5"))
    thr = "withdrawal_threshold_interp_g"
    base = sni[thr].iloc[0]
    bdnf = [_window(t, "mean_BDNF_nM_dorsal_horn", 7, 28) for t in (sni, late)]
    assert bdnf[1] < 0.7 * bdnf[0], bdnf  # microglial activation (their BDNF) is lowered ...
    after = late.query("7 <= day <= 28")[thr].to_numpy()
    assert np.all(after < 0.35 * base), after  # ... but the hypersensitivity stays
    reversed_fraction = (_window(late, thr, 7, 28) - _window(sni, thr, 7, 28)) / (base - _window(sni, thr, 7, 28))
    assert reversed_fraction < 0.2, reversed_fraction
    assert late.query("day >= 7")["spinal_astrocytes"].min() > 0.5


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("sni")
def test_sni_hypersensitivity_and_sham_baseline_on_every_seed(seed):
    """Smith 2013 (SNI from day 1 to day 28), on three seeds; sham stays sham (no drift of its threshold)."""
    sni, sham = _seeded("sni", "SNI", seed), _seeded("sni", "sham", seed)
    days, thr = _daily(sni, "withdrawal_threshold_interp_g")
    _, thr_sham = _daily(sham, "withdrawal_threshold_interp_g")
    assert np.all(thr[1:] < 0.55 * thr_sham[1:]), list(zip(days, thr, thr_sham, strict=True))  # 1.5x the 30 % bar
    # sham stays sham: flat from day 1 (the fields settle to a resting tissue's basal cytokines within hours)
    assert np.all(np.abs(thr_sham[1:] / thr_sham[1] - 1.0) < 0.03), thr_sham
    assert thr_sham[-1] > 0.9 * thr_sham[0], thr_sham


def _sex_days_7_to_28(seed, *labels):
    """Mean threshold over days 7-28 of each arm of the sex case, and the baseline (day 0)."""
    arms = [_seeded("sex", label, seed) for label in labels]
    thr = "withdrawal_threshold_interp_g"
    return [_window(t, thr, 7, 28) for t in arms], arms[0][thr].iloc[0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("sex")
def test_female_and_male_mice_develop_similar_nerve_injury_pain(seed):
    """Sorge 2015: after SNI, female and male mice reach similar levels of mechanical hypersensitivity."""
    (male, female), base = _sex_days_7_to_28(seed, "SNI, male", "SNI, female")
    lost = [1.0 - t / base for t in (male, female)]  # the fraction of the baseline threshold lost (the same naive
    assert min(lost) > 0.5, (male, female, base)  # threshold in both sexes: neuroagents/sex.py changes no neuron)
    # "similar": within 1.5x of each other, asked with 1.5x the margin (a ratio within 1.5^(1/1.5) = 1.31x)
    assert 1 / 1.31 < lost[1] / lost[0] < 1.31, lost


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("sex")
def test_without_t_cells_female_pain_relies_on_microglia(seed):
    """Sorge 2015: in female mice without T cells (nude, Rag1-/-) the hypersensitivity is there and microglial
    inhibition relieves it, as in males."""
    (rag, rag_mino), base = _sex_days_7_to_28(seed, "Rag1-/-, female", "Rag1-/- + minocycline from the injury, female")
    assert rag < 0.5 * base, (rag, base)  # still hypersensitive without T cells
    assert rag_mino > 2.25 * rag, (rag_mino, rag)  # relieved: 1.5x the bar of 1.5x


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("sex")
def test_microglial_inhibition_spares_female_nerve_injury_pain(seed):
    """Sorge 2015: minocycline and other microglial inhibitors relieve SNI hypersensitivity in male mice, not in
    female ones, whose pain is carried by T cells (the male half: test_minocycline_from_the_injury_...). In the
    model the female microglia are held back by Tregs (Kuhn 2021) and the dorsal-horn T cells' IFN-γ throws the
    astrocytes' switch without them (neuroagents/sex.py)."""
    (female, female_mino), base = _sex_days_7_to_28(seed, "SNI, female", "minocycline from the injury, female")
    assert female_mino < 0.5 * base, (female_mino, base)  # still hypersensitive with minocycline
    assert female_mino < 1.5 * female, (female_mino, female)  # not clearly relieved (the bar of the male case)


def _csf1_drops(seed):
    """Each arm of the CSF1 case: the fraction of the vehicle's threshold lost at its lowest over 6 h to 2 days,
    and the dorsal-horn BDNF over the first day (nM)."""
    arms = {label: _seeded("csf1_intrathecal", label, seed) for label in CASES["csf1_intrathecal"].arms}
    thr = "withdrawal_threshold_interp_g"
    low = {k: t.query("0.25 <= day <= 2")[thr].min() for k, t in arms.items()}
    vehicle = low.pop("vehicle, male")
    bdnf = {k: _window(t, "mean_BDNF_nM_dorsal_horn", 0, 1) for k, t in arms.items()}
    return {k: 1.0 - v / vehicle for k, v in low.items()}, bdnf


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("csf1_intrathecal")
def test_intrathecal_csf1_hurts_male_mice_and_spares_females_unless_they_lack_tregs(seed):
    """Kuhn 2021: intrathecal CSF1 causes mechanical hypersensitivity and an inflammatory microglial response in
    males, not in females, whose meningeal Tregs hold the microglia back; Treg-deficient females respond as males.
    Not calibrated on (the female restraint was set on the SNI minocycline arms, case ``sex``); the model's stand-in
    for Kuhn's Treg depletion is a T-cell knockout."""
    drop, bdnf = _csf1_drops(seed)
    male, female, no_t = drop["CSF1, male"], drop["CSF1, female"], drop["CSF1, female without T cells"]
    assert male > 0.3, drop  # hypersensitive: a fifth of the threshold lost, asked with 1.5x the margin
    assert female < male / 3, drop  # spared: less than a third of the male loss
    assert no_t > 0.8 * male, drop  # without (regulatory) T cells, as males
    assert bdnf["CSF1, female"] < 0.2 * bdnf["CSF1, male"] and bdnf["vehicle, male"] == 0.0, bdnf


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("t_cells")
def test_t_cell_deficiency_reduces_hypersensitivity_and_transfer_restores_it(seed):
    """Costigan 2009: Rag1-/- mice develop less mechanical hypersensitivity after SNI; T cells infiltrate the
    dorsal horn, and their IFN-γ drives microglia (Tsuda 2009, cells/microglia.py). Transferred T cells restore it."""
    wt, rag = (_seeded("t_cells", label, seed) for label in ("SNI", "SNI, Rag1-/-"))
    thr = "withdrawal_threshold_interp_g"
    late = [_window(t, thr, 7, 28) for t in (wt, rag)]
    assert late[1] > 1.5 * late[0], late  # less hypersensitivity without T cells (1.5x the bar of 'higher')
    back = _seeded("t_cells", "SNI, Rag1-/- + T cells", seed)
    late.append(_window(back, thr, 7, 28))
    assert late[1] < 0.5 * rag[thr].iloc[0]  # ... but still hypersensitive (microglia, ectopic input)
    assert late[2] < 0.5 * (late[0] + late[1]), late  # the transfer brings it most of the way back
    ifng = [_window(t, "mean_IFNG_nM_dorsal_horn", 7, 28) for t in (wt, rag)]
    assert ifng[1] == 0.0 < ifng[0]
    # T cells reach the dorsal horn after a lag of days (priming, expansion), clearly there by day 7 (Costigan 2009)
    tcells = wt[[f"n_t_cell_{s}_dorsal_horn" for s in ("Th1", "Th17", "Treg")]].sum(axis=1).to_numpy()
    days, at = wt["day"].to_numpy(), lambda d: tcells[np.abs(wt["day"].to_numpy() - d).argmin()]
    assert days.max() >= 7 and at(7) >= 10 and at(2) < 0.25 * at(7), (at(2), at(7))


CFA_STILL_SWOLLEN_PCT = 15.0
"""The CFA paw's swelling on days 21-28 must exceed this, % of the paw: J Pain 2020 reports a significant oedema at
day 28 (P < .01) without a size we transcribed; a difference of 10 % of the paw's volume is about what eight rats per
arm show as significant at the usual spread of paw volumes (assumption), asked with 1.5x that margin. (It was 30 %,
with no source; seeds 1-5 give 30-39 % at this version.)"""


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("cfa_opioids")
def test_blocking_immune_cell_opioids_deepens_cfa_hyperalgesia(seed):
    """Rittner 2009 (PLoS Pathog 5:e1000362): in the mycobacteria-inflamed paw, leukocyte opioid peptides hold the
    hyperalgesia down and naloxone deepens it. In the model macrophages and T cells release them (neutrophils are
    not in it) and the nociceptors' μ receptors, brought to the terminals by inflammation over days (Zöllner 2003),
    read them, so the relief grows after the first days. The inflammation itself is not touched."""
    wt, ko = (_seeded("cfa_opioids", label, seed) for label in CASES["cfa_opioids"].arms)
    thr, heat = "withdrawal_threshold_interp_g", "heat_latency_s"
    late = [_window(t, thr, 5, 12) for t in (wt, ko)]  # inflamed, with the receptors up; the pain ends by day 14
    assert late[0] > 1.075 * late[1], late  # the bar "deeper without them" (5 %) with 1.5x its margin
    assert _window(wt, heat, 5, 12) > 1.03 * _window(ko, heat, 5, 12)  # 2 % with 1.5x
    first_day = [_window(t, thr, 0.5, 1) for t in (wt, ko)]
    assert late[0] / late[1] > first_day[0] / first_day[1], (first_day, late)  # the relief grows with the receptors
    assert wt.query("5 <= day <= 12")["mean_mu_opioid_receptors"].min() > 2 * wt["mean_mu_opioid_receptors"].iloc[0]
    swell = [_window(t, "swelling_pct_paw", 21, 28) for t in (wt, ko)]
    assert swell[0] > CFA_STILL_SWOLLEN_PCT and swell[0] == pytest.approx(swell[1], rel=0.05), swell  # unchanged


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("crush_vs_transection")
def test_pain_resolves_after_a_crush_and_lasts_after_a_transection(seed):
    """A crushed nerve regrows and its hypersensitivity resolves; SNI's ligated branches never do (Savastano 2014;
    Decosterd & Woolf 2000). In the model the injury signals stop as the neurons regenerate; the DRG
    macrophages' own TNF/IL-1β loop then runs down through NF-κB-induced tolerance (A20/IRAK-M, cells/macrophage.py)
    and the spinal astrocytes fade without afferent drive (pain/dorsal_horn.py)."""
    sni, crush = (_seeded("crush_vs_transection", label, seed) for label in CASES["crush_vs_transection"].arms)
    thr = "withdrawal_threshold_interp_g"
    base = crush[thr].iloc[0]
    assert _window(crush, thr, 7, 14) < 0.3 * base  # hypersensitive while the axons are still away
    assert _window(crush, thr, 49, 56) > 0.7 * base, _window(crush, thr, 49, 56)  # resolved most of the way
    assert _window(sni, thr, 49, 56) < 0.1 * base  # the transection stays painful
    m1 = "n_macrophage_M1_drg"
    assert _window(crush, m1, 49, 56) < 0.1 * crush[m1].max()  # the DRG macrophages' loop has run down ...
    assert _window(sni, m1, 49, 56) > 0.5 * sni[m1].max()  # ... while miR-21 keeps SNI's going


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.cases("cfa_opioids")
def test_cfa_pain_resolves_while_the_paw_stays_swollen(seed):
    """J Pain 2020 21:988 (Fig. 1, rat paw): heat hyperalgesia gone by about day 14, mechanical hypersensitivity
    mostly gone by day 28, the oedema still there on day 28 — inflammation outlasts pain. In the model the T cells'
    antigen goes with the depot (cells/t_cell.py); when too little is left the T-cell/macrophage loop runs down and
    the pain with it, while the new tissue weeks of leak laid down keeps the paw swollen (swelling.py). Shares the
    CFA arm of the opioid case (no run of its own)."""
    t = _seeded("cfa_opioids", "CFA", seed)
    heat, thr, m1 = "heat_latency_s", "withdrawal_threshold_interp_g", "n_macrophage_M1_paw"
    assert _window(t, heat, 1, 7) < 0.8 * t[heat].iloc[0]  # hyperalgesic in the first week
    assert _window(t, thr, 1, 7) < 0.6 * t[thr].iloc[0]
    assert _window(t, heat, 14, 28) > 0.9 * t[heat].iloc[0]  # heat hyperalgesia gone
    assert _window(t, thr, 25, 28) > 0.7 * t[thr].iloc[0]  # mechanical mostly gone
    assert _window(t, "swelling_pct_paw", 21, 28) > CFA_STILL_SWOLLEN_PCT  # still swollen ...
    assert _window(t, m1, 21, 28) < 0.1 * t[m1].max()  # ... with the inflammatory macrophages gone
