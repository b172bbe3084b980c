"""Scenario files: the built-ins step, inheritance and overrides merge as documented, errors name file and key."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import (
    BUILTIN_DIR,
    Scenario,
    ScenarioSyntaxError,
    builtin_scenarios,
    load_scenario,
    parse_key,
    parse_set,
)
from neuroagents.scenario.schema import EXAMPLE

BUILTINS = sorted(builtin_scenarios())
SMALL = ["tissue.width_um=400", "tissue.height_um=400", "scenario.duration_min=3", "time.cell_dt_min=1.0",
         "time.diffusion_dt_min=1.0"]
"""Overrides that make any scenario a few cheap steps."""


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# --- the built-in scenarios ----------------------------------------------------------------------
def test_the_builtins_are_there():
    assert {"base", "healthy", "nerve_injury", "nerve_injury_tofacitinib", "inflamed_skin"} <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_each_builtin_loads_and_steps_seeded(name):
    s = load_scenario(name, SMALL)
    assert s.scenario.name == name
    text = s.scenario.description
    assert 20 <= len(text) <= 200 and "\n" not in text  # one line for 'neuroagents scenarios'
    m = s.build_model()
    steps = math.ceil(s.duration_min / s.time.cell_dt_min)
    for _ in range(steps):  # over steps
        m.step()
    assert (m.steps, m.time_min) == (3, 3.0)
    again = s.build_model()
    for _ in range(steps):  # over steps
        again.step()
    assert m.timeseries().equals(again.timeseries())  # seeded: the same run twice


def test_a_human_has_human_pk_the_pinprick_series_and_rates_nerve_injury_pain():
    """``species = "human"``: 70 kg and the drugs' human PK, the QST pinprick series, a 0-10 rating of ongoing pain."""
    from neuroagents.pain.params import SPECIES

    s = load_scenario("nerve_injury_tofacitinib", [*SMALL, 'scenario.species="human"'])
    m = s.build_model()
    assert m.pain.species is SPECIES["human"]
    assert (m.pharmacology.species, m.pharmacology.body_weight_kg) == ("human", 70.0)
    mouse = load_scenario("nerve_injury_tofacitinib", SMALL).build_model()
    # the same mg/kg in a 70 kg person: slower clearance per kg than in a 25 g mouse (allometry), so more drug
    t = [60.0 * h for h in range(1, 25)]
    human_auc = m.pharmacology.concentrations_over(t)["tofacitinib"]["plasma_total"].sum()
    mouse_auc = mouse.pharmacology.concentrations_over(t)["tofacitinib"]["plasma_total"].sum()
    assert human_auc > 2.0 * mouse_auc
    for _ in range(3):  # over steps
        m.step()
    row = m.pain.readouts(m)
    assert 0.0 < row["pain_rating_nrs"] <= 10.0  # ectopic discharge of the injured half is ongoing pain
    assert row["withdrawal_threshold_g"] in SPECIES["human"].filaments_g


def test_builtins_say_what_they_set():
    injured = load_scenario("nerve_injury", SMALL).build_model()
    injured.step()
    counts = injured.counts()["neuron"]
    assert counts["injured"] + counts["intact"] == 60 and 15 <= counts["injured"] <= 45  # each neuron with p = 0.5
    assert "stand-in" in load_scenario("nerve_injury").scenario.description  # honest about one compartment
    treated = load_scenario("nerve_injury_tofacitinib", SMALL)
    assert treated.drugs[0]["drug"] == "tofacitinib" and treated.injury.injured_fraction == 0.5
    assert treated.build_model().pharmacology is not None
    assert load_scenario("inflamed_skin", SMALL).build_model().mast_cell_stimulus == 0.8
    healthy = load_scenario("healthy")
    assert healthy.injury.injured_fraction == 0 and not healthy.drugs and healthy.duration_min == 7 * 1440


def test_base_follows_the_model_defaults():
    """base.toml spells out NeuroImmuneModel's defaults; a change to either must be a decision, not drift."""
    kwargs = load_scenario("base").model_kwargs()
    defaults = {k: p.default for k, p in inspect.signature(NeuroImmuneModel.__init__).parameters.items()}
    skip = {"backend", "seed", "mediators", "cell_params", "inhibition", "pain_params"}
    for key, value in kwargs.items():  # over model arguments
        if key in skip:
            continue
        if isinstance(defaults[key], tuple):  # sequences: a TOML array against the model's empty tuple
            assert list(value) == list(defaults[key]), key
        else:
            assert value == defaults[key], key


