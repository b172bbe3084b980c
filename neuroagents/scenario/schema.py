"""The scenario schema: every table and key a scenario file may hold, checked by pydantic v2.

A scenario file is TOML. Its tables, once inheritance and ``--set`` overrides
are merged in (:mod:`neuroagents.scenario.loader`), must match :class:`Scenario`
exactly: an unknown key is an error (``extra="forbid"``), numbers are not
silently made from strings (``strict``), and ``inf``/``nan`` are refused.
Keys that name the parameters of the cell types, the pain model, the drugs and
the inhibition table are checked against the code that owns them
(:func:`~neuroagents.params.build_params`, :class:`~neuroagents.pharmacology.Pharmacology`,
the kinase/pathway/receptor lists), so a scenario can never hold what the model
would refuse.

Room to grow: a single tissue is described by ``[tissue]`` today. Several
tissues linked by axons (paw or joint, DRG, dorsal horn, each with its grid)
will be ``[compartments.<name>]`` tables with the keys of ``[tissue]`` and
``[[axons]]`` links; both names are reserved now and refused with "not
supported yet", so no file written today can mean something else tomorrow.
``schema_version`` lets a later, incompatible schema tell old files apart.

Examples
--------
>>> s = Scenario.model_validate(EXAMPLE)
>>> s.duration_min, s.model_kwargs()["n_macrophages"]
(60.0, 10)
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import PrivateAttr, field_validator, model_validator

from neuroagents.errors import ConfigError
from neuroagents.registry import CELL_TYPES, DRUG_TARGETS, MEDIATORS
from neuroagents.scenario.schema_base import (
    MAX_CELLS_PER_TYPE,
    MAX_STEPS,
    MAX_VOXELS,
    RESERVED,
    _f,
    _Table,
    _table,
    did_you_mean,
)
from neuroagents.scenario.schema_cells import N_KWARGS, Cells, CompartmentCells, CompartmentSpec, InitialCounts

__all__ = [
    "EXAMPLE",
    "MAX_CELLS_PER_TYPE",
    "MAX_STEPS",
    "MAX_VOXELS",
    "RESERVED",
    "Cells",
    "CompartmentCells",
    "CompartmentSpec",
    "InitialCounts",
    "Injury",
    "MediatorOverride",
    "Scenario",
    "ScenarioMeta",
    "Stimulus",
    "TimeSteps",
    "Tissue",
]

class ScenarioMeta(_Table):
    """``[scenario]``: what the run is, of which animal, for how long."""

    name: str = _f("a name of letters, digits, '_', '-' or '.'", pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)
    description: str = _f("one line of text", "", max_length=300)
    # A human has the human PK of the drugs (neuroagents/pharmacology/pk.py: 70 kg) and is tested with the
    # pinprick series of quantitative sensory testing (neuroagents/pain/params.py).
    species: Literal["mouse", "rat", "human"] = _f("one of 'mouse', 'rat', 'human'")
    # Sex scales the cell parameters where the literature reports a difference (neuroagents/sex.py: microglia-
    # dependent allodynia in males, T-cell-dependent in females, Sorge 2015 Nat Neurosci 18:1081).
    sex: Literal["female", "male"] = _f("one of 'female', 'male'")
    seed: int = _f("an integer in [0, 2**63 - 1]", ge=0, le=2**63 - 1)
    # Body weight sets mg/kg doses and the allometric PK (neuroagents/pharmacology/pk.py); left out, the species'
    # reference weight. Cohorts vary it between individuals (neuroagents/cohort).
    body_weight_kg: float | None = _f("a body weight in (0, 1000] (kg; left out: the species' reference weight)", None,
                                      gt=0, le=1000)  # fmt: skip
    duration_days: float | None = _f("a duration in (0, 36500] (days)", None, gt=0, le=36500)
    duration_min: float | None = _f("a duration in (0, 52560000] (min; 100 years)", None, gt=0, le=36500 * 1440)

    @model_validator(mode="after")
    def _one_duration(self):
        if (self.duration_days is None) == (self.duration_min is None):
            raise ConfigError(
                "scenario.duration_days", self.duration_days, "given, or duration_min given (exactly one of the two)"
            )
        return self


class Tissue(_Table):
    """``[tissue]``: the single tissue patch (see the module docstring for compartments)."""

    width_um: float = _f("a length > 0 (µm)", gt=0)
    height_um: float = _f("a length > 0 (µm)", gt=0)
    depth_um: float = _f("a length >= 0 (µm; 0 for a 2D patch)", ge=0)
    voxel_um: float = _f("a length > 0 (µm)", gt=0)
    vessel_spacing_um: float = _f("a length > 0 (µm)", gt=0)
    crowding_limit: int = _f("an integer >= 1 (cells per voxel after a move)", ge=1, le=10_000)

    @property
    def shape(self) -> tuple[int, ...]:
        """Voxels along each axis, as the model computes them."""
        dims = [self.width_um, self.height_um] + ([self.depth_um] if self.depth_um > 0 else [])
        return tuple(max(1, round(d / self.voxel_um)) for d in dims)

    @model_validator(mode="after")
    def _not_too_big(self):
        n = math.prod(self.shape)
        if n > MAX_VOXELS:
            raise ConfigError(
                "tissue.voxel_um", self.voxel_um,
                f"large enough that the tissue has at most {MAX_VOXELS:,} voxels (this one has {n:,}, shape "
                f"{self.shape}); enlarge voxel_um or shrink the tissue",
            )  # fmt: skip
        return self


class Axons(_Table):
    """``[axons]``: which compartments hold the neurons' somata, peripheral and central terminals."""

    soma: str = _f("the name of the compartment of the somata (the DRG)")
    periphery: str | None = _f("the name of the compartment of the peripheral terminals", None)
    spinal: str | None = _f("the name of the compartment of the central terminals (the dorsal horn)", None)


