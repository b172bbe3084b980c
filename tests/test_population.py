"""Populations: arrays grow and shrink without Python loops over cells, ids stay unique."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.cells.population import Population
from neuroagents.errors import ConfigError


def _pop(capacity=4):
    return Population(
        "mast_cell", ndim=2, columns={"state": np.int8, "granules": (np.float64, (3,))}, capacity=capacity
    )


def test_add_grows_capacity_and_keeps_values():
    pop = _pop(capacity=2)
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 100, size=(10, 2))
    ids = pop.add(10, position_um=pos, state=1, granules=np.ones(3))
    assert pop.n == 10 and ids.tolist() == list(range(10))
    np.testing.assert_array_equal(pop.position_um, pos)
    assert (pop["state"] == 1).all() and (pop["granules"] == 1).all()


def test_remove_compacts_in_order_and_ids_are_never_reused():
    pop = _pop()
    pop.add(6, position_um=np.arange(12.0).reshape(6, 2), state=np.arange(6, dtype=np.int8))
    assert pop.remove(pop["state"] % 2 == 1) == 3
    assert pop.ids.tolist() == [0, 2, 4]
    np.testing.assert_array_equal(pop.position_um[:, 0], [0.0, 4.0, 8.0])
    new = pop.add(2, position_um=np.zeros((2, 2)))
    assert new.tolist() == [6, 7]
    assert pop.record(4)["position_um"] == [8.0, 9.0]


def test_record_of_a_dead_cell_is_a_clear_error():
    pop = _pop()
    pop.add(3, position_um=np.zeros((3, 2)))
    pop.remove(np.array([False, True, False]))
    with pytest.raises(ConfigError, match="the id of a live cell"):
        pop.record(1)


def test_bad_shapes_and_columns_are_clear_errors():
    pop = _pop()
    with pytest.raises(ConfigError, match=r"position_um"):
        pop.add(2, position_um=np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="columns among"):
        pop.add(1, position_um=np.zeros((1, 2)), speed=3.0)
    with pytest.raises(ConfigError, match="bool of shape"):
        pop.remove(np.zeros(5, dtype=bool))
