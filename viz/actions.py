"""Interventions applied mid-run, now: give a drug, deplete a cell type, knock something out.

Each function changes a running :class:`~neuroagents.model.NeuroImmuneModel`
through its public attributes, the same way a scenario's ``[[drugs]]`` and
``[[interventions]]`` would have from the start, and returns an
:class:`Action` for the log and the plot markers. Values are checked by the
code that owns them (dosing schedules, ``parse_interventions``), so a mistake
is the usual one-line :class:`~neuroagents.errors.ConfigError`.

* :func:`give_drug` adds a schedule starting now through
  :meth:`~neuroagents.model.NeuroImmuneModel.add_dosing` (PK is solved by
  superposition, so earlier doses keep their exact course). The drug acts from
  the next step's dose phase.
* :func:`deplete_now` removes a random fraction of one cell type (optionally
  one state) at once, as a scenario depletion at this time would.
* :func:`knock_out_now` makes a mediator unreleasable, a receptor blocked, or
  a cell type absent (its cells removed, none recruited) from now on, through
  :meth:`~neuroagents.model.NeuroImmuneModel.knock_out`.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=10, n_neurons=2)
>>> give_drug(m, "adalimumab", "iv", 10.0).label
'adalimumab 10 mg/kg i.v.'
>>> deplete_now(m, "macrophage", 1.0).detail
'removed 10 of 10 macrophage'
>>> knock_out_now(m, "mediator", "TNF").label
'TNF knockout'
>>> give_drug(m, "aspirin", "oral", 1.0)
Traceback (most recent call last):
...
neuroagents.errors.ConfigError: drug.drug = 'aspirin': must be ...
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroagents.errors import ConfigError
from neuroagents.pharmacology import DRUGS, DosingSchedule

__all__ = ["KNOCKOUT_KINDS", "ROUTE_LABELS", "Action", "deplete_now", "drug_routes", "give_drug", "knock_out_now",
           "knockout_choices"]  # fmt: skip

ROUTE_LABELS = {"oral": "oral", "sc": "s.c.", "iv": "i.v.", "intrathecal": "intrathecal"}
KNOCKOUT_KINDS = ("mediator", "receptor", "cell_type")


@dataclass(frozen=True)
class Action:
    """One mid-run intervention.

    Attributes
    ----------
    time_min : float
        Simulated time it was applied, min.
    kind : {"drug", "deplete", "knockout"}
    label : str
        Short text for plot markers, e.g. ``"tofacitinib 10 mg/kg oral"``.
    detail : str
        What it did, e.g. ``"removed 270 of 300 macrophage"``.
    """

    time_min: float
    kind: str
    label: str
    detail: str = ""


def _log(model, action: Action) -> Action:
    log = getattr(model, "actions", None)
    if isinstance(log, list):
        log.append(action)
    return action


def drug_routes(drug: str) -> tuple[str, ...]:
    """Routes by which ``drug`` can be given (a one-line error for an unknown drug)."""
    from neuroagents.pharmacology import get_drug

    return get_drug(drug, where="drug.drug").routes


def give_drug(
    model, drug: str, route: str, dose_mg_per_kg: float, *, interval_h: float | None = None, n_doses: int | None = None
) -> Action:
    """Give ``drug`` now: one dose, or ``n_doses`` every ``interval_h`` starting now.

    Parameters
    ----------
    model : NeuroImmuneModel
    drug : str
        A name from the catalogue (``neuroagents.pharmacology.DRUGS``).
    route : {"oral", "sc", "iv", "intrathecal"}
        One the drug allows.
    dose_mg_per_kg : float
        Dose, mg/kg of body weight (> 0).
    interval_h, n_doses : float and int, optional
        Repeat the dose every ``interval_h`` hours, ``n_doses`` doses in all (both or neither).

    Returns
    -------
    Action
    """
    if n_doses in (None, 1):  # one dose: no interval
        interval_h, n_doses = None, None
    schedule = DosingSchedule(drug, route, dose_mg_per_kg=dose_mg_per_kg, start_min=float(model.time_min),
                              interval_h=interval_h, n_doses=n_doses, where="drug")  # fmt: skip
    model.add_dosing(schedule)
    label = f"{drug} {dose_mg_per_kg:g} mg/kg {ROUTE_LABELS.get(route, route)}"
    if n_doses:
        label += f" q{interval_h:g}h x{n_doses}"
    targets = ", ".join(t.name for t in DRUGS[drug].targets)
    return _log(model, Action(float(model.time_min), "drug", label, f"acts on {targets} from the next step"))


def _where(model, compartment: str | None) -> str:
    """`` in <compartment>`` when the model has several compartments, `` (all compartments)`` for a model-wide
    action there, else ``""``."""
    several = len(getattr(model, "compartments", None) or {}) > 1
    if not several:
        return ""
    return f" in {compartment}" if compartment else " (all compartments)"


def deplete_now(model, cell_type: str, fraction: float, state: str | None = None,
                compartment: str | None = None) -> Action:  # fmt: skip
    """Remove a random ``fraction`` of ``cell_type`` (only those in ``state``, if given) now, in one
    ``compartment`` or (None) in every compartment.

    Returns
    -------
    Action
        ``detail`` says how many cells went, and where.
    """
    table = {"kind": "deplete", "cell_type": cell_type, "fraction": fraction, "time_min": float(model.time_min)}
    if state:
        table["state"] = state
    if compartment:
        table["compartment"] = compartment
    (d,), _ = model.check_interventions([table], "deplete", single=True)
    comps = getattr(model, "compartments", None) or {"tissue": model}
    names = [d.compartment] if d.compartment else list(comps)
    cts = [comps[n].cell_types[d.cell_type] for n in names]  # over compartments the depletion reaches
    before = sum(ct.n if d.state is None else ct.census()[d.state] for ct in cts)
    removed = model.deplete(d)
    which = f"{d.cell_type}{f' ({d.state})' if d.state else ''}"
    where = _where(model, d.compartment)
    label = f"deplete {fraction:.0%} {which}{where}"
    return _log(model, Action(float(model.time_min), "deplete", label, f"removed {removed} of {before} {which}{where}"))


def _receptors() -> list[str]:
    from neuroagents.cells.signaling import RECEPTORS

    return sorted(RECEPTORS)


def knockout_choices(model, what: str) -> list[str]:
    """What can be knocked out of each kind: mediators on the grid, receptors, cell types."""
    if what == "mediator":
        return list(model.env.names)
    if what == "receptor":
        return _receptors()
    if what == "cell_type":
        return list(model.cell_types)
    raise ConfigError("knockout", what, f"one of {list(KNOCKOUT_KINDS)}")


def knock_out_now(model, what: str, name: str, compartment: str | None = None) -> Action:
    """Knock out a mediator (no cell releases it), a receptor (fully blocked) or a cell type (removed, never
    recruited again), from now to the end of the run: in one ``compartment`` (as a scenario's conditional,
    inducible knockout with ``compartment`` and ``from_min`` = now) or (None) everywhere.

    Returns
    -------
    Action
    """
    if what not in KNOCKOUT_KINDS:
        raise ConfigError("knockout", what, f"one of {list(KNOCKOUT_KINDS)}")
    t = float(model.time_min)
    if compartment:
        removed = _knock_out_in(model, what, name, compartment)
    else:
        removed = model.knock_out(what, name)
    where = _where(model, compartment)
    if what == "mediator":
        detail = f"no cell{where} releases {name} from now on; what is there decays and diffuses away"
    elif what == "receptor":
        detail = f"{name} fully blocked{where} from now on"
    else:
        detail = f"removed {removed} {name}{where}; none recruited or born there from now on"
    return _log(model, Action(t, "knockout", f"{name} knockout{where}", detail))


def _knock_out_in(model, what: str, name: str, compartment: str) -> int:
    """A knockout limited to one compartment, from now: the scenario's ``compartment`` + ``from_min`` path."""
    from neuroagents.timeline import activate

    table = {"kind": "knockout", what: name, "compartment": compartment, "from_min": float(model.time_min)}
    _, ko = model.check_interventions([table], "knockout", single=True)
    (sk,) = ko.scoped
    if what == "receptor":  # receptor tables are per kind of compartment
        kind = model.compartments[compartment].kind
        sharing = [n for n, c in model.compartments.items() if c.kind == kind]
        if len(sharing) > 1:
            raise ConfigError("knockout.compartment", compartment, f"a compartment whose kind ({kind!r}) no other "
                              f"compartment shares, for a receptor knockout ({sharing} share it)")  # fmt: skip
    return activate(model, sk)
