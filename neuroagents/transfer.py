"""Adoptive transfer: put cells of one type into a compartment, now.

The cells are placed at random interstitial positions of the compartment, each
type initialised as it seeds its own cells at t = 0 (mast cells full of
granules, T cells drawn into Th1/Th17/Treg by the local cytokines), or, with
``entry = "vessels"``, in the interstitial voxels beside its vessels as recruited
cells enter. A ``state`` overrides the type's choice for every transferred cell.
Transferred cells count as ``seeded`` (the reference of density limits such as
microglial proliferation) and in the type's ``event_counts["transferred"]``.

A knocked-out type is admitted for the transfer itself; whether it is recruited
afterwards is the transfer's ``recruit`` key (:mod:`neuroagents.interventions`,
:mod:`neuroagents.timeline`).
"""

from __future__ import annotations

from dataclasses import replace

from neuroagents.interventions import Transfer

__all__ = ["place_cells"]


def place_cells(model, transfer: Transfer) -> int:
    """Add the transfer's cells to its compartment now; returns how many were added.

    Parameters
    ----------
    model : NeuroImmuneModel
    transfer : Transfer

    Returns
    -------
    int
        ``transfer.n``.
    """
    comp = model.compartments[transfer.compartment]
    ct = comp.cell_types[transfer.cell_type]
    view = model.knockouts_in(comp.name)
    had_view = comp.name in model._knockouts_in
    blocked = transfer.cell_type in view.cell_types
    if blocked:  # admit the transferred cells themselves, whatever the knockout
        model._knockouts_in[comp.name] = replace(view, cell_types=view.cell_types - {transfer.cell_type})
    try:
        before = ct.n
        if transfer.entry == "interstitium":
            ct.seed_cells(transfer.n)
        else:
            _enter_at_vessels(comp, ct, transfer.n)
    finally:
        if blocked:
            if had_view:
                model._knockouts_in[comp.name] = view
            else:
                del model._knockouts_in[comp.name]
    added = ct.n - before
    if transfer.state is not None:
        ct.pop["state"][before:] = ct.state_code(transfer.state)
    ct.seeded += added
    ct.count_event("transferred", added)
    return added


def _enter_at_vessels(comp, ct, n: int) -> None:
    """``n`` cells in the interstitial voxels beside random vessel voxels (as recruits enter)."""
    xp = comp.model.xp
    beside, _ = comp.beside_vessels(xp.zeros(comp.grid.shape))
    pick = xp.asarray(comp.model.rng_host.integers(0, int(beside.size), size=n))
    voxels = beside[pick]
    extra = {"recruited": 1} if "recruited" in ct.pop.columns else {}
    ct.add_cells(comp.voxel_centres(voxels), **extra)
    if hasattr(ct, "choose_subsets"):  # T cells: the subset lottery of the entry voxel
        ct.pop["state"][ct.n - n :] = ct.choose_subsets(voxels)
