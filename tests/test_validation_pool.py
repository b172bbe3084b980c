"""The validation runs' worker pool (neuroagents/validation_pool.py): the same tables as in this process."""

from __future__ import annotations

import time

import pytest

from neuroagents.errors import ConfigError
from neuroagents.validation import run
from neuroagents.validation_pool import MAX_WORKERS, RunPool, pool_workers

SHORT = ("scenario.duration_min=30",)


def test_runs_in_worker_processes_equal_runs_here_bit_for_bit():
    keys = [("healthy", SHORT, None), ("healthy", SHORT, 7), ("carrageenan", SHORT, None)]
    pool = RunPool(2)
    try:
        assert pool.submit(keys) == 3
        assert pool.submit(keys[:1]) == 0  # already started
        for scenario, overrides, seed in keys:
            there = pool.result(scenario, overrides, seed)
            here = run(scenario, overrides, seed=seed)
            assert there.equals(here), (scenario, seed)
        assert not pool.result("healthy", SHORT, 7).empty  # asked again: made here
    finally:
        pool.close()


def test_a_run_that_fails_in_a_worker_raises_its_error_here():
    pool = RunPool(2)
    try:
        pool.submit([("healthy", ("scenario.duration_min=-5",), None)])
        with pytest.raises(ConfigError, match="duration_min"):
            pool.result("healthy", ("scenario.duration_min=-5",))
    finally:
        pool.close()


def test_close_stops_runs_nobody_asked_for():
    pool = RunPool(2)
    pool.submit([("sni", (), None), ("sni", (), 2), ("cci", (), None)])  # most of a minute each
    futures = list(pool._futures.values())
    time.sleep(1.0)  # two of them are running by now
    pool.close()
    # stopped or cancelled, none finished: close did not wait for them
    assert all(f.cancelled() or f.exception() is not None for f in futures), futures


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_worker_count_is_a_config_error_naming_the_variable(text):
    with pytest.raises(ConfigError, match="NEUROAGENTS_VALIDATION_WORKERS"):
        pool_workers({"NEUROAGENTS_VALIDATION_WORKERS": text})


def test_the_default_is_one_worker_per_usable_core_within_the_cap():
    assert 1 <= pool_workers({}) <= MAX_WORKERS
    assert pool_workers({"NEUROAGENTS_VALIDATION_WORKERS": "1"}) == 1


def test_the_config_errors_cross_process_boundaries_as_themselves():
    import pickle

    from neuroagents.scenario.loader import ScenarioSyntaxError

    errors = (ConfigError("drugs[0].dose_mg_per_kg", -1.0, ">= 0", "x.toml"), ScenarioSyntaxError("x.toml", 3, 7, "?"))
    for error in errors:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert (back.key, back.value, back.allowed, back.where) == (error.key, error.value, error.allowed, error.where)
