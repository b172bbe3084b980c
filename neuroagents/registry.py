"""The names every other module agrees on: cell types, mediators on the grid, drug targets.

This module sits at the bottom of the package (it imports only :mod:`neuroagents.errors`, which imports nothing),
so the model, the cells, the pharmacology and the scenario schema all read it without importing each other.

* :data:`CELL_TYPES` — cell type -> its class, as ``"module:Class"`` (imported the first time it is asked for).
  The order is the order of the phases within a step (mast cells first, neurons last).
* :data:`MEDIATORS` — the mediators the cell types release or sense: the model's grid by default (the physical
  numbers of each are in :data:`neuroagents.mediators.CATALOGUE`).
* :data:`DRUG_TARGETS` — target kind -> the names a drug may target (kinases, pathways, receptors, enzymes,
  microRNAs; a ``mediator`` target names a mediator).

Adding a cell type is one module (a :class:`~neuroagents.cells.base.CellType` subclass) and one line: an entry in
``CELL_TYPES`` below, or a call ``CELL_TYPES.register("neutrophil", "my_package.neutrophil:Neutrophil")`` (or the
class itself) before the model is built. ``examples/neutrophil.py`` is one. The scenario schema's cell-type keys
are generated from this registry when :mod:`neuroagents.scenario.schema` is first imported: register before that
to use the new type in scenario files; the model reads the registry each time one is built.

Examples
--------
>>> list(CELL_TYPES)
['mast_cell', 'macrophage', 't_cell', 'microglia', 'neuron']
>>> CELL_TYPES["neuron"].__name__
'Neuron'
>>> DRUG_TARGETS["kinase"]
('JAK1', 'JAK2', 'JAK3', 'TYK2')
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from neuroagents.errors import ConfigError

__all__ = ["CELL_TYPES", "DRUG_TARGETS", "MEDIATORS", "Registry"]


class Registry(Mapping):
    """An ordered mapping name -> object, whose objects may be given as ``"module:attribute"`` and imported lazily.

    A missing name is a ``KeyError`` (the mapping protocol: ``get`` and ``in`` work); callers that take the name
    from a user check ``name in registry`` first and raise :class:`~neuroagents.errors.ConfigError`.

    Parameters
    ----------
    what : str
        What an entry is, for error messages (``"cell type"``).
    entries : Mapping[str, object or str]
        The built-in entries, in order.
    """

    def __init__(self, what: str, entries: Mapping[str, object]):
        self.what = what
        self._entries: dict[str, object] = dict(entries)

    def __getitem__(self, name: str):
        try:
            target = self._entries[name]
        except KeyError:
            raise KeyError(f"{self.what} {name!r}: not registered; registered: {list(self._entries)}") from None
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {list(self._entries)})"

    def register(self, name: str, target, *, replace: bool = False) -> None:
        """Add ``name`` (last in order) as an object or a ``"module:attribute"`` string.

        Raises
        ------
        ConfigError
            When ``name`` is not an identifier, or is registered already and ``replace`` is not set.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(self.what, name, "an identifier like 'neutrophil'")
        if name in self._entries and not replace:
            raise ConfigError(self.what, name, f"a name not registered yet (or replace=True); registered: {list(self)}")
        self._entries[name] = target

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. at the end of a test that registered it); no error if it is absent."""
        self._entries.pop(name, None)


CELL_TYPES = Registry("cell type", {
    "mast_cell": "neuroagents.cells.mast_cell:MastCell",
    "macrophage": "neuroagents.cells.macrophage:Macrophage",
    "t_cell": "neuroagents.cells.t_cell:TCell",
    "microglia": "neuroagents.cells.microglia:Microglia",
    "neuron": "neuroagents.cells.neuron:Neuron",
})  # fmt: skip
"""Cell type -> class (:class:`~neuroagents.cells.base.CellType`), in the order of the step's phases."""

MEDIATORS = (
    "TNF", "IL1B", "IL6", "IL10", "IL17A", "IFNG", "IL4", "IL13", "GMCSF", "NGF", "PGE2", "histamine",
    "serotonin", "tryptase", "CCL2", "CSF1", "CX3CL1", "ATP", "BDNF", "SP", "CGRP", "elastase", "miR21", "IL23",
    "opioid", "bradykinin",
)  # fmt: skip
"""Mediators on the model's grid by default (``PAMP``, an injected agonist, joins only where something is injected)."""

DRUG_TARGETS: Mapping[str, tuple[str, ...]] = {
    "kinase": ("JAK1", "JAK2", "JAK3", "TYK2"),
    "pathway": ("STAT1", "STAT3", "STAT5", "STAT6", "NFKB", "P38"),
    "receptor": ("TNFR1", "IL1R1", "IL17RA", "IL6R", "IL10R", "CSF2R", "IFNGR", "IL2RG", "IL4R", "IL13R", "IL23R",
                 "CX3CR1", "CSF1R", "TLR4", "P2X4"),
    "enzyme": ("COX2",),
    "mirna": ("miR21",),
}  # fmt: skip
"""Target kind -> names a drug may act on (a ``mediator`` target names one of :data:`MEDIATORS` or the catalogue's).

The receptors' ligands, affinities and kinase wiring are in :data:`neuroagents.cells.signaling.RECEPTORS`; the
pathways are the columns every cell carries (``STAT3``, ``NFKB``, ...).
"""
