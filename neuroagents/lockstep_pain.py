"""The pain update of the runs of a lockstep batch at once: nociceptors, firing, the dorsal horn's inputs.

:meth:`PainModel.update <neuroagents.pain.PainModel.update>` is the reference. Neurons are never born and never die,
so runs with as many neurons keep their nociceptors' state as rows of ``(B, n)`` arrays, and the reference's own
code computes them: one :class:`~neuroagents.pain.nociceptor.Nociceptors` holds the batch's state, its parameters
a :class:`~neuroagents.run_axis.Columns` of the runs' :class:`~neuroagents.pain.PainParams` (a number the runs
share stays that number; one that differs is a ``(B, 1)`` column), and :meth:`~.Nociceptors.step`,
:meth:`~.Nociceptors.indices` and :meth:`~.Nociceptors.ongoing_hz` run on it unchanged: elementwise, so each
row is its run's result bit for bit (``tests/test_lockstep.py``). What the batch does its own way:

* the mediators at the neurons are gathered from the batch's fields ``(B, M, *grid)``, one gather per compartment
  for every run (the reference: :meth:`~.Nociceptors.concentrations`, per run);
* the neurons' firing, what the pain trace reads and the five spinal means cross to the host in **one copy for the
  batch** (a run alone makes two copies: :func:`~neuroagents.pain.grid_mean_spinal` and the trace's);
* the dorsal horn (a small ODE on the host) and the pain trace stay per run, each on its run's numbers.

Runs are taken together only where the reference's code is what every run runs (:func:`together`): the stock
:class:`~neuroagents.pain.PainModel` with the stock spinal means, neurons in every run and as many in each, and the
binding constants of the two JAK-receptor networks equal (they are built once per constant).
"""

from __future__ import annotations

import numpy as np

from neuroagents.pain import PainModel, _neurons, grid_mean_spinal, spinal_env, spinal_levels, trace_parts
from neuroagents.pain.dorsal_horn import SPINAL_MEDIATORS
from neuroagents.pain.nociceptor import _SOMA_ACTING, CHANNELS, Nociceptors, sensing
from neuroagents.pain.trace_batch import trace_key, trace_signals_together
from neuroagents.run_axis import Columns, column, stacked, unstack

__all__ = ["together", "trace_rows", "trace_together", "update_dorsal_horn", "update_pain"]

_STATE = ("priming", "mor", "b2")
"""The nociceptors' state arrays besides the channel drives (one row per run in a batch)."""


def together(models) -> bool:
    """Whether the pain updates of ``models`` (two or more) can be taken together (module docstring)."""
    if len(models) < 2:
        return False
    counts, constants = set(), set()
    for m in models:  # over runs
        pain = getattr(m, "pain", None)
        if type(pain) is not PainModel or pain.spinal is not grid_mean_spinal:
            return False
        if type(pain.nociceptors) is not Nociceptors:
            return False
        neurons = _neurons(m)
        if neurons is None or neurons.n == 0:
            return False
        counts.add(neurons.n)
        p = pain.params
        constants.add((p.hill, p.il6_kd_nM, p.il10_kd_nM))
    return len(counts) == 1 and len(constants) == 1


def _compartment_of(model, env) -> str:
    """The name of ``model``'s compartment whose microenvironment is ``env``."""
    return next(name for name, comp in model.compartments.items() if comp.env is env)


def _gather(stack, rows, voxels, xp):
    """Mediators ``rows`` at each neuron's voxel: ``stack`` ``(B, M, *grid)``, ``voxels`` ``(B, n)`` -> ``(B, R, n)``
    (one indexing of the batch's fields, C-contiguous as :class:`~neuroagents.lockstep.Lockstep` stacks them)."""
    b, m = stack.shape[0], stack.shape[1]
    n_voxels = stack[0, 0].size
    base = (xp.arange(b)[:, None] * m + xp.asarray(rows)[None, :]) * n_voxels
    return stack.reshape(-1)[base[:, :, None] + voxels[:, None, :]]


