"""Routes every drug can take without catalogued data: intraperitoneal, and local injections into a tissue.

**Intraperitoneal** (``ip``) is treated as an s.c.-like first-order absorption
into plasma: a drug with catalogued s.c. data is absorbed as from the s.c.
depot (its ``F_sc`` and ``ka_sc``; antibodies leave the peritoneum by the
lymph, as from the skin); a drug without takes an ``ip`` depot with ``F = 1``
and its oral ``ka`` (small molecules cross the peritoneum into the portal
blood at least as fast as from the gut; hepatic first pass is not modelled, so
``F = 1`` is an upper bound — Al Shoyaib 2019 Pharm Res 37:12, U), or, with
neither, :data:`IP_FALLBACK_KA_PER_H` (scaled like any ``ka``).

**Local routes** put the whole dose into a *site* of volume ``V_site`` in one
compartment kind (:data:`LOCAL_ROUTES`): ``intraplantar`` (paw), ``intra_articular``
(joint) and ``perineural`` (the nerve) reach the ``periphery`` exposure;
``intraganglionic`` reaches the ``drg``. The site holds ``A_site`` mg, its free
concentration ``fu · A_site / V_site`` adds to that kind's exposure (so the
local tissue sees a high level the rest of the body does not), and the site
empties into plasma at first order — at the drug's s.c. ``ka`` where catalogued
(the same absorption from interstitium into blood and lymph), else with half-life
:data:`LOCAL_HALF_LIFE_MIN` — all of it (``F = 1``). From plasma the drug then
reaches every compartment as any systemic dose does. Drugs with an effect
compartment (``ke0``) see the site through an effect state of its own. Every
compartment of the route's kind sees the site (the built-in layouts have one).

Examples
--------
>>> LOCAL_ROUTES["intraganglionic"].kind, LOCAL_ROUTES["intraplantar"].volume_ml["mouse"]
('drg', 0.05)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["IP_FALLBACK_KA_PER_H", "LOCAL_HALF_LIFE_MIN", "LOCAL_ROUTES", "LocalRoute", "extra_routes",
           "site_clearance_per_h"]  # fmt: skip

LOCAL_HALF_LIFE_MIN = 30.0
"""Half-life of a small molecule at a local injection site, min (assumption: interstitial drug without s.c. data
reaches the blood within about an hour, as s.c. small molecules do)."""
IP_FALLBACK_KA_PER_H = 0.0182
"""Absorption from the peritoneum of a drug with neither oral nor s.c. data (i.v.-only antibodies), 1/h, human
(assumption: adalimumab's catalogued s.c. ``ka``; scaled to rodents like any ``ka``)."""


@dataclass(frozen=True)
class LocalRoute:
    """A local injection site: which compartment kind it reaches and how much tissue it fills.

    Attributes
    ----------
    name : str
    kind : {"periphery", "drg"}
    volume_ml : Mapping[str, float]
        ``V_site`` per species, mL.
    source : str
    """

    name: str
    kind: str
    volume_ml: Mapping[str, float]
    source: str


LOCAL_ROUTES: dict[str, LocalRoute] = {
    "intraplantar": LocalRoute("intraplantar", "periphery", {"mouse": 0.05, "rat": 0.5, "human": 5.0},
                               "assumption: the plantar tissue the injectate spreads into, about a third of the "
                               "hind-paw volume (mouse ~0.15 mL, rat ~1.5 mL by plethysmometry, U)"),
    "intra_articular": LocalRoute("intra_articular", "periphery", {"mouse": 0.01, "rat": 0.05, "human": 10.0},
                                  "assumption: synovial space and periarticular tissue of the knee, a few times "
                                  "the injected 5-10 µL (mouse), 25-50 µL (rat)"),
    "perineural": LocalRoute("perineural", "periphery", {"mouse": 0.02, "rat": 0.2, "human": 10.0},
                             "assumption: the injectate around the sciatic nerve (mouse ~20 µL, rat 0.1-0.2 mL)"),
    "intraganglionic": LocalRoute("intraganglionic", "drg", {"mouse": 0.001, "rat": 0.002, "human": 0.05},
                                  "assumption: the injected 0.5-2 µL filling a lumbar DRG (mouse ~0.5 mm³, U)"),
}  # fmt: skip
"""The local routes, by name."""


def extra_routes(drug) -> tuple[str, ...]:
    """Routes ``drug`` takes besides its catalogued ones (``Drug.routes``): ``ip`` and every local route."""
    return ("ip", *LOCAL_ROUTES)


def site_clearance_per_h(params) -> float:
    """First-order rate at which a local site empties into plasma, 1/h (see the module docstring).

    Parameters
    ----------
    params : PKParameters
        The drug in one species (its s.c. ``ka`` already scaled).
    """
    if params.ka_sc_per_h is not None:
        return float(params.ka_sc_per_h)
    return math.log(2.0) / (LOCAL_HALF_LIFE_MIN / 60.0)


def ip_absorption(params) -> tuple[str, float, float]:
    """``(depot state, F, ka in 1/h)`` of an intraperitoneal dose (see the module docstring)."""
    if params.f_sc is not None:
        return "sc", float(params.f_sc), float(params.ka_sc_per_h)
    if params.ka_oral_per_h is not None:
        return "ip", 1.0, float(params.ka_oral_per_h)
    return "ip", 1.0, IP_FALLBACK_KA_PER_H * (params.body_weight_kg / 70.0) ** -0.25
