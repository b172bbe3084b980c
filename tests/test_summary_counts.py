"""The summary figure draws each cell count once: totals, never totals plus the per-compartment counts."""

from __future__ import annotations

import io

import numpy as np
import pytest

from neuroagents.scenario import builtin_scenarios, load_scenario
from neuroagents.scenario.summary import compartment_names, plot_summary

MULTI = [n for n in builtin_scenarios() if load_scenario(n).compartments]


def test_there_are_multi_compartment_scenarios():
    assert len(MULTI) >= 3  # sni, cci, arthritis, ...: the test below must not run over nothing


@pytest.mark.parametrize("name", MULTI)
def test_the_figure_counts_match_the_time_series(name):
    s = load_scenario(name, ["scenario.duration_min=10"])
    m = s.build_model(backend="numpy")
    m.step()
    m.record()
    table = m.timeseries()
    comps = compartment_names(table.columns)
    assert len(comps) >= 2
    fig = plot_summary(table, io.BytesIO())
    per_type = {line.get_label(): line.get_ydata() for line in fig.axes[3].get_lines()}
    assert per_type, "no cell counts drawn"
    for kind, drawn in per_type.items():  # over cell types drawn
        by_comp = [c for c in table.columns if c.startswith(f"n_{kind}_") and any(c.endswith(f"_{k}") for k in comps)]
        expected = table[by_comp].sum(axis=1).to_numpy(dtype=float)
        np.testing.assert_array_equal(drawn, expected, err_msg=f"{name}: {kind}")
    macro = {line.get_label(): line.get_ydata() for line in fig.axes[4].get_lines()}
    for label, drawn in macro.items():  # over macrophage states drawn
        np.testing.assert_array_equal(drawn, table[f"n_{label}"].to_numpy(dtype=float))
