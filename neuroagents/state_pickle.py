"""Pickling a model as data: what a checkpoint's payload may name and call (see :mod:`neuroagents.checkpoint`).

* :class:`CheckpointPickler` — the C pickler, saving modules by name, mapping proxies as dicts, locks as new
  locks, CuPy arrays as NumPy arrays; it refuses a class or function the unpickler would refuse, naming it.
* :class:`RestrictedUnpickler` — the pure-Python unpickler with its lookups and calls checked: names resolve
  only to the classes and functions of :data:`STATE_MODULES` and a few NumPy, Mesa and stdlib types; ``REDUCE``
  calls only :data:`REDUCE_CALLABLES` and NumPy's reconstructors; objects are made with ``object.__new__`` and
  filled with their saved attributes, never by running a constructor.
"""

from __future__ import annotations

import collections
import enum
import functools
import importlib
import pickle
import random
import sys
import threading
import types
import warnings
from typing import ClassVar

__all__ = ["REDUCE_CALLABLES", "STATE_MODULES", "CheckpointPickler", "RestrictedUnpickler"]

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))

STATE_MODULES = (
    "neuroagents.model", "neuroagents.backend", "neuroagents.axons", "neuroagents.compartment",
    "neuroagents.interventions", "neuroagents.injections", "neuroagents.mediators", "neuroagents.model_readouts",
    "neuroagents.params",
    "neuroagents.sex", "neuroagents.stroma", "neuroagents.swelling", "neuroagents.kinins", "neuroagents.units",
    "neuroagents.cells",
    "neuroagents.pain",
    "neuroagents.pharmacology", "neuroagents.schedule", "neuroagents.tissue", "neuroagents.timeline",
    "neuroagents.transfer",
    "mesa.agent", "mesa.datacollection", "mesa.model", "mesa.space", "mesa.discrete_space",
)  # fmt: skip
"""Modules (and their submodules) whose classes and functions a checkpoint may name: the model's state. They
read no files and start no processes (``tests/test_checkpoint_safety.py`` checks the neuroagents ones); a new
module holding model state is added here (saving a checkpoint says so when one is missing)."""

_STD_TYPES = {("builtins", n): getattr(__import__("builtins"), n)
              for n in ("set", "frozenset", "complex", "slice", "range", "bytearray", "object")}  # fmt: skip
_STD_TYPES.update({("collections", "deque"): collections.deque, ("collections", "OrderedDict"): collections.OrderedDict,
                   ("functools", "partial"): functools.partial, ("random", "Random"): random.Random})  # fmt: skip
_NUMPY_CALLABLES = (
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
)  # fmt: skip
_NUMPY_TYPE_MODULES = ("numpy.random", "numpy.dtypes")
_CUPY_TYPE_MODULES = ("cupy.random",)  # assumption: untested here (no GPU); CuPy's generators keep their state so


# --- helpers named in the payload ------------------------------------------------------------------------
def _allowed_module(name: str) -> bool:
    return name in ("numpy", "cupy") or any(name == m or name.startswith(m + ".") for m in STATE_MODULES)


def _import(name: str):
    if not _allowed_module(name):
        raise pickle.UnpicklingError(f"refused to import module {name!r} (not a model-state module)")
    return importlib.import_module(name)


def _mappingproxy(d: dict):
    if not isinstance(d, dict):
        raise pickle.UnpicklingError("a mapping proxy must wrap a dict")
    return types.MappingProxyType(d)


def _lock(reentrant: bool):
    return threading.RLock() if reentrant else threading.Lock()


def _to_device(host):
    import numpy as np

    if not isinstance(host, np.ndarray):
        raise pickle.UnpicklingError("a device array must be saved as a NumPy array")
    import cupy

    return cupy.asarray(host)


def _is_state_type(obj) -> bool:
    return isinstance(obj, type) and _allowed_module(getattr(obj, "__module__", "") or "") and obj.__module__ not in (
        "numpy", "cupy")  # fmt: skip


def _safe_getattr(obj, name):
    """``getattr`` for bound methods of model-state objects only (pickle saves a bound method this way)."""
    if not isinstance(name, str) or name.startswith("__") or not _is_state_type(type(obj)):
        raise pickle.UnpicklingError(f"refused getattr({type(obj).__name__}, {name!r})")
    value = getattr(obj, name)
    if not (isinstance(value, types.MethodType) and value.__self__ is obj):
        raise pickle.UnpicklingError(f"refused getattr({type(obj).__name__}, {name!r}): not a method")
    return value


REDUCE_CALLABLES: dict = {}
"""``{(module, name): callable}`` that the payload may call (filled below: NumPy, stdlib, this module's helpers)."""


def _fill_reduce_callables() -> None:
    REDUCE_CALLABLES.update(_STD_TYPES)
    REDUCE_CALLABLES[("builtins", "getattr")] = _safe_getattr
    for name in ("_import", "_mappingproxy", "_lock", "_to_device"):  # this module's helpers
        REDUCE_CALLABLES[(__name__, name)] = globals()[name]


_fill_reduce_callables()


