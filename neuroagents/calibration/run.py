"""Bayesian calibration by ABC-SMC (pyabc): which parameter values make the model reproduce published time courses.

:func:`run_calibration` is what ``neuroagents calibrate CALIB.toml`` does:

1. read the calibration file and its data files (:mod:`~neuroagents.calibration.data`), and check the scenario
   with the priors' bounds set (nothing runs if the scenario refuses one);
2. run ABC-SMC (Toni 2009 J R Soc Interface 6:187; Beaumont 2009 Biometrika 96:983) with pyabc (Klinger 2018
   Bioinformatics 34:3591; Schälte 2022 Bioinformatics 38:4890): each particle is a run of the scenario with the
   particle's values and a seed of its own, compared with the data by :func:`distance`; each generation accepts
   ``population_size`` particles under a falling threshold (pyabc's median epsilon), for up to ``generations``
   generations;
3. keep pyabc's database (``abc.db``) in the calibration's directory: running the same command again continues
   the same calibration from its last generation (the file must be the same);
4. write the posterior (:mod:`~neuroagents.calibration.outputs`).

The particles run in this process (pyabc's single-core sampler, reproducible from ``[calibration] seed``) or on
Dask (``--workers N``, ``--scheduler ADDR``: pyabc's Dask sampler; the particles then arrive in the order the
workers finish, so a rerun draws different particles from the same posterior). Not yet: a generation's particles as
lockstep batches (pyabc's samplers evaluate one particle per call).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroagents.batch.design import document_with, toml_literal
from neuroagents.batch.executors import RunTask, make_executor, run_task
from neuroagents.calibration.data import observed
from neuroagents.calibration.spec import CalibrationSpec, load_calibration
from neuroagents.errors import ConfigError
from neuroagents.outputs import prepare_out_dir
from neuroagents.scenario.checks import check_name

__all__ = ["CalibrationResult", "ParticleModel", "distance", "run_calibration", "scenario_with"]

DB = "abc.db"
"""pyabc's database in the calibration's directory."""


def scenario_with(spec: CalibrationSpec, doc0: dict, values: dict, seed: int) -> dict:
    """The resolved scenario ``doc0`` with ``values`` (``{key: value}``) and ``seed`` set, validated.

    Raises
    ------
    ConfigError
        The scenario's own message, naming the calibration file and the values.
    """
    where = f"{spec.where} ({', '.join(f'{k}={toml_literal(v)}' for k, v in values.items())})"
    return document_with(doc0, {**values, "scenario.seed": int(seed)}, scenario_path=spec.scenario_path,
                         sets=spec.set, where=where)


def distance(sim: dict, data: dict) -> float:
    """Mean squared standardized error of a simulation against the data: ``mean(((y - mean) / sd)²)``.

    ``sim["y"]`` and ``data["y"]`` hold the model's and the data's values at the data's points; ``data["sd"]`` the
    animals' SDs. A failed run (NaN) is infinitely far.

    Examples
    --------
    >>> distance({"y": np.array([1.0, 3.0])}, {"y": np.array([1.0, 1.0]), "sd": np.array([1.0, 2.0])})
    0.5
    """
    y = np.asarray(sim["y"], dtype=float)
    if not np.all(np.isfinite(y)):
        return float("inf")
    z = (y - np.asarray(data["y"], dtype=float)) / np.asarray(data["sd"], dtype=float)
    return float(np.mean(z * z))


class ParticleModel:
    """One particle's run: its values into the scenario, a run, the model's columns at the data's times.

    Picklable (pyabc's Dask sampler sends it to the workers). ``names`` maps pyabc's parameter names (``p0``,
    ``p1``, ...; a dotted key is not one) to the scenario keys.
    """

    def __init__(self, spec: CalibrationSpec, doc0: dict, obs, names: dict[str, str]):
        self.spec, self.doc0, self.names = spec, doc0, names
        self.columns = obs["column"].to_numpy()
        self.times = obs["time_min"].to_numpy(float)

    def values(self, par) -> dict:
        """``{scenario key: value}`` of a pyabc parameter (a mapping of ``p0``, ``p1``, ...)."""
        return {key: float(par[name]) for name, key in self.names.items()}

    def run(self, values: dict, seed: int):
        """The run's time series (pandas), or None when it failed."""
        scenario = scenario_with(self.spec, self.doc0, values, seed)
        outcome = run_task(RunTask("particle", 0, 0, int(seed), {}, scenario, self.spec.backend, "float64"))
        return outcome.table if outcome.ok else None

    def read(self, table) -> np.ndarray:
        """The model's value of each data point: its column's last record at or before the point's time."""
        if table is None:
            return np.full(self.times.size, np.nan)
        out = np.empty(self.times.size)
        t = table["time_min"].to_numpy(float)
        for j, (c, when) in enumerate(zip(self.columns, self.times, strict=True)):  # over data points (a few)
            i = np.searchsorted(t, when + 1e-9, side="right") - 1
            out[j] = float(table[c].iloc[i]) if i >= 0 and c in table else np.nan
        return out

    def __call__(self, par) -> dict:
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc samples from the global generator)
        return {"y": self.read(self.run(self.values(par), seed))}


