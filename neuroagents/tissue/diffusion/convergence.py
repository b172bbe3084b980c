"""Analytic solutions with sinks, and the error each solver makes against them.

Used by ``tests/test_diffusion_convergence.py`` (observed orders asserted) and
``bench/convergence.py`` (the table in ``docs/microenvironment.md``). Every
case is written in units of the screening length ``L = sqrt(D / (λ + k))``
and the relaxation time ``τ0 = 1 / (λ + k)``, so one number, ``dx / L`` or
``dt / τ0``, says how fine a run is. D, λ and k are numerical test values
(assumption), not biology.

Cases
-----
``"k0_2d"``
    Steady point source ``Q`` with uniform uptake in 2D:
    ``c = Q / (2π D) K0(r / L)`` (modified Bessel function of the 2nd kind).
``"yukawa_3d"``
    The same in 3D: ``c = Q exp(-r / L) / (4π D r)``.
``"gaussian_2d"``
    A Gaussian of width ``σ0`` spreading and taken up, no source, after ``T``:
    ``c = (σ0² / σ²) exp(-r² / (2σ²)) exp(-(λ + k) T)``, ``σ² = σ0² + 2 D T``.

For the point sources the grid is a cube of half-width ``3 L`` whose outer
shell of voxels is held at the exact profile (vessels: Dirichlet rows of the
line solves), so no boundary image enters; the source is one voxel with
``q = Q / dx^d``; the run starts from the exact profile and lasts ``12 τ0``.
The error is the largest relative error for ``L <= r <= 2 L``. The Gaussian
sits in a no-flux box of half-width ``6 σ`` (the wall sees < 1e-7 of the
peak); its error is the largest absolute error over the grid divided by the
exact peak.

Two errors per run: against the exact solution (space and time together)
and against the solution of the same grid with no error in time (the
discrete steady state, solved directly; for the Gaussian the exact
exponential of the discrete Laplacian, by cosine transform), which isolates
the error in time.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.fft
import scipy.sparse
import scipy.sparse.linalg
import scipy.special

from neuroagents.tissue.diffusion.plans import KIND_CODES, ExplicitPlan, FieldSpec, LODPlan, Vessels
from neuroagents.tissue.diffusion.registry import load_kernels

__all__ = [
    "CASES",
    "DECAY",
    "TAU0",
    "UPTAKE",
    "D",
    "L",
    "laplacian_matrix",
    "observed_orders",
    "run_case",
    "space_error",
]

D = 300.0  # µm²/min (assumption: a test value)
DECAY = 0.1  # λ, 1/min (assumption)
UPTAKE = 3.0  # k, 1/min (assumption)
L = math.sqrt(D / (DECAY + UPTAKE))  # µm, screening length
TAU0 = 1.0 / (DECAY + UPTAKE)  # min
Q = 1000.0  # nM µm^d / min: the point source (any value: errors are relative)
CASES = ("k0_2d", "yukawa_3d", "gaussian_2d")
SIGMA0 = 2.0 * L  # µm, Gaussian width at t = 0
T_GAUSS = 2.0 * TAU0  # min


def _point_exact(ndim, r):
    if ndim == 2:
        return Q / (2 * math.pi * D) * scipy.special.k0(r / L)
    return Q * np.exp(-r / L) / (4 * math.pi * D * r)


def _gauss_exact(r2, t):
    s2 = SIGMA0**2 + 2 * D * t
    return (SIGMA0**2 / s2) * np.exp(-r2 / (2 * s2)) * math.exp(-(DECAY + UPTAKE) * t)


def _spec(shape, dx):
    ndim = len(shape)
    pad = 3 - ndim
    spacing = np.ones(3)
    spacing[pad:] = dx
    kinds = np.full((3, 2), KIND_CODES["no_flux"], dtype=np.int64)
    return FieldSpec(
        shape4=(1,) + (1,) * pad + tuple(shape),
        diffusion=np.array([D]),
        decay=np.array([DECAY]),
        spacing=spacing,
        kinds=kinds,
        values=np.zeros((1, 3, 2)),
    )


def _radius2(shape, dx):
    """Squared distance (µm²) of every voxel centre from the centre voxel; ``shape`` odd."""
    axes = [(np.arange(n) - n // 2) * dx for n in shape]
    grids = np.meshgrid(*axes, indexing="ij")
    return sum(g**2 for g in grids)


def laplacian_matrix(shape, dx):
    """Sparse 2nd-difference Laplacian (1/µm²) with no-flux ends, C order."""
    ops = []
    for n in shape:
        main = np.full(n, -2.0)
        main[0] = main[-1] = -1.0
        ops.append(scipy.sparse.diags([np.ones(n - 1), main, np.ones(n - 1)], [-1, 0, 1]) / dx**2)
    total = None
    for a, op in enumerate(ops):
        term = op
        for b, other in enumerate(ops):
            if b == a:
                continue
            eye = scipy.sparse.identity(other.shape[0])
            term = scipy.sparse.kron(term, eye) if b > a else scipy.sparse.kron(eye, term)
        total = term if total is None else total + term
    return total.tocsr()


def _point_case(ndim, dx):
    """Grid, source, vessels, initial field and the selection for a steady point source."""
    half = round(3 * L / dx)
    shape = (2 * half + 1,) * ndim
    r = np.sqrt(_radius2(shape, dx))
    exact = _point_exact(ndim, np.maximum(r, 0.5 * dx))
    q = np.zeros(shape)
    q[(half,) * ndim] = Q / dx**ndim
    shell = np.zeros(shape, dtype=bool)
    for a in range(ndim):
        idx = [slice(None)] * ndim
        idx[a] = [0, -1]
        shell[tuple(idx)] = True
    sel = (r >= L) & (r <= 2 * L)
    return shape, q, shell, exact, sel


def _discrete_steady(shape, dx, q, shell, exact):
    """``(λ + k - D Δ_h) c = q`` with the shell held at ``exact``, solved directly."""
    a = (DECAY + UPTAKE) * scipy.sparse.identity(q.size) - D * laplacian_matrix(shape, dx)
    held = shell.reshape(-1)
    rhs = np.where(held, exact.reshape(-1), q.reshape(-1))
    keep = scipy.sparse.diags((~held).astype(float))
    a = (keep @ a + scipy.sparse.diags(held.astype(float))).tocsc()
    return scipy.sparse.linalg.spsolve(a, rhs).reshape(shape)


def _gaussian_discrete(shape, dx, c0, t):
    """``exp(t (D Δ_h - λ - k)) c0`` with no-flux ends (cosine transform, type II)."""
    mu = 0.0
    for a, n in enumerate(shape):
        lam = -4.0 * np.sin(np.pi * np.arange(n) / (2 * n)) ** 2 / dx**2
        mu = mu + lam.reshape([-1 if b == a else 1 for b in range(len(shape))])
    spectrum = scipy.fft.dctn(c0, type=2, norm="ortho")
    return scipy.fft.idctn(spectrum * np.exp(t * (D * mu - DECAY - UPTAKE)), type=2, norm="ortho")


def _advance(solver, kernel, spec, c, q, vessels, dt, t_end):
    mod = load_kernels(kernel, "numpy")
    plan = (LODPlan if solver == "lod" else ExplicitPlan).build(spec, dt)
    step = mod.lod_step if solver == "lod" else mod.explicit_step
    c4 = c.reshape(spec.shape4).copy()
    q4 = None if q is None else q.reshape(spec.shape4)
    k4 = np.full(spec.shape4, UPTAKE)
    work = np.empty_like(c4)
    for _ in range(round(t_end / dt)):  # over time steps
        step(c4, plan, q4, k4, vessels, work)
    return c4.reshape(c.shape)


@functools.lru_cache(maxsize=8)
def _setup(case, dx):
    """Shape, initial field, source, vessels, exact and time-exact solutions, selection and scale of a case."""
    if case == "gaussian_2d":
        sigma_t = math.sqrt(SIGMA0**2 + 2 * D * T_GAUSS)
        half = round(6 * sigma_t / dx)
        shape = (2 * half + 1,) * 2
        r2 = _radius2(shape, dx)
        c0 = _gauss_exact(r2, 0.0)
        exact = _gauss_exact(r2, T_GAUSS)
        semi = _gaussian_discrete(shape, dx, c0, T_GAUSS)
        return shape, c0, None, Vessels.none(), exact, semi, np.ones(shape, dtype=bool), exact.max(), T_GAUSS
    ndim = 2 if case == "k0_2d" else 3
    shape, q, shell, exact, sel = _point_case(ndim, dx)
    flat = np.flatnonzero(shell.reshape(-1)).astype(np.int64)
    vessels = Vessels(flat, exact.reshape(-1)[flat])
    steady = _discrete_steady(shape, dx, q, shell, exact)
    return shape, exact, q, vessels, exact, steady, sel, exact[sel], 12 * TAU0


def _rel(got, want, sel, scale):
    return float(np.max(np.abs(got[sel] - want[sel]) / scale))


def space_error(case, dx):
    """Error of the grid's time-exact solution (discrete steady state, or exp of the discrete Laplacian)."""
    _, _, _, _, exact, semi, sel, scale, _ = _setup(case, dx)
    return _rel(semi, exact, sel, scale)


def run_case(case, solver, dx, dt, kernel="numba"):
    """Run one case; return ``(error vs exact, error vs the grid's time-exact solution)``.

    Parameters
    ----------
    case : str
        One of :data:`CASES`.
    solver : {"lod", "explicit"}
    dx : float
        Voxel size, µm.
    dt : float
        Time step, min (the explicit solver sub-steps it when above its limit).
    kernel : str

    Returns
    -------
    tuple of float
        Dimensionless errors (see the module docstring).
    """
    shape, c0, q, vessels, exact, semi, sel, scale, t_end = _setup(case, dx)
    got = _advance(solver, kernel, _spec(shape, dx), c0, q, vessels, dt, t_end)
    return _rel(got, exact, sel, scale), _rel(got, semi, sel, scale)


def observed_orders(steps, errors):
    """``log(e_i / e_{i+1}) / log(h_i / h_{i+1})`` for successive refinements."""
    steps = np.asarray(steps, dtype=float)
    errors = np.asarray(errors, dtype=float)
    return np.log(errors[:-1] / errors[1:]) / np.log(steps[:-1] / steps[1:])
