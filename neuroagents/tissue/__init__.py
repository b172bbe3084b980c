"""The microenvironment: grid, mediator fields, solvers and cell <-> voxel exchange.

This package knows nothing of cell biology: it advances concentration fields
given source and uptake terms, and gathers/scatters at voxel indices.
"""

from neuroagents.tissue.grid import BOUNDARY_KINDS, Boundary, Grid, make_boundaries
from neuroagents.tissue.microenvironment import Microenvironment

__all__ = ["BOUNDARY_KINDS", "Boundary", "Grid", "Microenvironment", "make_boundaries"]
