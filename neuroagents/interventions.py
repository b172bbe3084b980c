"""Experimental interventions that are not drugs: cell depletion and knockouts.

Each intervention is a small table, as in a scenario's ``[[interventions]]``:

``{"kind": "deplete", "cell_type": "macrophage", "fraction": 0.9, "time_min": 1440}``
    Remove a random ``fraction`` of one cell type (optionally only cells in one
    ``state``) at ``time_min`` — e.g. clodronate liposomes, which deplete most
    macrophages within about a day (van Rooijen & Hendrikx 2010, Methods Mol
    Biol 605:189, U for the fraction: give your protocol's).
``{"kind": "knockout", "mediator": "TNF"}``
    No cell releases the mediator (a cytokine knockout; ``"miR21"`` blocks
    exosomal miR-21 release as in Simeoli 2017).
``{"kind": "knockout", "receptor": "TNFR1"}``
    No cell senses through the receptor (a receptor knockout).
``{"kind": "knockout", "cell_type": "t_cell"}``
    The cell type is absent from the start and never recruited (e.g. T-cell
    deficient Rag1-/- mice).

Knockouts hold for the whole run; depletions happen once, at their time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neuroagents.errors import ConfigError

__all__ = ["Depletion", "Knockouts", "parse_interventions"]

KINDS = ("deplete", "knockout")


@dataclass(frozen=True)
class Depletion:
    """Remove ``fraction`` of ``cell_type`` (in ``state`` and ``compartment``, if given) at ``time_min``."""

    cell_type: str
    fraction: float
    time_min: float
    state: str | None = None
    compartment: str | None = None


@dataclass(frozen=True)
class Knockouts:
    """What is knocked out for the whole run."""

    mediators: frozenset[str] = frozenset()
    receptors: frozenset[str] = frozenset()
    cell_types: frozenset[str] = frozenset()


def _number(where, key, value, low, high, unit):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}", value, f"a number in [{low:g}, {high:g}] ({unit})")
    if not low <= value <= high:
        raise ConfigError(f"{where}.{key}", value, f"a number in [{low:g}, {high:g}] ({unit})")
    return float(value)


def _choice(where, key, value, allowed):
    if value not in allowed:
        import difflib

        close = difflib.get_close_matches(str(value), list(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}.{key}", value, f"one of {sorted(allowed)}{hint}")
    return value


def parse_interventions(
    items: Sequence[Mapping], *, cell_types: Mapping[str, Sequence[str]], mediators: Sequence[str],
    receptors: Sequence[str], where: str = "interventions", compartments: Sequence[str] = (),
) -> tuple[tuple[Depletion, ...], Knockouts]:  # fmt: skip
    """Validate intervention tables.

    Parameters
    ----------
    items : sequence of Mapping
    cell_types : Mapping[str, sequence of str]
        Each cell type's state names.
    mediators, receptors : sequence of str
        What may be knocked out.
    compartments : sequence of str
        Names a depletion may be limited to (e.g. clodronate into the paw only).

    Returns
    -------
    depletions : tuple of Depletion, in time order
    knockouts : Knockouts
    """
    if isinstance(items, Mapping) or not isinstance(items, Sequence):
        raise ConfigError(where, items, "a list of tables ([[interventions]])")
    depletions, kmed, krec, kcell = [], set(), set(), set()
    for i, item in enumerate(items):  # over intervention tables
        w = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(w, item, "a table with a 'kind'")
        kind = _choice(w, "kind", item.get("kind"), KINDS)
        if kind == "deplete":
            extra = set(item) - {"kind", "cell_type", "fraction", "time_min", "state", "compartment"}
            if extra:
                raise ConfigError(f"{w}.{sorted(extra)[0]}", item[sorted(extra)[0]],
                                  "a key among kind, cell_type, fraction, time_min, state, compartment")  # fmt: skip
            ct = _choice(w, "cell_type", item.get("cell_type"), cell_types)
            state = item.get("state")
            if state is not None:
                _choice(w, "state", state, cell_types[ct])
            comp = item.get("compartment")
            if comp is not None:
                _choice(w, "compartment", comp, list(compartments))
            depletions.append(Depletion(
                ct, _number(w, "fraction", item.get("fraction", 1.0), 0.0, 1.0, "fraction"),
                _number(w, "time_min", item.get("time_min", 0.0), 0.0, 1e9, "min"), state, comp,
            ))  # fmt: skip
        else:
            named = [k for k in ("mediator", "receptor", "cell_type") if k in item]
            extra = set(item) - {"kind", "mediator", "receptor", "cell_type"}
            if len(named) != 1 or extra:
                raise ConfigError(w, dict(item), "a knockout of exactly one 'mediator', 'receptor' or 'cell_type'")
            key = named[0]
            allowed = {"mediator": mediators, "receptor": receptors, "cell_type": cell_types}[key]
            value = _choice(w, key, item[key], allowed)
            {"mediator": kmed, "receptor": krec, "cell_type": kcell}[key].add(value)
    depletions.sort(key=lambda d: d.time_min)
    return tuple(depletions), Knockouts(frozenset(kmed), frozenset(krec), frozenset(kcell))
