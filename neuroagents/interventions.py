"""Experimental interventions that are not drugs: depletions, knockouts, adoptive transfers.

Each intervention is a small table, as in a scenario's ``[[interventions]]``:

``{"kind": "deplete", "cell_type": "macrophage", "fraction": 0.9, "time_min": 1440}``
    Remove a random ``fraction`` of one cell type (optionally only cells in one
    ``state`` and/or one ``compartment``) at ``time_min`` — e.g. clodronate
    liposomes, which deplete most macrophages within about a day (van Rooijen &
    Hendrikx 2010, Methods Mol Biol 605:189, U for the fraction: give your
    protocol's).

    * with ``until_min``: **held** over ``[time_min, until_min]``: every cell of
      the type that appears afterwards (recruited, born, divided) is removed with
      probability ``fraction`` at the next dose phase (within one cell step) — a
      maintained depletion such as a diphtheria-toxin-receptor model under
      repeated toxin. No ``state`` (new cells arrive in any state).
    * with ``every_min`` (and ``until_min``): **repeated** one-off depletions at
      ``time_min + k every_min <= until_min`` (repeated clodronate doses).
``{"kind": "knockout", "mediator": "TNF"}``
    No cell releases the mediator (a cytokine knockout; ``"miR21"`` blocks
    exosomal miR-21 release as in Simeoli 2017). An injected mediator
    (:mod:`neuroagents.injections`) is still placed.
``{"kind": "knockout", "receptor": "TNFR1"}``
    No cell senses through the receptor (a receptor knockout).
``{"kind": "knockout", "cell_type": "t_cell"}``
    The cell type is absent from the start and never recruited or born (e.g.
    T-cell deficient Rag1-/- mice).

    Any knockout may be **conditional**: ``compartment = "drg"`` limits it to
    the cells living in one compartment (a tissue-restricted Cre; a neuron's
    release at its terminals counts as the DRG's, where its soma lives); a
    receptor knockout acts on the receptor table of the compartment's *kind*
    (periphery, drg, dorsal_horn), so it needs a compartment whose kind no other
    compartment shares. And **inducible**: ``from_min = 7200`` starts it then
    (tamoxifen-CreER): cells of a knocked-out type present at that time are
    removed and none are recruited or born after. Without these keys a knockout
    holds everywhere for the whole run, exactly as before.
``{"kind": "transfer", "cell_type": "t_cell", "n": 200, "compartment": "drg", "time_min": 0, "state": "Th1"}``
    Adoptive transfer: ``n`` cells of the type (in ``state``, else as the type
    seeds them: T-cell subsets by the local cytokine lottery) placed at random
    interstitial positions of the compartment, or with ``entry = "vessels"``
    beside its vessels (macrophages, T cells). A transfer works in an animal
    whose type is knocked out; with ``recruit = true`` (default) it also lifts
    that knockout everywhere from its time on: the transferred cells circulate,
    home and expand, as T cells transferred into Rag1-/- mice do (Costigan 2009
    J Neurosci 29:14415; Cobos 2018 Cell Rep 22:1301), so the type is recruited
    again. ``recruit = false`` places the cells and keeps the knockout (no
    recruitment, no births of that type).

Depletions at one time act before the transfers at that time; a held
depletion does not remove the cells transferred in the same step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from neuroagents.errors import ConfigError

__all__ = ["Depletion", "Knockouts", "Parsed", "ScopedKnockout", "Transfer", "parse_all", "parse_interventions"]

KINDS = ("deplete", "knockout", "transfer")
MAX_REPEATS = 10_000
"""Most one-off depletions one ``every_min`` table may produce (a guard against a typo)."""
ENTRIES = ("interstitium", "vessels")
_BLOOD_BORNE = ("macrophage", "t_cell")
_TRANSFERABLE = ("mast_cell", "macrophage", "t_cell", "microglia")
_MAX_TRANSFER = 10_000_000


@dataclass(frozen=True)
class Depletion:
    """Remove ``fraction`` of ``cell_type`` (in ``state`` and ``compartment``, if given) at ``time_min``;
    with ``until_min``, keep removing that fraction of the cells that appear until then (a held depletion)."""

    cell_type: str
    fraction: float
    time_min: float
    state: str | None = None
    compartment: str | None = None
    until_min: float | None = None


@dataclass(frozen=True)
class ScopedKnockout:
    """A knockout limited to one compartment and/or starting at ``from_min`` (conditional, inducible).

    ``what`` is ``"mediator"``, ``"receptor"`` or ``"cell_type"``; ``compartment`` None means everywhere.
    """

    what: str
    name: str
    compartment: str | None = None
    from_min: float = 0.0


@dataclass(frozen=True)
class Knockouts:
    """What is knocked out everywhere for the whole run, and the conditional/inducible knockouts (``scoped``)."""

    mediators: frozenset[str] = frozenset()
    receptors: frozenset[str] = frozenset()
    cell_types: frozenset[str] = frozenset()
    scoped: tuple[ScopedKnockout, ...] = ()


@dataclass(frozen=True)
class Transfer:
    """Add ``n`` cells of ``cell_type`` to ``compartment`` at ``time_min`` (see the module docstring)."""

    cell_type: str
    n: int
    compartment: str
    time_min: float = 0.0
    state: str | None = None
    entry: str = "interstitium"
    recruit: bool = True


@dataclass(frozen=True)
class Parsed:
    """Everything ``[[interventions]]`` holds: one-off depletions (time order), knockouts, transfers (time order)."""

    depletions: tuple[Depletion, ...]
    knockouts: Knockouts
    transfers: tuple[Transfer, ...]


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
        close = close or [a for a in allowed if str(a).lower() == str(value).lower()]  # 'DRG' -> 'drg'
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}.{key}", value, f"one of {sorted(allowed)}{hint}")
    return value


def _keys(where, item, allowed):
    extra = sorted(set(item) - set(allowed))
    if extra:
        raise ConfigError(f"{where}.{extra[0]}", item[extra[0]], f"a key among {', '.join(allowed)}")


_DEPLETE_KEYS = ("kind", "cell_type", "fraction", "time_min", "state", "compartment", "until_min", "every_min")
_KNOCKOUT_KEYS = ("kind", "mediator", "receptor", "cell_type", "compartment", "from_min")
_TRANSFER_KEYS = ("kind", "cell_type", "n", "compartment", "time_min", "state", "entry", "recruit")


def _depletions(w, item, cell_types, compartments) -> list[Depletion]:
    _keys(w, item, _DEPLETE_KEYS)
    ct = _choice(w, "cell_type", item.get("cell_type"), cell_types)
    state = item.get("state")
    if state is not None:
        _choice(w, "state", state, cell_types[ct])
    comp = item.get("compartment")
    if comp is not None:
        _choice(w, "compartment", comp, list(compartments))
    fraction = _number(w, "fraction", item.get("fraction", 1.0), 0.0, 1.0, "fraction")
    t0 = _number(w, "time_min", item.get("time_min", 0.0), 0.0, 1e9, "min")
    until = item.get("until_min")
    if until is not None:
        until = _number(w, "until_min", until, t0, 1e9, f"min, >= time_min = {t0:g}")
    every = item.get("every_min")
    if every is None:
        if until is not None and state is not None:
            raise ConfigError(f"{w}.state", state, "left out when until_min holds the depletion (new cells arrive in "
                              "any state); for repeated depletions of one state give every_min too")  # fmt: skip
        return [Depletion(ct, fraction, t0, state, comp, until)]
    every = _number(w, "every_min", every, 1e-9, 1e9, "min, > 0")
    if until is None:
        raise ConfigError(f"{w}.until_min", None, "a time >= time_min (min) when every_min is given (the last repeat)")
    n = math.floor((until - t0) / every + 1e-9) + 1
    if n > MAX_REPEATS:
        raise ConfigError(f"{w}.every_min", every, f"an interval giving at most {MAX_REPEATS} repeats (this: {n})")
    return [Depletion(ct, fraction, t0 + k * every, state, comp) for k in range(n)]


def _knockout(w, item, cell_types, mediators, receptors, compartments) -> tuple[str, str, ScopedKnockout | None]:
    named = [k for k in ("mediator", "receptor", "cell_type") if k in item]
    if len(named) != 1:
        raise ConfigError(w, dict(item), "a knockout of exactly one 'mediator', 'receptor' or 'cell_type'")
    _keys(w, item, _KNOCKOUT_KEYS)
    key = named[0]
    allowed = {"mediator": mediators, "receptor": receptors, "cell_type": cell_types}[key]
    value = _choice(w, key, item[key], allowed)
    comp = item.get("compartment")
    if comp is not None:
        _choice(w, "compartment", comp, list(compartments))
    start = _number(w, "from_min", item.get("from_min", 0.0), 0.0, 1e9, "min")
    if comp is None and start == 0.0:
        return key, value, None
    return key, value, ScopedKnockout(key, value, comp, start)


def _transfer(w, item, cell_types, compartments) -> Transfer:
    _keys(w, item, _TRANSFER_KEYS)
    ct = _choice(w, "cell_type", item.get("cell_type"), _TRANSFERABLE)
    if ct not in cell_types:
        raise ConfigError(f"{w}.cell_type", ct, f"one of {sorted(cell_types)}")
    n = item.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_TRANSFER:
        raise ConfigError(f"{w}.n", n, f"an integer in [1, {_MAX_TRANSFER:,}] (cells transferred)")
    if "compartment" not in item and len(compartments) > 1:
        raise ConfigError(f"{w}.compartment", None, f"one of {sorted(compartments)} (where the cells go)")
    comp = _choice(w, "compartment", item.get("compartment", next(iter(compartments), None)), list(compartments))
    state = item.get("state")
    if state is not None:
        _choice(w, "state", state, cell_types[ct])
    entry = _choice(w, "entry", item.get("entry", "interstitium"), ENTRIES)
    if entry == "vessels" and ct not in _BLOOD_BORNE:
        raise ConfigError(f"{w}.entry", entry, f"'interstitium' for {ct} ('vessels' only for {list(_BLOOD_BORNE)})")
    recruit = item.get("recruit", True)
    if not isinstance(recruit, bool):
        raise ConfigError(f"{w}.recruit", recruit, "true (the type is recruited again) or false")
    t = _number(w, "time_min", item.get("time_min", 0.0), 0.0, 1e9, "min")
    return Transfer(ct, n, comp, t, state, entry, recruit)


def parse_all(
    items: Sequence[Mapping], *, cell_types: Mapping[str, Sequence[str]], mediators: Sequence[str],
    receptors: Sequence[str], where: str = "interventions", compartments: Sequence[str] = (),
) -> Parsed:  # fmt: skip
    """Validate intervention tables (see the module docstring).

    Parameters
    ----------
    items : sequence of Mapping
    cell_types : Mapping[str, sequence of str]
        Each cell type's state names.
    mediators, receptors : sequence of str
        What may be knocked out.
    compartments : sequence of str
        Names a depletion, knockout or transfer may name.

    Returns
    -------
    Parsed
    """
    if isinstance(items, Mapping) or not isinstance(items, Sequence):
        raise ConfigError(where, items, "a list of tables ([[interventions]])")
    depletions, transfers, scoped = [], [], []
    whole = {"mediator": set(), "receptor": set(), "cell_type": set()}
    for i, item in enumerate(items):  # over intervention tables
        w = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ConfigError(w, item, "a table with a 'kind'")
        kind = _choice(w, "kind", item.get("kind"), KINDS)
        if kind == "deplete":
            depletions += _depletions(w, item, cell_types, compartments)
        elif kind == "transfer":
            transfers.append(_transfer(w, item, cell_types, compartments))
        else:
            key, value, sk = _knockout(w, item, cell_types, mediators, receptors, compartments)
            if sk is None:
                whole[key].add(value)
            else:
                scoped.append(sk)
    depletions.sort(key=lambda d: d.time_min)
    transfers.sort(key=lambda t: t.time_min)
    ko = Knockouts(frozenset(whole["mediator"]), frozenset(whole["receptor"]), frozenset(whole["cell_type"]),
                   tuple(sorted(scoped, key=lambda s: s.from_min)))  # fmt: skip
    return Parsed(tuple(depletions), ko, tuple(transfers))


def parse_interventions(
    items: Sequence[Mapping], *, cell_types: Mapping[str, Sequence[str]], mediators: Sequence[str],
    receptors: Sequence[str], where: str = "interventions", compartments: Sequence[str] = (),
) -> tuple[tuple[Depletion, ...], Knockouts]:  # fmt: skip
    """Validate intervention tables; returns ``(depletions, knockouts)`` (transfers: :func:`parse_all`)."""
    p = parse_all(items, cell_types=cell_types, mediators=mediators, receptors=receptors, where=where,
                  compartments=compartments)  # fmt: skip
    return p.depletions, p.knockouts
