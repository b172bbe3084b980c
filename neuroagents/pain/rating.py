"""A patient-rated 0-10 pain score (numeric rating scale, NRS) read from the model's ongoing pain signal.

People in pain trials rate their pain from 0 (none) to 10 (worst imaginable); animals cannot. The model's pain
signal is the projection neurons' ongoing rate ``P`` (``pain_ongoing_hz``). The mapping is an **assumption** with
two published anchors:

* **zero**: pain starts when C nociceptors discharge at about 0.5 Hz (heat pain threshold in humans matched a
  minimum CMH discharge of 0.5 Hz, not the first spike: Tillman 1995 J Physiol 485:767);
  ``nrs_zero_nociceptor_hz``;
* **linear above it**: pain magnitude grows near-linearly with the nociceptors' discharge (LaMotte 1984
  J Neurophysiol 51:325, simultaneous microneurography and ratings);
* **ten**: an ongoing C-nociceptor discharge of ``nrs_top_nociceptor_hz`` (assumption: 10 Hz; heat ramps rated
  clearly painful drive CMH nociceptors at 1-13 Hz, Yarnitsky 1992 J Physiol 450:581).

Both anchors are nociceptor rates; the *naive* dorsal-horn circuit turns them into the projection-neuron rates
``P_0`` and ``P_10`` (:func:`rating_anchors`), and the rating is linear in ``P`` between them, clipped to [0, 10]
(:func:`nrs_from_ongoing`). So the same peripheral drive is rated higher once the dorsal horn is sensitized
(disinhibition, NMDA gain, potentiation): central amplification of spontaneous pain. Evoked pain (thresholds,
pinprick ratings) is not in this score: it is the rating of ongoing, spontaneous pain.

>>> from neuroagents.pain.dorsal_horn import DorsalHorn
>>> from neuroagents.pain.params import PainParams
>>> p = PainParams()
>>> p0, p10 = rating_anchors(DorsalHorn(p), p)
>>> bool(p0 < p10), nrs_from_ongoing(p0, (p0, p10)), nrs_from_ongoing(p10, (p0, p10))
(True, 0.0, 10.0)
"""

from __future__ import annotations

import numpy as np

from neuroagents.pain import readouts as ro

__all__ = ["NRS_MAX", "nrs_from_ongoing", "rating_anchors"]

NRS_MAX = 10.0
"""The top of the numeric rating scale (worst pain imaginable)."""


def rating_anchors(dh, p) -> tuple[float, float]:
    """``(P_0, P_10)``: the naive circuit's ongoing projection rate (Hz) at the two anchor nociceptor rates.

    Parameters
    ----------
    dh : DorsalHorn
        Any dorsal horn of these parameters (only its naive parameters ``dh.params`` are used, not its state).
    p : PainParams

    Returns
    -------
    tuple of float
        ``P`` (Hz) with the C nociceptors at ``nrs_zero_nociceptor_hz`` and at ``nrs_top_nociceptor_hz``, Aβ and Aδ
        at their background rate, the circuit naive (no disinhibition, NMDA gain 1, no potentiation).
    """
    naive = dh.params
    f_c = np.array([ro.pooled_nociceptor_hz(p, p.fibre_background_hz, p.nrs_zero_nociceptor_hz),
                    ro.pooled_nociceptor_hz(p, p.fibre_background_hz, p.nrs_top_nociceptor_hz)])  # fmt: skip
    rest = dh.rest(np.full(2, p.fibre_background_hz), f_c, g_max=naive.nmda_max, w_ip=naive.w_i_p,
                   w_abeta_p=naive.w_abeta_p, w_c_p=naive.w_c_p)  # fmt: skip
    p0, p10 = (float(x) for x in np.broadcast_to(rest["P"], (2,)))
    return p0, p10


def nrs_from_ongoing(p_ongoing_hz, anchors: tuple[float, float]):
    """The 0-10 rating of an ongoing projection rate (linear between the anchors, clipped).

    Parameters
    ----------
    p_ongoing_hz : float or ndarray
        ``pain_ongoing_hz``, Hz (any shape).
    anchors : tuple of float
        ``(P_0, P_10)`` from :func:`rating_anchors`, Hz.

    Returns
    -------
    float or ndarray
        The rating, 0-10 (a float for a scalar input).
    """
    p0, p10 = anchors
    if not p10 > p0:
        raise ValueError(f"rating anchors must rise: P_0 = {p0:g} Hz, P_10 = {p10:g} Hz")
    out = np.clip(NRS_MAX * (np.asarray(p_ongoing_hz, dtype=float) - p0) / (p10 - p0), 0.0, NRS_MAX)
    return float(out) if out.ndim == 0 else out
