"""Bad input to the microenvironment is a clear error: what, its value, and what is allowed.

Every :class:`~neuroagents.errors.ConfigError` names the parameter (its dotted key),
repeats the value given and says what would be accepted, so that the command line can
print it as one line. The tests assert on all three.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.backend import gpu_status
from neuroagents.errors import BackendUnavailableError, ConfigError
from neuroagents.mediators import Mediator
from neuroagents.tissue import Boundary, Grid, Microenvironment, make_boundaries

X = Mediator("X", 100.0, 0.0, 10.0)


def _env(**kw):
    kw.setdefault("backend", "numpy")
    kw.setdefault("kernel", "reference")
    return Microenvironment(Grid((4, 5), spacing_um=10.0), [X], **kw)


def _says(exc: pytest.ExceptionInfo, key: str, value, allowed: str) -> None:
    """The error names ``key``, shows ``value`` and says what is ``allowed``, in one line."""
    err = exc.value
    msg = str(err)
    assert err.key == key, msg
    assert f"{key} = {value!r}: must be " in msg, msg
    assert allowed in msg, msg
    assert "\n" not in msg


# --- mediators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("diffusion_um2_per_min", (-1.0, 0.0, 10.0)),
        ("decay_per_min", (1.0, -0.1, 10.0)),
        ("decay_per_min", (1.0, math.nan, 10.0)),
        ("diffusion_um2_per_min", (math.inf, 0.0, 10.0)),
        ("molecular_mass_kda", (1.0, 0.0, 0.0)),
    ],
)
def test_mediator_rejects_negative_or_non_finite_numbers(field, args):
    with pytest.raises(ConfigError) as exc:
        Mediator("X", *args)
    bad = dict(zip(("diffusion_um2_per_min", "decay_per_min", "molecular_mass_kda"), args, strict=True))[field]
    _says(exc, field, bad, "a finite number")
    assert "mediator 'X'" in str(exc.value)


def test_unknown_mediator_name_gets_a_close_match_hint():
    with pytest.raises(ConfigError) as exc:
        Microenvironment(Grid((4, 4)), ["TNF", "IL-6"], backend="numpy")
    _says(exc, "mediator", "IL-6", "a catalogue name")
    assert "did you mean 'IL6'?" in str(exc.value)


def test_empty_or_duplicate_mediator_lists_are_errors():
    with pytest.raises(ConfigError, match="non-empty"):
        Microenvironment(Grid((4, 4)), [], backend="numpy")
    with pytest.raises(ConfigError, match=r"without duplicates \(repeated: X\)"):
        Microenvironment(Grid((4, 4)), [X, X], backend="numpy")


# --- time step ---------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["lod", "explicit"])
@pytest.mark.parametrize("dt", [0, 0.0, -1.0, math.nan, math.inf, "1", True])
def test_bad_dt_is_a_config_error(dt, solver):
    env = _env(solver=solver)
    with pytest.raises(ConfigError) as exc:
        env.step(dt)
    _says(exc, "dt_min", dt, "a finite number of minutes > 0")
    assert env.steps == 0 and env.time_min == 0.0  # nothing advanced


@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_dt_none_is_a_config_error(solver):
    """Currently fails: ``Microenvironment.plan`` calls ``float(dt_min)`` before validating,
    so ``None`` raises a bare ``TypeError`` from ``float()``."""
    env = _env(solver=solver)
    with pytest.raises(ConfigError) as exc:
        env.step(None)
    _says(exc, "dt_min", None, "a finite number of minutes > 0")


@pytest.mark.parametrize("solver", ["lod", "explicit"])
@pytest.mark.parametrize("dt", [np.int64(2), np.float32(2.0), np.float64(2.0), 2])
def test_numpy_scalar_dt_is_accepted(dt, solver):
    """A dt that is a NumPy scalar (e.g. taken from an array of times) is a number.

    Currently fails for ``np.int64``: ``_check_dt`` accepts ``int``, ``float`` and
    ``np.floating`` only, and says ``dt_min = np.int64(2): must be ... > 0``, which
    contradicts itself.
    """
    env = _env(solver=solver)
    env.fields[0, 1, 1] = 1.0
    env.step(dt)
    assert env.time_min == 2.0


# --- grid, boundaries, vessels, sources -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (2, 2, 2, 2), (0, 3), (3, -1), (2.5, 3), "abc"])
def test_bad_grid_shape(shape):
    with pytest.raises(ConfigError) as exc:
        Grid(shape)
    _says(exc, "grid.shape", shape, "a list of 1 to 3 positive integers")


@pytest.mark.parametrize("spacing", [0, -2.0, math.nan, math.inf, (1.0, 0.0), (1.0, 2.0, 3.0)])
def test_bad_grid_spacing(spacing):
    with pytest.raises(ConfigError) as exc:
        Grid((3, 3), spacing_um=spacing)
    _says(exc, "grid.spacing_um", spacing, "a number > 0 or 2 numbers > 0 (µm)")


@pytest.mark.parametrize("spacing", ["abc", None, [10.0, "x"]])
def test_non_numeric_grid_spacing_is_a_config_error(spacing):
    """Currently fails: a string or None reaches ``float()`` / iteration unguarded and
    raises a bare ``ValueError`` / ``TypeError`` instead of a ConfigError."""
    with pytest.raises(ConfigError) as exc:
        Grid((3, 3), spacing_um=spacing)
    _says(exc, "grid.spacing_um", spacing, "a number > 0")


def test_numpy_scalar_grid_spacing_is_accepted():
    """Currently fails: ``np.int64(10)`` is neither ``int``/``float`` nor iterable, so
    ``Grid`` raises ``TypeError: 'numpy.int64' object is not iterable``."""
    assert Grid((3, 3), spacing_um=np.int64(10)).spacing_um == (10.0, 10.0)
    assert Grid((3, 3), spacing_um=np.float32(2.5)).spacing_um == (2.5, 2.5)


def test_bad_grid_origin():
    with pytest.raises(ConfigError) as exc:
        Grid((3, 3), origin_um=(1.0,))
    _says(exc, "grid.origin_um", (1.0,), "2 finite numbers (µm)")


def test_unknown_boundary_kind():
    allowed = "one of 'no_flux', 'dirichlet', 'periodic'"
    with pytest.raises(ConfigError) as exc:
        make_boundaries(2, {"xmin": "sticky"})
    _says(exc, "boundaries.xmin", "sticky", allowed)
    with pytest.raises(ConfigError) as exc:
        Boundary("sticky")
    _says(exc, "kind", "sticky", allowed)
    with pytest.raises(ConfigError) as exc:
        _env(boundaries={"y": {"kind": "leaky"}})
    _says(exc, "boundaries.y.kind", "leaky", allowed)


def test_periodic_on_one_side_only():
    with pytest.raises(ConfigError) as exc:
        _env(boundaries={"ymax": "periodic"})
    _says(exc, "boundaries.y", ("no_flux", "periodic"), "periodic on both sides of an axis or on neither")


def test_boundary_side_not_on_this_grid():
    with pytest.raises(ConfigError) as exc:
        _env(boundaries={"zmin": "periodic"})
    _says(exc, "boundaries.zmin", "periodic", "a side among xmin, xmax, ymin, ymax or an axis name")


@pytest.mark.parametrize("value", [-1.0, math.nan, "1"])
def test_bad_dirichlet_value(value):
    with pytest.raises(ConfigError) as exc:
        _env(boundaries={"x": {"kind": "dirichlet", "value_nM": value}})
    _says(exc, "boundaries.x.value_nM", value, "finite concentrations >= 0 (nM)")


def test_dirichlet_table_naming_an_unknown_mediator():
    with pytest.raises(ConfigError) as exc:
        _env(boundaries={"xmin": {"kind": "dirichlet", "value_nM": {"Y": 1.0}}})
    _says(exc, "boundaries.xmin.value_nM", {"Y": 1.0}, "unknown: ['Y']")


@pytest.mark.parametrize(
    ("mask", "shown"),
    [(np.zeros((5, 4), dtype=bool), "array bool (5, 4)"), (np.zeros((4, 5), dtype=int), "array int64 (4, 5)")],
)
def test_vessel_mask_of_the_wrong_shape_or_dtype(mask, shown):
    env = _env()
    with pytest.raises(ConfigError) as exc:
        env.set_vessels(mask, 1.0)
    _says(exc, "vessels.mask", shown, "a bool array of shape (4, 5)")


def test_bad_vessel_values():
    env = _env()
    mask = np.zeros((4, 5), dtype=bool)
    with pytest.raises(ConfigError) as exc:
        env.set_vessels(mask, -1.0)
    _says(exc, "vessels.values_nM.X", -1.0, "a finite concentration >= 0 (nM)")
    with pytest.raises(ConfigError) as exc:
        env.set_vessels(mask, {"Y": 1.0})
    _says(exc, "vessels.values_nM", {"Y": 1.0}, "unknown: ['Y']")


@pytest.mark.parametrize("term", ["production_nM_per_min", "consumption_per_min"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.5])
def test_validate_sources_names_the_term_and_the_mediator(term, bad):
    env = Microenvironment(Grid((4, 5)), [X, Mediator("Y", 1.0, 0.0, 1.0)], backend="numpy", kernel="reference")
    env.validate_sources()  # zeros are fine
    getattr(env, term)[1, 2, 3] = bad
    with pytest.raises(ConfigError) as exc:
        env.validate_sources()
    assert exc.value.key == f"sources.{term}.Y"
    assert math.isnan(exc.value.value) if math.isnan(bad) else exc.value.value == bad
    assert "finite and >= 0 in every voxel" in str(exc.value)


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("dtype", "float16", "one of 'float32', 'float64'"),
        ("solver", "rk4", "one of 'lod', 'explicit'"),
        ("kernel", "fast", "one of 'auto', 'reference', 'numba', 'cupy'"),
        ("kernel", "cupy", "a kernel for the 'numpy' backend ('reference', 'numba')"),
        ("backend", "gpu", "one of 'auto', 'numpy', 'cupy'"),
        ("explicit_cfl", 1.5, "a number in (0, 1]"),
        ("explicit_cfl", 0.0, "a number in (0, 1]"),
        ("explicit_cfl", math.nan, "a number in (0, 1]"),
        ("check_every", -1, "an integer >= 0"),
        ("check_every", 1.5, "an integer >= 0"),
    ],
)
def test_bad_options(option, value, allowed):
    with pytest.raises(ConfigError) as exc:
        _env(**{option: value})
    _says(exc, option, value, allowed)


def test_grid_must_be_a_grid():
    with pytest.raises(ConfigError) as exc:
        Microenvironment((4, 4), [X], backend="numpy")
    _says(exc, "grid", (4, 4), "a neuroagents.tissue.Grid")


def test_unknown_field_name():
    env = _env()
    with pytest.raises(ConfigError) as exc:
        env.field("TNF")
    _says(exc, "mediator", "TNF", "one of ['X']")


def test_cupy_without_a_gpu_says_why():
    usable, why = gpu_status()
    if usable:
        pytest.skip(f"a GPU is usable here ({why}): nothing to refuse")
    with pytest.raises(BackendUnavailableError) as exc:
        _env(backend="cupy", kernel="auto")
    msg = str(exc.value)
    assert "backend = 'cupy'" in msg
    assert "no GPU is usable" in msg
    assert why in msg  # the reason found by gpu_status, e.g. "cupy is not importable (...)"
    assert "'numpy' or 'auto'" in msg  # and what to do instead
