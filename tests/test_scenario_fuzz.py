"""Malformed scenario files never escape as anything but a one-line ConfigError naming the file.

Hypothesis starts from a valid, complete scenario that uses every table (cell, pain, mediator, drug and
inhibition overrides included) and breaks it: keys renamed by a typo, unknown keys inserted, values of the
wrong type or out of any range, keys deleted, and the TOML text itself damaged. Mutations that can never be
valid (a typo, an unknown key, a wrong type, an out-of-range number) must be refused; the others (a deletion,
damaged text) may still load, but if they fail it must be with a ConfigError whose message names the file.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import math
import re
import tomllib
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from neuroagents.cells.signaling import KINASES, PATHWAYS, RECEPTORS
from neuroagents.errors import ConfigError
from neuroagents.model import CELL_TYPES, DEFAULT_MEDIATORS
from neuroagents.pain.params import PainParams
from neuroagents.pharmacology.dosing import DosingSchedule
from neuroagents.scenario import BUILTIN_DIR, Scenario, ScenarioSyntaxError, load_scenario

FILENAME = "fuzzed_case.toml"

RICH = tomllib.loads((BUILTIN_DIR / "base.toml").read_text(encoding="utf-8"))
RICH["cells"]["macrophage"] = {"speed_um_per_min": 2.0, "persistence_min": 4.0}
RICH["cells"]["mast_cell"] = {"refractory_min": 30.0}
RICH["pain"] = {"mech_max_drop": 0.8, "injured_transduction": 0.5}
RICH["mediators"] = {"TNF": {"decay_per_min": 0.05}, "IL6": {"diffusion_um2_per_min": 500.0}}
RICH["inhibition"] = {"JAK1": 0.5, "NFKB": 0.1}
RICH["drugs"] = [{"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 10.0, "interval_h": 12.0, "n_doses": 4}]
RICH["scenario"]["name"] = "fuzzed"


def _field_names(model) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():  # over fields, recursively through nested tables
        names.add(name)
        for ann in (info.annotation, *typing.get_args(info.annotation)):
            for a in (ann, *typing.get_args(ann)):
                if isinstance(a, type) and issubclass(a, BaseModel):
                    names |= _field_names(a)
    return names


VALID_NAMES = (
    _field_names(Scenario)
    | {f.name for c in CELL_TYPES.values() for f in dataclasses.fields(c.Params)}
    | {f.name for f in dataclasses.fields(PainParams)}
    | {f.name for f in dataclasses.fields(DosingSchedule)}
    | set(DEFAULT_MEDIATORS) | set(KINASES) | set(PATHWAYS) | set(RECEPTORS) | {"base"}
)  # fmt: skip
"""Every key that is valid somewhere: a mutated key outside this set can be valid nowhere."""


# --- a small TOML writer (tables as [headers], arrays of tables as [[headers]], the rest inline) -------
def _string(s: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in s:  # over characters
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _string(k)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _is_table_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def to_toml(doc: dict) -> str:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict) and not _is_table_array(v)]

    def table(name: str, d: dict):
        lines.append(f"\n[{name}]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in d.items() if not isinstance(v, dict))
        for k, v in d.items():  # sub-tables after the table's own keys
            if isinstance(v, dict):
                table(f"{name}.{_key(k)}", v)

    for k, v in doc.items():  # over top-level tables
        if isinstance(v, dict):
            table(_key(k), v)
        elif _is_table_array(v):
            for item in v:  # over array items
                lines.append(f"\n[[{_key(k)}]]")
                lines.extend(f"{_key(a)} = {_value(b)}" for a, b in item.items())
    return "\n".join(lines) + "\n"


# --- paths into the document ---------------------------------------------------------------------
def _paths(node, prefix=()):
    """Every (path, value) below ``node``: tables, array items and leaves."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i), v
            yield from _paths(v, (*prefix, i))


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


KEYS = [p for p, _ in _paths(RICH) if isinstance(p[-1], str)]
LEAVES = [p for p, v in _paths(RICH) if not isinstance(v, (dict, list))]
NUMERIC = [p for p in LEAVES if isinstance(_get(RICH, p), (int, float))]
TABLES = [()] + [p for p, v in _paths(RICH) if isinstance(v, dict)]

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
numbers = st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True))
strings = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
others = st.one_of(
    st.booleans(),
    st.just([]),
    st.lists(st.integers(0, 3), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3), max_size=2),
    st.just(datetime.date(2020, 1, 1)),
)
scalars = st.one_of(numbers, strings, others)


