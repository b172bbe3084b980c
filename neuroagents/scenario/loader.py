"""Loading scenario files: TOML, inheritance, ``--set`` overrides, and errors a person can act on.

A scenario is found by path (``my/run.toml``) or by built-in name
(``nerve_injury``, a file in ``neuroagents/scenarios/``, package data). A file may start
with ``base = "base.toml"`` (a path relative to the file) or ``base = "healthy"``
(a built-in name): the base is loaded first (recursively; cycles are refused)
and the file's tables are merged into it key by key. Arrays (``[[drugs]]``)
and values replace what the base had; ``[scenario]`` ``name`` and
``description`` describe one file and are never inherited (a file without a
name takes its file name). Giving ``duration_days`` drops an inherited
``duration_min`` and the reverse, and likewise ``dose_mg`` and
``dose_mg_per_kg`` within one ``drugs[i]`` table.

Overrides (``--set KEY=VALUE``) come last: any dotted key, ``drugs[0].dose_mg``
for array items, the value read as TOML (``3``, ``true``, ``"rat"``,
``[1, 2]``, ``{drug = "..."}``); a bare word such as ``rat`` is taken as a string.

Every problem is a :class:`~neuroagents.errors.ConfigError` whose message names
the file (and the base file or ``--set`` that set the key), the dotted key, the
value and what is allowed or the nearest valid key; TOML syntax errors name
file, line and column (:class:`ScenarioSyntaxError`).

Examples
--------
>>> parse_set("cells.macrophage.speed_um_per_min=3")
(('cells', 'macrophage', 'speed_um_per_min'), 3)
>>> parse_set("drugs[0].route=oral")
(('drugs', 0, 'route'), 'oral')
>>> s = load_scenario("healthy", overrides=["scenario.duration_min=30", "tissue.width_um=400"])
>>> s.scenario.name, s.duration_min, s.tissue.width_um, s.files[-1]
('healthy', 30.0, 400.0, '--set')
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from neuroagents.errors import ConfigError
from neuroagents.scenario.messages import SET, format_path, parse_key, short, to_config_error
from neuroagents.scenario.schema import Scenario, did_you_mean

__all__ = [
    "BUILTIN_DIR",
    "ScenarioSyntaxError",
    "builtin_scenarios",
    "load_scenario",
    "parse_key",
    "parse_set",
    "resolve_source",
]

def _builtin_dir() -> Path:
    """``neuroagents/scenarios/``, package data found with :mod:`importlib.resources`.

    The same folder in a checkout, an editable install or a wheel installed anywhere (``[tool.setuptools.
    package-data]`` in pyproject.toml ships it). Scenarios name their base files by path, so the package must be
    installed as files (as pip does), not run from a zip archive.
    """
    root = resources.files("neuroagents") / "scenarios"
    return root if isinstance(root, Path) else Path(str(root))


BUILTIN_DIR = _builtin_dir()
"""Where the built-in scenarios live: ``neuroagents/scenarios/`` in the installed (or checked-out) package."""
MAX_BASE_DEPTH = 16
"""Longest chain of ``base`` files."""
_EXCLUSIVE = {("duration_days", "duration_min"): ("scenario",), ("dose_mg", "dose_mg_per_kg"): ("drugs", int)}
"""Keys of which one replaces the other when merged, and the tables (path patterns) where that holds."""
_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")


class ScenarioSyntaxError(ConfigError):
    """A scenario file that is not valid TOML (or not UTF-8 text).

    Attributes
    ----------
    where : str
        The file.
    line, column : int
        1-based position of the problem.
    problem : str
        What the TOML reader said.
    """

    def __init__(self, where: str, line: int, column: int, problem: str):
        self.key, self.value, self.allowed, self.where = "", None, "valid TOML", where
        self.line, self.column, self.problem = line, column, problem
        Exception.__init__(self, f"{where}:{line}:{column}: not valid TOML: {problem}")

    def __reduce__(self):
        return (type(self), (self.where, self.line, self.column, self.problem))


# --- finding files -------------------------------------------------------------------------------
def builtin_scenarios() -> dict[str, Path]:
    """The built-in scenarios, ``{name: path}``, in name order."""
    if not BUILTIN_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def resolve_source(source: str | os.PathLike, relative_to: Path | None = None, *, key: str = "scenario",
                   where: str | None = None) -> Path:  # fmt: skip
    """The file a scenario reference names.

    A reference containing ``/`` or ending in ``.toml`` is a path (relative to
    ``relative_to`` when given, else to the working directory); anything else
    is a built-in name.
    """
    builtins = builtin_scenarios()
    text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if not text:
        raise ConfigError(key, source, f"a .toml file or a built-in scenario among {sorted(builtins)}", where)
    if "/" in text or os.sep in text or text.endswith(".toml"):
        path = Path(text).expanduser()
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.is_file():
            hint = did_you_mean(Path(text).stem, builtins)
            raise ConfigError(key, text, f"an existing scenario file (no file {_display(path)}){hint}", where)
        return path.resolve()
    if text not in builtins:
        allowed = f"a built-in scenario{did_you_mean(text, builtins)}: one of {', '.join(builtins)}; or a .toml file"
        raise ConfigError(key, text, allowed, where)
    return builtins[text].resolve()


# --- reading and merging -------------------------------------------------------------------------
def _read_toml(path: Path, label: str) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError("scenario", str(path), f"a readable file ({exc.strerror})", label) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        raise ScenarioSyntaxError(label, line, exc.start - before.rfind(b"\n"), "not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            line, col, problem = int(m[1]), int(m[2]), msg[: m.start()]
        else:  # "(at end of document)"
            problem = re.sub(r"\s*\(at end of document\)$", "", msg) + " at the end of the file"
            lines = text.split("\n")
            line, col = len(lines), len(lines[-1]) + 1
        raise ScenarioSyntaxError(label, line, col, problem) from None


def _mark(prov: dict, path: tuple, value, label: str) -> None:
    """Record ``label`` as the setter of ``path`` and of everything below it."""
    prov[path] = label
    if isinstance(value, dict):
        for k, v in value.items():  # over table keys
            _mark(prov, (*path, k), v, label)
    elif isinstance(value, list):
        for i, v in enumerate(value):  # over array items
            _mark(prov, (*path, i), v, label)


def _forget(prov: dict, path: tuple) -> None:
    for p in [p for p in prov if p[: len(path)] == path]:  # over recorded keys
        del prov[p]


def _matches(path: tuple, pattern: tuple) -> bool:
    return len(path) == len(pattern) and all(
        (isinstance(p, int) if q is int else p == q) for p, q in zip(path, pattern, strict=True)
    )


def _drop_partners(table: dict, key, path: tuple, prov: dict, keep=()) -> None:
    """Setting ``key`` in the table at ``path`` removes an inherited exclusive partner (duration_days /
    duration_min), unless the same file gives it too (``keep``): then both stay and validation refuses them."""
    for group, pattern in _EXCLUSIVE.items():  # over exclusive groups
        if key in group and _matches(path, pattern):
            for other in group:
                if other != key and other in table and other not in keep:
                    del table[other]
                    _forget(prov, (*path, other))


def _merge(base: dict, over: dict, path: tuple, prov: dict, label: str) -> dict:
    """``over`` merged into ``base`` (tables key by key; values and arrays replace), recording setters."""
    out = dict(base)
    for key, value in over.items():  # over the overlay's keys
        p = (*path, key)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, p, prov, label)
        else:
            _drop_partners(out, key, path, prov, keep=over)
            _forget(prov, p)
            out[key] = copy.deepcopy(value)
            _mark(prov, p, value, label)
    return out


def _load_chain(path: Path, chain: tuple[Path, ...], prov: dict, files: list) -> dict:
    """The file at ``path`` merged over its bases; ``prov`` gets the setter of every key."""
    label = _display(path)
    if path in chain:
        cycle = " -> ".join(_display(p) for p in (*chain, path))
        raise ConfigError("base", label, f"a base that does not lead back to itself (cycle: {cycle})",
                          _display(chain[-1]))  # fmt: skip
    if len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError("base", label, f"a chain of at most {MAX_BASE_DEPTH} base files", _display(chain[-1]))
    doc = _read_toml(path, label)
    base_ref = doc.pop("base", None)
    if base_ref is None:
        files.append(label)
        for key, value in doc.items():  # over top-level keys
            _mark(prov, (key,), value, label)
        return doc
    if not isinstance(base_ref, str):
        raise ConfigError("base", short(base_ref), "a file name relative to this file ('base.toml') or a built-in "
                          "scenario name ('healthy')", label)  # fmt: skip
    base_path = resolve_source(base_ref, path.parent, key="base", where=label)
    parent = _load_chain(base_path, (*chain, path), prov, files)
    meta = parent.get("scenario")
    if isinstance(meta, dict):  # a name and a description describe one file only
        for key in ("name", "description"):
            if key in meta:
                del meta[key]
                _forget(prov, ("scenario", key))
    files.append(label)
    return _merge(parent, doc, (), prov, label)


# --- overrides -----------------------------------------------------------------------------------
def parse_set(text: str, where: str = SET) -> tuple[tuple, object]:
    """Split ``KEY=VALUE`` into a key path and a value read as TOML (a bare word is a string)."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(SET, text, "KEY=VALUE, e.g. cells.macrophage.speed_um_per_min=3", where)
    key, raw = (s.strip() for s in text.split("=", 1))
    path = parse_key(key, where)
    try:
        doc = tomllib.loads(f"v = {raw}")
        if set(doc) != {"v"} or "\n" in raw:
            raise tomllib.TOMLDecodeError("more than one value")
        return path, doc["v"]
    except tomllib.TOMLDecodeError:
        if _BARE.match(raw) and raw not in ("true", "false", "inf", "nan"):
            return path, raw
        raise ConfigError(key, raw, 'a TOML value: a number, true or false, a "string", an [array] or an '
                          "{inline = table}", where) from None  # fmt: skip


