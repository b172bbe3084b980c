"""Declared seams: no import cycle, one registry at the bottom, cells use only what their compartment declares,
and a new cell type is one module plus one registry line (examples/neutrophil.py, run here)."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuroagents.cells.host import HOST_NAMES, CellHost
from neuroagents.compartment import Compartment
from neuroagents.errors import ConfigError
from neuroagents.interventions import Depletion
from neuroagents.model import NeuroImmuneModel
from neuroagents.registry import CELL_TYPES, DRUG_TARGETS, MEDIATORS, Registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "neuroagents"
EXAMPLES = ROOT / "examples"


# --- the import graph -----------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, name: str, is_package: bool):
    """Every module name imported anywhere in ``tree`` (functions too), except under ``if TYPE_CHECKING:``."""
    package = name if is_package else name.rpartition(".")[0]
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)  # `from pkg import module`


def import_graph(package_dir: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (by name; a package's own ``__init__`` edges left out)."""
    files = {_module_name(p): p for p in package_dir.rglob("*.py")}
    graph = {}
    for name, path in files.items():  # over modules
        deps = set()
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py"):
            while imported and imported not in files:  # `from a.b import name`: the module a.b
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):  # not one's own package
                deps.add(imported)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v):
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):  # over the modules v imports
            if state.get(w) == 1:
                return [*path[path.index(w):], w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):  # over modules
        if v not in state and (found := visit(v)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 50 and "neuroagents.model" in graph["neuroagents.scenario.schema"]  # a function-level import
    assert "neuroagents.registry" in graph["neuroagents.model"]  # the graph sees what modules import
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_registry_is_at_the_bottom():
    graph = import_graph()
    assert graph["neuroagents.registry"] == {"neuroagents.errors"} and graph["neuroagents.errors"] == set()
    for name, deps in graph.items():  # pharmacology reads the registry, not the cells
        if name.startswith("neuroagents.pharmacology"):
            assert not any(d.startswith("neuroagents.cells") for d in deps), name
    assert "neuroagents.model" not in graph["neuroagents.sex"]
    assert "neuroagents.registry" in graph["neuroagents.cells.signaling"] & graph["neuroagents.pharmacology.schema"]


# --- the registries ---------------------------------------------------------------------------------------
def test_registries_name_what_the_model_and_the_drugs_use():
    from neuroagents.cells.signaling import KINASES, PATHWAYS, RECEPTORS, Receptor
    from neuroagents.pharmacology import DRUGS

    assert tuple(RECEPTORS) == DRUG_TARGETS["receptor"] and KINASES == DRUG_TARGETS["kinase"]
    assert PATHWAYS == DRUG_TARGETS["pathway"]
    with pytest.raises(ConfigError, match=r"a receptor of neuroagents\.registry\.DRUG_TARGETS"):
        Receptor("NOPE", "TNF", 1.0, 1.0, (), ("NFKB",), "assumption")
    targets = {(t.kind, t.name) for d in DRUGS.values() for t in d.targets}
    for kind, name in targets:  # every drug target of the built-in drugs is a registered name
        assert name in (MEDIATORS if kind == "mediator" else DRUG_TARGETS[kind]), (kind, name)
    m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=1, n_macrophages=1, n_neurons=1)
    assert tuple(m.env.names) == MEDIATORS and list(m.cell_types) == list(CELL_TYPES)


def test_the_schema_keys_are_the_registry():
    from neuroagents.scenario.schema import Cells, CompartmentCells, InitialCounts

    assert list(InitialCounts.model_fields) == list(CELL_TYPES) == list(CompartmentCells.model_fields)
    assert list(Cells.model_fields) == ["initial", *CELL_TYPES]


def test_registering_checks_the_name():
    r = Registry("thing", {"a": "math:pi"})
    assert r["a"] == np.pi and "a" in r and list(r) == ["a"]
    with pytest.raises(ConfigError, match="a name not registered yet"):
        r.register("a", 1)
    with pytest.raises(ConfigError, match="an identifier"):
        r.register("not a name", 1)
    r.register("b", 2)
    assert list(r) == ["a", "b"] and r.get("c") is None
    r.unregister("b")
    assert list(r) == ["a"]


