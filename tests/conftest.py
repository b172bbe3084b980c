"""Shared fixtures: the `gpu` marker skips itself unless CuPy can really use a GPU."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def _gpu():
    from neuroagents.backend import gpu_status

    return gpu_status()


def pytest_collection_modifyitems(config, items):
    usable, why = _gpu() if any(item.get_closest_marker("gpu") for item in items) else (True, "")
    if usable:
        return
    skip = pytest.mark.skip(reason=f"no usable GPU: {why}")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)
