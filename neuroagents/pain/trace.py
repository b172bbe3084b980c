"""The pain trace: a few cheap pain signals every cell step, beside the full readouts at the record times.

The full readouts (:meth:`PainModel.readouts <neuroagents.pain.PainModel.readouts>`: the von Frey series on a
48-point force grid, Hargreaves, wind-up) are computed only when the model records, every ``record_every_min``.
The trace computes every cell step, after the pain update, what costs a few circuit evaluations:

* ``pain_ongoing_hz`` — P at the circuit's fixed point with the neurons' ongoing firing
  (:func:`~neuroagents.pain.readouts.ongoing_state`, the same call as the readout);
* ``pain_evoked_standard_hz`` — the peak P while the species' standard filament is held
  (:func:`~neuroagents.pain.readouts.von_frey_responses` for that one force);
* on *threshold steps* (every ``trace_threshold_every_steps`` steps, and every step the model records):
  ``withdrawal_threshold_g`` and ``withdrawal_threshold_interp_g``, defined as the readouts define them (the
  first filament of the species' series whose response reaches the criterion; the log-interpolated crossing on
  :data:`FINE_GRID_POINTS` log-spaced forces over the series) but computed from a few forces around the last
  crossing (:func:`trace_signals`): the readout evaluates 59 forces, the trace 3 or 4 on most steps. Wherever
  the response stays below the criterion at every force lighter than the crossing (it rises with force; a dip of
  0.007 Hz far below the criterion was seen, harmless) they equal the readouts; ``tests/test_pain_trace.py`` and
  ``bench/pain_trace.py`` check that they do at every record. On other steps these columns are NaN;
* ``neuron_mean_firing_hz``, ``mean_sensitization`` and ``spinal_disinhibition``, as in the readouts.

All of it runs on the host from one copy of the neurons' state that the pain update makes anyway
(:meth:`PainModel.update <neuroagents.pain.PainModel.update>`), so the trace adds no host sync to a step.
Rows go into a :class:`TraceBuffer` (a preallocated array that doubles when full).

Examples
--------
>>> buf = TraceBuffer(("step", "time_min"))
>>> for k in range(100):
...     buf.append((k + 1, 5.0 * (k + 1)))
>>> buf.n, buf.array()[-1].tolist()
(100, [100.0, 500.0])
"""

from __future__ import annotations

import functools

import numpy as np

from neuroagents.pain import readouts as ro
from neuroagents.pain.params import force_scale_g

__all__ = ["FINE_GRID_POINTS", "TRACE_COLUMNS", "WINDOWS", "TraceBuffer", "fine_forces", "trace_signals"]

TRACE_COLUMNS = {
    "step": "1 (cell steps since the start; row k is step k + 1)",
    "time_min": "min",
    "pain_ongoing_hz": "Hz",
    "pain_evoked_standard_hz": "Hz",
    "withdrawal_threshold_g": "g (threshold steps only)",
    "withdrawal_threshold_interp_g": "g (threshold steps only)",
    "neuron_mean_firing_hz": "Hz",
    "mean_sensitization": "1",
    "spinal_disinhibition": "1",
}
"""The trace's columns and their units (``docs/pain.md`` section 3)."""

FINE_GRID_POINTS = 48
"""Forces of the fine log-spaced grid over the species' series that ``withdrawal_threshold_interp_g``
interpolates on (the readout's and the trace's)."""

WINDOWS = (1, 4)
"""Half-widths of the windows of the fine grid tried in turn around the last crossing (:func:`trace_signals`):
``j - w .. j + w - 1``, the bracket itself first, then 8 forces; then the whole grid."""