def _apply_set(doc: dict, path: tuple, value, prov: dict, where: str) -> None:
    key = format_path(path)
    node = doc
    for i, part in enumerate(path):  # over key segments
        last = i == len(path) - 1
        here = format_path(path[:i]) or "the top level"
        if isinstance(part, int):
            if not isinstance(node, list) or part > len(node) or (part == len(node) and not last):
                size = len(node) if isinstance(node, list) else None
                allowed = (f"an index into {here} ({size} items)" if size is not None
                           else f"a key into a table ({here} is not an array)")  # fmt: skip
                raise ConfigError(key, short(value), allowed, where)
            if last:
                if part == len(node):
                    node.append(None)
                node[part] = copy.deepcopy(value)
            else:
                node = node[part]
            continue
        if not isinstance(node, dict):
            allowed = f"a key into a table ({here} is {short(node)!r}, not a table)"
            raise ConfigError(key, short(value), allowed, where)
        if last:
            _drop_partners(node, part, path[:i], prov)
            node[part] = copy.deepcopy(value)
        else:
            if part not in node:
                node[part] = [] if isinstance(path[i + 1], int) else {}
                prov[path[: i + 1]] = SET
            node = node[part]
    _forget(prov, path)
    _mark(prov, path, value, SET)


# --- the entry point -----------------------------------------------------------------------------
def load_scenario(source: str | os.PathLike, overrides: Iterable[str] = ()) -> Scenario:
    """Load, merge, override and validate a scenario.

    Parameters
    ----------
    source : str or path-like
        A ``.toml`` file or a built-in name (see :func:`builtin_scenarios`).
    overrides : iterable of str
        ``KEY=VALUE`` strings applied after inheritance, in order (see :func:`parse_set`).

    Returns
    -------
    Scenario
        Validated; ``files`` lists the files merged (bases first, then ``"--set"`` if any).

    Raises
    ------
    ConfigError
        Naming the file, the dotted key, the value and what is allowed; :class:`ScenarioSyntaxError` for TOML
        that does not parse.
    """
    path = resolve_source(source)
    top = _display(path)
    prov: dict = {}
    files: list[str] = []
    doc = _load_chain(path, (), prov, files)
    meta = doc.get("scenario")
    if isinstance(meta, dict) and "name" not in meta:
        meta["name"] = path.stem
        _mark(prov, ("scenario", "name"), path.stem, top)
    overrides = list(overrides)
    for text in overrides:  # over --set options, in order
        key_path, value = parse_set(text, where=f"{top} ({SET})")
        _apply_set(doc, key_path, value, prov, where=f"{top} ({SET})")
    if overrides:
        files.append(SET)
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        raise to_config_error(exc, prov, top) from None
    scenario._files = tuple(files)
    scenario._overrides = tuple(overrides)
    return scenario
