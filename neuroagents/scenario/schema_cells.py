"""The cell tables of the scenario schema: ``[cells.initial]``, ``[cells.<type>]``, ``[compartments.<name>]``.

Their keys are generated from the registry (:data:`neuroagents.registry.CELL_TYPES`) when this module is imported,
so a registered cell type is a key everywhere; parameter tables are checked against the type's ``Params``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import create_model, field_validator

from neuroagents.errors import ConfigError
from neuroagents.registry import CELL_TYPES
from neuroagents.scenario.schema_base import MAX_CELLS_PER_TYPE, _f, _Table, _table, did_you_mean

__all__ = ["N_KWARGS", "Cells", "CompartmentCells", "CompartmentSpec", "InitialCounts"]


# The cell-type keys of [cells.initial], [cells.<type>] and [compartments.<name>.cells] are generated from the
# registry (neuroagents.registry.CELL_TYPES) when this module is imported: a registered type is a key everywhere.
def _count(kind: str, default: Any = ...) -> tuple[type, Any]:
    allowed = f"an integer in [0, {MAX_CELLS_PER_TYPE:,}] ({kind} cells at t = 0)"
    return int, _f(allowed, default, ge=0, le=MAX_CELLS_PER_TYPE)


InitialCounts = create_model(
    "InitialCounts", __base__=_Table, __doc__="``[cells.initial]``: cells of each type at t = 0.",
    **{kind: _count(kind) for kind in CELL_TYPES},
)  # fmt: skip

N_KWARGS = {"mast_cell": "n_mast_cells", "macrophage": "n_macrophages", "t_cell": "n_t_cells",
            "microglia": "n_microglia", "neuron": "n_neurons"}  # fmt: skip
"""The model's keyword for the initial count of each built-in type (others go in ``cell_counts``)."""

_PARAMS_TABLE = "a table of parameter overrides (see the cell type's Params in neuroagents/cells/)"


class _CellsBase(_Table):
    """``[cells]``: initial counts in ``[cells.initial]``; parameter overrides in ``[cells.<type>]``.

    (TOML cannot give ``cells.macrophage`` both a count and a table of
    parameters, hence the separate ``initial`` table.)
    """

    initial: InitialCounts | None = _f("a table [cells.initial] of counts per cell type (one tissue patch; "
                                       "with [compartments], counts go in [compartments.<name>.cells])", None)

    def overrides(self) -> dict[str, dict]:
        """Non-empty parameter overrides per cell type, as the model's ``cell_params``."""
        return {k: dict(getattr(self, k)) for k in InitialCounts.model_fields if getattr(self, k)}


def _check_cell_params(cls, v: dict, info) -> dict:
    from neuroagents.params import build_params

    build_params(CELL_TYPES[info.field_name].Params, v, f"cells.{info.field_name}")
    return v


Cells = create_model(
    "Cells", __base__=_CellsBase, __doc__=_CellsBase.__doc__,
    __validators__={"_params": field_validator(*CELL_TYPES)(_check_cell_params)},
    **{kind: (dict[str, Any], _table(_PARAMS_TABLE, dict)) for kind in CELL_TYPES},
)  # fmt: skip

CompartmentCells = create_model(
    "CompartmentCells", __base__=_Table,
    __doc__="``[compartments.<name>.cells]``: cells of each type at t = 0 in one compartment (0 when left out).",
    **{kind: _count(kind, 0) for kind in CELL_TYPES},
)  # fmt: skip


class CompartmentSpec(_Table):
    """``[compartments.<name>]``: one tissue compartment with its own grid (sizes default to ``[tissue]``'s)."""

    kind: Literal["periphery", "drg", "dorsal_horn"] = _f(
        "'periphery' (skin, paw, joint, nerve), 'drg' or 'dorsal_horn': which drug exposure its cells see"
    )
    description: str = _f("one line for people", "", max_length=300)
    width_um: float | None = _f("a length > 0 (µm)", None, gt=0)
    height_um: float | None = _f("a length > 0 (µm)", None, gt=0)
    depth_um: float = _f("a length >= 0 (µm; 0 for a 2D patch)", 0.0, ge=0)
    voxel_um: float | None = _f("a length > 0 (µm)", None, gt=0)
    vessel_spacing_um: float | None = _f("a length > 0 (µm)", None, gt=0)
    cells: CompartmentCells = _table("a table of cell counts per type", CompartmentCells)
    cell_params: dict[str, dict[str, Any]] = _table("tables [compartments.<name>.cell_params.<type>]", dict)

    @field_validator("cell_params")
    @classmethod
    def _params(cls, v: dict) -> dict:
        from neuroagents.params import build_params

        for kind, table in v.items():
            if kind not in CELL_TYPES:
                allowed = f"a cell type{did_you_mean(kind, CELL_TYPES)}: one of {', '.join(CELL_TYPES)}"
                raise ConfigError(f"cell_params.{kind}", table, allowed)
            build_params(CELL_TYPES[kind].Params, table, f"cell_params.{kind}")
        return v
