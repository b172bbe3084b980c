"""Parameter sets with units and sources, validated on construction.

A cell type's parameters are a frozen dataclass whose fields are declared with
:func:`param`, which records the unit, the allowed range and a source (a
citation or ``assumption``). ``build_params(cls, overrides, where)`` checks
every override and names the key, the value and what is allowed on error.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class P:
...     speed_um_per_min: float = param(4.0, "µm/min", "PhysiCell (M)")
>>> build_params(P, {"speed_um_per_min": 2.0}, "cells.macrophage").speed_um_per_min
2.0
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping

from neuroagents.errors import ConfigError

__all__ = ["build_params", "describe_params", "param"]


def param(default, unit: str, source: str, *, low: float = 0.0, high: float = math.inf, integer: bool = False):
    """A parameter field: default value, unit, source and allowed closed range [low, high]."""
    meta = {"unit": unit, "source": source, "low": low, "high": high, "integer": integer}
    return dataclasses.field(default=default, metadata=meta)


def _check(name, value, meta, where):
    lo, hi = meta["low"], meta["high"]
    allowed = f"a number in [{lo:g}, {hi:g}] ({meta['unit']})"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.{name}", value, allowed)
    if meta["integer"] and int(value) != value:
        raise ConfigError(f"{where}.{name}", value, f"an integer in [{lo:g}, {hi:g}] ({meta['unit']})")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}.{name}", value, allowed)


def build_params(cls, overrides: Mapping | None, where: str):
    """Instantiate parameter dataclass ``cls`` with ``overrides``, validating every field."""
    overrides = dict(overrides or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in overrides:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}.{key}", overrides[key], f"a known parameter{hint}; known: {', '.join(fields)}")
    obj = cls(**overrides)
    for name, f in fields.items():
        if "unit" in f.metadata:
            _check(name, getattr(obj, name), f.metadata, where)
    return obj


def describe_params(obj) -> list[dict]:
    """Rows of name, value, unit and source, for people and manifests."""
    return [
        {
            "name": f.name,
            "value": getattr(obj, f.name),
            "unit": f.metadata.get("unit", ""),
            "source": f.metadata.get("source", ""),
        }
        for f in dataclasses.fields(obj)
    ]
