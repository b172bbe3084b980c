"""A strict array module: NumPy that refuses, like a GPU would cost, every copy of data to the host.

On CuPy, anything that needs a value on the host — ``bool(a.any())``, ``int(n)``, ``float(x)``, ``.item()``,
boolean-mask indexing, ``nonzero``, ``bincount`` (it sizes its output by ``int(x.max())``) — copies from the
device and waits for the queue to drain: a *host synchronization*. A step should have none. :class:`StrictXP`
is an array module (used as ``xp``) that wraps NumPy: its arrays (:class:`StrictArray`) compute exactly what
NumPy computes, but every operation that would synchronize on a GPU calls :meth:`StrictXP.sync`, which raises
:class:`HostSyncError` naming the operation (``mode="raise"``) or records it with the line of neuroagents code
that asked for it and carries on (``mode="record"``, for an inventory). Code that asks for data on purpose,
where data must cross (recording, checkpoints, drawing, resizing a population), is *allowed* by naming the
function that does it (``allow``); its syncs are recorded as allowed and never raise.

What syncs (each a named operation): ``bool``, ``int``, ``float``, ``index`` (``operator.index``, a data value
used as a size or an index in Python), ``complex``, ``format``, ``iteration``, ``.item()``, ``.tolist()``,
``.get()``, ``asnumpy``, ``__array__`` (``np.asarray`` of it, or NumPy or numba reading it), boolean-mask
indexing and assignment (CuPy counts the mask on the host), and the functions whose output size depends on data
or that check data on the host: ``nonzero``, ``flatnonzero``, ``argwhere``, ``where`` with one argument,
``compress``, ``extract``, ``unique``, ``bincount`` (with or without ``minlength``), ``histogram``,
``repeat`` with per-element counts, ``put``/``choose`` with ``mode="raise"``.

What does not: elementwise math and comparisons, reductions (they return 0-d arrays, as CuPy's do), shapes and
``len()`` (host metadata on CuPy too; a shape can only depend on data through one of the operations above),
integer-array gather and assignment, ``take``, ``put``, ``where`` with three arguments, ``ufunc.at``
(``xp.add.at``: the fixed-shape scatter-add), sorting, cumulative sums, random draws, and copying host data in
(``xp.asarray`` of a NumPy array).

Examples
--------
>>> sx = StrictXP()
>>> a = sx.arange(4.0)
>>> b = (a * 2).sum()            # stays an array
>>> sx.asnumpy(b * 1, allowed=True).tolist()
12.0
>>> bool(b > 3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
neuroagents.strict_xp.HostSyncError: bool() of a device array copies it to the host...
"""

from __future__ import annotations

import contextlib
import operator
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from neuroagents.errors import NeuroagentsError

__all__ = ["HostSyncError", "StrictArray", "StrictXP", "Sync"]

_PACKAGE = Path(__file__).resolve().parent
_HERE = Path(__file__).resolve()
_PASS_THROUGH = (_HERE, _PACKAGE / "backend.py")  # a sync is reported at the caller of these

# functions whose output shape depends on the data, or that test data on the host, on CuPy
_SIZED_BY_DATA = {
    "nonzero", "flatnonzero", "argwhere", "compress", "extract", "unique", "unique_values", "unique_counts",
    "unique_inverse", "unique_all", "bincount", "histogram", "trim_zeros", "setdiff1d", "intersect1d", "union1d",
}  # fmt: skip
# functions that return a Python bool computed from the data
_DATA_BOOL = {"array_equal", "array_equiv", "allclose"}
# functions and methods that only read metadata or return a view: no device work (not counted by count_calls)
_NO_LAUNCH = {
    "ndim", "shape", "size", "result_type", "can_cast", "broadcast_shapes", "promote_types", "reshape", "view",
    "transpose", "squeeze", "swapaxes", "expand_dims", "isscalar", "iterable", "broadcast_to", "broadcast_arrays",
    "atleast_1d", "atleast_2d",
}  # fmt: skip


class HostSyncError(NeuroagentsError, RuntimeError):
    """An operation inside a device step would copy device data to the host and wait for the device."""


@dataclass(frozen=True)
class Sync:
    """One host synchronization seen by :class:`StrictXP`.

    Attributes
    ----------
    op : str
        The operation (``"bool"``, ``"boolean-mask indexing"``, ``"bincount"``, ...).
    where : str
        ``path:line (function)`` of the innermost frame in the package (or in its checkout: tests, benchmarks)
        outside this module and :mod:`neuroagents.backend`, path relative to the package's parent.
    label : str
        What the caller was doing (:meth:`StrictXP.label`), e.g. the step's phase.
    allowed : str or None
        The allowed function (``"path:function"``) it happened under, or None.
    """

    op: str
    where: str
    label: str
    allowed: str | None


