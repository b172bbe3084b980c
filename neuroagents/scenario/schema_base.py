"""The building blocks of the scenario schema (:mod:`neuroagents.scenario.schema`): strict tables, fields whose
errors say what is allowed, "did you mean", and the size guards.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_CELLS_PER_TYPE", "MAX_STEPS", "MAX_VOXELS", "RESERVED", "did_you_mean"]

MAX_VOXELS = 20_000_000
"""Most voxels one tissue may have (a guard against a typo in a size: 24 fields of 2e7 voxels are ~4 GB each)."""
MAX_STEPS = 100_000_000
"""Most cell steps one run may take (a guard against a typo in a time step)."""
MAX_CELLS_PER_TYPE = 10_000_000
"""Most initial cells of one type (a guard against a typo)."""
RESERVED: dict[str, str] = {}
"""Top-level tables kept for later features, refused today with the reason (none at the moment)."""


def _f(allowed: str, default: Any = ..., **constraints) -> Any:
    """A pydantic Field whose errors read ``must be <allowed>``."""
    return Field(default, json_schema_extra={"allowed": allowed}, **constraints)


def _table(allowed: str, default_factory=None) -> Any:
    extra = {"allowed": allowed}
    if default_factory is None:
        return Field(json_schema_extra=extra)
    return Field(default_factory=default_factory, json_schema_extra=extra)


def did_you_mean(key, choices) -> str:
    """`` (did you mean 'x'?)`` for the nearest of ``choices`` (a close spelling, or a name it begins), else ``""``."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(key), choices, n=1, cutoff=0.6)
    if not close and len(str(key)) >= 3:
        close = [c for c in choices if c.startswith(str(key))][:1] or difflib.get_close_matches(
            str(key), choices, n=1, cutoff=0.5
        )
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Table(BaseModel):
    """Base of every table: unknown keys are errors, no coercion from strings, finite numbers only."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