def _concentrations(models, neurons, params, stacks, xp) -> dict:
    """:meth:`Nociceptors.concentrations <neuroagents.pain.nociceptor.Nociceptors.concentrations>` of every run,
    ``{mediator: (B, n)}``, from the batch's fields."""
    first = models[0]
    env, term_env, names = sensing(first, neurons[0])
    if not names:
        return {}
    rows = [env.index(m) for m in names]  # the somata's rows, for both compartments' fields, as the reference
    term = _gather(stacks[_compartment_of(first, term_env)][0], rows,
                   xp.stack([nr.pop["terminal_voxel"] for nr in neurons]), xp)  # fmt: skip
    soma_names = [m for m in names if m in _SOMA_ACTING]
    soma = _gather(stacks[_compartment_of(first, env)][0], [env.index(m) for m in soma_names],
                   xp.stack([nr.pop["voxel"] for nr in neurons]), xp)  # fmt: skip
    w = params.cytokine_soma_weight
    out = {}
    for j, m in enumerate(names):  # over mediators
        out[m] = (1.0 - w) * term[:, j] + w * soma[:, soma_names.index(m)] if m in _SOMA_ACTING else term[:, j]
        # a run alone multiplies by its free fraction where it is below 1; here every run, by 1 (exact) where not
        free = [mod.free_fraction(m) if hasattr(mod, "free_fraction") else 1.0 for mod in models]
        free = column(xp, [f if f < 1.0 else 1.0 for f in free])
        if not (isinstance(free, float) and free == 1.0):
            out[m] = out[m] * free
    return out


def _inhibition(tables, xp) -> dict:
    """The runs' inhibition tables as one: each key a :func:`~neuroagents.run_axis.column` (0 where a run lacks it:
    the reference's rules multiply by ``1 - 0`` or skip, the same numbers)."""
    keys = dict.fromkeys(k for t in tables for k in t)
    return {k: column(xp, [t.get(k, 0.0) for t in tables]) for k in keys}


def _spinal_means(models, stacks, xp):
    """:func:`~neuroagents.pain.grid_mean_spinal`'s means before the free fraction: ``(names, (B, S) array)``."""
    first = models[0]
    env = spinal_env(first)
    present = [m for m in SPINAL_MEDIATORS if m in env.names]
    if not present:
        return present, None
    fields = stacks[_compartment_of(first, env)][0]
    rows = fields[:, [env.index(m) for m in present]]
    return present, rows.reshape(rows.shape[0], rows.shape[1], -1).mean(axis=2)


