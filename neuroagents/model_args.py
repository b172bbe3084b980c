"""Checks of the model's keyword arguments, each error naming the argument, its value and what is allowed.

(A scenario is checked before, by its schema; these guard the model's direct use as a library.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from neuroagents.compartment import check_layout
from neuroagents.errors import ConfigError
from neuroagents.registry import CELL_TYPES
from neuroagents.sex import SEXES

__all__ = ["check_arguments", "check_cell_params", "check_count", "check_positive", "layouts_of"]


def check_positive(name, value, allowed="a number > 0"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(name, value, allowed)


def check_cell_params(where, cell_params):
    unknown = sorted(set(cell_params or {}) - set(CELL_TYPES))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", (cell_params or {})[unknown[0]],
                          f"a cell type among {sorted(CELL_TYPES)}")  # fmt: skip
    for kind, v in (cell_params or {}).items():
        if not isinstance(v, Mapping):
            raise ConfigError(f"{where}.{kind}", v, "a mapping of parameter names to values")


def check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(name, value, "an integer >= 0")


def check_arguments(*, cell_dt_min, diffusion_dt_min, record_every_min, counts: dict, cell_counts, crowding_limit,
                    injured_fraction, injury_time_min, cell_params, mast_cell_stimulus, sex) -> dict[str, int]:
    """Check the model's scalar arguments; returns the initial count of each cell type (the five ``n_*`` and
    ``cell_counts``) in the order they are seeded."""
    counts = dict(counts)
    for name, v in (("cell_dt_min", cell_dt_min), ("diffusion_dt_min", diffusion_dt_min)):
        check_positive(name, v, "a time > 0 (min)")
    check_positive("record_every_min", record_every_min, "a time > 0 (min)")
    for arg, v in zip(("n_mast_cells", "n_macrophages", "n_t_cells", "n_microglia", "n_neurons"),
                      counts.values(), strict=True):  # fmt: skip
        check_count(arg, v)
    if cell_counts is not None and not isinstance(cell_counts, Mapping):
        raise ConfigError("cell_counts", cell_counts, "a mapping of registered cell types to counts")
    for kind, v in (cell_counts or {}).items():  # over registered types beyond the five n_* keywords
        if kind not in CELL_TYPES or kind in counts:
            others = sorted(set(CELL_TYPES) - set(counts))
            raise ConfigError(f"cell_counts.{kind}", v, f"a registered cell type without an n_* keyword "
                              f"(neuroagents.registry.CELL_TYPES): one of {others}")  # fmt: skip
        check_count(f"cell_counts.{kind}", v)
        counts[kind] = v
    check_count("crowding_limit", crowding_limit)
    if crowding_limit < 1:
        raise ConfigError("crowding_limit", crowding_limit, "an integer >= 1 (cells per voxel)")
    if isinstance(injured_fraction, bool) or not (
        isinstance(injured_fraction, (int, float)) and 0 <= injured_fraction <= 1
    ):
        raise ConfigError("injured_fraction", injured_fraction, "a fraction in [0, 1]")
    if isinstance(injury_time_min, bool) or not (
        isinstance(injury_time_min, (int, float)) and injury_time_min >= 0
    ):
        raise ConfigError("injury_time_min", injury_time_min, "a time >= 0 (min)")
    check_cell_params("cell_params", cell_params)
    if isinstance(mast_cell_stimulus, bool) or not (
        isinstance(mast_cell_stimulus, (int, float)) and 0 <= mast_cell_stimulus <= 1
    ):
        raise ConfigError("mast_cell_stimulus", mast_cell_stimulus, "a fraction in [0, 1]")
    if sex not in SEXES:
        raise ConfigError("sex", sex, f"one of {list(SEXES)}")
    return counts


def layouts_of(compartments, single: Mapping, counts: Mapping) -> list[dict]:
    """The compartment layouts: the ``compartments`` given (each checked), or one tissue patch named ``tissue`` of
    ``single``'s size (width, height, depth, voxel, vessel spacing) holding ``counts``."""
    if compartments is None:
        return [{"name": "tissue", "kind": "periphery", **single, "cells": counts}]
    if isinstance(compartments, (str, bytes)) or not isinstance(compartments, Sequence) or not compartments:
        raise ConfigError("compartments", compartments, "a non-empty list of compartment layouts")
    layouts = [check_layout(c, i) for i, c in enumerate(compartments)]
    names = [c["name"] for c in layouts]
    if len(set(names)) != len(names):
        raise ConfigError("compartments", names, "distinct compartment names")
    return layouts