def test_resolved_scenario_validates_again_and_sex_is_kept():
    s = load_scenario("nerve_injury_tofacitinib", ["mediators.TNF.decay_per_min=0.05"])
    again = Scenario.model_validate(s.resolved())
    assert again.model_dump() == s.model_dump()
    assert s.resolved()["scenario"]["sex"] in ("female", "male")
    assert s.model_kwargs()["sex"] == s.scenario.sex  # the model scales cell parameters by sex


def test_example_mapping_and_mediator_overrides_reach_the_grid():
    s = Scenario.model_validate({**EXAMPLE, "mediators": {"TNF": {"decay_per_min": 0.5}}})
    m = s.build_model()
    tnf = m.env.mediators[m.env.index("TNF")]
    assert tnf.decay_per_min == 0.5 and tnf.sources["decay_per_min"] == "override"
    assert m.env.mediators[m.env.index("IL6")].sources["decay_per_min"] != "override"
    assert Scenario.model_validate(EXAMPLE).mediator_list() is None  # the model's own default list


# --- inheritance ---------------------------------------------------------------------------------
def test_inheritance_merges_tables_key_by_key(tmp_path):
    write(tmp_path / "parent.toml", 'base = "nerve_injury_tofacitinib"\n[scenario]\ndescription = "mine"\n'
          "[tissue]\nwidth_um = 800.0\n[cells.macrophage]\nspeed_um_per_min = 2.0\n")  # fmt: skip
    (tmp_path / "sub").mkdir()
    child = write(tmp_path / "sub" / "child.toml", 'base = "../parent.toml"\n[scenario]\nduration_min = 30.0\n'
                  "[cells.macrophage]\npersistence_min = 3.0\n[cells.initial]\nneuron = 10\n")  # fmt: skip
    s = load_scenario(child)
    assert s.scenario.name == "child"  # from the file name, not inherited
    assert s.scenario.description == ""  # not inherited either
    assert s.duration_min == 30.0 and s.scenario.duration_days is None  # duration_min replaced duration_days
    assert s.tissue.width_um == 800.0 and s.tissue.height_um == 2000.0  # merged key by key
    assert s.cells.macrophage == {"speed_um_per_min": 2.0, "persistence_min": 3.0}
    assert s.cells.initial.neuron == 10 and s.cells.initial.macrophage == 300
    assert s.injury.injured_fraction == 0.5 and s.drugs[0]["drug"] == "tofacitinib"
    assert [f.rsplit("/", 1)[-1] for f in s.files] == [
        "base.toml", "nerve_injury.toml", "nerve_injury_tofacitinib.toml", "parent.toml", "child.toml",
    ]  # fmt: skip


def test_arrays_replace_and_an_empty_array_drops_inherited_drugs(tmp_path):
    path = write(tmp_path / "untreated.toml", 'base = "nerve_injury_tofacitinib"\ndrugs = []\n')
    assert load_scenario(path).drugs == []
    path = write(tmp_path / "other.toml", 'base = "nerve_injury_tofacitinib"\n[[drugs]]\ndrug = "celecoxib"\n'
                 'route = "oral"\ndose_mg_per_kg = 10.0\n')  # fmt: skip
    assert [d["drug"] for d in load_scenario(path).drugs] == ["celecoxib"]


