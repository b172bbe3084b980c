"""Counter-based random numbers: one uniform number per (stream key, cell id), held by no generator.

A draw from the model's generator advances its state by as many numbers as are drawn, so a rule that draws only
for the cells that need it (the movers into an overfull voxel) must first know how many there are: on a GPU a copy
to the host and a wait. A counter-based number is a pure function of a key and a counter (Salmon et al. 2011,
"Parallel random numbers: as easy as 1, 2, 3", SC11): a device can compute it for every cell without asking how
many will use it, and the host for just those cells, and both get the same numbers.

The function here is SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
OOPSLA; the output function of Java's ``SplittableRandom``, which passes BigCrush): the cell id times the golden
gamma, plus the key, through the 64-bit finalizer; the top 53 bits make a float64 in [0, 1). Keys come from
:func:`stream_key`: the run's key (from its seed, :func:`run_key`) mixed with a counter the model advances once per
use, so a stream never repeats within a run and does not depend on the order of the cells or on how many runs share
a device.

Examples
--------
>>> import numpy as np
>>> u = keyed_uniform(np, stream_key(7, 1), np.arange(4))
>>> bool(((0 <= u) & (u < 1)).all()), bool(keyed_uniform(np, stream_key(7, 1), np.arange(2, 3))[0] == u[2])
(True, True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["keyed_uniform", "mix64", "run_key", "stream_key"]

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def mix64(x: int) -> int:
    """SplitMix64's finalizer of a host integer (taken modulo 2**64)."""
    x &= _MASK
    x = ((x ^ (x >> 30)) * _M1) & _MASK
    x = ((x ^ (x >> 27)) * _M2) & _MASK
    return x ^ (x >> 31)


def stream_key(*parts: int) -> int:
    """One 64-bit key from integers (a run's key, a counter, a tag), each mixed in turn."""
    key = 0
    for part in parts:  # over a few integers
        key = mix64(key ^ mix64((int(part) + _GAMMA) & _MASK))
    return key


def run_key(rng) -> int:
    """A run's key from its NumPy generator, without drawing from it: two words of its seed sequence's state.

    A generator without a seed sequence (built from a bare bit generator's state) gives one draw instead.
    """
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if seq is None or not hasattr(seq, "generate_state"):
        return stream_key(int(rng.integers(2**63)))
    words = seq.generate_state(2, np.uint64)
    return stream_key(int(words[0]), int(words[1]))


def keyed_uniform(xp, key: int, ids):
    """Uniform numbers in [0, 1), one per id: ``(n,)`` float64 on ``xp`` (NumPy, CuPy or the strict module).

    Parameters
    ----------
    xp : module
    key : int
        From :func:`stream_key`.
    ids : ndarray of shape (n,), int
        Cell ids (>= 0); the same id and key give the same number on every backend.
    """
    z = ids.astype(xp.uint64) * xp.uint64(_GAMMA) + xp.uint64(key & _MASK)
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    z = z ^ (z >> xp.uint64(31))
    return (z >> xp.uint64(11)).astype(xp.float64) * (1.0 / 9007199254740992.0)
