"""Injections: inflammatory agents (carrageenan, CFA) and named mediators (a cytokine into the paw or cord).

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

A **named mediator** (``mediator = "IL17A"``, any mediator on the grid, i.e. in
the catalogue: ``neuroagents mediators``) is injected the same way, bolus or
depot, into its own field: the dose is ``dose_nM``, or ``dose_pg_per_mL``
converted with the mediator's molecular mass (catalogue, or a ``[mediators.X]``
override) — the concentration in the injected region after the injectate
spreads. Its catalogue decay and diffusion then clear it. A knockout of the
mediator (no cell releases it) does not stop an injection.

Examples
--------
>>> inj = parse_injections([{"agent": "carrageenan", "compartment": "paw", "dose_ug_per_mL": 500}],
...                        {"paw": None}, ["PAMP"])
>>> inj[0].depot_half_life_days, round(inj[0].nM, 1)
(0.0, 1000.0)
>>> inj = parse_injections([{"mediator": "IFNG", "compartment": "dh", "dose_pg_per_mL": 17000}], {"dh": None},
...                        ["IFNG"], {"IFNG": 17.0})
>>> inj[0].mediator, round(inj[0].nM, 6)
('IFNG', 1.0)
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neuroagents.errors import ConfigError
from neuroagents.tissue.exchange import add_export
from neuroagents.units import MOLECULES_PER_NM_UM3, pg_per_ml_to_nM

__all__ = ["AGENTS", "Injection", "parse_injections"]

AGENT_MASS_KDA = 500.0
"""Nominal mass of the agonist field's unit (λ-carrageenan is a 200-800 kDa polymer; U)."""

AGENTS: dict[str, dict] = {
    "carrageenan": {"depot_half_life_days": 0.0,
                    "source": "λ-carrageenan, TLR4 agonist (Bhattacharyya 2008 J Biol Chem, U): a bolus"},
    "CFA": {"depot_half_life_days": 1.5,
            "source": "heat-killed M. tuberculosis in oil: macrophages take it up and a granuloma walls it off, so "
                      "what the tissue sees falls within days (assumption: 1.5 d, calibrated in cfa.toml)"},
    "adjuvant": {"depot_half_life_days": 14.0,
                 "source": "an antigen/adjuvant depot in a joint (arthritis models; assumption: 14 d)"},
}  # fmt: skip
_KEYS = {"agent", "mediator", "compartment", "time_min", "dose_ug_per_mL", "dose_nM", "dose_pg_per_mL", "radius_um",
         "depot_half_life_days"}  # fmt: skip


@dataclass(frozen=True)
class Injection:
    """One injection (see module docstring). ``nM`` is the dose as a concentration of ``mediator``'s field."""

    agent: str | None
    compartment: str
    time_min: float
    dose_ug_per_mL: float | None
    radius_um: float | None
    depot_half_life_days: float
    mediator: str = "PAMP"
    dose_nM: float | None = None

    @property
    def nM(self) -> float:
        """The dose in nM: ``dose_nM`` for a mediator; for an agent, µg/mL ÷ kDa × 1e3 of the agonist unit."""
        if self.dose_nM is not None:
            return self.dose_nM
        return self.dose_ug_per_mL / AGENT_MASS_KDA * 1e3

    def _voxels(self, comp):
        return comp.interstitial_voxels_within(self.radius_um)

    def inject(self, compartments: Mapping, time_min: float) -> None:
        """Place the bolus (nothing for a depot, which releases in :meth:`release`)."""
        if self.depot_half_life_days > 0:
            return
        comp = compartments[self.compartment]
        env = comp.env
        if self.mediator not in env.names:
            return
        flat = env.fields.reshape(len(env.names), -1)
        vox = self._voxels(comp)
        flat[env.index(self.mediator), vox] += self.nM

    def release(self, compartments: Mapping, time_min: float, dt_min: float) -> None:
        """A depot's release during the step starting at ``time_min`` (mean rate over the step)."""
        if self.depot_half_life_days <= 0 or time_min < self.time_min:
            return
        comp = compartments[self.compartment]
        if self.mediator not in comp.env.names:
            return
        vox = self._voxels(comp)
        if vox.size == 0:
            return
        k = math.log(2.0) / (self.depot_half_life_days * 1440.0)
        t0 = time_min - self.time_min
        released = math.exp(-k * t0) - math.exp(-k * (t0 + dt_min))  # fraction of the dose this step
        per_voxel = self.nM * MOLECULES_PER_NM_UM3 * comp.env.grid.voxel_volume_um3  # the dose, molecules/voxel
        add_export(comp.env, self.mediator, vox, per_voxel * released / dt_min)


