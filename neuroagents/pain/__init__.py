"""The pain signal: nociceptor sensitization, dorsal-horn central sensitization, behaviour.

:class:`PainModel` is the model's pain seam (replacing
:class:`~neuroagents.cells.neuron.IntrinsicActivity`). Every step
(``update``) it reads the mediators at each neuron, advances peripheral
sensitization and hyperalgesic priming, writes the neurons' ongoing
``firing_hz`` (incl. ectopic discharge of injured neurons) and relaxes the
dorsal horn's slow state (disinhibition, NMDA gain) toward what the spinal
mediators drive. When the model records, ``readouts`` simulates the
behavioural tests from the current state. Equations and parameter table:
``docs/pain.md``.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=5)
>>> m.pain = PainModel(m, species="mouse")
>>> m.pain.update(m, 1.0)
>>> r = m.pain.readouts(m)
>>> 0.6 <= r["withdrawal_threshold_g"] <= 1.0
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.pain import readouts as ro
from neuroagents.pain import trace
from neuroagents.pain.dorsal_horn import SPINAL_MEDIATORS, DorsalHorn
from neuroagents.pain.nociceptor import CHANNELS, Nociceptors, channel_targets
from neuroagents.pain.params import SPECIES, PainParams, force_scale_g, resolve_species
from neuroagents.pain.rating import nrs_from_ongoing, rating_anchors
from neuroagents.params import build_params

__all__ = ["SPECIES", "PainModel", "PainParams", "grid_mean_spinal", "spinal_env", "spinal_levels", "trace_parts"]


def spinal_env(model):
    """The microenvironment whose fields the dorsal horn reads: the dorsal-horn compartment's, or the one tissue
    patch's when the model has no dorsal horn."""
    axons = getattr(model, "axons", None)
    return axons.spinal.env if axons is not None and axons.spinal is not None else model.env


def spinal_levels(model, names, means) -> dict[str, float]:
    """The spinal levels the dorsal horn reads, nM: each mediator's grid mean (``means``, host, in the order of
    ``names``) times its free fraction in the dorsal horn (neutralizing antibodies)."""
    out = {}
    for m, mean in zip(names, means, strict=True):  # five mediators
        free = model.free_fraction(m, spinal=True) if hasattr(model, "free_fraction") else 1.0
        out[m] = free * float(mean)
    return out


def grid_mean_spinal(model) -> dict[str, float]:
    """Spinal mediator levels (nM): the mean of each field over the dorsal-horn compartment's grid.

    A model with one tissue patch has no dorsal horn: its grid stands in for it. Pass another callable as
    ``PainModel(..., spinal=...)`` to re-point it.
    """
    env = spinal_env(model)
    present = [m for m in SPINAL_MEDIATORS if m in env.names]
    if not present:
        return {}
    means = model.backend.to_host(env.xp.stack([env.fields[env.index(m)].mean() for m in present]))  # one copy
    return spinal_levels(model, present, means)


def trace_parts(host, n: int) -> tuple:
    """The neurons' state in the pain trace's host copy (:meth:`PainModel._copy_for_trace`): ``host`` is
    ``(..., 1 + 5 n [+ more])``, the mean firing then ``n`` each of firing, threshold factor, gain (× excitability),
    transduction and mechanical sensitization; returns those five, each ``(..., n)``."""
    return tuple(host[..., 1 + k * n : 1 + (k + 1) * n] for k in range(5))


def _neurons(model):
    """The model's neuron population (in the somata's compartment), or None."""
    neurons = getattr(model, "neurons", None)
    return neurons if neurons is not None else model.cell_types.get("neuron")