class Injury(_Table):
    """``[injury]``: a fraction of the neurons injured at one time (0 = sham)."""

    injured_fraction: float = _f("a fraction in [0, 1]", ge=0, le=1)
    time_min: float = _f("a time >= 0 (min)", ge=0)


class TimeSteps(_Table):
    """``[time]``: the time step of each process."""

    cell_dt_min: float = _f("a time > 0 (min)", gt=0)
    diffusion_dt_min: float = _f("a time > 0 (min)", gt=0)
    record_every_min: float = _f("a time > 0 (min)", gt=0)


class Stimulus(_Table):
    """``[stimulus]``: constant experimental triggers."""

    mast_cell: float = _f("a fraction in [0, 1] (0 = none; e.g. compound 48/80, carrageenan)", 0.0, ge=0, le=1)


class MediatorOverride(_Table):
    """``[mediators.<name>]``: replace catalogue numbers for one run (sources then say ``override``)."""

    diffusion_um2_per_min: float | None = _f("a diffusion coefficient >= 0 (µm²/min)", None, ge=0)
    decay_per_min: float | None = _f("a decay rate >= 0 (1/min)", None, ge=0)
    molecular_mass_kda: float | None = _f("a molecular mass > 0 (kDa)", None, gt=0)

    def changes(self) -> dict[str, float]:
        """The numbers given, for :meth:`~neuroagents.mediators.Mediator.with_overrides`."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Scenario(_Table):
    """A whole scenario, after inheritance and overrides.

    Build the model with :meth:`build_model` (or pass :meth:`model_kwargs` to
    :class:`~neuroagents.model.NeuroImmuneModel` yourself).
    """

    schema_version: int = _f("1 (the only scenario schema so far)", 1, ge=1, le=1)  # an int: Literal[1] takes True
    scenario: ScenarioMeta = _table("a table [scenario] with name, species, sex, seed and a duration")
    tissue: Tissue = _table("a table [tissue] with width_um, height_um, depth_um, voxel_um, ...")
    cells: Cells = _table("a table [cells] with [cells.initial] counts and [cells.<type>] overrides")
    injury: Injury = _table("a table [injury] with injured_fraction and time_min")
    time: TimeSteps = _table("a table [time] with cell_dt_min, diffusion_dt_min, record_every_min")
    stimulus: Stimulus = _table("a table [stimulus] (mast_cell)", Stimulus)
    pain: dict[str, Any] = _table("a table [pain] of PainParams overrides (docs/pain.md)", dict)
    stroma: dict[str, Any] = _table("a table [stroma] of StromaParams overrides (neuroagents/stroma.py)", dict)
    swelling: dict[str, Any] = _table("a table [swelling] of SwellingParams overrides (neuroagents/swelling.py)",
                                      dict)  # fmt: skip
    kinins: dict[str, Any] = _table("a table [kinins] of KininParams overrides (neuroagents/kinins.py)", dict)
    mediators: dict[str, MediatorOverride] = _table("tables [mediators.<name>] of catalogue overrides", dict)
    drugs: list[dict[str, Any]] = _table("an array of tables [[drugs]] (dosing schedules, docs/drugs.md)", list)
    inhibition: dict[str, Any] = _table("a table [inhibition] of fractions per kinase, pathway or receptor", dict)
    interventions: list[dict[str, Any]] = _table(
        "an array of tables [[interventions]] (depletions and knockouts, neuroagents/interventions.py)", list
    )
    compartments: dict[str, CompartmentSpec] = _table(
        "tables [compartments.<name>] (paw or joint, DRG, dorsal horn), each with its grid and cells", dict
    )
    axons: Axons | None = _f("a table [axons] with soma, periphery, spinal (compartment names)", None)
    injections: list[dict[str, Any]] = _table(
        "an array of tables [[injections]] (carrageenan, CFA, or a named mediator; neuroagents/injections.py)", list
    )
    _files: tuple[str, ...] = PrivateAttr(default=())
    _overrides: tuple[str, ...] = PrivateAttr(default=())

    @property
    def files(self) -> tuple[str, ...]:
        """The files merged into this scenario, bases first (``"--set"`` last when overrides were given)."""
        return self._files

    @property
    def overrides(self) -> tuple[str, ...]:
        """The ``KEY=VALUE`` overrides applied, in order."""
        return self._overrides

    def resolved(self) -> dict:
        """The whole scenario as plain JSON-able data (manifests); it validates again as a :class:`Scenario`."""
        return self.model_dump(mode="json", exclude_none=True)

    @model_validator(mode="after")
    def _layout(self):
        if not self.compartments:
            if self.cells.initial is None:
                raise ConfigError("cells.initial", None, "a table [cells.initial] of counts per cell type")
            if self.axons is not None:
                raise ConfigError("axons", self.axons.model_dump(), "left out: axons link [compartments.<name>]")
            return self
        if self.cells.initial is not None:
            raise ConfigError("cells.initial", self.cells.initial.model_dump(),
                              "left out when [compartments] is given: put counts in [compartments.<name>.cells]")
        names = sorted(self.compartments)
        for name in names:
            if not name.isidentifier():
                raise ConfigError(f"compartments.{name}", name, "a name of letters, digits and '_' (e.g. 'drg')")
        if self.axons is not None:
            for key in ("soma", "periphery", "spinal"):
                v = getattr(self.axons, key)
                if v is not None and v not in self.compartments:
                    raise ConfigError(f"axons.{key}", v, f"a compartment{did_you_mean(v, names)}: one of {names}")
        return self

    @field_validator("pain")
    @classmethod
    def _pain(cls, v: dict) -> dict:
        from neuroagents.pain.params import PainParams
        from neuroagents.params import build_params

        build_params(PainParams, v, "pain")
        return v

    @field_validator("stroma")
    @classmethod
    def _stroma(cls, v: dict) -> dict:
        from neuroagents.params import build_params
        from neuroagents.stroma import StromaParams

        build_params(StromaParams, v, "stroma")
        return v

    @field_validator("swelling")
    @classmethod
    def _swelling(cls, v: dict) -> dict:
        from neuroagents.params import build_params
        from neuroagents.swelling import SwellingParams

        build_params(SwellingParams, v, "swelling")
        return v

    @field_validator("kinins")
    @classmethod
    def _kinins(cls, v: dict) -> dict:
        from neuroagents.kinins import KininParams
        from neuroagents.params import build_params

        build_params(KininParams, v, "kinins")
        return v

    @field_validator("mediators", mode="before")
    @classmethod
    def _mediator_names(cls, v):
        if isinstance(v, dict):
            for name, table in v.items():
                if name not in (*MEDIATORS, "PAMP"):
                    known = (*MEDIATORS, "PAMP")
                    allowed = f"a mediator on the grid{did_you_mean(name, known)}: one of "
                    raise ConfigError(f"mediators.{name}", table, allowed + ", ".join(known))
        return v

    @field_validator("inhibition")
    @classmethod
    def _inhibition(cls, v: dict) -> dict:
        known = [*DRUG_TARGETS["kinase"], *DRUG_TARGETS["pathway"], *sorted(DRUG_TARGETS["receptor"])]
        for key, x in v.items():
            if key not in known:
                allowed = f"a kinase, pathway or receptor{did_you_mean(key, known)}: one of {', '.join(known)}"
                raise ConfigError(f"inhibition.{key}", x, allowed)
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x <= 1:
                raise ConfigError(f"inhibition.{key}", x, "a fraction in [0, 1]")
        return v

    @model_validator(mode="after")
    def _steps(self):
        n = self.duration_min / self.time.cell_dt_min
        if n > MAX_STEPS:
            raise ConfigError(
                "time.cell_dt_min", self.time.cell_dt_min,
                f"long enough that the run takes at most {MAX_STEPS:,} steps (this one: {n:.3g} steps of the "
                f"{self.duration_min:g} min duration)",
            )  # fmt: skip
        return self

    @model_validator(mode="after")
    def _drugs(self):
        from neuroagents.pharmacology import Pharmacology
        from neuroagents.pharmacology.dosing import DosingSchedule

        for i, d in enumerate(self.drugs):  # over dosing tables: each names drugs[i] in its errors
            DosingSchedule.from_mapping(d, where=f"drugs[{i}]")
        if self.drugs:
            Pharmacology(self.drugs, self.scenario.species,
                         body_weight_kg=self.scenario.body_weight_kg)  # PK for this animal, every target known
        return self

    @model_validator(mode="after")
    def _interventions(self):
        from neuroagents.injections import parse_injections
        from neuroagents.interventions import parse_interventions

        names = sorted(self.compartments) or ["tissue"]
        parse_interventions(
            self.interventions, cell_types={k: c.states for k, c in CELL_TYPES.items()},
            mediators=MEDIATORS, receptors=sorted(DRUG_TARGETS["receptor"]), compartments=names,
        )  # fmt: skip
        masses = {k: o.molecular_mass_kda for k, o in self.mediators.items()}  # overrides (None: not overridden)
        parse_injections(self.injections, dict.fromkeys(names), [*MEDIATORS, "PAMP"], _masses(masses))
        return self

    # --- what the model takes ------------------------------------------------------------------
    @property
    def duration_min(self) -> float:
        """Simulated time, min."""
        s = self.scenario
        return float(s.duration_min if s.duration_min is not None else s.duration_days * 1440.0)

    def mediator_list(self):
        """The model's ``mediators=``: catalogue names, with :class:`~neuroagents.mediators.Mediator` copies
        for those overridden here; ``None`` when nothing is overridden (the model's default list)."""
        if not self.mediators:
            return None
        from neuroagents.mediators import CATALOGUE

        out = []
        names = (*MEDIATORS, "PAMP") if "PAMP" in self.mediators or self.injections else MEDIATORS
        for name in names:  # over the grid's mediators
            o = self.mediators.get(name)
            out.append(CATALOGUE[name].with_overrides(**o.changes()) if o is not None and o.changes() else name)
        return out

    def model_kwargs(self, *, backend: str = "numpy", dtype: str = "float64", seed: int | None = None) -> dict:
        """Keyword arguments of :class:`~neuroagents.model.NeuroImmuneModel` for this scenario."""
        t, c = self.tissue, self.cells
        n = c.initial or InitialCounts(**dict.fromkeys(CELL_TYPES, 0))
        extra = {kind: getattr(n, kind) for kind in CELL_TYPES if kind not in N_KWARGS and getattr(n, kind)}
        compartments = None
        if self.compartments:
            compartments = []
            for name, spec in self.compartments.items():  # over compartments, in file order
                lay = {"name": name, "kind": spec.kind, "depth_um": spec.depth_um, "cells": spec.cells.model_dump(),
                       "cell_params": {k: dict(v) for k, v in spec.cell_params.items()}}
                for key in ("width_um", "height_um", "voxel_um", "vessel_spacing_um"):
                    v = getattr(spec, key)
                    lay[key] = getattr(t, key) if v is None else v
                compartments.append(lay)  # fmt: skip
        return {
            "width_um": t.width_um,
            "height_um": t.height_um,
            "depth_um": t.depth_um,
            "voxel_um": t.voxel_um,
            "vessel_spacing_um": t.vessel_spacing_um,
            "crowding_limit": t.crowding_limit,
            **{N_KWARGS[kind]: getattr(n, kind) for kind in N_KWARGS},
            "injured_fraction": self.injury.injured_fraction,
            "injury_time_min": self.injury.time_min,
            "mediators": self.mediator_list(),
            "cell_params": c.overrides() or None,
            "inhibition": dict(self.inhibition) or None,
            "cell_dt_min": self.time.cell_dt_min,
            "diffusion_dt_min": self.time.diffusion_dt_min,
            "record_every_min": self.time.record_every_min,
            "backend": backend,
            "dtype": dtype,
            "mast_cell_stimulus": self.stimulus.mast_cell,
            "drugs": [dict(d) for d in self.drugs],
            "interventions": [dict(d) for d in self.interventions],
            "pain_params": dict(self.pain) or None,
            "stroma_params": dict(self.stroma) or None,
            "swelling_params": dict(self.swelling) or None,
            "kinin_params": dict(self.kinins) or None,
            "species": self.scenario.species,
            "sex": self.scenario.sex,
            "compartments": compartments,
            "axons": self.axons.model_dump() if self.axons is not None else None,
            "injections": [dict(d) for d in self.injections],
            "seed": self.scenario.seed if seed is None else seed,
            **({"body_weight_kg": self.scenario.body_weight_kg} if self.scenario.body_weight_kg is not None else {}),
            **({"cell_counts": extra} if extra else {}),
        }

    def build_model(self, **kwargs):
        """A :class:`~neuroagents.model.NeuroImmuneModel` for this scenario (``kwargs`` as :meth:`model_kwargs`)."""
        from neuroagents.model import NeuroImmuneModel

        return NeuroImmuneModel.from_scenario(self, **kwargs)


def _masses(overridden: dict) -> dict[str, float]:
    """Molecular mass of every catalogue mediator, kDa, with this scenario's overrides."""
    from neuroagents.mediators import CATALOGUE

    out = {k: m.molecular_mass_kda for k, m in CATALOGUE.items()}
    out.update({k: v for k, v in overridden.items() if v is not None})
    return out


EXAMPLE: dict = {
    "scenario": {"name": "tiny", "species": "mouse", "sex": "female", "seed": 1, "duration_min": 60.0},
    "tissue": {
        "width_um": 200.0,
        "height_um": 200.0,
        "depth_um": 0.0,
        "voxel_um": 20.0,
        "vessel_spacing_um": 100.0,
        "crowding_limit": 4,
    },
    "cells": {"initial": {"mast_cell": 5, "macrophage": 10, "t_cell": 0, "microglia": 0, "neuron": 4}},
    "injury": {"injured_fraction": 0.0, "time_min": 0.0},
    "time": {"cell_dt_min": 1.0, "diffusion_dt_min": 1.0, "record_every_min": 10.0},
}
"""A complete scenario as a plain mapping (for examples and tests)."""