# --- writing ------------------------------------------------------------------------------------------
class CheckpointPickler(pickle.Pickler):
    """A :class:`pickle.Pickler` (the C one) that also saves modules, mapping proxies, locks and CuPy arrays.

    Modules are saved by name (and imported again, if allowed), mapping proxies as dicts, thread locks as new
    empty locks, CuPy arrays as NumPy arrays (put back on the device when loaded). A class or function that
    :class:`RestrictedUnpickler` would refuse is refused here already, naming it.
    """

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            if not _allowed_module(obj.__name__):
                raise pickle.PicklingError(f"module {obj.__name__} is not a model-state module (STATE_MODULES in "
                                           "neuroagents/state_pickle.py)")  # fmt: skip
            return _import, (obj.__name__,)
        if isinstance(obj, types.MappingProxyType):
            return _mappingproxy, (dict(obj),)
        if isinstance(obj, _LOCK_TYPES):
            return _lock, (isinstance(obj, _LOCK_TYPES[1]),)
        cupy = sys.modules.get("cupy")
        if cupy is not None and isinstance(obj, cupy.ndarray):
            return _to_device, (cupy.asnumpy(obj),)
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
            if module is not None and name is not None:
                try:
                    _resolve(module, name)
                except pickle.UnpicklingError as exc:
                    raise pickle.PicklingError(f"{exc}; if it is model state, add its module to STATE_MODULES in "
                                               "neuroagents/state_pickle.py") from None  # fmt: skip
        return NotImplemented


# --- reading ------------------------------------------------------------------------------------------
def _resolve(module: str, name: str):
    """The object a payload names as ``module.name``, if it is allowed (else UnpicklingError)."""
    key = (module, name)
    if key in REDUCE_CALLABLES:
        return REDUCE_CALLABLES[key]
    if key in _NUMPY_CALLABLES:
        return _numpy_attr(module, name)
    typed_only = any(module == m or module.startswith(m + ".") for m in (*_NUMPY_TYPE_MODULES, *_CUPY_TYPE_MODULES))
    if not (_allowed_module(module) or typed_only) or module in ("numpy", "cupy"):
        raise pickle.UnpicklingError(f"refused {module}.{name} (not model state)")
    obj = sys.modules.get(module) or importlib.import_module(module)
    for part in name.split("."):  # a nested class: every step must be a class of that module
        obj = getattr(obj, part, None)
        if obj is None:
            raise pickle.UnpicklingError(f"refused {module}.{name}: no such name")
    if getattr(obj, "__module__", None) != module:
        raise pickle.UnpicklingError(f"refused {module}.{name}: not defined in that module")
    if isinstance(obj, type) or (not typed_only and isinstance(obj, types.FunctionType)):
        return obj
    raise pickle.UnpicklingError(f"refused {module}.{name}: not a class or function of the model")


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that resolves only allowed names and calls only allowed callables (see the module docstring).

    It is the pure-Python unpickler with its call opcodes checked: ``REDUCE`` calls only
    :data:`REDUCE_CALLABLES` and NumPy's reconstructors (or looks up an ``Enum`` member); ``NEWOBJ`` makes an
    object of an allowed class only when that class has no ``__new__`` of its own (``object.__new__`` runs no
    code); ``BUILD`` fills objects, never classes, modules or functions; ``INST``, ``OBJ`` and persistent ids are
    refused.
    """

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        return _resolve(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused a persistent id")

    def _callable_ok(self, func) -> bool:
        if any(func is f for f in REDUCE_CALLABLES.values()):
            return True
        if isinstance(func, type) and issubclass(func, enum.Enum) and _is_state_type(func):
            return True
        return any(func is f for f in _numpy_callables())

    def load_reduce(self):
        func = self.stack[-2]
        if not self._callable_ok(func):
            raise pickle.UnpicklingError(f"refused to call {getattr(func, '__qualname__', type(func).__name__)}")
        pickle._Unpickler.load_reduce(self)

    dispatch[pickle.REDUCE[0]] = load_reduce

    def _check_new(self, cls):
        if not isinstance(cls, type):
            raise pickle.UnpicklingError("refused NEWOBJ of a non-class")
        if cls in _STD_TYPES.values():
            return
        if not (_is_state_type(cls) and cls.__new__ is object.__new__):
            raise pickle.UnpicklingError(f"refused to create a {cls.__module__}.{cls.__qualname__}")

    def load_newobj(self):
        self._check_new(self.stack[-2])
        pickle._Unpickler.load_newobj(self)

    dispatch[pickle.NEWOBJ[0]] = load_newobj

    def load_newobj_ex(self):
        self._check_new(self.stack[-3])
        pickle._Unpickler.load_newobj_ex(self)

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex

    def load_build(self):
        inst = self.stack[-2]
        if isinstance(inst, (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            raise pickle.UnpicklingError(f"refused to set attributes of {inst!r}")
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build

    def _refuse(self):
        raise pickle.UnpicklingError("refused a protocol 0/1 object call (INST/OBJ)")

    dispatch[pickle.INST[0]] = _refuse
    dispatch[pickle.OBJ[0]] = _refuse


@functools.lru_cache(maxsize=1)
def _numpy_callables() -> tuple:
    """NumPy's reconstructors by identity (those that exist in this NumPy); ``ndarray`` is only an argument."""
    out = []
    for module, name in _NUMPY_CALLABLES:  # over a dozen names
        try:
            obj = _numpy_attr(module, name)
        except (ImportError, AttributeError):
            continue
        if name != "ndarray":
            out.append(obj)
    return tuple(out)


def _numpy_attr(module: str, name: str):
    with warnings.catch_warnings():  # numpy.core is numpy._core's deprecated alias in NumPy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(importlib.import_module(module), name)