# --- the compartment as the cells' host -------------------------------------------------------------------
def _host_names_used(path: Path) -> set[str]:
    """Names a module's code reads of ``self.model`` (directly, or through a local bound to it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = set()
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        aliases = {"self.model"}
        for node in ast.walk(fn):  # `m = self.model`, `m, p = self.model, self.params`
            if isinstance(node, ast.Assign):
                pairs = [(node.targets[0], node.value)]
                if isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(node.targets[0].elts, node.value.elts, strict=False))
                for target, value in pairs:  # over assignments
                    if isinstance(target, ast.Name) and ast.unparse(value) == "self.model":
                        aliases.add(target.id)
        for node in ast.walk(fn):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) in aliases:
                used.add(node.attr)
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("getattr", "hasattr") and node.args:
                assert ast.unparse(node.args[0]) not in aliases, f"{path.name}: {ast.unparse(node)}"
    return used


def test_cells_use_only_what_the_host_declares():
    files = [*sorted((PACKAGE / "cells").glob("*.py")), EXAMPLES / "neutrophil.py"]
    used = {p.name: _host_names_used(p) for p in files}
    assert {"rng", "env", "time_min", "grid"} <= used["base.py"]  # the scan sees what the cells read
    for name, names in used.items():  # over modules
        assert names <= HOST_NAMES, f"{name} reads {sorted(names - HOST_NAMES)} of its host, not in CellHost"


def test_the_compartment_provides_every_declared_name_without_forwarding():
    assert "__getattr__" not in vars(Compartment)
    m = NeuroImmuneModel(seed=1, compartments=[
        {"name": "paw", "kind": "periphery", "width_um": 200, "height_um": 200, "cells": {"macrophage": 3}},
        {"name": "drg", "kind": "drg", "width_um": 200, "height_um": 200, "cells": {"neuron": 3}}])  # fmt: skip
    for comp in m.compartments.values():  # over compartments
        assert isinstance(comp, CellHost)
        missing = [n for n in sorted(HOST_NAMES) if not hasattr(comp, n)]
        assert not missing
        assert comp.rng is m.rng and comp.time_min == m.time_min and comp.compartments is m.compartments
        assert not hasattr(comp, "deplete") and not hasattr(comp, "pharmacology")  # the model's, not the cells'
    assert m.compartments["drg"].inhibition is m.drg_inhibition


# --- an example cell type: one module plus one registry line ----------------------------------------------
def _load_example():
    spec = importlib.util.spec_from_file_location("neutrophil", EXAMPLES / "neutrophil.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def neutrophil():
    module = _load_example()
    CELL_TYPES.register("neutrophil", module.Neutrophil)  # the one registry line
    try:
        yield module.Neutrophil
    finally:
        CELL_TYPES.unregister("neutrophil")
        sys.modules.pop("neutrophil", None)


def _paw(n_neutrophils: int, tnf_nM: float, steps: int = 30, **kwargs):
    paw = {"name": "paw", "kind": "periphery", "width_um": 300, "height_um": 300,
           "cells": {"macrophage": 5, "neutrophil": n_neutrophils}}  # fmt: skip
    inj = [{"mediator": "TNF", "compartment": "paw", "dose_nM": tnf_nM}] if tnf_nM else []
    m = NeuroImmuneModel(seed=3, compartments=[paw], injections=inj, **kwargs)
    for _ in range(steps):  # over steps
        m.step()
    return m


def test_an_example_cell_type_runs_with_the_others(neutrophil):
    m = _paw(10, 1.0)
    cells = m.compartments["paw"].cell_types["neutrophil"]
    assert isinstance(cells, neutrophil) and list(m.cell_types)[-1] == "neutrophil"
    row = m.timeseries().iloc[-1]
    assert row["n_neutrophil_active"] == cells.n > 0
    assert cells.event_counts["recruited"] > 0  # TNF beside the vessels recruits them
    assert float(cells.pop["NFKB"].mean()) > 0.1  # they sense TNF through TNFR1
    quiet = _paw(10, 0.0)
    assert quiet.compartments["paw"].cell_types["neutrophil"].event_counts["recruited"] == 0  # no TNF, no recruits
    none = _paw(0, 1.0, steps=1)
    some = _paw(10, 1.0, steps=1)
    elastase = [float(x.compartments["paw"].env.field("elastase").mean()) for x in (none, some)]
    assert elastase[1] > elastase[0]  # they release elastase
    n = m.deplete(Depletion("neutrophil", 1.0, m.time_min))  # interventions know it by name
    assert n > 0 and cells.n == 0
    with pytest.raises(ConfigError, match=r"cells\.neutrophil\.speed_um_per_min"):
        _paw(1, 0.0, steps=0, cell_params={"neutrophil": {"speed_um_per_min": -1.0}})


def test_an_example_cell_type_joins_the_single_patch_and_unregisters(neutrophil):
    m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=1, n_macrophages=1, n_neurons=1,
                         cell_counts={"neutrophil": 4})  # fmt: skip
    assert m.compartments["tissue"].cell_types["neutrophil"].n == 4
    CELL_TYPES.unregister("neutrophil")
    assert list(CELL_TYPES) == ["mast_cell", "macrophage", "t_cell", "microglia", "neuron"]
    with pytest.raises(ConfigError, match=r"cell_counts\.neutrophil"):
        NeuroImmuneModel(seed=1, width_um=200, height_um=200, cell_counts={"neutrophil": 4})


def test_a_cell_type_registered_before_the_schema_is_a_scenario_key(tmp_path):
    toml = tmp_path / "paw.toml"
    toml.write_text('base = "healthy"\n[scenario]\nname = "paw"\nduration_min = 3.0\n'
                    '[tissue]\nwidth_um = 200.0\nheight_um = 200.0\n'
                    '[cells.initial]\nmast_cell = 1\nmacrophage = 2\nneutrophil = 5\n'
                    '[cells.neutrophil]\nspeed_um_per_min = 2.0\n', encoding="utf-8")  # fmt: skip
    code = (f"import sys; sys.path.insert(0, {str(EXAMPLES)!r})\n"
            "from neuroagents.registry import CELL_TYPES\n"
            "CELL_TYPES.register('neutrophil', 'neutrophil:Neutrophil')\n"
            "from neuroagents.scenario import load_scenario\n"
            f"m = load_scenario({str(toml)!r}).build_model()\n"
            "m.step(); m.step()\n"
            "ct = m.cell_types['neutrophil']\n"
            "print(ct.n, ct.params.speed_um_per_min)\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    n, speed = out.stdout.split()
    assert int(n) >= 4 and float(speed) == 2.0  # seeded 5, a few may have died; the [cells.neutrophil] override
