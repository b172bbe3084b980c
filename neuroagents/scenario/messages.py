"""Key paths and messages: ``drugs[0].route`` <-> ``("drugs", 0, "route")``, and pydantic's errors as one line.

A :class:`~pydantic.ValidationError` becomes a :class:`~neuroagents.errors.ConfigError` naming the file that set
the key (or ``--set``), the dotted key, the value (shortened) and what is allowed: the field's own phrase from
the schema, the choices with the nearest one, or the known keys with the nearest one for an unknown key.

Examples
--------
>>> parse_key("drugs[0].dose_mg")
('drugs', 0, 'dose_mg')
>>> format_path(("drugs", 0, "dose_mg"))
'drugs[0].dose_mg'
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ValidationError

from neuroagents.errors import ConfigError
from neuroagents.scenario.schema import Scenario, did_you_mean

__all__ = ["MISSING", "SET", "Invalid", "format_path", "parse_key", "short", "to_config_error"]

SET = "--set"
"""Where overrides come from, as messages name it."""
_SEGMENT = re.compile(r"^([A-Za-z0-9_\-]+)((?:\[\d+\])*)$")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()
"""The value shown for a key that is required and absent."""


class _Shown:
    """A long value shortened for a one-line message."""

    def __init__(self, value, limit: int = 80):
        self.value = value
        self.text = repr(value) if len(repr(value)) <= limit else repr(value)[: limit - 3] + "..."

    def __repr__(self) -> str:
        return self.text


_INPUT = object()  # Invalid's default value: the input pydantic validated


class Invalid(ValueError):
    """Raised by a validator: the value where pydantic found the problem (or at ``key`` below it) is not allowed.

    Unlike a :class:`ConfigError` it names no whole key of its own, so a table that sits at several places
    (``parameters[0]``, ``parameters[1]``) is reported at the right one.

    Parameters
    ----------
    allowed : str
        What is allowed, as ``must be <allowed>`` reads.
    key : tuple, optional
        Path below the validator's location, e.g. ``("max",)`` from a table's validator, ``(1, "key")`` from a
        list's.
    value : object, optional
        The value shown (default: the input pydantic validated there).
    """

    def __init__(self, allowed: str, key: tuple = (), value=_INPUT):
        super().__init__(allowed)
        self.allowed, self.key, self.value = allowed, tuple(key), value


def short(value):
    """``value``, or a stand-in whose repr is at most 80 characters."""
    return value if len(repr(value)) <= 80 else _Shown(value)


def _one_line(text: str) -> str:
    """``text`` with control and other unprintable characters escaped, so a message stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def format_path(path: Iterable) -> str:
    """``("drugs", 0, "route")`` -> ``drugs[0].route``; a key that is not a plain name is quoted, as in TOML."""
    out = ""
    for part in path:  # over path segments
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _SEGMENT.match(part) and "[" not in part else _one_line(json.dumps(part, ensure_ascii=False))
        out += f".{name}" if out else name
    return out


def parse_key(key: str, where: str = SET) -> tuple:
    """``"drugs[0].dose_mg"`` -> ``("drugs", 0, "dose_mg")``."""
    parts: list = []
    for seg in key.strip().split("."):  # over dotted segments
        m = _SEGMENT.match(seg)
        if not m:
            allowed = ("a dotted key of names made of letters, digits, '_' or '-', with [i] for array items "
                       "(e.g. cells.macrophage.speed_um_per_min, drugs[0].dose_mg)")  # fmt: skip
            raise ConfigError(key, seg, allowed, where)
        parts.append(m[1])
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m[2]))
    return tuple(parts)


# --- validation errors -> ConfigError ------------------------------------------------------------
def _unwrap(ann):
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return args[0] if len(args) == 1 else ann
    return ann