class StrictXP:
    """NumPy as an array module that reports host synchronizations (see the module's docstring).

    Parameters
    ----------
    mode : {"raise", "record"}
        ``"raise"``: a sync outside ``allow`` raises :class:`HostSyncError`. ``"record"``: every sync is appended
        to :attr:`syncs` and the operation goes on with NumPy's result.
    allow : iterable of str
        Functions allowed to synchronize, as ``"path:function"`` with ``path`` relative to the package's
        parent (``"neuroagents/cells/population.py:Population.remove"``; a method by its qualified name). A sync
        with such a function anywhere on its stack is allowed.

    Attributes
    ----------
    syncs : list of Sync
        What was seen (in ``"raise"`` mode, the allowed ones only).
    """

    ndarray = None  # set below to StrictArray (isinstance checks through xp.ndarray)

    def __init__(self, *, mode: str = "raise", allow=()):
        if mode not in ("raise", "record"):
            raise ValueError(f"StrictXP.mode = {mode!r}: must be 'raise' or 'record'")
        self.mode = mode
        self.allow = frozenset(allow)
        self.syncs: list[Sync] = []
        self.calls: Counter | None = None  # device operations, when counted (count_calls)
        self._sites = False
        self._label = ""
        self.random = _StrictRandom(self)

    def __repr__(self) -> str:
        return f"StrictXP(mode={self.mode!r}, {len(self.allow)} allowed functions)"

    # --- reporting ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def label(self, name: str):
        """Attribute the syncs inside the ``with`` block to ``name`` (e.g. a phase of the step)."""
        old, self._label = self._label, name
        try:
            yield
        finally:
            self._label = old

    def count_calls(self, *, sites: bool = False) -> Counter:
        """Count, from now on, every operation that would launch work on a GPU (a kernel, a fill, a copy, a draw):
        elementwise math, reductions, gathers and scatters, assignments, allocations, random draws, and each
        diffusion kernel call as one. Views (slices, ``reshape``) and metadata are not counted.

        Returns the counter :attr:`calls`, keyed ``(label, operation, site)``; ``site`` is the line of neuroagents
        code that asked (``sites=True``; a walk up the stack per operation, for inventories) or ``""``.
        On CuPy each counted operation is at least one kernel launch: a few microseconds of host time each,
        whatever the size of the array (a proxy for the launches of a step, not a count of them).
        """
        self.calls, self._sites = Counter(), sites
        return self.calls

    def launch(self, op: str) -> None:
        """Count one device operation ``op`` (when :meth:`count_calls` is on)."""
        if self.calls is not None:
            self.calls[self._label, op, self._where(sys._getframe(1))[0] if self._sites else ""] += 1

    def _where(self, frame):
        """The first frame of package code above ``frame`` (its ``path:line (function)``) and the first allowed
        function on the stack (or None)."""
        where, allowed = None, None
        while frame is not None:
            path = Path(frame.f_code.co_filename)
            if (path not in _PASS_THROUGH and path.is_relative_to(_PACKAGE.parent)  # the package, or its checkout
                    and "site-packages" not in path.parts):  # (not a virtual environment inside the checkout)
                rel = path.relative_to(_PACKAGE.parent).as_posix()
                if where is None:
                    where = f"{rel}:{frame.f_lineno} ({frame.f_code.co_qualname})"
                name = f"{rel}:{frame.f_code.co_qualname}"
                if name in self.allow:
                    allowed = name
                    break
            frame = frame.f_back
        return where, allowed

    def sync(self, op: str) -> None:
        """Report the host synchronization ``op``: raise or record it (see the class's ``mode``)."""
        where, allowed = self._where(sys._getframe(1))
        record = Sync(op, where or "(outside the package)", self._label, allowed)
        if allowed is None and self.mode == "raise":
            raise HostSyncError(
                f"{op} of a device array copies it to the host and waits for the device, at {record.where}"
                + (f" during {self._label}" if self._label else "")
                + "; keep the value an array, use a fixed-size form, or move this to a declared sync point"
            )
        self.syncs.append(record)

    def inventory(self, *, allowed: bool | None = None) -> Counter:
        """Counts of ``(label, where, op)`` over :attr:`syncs` (all, only allowed, or only forbidden ones)."""
        return Counter(
            (s.label, s.where, s.op) for s in self.syncs if allowed is None or (s.allowed is not None) == allowed
        )

    # --- crossing on purpose ------------------------------------------------------------------------------
    def asnumpy(self, a, *, allowed: bool = False) -> np.ndarray:
        """A NumPy copy of ``a`` (a sync, like ``cupy.asnumpy``; ``allowed=True`` only in examples and tests)."""
        if not allowed:
            self.sync("asnumpy")
        return np.array(_unwrap(a))

    def device_kernels(self, module):
        """``module``'s ``lod_step`` and ``explicit_step`` (:mod:`neuroagents.tissue.diffusion.registry`) taking
        strict arrays: they run on the data in place, as a CUDA kernel runs on device arrays, without a sync."""
        return _DeviceKernels(module, self)

    # --- the module ---------------------------------------------------------------------------------------
    def __getattr__(self, name: str):
        attr = getattr(np, name)
        if isinstance(attr, np.ufunc):
            return _StrictUfunc(self, attr)
        if callable(attr) and not isinstance(attr, type):
            return _StrictFunction(self, attr)
        return attr  # dtypes, constants (pi, inf, newaxis), submodules we do not wrap

    def wrap(self, value):
        """NumPy arrays and scalars in ``value`` (nested tuples and lists too) as :class:`StrictArray`."""
        if isinstance(value, np.ndarray):
            return StrictArray(value, self)
        if isinstance(value, np.generic):
            return StrictArray(np.asarray(value), self)
        if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
            return type(value)(self.wrap(v) for v in value)
        return value

    def check_call(self, name: str, args, kwargs) -> None:
        """Report the calls of NumPy function ``name`` that would synchronize on CuPy."""
        if name in _SIZED_BY_DATA:
            self.sync(name)
        elif name == "where" and len(args) + len(kwargs) == 1:
            self.sync("where with one argument")
        elif name == "repeat":
            reps = args[1] if len(args) > 1 else kwargs.get("repeats")
            if isinstance(reps, (StrictArray, np.ndarray)) and np.ndim(_unwrap(reps)) > 0:
                self.sync("repeat with per-element counts")
        elif name in ("put", "choose") and kwargs.get("mode", "raise") == "raise":
            self.sync(f"{name} with mode='raise'")


