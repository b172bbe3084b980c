"""Guided lessons: a scenario preset, what to look at, a short explanation and an experiment to try.

Each lesson is a TOML file in ``viz/lessons/`` (see one for the format):

``title``, ``order``
    What the dashboard's lesson menu shows, and where.
``scenario``, ``overrides``
    A built-in scenario name (or a ``.toml`` path) and ``KEY=VALUE`` overrides, exactly as
    ``neuroagents run SCENARIO --set KEY=VALUE`` takes them; re-point a lesson by editing these two.
``mediator``, ``counts``, ``compartment``
    The field shown on the heatmap, the cell type whose states the count plot shows, and (optional, for a
    scenario with compartments) the compartment shown first.
``summary``, ``experiment``
    Markdown: what happens and why; numbered steps to try.
``[[try]]``
    One-click actions offered by the lesson (``kind`` = ``drug``, ``deplete`` or ``knockout``, plus the
    arguments of :mod:`viz.actions`' functions and a ``label``).

Examples
--------
>>> lessons = load_lessons()
>>> len(lessons) >= 4
True
>>> list(lessons)[0]  # menu order; the file's numeric prefix is dropped
'cytokine_gradient'
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from neuroagents.errors import ConfigError

__all__ = ["LESSON_DIR", "Lesson", "TryAction", "load_lesson", "load_lessons"]

LESSON_DIR = Path(__file__).resolve().parent / "lessons"
_KEYS = {"title", "order", "scenario", "overrides", "mediator", "counts", "compartment", "summary", "experiment", "try"}
_TRY_KEYS = {
    "drug": {"drug", "route", "dose_mg_per_kg", "interval_h", "n_doses"},
    "deplete": {"cell_type", "fraction", "state"},
    "knockout": {"what", "name"},
}


@dataclass(frozen=True)
class TryAction:
    """A one-click action a lesson offers: ``kind`` and the keyword arguments of its :mod:`viz.actions` function."""

    kind: str
    label: str
    args: tuple[tuple[str, object], ...]

    @property
    def kwargs(self) -> dict:
        """The arguments as a dict."""
        return dict(self.args)


@dataclass(frozen=True)
class Lesson:
    """One guided lesson (see the module docstring for the fields)."""

    name: str
    title: str
    order: int
    scenario: str
    overrides: tuple[str, ...]
    mediator: str
    counts: str
    summary: str
    experiment: str
    actions: tuple[TryAction, ...] = ()
    compartment: str = ""


def _text(where, key, value, required=True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "a non-empty string", where)
    return value.strip()


def load_lesson(path: str | Path) -> Lesson:
    """Read and check one lesson file (the scenario itself is checked when the lesson is opened)."""
    path = Path(path)
    where = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("lesson", path.name, f"a readable TOML file ({exc})", where) from None
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise ConfigError(unknown[0], doc[unknown[0]], f"a lesson key among {sorted(_KEYS)}", where)
    overrides = doc.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, str) and "=" in o for o in overrides):
        raise ConfigError("overrides", overrides, "a list of 'KEY=VALUE' strings", where)
    order = doc.get("order", 99)
    if isinstance(order, bool) or not isinstance(order, int):
        raise ConfigError("order", order, "an integer", where)
    actions = []
    for i, t in enumerate(doc.get("try", [])):  # over a few suggested actions
        kind = t.get("kind") if isinstance(t, dict) else None
        if kind not in _TRY_KEYS:
            raise ConfigError(f"try[{i}].kind", kind, f"one of {sorted(_TRY_KEYS)}", where)
        args = {k: v for k, v in t.items() if k not in ("kind", "label")}
        extra = sorted(set(args) - _TRY_KEYS[kind])
        if extra:
            raise ConfigError(f"try[{i}].{extra[0]}", args[extra[0]], f"a key among {sorted(_TRY_KEYS[kind])}", where)
        actions.append(TryAction(kind, _text(where, f"try[{i}].label", t.get("label")), tuple(sorted(args.items()))))
    return Lesson(
        name=re.sub(r"^\d+_", "", path.stem),
        title=_text(where, "title", doc.get("title")),
        order=order,
        scenario=_text(where, "scenario", doc.get("scenario")),
        overrides=tuple(overrides),
        mediator=_text(where, "mediator", doc.get("mediator")),
        counts=_text(where, "counts", doc.get("counts")),
        summary=_text(where, "summary", doc.get("summary")),
        experiment=_text(where, "experiment", doc.get("experiment")),
        actions=tuple(actions),
        compartment=_text(where, "compartment", doc.get("compartment"), required=False),
    )


def load_lessons(directory: str | Path | None = None) -> dict[str, Lesson]:
    """Every lesson in ``directory`` (default :data:`LESSON_DIR`), ``{name: Lesson}`` in menu order."""
    d = Path(directory) if directory is not None else LESSON_DIR
    lessons = [load_lesson(p) for p in sorted(d.glob("*.toml"))]
    return {ls.name: ls for ls in sorted(lessons, key=lambda ls: (ls.order, ls.name))}
