"""Every benchmark script in ``bench/`` runs in its ``--quick`` mode, and its own checks pass.

The benchmarks check what they measure: the naive Mesa baseline against the vectorized cell rules
(``bench/cells.py``), the numba and CuPy diffusion kernels and the numba dorsal-horn circuit against their
NumPy references (``bench/diffusion.py``, ``bench/pain.py``), the same sweep on three executors
(``bench/sweep.py``), every built-in scenario's clock, records and fields (``bench/scenario.py``). Each exits
non-zero when a check fails, and crashes when the model's API moves under it (a rename such as 7caa545's
``compartments`` -> ``regions``). Running every script here, as a user would, is what keeps them from rotting:
a script added to ``bench/`` is picked up by itself and must have a ``--quick`` mode.

Timings are printed (``pytest -s`` or ``-rP`` shows them), never asserted.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _is_script(path: Path) -> bool:
    """Whether a bench module runs as a script (has an ``if __name__ == "__main__":`` block)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body)


MODULES = sorted(BENCH.glob("*.py"))
SCRIPTS = [p.name for p in MODULES if _is_script(p)]


def test_bench_scripts_found():
    """The glob finds the scripts (a moved directory would otherwise leave nothing to run)."""
    assert {"cells.py", "diffusion.py", "pain.py", "scenario.py", "sweep.py"} <= set(SCRIPTS), SCRIPTS


def test_every_helper_module_is_used_by_a_script():
    """A module of bench/ that is no script is imported by one, so running the scripts exercises it."""
    imported = set()
    for name in SCRIPTS:
        for node in ast.walk(ast.parse((BENCH / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    helpers = {p.stem for p in MODULES if p.name not in SCRIPTS}
    assert helpers <= imported, f"bench modules imported by no script: {sorted(helpers - imported)}"


@pytest.mark.bench
@pytest.mark.parametrize("script", SCRIPTS)
def test_quick_mode_passes_its_checks(script):
    """``python bench/<script> --quick`` exits 0: it ran, and its faithfulness/parity/identity checks held."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(done.stdout)  # the figures, for -s / -rP; never asserted
    assert done.returncode == 0, (
        f"bench/{script} --quick exited with status {done.returncode}\n"
        f"--- stdout (end) ---\n{done.stdout[-4000:]}\n--- stderr (end) ---\n{done.stderr[-4000:]}"
    )


@pytest.mark.bench
def test_naive_mesa_docstring_example():
    """bench/naive_mesa.py's docstring example runs (the suite's doctests cover only the package)."""
    spec = importlib.util.spec_from_file_location("bench_naive_mesa", BENCH / "naive_mesa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0, result


def _device_run_commands() -> list[list[str]]:
    """The commands of bench/device_run.sh's parts (``part NAME LIMIT cmd ...``, continuation lines joined)."""
    text = (BENCH / "device_run.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.split()[3:] for line in text.splitlines() if line.startswith("part ")]


@pytest.mark.bench
def test_the_gpu_script_calls_scripts_tests_and_options_that_exist():
    """bench/device_run.sh runs only on a borrowed GPU: here its shell parses, and every bench script, option and
    test file it names exists, so a rename cannot leave it broken until the next GPU."""
    assert subprocess.run(["bash", "-n", str(BENCH / "device_run.sh")]).returncode == 0
    commands = _device_run_commands()
    assert len(commands) >= 5, commands
    root = BENCH.parent
    for cmd in commands:  # over the script's parts
        paths = [a for a in cmd if a.startswith(("bench/", "tests/"))]
        assert paths and all((root / p).is_file() for p in paths), cmd
        if cmd[1].startswith("bench/"):
            usage = subprocess.run([sys.executable, cmd[1], "--help"], cwd=root, capture_output=True, text=True)
            assert usage.returncode == 0, usage.stderr
            flags = [a for a in cmd[2:] if a.startswith("--")]
            assert all(re.search(re.escape(f) + r"(?![\w-])", usage.stdout) for f in flags), (cmd, usage.stdout)
