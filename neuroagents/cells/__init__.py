"""Cells as arrays: one structure of arrays per cell type, vectorized rules.

This package knows nothing of drawing; it reads and writes the
microenvironment only through :mod:`neuroagents.tissue.exchange`.
"""

from neuroagents.cells.population import Population

__all__ = ["Population"]