@st.composite
def typo(draw, key: str) -> str:
    i = draw(st.integers(0, max(0, len(key) - 1)))
    op = draw(st.sampled_from(["drop", "double", "swap", "replace", "case", "append"]))
    c = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_0123456789"))
    if op == "drop":
        new = key[:i] + key[i + 1 :]
    elif op == "double":
        new = key[:i] + key[i] + key[i:]
    elif op == "swap" and len(key) > 1:
        j = min(i + 1, len(key) - 1)
        new = key[:i] + key[j] + key[i] + key[j + 1 :] if j > i else key[:-2] + key[-1] + key[-2]
    elif op == "case":
        new = key[:i] + key[i].swapcase() + key[i + 1 :]
    elif op == "append":
        new = key + c
    else:
        new = key[:i] + c + key[i + 1 :]
    return new


@st.composite
def mutation(draw):
    """A broken copy of RICH: ``(document, must_fail, what)``."""
    doc = copy.deepcopy(RICH)
    kind = draw(st.sampled_from(["typo", "insert", "wrong_type", "out_of_range", "delete"]))
    if kind == "typo":
        path = draw(st.sampled_from(KEYS))
        new = draw(typo(path[-1]))
        if not new or new in VALID_NAMES:
            new = path[-1] + "_x"
        parent = _get(doc, path[:-1])
        parent[new] = parent.pop(path[-1])
        return doc, True, f"typo {path} -> {new!r}"
    if kind == "insert":
        path = draw(st.sampled_from(TABLES))
        key = draw(names.filter(lambda k: k not in VALID_NAMES))
        _get(doc, path)[key] = draw(scalars)
        return doc, True, f"insert {path} + {key!r}"
    if kind == "wrong_type":
        path = draw(st.sampled_from(LEAVES))
        old = _get(doc, path)
        if isinstance(old, str):
            value = draw(st.one_of(numbers, others))
        else:
            value = draw(st.one_of(strings, others))
        _get(doc, path[:-1])[path[-1]] = value
        return doc, True, f"wrong type {path} = {value!r}"
    if kind == "out_of_range":
        path = draw(st.sampled_from(NUMERIC))
        value = draw(st.sampled_from([-1e9, math.inf, -math.inf, math.nan]))
        _get(doc, path[:-1])[path[-1]] = value
        return doc, True, f"out of range {path} = {value!r}"
    path = draw(st.sampled_from(KEYS))
    del _get(doc, path[:-1])[path[-1]]
    return doc, False, f"delete {path}"


@st.composite
def damaged_text(draw):
    text = to_toml(RICH)
    op = draw(st.sampled_from(["delete", "insert", "truncate", "duplicate_line"]))
    i = draw(st.integers(0, len(text)))
    if op == "delete":
        n = draw(st.integers(1, 8))
        return text[:i] + text[i + n :]
    if op == "insert":
        junk = draw(st.text(st.sampled_from("[]{}=\"'.,#\n =-+_aeiou019\\"), min_size=1, max_size=4))
        return text[:i] + junk + text[i:]
    if op == "truncate":
        return text[:i]
    lines = text.splitlines(keepends=True)
    k = draw(st.integers(0, len(lines) - 1))
    return "".join(lines[: k + 1] + lines[k:])


@pytest.fixture(scope="module")
def case_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / FILENAME


def _check(path, text: str, must_fail: bool, what: str) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ConfigError as exc:
        message = str(exc)
        assert FILENAME in message, (what, message)
        assert "\n" not in message and "Traceback" not in message, (what, message)
        if isinstance(exc, ScenarioSyntaxError):
            assert exc.line >= 1 and exc.column >= 1, message
        return
    assert not must_fail, f"accepted a file that can never be valid: {what}\n{text}"


def test_the_unbroken_document_is_valid(case_file):
    case_file.write_text(to_toml(RICH), encoding="utf-8")
    s = load_scenario(case_file)
    assert s.scenario.name == "fuzzed" and s.drugs[0]["n_doses"] == 4 and s.inhibition == {"JAK1": 0.5, "NFKB": 0.1}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutation())
def test_broken_keys_and_values_give_a_config_error_naming_the_file(case_file, case):
    doc, must_fail, what = case
    _check(case_file, to_toml(doc), must_fail, what)


@settings(max_examples=300, deadline=None)
@given(text=damaged_text())
def test_damaged_toml_gives_a_config_error_naming_the_file(case_file, text):
    _check(case_file, text, False, "damaged text")