def _lookup(loc: tuple, root: type[BaseModel] = Scenario):
    """The model holding the last key of ``loc`` (from ``root``) and that key's FieldInfo (or None)."""
    ann, parent, info = root, None, None
    for part in loc:  # over the error's location
        ann = _unwrap(ann)
        origin = typing.get_origin(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            parent, info = ann, ann.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                return parent, None
            ann = info.annotation
        elif origin in (dict, list):
            parent, info = None, None
            ann = typing.get_args(ann)[-1] if typing.get_args(ann) else typing.Any
        else:
            return None, None
    return parent, info


def _allowed_of(info) -> str | None:
    extra = getattr(info, "json_schema_extra", None)
    return extra.get("allowed") if isinstance(extra, dict) else None


_GENERIC = {
    "dict_type": "a table", "model_type": "a table", "list_type": "an array", "float_type": "a number",
    "int_type": "an integer", "string_type": "a string", "bool_type": "true or false",
    "finite_number": "a finite number",
}  # fmt: skip


def _from_pydantic(err: dict, root: type[BaseModel] = Scenario) -> tuple[tuple, object, str]:
    loc = tuple(err["loc"])
    parent, info = _lookup(loc, root)
    kind = err["type"]
    if kind == "missing":
        return loc, MISSING, f"given: {_allowed_of(info) or 'a value'}"
    if kind == "extra_forbidden":
        hook = getattr(parent, "unknown_key_allowed", None)  # a schema's own phrase (the sweep file's)
        if hook is not None:
            return loc, short(err["input"]), hook(loc[-1])
        known = list(parent.model_fields) if parent is not None else []
        table = f"[{format_path(loc[:-1])}]" if len(loc) > 1 else "the top level"
        allowed = f"a known key{did_you_mean(loc[-1], known)}; known in {table}: {', '.join(known)}"
        return loc, short(err["input"]), allowed
    allowed = _allowed_of(info) or _GENERIC.get(kind) or err["msg"][:1].lower() + err["msg"][1:]
    if kind == "literal_error" and info is not None:
        allowed += did_you_mean(err["input"], typing.get_args(_unwrap(info.annotation)))
    return loc, short(err["input"]), allowed


def _where(prov: Mapping, path: tuple, top: str, missing: bool) -> str:
    if missing:
        return top
    for n in range(len(path), -1, -1):  # the deepest recorded key
        label = prov.get(path[:n])
        if label is not None:
            if label == SET:
                return f"{top} ({SET})"
            return label if label == top else f"{label} (base of {top})"
    return top


def to_config_error(exc: ValidationError, prov: Mapping, top: str, root: type[BaseModel] = Scenario) -> ConfigError:
    """The first problem of ``exc`` as one :class:`ConfigError`.

    Parameters
    ----------
    exc : pydantic.ValidationError
        From validating a merged scenario document.
    prov : Mapping[tuple, str]
        Which file (or ``"--set"``) set each key path.
    top : str
        The file that was loaded, as shown to people.
    root : type of pydantic.BaseModel
        The model that was validated (its fields give each key's allowed values).

    Returns
    -------
    ConfigError
        ``where`` names the file that set the key (``"base.toml (base of mine.toml)"``, ``"mine.toml (--set)"``).
    """
    errors = exc.errors(include_url=False)
    # an unknown key before a missing one: a typo of a table's name reads "did you mean", not "missing"
    err = next((e for e in errors if e["type"] != "missing"), errors[0])
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, Invalid):
        path = (*err["loc"], *inner.key)
        value = err["input"] if inner.value is _INPUT else inner.value
        where = _where(prov, path, top, missing=value is MISSING)
        return ConfigError(format_path(path), short(value), _one_line(inner.allowed), where)
    if isinstance(inner, ConfigError):
        path = parse_key(inner.key) if _is_key(inner.key) else tuple(err["loc"])
        where = _where(prov, path, top, missing=False)
        if inner.where:
            where = f"{where}: {inner.where}"
        return ConfigError(_one_line(inner.key), short(inner.value), _one_line(inner.allowed), where)
    path, value, allowed = _from_pydantic(err, root)
    return ConfigError(format_path(path), value, allowed, _where(prov, path, top, missing=value is MISSING))


def _is_key(key: str) -> bool:
    try:
        parse_key(key)
    except ConfigError:
        return False
    return True