class TraceBuffer:
    """Rows of floats in a preallocated array that doubles when full (amortized O(1) appends).

    Parameters
    ----------
    columns : sequence of str
        Column names; each row has one float per column.
    capacity : int
        Rows allocated at first.

    Attributes
    ----------
    n : int
        Rows appended.
    """

    def __init__(self, columns, capacity: int = 256):
        self.columns = tuple(columns)
        self.n = 0
        self._data = np.empty((max(1, int(capacity)), len(self.columns)))

    def append(self, row) -> None:
        """Append one row (a sequence of ``len(columns)`` numbers)."""
        if self.n == self._data.shape[0]:
            grown = np.empty((2 * self._data.shape[0], self._data.shape[1]))
            grown[: self.n] = self._data
            self._data = grown
        self._data[self.n] = row
        self.n += 1

    def array(self) -> np.ndarray:
        """The rows so far, ndarray of shape (n, len(columns)) (a view: copy it to keep it)."""
        return self._data[: self.n]

    def __getstate__(self) -> dict:
        """Pickle (checkpoints) only the rows written, not the spare capacity."""
        return {"columns": self.columns, "n": self.n, "_data": self._data[: max(1, self.n)].copy()}


@functools.lru_cache(maxsize=8)
def fine_forces(filaments_g: tuple[float, ...]) -> np.ndarray:
    """The fine grid: :data:`FINE_GRID_POINTS` log-spaced forces from the lightest filament to the heaviest, g,
    ndarray of shape (48,) (cached: read only).

    Examples
    --------
    >>> f = fine_forces((0.1, 1.0, 10.0))
    >>> float(f[0]), float(f[-1]), f.size
    (0.1, 10.0, 48)
    """
    out = np.geomspace(filaments_g[0], filaments_g[-1], FINE_GRID_POINTS)
    out.flags.writeable = False
    return out


