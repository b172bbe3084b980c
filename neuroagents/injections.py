"""Injected inflammatory agents: a bolus that clears (carrageenan) or a depot that keeps releasing (CFA).

Carrageenan and complete Freund's adjuvant start the classic inflammatory
pain models. Both act on innate immune cells through pattern-recognition
receptors — λ-carrageenan through TLR4 (Bhattacharyya 2008 J Biol Chem,
U), the heat-killed mycobacteria of CFA through TLR2/TLR4 and NOD2 (U) —
which the model reads as one agonist field, ``PAMP`` (a catalogue mediator in
µg/mL-equivalents of a 500 kDa polymer; see ``neuroagents mediators``).

* a **bolus** raises ``PAMP`` at once, uniformly in the injected region (the
  whole compartment unless ``radius_um`` is given), by ``dose_ug_per_mL`` —
  the concentration after the injectate spreads into the tissue; the field's
  own clearance then removes it;
* a **depot** (``depot_half_life_days`` > 0: CFA's oil emulsion) releases the
  same total amount over time at ``A k e^{-k t}`` into the region.

Examples
--------
>>> inj = parse_injections([{"agent": "carrageenan", "compartment": "paw", "dose_ug_per_mL": 500}],
...                        {"paw": None}, ["PAMP"])
>>> inj[0].depot_half_life_days, round(inj[0].nM, 1)
(0.0, 1000.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neuroagents.errors import ConfigError
from neuroagents.tissue.exchange import add_export
from neuroagents.units import MOLECULES_PER_NM_UM3

__all__ = ["AGENTS", "Injection", "parse_injections"]

AGENT_MASS_KDA = 500.0
"""Nominal mass of the agonist field's unit (λ-carrageenan is a 200-800 kDa polymer; U)."""

AGENTS: dict[str, dict] = {
    "carrageenan": {"depot_half_life_days": 0.0,
                    "source": "λ-carrageenan, TLR4 agonist (Bhattacharyya 2008 J Biol Chem, U): a bolus"},
    "CFA": {"depot_half_life_days": 14.0,
            "source": "heat-killed M. tuberculosis in oil: a depot for weeks (assumption: release half-life 14 d)"},
    "adjuvant": {"depot_half_life_days": 14.0,
                 "source": "an antigen/adjuvant depot in a joint (arthritis models; assumption: 14 d)"},
}  # fmt: skip
_KEYS = {"agent", "compartment", "time_min", "dose_ug_per_mL", "radius_um", "depot_half_life_days"}


@dataclass(frozen=True)
class Injection:
    """One injection (see module docstring). ``nM`` is the dose as agonist concentration."""

    agent: str
    compartment: str
    time_min: float
    dose_ug_per_mL: float
    radius_um: float | None
    depot_half_life_days: float

    @property
    def nM(self) -> float:
        """The dose in nM of the agonist unit: µg/mL ÷ kDa × 1e3."""
        return self.dose_ug_per_mL / AGENT_MASS_KDA * 1e3

    def _voxels(self, comp):
        return comp.interstitial_voxels_within(self.radius_um)

    def inject(self, compartments: Mapping, time_min: float) -> None:
        """Place the bolus (nothing for a depot, which releases in :meth:`release`)."""
        if self.depot_half_life_days > 0:
            return
        comp = compartments[self.compartment]
        env = comp.env
        if "PAMP" not in env.names:
            return
        flat = env.fields.reshape(len(env.names), -1)
        vox = self._voxels(comp)
        flat[env.index("PAMP"), vox] += self.nM

    def release(self, compartments: Mapping, time_min: float, dt_min: float) -> None:
        """A depot's release during the step starting at ``time_min`` (mean rate over the step)."""
        if self.depot_half_life_days <= 0 or time_min < self.time_min:
            return
        comp = compartments[self.compartment]
        if "PAMP" not in comp.env.names:
            return
        vox = self._voxels(comp)
        if vox.size == 0:
            return
        k = math.log(2.0) / (self.depot_half_life_days * 1440.0)
        t0 = time_min - self.time_min
        released = math.exp(-k * t0) - math.exp(-k * (t0 + dt_min))  # fraction of the dose this step
        per_voxel = self.nM * MOLECULES_PER_NM_UM3 * comp.env.grid.voxel_volume_um3  # the dose, molecules/voxel
        add_export(comp.env, "PAMP", vox, per_voxel * released / dt_min)


def _num(where, key, value, low, allowed):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
        raise ConfigError(f"{where}.{key}", value, allowed)
    return float(value)


def parse_injections(items: Sequence, compartments: Mapping, mediators: Sequence[str]) -> list[Injection]:
    """Validate ``[[injections]]`` tables into :class:`Injection` objects, sorted by time."""
    out = []
    for i, item in enumerate(items):
        w = f"injections[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(w, item, "a table with agent, compartment, dose_ug_per_mL, time_min")
        extra = sorted(set(item) - _KEYS)
        if extra:
            raise ConfigError(f"{w}.{extra[0]}", item[extra[0]], f"a key among {sorted(_KEYS)}")
        agent = item.get("agent")
        if agent not in AGENTS:
            raise ConfigError(f"{w}.agent", agent, f"one of {sorted(AGENTS)}")
        comp = item.get("compartment", next(iter(compartments)))
        if comp not in compartments:
            raise ConfigError(f"{w}.compartment", comp, f"one of {sorted(compartments)}")
        if "PAMP" not in mediators:
            raise ConfigError(f"{w}.agent", agent, "a model whose mediators include PAMP (the agonist field)")
        radius = item.get("radius_um")
        if radius is not None:
            radius = _num(w, "radius_um", radius, 1e-9, "a radius > 0 (µm), or leave out for the whole compartment")
        half = item.get("depot_half_life_days", AGENTS[agent]["depot_half_life_days"])
        out.append(Injection(
            agent, comp, _num(w, "time_min", item.get("time_min", 0.0), 0.0, "a time >= 0 (min)"),
            _num(w, "dose_ug_per_mL", item.get("dose_ug_per_mL"), 0.0, "a concentration >= 0 (µg/mL)"),
            radius, _num(w, "depot_half_life_days", half, 0.0, "a half-life >= 0 (days; 0 = a bolus)"),
        ))  # fmt: skip
    return sorted(out, key=lambda x: x.time_min)
