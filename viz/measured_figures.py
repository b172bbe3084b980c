"""The dashboard's measured figures: recorded by the tests that measure them, committed with where they were measured.

Frame rates, latencies, the server's cost of a frame and its memory depend on the machine and its load, so no
test can assert them equal to a figure the docs quote. Instead:

* a test that measures one calls :func:`record`: ``test-artifacts/dashboard-timing.json`` gets the figure with
  when it was measured, the load average then, the commit and the machine;
* ``docs/data/dashboard_measured.json`` holds the figures ``docs/dashboard.md`` quotes, all from one run, with
  where and when they were measured; the doc's table of them is rendered from it (:func:`render_block`) and
  ``tests/test_dashboard_numbers.py`` checks that every figure the doc quotes is that file's (:func:`doc_problems`);
* each measuring test also holds its fresh figure to generous bounds around the committed one (:func:`check`):
  a frame rate at least a third of it, a latency at most three times it plus half a second, and so on
  (:func:`bounds_text`), failing with a message that names the doc's line;
* ``python -m viz.measured_figures --update`` rewrites the data file from the tests' record and the doc's table
  from the data file (``--doc``: only the table; ``--check``: say whether the doc is the data file's).

Examples
--------
>>> fig = FIGURES_BY_KEY["nerve_injury pause (s)"]
>>> fig.text(0.176), limit(fig, 0.18)
('0.18 s', 1.04)
>>> within(fig, 0.18, 0.9), within(fig, 0.18, 1.2)
(True, False)
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from neuroagents.errors import ConfigError

__all__ = ["DATA", "DOC", "FIGURES", "FIGURES_BY_KEY", "TIMING", "Figure", "bounds_text", "check", "doc_figures",
           "doc_problems", "limit", "load_data", "record", "record_browser", "render_block", "update_data",
           "update_doc", "within"]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data" / "dashboard_measured.json"
DOC = ROOT / "docs" / "dashboard.md"
TIMING = ROOT / "test-artifacts" / "dashboard-timing.json"
BEGIN = ("<!-- measured figures: rendered from docs/data/dashboard_measured.json by "
         "`python -m viz.measured_figures --update`; do not edit by hand -->")  # fmt: skip
END = "<!-- end of measured figures -->"

BROWSER = "tests/test_dashboard_browser.py::"
NUMBERS = "tests/test_dashboard_numbers.py::"


@dataclass(frozen=True)
class Figure:
    """One measured figure the doc quotes.

    Attributes
    ----------
    key : str
        Its name in the tests' record and the data file.
    label : str
        What it is, as the doc's table says.
    unit : str
        ``"frames/s"``, ``"s"``, ``"ms"`` or ``"MB"``.
    digits : int
        Decimals quoted.
    kind : str
        How a fresh measurement is held to it: ``"rate"``, ``"latency"``, ``"cost"`` or ``"memory"`` (:func:`limit`).
    test : str
        The test that measures it.
    """

    key: str
    label: str
    unit: str
    digits: int
    kind: str
    test: str

    def text(self, value: float) -> str:
        """The figure as the doc quotes it, e.g. ``'19.5 frames/s'``."""
        return f"{value:.{self.digits}f} {self.unit}"


_DEFAULT = BROWSER + "test_default_scenario_keeps_up_and_answers_quickly"
_COST = NUMBERS + "test_server_side_cost_of_a_nerve_injury_frame"
_MEMORY = BROWSER + "test_memory_stays_flat_over_50_open_close_cycles"
FIGURES = (
    Figure("nerve_injury frames/s (browser)", "`nerve_injury`, playing: frames per second in the browser",
           "frames/s", 1, "rate", _DEFAULT),
    Figure("nerve_injury pause (s)", "`nerve_injury`, playing: a pause answered on the page", "s", 2, "latency",
           _DEFAULT),
    Figure("nerve_injury mediator switch while playing (s)", "`nerve_injury`, playing: another mediator on the map",
           "s", 2, "latency", _DEFAULT),
    Figure("sliders' maxima pause (s)", "the sliders' maxima, playing: a pause answered on the page", "s", 2,
           "latency", _DEFAULT),
    Figure("tab closed -> play loop stopped (s)", "a playing tab closed: the server's play loop stopped", "s", 2,
           "latency", BROWSER + "test_closing_the_tab_stops_the_play_loop"),
    Figure("inflamed_skin frames/s (browser)", "the tests' small `inflamed_skin`, playing: frames per second in the "
           "browser", "frames/s", 1, "rate", BROWSER + "test_load_step_play_pause_offline"),
    Figure("nerve_injury model step (ms)", "`nerve_injury`, server side: each model step of a frame", "ms", 1, "cost",
           _COST),
    Figure("nerve_injury readouts per frame (ms)", "`nerve_injury`, server side: a frame's readouts (pain, census)",
           "ms", 1, "cost", _COST),
    Figure("nerve_injury drawing per frame (ms)", "`nerve_injury`, server side: a frame's drawing (header, map, "
           "legend, charts)", "ms", 1, "cost", _COST),
    Figure("server memory after 5 open/close cycles (MB)", "the server's resident memory after 5 open/close cycles",
           "MB", 1, "memory", _MEMORY),
    Figure("server memory after 25 open/close cycles (MB)", "the server's resident memory after 25 open/close "
           "cycles", "MB", 1, "memory", _MEMORY),
    Figure("server memory after 50 open/close cycles (MB)", "the server's resident memory after 50 open/close "
           "cycles", "MB", 1, "memory", _MEMORY),
)  # fmt: skip
"""The figures, in the order the doc's table gives them."""
FIGURES_BY_KEY = {f.key: f for f in FIGURES}

