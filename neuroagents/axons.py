"""Axons: how one neuron population spans compartments.

A sensory neuron is one cell with three sites: its soma in the DRG, its
peripheral terminal in the skin, paw or joint, and its central terminal in the
spinal dorsal horn. The model keeps each neuron once (in the soma's
compartment) and the axons say where its terminals are:

* ``terminal_voxel`` — a voxel of the ``periphery`` compartment: where the
  nociceptor senses the peripheral mediators and releases SP and CGRP;
* ``central_voxel`` — a voxel of the ``spinal`` compartment (or -1): where it
  releases SP and CGRP with every spike and, once injured, CSF1, CCL2 and ATP
  that activate microglia (Guan 2016 Nat Neurosci 19:94).

Spikes cross at once at the model's time scale (conduction over centimetres
takes milliseconds). Cytokines at the soma act on the same neuron as those at
its terminal (``cytokine_soma_weight`` in ``docs/pain.md``), so macrophages
that crowd into the DRG after nerve injury sensitize it.

Examples
--------
>>> Axons.single(object()).spinal is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neuroagents.errors import ConfigError

__all__ = ["Axons", "link_axons"]


@dataclass(frozen=True)
class Axons:
    """Where the neurons' somata, peripheral and central terminals are (compartment objects)."""

    soma: object
    periphery: object
    spinal: object | None = None

    @classmethod
    def single(cls, compartment) -> Axons:
        """A single tissue patch: soma and terminal in it, no dorsal horn."""
        return cls(compartment, compartment, None)


def link_axons(spec: Mapping | None, compartments: Mapping) -> Axons:
    """Build :class:`Axons` from ``{"soma": name, "periphery": name, "spinal": name}`` (names of compartments).

    Without a ``spec``: a single compartment links to itself; with several, the ``drg`` compartment holds the
    somata, the (first) ``periphery`` compartment the terminals and the ``dorsal_horn`` compartment the central
    terminals, when each exists.
    """
    comps = list(compartments.values())
    if spec is None:
        if len(comps) == 1:
            return Axons.single(comps[0])
        by_kind: dict[str, object] = {}
        for c in comps:  # over compartments
            by_kind.setdefault(c.kind, c)
        soma = by_kind.get("drg", comps[0])
        return Axons(soma, by_kind.get("periphery", soma), by_kind.get("dorsal_horn"))
    if not isinstance(spec, Mapping):
        raise ConfigError("axons", spec, "a mapping {soma = name, periphery = name, spinal = name}")
    unknown = sorted(set(spec) - {"soma", "periphery", "spinal"})
    if unknown:
        raise ConfigError(f"axons.{unknown[0]}", spec[unknown[0]], "a key among soma, periphery, spinal")
    names = sorted(compartments)

    def pick(key, required):
        name = spec.get(key)
        if name is None and not required:
            return None
        if name not in compartments:
            raise ConfigError(f"axons.{key}", name, f"the name of a compartment, one of {names}")
        return compartments[name]

    soma = pick("soma", True)
    return Axons(soma, pick("periphery", False) or soma, pick("spinal", False))
