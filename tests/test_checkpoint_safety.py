"""Checkpoints are data: crafted, damaged and foreign files are refused in one line, and nothing in them runs."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import neuroagents
from neuroagents import checkpoint, state_pickle
from neuroagents.checkpoint import (
    MAGIC,
    STATE_MODULES,
    CheckpointError,
    load_checkpoint,
    read_header,
    save_checkpoint,
)
from neuroagents.model import NeuroImmuneModel
from neuroagents.testing import error_line, run_cli
from neuroagents.testing import forge_checkpoint as forge

TINY = ["--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160",
        "--set", "cells.initial.mast_cell=5", "--set", "cells.initial.macrophage=8", "--set", "cells.initial.neuron=6",
        "--set", "time.record_every_min=5", "--snapshot-every", "10"]  # fmt: skip


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small model's checkpoint, stepped twice."""
    m = NeuroImmuneModel(seed=3, width_um=200, height_um=160, n_mast_cells=3, n_macrophages=4, n_neurons=2)
    m.step()
    m.step()
    path = tmp_path_factory.mktemp("ck") / "checkpoint.pkl"
    save_checkpoint(path, m, {"note": "x"})
    return path


class Touch:
    """Loading this with a plain unpickler runs ``os.system``."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.system, (f"touch {self.target}",)


class Reduce:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _crafted_payloads(target: Path):
    import numpy

    from neuroagents.model import _reported

    def dump(obj, protocol=5):
        buf = io.BytesIO()
        state_pickle.CheckpointPickler(buf, protocol=protocol).dump(obj)
        return buf.getvalue()

    yield pickle.dumps({"model": Touch(target), "run": {}})
    yield pickle.dumps({"model": Touch(target), "run": {}}, protocol=0)  # GLOBAL + REDUCE in text form
    yield pickle.dumps({"model": Reduce(state_pickle._import, "os"), "run": {}})  # an allowed helper, a foreign module
    yield dump({"model": Reduce(getattr, numpy, "load"), "run": {}})  # getattr on a module
    yield pickle.dumps({"model": Reduce(eval, "1"), "run": {}})  # a builtin, named directly
    yield pickle.dumps({"model": Reduce(_reported, None, None), "run": {}})  # a state function, called at load
    yield b"(S'x'\ni__main__\nTouch\n."  # protocol 0 INST: calls a class with arguments


def test_a_crafted_checkpoint_runs_no_code_and_is_one_line(saved, tmp_path):
    target = tmp_path / "pwned"
    for i, payload in enumerate(_crafted_payloads(target)):  # over crafted payloads
        path = forge(saved, payload)
        with pytest.raises(CheckpointError, match="damaged or not a model checkpoint: UnpicklingError: refused"):
            load_checkpoint(path)
        assert not target.exists(), f"payload {i} ran code"


def test_a_crafted_checkpoint_is_refused_by_resume_in_one_line(tmp_path):
    out = tmp_path / "run"
    rc, _, err = run_cli(["run", "nerve_injury", *TINY, "--hours", "0.1", "--checkpoint-every", "2", "--out", str(out)])
    assert rc == 0, err
    (out / "manifest.json").write_text(json.dumps({"status": "interrupted"}))  # as if it had stopped
    target = tmp_path / "pwned"
    ck = out / "checkpoint.pkl"
    forge(ck, pickle.dumps({"model": Touch(target), "run": {}})).replace(ck)
    rc, _, err = run_cli(["resume", str(out)])
    assert rc == 2 and "refused" in error_line(err) and "Traceback" not in err
    assert not target.exists()


@pytest.mark.parametrize("where", [0, 30, 200, "payload-start", "payload-middle", "last"])
def test_a_flipped_bit_anywhere_is_refused_before_unpickling(saved, tmp_path, where):
    data = bytearray(saved.read_bytes())
    header_end = data.index(b"\n", len(MAGIC))
    pos = {"payload-start": header_end + 5, "payload-middle": (header_end + len(data)) // 2, "last": len(data) - 1}
    i = pos.get(where, where)
    data[i] ^= 0x04
    bad = tmp_path / "flipped.pkl"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"is (damaged|not a neuroagents checkpoint)"):
        load_checkpoint(bad)


def test_a_cut_checkpoint_and_a_format_1_checkpoint_are_refused(saved, tmp_path):
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(saved.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(cut)
    old = tmp_path / "v1.pkl"
    old.write_bytes(b"neuroagents-checkpoint\n" + pickle.dumps({"format": 1}))
    with pytest.raises(CheckpointError, match=r"format 1 .* could run code"):
        load_checkpoint(old)


def test_checkpoints_of_other_code_or_another_scenario_are_refused(saved):
    with pytest.raises(CheckpointError, match=r"written by other neuroagents code .*git checkout that commit"):
        load_checkpoint(forge(saved, saved.read_bytes()[saved.read_bytes().index(b"\n", len(MAGIC)) + 1:],
                              code_sha256="0" * 64, git="abc123"))  # fmt: skip
    payload = pickle.dumps({"model": None, "run": {"scenario": {"a": 1}}})
    with pytest.raises(CheckpointError, match=r"scenario in the file does not match|not a NeuroImmuneModel"):
        load_checkpoint(forge(saved, payload, scenario_sha256="f" * 64))


def test_the_header_names_the_code_and_the_scenario(saved):
    h = read_header(saved)
    assert h["format"] == 2 and h["neuroagents"] == neuroagents.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", h["code_sha256"]) and h["code_sha256"] == checkpoint.code_identity()[
        "code_sha256"]  # fmt: skip
    model, run, _ = load_checkpoint(saved)
    assert isinstance(model, NeuroImmuneModel) and run == {"note": "x"}


def test_a_state_module_class_outside_the_list_is_refused_when_saving(tmp_path):
    m = NeuroImmuneModel(seed=3, width_um=200, height_um=160, n_mast_cells=1, n_macrophages=1, n_neurons=1)
    m.extra = pytest.MonkeyPatch  # a class from outside the model-state modules
    with pytest.raises(CheckpointError, match=r"not model state.*STATE_MODULES"):
        save_checkpoint(tmp_path / "c.pkl", m)


def test_the_state_modules_read_no_files_and_start_no_processes():
    """What makes naming their classes and functions in a checkpoint safe (module docstring of checkpoint)."""
    root = Path(neuroagents.__file__).parent
    forbidden = re.compile(r"\bopen\(|subprocess|os\.system|os\.remove|\bexec\(|\beval\(|__import__|import_module\("
                           r"|\bpickle\.|shutil|\.write_(text|bytes)\(|\.unlink\(|to_parquet|savefig")  # fmt: skip
    # the one import by name: a module from the fixed table KERNELS (refused otherwise), not from its argument
    reviewed = {"tissue/diffusion/registry.py: import_module("}
    files = []
    for mod in STATE_MODULES:  # over the listed modules and packages
        if not mod.startswith("neuroagents."):
            continue
        rel = Path(*mod.split(".")[1:])
        files += sorted((root / rel).rglob("*.py")) if (root / rel).is_dir() else [root / rel.with_suffix(".py")]
    files = [f for f in files if f.exists()]  # a listed module may not exist yet on this branch
    assert len(files) > 20
    hits = [f"{f.relative_to(root)}: {m.group(0)}" for f in files for m in forbidden.finditer(f.read_text())]
    assert [h for h in hits if h not in reviewed] == []


def test_a_model_round_trips_through_the_restricted_unpickler_bit_for_bit(saved):
    m1, _, _ = load_checkpoint(saved)
    m2, _, _ = load_checkpoint(saved)
    for _ in range(3):
        m1.step()
        m2.step()
    np.testing.assert_array_equal(m1.env.fields, m2.env.fields)


def test_fields_that_do_not_fit_their_grid_are_refused(saved, tmp_path):
    """A crafted file with a valid digest but fields the kernels would read out of bounds."""
    model, run, _ = load_checkpoint(saved)
    model.env.fields = np.zeros((2, 3), dtype=np.float64)  # a forger's model: a digest recomputed over it
    path = save_checkpoint(tmp_path / "crafted.pkl", model, run)
    with pytest.raises(CheckpointError, match=r"fields of 'tissue' are float64 \(2, 3\), where the grid needs"):
        load_checkpoint(path)