RATE_DIVISOR = 3.0
"""A fresh frame rate must be at least the committed one divided by this."""
LATENCY_FACTOR, LATENCY_SLACK_S = 3.0, 0.5
"""A fresh latency must be at most ``LATENCY_FACTOR`` times the committed one plus ``LATENCY_SLACK_S``, s."""
COST_FACTOR, COST_SLACK_MS = 4.0, 25.0
"""A fresh server-side cost must be at most ``COST_FACTOR`` times the committed one plus ``COST_SLACK_MS``, ms."""
MEMORY_FACTOR = 2.0
"""A fresh resident memory must be at most this many times the committed one."""


def limit(fig: Figure, committed: float) -> float:
    """The bound a fresh measurement of ``fig`` is held to, given the committed figure (a floor for a frame rate,
    a ceiling otherwise), in ``fig.unit``."""
    if fig.kind == "rate":
        return committed / RATE_DIVISOR
    if fig.kind == "latency":
        return LATENCY_FACTOR * committed + LATENCY_SLACK_S
    if fig.kind == "cost":
        return COST_FACTOR * committed + COST_SLACK_MS
    if fig.kind == "memory":
        return MEMORY_FACTOR * committed
    raise ConfigError(f"{fig.key}.kind", fig.kind, "one of 'rate', 'latency', 'cost', 'memory'")


def within(fig: Figure, committed: float, measured: float) -> bool:
    """Whether ``measured`` is within the bound around ``committed`` (:func:`limit`)."""
    bound = limit(fig, committed)
    return measured >= bound if fig.kind == "rate" else measured <= bound


def bounds_text() -> str:
    """The bounds, as the doc states them."""
    return (f"a frame rate at least 1/{RATE_DIVISOR:g} of the figure quoted, a latency at most {LATENCY_FACTOR:g} × "
            f"the figure + {LATENCY_SLACK_S:g} s, a server-side cost at most {COST_FACTOR:g} × the figure + "
            f"{COST_SLACK_MS:g} ms, a resident memory at most {MEMORY_FACTOR:g} × the figure")  # fmt: skip


# --- the tests' record ------------------------------------------------------------------------------------------
@cache
def machine() -> str:
    """This machine, for people: CPU model, CPUs, memory, system, Python."""
    cpu, mem = platform.processor() or platform.machine(), ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name"))
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")))  # fmt: skip
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = re.sub(r"\((R|TM|tm)\)", "", cpu)
    return (f"{' '.join(cpu.split())}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")  # fmt: skip