def update_pain(models, dt_min: float, stacks) -> tuple[np.ndarray, list[str]]:
    """:meth:`PainModel.update <neuroagents.pain.PainModel.update>` of every run of a batch (:func:`together` holds)
    but the dorsal horn (:func:`update_dorsal_horn`, run by run).

    Parameters
    ----------
    models : sequence of NeuroImmuneModel
        The batch's runs, in its order.
    dt_min : float
        The cell step, min.
    stacks : dict
        ``{compartment: (fields, production, consumption)}``, the batch's arrays ``(B, M, *grid)``
        (:attr:`Lockstep.stacks <neuroagents.lockstep.Lockstep.stacks>`).

    Returns
    -------
    (ndarray, list of str)
        The batch's host copy, shape ``(B, 1 + 5 n + S)``: per run the neurons' mean firing, then their firing,
        threshold factor, gain (× excitability), transduction and mechanical sensitization (``n`` each: what the
        trace reads, :meth:`PainModel.trace_signals <neuroagents.pain.PainModel.trace_signals>`), then the ``S``
        spinal means (nM, before free fractions); and the ``S`` spinal mediators' names.
    """
    first = models[0]
    xp = first.xp
    pains = [m.pain for m in models]
    neurons = [_neurons(m) for m in models]
    nocs = [pain.nociceptors for pain in pains]
    for pain, noc, nr in zip(pains, nocs, neurons, strict=True):  # over runs: as the reference, rows by id
        pain._trace_host = None
        noc.align(nr.pop.ids)
    params = pains[0].params  # the runs' numbers: one object where they are equal (frozen), else columns
    if any(pain.params != params for pain in pains[1:]):
        params = Columns([pain.params for pain in pains], xp)

    batch = Nociceptors(params, xp)  # the runs' state as rows: the reference's code on (B, n)
    batch.ids = nocs[0].ids  # its n
    batch.drive = {ch: xp.stack([noc.drive[ch] for noc in nocs]) for ch in CHANNELS}
    for attr in _STATE:  # over the state arrays (three)
        setattr(batch, attr, stacked(nocs, attr, xp))
    conc = _concentrations(models, neurons, params, stacks, xp)
    batch.step(conc, _inhibition([m.inhibition for m in models], xp), dt_min)
    for k, noc in enumerate(nocs):  # over runs: each keeps views of its rows
        noc.drive = {ch: batch.drive[ch][k] for ch in CHANNELS}
    for attr in _STATE:
        unstack(nocs, attr, getattr(batch, attr))

    # PainModel._write_firing
    state = xp.stack([nr.pop["state"] for nr in neurons])
    excitability = xp.stack([nr.pop["excitability"] for nr in neurons])
    firing = batch.ongoing_hz(state == 1, excitability, column(xp, [nr.params.baseline_hz for nr in neurons]),
                              column(xp, [nr.params.ectopic_hz for nr in neurons]))  # fmt: skip
    for k, nr in enumerate(neurons):  # over runs
        nr.pop["firing_hz"] = firing[k]

    # PainModel._copy_for_trace, and grid_mean_spinal's means: one copy for the batch
    idx = batch.indices()
    transduces = xp.where(state == 1, params.injured_transduction, 1.0)
    names, means = _spinal_means(models, stacks, xp)
    parts = [firing.mean(axis=1, keepdims=True), firing, idx["threshold_factor"], idx["gain"] * excitability,
             transduces, idx["s_mech"]]  # fmt: skip
    if means is not None:
        parts.append(means)
    n = firing.shape[1]
    host = first.backend.to_host(xp.concatenate([xp.asarray(a, dtype=xp.float64) for a in parts], axis=1))
    for k, pain in enumerate(pains):  # over runs: what the trace reads, on the host
        pain._trace_host = host[k, : 1 + 5 * n]
    return host, names


def update_dorsal_horn(model, dt_min: float, row, names) -> None:
    """The rest of :meth:`PainModel.update <neuroagents.pain.PainModel.update>` for one run of a batch, after
    :func:`update_pain`: the dorsal horn, on the host, from the run's row of the batch's host copy (``row``, shape
    ``(1 + 5 n + S,)``) and the spinal mediators' ``names``."""
    spinal = spinal_levels(model, names, row[row.shape[0] - len(names) :])
    inhibition = getattr(model, "spinal_inhibition", model.inhibition)
    model.pain.dorsal_horn.update(spinal, inhibition, dt_min, float(row[0]))


def trace_together(models) -> bool:
    """Whether the pain traces of ``models`` (whose pain updates were taken together) can be too: the stock trace
    step and one :func:`~neuroagents.pain.trace_batch.trace_key` for all."""
    from neuroagents.model import NeuroImmuneModel

    if any(type(m)._trace_pain is not NeuroImmuneModel._trace_pain for m in models):
        return False
    keys = {trace_key(m.pain) for m in models}
    return len(keys) == 1 and None not in keys


def trace_rows(models, host) -> list[dict]:
    """Each run's pain-trace signals this step (:func:`trace_together` holds), from the batch's host copy (``host``,
    as :func:`update_pain` returns it); each run's next guess of its crossing kept, as
    :meth:`PainModel.trace_signals <neuroagents.pain.PainModel.trace_signals>` keeps it."""
    pains = [m.pain for m in models]
    n = _neurons(models[0]).n
    ongoing, thr, gain, transduces, s_mech = trace_parts(host, n)
    idx = {"threshold_factor": thr, "gain": gain, "s_mech": s_mech}
    results = trace_signals_together([pain.dorsal_horn for pain in pains], pains[0].params, pains[0].species, idx,
                                     ongoing, transduces, [m._trace_threshold_now() for m in models],
                                     [pain._trace_guess for pain in pains])  # fmt: skip
    rows = []
    for pain, (row, guess) in zip(pains, results, strict=True):  # over runs
        pain._trace_guess = guess
        rows.append(row)
    return rows