def _window(filaments_g: tuple[float, ...], j: int, w: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The fine-grid indices ``lo``.. (``j - w .. j + w - 1``, at least two, inside the grid), their forces, and the
    filaments strictly between them."""
    fine = fine_forces(filaments_g)
    n = fine.size
    lo = max(min(j - w, n - 2), 0)
    hi = min(max(j + w - 1, lo + 1), n - 1)
    fil = np.asarray(filaments_g)
    return lo, fine[lo : hi + 1], fil[(fil > fine[lo]) & (fil < fine[hi])]


def _thresholds(filaments_g, fine_lo: int, fine_f, fine_r, fil_f, fil_r, criterion_hz: float):
    """``(withdrawal_threshold_g, withdrawal_threshold_interp_g, j)`` from the responses to a window of the fine grid
    (forces ``fine_f`` from index ``fine_lo``, responses ``fine_r``) and the filaments inside it (``fil_f``,
    ``fil_r``); None when the window does not hold the crossing (then it lies outside)."""
    fine = fine_forces(filaments_g)
    n = fine.size
    above = np.flatnonzero(fine_r >= criterion_hz)
    if above.size == 0:
        if fine_lo + fine_f.size < n:
            return None  # the crossing is heavier than the window
        return float(filaments_g[-1]), float(fine[-1]), n
    j = fine_lo + int(above[0])
    if above[0] == 0 and fine_lo > 0:
        return None  # the crossing may be lighter than the window
    interp_g = ro.threshold_from_responses(fine_f, fine_r, criterion_hz)[1]
    if j == 0:
        return float(filaments_g[0]), interp_g, 0
    reach = fil_f[(fil_f > fine[j - 1]) & (fil_r >= criterion_hz)]
    fil = np.asarray(filaments_g)
    return float(reach[0] if reach.size else fil[fil >= fine[j]][0]), interp_g, j


def trace_signals(dh, p, species, idx, ongoing_hz, transduces, *, threshold: bool,
                  guess: int = 0) -> tuple[dict[str, float], int]:  # fmt: skip
    """The trace's pain signals for the current state (host arrays, as :meth:`PainModel.readouts` uses).

    The thresholds are the readout's: the first filament whose response (peak P) reaches the criterion, and the
    log-interpolated crossing on the fine grid (:func:`fine_forces`). The response rises with force, so they
    follow from the fine-grid index ``j`` of the crossing (the first force at or above the criterion) and the
    few forces around it. The last crossing's bracket (fine-grid forces ``guess - 1`` and ``guess``) and any
    filament inside it are evaluated with the standard filament in one circuit call (3 or 4 forces; the readout
    evaluates 59); when the crossing has left it, a window of 8 fine-grid forces around it (:data:`WINDOWS`), and
    only when it has left that too, the whole grid and series, as the readout does. The results do not depend on
    ``guess``, only the cost.

    Parameters
    ----------
    dh : DorsalHorn
    p : PainParams
    species : Species
    idx : dict of ndarray of shape (n,)
        ``s_mech``, ``threshold_factor`` and ``gain`` (× excitability), as in the readouts.
    ongoing_hz, transduces : ndarray of shape (n,)
        Each neuron's ongoing firing (Hz) and transduction (1, less when injured).
    threshold : bool
        Also compute ``withdrawal_threshold_g`` and ``withdrawal_threshold_interp_g`` (NaN otherwise).
    guess : int
        The fine-grid index of the crossing at the last threshold step, 0 .. :data:`FINE_GRID_POINTS`.

    Returns
    -------
    (dict, int)
        The signals (the columns of :data:`TRACE_COLUMNS` but ``step`` and ``time_min``) and the index of the
        crossing now (the next ``guess``).
    """
    rest = ro.ongoing_state(dh, ongoing_hz, p)
    scale = force_scale_g(p, species)
    filaments = tuple(float(f) for f in species.filaments_g)
    nan = float("nan")
    out = {
        "pain_ongoing_hz": float(rest["P"][0]),
        "pain_evoked_standard_hz": nan,
        "withdrawal_threshold_g": nan,
        "withdrawal_threshold_interp_g": nan,
        "neuron_mean_firing_hz": float(ongoing_hz.mean()) if ongoing_hz.size else 0.0,
        "mean_sensitization": float(idx["s_mech"].mean()),
        "spinal_disinhibition": float(dh.disinhibition),
    }

    def responses(forces_g):
        f_a_onset, f_a, f_noci = ro.mechanical_afferents(forces_g / scale, idx, ongoing_hz, transduces, p)
        return ro.von_frey_responses(dh, f_a_onset, f_a, f_noci, rest, p)

    standard = np.array([species.evoked_force_g])
    if not threshold:
        out["pain_evoked_standard_hz"] = float(responses(standard)[0])
        return out, guess
    j = min(max(int(guess), 0), FINE_GRID_POINTS)
    found = None
    for w in WINDOWS:  # the bracket of the last crossing, with the standard filament; then a wider window
        lo, fine_f, fil_f = _window(filaments, j, w)
        first = np.isnan(out["pain_evoked_standard_hz"])
        resp = responses(np.concatenate([standard, fine_f, fil_f]) if first else np.concatenate([fine_f, fil_f]))
        if first:
            out["pain_evoked_standard_hz"], resp = float(resp[0]), resp[1:]
        found = _thresholds(filaments, lo, fine_f, resp[: fine_f.size], fil_f, resp[fine_f.size :], p.criterion_hz)
        if found is not None:
            break
    if found is None:  # the crossing left both windows: the whole grid and series, as the readout
        fine, fil = fine_forces(filaments), np.asarray(filaments)
        r = responses(np.concatenate([fine, fil]))
        above = np.flatnonzero(r[: fine.size] >= p.criterion_hz)
        found = (ro.threshold_from_responses(fil, r[fine.size :], p.criterion_hz)[0],
                 ro.threshold_from_responses(fine, r[: fine.size], p.criterion_hz)[1],
                 int(above[0]) if above.size else fine.size)  # fmt: skip
    out["withdrawal_threshold_g"], out["withdrawal_threshold_interp_g"], j = found
    return out, j