@cache
def commit() -> str:
    """The checkout's commit (short), with ``+changes`` when tracked files differ from it; ``unknown`` without git."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short=10", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ConfigError("(the whole file)", str(exc), "JSON", where=str(path)) from None
    return data if isinstance(data, dict) else {}


def record(key: str, value: float, *, path: Path = TIMING) -> None:
    """Keep a measured figure in the tests' record (``test-artifacts/dashboard-timing.json``), with the time, the
    load average (1 min), the commit and the machine; print it."""
    data = _read(path)
    figures = data.get("figures") if isinstance(data.get("figures"), dict) else {}
    figures[key] = {"value": round(float(value), 4), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                    "commit": commit(), "machine": machine()}  # fmt: skip
    data["figures"] = figures
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{key}: {value:.3f}")


def record_browser(version: str, *, path: Path = TIMING) -> None:
    """Keep the browser the figures were measured in (e.g. ``'Chromium 120.0.6099.224'``)."""
    data = _read(path)
    data["browser"] = version
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the committed figures ----------------------------------------------------------------------------------------
def load_data(path: Path = DATA) -> dict:
    """The committed figures: ``{"measured_on": {...}, "figures": {key: {"value", "unit", ...}}}``."""
    data = _read(path)
    if not isinstance(data.get("figures"), dict) or not isinstance(data.get("measured_on"), dict):
        raise ConfigError("figures", sorted(data), "an object with 'figures' and 'measured_on'", where=str(path))
    return data


def update_data(timing: Path = TIMING, path: Path = DATA) -> dict:
    """Rewrite the committed figures from the tests' record: every figure, all measured at one commit with nothing
    uncommitted, on one machine. Returns the new data."""
    rec = _read(timing).get("figures") or {}
    missing = [f.key for f in FIGURES if f.key not in rec]
    if missing:
        tests = sorted({FIGURES_BY_KEY[k].test for k in missing})
        raise ConfigError("figures", missing, "all recorded: run " + " ".join(tests), where=str(timing))
    entries = [rec[f.key] for f in FIGURES]
    commits = sorted({e["commit"] for e in entries})
    if len(commits) != 1 or commits[0].endswith("+changes") or commits[0] == "unknown":
        raise ConfigError("commit", commits, "one commit with no uncommitted changes (run the measuring tests again "
                          "on a clean checkout)", where=str(timing))  # fmt: skip
    machines = sorted({e["machine"] for e in entries})
    if len(machines) != 1:
        raise ConfigError("machine", machines, "one machine", where=str(timing))
    loads = [e["load_1min"] for e in entries if e.get("load_1min") is not None]
    days = sorted({e["at"][:10] for e in entries})
    data = {
        "about": "The figures docs/dashboard.md quotes, measured by the tests named, in one run. Refresh: run those "
                 "tests, then python -m viz.measured_figures --update (docs/dashboard.md says how).",
        "measured_on": {"machine": machines[0], "browser": _read(timing).get("browser", "unknown"),
                        "commit": commits[0], "dates": " to ".join(dict.fromkeys([days[0], days[-1]])),
                        "load_1min": [min(loads), max(loads)] if loads else None},
        "figures": {f.key: {"value": round(e["value"], f.digits), "unit": f.unit, "measured_by": f.test,
                            "at": e["at"], "load_1min": e.get("load_1min")}
                    for f, e in zip(FIGURES, entries, strict=True)},
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def measured_on_text(data: dict) -> str:
    """Where and when the committed figures were measured, as one line of the doc."""
    on = data["measured_on"]
    load = on.get("load_1min")
    load_text = f"{load[0]:.1f}–{load[1]:.1f}" if load and load[0] != load[1] else (f"{load[0]:.1f}" if load else "?")
    return (f"Measured on: {on['machine']}; headless {on['browser']}; load average (1 min) {load_text} while "
            f"measuring; commit {on['commit']}; {on['dates']}.")  # fmt: skip


def render_block(data: dict) -> str:
    """The doc's table of measured figures (between its markers, which are included)."""
    lines = [BEGIN, "", "| measured | figure | by |", "|---|---|---|"]
    for f in FIGURES:  # over a dozen figures
        value = data["figures"][f.key]["value"]
        lines.append(f"| {f.label} | **{f.text(value)}** | `{f.test.split('::')[-1]}` |")
    return "\n".join([*lines, "", measured_on_text(data), "", END])


def doc_figures(doc: str) -> list[tuple[int, str, str]]:
    """Every figure quoted in bold in the doc: ``(line number, the line, 'value unit')``."""
    out = []
    for i, line in enumerate(doc.splitlines(), start=1):  # over the doc's lines
        out += [(i, line, m.group(1)) for m in re.finditer(r"\*\*(\d+(?:\.\d+)?\s+(?:frames/s|ms|MB|s))\*\*", line)]
    return out


