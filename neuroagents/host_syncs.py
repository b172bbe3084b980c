"""Where a model's step may copy device data to the host, and the inventory of where it does.

A step on CuPy should queue work on the device and never wait for it. The places where data must cross are
*declared* here (:data:`DECLARED`), each with why; the syncs not fixed yet are *known* (:data:`KNOWN`), each with
what would remove it. ``tests/test_host_syncs.py`` runs every built-in scenario on the strict backend
(:func:`neuroagents.backend.strict_backend`) and fails on a sync anywhere else, so a new one is caught without a
GPU. Entries name functions, ``"path:qualified name"``: a sync with that function anywhere on its stack is allowed.

``python -m neuroagents.host_syncs [STEPS]`` prints the inventory (phase, place, operation, count per step) that
``docs/gpu.md`` quotes.

Examples
--------
>>> sorted(DECLARED)[0]
'neuroagents/cells/macrophage.py:Macrophage.recruit'
"""

from __future__ import annotations

import sys
from collections import Counter

__all__ = ["DECLARED", "KNOWN", "inventory", "run_events", "run_phases", "scenario_inventory"]

DECLARED = {
    "neuroagents/model_readouts.py:ModelReadouts._record": (
        "recording: the record phase copies what it records (counts, means, pain readouts) and the step's "
        "deferred cell events (EventLog.flush: counts and ids) to the host, and raises "
        "the exchange's input errors held on the device (PendingChecks)"
    ),
    "neuroagents/cells/population.py:Population.remove": (
        "deaths and egress compact the population: its new size must be known on the host"
    ),
    "neuroagents/cells/macrophage.py:Macrophage.recruit": (
        "births: how many monocytes enter (a Poisson draw per vessel voxel) sizes the population"
    ),
    "neuroagents/cells/t_cell.py:TCell.infiltrate": (
        "births: how many T cells infiltrate sizes the population (and whether any are primed at all)"
    ),
    "neuroagents/cells/microglia.py:Microglia.move": (
        "births and deaths: microglia divide next to themselves (the daughters' number and places) and die"
    ),
    "neuroagents/pain/__init__.py:PainModel.update": (
        "the dorsal-horn circuit is a small ODE integrated on the host (numba): its inputs, the five spinal means "
        "(one copy) and the mean afferent rate (one copy, with the neurons' state the pain trace reads), cross once "
        "per step"
    ),
    "neuroagents/lockstep_pain.py:update_pain": (
        "a lockstep batch's pain update (PainModel.update for all its runs): the same inputs of the runs' "
        "dorsal-horn circuits cross to the host in one copy for the batch"
    ),
}
"""Declared sync points: data crosses here by design (function -> why)."""

KNOWN: dict[str, str] = {}
"""Syncs not fixed yet (function -> what they are and what would remove them); tolerated, never added to."""


def run_phases(model, steps: int, *, record_last: bool = True) -> None:
    """Advance ``model`` (on the strict backend) by ``steps`` steps, labelling each phase's syncs with its name.

    ``record_last`` makes the last step's record phase record (as a scheduled record would), so that it is seen.
    """
    xp = model.backend.xp
    for k in range(steps):  # over steps (a few)
        if record_last and k == steps - 1:
            model._next_record_min = model.time_min
        for phase in model.phase_order:  # over the step's phases
            with xp.label(phase):
                getattr(model, f"_phase_{phase}")(model.cell_dt_min)


def run_events(model) -> int:
    """Jump the clock to each time something is scheduled (injury, depletion, knockout, transfer, injection) and
    run one step there, so that every kind of event a scenario holds is seen; returns how many times."""
    times = sorted({e.time_min for e in model.schedule.pending if e.time_min > model.time_min})
    for t in times:  # over scheduled times (a handful)
        model.time_min = t
        run_phases(model, 1, record_last=False)
    return len(times)


def scenario_inventory(name: str, steps: int = 3, *, allow=(), seed: int | None = None, events: bool = True):
    """Build built-in scenario ``name`` on a recording strict backend, run ``steps`` steps, then (``events``) one
    step at each later scheduled time (:func:`run_events`).

    Returns
    -------
    NeuroImmuneModel
        Its ``backend.xp.syncs`` hold every sync of the steps (not those of building the model).
    """
    from neuroagents.backend import strict_backend
    from neuroagents.model import NeuroImmuneModel
    from neuroagents.scenario import load_scenario

    backend = strict_backend(mode="record", allow=allow)
    model = NeuroImmuneModel.from_scenario(load_scenario(name), backend=backend, seed=seed)
    backend.xp.syncs.clear()
    run_phases(model, steps)
    if events:
        run_events(model)
    return model


def inventory(names, steps: int = 3) -> Counter:
    """Syncs per ``(phase, where, op, allowed-by)`` summed over scenarios ``names``, each run ``steps`` steps."""
    total: Counter = Counter()
    for name in names:  # over scenarios
        syncs = scenario_inventory(name, steps, allow={**DECLARED, **KNOWN}, events=False).backend.xp.syncs
        total.update((s.label, s.where, s.op, s.allowed or "-") for s in syncs)
    return total


def main(argv=None) -> int:
    from neuroagents.scenario.loader import builtin_scenarios

    argv = sys.argv[1:] if argv is None else argv
    steps = int(argv[0]) if argv else 3
    names = list(builtin_scenarios())
    total = inventory(names, steps)
    print(
        f"{len(names)} built-in scenarios x {steps} steps, the last one recording: syncs per step (per record in "
        "the record phase), averaged over the scenarios\n"
    )
    print("| phase | where | operation | count | allowed by |")
    print("|---|---|---|---:|---|")
    order = {"dose": 0, "sense": 1, "decide": 2, "secrete": 3, "diffuse": 4, "move": 5, "pain": 6, "record": 7}
    for (phase, where, op, allowed), n in sorted(total.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0])):
        kind = "declared" if allowed in DECLARED else "known" if allowed in KNOWN else "**forbidden**"
        per = n / len(names) / (1 if phase == "record" else steps)
        print(f"| {phase} | `{where}` | {op} | {per:.2f} | {kind}: `{allowed.rpartition(':')[2]}` |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
