"""The mediator catalogue: every number has a unit-bearing name, a sane value and a source."""

from __future__ import annotations

import math

import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import CATALOGUE, TORTUOSITY, Mediator, get_mediator, resolve_mediators

NUMBERS = ("diffusion_um2_per_min", "decay_per_min", "molecular_mass_kda")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_entry_has_a_source_for_each_number(name):
    m = CATALOGUE[name]
    assert m.name == name
    assert set(m.sources) == set(NUMBERS), f"{name}: sources for {sorted(m.sources)}"
    for key in NUMBERS:
        src = m.sources[key]
        assert isinstance(src, str) and len(src.strip()) >= 6, f"{name}.{key}: {src!r}"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_entry_has_physical_values(name):
    m = CATALOGUE[name]
    assert math.isfinite(m.diffusion_um2_per_min) and m.diffusion_um2_per_min >= 0
    assert math.isfinite(m.decay_per_min) and m.decay_per_min >= 0
    assert m.molecular_mass_kda > 0
    assert m.units == "nM"
    # tissue D cannot exceed free diffusion of the smallest solutes listed
    # (ATP in water: 22,000–28,000 µm²/min, docs/references.md)
    assert m.diffusion_um2_per_min <= 2.8e4
    assert m.description


def test_catalogue_values_match_the_reference_table():
    """A few entries straight from docs/references.md."""
    assert get_mediator("TNF").diffusion_um2_per_min == 312.0
    assert get_mediator("TNF").half_life_min == pytest.approx(19.0)
    assert get_mediator("NGF").diffusion_um2_per_min == 1650.0
    assert get_mediator("IL10").half_life_min == pytest.approx(180.0)
    assert get_mediator("CCL2").decay_per_min == pytest.approx(0.858 / 60.0)
    assert TORTUOSITY == 1.6


def test_derived_lengths_and_times():
    m = Mediator("X", 100.0, 0.01, 10.0)
    assert m.diffusion_length_um == pytest.approx(100.0)  # sqrt(D / k)
    assert m.half_life_min == pytest.approx(math.log(2) / 0.01)
    still = Mediator("S", 100.0, 0.0, 10.0)
    assert still.half_life_min == math.inf and still.diffusion_length_um == math.inf


def test_get_mediator_suggests_close_names():
    with pytest.raises(ConfigError) as exc:
        get_mediator("TNFa")
    msg = str(exc.value)
    assert exc.value.key == "mediator" and exc.value.value == "TNFa"
    assert "did you mean 'TNF'" in msg
    assert "IL6" in msg  # lists the catalogue
    with pytest.raises(ConfigError) as exc:
        get_mediator("zzzzzz")
    assert "did you mean" not in str(exc.value)


def test_overrides_replace_numbers_and_say_so():
    m = get_mediator("TNF").with_overrides(decay_per_min=0.1)
    assert m.decay_per_min == 0.1 and m.sources["decay_per_min"] == "override"
    assert m.sources["diffusion_um2_per_min"] == CATALOGUE["TNF"].sources["diffusion_um2_per_min"]
    assert CATALOGUE["TNF"].decay_per_min != 0.1  # the catalogue is untouched
    with pytest.raises(ConfigError, match=r"mediators\.TNF\.speed = 3"):
        get_mediator("TNF").with_overrides(speed=3)
    with pytest.raises(ConfigError, match="decay_per_min = -1"):
        get_mediator("TNF").with_overrides(decay_per_min=-1)


def test_resolve_mediators_mixes_names_and_objects():
    x = Mediator("X", 1.0, 0.0, 1.0)
    assert [m.name for m in resolve_mediators(["TNF", x])] == ["TNF", "X"]


@pytest.mark.parametrize("bad", ["", "IL-6", "2x", 5])
def test_mediator_names_must_be_identifiers(bad):
    with pytest.raises(ConfigError, match="a name made of letters"):
        Mediator(bad, 1.0, 0.0, 1.0)


def test_units_other_than_nM_are_refused():
    with pytest.raises(ConfigError, match=r"units = 'pg/mL': must be 'nM'"):
        Mediator("X", 1.0, 0.0, 1.0, units="pg/mL")