def doc_problems(doc: str, data: dict) -> list[str]:
    """What in the doc is not the committed figures: a figure that is not the data file's, a figure missing, a
    table that is not the one :func:`render_block` gives. Empty when all is well."""
    problems = []
    quoted = doc_figures(doc)
    by_label = {f.label: f for f in FIGURES}
    seen = set()
    for line_no, line, text in quoted:  # over the quoted figures
        label = line.split("|")[1].strip() if line.startswith("|") else ""
        fig = by_label.get(label)
        if fig is None:
            problems.append(f"docs/dashboard.md:{line_no}: {text!r} is not one of the measured figures "
                            f"({DATA.relative_to(ROOT)}, whose table rows it must be)")  # fmt: skip
            continue
        seen.add(fig.key)
        entry = data["figures"].get(fig.key)
        if entry is None or fig.text(entry["value"]) != text:
            problems.append(f"docs/dashboard.md:{line_no}: {fig.label} = {text!r}, but {DATA.relative_to(ROOT)} "
                            f"says {None if entry is None else fig.text(entry['value'])!r}")  # fmt: skip
    problems += [f"docs/dashboard.md does not quote {f.label!r}" for f in FIGURES if f.key not in seen]
    if not problems and render_block(data) not in doc:
        problems.append("docs/dashboard.md's table of measured figures is not the one the data file gives: "
                        "python -m viz.measured_figures --doc")  # fmt: skip
    return problems


def update_doc(data: dict, path: Path = DOC) -> None:
    """Rewrite the doc's table of measured figures (between its markers) from ``data``."""
    doc = path.read_text(encoding="utf-8")
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise ConfigError("measured figures", "markers not found", f"{BEGIN!r} ... {END!r}", where=str(path))
    path.write_text(doc[:start] + render_block(data) + doc[end + len(END):], encoding="utf-8")


def doc_line(key: str, doc: str | None = None) -> int | None:
    """The doc's line that quotes figure ``key`` (None when it does not)."""
    doc = DOC.read_text(encoding="utf-8") if doc is None else doc
    label = FIGURES_BY_KEY[key].label
    return next((n for n, line, _ in doc_figures(doc) if line.startswith(f"| {label} |")), None)


def check(key: str, measured: float, *, data: dict | None = None) -> str | None:
    """None when a fresh measurement of ``key`` is within the bounds around the committed figure, else why not
    (naming the doc's line, the committed figure and where it was measured)."""
    fig = FIGURES_BY_KEY[key]
    data = load_data() if data is None else data
    committed = data["figures"][key]["value"]
    if within(fig, committed, measured):
        return None
    bound = limit(fig, committed)
    side = "below the floor" if fig.kind == "rate" else "above the ceiling"
    return (f"docs/dashboard.md:{doc_line(key)} quotes {fig.text(committed)} for {fig.label!r} "
            f"({DATA.relative_to(ROOT)}; {measured_on_text(data)}); measured now {measured:.3g} {fig.unit}, {side} "
            f"of {bound:.3g} {fig.unit} ({bounds_text()}). A slower or busier machine (the load average now: "
            f"{os.getloadavg()[0]:.1f})? If the change is real, refresh the figures: docs/dashboard.md says how.")


def _main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m viz.measured_figures", description=__doc__.split("\n\n")[0])
    act = p.add_mutually_exclusive_group(required=True)
    act.add_argument("--update", action="store_true", help=f"rewrite {DATA.relative_to(ROOT)} from the tests' "
                     f"record ({TIMING.relative_to(ROOT)}), then the doc's table from it")  # fmt: skip
    act.add_argument("--doc", action="store_true", help="only rewrite the doc's table from the data file")
    act.add_argument("--check", action="store_true", help="say whether the doc quotes the data file (exit 1 if not)")
    p.add_argument("--timing", type=Path, default=TIMING, help="the tests' record to update from")
    args = p.parse_args(argv)
    try:
        data = update_data(args.timing) if args.update else load_data()
        if not args.check:
            update_doc(data)
            print(f"{DOC.relative_to(ROOT)}: {measured_on_text(data)}")
        problems = doc_problems(DOC.read_text(encoding="utf-8"), data)
    except ConfigError as exc:
        print(f"viz.measured_figures: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(problems) if problems else "docs/dashboard.md quotes the committed figures")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
