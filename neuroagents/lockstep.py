"""Lockstep: several runs of one structure advanced together, phase by phase, their fields in shared arrays.

A :class:`Lockstep` holds ``B`` models (:class:`~neuroagents.model.NeuroImmuneModel`) that share a structure —
the same compartments with the same grids, mediators, solver, backend, dtype and time steps — and may differ in
anything else (seed, rates, doses, interventions, sex, ...). Its :meth:`~Lockstep.step` runs each phase of the
step (:data:`~neuroagents.model.PHASES`) for every run before the next phase, so a phase that can take the runs
together does so in one call:

* **diffuse**: each compartment's fields of the ``B`` runs are one array ``(B, M, *grid)`` (each run's
  :class:`~neuroagents.tissue.Microenvironment` holds a view of its slice, and so for its production and
  consumption terms), advanced by one kernel call (:mod:`neuroagents.tissue.batched_diffusion`);
* **the fields' check** after a step (:meth:`~Lockstep.check_fields`): one reduction per compartment for the
  batch, and the run named only when one fails;
* **the tissue's own rules** in the secrete phase, stromal COX-2 and swelling
  (:mod:`neuroagents.lockstep_tissue`), for runs whose numbers of those rules are equal (else run by run);
* **the pain phase** (:mod:`neuroagents.lockstep_pain`): the nociceptors of all runs as ``(B, n)`` rows computed
  by the reference's own code, one host copy for the batch, and the pain trace of all runs in two circuit-kernel
  calls (:mod:`neuroagents.pain.trace_batch`); each run's dorsal horn on the host, run by run;
* every other phase and part of a phase (cells, dosing, recording) still runs run by run: each run's own
  code, in the batch's order. Moving a phase into the shared arrays is the way on (issue "Ensembles on one
  device"; docs/gpu.md says in which order); each such move must keep what the test of this module checks:
  every run of a batch equals the same run made alone, bit for bit on NumPy (``tests/test_lockstep.py``).

A run that raises leaves the batch (:meth:`~Lockstep.drop`, with its error); the others go on, their arrays packed
again. The runs keep their own random generators, so nothing about a run depends on the batch it is in.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> runs = [NeuroImmuneModel(seed=s, width_um=200, height_um=200, n_mast_cells=3, n_macrophages=5,
...                          n_neurons=2) for s in (1, 2)]
>>> batch = Lockstep(runs)
>>> batch.step(); batch.check_fields()
>>> [m.steps for m in batch.models]
[1, 1]
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from neuroagents.errors import ConfigError, NumericalError
from neuroagents.lockstep_pain import together, trace_rows, trace_together, update_dorsal_horn, update_pain
from neuroagents.lockstep_tissue import clear_sources, secrete_stroma, update_swelling
from neuroagents.model import NeuroImmuneModel
from neuroagents.tissue.batched_diffusion import step_together

__all__ = ["SHARED_PHASES", "Lockstep", "structure_of"]


def structure_of(model) -> tuple:
    """What runs must share to step together: compartments, grids, mediators, solver, backend, dtype, time steps."""
    comps = tuple(
        (name, c.env.grid.shape, tuple(c.env.grid.spacing_um), c.env.names, c.env.solver, c.env.kernel,
         c.env.dtype.str, c.env.spec.shape4)
        for name, c in model.compartments.items()
    )  # fmt: skip
    return (model.backend.name, model.cell_kernels, model.cell_dt_min, model.diffusion_dt_min,
            tuple(model.phase_order), comps)  # fmt: skip


SHARED_PHASES = ("diffuse", "secrete", "pain")
"""The phases a batch runs (in whole or in part) for all its runs at once, when every run has the stock one."""


class Lockstep:
    """``B`` runs of one structure stepped together (module docstring).

    Parameters
    ----------
    models : sequence of NeuroImmuneModel
        The runs, built and not yet diverged in structure (:func:`structure_of` equal); at least one.

    Attributes
    ----------
    models : list
        The runs still in the batch, in the order given.
    dropped : dict
        ``{index in the order given: exception}`` of the runs that left it.
    """

    def __init__(self, models):
        models = list(models)
        if not models:
            raise ConfigError("models", models, "at least one model")
        first = structure_of(models[0])
        for i, m in enumerate(models[1:], start=1):  # over runs
            if structure_of(m) != first:
                raise ConfigError(f"models[{i}]", "a different structure",
                                  "runs of one structure (compartments, grids, mediators, backend, time steps)")
        self.models = models
        self.index = list(range(len(models)))  # position in the order given, of each run still in
        self.dropped: dict[int, BaseException] = {}
        self._caches: dict = {}
        self._together = {phase for phase in SHARED_PHASES  # a subclass's own phase runs run by run
                          if all(getattr(type(m), f"_phase_{phase}") is getattr(NeuroImmuneModel, f"_phase_{phase}")
                                 for m in models)}  # fmt: skip
        self._pack()

    # --- shared arrays -----------------------------------------------------------------------
    def _pack(self) -> None:
        """Put each compartment's fields (and source terms) of the runs into one ``(B, M, *grid)`` array each."""
        self.stacks = {}
        self._caches = {}
        if not self.models:
            return
        for name in self.models[0].compartments:  # over compartments (a handful)
            envs = [m.compartments[name].env for m in self.models]
            xp = envs[0].xp
            stacks = []
            for attr in ("fields", "_production", "_consumption"):  # the three arrays each run writes in place
                stack = xp.stack([getattr(env, attr) for env in envs])
                for k, env in enumerate(envs):  # over runs: each keeps a view of its slice
                    setattr(env, attr, stack[k])
                stacks.append(stack)
            self.stacks[name] = tuple(stacks)

    def drop(self, position: int, error: BaseException) -> None:
        """Take the run at ``position`` (in :attr:`models`) out of the batch, keeping ``error``; repack the rest."""
        self.dropped[self.index.pop(position)] = error
        self.models.pop(position)
        self._pack()

    # --- stepping -----------------------------------------------------------------------------
    def step(self, label=None) -> None:
        """Advance every run by one cell step, phase by phase; a run that raises is dropped (:attr:`dropped`).

        ``label``: a context manager factory called with each phase's name around it (the strict backend's
        ``xp.label``, to count device operations per phase: ``bench/device_calls.py --batch``).
        """
        if not self.models:
            return
        dt = self.models[0].cell_dt_min
        for model in self.models:  # over runs: what Mesa's wrapper of ``step`` does first
            model.steps += 1
        for phase in self.models[0].phase_order:
            with label(phase) if label is not None else contextlib.nullcontext():
                self._phase(phase, dt)

    def _phase(self, phase: str, dt: float) -> None:
        """One phase of every run: together where it can be, else run by run."""
        if phase not in self._together:
            self._each(lambda m: getattr(m, f"_phase_{phase}")(dt))
        elif phase == "diffuse":
            self._shared(self._diffuse, dt)
        elif phase == "secrete":  # the sources cleared together, the cells run by run, the tissue's rules together
            for name in list(self.models[0].compartments):  # over compartments
                self._shared(self._clear, name)
            self._each(lambda m: m._secrete_cells(clear=False))
            for name in list(self.models[0].compartments):  # over compartments
                self._shared(self._stroma, name, dt)
                drives: dict = {}
                self._shared(self._swelling, name, dt, drives)
                self._each(lambda m, name=name, d=drives: m._secrete_kinins(m.compartments[name], dt, d.get(id(m))))
            self._each(lambda m: m._release_injections(dt))
        elif phase == "pain":  # the pain update together where every run has the stock one, the trace run by run
            self._pain(dt)
        else:
            raise AssertionError(f"no shared version of the {phase!r} phase")

    def _each(self, work) -> None:
        """``work(model)`` for every run; a run that raises leaves the batch (:meth:`drop`), the others go on."""
        for pos in reversed(range(len(self.models))):  # over runs (from the end: a drop leaves earlier ones)
            try:
                work(self.models[pos])
            except Exception as exc:  # the run's failure is its result
                self.drop(pos, exc)

    def _shared(self, work, *args) -> None:
        """``work(*args)`` for all the runs at once; if it raises, no run can be told apart: every run fails."""
        if not self.models:
            return
        try:
            work(*args)
        except Exception as exc:
            for pos in reversed(range(len(self.models))):  # over runs
                self.drop(pos, exc)

    def _pain(self, dt: float) -> None:
        """The pain phase of every run: the pain update and the trace together where they can be
        (:mod:`neuroagents.lockstep_pain`), the dorsal horns run by run."""
        if not together(self.models):
            self._each(lambda m: m.pain.update(m, dt))
            self._each(lambda m: m._trace_pain())
            return
        shared: list = []
        self._shared(lambda: shared.extend(update_pain(self.models, dt, self.stacks)))
        if not shared:  # the shared update failed: every run left with its error
            return
        host, names = shared
        rows = {id(m): host[k] for k, m in enumerate(self.models)}
        self._each(lambda m: update_dorsal_horn(m, dt, rows[id(m)], names))
        if not self.models:
            return
        if not trace_together(self.models):
            self._each(lambda m: m._trace_pain())
            return
        if len(self.models) < host.shape[0]:  # a dorsal horn failed: its run has left the batch
            host = np.stack([rows[id(m)] for m in self.models])
        signals: dict = {}
        self._shared(lambda: signals.update(zip(map(id, self.models), trace_rows(self.models, host), strict=True)))
        self._each(lambda m: m._append_trace(signals[id(m)]))

    def _swelling(self, name: str, dt: float, drives: dict) -> None:
        """Swelling of compartment ``name`` in every run (together when their parameters are equal); each run's
        drive this step into ``drives`` (by ``id`` of its model), for its kinins."""
        swellings = [m.compartments[name].swelling for m in self.models]
        if len(swellings) > 1 and all(s.params == swellings[0].params for s in swellings):
            rows = update_swelling(swellings, dt, self.stacks[name][0])
            rows = [None if rows is None else rows[k] for k in range(len(swellings))]
        else:  # runs that differ in the swelling's numbers: each alone
            rows = [s.update(dt) for s in swellings]
        drives.update((id(m), row) for m, row in zip(self.models, rows, strict=True))

    def _clear(self, name: str) -> None:
        """The sources of compartment ``name`` in every run reset, before the cells secrete."""
        _, production, consumption = self.stacks[name]
        clear_sources([m.compartments[name].env for m in self.models], production, consumption)

    def _stroma(self, name: str, dt: float) -> None:
        """Stromal COX-2 of compartment ``name`` in every run: together when their parameters are equal."""
        stromas = [m.compartments[name].stroma for m in self.models]
        if len(stromas) > 1 and all(s.params == stromas[0].params for s in stromas):
            fields, production, _ = self.stacks[name]
            secrete_stroma(stromas, dt, fields, production)
        else:  # runs that differ in the stroma's numbers: each alone
            for s in stromas:  # over runs
                s.secrete(dt)

    def _diffuse(self, dt: float) -> None:
        """The diffuse phase of every run: per compartment, one call over the batch's fields per sub-step."""
        first = self.models[0]
        n_sub = max(1, math.ceil(dt / first.diffusion_dt_min - 1e-9))
        for name in first.compartments:  # over compartments
            envs = [m.compartments[name].env for m in self.models]
            for _ in range(n_sub):  # sub-steps in time
                self._caches[name] = step_together(envs, self.stacks[name], dt / n_sub, self._caches.get(name))

    def check_fields(self) -> None:
        """Drop every run whose fields hold a NaN, an infinity or a negative value (a
        :class:`~neuroagents.errors.NumericalError` naming the compartment and mediator, as a run alone raises).

        One reduction per compartment for the whole batch; the runs are looked at one by one only when it fails.
        """
        if not self.models:
            return
        from neuroagents.recording import check_fields

        bad = False
        for name, (fields, _, _) in self.stacks.items():  # over compartments
            xp = self.models[0].compartments[name].env.xp
            flat = fields.reshape(len(self.models), -1)
            if bool((~xp.isfinite(flat) | (flat < 0)).any()):
                bad = True
        if not bad:
            return
        for pos in reversed(range(len(self.models))):  # over runs: which ones
            try:
                check_fields(self.models[pos])
            except NumericalError as exc:
                self.drop(pos, exc)