def _unwrap(value):
    if isinstance(value, StrictArray):
        return value._a
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
        return type(value)(_unwrap(v) for v in value)
    return value


def _unwrap_kwargs(kwargs: dict) -> dict:
    return {k: _unwrap(v) for k, v in kwargs.items()}


def _has_array(key) -> bool:
    """Whether an index ``key`` gathers (an array or a list among its parts) rather than makes a view."""
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (StrictArray, np.ndarray, list)) for k in keys)


def _has_mask(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    for k in keys:
        k = _unwrap(k)
        if isinstance(k, np.ndarray) and k.dtype == bool:
            return True
        if isinstance(k, list) and any(isinstance(v, (bool, np.bool_)) for v in k):
            return True
    return False


class _DeviceKernels:
    def __init__(self, module, xp: StrictXP):
        self._module, self._xp = module, xp

    @staticmethod
    def _bare(c4, plan, q4, k4, vessels, work4):
        vessels = type(vessels)(_unwrap(vessels.flat_index), _unwrap(vessels.values))
        return _unwrap(c4), plan, _unwrap(q4), _unwrap(k4), vessels, _unwrap(work4)

    def lod_step(self, *args):
        self._xp.launch("diffusion kernel (lod)")
        return self._module.lod_step(*self._bare(*args))

    def explicit_step(self, *args):
        self._xp.launch("diffusion kernel (explicit)")
        return self._module.explicit_step(*self._bare(*args))


class _StrictFunction:
    __slots__ = ("_f", "_xp")

    def __init__(self, xp: StrictXP, f):
        self._xp, self._f = xp, f

    def __call__(self, *args, **kwargs):
        name = self._f.__name__
        self._xp.check_call(name, args, kwargs)
        same = name in ("asarray", "ascontiguousarray") and args and isinstance(args[0], StrictArray) and (
            len(args) < 2 and kwargs.get("dtype") in (None, args[0].dtype))  # a device array as it is: nothing to do
        if name not in _NO_LAUNCH and not same:
            self._xp.launch(name)
        out = self._f(*_unwrap(args), **_unwrap_kwargs(kwargs))
        if name in _DATA_BOOL:
            out = np.bool_(out)
        return self._xp.wrap(out)


class _StrictUfunc:
    __slots__ = ("_u", "_xp")

    def __init__(self, xp: StrictXP, u: np.ufunc):
        self._xp, self._u = xp, u

    def __call__(self, *args, **kwargs):
        self._xp.launch(self._u.__name__)
        return self._xp.wrap(self._u(*_unwrap(args), **_unwrap_kwargs(kwargs)))

    def at(self, a, indices, b=None):
        if _has_mask(indices):
            self._xp.sync(f"{self._u.__name__}.at with a boolean mask")
        self._xp.launch(f"{self._u.__name__}.at")
        args = (_unwrap(a), _unwrap(indices)) + (() if b is None else (_unwrap(b),))
        self._u.at(*args)

    def __getattr__(self, name):  # reduce, accumulate, outer, nin, ...
        attr = getattr(self._u, name)
        if not callable(attr):
            return attr

        def method(*a, **k):
            self._xp.launch(f"{self._u.__name__}.{name}")
            return self._xp.wrap(attr(*_unwrap(a), **_unwrap_kwargs(k)))

        return method


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array that reports every host synchronization to its :class:`StrictXP`.

    Parameters
    ----------
    a : numpy.ndarray
        The data (shared, not copied).
    xp : StrictXP
    """

    __slots__ = ("_a", "_xp")
    __array_priority__ = 1000

    def __init__(self, a: np.ndarray, xp: StrictXP):
        self._a, self._xp = a, xp

    # --- what stays on the device -----------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: StrictArray(self._a.T, self._xp))

    def __len__(self) -> int:
        return len(self._a)  # the shape: host metadata on CuPy too

    def __repr__(self) -> str:
        return f"StrictArray(shape={self._a.shape}, dtype={self._a.dtype})"  # no data: printing it would sync

    __str__ = __repr__

    def __getattr__(self, name: str):
        if name.startswith("__"):  # __array_interface__, __array_struct__, ...: NumPy would read the data through them
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return self._xp.wrap(attr)

        def method(*args, **kwargs):
            self._xp.check_call(name, (self, *args), kwargs)
            if name not in _NO_LAUNCH:
                self._xp.launch(f".{name}()")
            return self._xp.wrap(attr(*_unwrap(args), **_unwrap_kwargs(kwargs)))

        return method

    def __getitem__(self, key):
        if _has_mask(key):
            self._xp.sync("boolean-mask indexing")
        if _has_array(key):
            self._xp.launch("gather (indexing by an array)")
        return self._xp.wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value) -> None:
        if _has_mask(key):
            self._xp.sync("boolean-mask assignment")
        self._xp.launch("assignment")
        self._a[_unwrap(key)] = _unwrap(value)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "at":
            return _StrictUfunc(self._xp, ufunc).at(*inputs)
        self._xp.launch(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return self._xp.wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        return _StrictFunction(self._xp, func)(*args, **kwargs)

    # --- what crosses to the host -------------------------------------------------------------------------
    def _sync(self, op: str):
        self._xp.sync(op)
        return self._a

    def __bool__(self) -> bool:
        return bool(self._sync("bool()"))

    def __int__(self) -> int:
        return int(self._sync("int()"))

    def __float__(self) -> float:
        return float(self._sync("float()"))

    def __complex__(self) -> complex:
        return complex(self._sync("complex()"))

    def __index__(self) -> int:
        return operator.index(self._sync("index (a data value used as a size or index)"))

    def __format__(self, spec: str) -> str:
        return format(self._sync("format()"), spec) if spec else repr(self)

    def __iter__(self):
        return iter(self._xp.wrap(list(self._sync("iteration"))))

    def __array__(self, dtype=None, copy=None):
        a = self._sync("__array__ (np.asarray, NumPy or numba reading it)")
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self, *args):
        return self._sync(".item()").item(*args)

    def tolist(self):
        return self._sync(".tolist()").tolist()

    def get(self):
        return np.array(self._sync(".get()"))

    def nonzero(self):
        self._xp.sync("nonzero")
        return self._xp.wrap(self._a.nonzero())


StrictXP.ndarray = StrictArray


class _StrictRandom:
    """``xp.random``: generators whose draws are :class:`StrictArray` (NumPy's streams, unchanged)."""

    def __init__(self, xp: StrictXP):
        self._xp = xp

    def default_rng(self, seed=None):
        return StrictGenerator(np.random.default_rng(_unwrap(seed)), self._xp)

    def wrap(self, rng: np.random.Generator):
        """``rng`` itself, its draws as strict arrays (a model's own generator: the draws of a NumPy run)."""
        return StrictGenerator(rng, self._xp)


class StrictGenerator:
    """A NumPy ``Generator`` whose draws come back as :class:`StrictArray` (the same numbers).

    Parameters
    ----------
    rng : numpy.random.Generator
        Drawn from (not copied): the model's own, so a strict run draws what a NumPy run draws.
    xp : StrictXP
    """

    def __init__(self, rng: np.random.Generator, xp: StrictXP):
        self.host = rng
        self._xp = xp

    def __getattr__(self, name: str):
        attr = getattr(self.host, name)
        if not callable(attr):
            return attr

        def draw(*a, **k):
            self._xp.launch(f"random.{name}")
            return self._xp.wrap(attr(*_unwrap(a), **_unwrap_kwargs(k)))

        return draw
