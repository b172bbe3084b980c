"""Packaging: a wheel installed (not editable) into a fresh virtual environment runs a built-in scenario from any
directory; LICENSE and CITATION.cff are there and say what pyproject.toml says.

The wheel test builds without build isolation (offline, a few seconds), so it needs the build requirements
(setuptools >= 77, setuptools-scm) where the tests run: ``pip install -e ".[dev]"`` installs them. Without them it
skips itself, except under CI (``CI`` set, as ``.ci/run`` is run), where it fails. The new environment gets the
running one's packages through a ``.pth`` file (no downloads) and neuroagents only from the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

import neuroagents

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _missing_build_tools() -> str | None:
    try:
        import setuptools
        import setuptools_scm  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed"
    if int(setuptools.__version__.split(".")[0]) < 77:
        return f"setuptools {setuptools.__version__} is older than 77"
    return None


def _source_files(root: Path) -> list[str]:
    """What a fresh clone holds plus files not yet committed (git's view), or every file when git is absent."""
    if (root / ".git").exists() and shutil.which("git"):
        done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                              capture_output=True, check=True)  # fmt: skip
        return [f for f in done.stdout.decode().split("\0") if f and (root / f).is_file()]
    skip = {".git", ".venv", "runs", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache"}
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not skip & set(p.parts)]


def _version_from_git(root: Path) -> str | None:
    """The version setuptools-scm gives this checkout (None outside git), as a build from the checkout would."""
    if not (root / ".git").exists():
        return None
    from setuptools_scm import get_version

    return get_version(root=str(root), fallback_version=PYPROJECT["tool"]["setuptools_scm"]["fallback_version"])


def _fresh_venv(path: Path) -> Path:
    """A virtual environment without pip that sees the running one's packages, but no neuroagents from a source
    tree; returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(path)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *sys.path}
    dirs = [d for d in here if d and Path(d).is_dir() and not (Path(d) / "neuroagents").is_dir()]
    Path(purelib, "zz_running_env.pth").write_text("\n".join(sorted(dirs)) + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_runs_a_builtin_scenario_from_any_directory(tmp_path):
    missing = _missing_build_tools()
    if missing:
        message = f"cannot build the wheel offline: {missing} (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    src = tmp_path / "src"
    for name in _source_files(ROOT):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    version = _version_from_git(ROOT)
    python = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    if version:
        env["SETUPTOOLS_SCM_PRETEND_VERSION_FOR_NEUROAGENTS"] = version  # the copy has no .git
    done = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(src)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.rmtree(src)  # nothing can come from the source tree now
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    exe = python.parent / ("neuroagents.exe" if os.name == "nt" else "neuroagents")

    def run(*argv, timeout=600):
        return subprocess.run([exe, *argv], cwd=elsewhere, capture_output=True, text=True, env=env,
                              timeout=timeout, check=False)  # fmt: skip

    info = run("info", "--json", timeout=120)
    assert info.returncode == 0, info.stderr
    facts = json.loads(info.stdout)
    site = Path(facts["neuroagents"]["location"]).parent
    assert tmp_path / "venv" in site.parents, facts["neuroagents"]  # the installed copy, not a source tree
    assert Path(facts["scenarios"]["folder"]) == site / "neuroagents" / "scenarios"
    assert facts["scenarios"]["count"] >= 10
    if version:
        assert facts["neuroagents"]["version"] == version
    done = run("run", "sni", "--days", "1", "--backend", "numpy", "--snapshot-every", "0", "--out", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((elsewhere / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "completed" and manifest["simulated_min"] == 1440.0
    assert manifest["versions"]["neuroagents"] == facts["neuroagents"]["version"]
    assert manifest["citation"]["title"].startswith("neuroagents: ")  # CITATION.cff travels as package data
    assert {"timeseries.parquet", "summary.png"} <= {p.name for p in (elsewhere / "out").iterdir()}


def test_license_file_is_bsd_3_clause_as_declared():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert text.startswith("BSD 3-Clause License") and "neuroagents developers" in text
    assert "Neither the name of the copyright holder" in text  # the third clause


def test_citation_cff_is_cff_1_2_with_what_a_citation_needs():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff) and cff["authors"]
    assert cff["license"] == PYPROJECT["project"]["license"]
    allowed = {"cff-version", "message", "type", "title", "abstract", "authors", "license", "keywords",
               "references", "version", "date-released", "doi", "repository-code", "url", "identifiers"}  # fmt: skip
    assert set(cff) <= allowed, set(cff) - allowed
    for ref in cff.get("references", []):
        assert {"type", "title", "authors", "year"} <= set(ref) and re.fullmatch(r"10\.\d+/\S+", ref["doi"]), ref


def test_version_names_the_code():
    """``__version__`` is a PEP 440 version: from the git tag at install, or the declared fallback."""
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9.]+)?", neuroagents.__version__)
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools_scm"]["version_file"] == "neuroagents/_version.py"


def test_requires_python_and_the_mesa_pin_are_what_the_installed_packages_say():
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    ours = SpecifierSet(PYPROJECT["project"]["requires-python"])
    lowest = re.fullmatch(r">=(\d+\.\d+)", str(ours)).group(1)
    assert sys.version_info[:2] >= tuple(map(int, lowest.split(".")))  # the Python running the suite is allowed
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    # the floor is honest only where the suite runs on the floor: on a newer Python pip picks newer releases that
    # may have dropped it (numpy 2.5 on 3.12 needs >= 3.12). .ci/run runs the suite on both (3.11 and 3.12).
    on_floor = running == lowest
    needs = {}
    for dep in map(Requirement, PYPROJECT["project"]["dependencies"]):  # over the core dependencies
        spec = metadata.metadata(dep.name).get("Requires-Python")
        if spec:
            needs[dep.name] = spec
            assert SpecifierSet(spec).contains(running), f"{dep.name} needs Python {spec}, installed on {running}"
            if on_floor:
                assert SpecifierSet(spec).contains(lowest), f"{dep.name} needs Python {spec}: requires-python too low"
    assert not SpecifierSet(needs["numpy"]).contains("3.10")
    mesa = next(Requirement(d) for d in PYPROJECT["project"]["dependencies"] if d.startswith("mesa"))
    assert mesa.specifier.contains(metadata.version("mesa")) and not mesa.specifier.contains("3.4.0")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "Requires-Python >= 3.12" in text and "Requires-Python >= 3.12" in (ROOT / "CONTRIBUTING.md").read_text()