@dataclass
class CalibrationResult:
    """What :func:`run_calibration` did and wrote.

    Attributes
    ----------
    out_dir : Path
    generations : int
        Generations in the database now.
    simulations : int
        Runs of the model in all generations.
    posterior : pandas.DataFrame
        The last generation's particles: one column per key, ``weight``.
    files : dict
        ``{what: path}`` of the files written.
    wall_s : float
    """

    out_dir: Path
    generations: int
    simulations: int
    posterior: object
    files: dict
    wall_s: float


def _prior(spec: CalibrationSpec):
    from pyabc import RV, Distribution

    rvs = {}
    for i, p in enumerate(spec.priors):  # over calibrated keys
        rvs[f"p{i}"] = RV("uniform", p.min, p.max - p.min) if p.distribution == "uniform" else \
            RV("loguniform", p.min, p.max)  # fmt: skip
    return Distribution(**rvs)


def _check_bounds(spec: CalibrationSpec, doc0: dict) -> None:
    """The scenario with every prior at its bounds (each key alone): its error, if it refuses one."""
    for p in spec.priors:  # over calibrated keys
        for v in (p.min, p.max):  # over the two bounds
            scenario_with(spec, doc0, {p.key: v}, 1)


def _record(spec: CalibrationSpec, out: Path) -> int | None:
    """The pyabc run id of this same calibration in ``out`` (None: a new one); refuses a different one."""
    meta = out / "calibration.json"
    if not meta.is_file():
        return None
    old = json.loads(meta.read_text(encoding="utf-8"))
    if old.get("spec") != json.loads(json.dumps(spec.to_dict())):
        raise ConfigError("--out", str(out), "the directory of this same calibration, or a new one: it holds a "
                          "different calibration (give another --out, or --force to discard it)")  # fmt: skip
    return old.get("abc_id")


def run_calibration(source, out_dir=None, *, workers: int | None = None, scheduler: str | None = None,
                    force: bool = False, progress: bool = True) -> CalibrationResult:  # fmt: skip
    """Run (or continue) the calibration file ``source`` into ``out_dir`` (default ``runs/calibrations/<name>``).

    Parameters
    ----------
    source : str or Path or CalibrationSpec
    out_dir : str or Path, optional
    workers, scheduler : optional
        Run the particles on a local Dask cluster of ``workers`` processes, or on the cluster at ``scheduler``.
    force : bool
        Discard a different calibration (its database too) in ``out_dir``.
    progress : bool
        pyabc's log lines (a line per generation) on stderr.
    """
    import pyabc
    from pyabc.sampler import DaskDistributedSampler, SingleCoreSampler

    from neuroagents.calibration.outputs import write_outputs
    from neuroagents.recording import write_json
    from neuroagents.scenario import load_scenario

    t0 = time.perf_counter()
    spec = source if isinstance(source, CalibrationSpec) else load_calibration(source)
    if out_dir is None:
        check_name(spec.name)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "calibrations" / spec.name
    obs = observed(spec)
    try:
        doc0 = load_scenario(spec.scenario_path, spec.set).resolved()
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.value, exc.allowed, f"{spec.where}, calibration.set") from None
    _check_bounds(spec, doc0)
    names = {f"p{i}": p.key for i, p in enumerate(spec.priors)}
    model = ParticleModel(spec, doc0, obs, names)
    lock = prepare_out_dir(out, command=["neuroagents", "calibrate", str(spec.where)])
    try:
        if force:
            for name in (DB, "calibration.json"):  # over what defines a calibration here
                (out / name).unlink(missing_ok=True)
        abc_id = _record(spec, out)
        logging.getLogger("ABC").setLevel(logging.INFO if progress else logging.WARNING)
        executor = make_executor(workers, scheduler)
        with executor:
            client = getattr(executor, "client", None)
            sampler = SingleCoreSampler() if client is None else DaskDistributedSampler(dask_client=client)
            np.random.seed(spec.seed)  # noqa: NPY002 (pyabc draws from NumPy's global generator)
            abc = pyabc.ABCSMC(model, _prior(spec), distance, population_size=spec.population_size, sampler=sampler)
            db = f"sqlite:///{(out / DB).resolve()}"
            data = {"y": obs["mean"].to_numpy(float), "sd": obs["sd"].to_numpy(float)}
            if abc_id is None:
                history = abc.new(db, data)
                write_json(out / "calibration.json", {"spec": spec.to_dict(), "abc_id": history.id})
            else:
                abc.load(db, abc_id)
                np.random.seed(spec.seed + abc.history.max_t + 1)  # noqa: NPY002 (a continued run: its own stream)
            done = abc.history.max_t + 1
            if done < spec.generations:
                abc.run(max_nr_populations=spec.generations - done, minimum_epsilon=spec.min_epsilon,
                        min_acceptance_rate=spec.min_acceptance_rate)  # fmt: skip
            history = abc.history
        posterior, files = write_outputs(out, spec, history, model, obs, names)
    finally:
        lock.release()
    return CalibrationResult(out, history.max_t + 1, int(history.total_nr_simulations), posterior, files,
                             time.perf_counter() - t0)  # fmt: skip
