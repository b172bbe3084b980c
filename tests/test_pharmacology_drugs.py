"""The drug catalogue: every number sourced, targets well-formed, selectivity as published."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from neuroagents.cells.signaling import KINASES, PATHWAYS
from neuroagents.errors import ConfigError
from neuroagents.pharmacology import DRUGS, TARGET_KINDS, Drug, Target, get_drug
from neuroagents.pharmacology.drugs import describe, target_kinds
from neuroagents.pharmacology.effects import hill_occupancy
from neuroagents.pharmacology.pk import SPECIES
from neuroagents.pharmacology.schema import NUMERIC_FIELDS, SPECIES_NAMES

BRIEF = ("tofacitinib", "baricitinib", "upadacitinib", "ruxolitinib", "fedratinib", "adalimumab", "etanercept",
         "infliximab", "tocilizumab", "prednisolone", "methotrexate", "ibuprofen", "naproxen", "celecoxib",
         "tanezumab", "minocycline", "antagomir-21")  # fmt: skip


def test_the_catalogue_holds_every_drug_of_the_brief():
    assert set(BRIEF) <= set(DRUGS)


@pytest.mark.parametrize("name", sorted(DRUGS))
def test_every_number_has_a_source_and_targets_are_well_formed(name):
    d = DRUGS[name]
    for f in NUMERIC_FIELDS:
        v = getattr(d, f)
        if v is not None and not (f in ("q_l_per_h", "v2_l") and v == 0):
            assert d.sources.get(f), f"{name}.{f} has no source"
    for t in d.targets:
        assert t.kind in TARGET_KINDS and t.source and t.potency_nM > 0 and 0 < t.emax <= 1
    assert {r["field"] for r in describe(d)} >= {"mw_g_per_mol", "cl_l_per_h", "half_life_h"}
    assert 0 <= d.protein_binding < 1 and d.routes[-2:] == ("iv", "intrathecal")


def test_target_names_have_one_kind_and_kinases_pathways_are_the_models():
    kinds = target_kinds()
    assert {n for n, k in kinds.items() if k == "kinase"} <= set(KINASES)
    assert {n for n, k in kinds.items() if k == "pathway"} <= set(PATHWAYS)
    assert kinds["TNF"] == kinds["NGF"] == "mediator" and kinds["IL6R"] == "receptor"
    assert kinds["COX2"] == "enzyme" and kinds["miR21"] == "mirna"


def test_drug_classes_hit_what_they_should():
    assert {t.kind for t in DRUGS["adalimumab"].targets} == {"mediator"}
    for jak in ("tofacitinib", "baricitinib", "upadacitinib", "ruxolitinib", "fedratinib"):
        assert {t.name for t in DRUGS[jak].targets} == set(KINASES)
    assert DRUGS["prednisolone"].ke0_per_h is not None  # effect outlasts the plasma
    assert DRUGS["prednisolone"].target("NFKB") and DRUGS["prednisolone"].target("COX2")
    assert DRUGS["minocycline"].target("P38").kind == "pathway"
    assert DRUGS["tocilizumab"].target("IL6R").kind == "receptor"


def _at_jak1_half(name, other):
    d = DRUGS[name]
    c50 = d.target("JAK1").potency_nM  # Hill 1, Emax 1: 50% JAK1 at C = IC50
    assert float(hill_occupancy(c50, d.target("JAK1").potency_nM)) == pytest.approx(0.5)
    t = d.target(other)
    return float(hill_occupancy(c50, t.potency_nM, t.hill, t.emax))


def test_jak_selectivity_at_the_concentration_that_halves_jak1():
    assert _at_jak1_half("fedratinib", "JAK2") > 0.95  # JAK2 >> JAK1
    assert _at_jak1_half("tofacitinib", "JAK3") > 0.5 > _at_jak1_half("upadacitinib", "JAK3")
    assert _at_jak1_half("tofacitinib", "JAK3") > 10 * _at_jak1_half("upadacitinib", "JAK3")
    assert _at_jak1_half("upadacitinib", "JAK2") < 0.3  # JAK1-selective
    assert 0.4 < _at_jak1_half("baricitinib", "JAK2") < 0.6  # JAK1 = JAK2


def test_whole_blood_potency_is_converted_to_free_drug():
    ibu = DRUGS["ibuprofen"].target("COX2")
    assert ibu.assay == "whole_blood"
    assert ibu.free_potency_nM(0.01) == pytest.approx(ibu.potency_nM * 0.01)
    cele = DRUGS["celecoxib"].target("COX2")
    assert cele.free_potency_nM(0.03) == cele.potency_nM  # an enzyme IC50 is already free drug


def test_unknown_drug_gets_a_close_match_hint_and_the_list():
    with pytest.raises(ConfigError, match=r"did you mean 'baricitinib'\?.*known: adalimumab"):
        get_drug("barcitinib")


def test_entries_without_sources_or_with_bad_numbers_are_refused():
    good = DRUGS["ibuprofen"]
    with pytest.raises(ConfigError, match=r"sources\.half_life_h"):
        dataclasses.replace(good, sources={k: v for k, v in good.sources.items() if k != "half_life_h"})
    with pytest.raises(ConfigError, match=r"fraction_unbound = 1\.5"):
        dataclasses.replace(good, fraction_unbound=1.5)
    with pytest.raises(ConfigError, match="> 0 exactly when q_l_per_h > 0"):
        dataclasses.replace(good, q_l_per_h=1.0, sources={**good.sources, "q_l_per_h": "x"})
    with pytest.raises(ConfigError, match="a kinase among"):
        Target("JAK9", "kinase", 1.0, source="x")
    with pytest.raises(ConfigError, match="one of"):
        Target("JAK1", "kinases", 1.0, source="x")
    with pytest.raises(ConfigError, match="emax"):
        Target("JAK1", "kinase", 1.0, emax=0.0, source="x")
    with pytest.raises(ConfigError, match=r"species_pk\.rat\.half_life_h"):
        dataclasses.replace(good, species_pk={"rat": {"half_life_h": 1.0}})
    with pytest.raises(ConfigError, match="keys among"):
        dataclasses.replace(good, species_pk={"hamster": {"f_oral": 0.5}})
    with pytest.raises(ConfigError, match=r"sources\.rat\.f_oral"):
        dataclasses.replace(good, species_pk={"rat": {"f_oral": 0.5}})
    assert isinstance(good, Drug)
    assert tuple(SPECIES) == SPECIES_NAMES  # one list of species for the catalogue and the engine


def test_docs_list_every_drug_and_its_sources():
    text = (Path(__file__).resolve().parents[1] / "docs" / "drugs.md").read_text(encoding="utf-8")
    for name, d in DRUGS.items():
        assert f"| {name} |" in text and f"**{name}**" in text
        assert d.sources["half_life_h"] in text
