"""The tissue grid: voxel geometry, positions -> voxels, and boundary sets."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.tissue import Boundary, Grid, make_boundaries
from neuroagents.tissue.diffusion.plans import DIRICHLET, NO_FLUX, PERIODIC, FieldSpec
from neuroagents.tissue.grid import side_names


def test_shape_spacing_and_origin_are_normalised():
    g = Grid([4, 3], spacing_um=10)
    assert g.shape == (4, 3) and g.spacing_um == (10.0, 10.0) and g.origin_um == (0.0, 0.0)
    assert Grid(5).shape == (5,)
    assert Grid(np.array([2, 3, 4]), spacing_um=(1, 2, 3)).spacing_um == (1.0, 2.0, 3.0)
    assert g.ndim == 2 and g.n_voxels == 12
    assert g.extent_um == (40.0, 30.0)


@pytest.mark.parametrize(
    ("shape", "spacing", "volume"),
    [((5,), (2.0,), 8.0), ((5, 4), (2.0, 3.0), 2.0 * 3.0 * 3.0), ((5, 4, 3), (2.0, 3.0, 4.0), 24.0)],
)
def test_voxel_volume(shape, spacing, volume):
    """3D: dx dy dz. 2D: a slab one (last) spacing thick. 1D: a cube of the spacing."""
    assert Grid(shape, spacing_um=spacing).voxel_volume_um3 == pytest.approx(volume)


def test_voxel_centres():
    g = Grid((3, 2), spacing_um=(10.0, 4.0), origin_um=(-15.0, 100.0))
    np.testing.assert_allclose(g.centers_um(0), [-10.0, 0.0, 10.0])
    np.testing.assert_allclose(g.centers_um(1), [102.0, 106.0])


def test_voxel_of_matches_centres_and_c_order():
    g = Grid((4, 3, 2), spacing_um=(10.0, 5.0, 2.0), origin_um=(0.0, -5.0, 1.0))
    idx = np.indices(g.shape).reshape(3, -1).T
    centres = np.stack([g.centers_um(a)[idx[:, a]] for a in range(3)], axis=1)
    np.testing.assert_array_equal(g.voxel_of(centres), np.arange(g.n_voxels))
    # a point just inside the low face of a voxel belongs to it; just below, to the one before
    p = np.array([[10.0 + 1e-9, -5.0, 1.0], [10.0 - 1e-9, -5.0, 1.0]])
    np.testing.assert_array_equal(g.voxel_of(p), [np.ravel_multi_index((1, 0, 0), g.shape), 0])


def test_voxel_of_clips_positions_outside_the_grid():
    g = Grid((4, 3), spacing_um=10.0)
    p = np.array([[-50.0, 15.0], [1e6, -1e6], [39.999, 29.999]])
    np.testing.assert_array_equal(g.voxel_of(p), [0 * 3 + 1, 3 * 3 + 0, 3 * 3 + 2])
    assert g.voxel_of(p).dtype == np.int64


def test_side_names():
    assert side_names(1) == ("xmin", "xmax")
    assert side_names(3) == ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


def test_make_boundaries_defaults_to_no_flux_and_takes_axes_and_sides():
    assert all(b.kind == "no_flux" for b in make_boundaries(3).values())
    assert all(b.kind == "periodic" for b in make_boundaries(2, "periodic").values())
    b = make_boundaries(
        3, {"x": "periodic", "ymin": {"kind": "dirichlet", "value_nM": 2.0}, "zmax": Boundary("dirichlet", 1.0)}
    )
    kinds = [b[s].kind for s in side_names(3)]
    assert kinds == ["periodic", "periodic", "dirichlet", "no_flux", "no_flux", "dirichlet"]
    assert b["ymin"].value_nM == 2.0


def test_boundary_values_per_mediator():
    b = Boundary("dirichlet", {"A": 1.0, "*": 0.5})
    np.testing.assert_array_equal(b.values_for(["A", "B", "C"]), [1.0, 0.5, 0.5])
    np.testing.assert_array_equal(Boundary("dirichlet", 3.0).values_for(["A", "B"]), [3.0, 3.0])
    with pytest.raises(ValueError, match=r"missing: \['B'\]"):
        Boundary("dirichlet", {"A": 1.0}).values_for(["A", "B"])


def test_field_spec_pads_to_four_axes_and_records_boundaries():
    """A 2D grid (nx, ny) is solved as (M, 1, nx, ny); boundary codes land on internal axes 2 and 3."""
    from neuroagents.mediators import Mediator

    meds = [Mediator("A", 10.0, 0.1, 1.0), Mediator("B", 20.0, 0.0, 1.0)]
    g = Grid((6, 5), spacing_um=(2.0, 3.0))
    bounds = make_boundaries(2, {"x": "periodic", "ymax": {"kind": "dirichlet", "value_nM": {"A": 4.0, "*": 1.0}}})
    spec = FieldSpec.build(g, meds, bounds)
    assert spec.shape4 == (2, 1, 6, 5)
    np.testing.assert_array_equal(spec.spacing, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(spec.kinds, [[NO_FLUX, NO_FLUX], [PERIODIC, PERIODIC], [NO_FLUX, DIRICHLET]])
    np.testing.assert_array_equal(spec.values[:, 2, 1], [4.0, 1.0])
    assert not spec.axis_active(0) and spec.axis_active(1) and spec.axis_active(2)
    np.testing.assert_array_equal(spec.diffusion, [10.0, 20.0])
    np.testing.assert_array_equal(spec.decay, [0.1, 0.0])
