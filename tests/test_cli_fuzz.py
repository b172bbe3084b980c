"""``neuroagents run`` with fuzzed ``--set`` values and scenario files: exit 0 or one error line, never a traceback.

Cheap by default (``NEUROAGENTS_FUZZ_EXAMPLES``, default 40 cases per test, on a 4 x 4 voxel tissue and one
step); set it to 1000 for the full fuzz the output-safety issue asked for.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroagents.cli import main
from neuroagents.scenario import load_scenario

EXAMPLES = int(os.environ.get("NEUROAGENTS_FUZZ_EXAMPLES", "40"))
SMALL = ["--backend", "numpy", "--set", "tissue.width_um=80", "--set", "tissue.height_um=80", "--hours", "0.02",
         "--snapshot-every", "0"]  # fmt: skip


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():  # over keys, recursively
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}"


KEYS = sorted(set(_leaves(load_scenario("healthy").resolved())) | {"mediators.TNF.decay_per_min", "inhibition.JAK1",
              "cells.macrophage.speed_um_per_min", "pain.mech_max_drop", "compartments.paw.voxel_um"})  # fmt: skip
NUMBERS = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1e12, 1e-300, 2**63, "nan", "inf", "-inf"]))  # fmt: skip
DRUG = st.builds(lambda d, x: f'[{{drug = "{d}", route = "oral", dose_mg_per_kg = {x}, interval_h = 12.0, '
                 'n_doses = 2}]', st.sampled_from(["tofacitinib", "celecoxib", "nope", ""]),
                 st.sampled_from(["1e12", "-1", "0", "10", "nan", "1e400"]))  # fmt: skip
VALUES = st.one_of(
    NUMBERS.map(str),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.text(max_size=8).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.sampled_from(["[]", "[1, 2]", "{a = 1}", "true", "false", '".."', '"a/b"', "1979-05-27", "[[1]]", "="]),
    DRUG,
)
NAMES = st.sampled_from(['".."', '"."', '"-rf"', '".x"', '"ok"', '"a.b"']).map(lambda v: f"scenario.name={v}")
SET = st.tuples(st.one_of(st.sampled_from(KEYS), st.sampled_from(KEYS).map(lambda k: k + "x"), st.text(max_size=6)),
                VALUES).map(lambda kv: f"{kv[0]}={kv[1]}") | NAMES  # fmt: skip


def _run(argv) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, err.getvalue()


@contextlib.contextmanager
def _in_fresh_directory():
    """A new empty working directory (the default ``--out`` is ``runs/<name>`` below it), removed afterwards."""
    here, tmp = os.getcwd(), tempfile.mkdtemp()
    os.chdir(tmp)
    try:
        yield Path(tmp)
    finally:
        os.chdir(here)
        shutil.rmtree(tmp, ignore_errors=True)


def _assert_only_in_runs(cwd: Path, keep=()) -> None:
    """Nothing but ``runs/`` (and ``keep``) in the working directory: a run never writes outside its directory."""
    extra = sorted(p.name for p in cwd.iterdir() if p.name not in ("runs", *keep))
    assert extra == [], extra
    runs = cwd / "runs"
    if runs.exists():
        for d in runs.iterdir():  # over the run directories made
            assert d.is_dir() and not d.name.startswith((".", "-")), d


def _assert_clean(rc: int, err: str, what) -> None:
    assert "Traceback" not in err, (what, err)
    assert rc in (0, 2), (what, rc, err)
    if rc == 2:
        lines = [ln for ln in err.splitlines() if ": error: " in ln]
        assert len(lines) == 1, (what, err)


@pytest.fixture(autouse=True)
def _no_figure(monkeypatch):
    """The summary figure is tested elsewhere; here it would only make each case slow."""
    from neuroagents.scenario import summary

    monkeypatch.setattr(summary, "plot_summary", lambda table, path, **kw: Path(path).write_bytes(b"png"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
@given(sets=st.lists(SET, min_size=1, max_size=3))
def test_fuzzed_set_values_never_give_a_traceback(sets):
    with _in_fresh_directory() as cwd:
        argv = ["run", "healthy", *SMALL]
        for s in sets:  # over overrides
            argv += ["--set", s]
        rc, err = _run(argv)  # the default --out, runs/<scenario name>
        _assert_clean(rc, err, sets)
        _assert_only_in_runs(cwd)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                      st.lists(SET, max_size=6).map("\n".join)))  # fmt: skip
def test_fuzzed_scenario_files_never_give_a_traceback(text):
    with _in_fresh_directory() as cwd:
        path = cwd / "case.toml"
        path.write_text(text, encoding="utf-8", errors="replace")
        rc, err = _run(["run", str(path), *SMALL])
        _assert_clean(rc, err, text)
        _assert_only_in_runs(cwd, keep=("case.toml",))
