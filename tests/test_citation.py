"""The manifest says nothing false and cites the package as CITATION.cff does."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import neuroagents
from neuroagents.checkpoint import code_identity, read_header
from neuroagents.citation import CFF_FILE, citation, read_cff
from neuroagents.outputs import LOCK_FILE
from neuroagents.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160",
        "--set", "cells.initial.macrophage=8", "--set", "cells.initial.neuron=6", "--set", "time.record_every_min=5",
        "--snapshot-every", "10"]  # fmt: skip


def test_the_package_ships_the_repositorys_citation_file_unchanged():
    assert (ROOT / "neuroagents" / CFF_FILE).read_bytes() == (ROOT / CFF_FILE).read_bytes()


def test_the_citation_is_citation_cff_with_the_running_version():
    text = (ROOT / CFF_FILE).read_text(encoding="utf-8")
    c = citation()
    title = next(ln for ln in text.splitlines() if ln.startswith("title:")).split(":", 1)[1].strip().strip('"')
    assert c["title"] == title and c["title"].startswith("neuroagents")
    assert c["authors"] == ["neuroagents developers"] and c["license"] == "BSD-3-Clause"
    assert c["version"] == neuroagents.__version__ and c["git"] == code_identity()["git"]
    assert c["doi"] is None and c["url"] is None  # CITATION.cff gives neither: none is made up
    assert "references" not in c and "Ghaffarizadeh" not in json.dumps(c)  # the works it cites are not its authors


def test_the_reader_agrees_with_a_yaml_parser_on_citation_cff():
    yaml = pytest.importorskip("yaml")
    full = yaml.safe_load((ROOT / CFF_FILE).read_text(encoding="utf-8"))
    ours = read_cff((ROOT / CFF_FILE).read_text(encoding="utf-8"))
    assert ours["title"] == full["title"] and ours["license"] == full["license"] and ours["message"] == full["message"]
    assert ours["authors"] == [a.get("name") or f"{a['given-names']} {a['family-names']}" for a in full["authors"]]
    for key in ("doi", "url", "repository-code", "version"):  # over fields it may give
        assert ours.get(key) == full.get(key)


def test_the_reader_takes_the_fields_a_citation_needs():
    text = ('cff-version: 1.2.0\ntitle: "A: b"\nversion: 1.2.3\ndoi: 10.5281/zenodo.1\nabstract: >-\n  two\n  lines\n'
            "authors:\n  - family-names: Curie\n    given-names: Marie\n  - name: \"The Team\"\n"
            "repository-code: 'https://example.org/x'\nreferences:\n  - type: article\n    authors:\n"
            "      - family-names: Other\n")  # fmt: skip
    cff = read_cff(text)
    assert cff["title"] == "A: b" and cff["version"] == "1.2.3" and cff["doi"] == "10.5281/zenodo.1"
    assert cff["authors"] == ["Marie Curie", "The Team"] and cff["repository-code"] == "https://example.org/x"
    assert "abstract" not in cff and "references" not in cff


def test_every_manifest_field_is_true_of_the_run(tmp_path):
    out = tmp_path / "run"
    rc, _, err = run_cli(["run", "nerve_injury", "--hours", "0.4", "--seed", "5", "--set", "scenario.sex=female", *TINY,
                          "--checkpoint-every", "10", "--out", str(out)])  # fmt: skip
    assert rc == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert not any("sex" in n for n in m["notes"])  # sex is a model parameter (neuroagents/sex.py): no note says not
    assert m["scenario"]["scenario"]["sex"] == m["model_kwargs"]["sex"] == "female"
    assert m["seed"] == m["model_kwargs"]["seed"] == 5 and m["backend"] == m["model_kwargs"]["backend"] == "numpy"
    table = pd.read_parquet(out / "timeseries.parquet")
    assert m["simulated_min"] == table["time_min"].iloc[-1] and m["steps"] == m["steps_planned"]
    assert m["duration_min"] == 24.0 and m["status"] == "completed" and m["error"] is None
    assert sorted(m["outputs"]) == sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE)
    times = xr.open_zarr(out / "fields.zarr", group="tissue")["time"].values.tolist()
    assert m["fields"]["snapshots"] == len(times) and m["fields"]["last_min"] == times[-1]
    assert m["checkpoint"]["file"] == "checkpoint.pkl"
    assert m["checkpoint"]["last"]["time_min"] == read_header(out / "checkpoint.pkl")["time_min"] == 20.0
    assert m["code"] == code_identity() and m["citation"] == citation()
    assert m["versions"]["neuroagents"] == neuroagents.__version__
    rc, _, err = run_cli(["run", "healthy", "--hours", "0.1", *TINY, "--out", str(tmp_path / "plain")])
    assert rc == 0, err
    m = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert m["checkpoint"] == {"file": None, "every_min": None, "last": None} and "checkpoint.pkl" not in m["outputs"]
