"""What acts on a model from outside its cells: drug effects, knockouts, depletions, added dosing.

:class:`ModelInputs` is a part of :class:`~neuroagents.model.NeuroImmuneModel` (a mixin: the model is one
object, its methods live in three modules of one idea each). The tables it keeps, per compartment kind
(``"periphery"``, ``"drg"``, ``"dorsal_horn"``: each its own drug exposure):

* ``inhibition``, ``drg_inhibition``, ``spinal_inhibition`` — fractional inhibition of kinases, pathways and
  receptors (0..1), rebuilt each dose phase from ``base_inhibition`` (the scenario's constant inhibition and the
  receptors knocked out) joined with the drugs' effects;
* ``drug_tables[kind]`` — ``neutralization`` (mediator -> fraction bound by antibodies), ``enzyme_inhibition``
  (COX2 -> fraction of PGE2 synthesis blocked), ``mirna_block`` (miR21 -> fraction of its effect blocked);
* ``knockouts`` (everywhere), ``local_knockouts`` and ``receptor_blocks`` (one compartment or kind).

Cells read these only through their compartment (:class:`~neuroagents.cells.host.CellHost`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from neuroagents.cells.signaling import check_inhibition_keys
from neuroagents.errors import ConfigError
from neuroagents.interventions import Depletion, parse_all
from neuroagents.pharmacology import Pharmacology
from neuroagents.pharmacology.effects import combine_independent, split_by_kind
from neuroagents.registry import CELL_TYPES
from neuroagents.timeline import refresh_views

__all__ = ["DRUG_KINDS", "ModelInputs"]

DRUG_KINDS = ("periphery", "drg", "dorsal_horn")
"""Compartment kinds, each with its own drug exposure."""


class ModelInputs:
    """Drug effects, knockouts and depletions of a :class:`~neuroagents.model.NeuroImmuneModel` (see module)."""

    def _init_inputs(self, inhibition: Mapping | None, drugs, species: str,
                     body_weight_kg: float | None = None) -> None:
        """The inhibition and drug tables before any drug acts, and the run's pharmacology (``body_weight_kg``:
        the animal's weight, default the species' reference weight)."""
        self.body_weight_kg = None if body_weight_kg is None else float(body_weight_kg)
        self.inhibition = {}
        self.set_inhibition(inhibition or {})
        self.base_inhibition = dict(self.inhibition)
        self.spinal_inhibition = dict(self.inhibition)
        self.drg_inhibition = dict(self.inhibition)
        self.drug_tables = {k: {"neutralization": {}, "enzyme_inhibition": {}, "mirna_block": {}}
                            for k in DRUG_KINDS}  # fmt: skip
        self.neutralization = self.drug_tables["periphery"]["neutralization"]  # the periphery's, by their old names
        self.spinal_neutralization = self.drug_tables["dorsal_horn"]["neutralization"]
        self.enzyme_inhibition = self.drug_tables["periphery"]["enzyme_inhibition"]
        self.mirna_block = self.drug_tables["periphery"]["mirna_block"]
        self.pharmacology = Pharmacology(list(drugs), species, body_weight_kg=body_weight_kg) if drugs else None

    def set_inhibition(self, inhibition: Mapping[str, float]) -> None:
        """Replace the fractional inhibition of kinases, pathways or receptors (0..1 each)."""
        check_inhibition_keys(inhibition)
        for key, v in inhibition.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ConfigError(f"inhibition.{key}", v, "a fraction in [0, 1]")
        self.inhibition = dict(inhibition)

    def inhibition_in(self, kind: str) -> dict[str, float]:
        """Fractional inhibition seen by cells in a compartment of ``kind`` ("periphery", "drg", "dorsal_horn")."""
        if kind == "dorsal_horn":
            return self.spinal_inhibition
        if kind == "drg":
            return self.drg_inhibition
        return self.inhibition

    def add_dosing(self, schedule) -> None:
        """Add one dosing schedule to the run (a ``[[drugs]]`` table or a :class:`DosingSchedule`).

        PK is solved by superposition, so doses already given keep their exact course; the new schedule acts
        from the next step's dose phase. Schedules starting in the past are allowed (their earlier doses count).
        """
        old = self.pharmacology
        schedules = [*(old.schedules if old is not None else ()), schedule]
        weight = old.body_weight_kg if old is not None else getattr(self, "body_weight_kg", None)
        self.pharmacology = Pharmacology(schedules, self.species, body_weight_kg=weight)

    def check_interventions(self, items: list, where: str = "interventions", *, single: bool = False,
                            full: bool = False):  # fmt: skip
        """Check intervention tables against this model (cell types, mediators, receptors, compartments).

        Returns ``(depletions, knockouts)`` as :func:`~neuroagents.interventions.parse_interventions` does (with
        ``full``, the :class:`~neuroagents.interventions.Parsed` record, transfers included). With ``single`` (one
        table given on its own, e.g. from the dashboard) an error names ``where.key``, not ``where[0].key``.
        """
        from neuroagents.cells.signaling import RECEPTORS

        try:
            p = parse_all(
                items, cell_types={k: c.states for k, c in CELL_TYPES.items()}, mediators=self.env.names,
                receptors=sorted(RECEPTORS), compartments=sorted(self.compartments), where=where,
            )  # fmt: skip
            return p if full else (p.depletions, p.knockouts)
        except ConfigError as exc:
            if not single:
                raise
            raise ConfigError(exc.key.replace(f"{where}[0]", where), exc.value, exc.allowed, exc.where) from None

    def _block_receptors(self, receptors) -> None:
        """Knocked-out receptors: fully and permanently blocked in every compartment (drug effects are rebuilt
        from :attr:`base_inhibition`, so the block outlasts them)."""
        for r in receptors:
            for table in (self.base_inhibition, self.inhibition, self.spinal_inhibition, self.drg_inhibition):
                table[r] = 1.0

    def knock_out(self, what: str, name: str) -> int:
        """Knock out a mediator, receptor or cell type from now to the end of the run; returns cells removed.

        Parameters
        ----------
        what : {"mediator", "receptor", "cell_type"}
        name : str
            A mediator on the grid, a receptor, or a cell type. A mediator is released by no cell from now on; a
            receptor is fully blocked in every compartment; a cell type is removed from every compartment and
            never recruited or born again.
        """
        if what not in ("mediator", "receptor", "cell_type"):
            raise ConfigError("knockout", what, "one of ['cell_type', 'mediator', 'receptor']")
        _, ko = self.check_interventions([{"kind": "knockout", what: name}], "knockout", single=True)
        old = self.knockouts
        self.knockouts = replace(old, mediators=old.mediators | ko.mediators, receptors=old.receptors | ko.receptors,
                                 cell_types=old.cell_types | ko.cell_types)  # fmt: skip
        refresh_views(self)
        self._block_receptors(ko.receptors)
        removed = 0
        for kind in ko.cell_types:
            removed += self.deplete(Depletion(kind, 1.0, self.time_min))
        return removed

    def knockouts_in(self, compartment: str):
        """What the cells of one compartment see knocked out now (everywhere's, joined with its own)."""
        return self._knockouts_in.get(compartment, self.knockouts)

    def deplete(self, d) -> int:
        """Remove a random fraction of one cell type (in one state and compartment, if given) now; returns how many."""
        names = [d.compartment] if getattr(d, "compartment", None) else list(self.compartments)
        removed = 0
        for name in names:  # over compartments
            ct = self.compartments[name].cell_types[d.cell_type]
            if ct.n == 0:
                continue
            hit = self.rng.random(ct.n) < d.fraction
            if d.state is not None:
                hit &= ct.pop["state"] == ct.state_code(d.state)
            ct.count_event("depleted", int(hit.sum()))
            removed += ct.pop.remove(hit)
        return removed

    def apply_drug_effects(self, effects: Mapping[str, Mapping[str, float]]) -> None:
        """Turn ``{compartment: {target: fraction}}`` into the model's inputs.

        Kinases, pathways and receptor blockade join :attr:`inhibition` (peripheral and DRG cells, nociceptors)
        and :attr:`spinal_inhibition` (the dorsal horn, from the CSF exposure) as independent actions;
        neutralized mediators reach receptors only as their free fraction; COX2 scales PGE2 synthesis;
        miR21 scales the exosomal miR-21 drive of macrophages.
        """
        periphery = split_by_kind(effects.get("periphery", {}))
        drg = split_by_kind(effects.get("drg", effects.get("periphery", {})))
        spinal = split_by_kind(effects.get("dorsal_horn", {}))

        def joined(groups, kind):
            out = dict(self.base_inhibition)
            out.update(dict.fromkeys(self.receptor_blocks.get(kind, ()), 1.0))  # receptors knocked out here
            for key, v in {**groups["inhibition"], **groups["receptor_blockade"]}.items():
                out[key] = float(combine_independent([out.get(key, 0.0), v]))
            return out

        self.inhibition = joined(periphery, "periphery")
        self.drg_inhibition = joined(drg, "drg")
        self.spinal_inhibition = joined(spinal, "dorsal_horn")
        for kind, groups in (("periphery", periphery), ("drg", drg), ("dorsal_horn", spinal)):
            for table in ("neutralization", "enzyme_inhibition", "mirna_block"):
                self.drug_tables[kind][table] = dict(groups[table])
        self.neutralization = self.drug_tables["periphery"]["neutralization"]
        self.spinal_neutralization = self.drug_tables["dorsal_horn"]["neutralization"]
        self.enzyme_inhibition = self.drug_tables["periphery"]["enzyme_inhibition"]
        self.mirna_block = self.drug_tables["periphery"]["mirna_block"]

    def free_fraction(self, mediator: str, spinal: bool = False, kind: str | None = None) -> float:
        """Fraction of a mediator not bound by neutralizing antibodies (1 without drugs).

        ``kind`` names the compartment kind ("periphery", "drg", "dorsal_horn"); ``spinal=True`` is the dorsal
        horn's; the default is the periphery's.
        """
        kind = kind or ("dorsal_horn" if spinal else "periphery")
        return 1.0 - self.drug_tables[kind]["neutralization"].get(mediator, 0.0)
