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
* every other phase (cells, dosing, pain, recording) still runs run by run: each run's own code, in the batch's
  order. Moving a phase into the shared arrays is the way on (issue "Ensembles on one device"); each such move
  must keep what the test of this module checks: every run of a batch equals the same run made alone, bit for
  bit on NumPy (``tests/test_lockstep.py``).

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

import math

from neuroagents.errors import ConfigError, NumericalError
from neuroagents.model import NeuroImmuneModel
from neuroagents.tissue.batched_diffusion import step_together

__all__ = ["Lockstep", "structure_of"]


def structure_of(model) -> tuple:
    """What runs must share to step together: compartments, grids, mediators, solver, backend, dtype, time steps."""
    comps = tuple(
        (name, c.env.grid.shape, tuple(c.env.grid.spacing_um), c.env.names, c.env.solver, c.env.kernel,
         c.env.dtype.str, c.env.spec.shape4)
        for name, c in model.compartments.items()
    )  # fmt: skip
    return (model.backend.name, model.cell_kernels, model.cell_dt_min, model.diffusion_dt_min,
            tuple(model.phase_order), comps)  # fmt: skip


def _batched_diffusion(model) -> bool:
    """Whether the model's diffuse phase is the stock one (a subclass may have its own, which runs alone)."""
    return type(model)._phase_diffuse is NeuroImmuneModel._phase_diffuse


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
    def step(self) -> None:
        """Advance every run by one cell step, phase by phase; a run that raises is dropped (:attr:`dropped`)."""
        if not self.models:
            return
        dt = self.models[0].cell_dt_min
        for model in self.models:  # over runs: what Mesa's wrapper of ``step`` does first
            model.steps += 1
        for phase in self.models[0].phase_order:
            if phase == "diffuse" and all(map(_batched_diffusion, self.models)):
                self._diffuse(dt)
                continue
            for pos in reversed(range(len(self.models))):  # over runs (from the end: a drop leaves earlier ones)
                try:
                    getattr(self.models[pos], f"_phase_{phase}")(dt)
                except Exception as exc:  # the run's failure is its result; the others go on
                    self.drop(pos, exc)

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