def test_cycles_and_missing_bases_are_errors(tmp_path):
    write(tmp_path / "a.toml", 'base = "b.toml"\n')
    write(tmp_path / "b.toml", 'base = "a.toml"\n')
    with pytest.raises(ConfigError, match=r"cycle: .*a\.toml -> .*b\.toml -> .*a\.toml"):
        load_scenario(tmp_path / "a.toml")
    write(tmp_path / "self.toml", 'base = "self.toml"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_scenario(tmp_path / "self.toml")
    path = write(tmp_path / "orphan.toml", 'base = "helthy"\n')
    with pytest.raises(ConfigError, match=r"orphan\.toml: base = 'helthy': .*did you mean 'healthy'"):
        load_scenario(path)
    path = write(tmp_path / "lost.toml", 'base = "nowhere.toml"\n')
    with pytest.raises(ConfigError, match=r"lost\.toml: base = 'nowhere\.toml': must be an existing scenario file"):
        load_scenario(path)
    path = write(tmp_path / "typed.toml", "base = 3\n")
    with pytest.raises(ConfigError, match=r"typed\.toml: base = 3"):
        load_scenario(path)


def test_unknown_scenario_names_get_the_nearest_builtin():
    with pytest.raises(ConfigError, match="did you mean 'nerve_injury'"):
        load_scenario("nerve_injry")
    with pytest.raises(ConfigError, match="no file"):
        load_scenario("does/not/exist.toml")


# --- --set ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("cells.macrophage.speed_um_per_min=3", ("cells", "macrophage", "speed_um_per_min"), 3),
        ("tissue.width_um = 2.5e3", ("tissue", "width_um"), 2500.0),
        ("scenario.species=rat", ("scenario", "species"), "rat"),  # a bare word is a string
        ('scenario.description="two words"', ("scenario", "description"), "two words"),
        ("flag=true", ("flag",), True),
        ("xs=[1, 2.5]", ("xs",), [1, 2.5]),
        ('drugs[1]={drug = "celecoxib"}', ("drugs", 1), {"drug": "celecoxib"}),
        ("a-b.c_d[0][2]=-1", ("a-b", "c_d", 0, 2), -1),
        ('v="a=b"', ("v",), "a=b"),
    ],
)
def test_parse_set_reads_values_as_toml(text, path, value):
    assert parse_set(text) == (path, value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("no_equals_sign", "KEY=VALUE"),
        ("a..b=1", "dotted key"),
        ("a b=1", "dotted key"),
        ("x=[1,", "a TOML value"),
        ("x=", "a TOML value"),
        ('x="open', "a TOML value"),
        ("x=1\ny=2", "a TOML value"),
        ("x=true false", "a TOML value"),
    ],
)
def test_parse_set_refuses_what_it_cannot_read(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_set(text)


def test_parse_key():
    assert parse_key("drugs[0].dose_mg") == ("drugs", 0, "dose_mg")


def test_overrides_apply_in_order_over_inheritance():
    s = load_scenario(
        "nerve_injury_tofacitinib",
        [
            "cells.macrophage.speed_um_per_min=3",
            "cells.macrophage.speed_um_per_min=2.5",  # the last one wins
            "scenario.species=rat",
            "drugs[0].dose_mg=2",  # replaces the inherited dose_mg_per_kg
            'drugs[1]={drug="celecoxib", route="oral", dose_mg_per_kg=10}',  # appends
            "inhibition.JAK1=0.25",
            "pain.injured_transduction=0.0",
            "scenario.duration_min=90",
        ],
    )
    assert s.cells.macrophage == {"speed_um_per_min": 2.5}
    assert s.scenario.species == "rat" and s.duration_min == 90.0
    assert s.drugs[0]["dose_mg"] == 2 and "dose_mg_per_kg" not in s.drugs[0]
    assert [d["drug"] for d in s.drugs] == ["tofacitinib", "celecoxib"]
    assert s.model_kwargs()["inhibition"] == {"JAK1": 0.25}
    assert s.model_kwargs()["pain_params"] == {"injured_transduction": 0.0}
    assert s.files[-1] == "--set" and len(s.overrides) == 8
    assert load_scenario("nerve_injury_tofacitinib").drugs[0]["dose_mg_per_kg"] == 10.0  # files untouched


# --- errors a person can act on -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("cells.macrophage.sped_um_per_min=3",
         "(--set): cells.macrophage.sped_um_per_min = 3: must be a known parameter (did you mean 'speed_um_per_min'?)"),
        ("cells.macrophage.speed_um_per_min=-3",
         "cells.macrophage.speed_um_per_min = -3: must be a number in [0, inf]"),
        ("cells.macrofage.speed_um_per_min=3", "cells.macrofage = {'speed_um_per_min': 3}: must be a known key "
                                               "(did you mean 'macrophage'?)"),
        ("tisue.width_um=3", "tisue = {'width_um': 3}: must be a known key (did you mean 'tissue'?)"),
        ("tissue.widht_um=3", "tissue.widht_um = 3: must be a known key (did you mean 'width_um'?)"),
        ("tissue.width_um=0", "tissue.width_um = 0: must be a length > 0 (µm)"),
        ("tissue.width_um=big", "tissue.width_um = 'big': must be a length > 0 (µm)"),
        ("tissue.crowding_limit=2.5", "tissue.crowding_limit = 2.5: must be an integer >= 1"),
        ("tissue.voxel_um=0.01", "tissue.voxel_um = 0.01: must be large enough that the tissue has at most"),
        ("scenario.species=rta",
         "scenario.species = 'rta': must be one of 'mouse', 'rat', 'human' (did you mean 'rat'?)"),
        ("scenario.sex=f", "scenario.sex = 'f': must be one of 'female', 'male'"),
        ("scenario.seed=-1", "scenario.seed = -1: must be an integer in [0, 2**63 - 1]"),
        ("scenario.duration_days=inf", "scenario.duration_days = inf: must be a duration in (0, 36500] (days)"),
        ("cells.initial.neutron=1", "cells.initial.neutron = 1: must be a known key (did you mean 'neuron'?)"),
        ("cells.initial.neuron=true", "cells.initial.neuron = True: must be an integer in [0, 10,000,000]"),
        ("injury.injured_fraction=1.5", "injury.injured_fraction = 1.5: must be a fraction in [0, 1]"),
        ("time.cell_dt_min=0", "time.cell_dt_min = 0: must be a time > 0 (min)"),
        ("stimulus.mast_cell=2", "stimulus.mast_cell = 2: must be a fraction in [0, 1]"),
        ("pain.mech_max_drop=1.5", "pain.mech_max_drop = 1.5: must be a number in [0, 0.99]"),
        ("pain.mech_max_dorp=0.5",
         "pain.mech_max_dorp = 0.5: must be a known parameter (did you mean 'mech_max_drop'?)"),
        ("mediators.TNFa.decay_per_min=1", "mediators.TNFa = {'decay_per_min': 1}: must be a mediator on the grid "
                                           "(did you mean 'TNF'?)"),
        ("mediators.TNF.decay=1", "mediators.TNF.decay = 1: must be a known key (did you mean 'decay_per_min'?)"),
        ("mediators.TNF.decay_per_min=-1", "mediators.TNF.decay_per_min = -1: must be a decay rate >= 0 (1/min)"),
        ("inhibition.JAK7=0.5", "inhibition.JAK7 = 0.5: must be a kinase, pathway or receptor (did you mean 'JAK"),
        ("inhibition.JAK1=2", "inhibition.JAK1 = 2: must be a fraction in [0, 1]"),
        ("drugs[0].route=orale", "drugs[0].route = 'orale': must be one of ['oral', 'sc', 'iv', 'intrathecal'] "
                                 "(did you mean 'oral'?)"),
        ("drugs[0].drug=tofacitnib", "drugs[0].drug = 'tofacitnib': must be a drug in the catalogue "
                                     "(did you mean 'tofacitinib'?)"),
        ("drugs[0].intervl_h=12", "drugs[0].intervl_h = 12: must be a dosing key (did you mean 'interval_h'?)"),
        ("drugs[0].n_doses=0", "drugs[0].n_doses = 0: must be an integer >= 1"),
        ("drugs[2].drug=x", "drugs[2].drug = 'x': must be an index into drugs (1 items)"),
        ("drugs=3", "drugs = 3: must be an array of tables [[drugs]]"),
        ("tissue.width_um.x=1", "tissue.width_um.x = 1: must be a key into a table (tissue.width_um is 2000.0"),
        ("compartments.drg.kind=spleen", "compartments.drg.kind = 'spleen': must be 'periphery' (skin, paw, joint, "
                                         "nerve), 'drg' or 'dorsal_horn'"),
        ("axons.soma=drg", "axons = {'soma': 'drg', 'periphery': None, 'spinal': None}: must be left out: axons link "
                           "[compartments.<name>]"),
        ("schema_version=2", "schema_version = 2: must be 1"),
    ],
)  # fmt: skip
def test_typos_and_bad_values_name_file_key_value_and_what_is_allowed(override, expected):
    with pytest.raises(ConfigError) as info:
        load_scenario("nerve_injury_tofacitinib", [override])
    message = str(info.value)
    where = message.partition(" (--set): ")[0]
    assert Path(where).resolve() == BUILTIN_DIR / "nerve_injury_tofacitinib.toml", message
    assert expected in message, message
    assert "\n" not in message