class PainModel:
    """Peripheral and central sensitization and the readouts derived from them.

    Parameters
    ----------
    model : NeuroImmuneModel
        Provides ``cell_types["neuron"]``, ``env``, ``inhibition``, ``backend``.
    params : Mapping or PainParams, optional
        Overrides of :class:`PainParams` fields (validated; errors name the key
        as ``pain.<key>``).
    species : {"mouse", "rat", "human"}
        Sets the von Frey series and the force scale.
    spinal : callable, optional
        ``spinal(model) -> {mediator: nM}`` for BDNF, TNF, IL1B, IL6 in the
        dorsal horn; default :func:`grid_mean_spinal`.
    """

    def __init__(self, model, params=None, species: str = "mouse", *, spinal: Callable | None = None):
        if isinstance(params, PainParams):
            params = dataclasses.asdict(params)
        self.params = build_params(PainParams, params, "pain")
        self.species = resolve_species(species)
        self.nociceptors = Nociceptors(self.params, model.xp)
        self.dorsal_horn = DorsalHorn(self.params)
        self.rating_anchors = rating_anchors(self.dorsal_horn, self.params)  # P_0, P_10 of the 0-10 rating, Hz
        self.spinal = spinal or grid_mean_spinal
        self._windup_cache: dict[tuple, tuple[float, float]] = {}
        self._trace_host: np.ndarray | None = None  # the pain update's host copy, read by trace_signals
        self._trace_guess = 0  # the fine-grid index of the last threshold crossing (neuroagents.pain.trace)
        neurons = _neurons(model)
        if neurons is not None and neurons.n:
            self.nociceptors.align(neurons.pop.ids)
            self._write_firing(model)

    # --- the step ------------------------------------------------------------------------------
    def update(self, model, dt_min: float) -> None:
        """Advance sensitization, priming and the dorsal horn's slow state by ``dt_min``; set ``firing_hz``.

        The neurons' mean firing (the dorsal horn's afferent input) crosses to the host in one copy with what
        :meth:`trace_signals` needs, so the trace costs the step no sync of its own.
        """
        neurons = _neurons(model)
        self._trace_host = None
        if neurons is not None and neurons.n:
            self.nociceptors.align(neurons.pop.ids)
            conc = self.nociceptors.concentrations(model)
            self.nociceptors.step(conc, model.inhibition, dt_min)
            self._write_firing(model)
        afferent_hz = 0.0
        if neurons is not None and neurons.n:
            self._trace_host = self._copy_for_trace(model, neurons)
            afferent_hz = float(self._trace_host[0])
        inhibition = getattr(model, "spinal_inhibition", model.inhibition)
        self.dorsal_horn.update(self.spinal(model), inhibition, dt_min, afferent_hz)

    def _copy_for_trace(self, model, neurons) -> np.ndarray:
        """One host copy of the neurons' mean firing (Hz), then their firing, threshold factor, gain (×
        excitability), transduction and mechanical sensitization: ndarray of shape (1 + 5 n,)."""
        xp, pop = model.xp, neurons.pop
        idx = self.nociceptors.indices()
        transduces = xp.where(pop["state"] == 1, self.params.injured_transduction, 1.0)
        firing = pop["firing_hz"]
        parts = (xp.reshape(firing.mean(), (1,)), firing, idx["threshold_factor"], idx["gain"] * pop["excitability"],
                 transduces, idx["s_mech"])  # fmt: skip
        return model.backend.to_host(xp.concatenate([xp.asarray(a, dtype=xp.float64) for a in parts]))

    def trace_signals(self, model, *, threshold: bool) -> dict[str, float]:
        """The pain trace's signals now (:func:`neuroagents.pain.trace.trace_signals`), right after :meth:`update`.

        Uses the host copy :meth:`update` made (a naive neuron when there are none, as :meth:`readouts`);
        ``threshold`` adds the two withdrawal thresholds.
        """
        host = self._trace_host
        neurons = _neurons(model)
        if host is None or neurons is None or neurons.n == 0:
            idx, ongoing, transduces, _ = self._host_state(model)
        else:
            ongoing, thr, gain, transduces, s_mech = trace_parts(host, (host.size - 1) // 5)
            idx = {"threshold_factor": thr, "gain": gain, "s_mech": s_mech}
        out, self._trace_guess = trace.trace_signals(self.dorsal_horn, self.params, self.species, idx, ongoing,
                                                     transduces, threshold=threshold,
                                                     guess=self._trace_guess)  # fmt: skip
        return out

    def _write_firing(self, model) -> None:
        neurons = _neurons(model)
        pop = neurons.pop
        pop["firing_hz"] = self.nociceptors.ongoing_hz(
            (pop["state"] == 1), pop["excitability"], neurons.params.baseline_hz, neurons.params.ectopic_hz
        )

    # --- readouts ------------------------------------------------------------------------------
    def _host_state(self, model):
        """Per-neuron indices, ongoing firing and transduction on the host (a naive neuron if there are none)."""
        p = self.params
        neurons = _neurons(model)
        if neurons is None or neurons.n == 0:
            idx = {"s_mech": np.zeros(1), "threshold_factor": np.ones(1), "s_heat": np.zeros(1),
                   "heat_half_C": np.full(1, p.heat_half_C), "gain": np.ones(1)}  # fmt: skip
            base = neurons.params.baseline_hz if neurons is not None else 0.0
            return idx, np.full(1, base), np.ones(1), np.zeros(1)
        self.nociceptors.align(neurons.pop.ids)
        host = model.backend.to_host
        idx = {k: host(v) for k, v in self.nociceptors.indices().items()}
        idx["gain"] = idx["gain"] * host(neurons.pop["excitability"])  # intrinsic excitability scales evoked firing
        injured = host(neurons.pop["state"]) == 1
        transduces = np.where(injured, p.injured_transduction, 1.0)
        return idx, host(neurons.pop["firing_hz"]), transduces, host(self.nociceptors.priming)

    def readouts(self, model) -> dict[str, float]:
        """The pain readouts now, as plain floats.

        Returns
        -------
        dict
            ``pain_ongoing_hz`` (P without stimulus, spikes/s), ``pain_rating_nrs`` (the 0-10 rating of that
            ongoing pain, :mod:`neuroagents.pain.rating`), ``pain_evoked_hz``
            (peak P averaged over the species' von Frey series, spikes/s: the area under the
            stimulus-response curve, which keeps separating conditions after the response to any one
            filament has saturated), ``pain_evoked_standard_hz`` (peak P for the species' standard
            filament, spikes/s),
            ``withdrawal_threshold_g`` (first filament reaching the criterion, g),
            ``withdrawal_threshold_interp_g`` (interpolated crossing, g),
            ``heat_latency_s`` (Hargreaves, s), ``windup_ratio`` and
            ``windup_ratio_nmda_blocked`` (16th / 1st response, 1),
            ``neuron_mean_firing_hz`` (Hz), ``mean_sensitization`` and
            ``mean_heat_sensitization`` (0..1), ``mean_priming`` (0..1),
            ``spinal_disinhibition`` (0..1), ``spinal_nmda_gain`` (1 = naive),
            ``spinal_kcc2_loss`` (0..1), ``spinal_astrocytes`` (reactive fraction, 0..1),
            ``spinal_potentiation`` (primary-afferent synapses on P, 1 = naive).
        """
        p, sp, dh = self.params, self.species, self.dorsal_horn
        idx, ongoing, transduces, priming = self._host_state(model)
        rest = ro.ongoing_state(dh, ongoing, p)
        scale = force_scale_g(p, sp)
        filaments = np.asarray(sp.filaments_g)
        fine = trace.fine_forces(tuple(float(f) for f in sp.filaments_g))
        forces = np.concatenate([filaments, fine, [sp.evoked_force_g]])
        f_a_onset, f_a, f_noci = ro.mechanical_afferents(forces / scale, idx, ongoing, transduces, p)
        resp = ro.von_frey_responses(dh, f_a_onset, f_a, f_noci, rest, p)
        nf = filaments.size
        thr_g, _ = ro.threshold_from_responses(filaments, resp[:nf], p.criterion_hz)
        _, thr_interp_g = ro.threshold_from_responses(fine, resp[nf : nf + fine.size], p.criterion_hz)
        f_c_ongoing = ro.pooled_nociceptor_hz(p, p.fibre_background_hz, float(ongoing.mean()))
        key = (round(dh.g_max, 3), round(dh.w_ip, 3), round(dh.potentiation, 3), round(f_c_ongoing, 3))  # slow
        if key not in self._windup_cache:
            if len(self._windup_cache) > 256:
                self._windup_cache.clear()
            self._windup_cache[key] = ro.windup_ratios(dh, f_c_ongoing, p)
        wu, wu_blocked = self._windup_cache[key]
        return {
            "pain_ongoing_hz": float(rest["P"][0]),
            "pain_rating_nrs": nrs_from_ongoing(float(rest["P"][0]), self.rating_anchors),
            "pain_evoked_hz": float(resp[:nf].mean()),
            "pain_evoked_standard_hz": float(resp[-1]),
            "withdrawal_threshold_g": thr_g,
            "withdrawal_threshold_interp_g": thr_interp_g,
            "heat_latency_s": ro.hargreaves_latency_s(dh, idx, ongoing, transduces, rest, p),
            "windup_ratio": wu,
            "windup_ratio_nmda_blocked": wu_blocked,
            "neuron_mean_firing_hz": float(ongoing.mean()) if ongoing.size else 0.0,
            "mean_sensitization": float(idx["s_mech"].mean()),
            "mean_heat_sensitization": float(idx["s_heat"].mean()),
            "mean_priming": float(priming.mean()) if priming.size else 0.0,
            "mean_mu_opioid_receptors": self._mean_mor(model),
            "spinal_disinhibition": float(dh.disinhibition),
            "spinal_nmda_gain": float(dh.nmda_gain),
            "spinal_kcc2_loss": float(dh.kcc2_loss),
            "spinal_astrocytes": float(dh.astrocytes),
            "spinal_potentiation": float(dh.potentiation),
        }

    def _mean_mor(self, model) -> float:
        """Mean μ-receptor availability at the neurons' terminals (``mor_rest`` without neurons)."""
        neurons = _neurons(model)
        if neurons is None or neurons.n == 0:
            return float(self.params.mor_rest)
        self.nociceptors.align(neurons.pop.ids)
        return float(model.backend.to_host(self.nociceptors.mor.mean()))

    def inspect_neuron(self, model, row: int) -> dict:
        """Everything the pain model knows about the neuron in population row ``row``, for people."""
        neurons = _neurons(model)
        if not 0 <= row < neurons.n:
            raise ConfigError("row", row, f"a neuron row in [0, {neurons.n})")
        self.nociceptors.align(neurons.pop.ids)
        host = model.backend.to_host
        p = self.params
        conc = {k: float(host(v)[row]) for k, v in self.nociceptors.concentrations(model).items()}
        one = {k: np.array([v]) for k, v in conc.items()}
        noc = self.nociceptors
        target = channel_targets(one, 1, model.inhibition, p, mor=np.array([float(host(noc.mor)[row])]),
                                 b2=np.array([float(host(noc.b2)[row])]))  # fmt: skip
        idx = {k: float(host(v)[row]) for k, v in self.nociceptors.indices().items()}
        scale = force_scale_g(p, self.species)
        return {
            "id": int(host(neurons.pop.ids)[row]),
            "injured": bool(host(neurons.pop["state"])[row] == 1),
            "sensed_nM": conc,
            "channel_drive": {ch: float(host(self.nociceptors.drive[ch])[row]) for ch in CHANNELS},
            "channel_target": {ch: float(target[ch][0]) for ch in CHANNELS},
            "priming": float(host(self.nociceptors.priming)[row]),
            "mu_opioid_receptors": float(host(self.nociceptors.mor)[row]),
            "mechanical_sensitization": idx["s_mech"],
            "c_half_activation_force_g": p.c_threshold * idx["threshold_factor"] * scale,
            "heat_half_activation_C": idx["heat_half_C"],
            "gain": idx["gain"],
            "firing_hz": float(host(neurons.pop["firing_hz"])[row]),
        }
