"""The parts of Mesa's SolaraViz the dashboard builds on, imported once.

* ``ModelController``: Reset, play/pause and Step buttons, the threaded play loop with its play interval
  (speed) and render interval (steps per frame); Reset rebuilds the model as ``type(model)(**kwargs)``.
* ``update_counter`` / ``force_update``: the per-session counter that components read to redraw after a frame.

Mesa 3.3's ``ComponentsView`` (not used here) makes Solara's hook checker warn when ``mesa.visualization`` is
imported; that one warning is silenced here, where the import happens, and nowhere else.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # both of the checker's warnings about ComponentsView: its finding, and "Failed to validate hooks for ..."
    warnings.filterwarnings("ignore", message=r"(?s).*ComponentsView", category=UserWarning)
    from mesa.visualization.solara_viz import ModelController
    from mesa.visualization.utils import force_update, update_counter

__all__ = ["ModelController", "force_update", "update_counter"]