def test_errors_in_a_file_name_that_file_and_errors_in_a_base_name_both(tmp_path):
    path = write(tmp_path / "typo.toml", 'base = "healthy"\n[cells.macrophage]\nsped_um_per_min = 3.0\n')
    with pytest.raises(ConfigError, match=r"typo\.toml: cells\.macrophage\.sped_um_per_min = 3\.0: must be a known "
                       r"parameter \(did you mean 'speed_um_per_min'\?\)"):  # fmt: skip
        load_scenario(path)
    write(tmp_path / "bad_base.toml", 'base = "healthy"\n[tissue]\nwidth_um = -1.0\n')
    child = write(tmp_path / "child.toml", 'base = "bad_base.toml"\n[scenario]\nseed = 2\n')
    with pytest.raises(ConfigError) as info:
        load_scenario(child)
    assert str(info.value) == (
        f"{tmp_path / 'bad_base.toml'} (base of {child}): tissue.width_um = -1.0: must be a length > 0 (µm)"
    )


def test_a_file_without_base_must_be_complete(tmp_path):
    path = write(tmp_path / "partial.toml", '[scenario]\nspecies = "mouse"\nsex = "female"\nseed = 1\n'
                 "duration_days = 1.0\n")  # fmt: skip
    with pytest.raises(ConfigError, match=r"partial\.toml: tissue = <missing>: must be given: a table \[tissue\]"):
        load_scenario(path)
    path = write(tmp_path / "both.toml", 'base = "healthy"\n[scenario]\nduration_min = 5.0\nduration_days = 1.0\n')
    with pytest.raises(ConfigError, match=r"both\.toml: scenario\.duration_days = 1\.0: must be given, or "
                       r"duration_min given \(exactly one"):  # fmt: skip
        load_scenario(path)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('base = "healthy"\n[tissue]\nwidth_um = \n', 3, 12),
        ('base = "healthy"\n[tissue\n', 2, 8),
        ('base = "healthy"\n[scenario]\nseed = 1\nseed = 2\n', 4, None),
        ('base = "healthy"\nxs = [1, 2\n', None, None),
    ],
)
def test_toml_syntax_errors_name_file_line_and_column(tmp_path, text, line, column):
    path = write(tmp_path / "broken.toml", text)
    with pytest.raises(ScenarioSyntaxError) as info:
        load_scenario(path)
    err = info.value
    assert isinstance(err, ConfigError)
    assert str(err).startswith(f"{path}:{err.line}:{err.column}: not valid TOML: ")
    if line is not None:
        assert err.line == line
    if column is not None:
        assert err.column == column


def test_non_utf8_files_are_syntax_errors(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'base = "healthy"\n# caf\xe9\n')
    with pytest.raises(ScenarioSyntaxError, match=r"latin1\.toml:2:\d+: not valid TOML: not UTF-8"):
        load_scenario(path)


def test_interventions_in_a_scenario_reach_the_model_and_typos_are_named(tmp_path):
    path = write(tmp_path / "clodronate.toml", 'base = "nerve_injury"\n[[interventions]]\nkind = "deplete"\n'
                 'cell_type = "macrophage"\nfraction = 0.9\ntime_min = 0.0\n'
                 '[[interventions]]\nkind = "knockout"\nmediator = "miR21"\n')  # fmt: skip
    model = load_scenario(path, overrides=SMALL).build_model(backend="numpy")
    assert model.knockouts.mediators == {"miR21"}
    assert model.depletions[0].fraction == 0.9
    bad = write(
        tmp_path / "bad.toml", 'base = "nerve_injury"\n[[interventions]]\nkind = "knockout"\nmediator = "mir21"\n'
    )
    with pytest.raises(ConfigError, match=r"bad\.toml.*interventions\[0\]\.mediator = 'mir21'.*did you mean 'miR21'"):
        load_scenario(bad)