def did_you_mean(key, choices) -> str:
    """`` (did you mean 'x'?)`` for the nearest of ``choices``, else ``""``."""
    close = difflib.get_close_matches(str(key), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _num(where, key, value, low, allowed):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
        raise ConfigError(f"{where}.{key}", value, allowed)
    return float(value)


def parse_injections(items: Sequence, compartments: Mapping, mediators: Sequence[str],
                     masses_kda: Mapping[str, float] | None = None) -> list[Injection]:
    """Validate ``[[injections]]`` tables into :class:`Injection` objects, sorted by time.

    Parameters
    ----------
    items : sequence of Mapping
    compartments : Mapping
        Compartment names (the values are not read).
    mediators : sequence of str
        The mediators on the grid (what a ``mediator`` injection may name).
    masses_kda : Mapping[str, float], optional
        Molecular mass of each mediator, kDa (for ``dose_pg_per_mL``); the catalogue's when left out.
    """
    out = []
    for i, item in enumerate(items):
        w = f"injections[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(w, item, "a table with agent or mediator, compartment, a dose, time_min")
        extra = sorted(set(item) - _KEYS)
        if extra:
            raise ConfigError(f"{w}.{extra[0]}", item[extra[0]], f"a key among {sorted(_KEYS)}")
        if ("agent" in item) == ("mediator" in item):
            raise ConfigError(w, dict(item), "a table with exactly one of 'agent' (carrageenan, CFA, adjuvant) or "
                              "'mediator' (a catalogue mediator, e.g. 'IL17A')")  # fmt: skip
        comp = item.get("compartment", next(iter(compartments)))
        if comp not in compartments:
            raise ConfigError(f"{w}.compartment", comp, f"one of {sorted(compartments)}")
        radius = item.get("radius_um")
        if radius is not None:
            radius = _num(w, "radius_um", radius, 1e-9, "a radius > 0 (µm), or leave out for the whole compartment")
        time = _num(w, "time_min", item.get("time_min", 0.0), 0.0, "a time >= 0 (min)")
        if "agent" in item:
            agent = item.get("agent")
            if agent not in AGENTS:
                raise ConfigError(f"{w}.agent", agent, f"one of {sorted(AGENTS)}{did_you_mean(agent, AGENTS)}")
            if "PAMP" not in mediators:
                raise ConfigError(f"{w}.agent", agent, "a model whose mediators include PAMP (the agonist field)")
            for key in ("dose_nM", "dose_pg_per_mL"):
                if key in item:
                    raise ConfigError(f"{w}.{key}", item[key], "left out for an agent: give dose_ug_per_mL")
            half = item.get("depot_half_life_days", AGENTS[agent]["depot_half_life_days"])
            out.append(Injection(
                agent, comp, time,
                _num(w, "dose_ug_per_mL", item.get("dose_ug_per_mL"), 0.0, "a concentration >= 0 (µg/mL)"),
                radius, _num(w, "depot_half_life_days", half, 0.0, "a half-life >= 0 (days; 0 = a bolus)"),
            ))  # fmt: skip
            continue
        out.append(_mediator_injection(w, item, comp, time, radius, mediators, masses_kda))
    return sorted(out, key=lambda x: x.time_min)


def _mediator_injection(w, item, comp, time, radius, mediators, masses_kda) -> Injection:
    name = item["mediator"]
    if name not in mediators:
        allowed = f"a mediator on the grid{did_you_mean(name, mediators)}: one of {', '.join(mediators)}"
        raise ConfigError(f"{w}.mediator", name, allowed)
    if "dose_ug_per_mL" in item:
        raise ConfigError(f"{w}.dose_ug_per_mL", item["dose_ug_per_mL"],
                          "left out for a mediator: give dose_nM or dose_pg_per_mL")  # fmt: skip
    if ("dose_nM" in item) == ("dose_pg_per_mL" in item):
        raise ConfigError(f"{w}.dose_nM", item.get("dose_nM"), "given, or dose_pg_per_mL given (exactly one)")
    if "dose_nM" in item:
        dose = _num(w, "dose_nM", item["dose_nM"], 0.0, "a concentration >= 0 (nM)")
    else:
        if masses_kda is None:
            from neuroagents.mediators import CATALOGUE

            masses_kda = {k: m.molecular_mass_kda for k, m in CATALOGUE.items()}
        pg = _num(w, "dose_pg_per_mL", item["dose_pg_per_mL"], 0.0, "a concentration >= 0 (pg/mL)")
        dose = float(pg_per_ml_to_nM(pg, masses_kda[name]))
    half = _num(w, "depot_half_life_days", item.get("depot_half_life_days", 0.0), 0.0,
                "a half-life >= 0 (days; 0 = a bolus)")  # fmt: skip
    return Injection(None, comp, time, None, radius, half, mediator=name, dose_nM=dose)
