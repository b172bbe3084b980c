"""Fused cell kernels (numba, on the CPU): each cell type's phases as compiled loops over its cells.

The vectorized NumPy phase methods of the cell types (:mod:`neuroagents.cells`) are **the reference**: they read
like the rules. A fused kernel computes the same thing per cell in one pass (gather the ligands, receptor
occupancy, kinase gates, pathway relaxation, the state rule, the scatter-add of secretion) instead of a few dozen
whole-array NumPy passes, and is checked against the reference in ``tests/test_cell_kernels.py``.

**Same numbers, bit for bit.** The kernels do the reference's float64 operations in the reference's order (no
``fastmath``: no fused multiply-adds, no reassociation), and scatter-add in cell order as ``np.add.at`` does. The
one operation they cannot repeat is NumPy's ``exp`` of an array: NumPy uses its own SIMD ``exp``, which differs
from the C library's in the last bit for a few per cent of arguments, and a last-bit difference in a probability
flips a random draw sooner or later. So wherever the reference takes ``exp`` of a per-cell array (the macrophage's
tolerance and transition probability), the kernel stops, NumPy takes the ``exp``, and a second kernel finishes;
scalar ``exp`` are taken by the caller as the reference takes them. Random numbers are drawn by the model's
generator, in the reference's order and sizes, and passed in as arrays. A seeded run therefore gives the same
results with ``cell_kernels="numba"`` as with ``"reference"`` (``tests/test_golden.py`` passes with either).

**Choice.** ``NeuroImmuneModel(cell_kernels=...)``: ``"auto"`` (default) is ``"numba"`` on the NumPy backend and
``"reference"`` elsewhere (CuPy, and the strict backend that checks host syncs: a numba kernel reads device arrays
on the host); ``"reference"`` forces the NumPy phases. A kernel serves only the exact class it was written for
(a subclass that changes a rule keeps the reference) and only inputs it knows: where a compartment's inhibition
differs from cell to cell (an array), the reference runs.

Modules: :mod:`.signaling` (ligands -> pathway activity, every type with receptors), :mod:`.macrophage`
(sense, decide, secrete), :mod:`.motility` (turn and step of the random walk).
"""

from __future__ import annotations

import numpy as np

from neuroagents.errors import ConfigError

__all__ = ["CELL_KERNELS", "Fused", "fused_for", "resolve_cell_kernels"]

CELL_KERNELS = ("auto", "numba", "reference")


class Fused:
    """The fused phases of one cell type (each None where the reference runs).

    Parameters
    ----------
    sense, decide, secrete, walk : callable or None
        ``sense(ct, dt_min)``, ``decide(ct, dt_min)``, ``secrete(ct)``, ``walk(ct, dt_min, speed)``: do the work
        of the cell type's method of that name and return True, or return False having done nothing (inputs the
        kernel does not know: the reference method then runs).

    Attributes
    ----------
    crowding : neuroagents.cells.kernels.crowding.Scratch or None
        The walk's crowding work arrays, kept between steps (made at the first walk).
    """

    __slots__ = ("crowding", "decide", "secrete", "sense", "walk")

    def __init__(self, sense=None, decide=None, secrete=None, walk=None):
        self.sense, self.decide, self.secrete, self.walk = sense, decide, secrete, walk
        self.crowding = None


def resolve_cell_kernels(choice: str, backend_name: str) -> str:
    """``"numba"`` or ``"reference"`` for the option ``cell_kernels=choice`` on backend ``backend_name``."""
    if choice not in CELL_KERNELS:
        raise ConfigError("cell_kernels", choice, f"one of {list(CELL_KERNELS)}")
    if choice == "auto":
        return "numba" if backend_name == "numpy" else "reference"
    if choice == "numba" and backend_name != "numpy":
        raise ConfigError("cell_kernels", choice, f"'reference' or 'auto' on the {backend_name!r} backend "
                          "(numba kernels read host arrays)")  # fmt: skip
    return choice


def fused_for(cell_type, kernels: str) -> Fused | None:
    """The fused phases for ``cell_type`` (an instance), or None for the reference.

    Only methods the class inherits unchanged from the class a kernel was written for are fused.
    """
    if kernels != "numba":
        return None
    from neuroagents.cells.base import CellType
    from neuroagents.cells.kernels import macrophage, motility, signaling
    from neuroagents.cells.macrophage import Macrophage

    cls = type(cell_type)
    if cell_type.model.env.fields.dtype != np.float64:  # float32 fields: NumPy's mixed-precision rules apply
        return None

    def same(name, owner):
        return getattr(cls, name) is getattr(owner, name)

    fused = Fused()
    if same("walk", CellType):
        fused.walk = motility.walk
    if cls is Macrophage:
        fused.sense, fused.decide, fused.secrete = macrophage.sense, macrophage.decide, macrophage.secrete
    elif cell_type.signaling is not None and all(same(m, CellType) for m in ("sense", "sensed", "receptor_inhibition")):
        fused.sense = signaling.sense
    return fused
