"""When interventions act: conditional and inducible knockouts, held depletions, adoptive transfers.

The model's dose phase takes the events due from its schedule
(:mod:`neuroagents.schedule`), after the one-off depletions of that step
(``NeuroImmuneModel.deplete``), in this order:

1. knockouts whose ``from_min`` has come start (:func:`activate`: cells of a
   knocked-out type in their scope are removed);
2. held depletions (``until_min``) whose ``time_min`` has come start watching
   their cell type (:class:`HeldDepletions`); those running remove ``fraction``
   of the cells of their type that appeared since the last dose phase (ids above
   a watermark: ids only grow), and stop after ``until_min``;
3. transfers whose time has come place their cells (:mod:`neuroagents.transfer`);
   with ``recruit`` they lift the knockout of their type everywhere
   (:func:`lift_cell_knockout`);
4. the held depletions' watermarks move past the transferred cells.

What is knocked out where lives in the model: ``model.knockouts`` (everywhere),
``model.local_knockouts[name]`` (one compartment) and the merged view each
compartment's cells read (``Compartment.knockouts`` -> ``model.knockouts_in``).
A receptor knocked out in one compartment is blocked in the receptor table of
that compartment's kind (``model.receptor_blocks``; the tables are per kind).
Nothing here draws a random number unless a held depletion sees new cells or a
transfer places cells, so runs without these interventions are unchanged.
"""

from __future__ import annotations

from dataclasses import replace

from neuroagents.errors import ConfigError
from neuroagents.interventions import Depletion, Knockouts, ScopedKnockout

__all__ = ["HeldDepletions", "activate", "check_scoped_knockouts", "lift_cell_knockout", "merged_view",
           "start_knockouts"]

_EPS = 1e-9
_FIELD = {"mediator": "mediators", "receptor": "receptors", "cell_type": "cell_types"}


def merged_view(everywhere: Knockouts, local: Knockouts) -> Knockouts:
    """What is knocked out in one compartment: the model-wide set joined with the compartment's own."""
    return Knockouts(everywhere.mediators | local.mediators, everywhere.receptors | local.receptors,
                     everywhere.cell_types | local.cell_types, everywhere.scoped)  # fmt: skip


def refresh_views(model) -> None:
    """Rebuild each compartment's merged knockout view after a change."""
    model._knockouts_in = {name: merged_view(model.knockouts, local) for name, local in model.local_knockouts.items()}


def check_scoped_knockouts(model, scoped) -> None:
    """A receptor knockout in one compartment needs a compartment whose kind no other shares (the receptor tables
    are per kind)."""
    kinds = {}
    for comp in model.compartments.values():  # over compartments
        kinds.setdefault(comp.kind, []).append(comp.name)
    for sk in scoped:  # over scoped knockouts
        if sk.what == "receptor" and sk.compartment is not None:
            kind = model.compartments[sk.compartment].kind
            if len(kinds[kind]) > 1:
                raise ConfigError("interventions.compartment", sk.compartment,
                                  f"a compartment whose kind ({kind!r}) no other compartment shares, for a "
                                  f"receptor knockout (receptor tables are per kind; {kinds[kind]} share it)")


def start_knockouts(model, scoped) -> tuple[ScopedKnockout, ...]:
    """Activate the knockouts in force from t = 0 (before the cells are seeded, so none are seeded where they are
    out); returns the others, in time order, for the model's schedule."""
    later = []
    for sk in scoped:  # sorted by from_min
        if sk.from_min <= _EPS and not later:
            activate(model, sk, remove=False)
        else:
            later.append(sk)
    return tuple(later)


class HeldDepletions:
    """The held depletions running now: each removes ``fraction`` of the cells of its type that appeared since the
    last dose phase (ids above a watermark: ids only grow), until its ``until_min``."""

    def __init__(self):
        self.running: list[list] = []  # [Depletion, watermark id]

    def start(self, model, d: Depletion) -> None:
        """Start watching ``d.cell_type`` (its own one-off depletion is a separate event)."""
        self.running.append([d, _next_id(model, d.cell_type)])

    def apply(self, model) -> None:
        """Remove the new arrivals of each running hold; drop those past their ``until_min``."""
        for entry in self.running:  # over held depletions (a few)
            d, mark = entry
            hold(model, d, mark)
            entry[1] = _next_id(model, d.cell_type)
        self.running = [e for e in self.running if e[0].until_min > model.time_min + _EPS]

    def mark(self, model) -> None:
        """Move the watermarks past cells placed since :meth:`apply` (transferred cells are not new arrivals)."""
        for entry in self.running:  # over held depletions
            entry[1] = _next_id(model, entry[0].cell_type)


def _next_id(model, kind: str) -> int:
    return next(iter(model.compartments.values())).cell_types[kind].pop.id_counter.next


def hold(model, d: Depletion, mark: int) -> int:
    """Remove ``d.fraction`` of the cells of ``d.cell_type`` with ids >= ``mark`` (in its compartment); how many."""
    names = [d.compartment] if d.compartment else list(model.compartments)
    removed = 0
    for name in names:  # over compartments
        ct = model.compartments[name].cell_types[d.cell_type]
        new = ct.pop.ids >= mark
        k = int(new.sum())
        if k == 0:
            continue
        hit = new.copy()
        hit[new] = model.rng.random(k) < d.fraction
        ct.count_event("depleted", int(hit.sum()))
        removed += ct.pop.remove(hit)
    return removed


def activate(model, sk: ScopedKnockout, *, remove: bool = True) -> int:
    """Start one conditional/inducible knockout now; with ``remove``, cells of a knocked-out type in its scope
    go at once. Returns the cells removed."""
    if sk.compartment is None:
        return model.knock_out(sk.what, sk.name) if remove else _everywhere(model, sk)
    local = model.local_knockouts.get(sk.compartment, Knockouts())
    field = _FIELD[sk.what]
    model.local_knockouts[sk.compartment] = replace(local, **{field: getattr(local, field) | {sk.name}})
    refresh_views(model)
    if sk.what == "receptor":
        kind = model.compartments[sk.compartment].kind
        model.receptor_blocks.setdefault(kind, set()).add(sk.name)
        model.inhibition_in(kind)[sk.name] = 1.0
    if sk.what == "cell_type" and remove:
        return model.deplete(Depletion(sk.name, 1.0, model.time_min, compartment=sk.compartment))
    return 0


def _everywhere(model, sk: ScopedKnockout) -> int:
    ko = model.knockouts
    field = _FIELD[sk.what]
    model.knockouts = replace(ko, **{field: getattr(ko, field) | {sk.name}})
    refresh_views(model)
    if sk.what == "receptor":
        model._block_receptors([sk.name])
    return 0


def lift_cell_knockout(model, kind: str) -> None:
    """A cell type recruited and born again everywhere (after a transfer restored it)."""
    ko = model.knockouts
    model.knockouts = replace(ko, cell_types=ko.cell_types - {kind})
    for name, local in model.local_knockouts.items():  # over compartments with their own knockouts
        model.local_knockouts[name] = replace(local, cell_types=local.cell_types - {kind})
    refresh_views(model)
