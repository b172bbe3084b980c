"""What every solver implementation computes, as precomputed coefficients.

Internally fields are viewed as 4D arrays ``c4`` of shape ``(M, N1, N2, N3)``:
axis 0 is the mediator, axes 1..3 are space, and a grid of fewer than three
dimensions is padded with leading axes of length 1 (a 2D grid ``(nx, ny)``
becomes ``(M, 1, nx, ny)``). Padded axes are inactive.

LOD step of length ``dt`` (all implementations, in this order)
---------------------------------------------------------------
With ``d`` active axes, each axis sweep carries ``τ = dt / d`` of the
reaction. For each active axis, in increasing order, solve along every grid
line::

    (1 + τ k_i) c_i - r (c_{i-1} - 2 c_i + c_{i+1}) = f c_i(old) + s q_i     (+ r * value at a Dirichlet end)

with ``r = D dt / dx²`` (a no-flux end has one neighbour, a periodic axis is
cyclic), ``f = exp(-λ τ)`` and ``s = (1 - exp(-λ τ)) / λ`` (``= τ`` if
λ = 0). The first-order sink ``k`` is implicit *inside* the line solves: a
sink absorbs what diffuses into it during the sweep, however large ``k dt``.
Decay and production are integrated exactly over each sweep's share
(``c <- c f + s q`` for a uniform field), so a uniform field decays exactly
as ``exp(-λ t)``, a constant source with decay is exact for any ``dt``, decay
leaves the spreading of a profile exactly diffusive, and every sweep keeps
``q / k`` fixed when λ = 0 (saturating secretion stops at its target). The
amount a sweep removes is exactly ``Σ τ k c_new`` (plus ``(1 - f) Σ c``
decayed) and it adds ``Σ s q``: the mass balance is exact. Vessel voxels are
Dirichlet rows of the line systems (``c_i = value``: the row is the
identity, and their neighbours see the fixed value during the solve); they
are written with their value after each sweep. Without cell sinks or
vessels the matrices depend only on ``dt`` (the Thomas factors of
:class:`AxisCoeffs`); with them the diagonal varies per voxel and each line
is factored as it is swept.

A plan without active axes applies the reaction alone, per voxel::

    c <- (c * exp(-λ dt) + w * q) / (1 + dt * k),   w = (1 - exp(-λ dt)) / λ  (= dt if λ = 0)

Explicit step of length ``dt``: ``n_sub`` sub-steps of ``h = dt / n_sub``, each::

    c <- ((c + h D ∇²c) * exp(-λ h) + w_h q) / (1 + h k);  then vessel voxels

with ``w_h = (1 - exp(-λ h)) / λ`` (``source_weight`` of the plan).

with ``h D Σ_a 2/dx_a² <= cfl <= 1`` so that every weight is >= 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neuroagents.errors import ConfigError

__all__ = [
    "DIRICHLET",
    "KIND_CODES",
    "NO_FLUX",
    "PERIODIC",
    "AxisCoeffs",
    "ExplicitPlan",
    "FieldSpec",
    "LODPlan",
    "Vessels",
    "thomas_coefficients",
]

NO_FLUX, DIRICHLET, PERIODIC = 0, 1, 2
KIND_CODES = {"no_flux": NO_FLUX, "dirichlet": DIRICHLET, "periodic": PERIODIC}


@dataclass(frozen=True)
class FieldSpec:
    """Everything about the fields that does not depend on ``dt``.

    Attributes
    ----------
    shape4 : tuple of 4 int
        ``(M, N1, N2, N3)``.
    diffusion : ndarray of shape (M,)
        D per mediator, µm²/min.
    decay : ndarray of shape (M,)
        λ per mediator, 1/min.
    spacing : ndarray of shape (3,)
        Voxel spacing of internal axes 1..3, µm (1.0 on padded axes).
    kinds : ndarray of shape (3, 2), int
        Boundary code (NO_FLUX, DIRICHLET, PERIODIC) of the low and high side
        of internal axes 1..3.
    values : ndarray of shape (M, 3, 2)
        Dirichlet bath values, nM (0 where not Dirichlet).
    """

    shape4: tuple[int, int, int, int]
    diffusion: np.ndarray
    decay: np.ndarray
    spacing: np.ndarray
    kinds: np.ndarray
    values: np.ndarray

    @classmethod
    def build(cls, grid, mediators, boundaries) -> FieldSpec:
        """From a :class:`~neuroagents.tissue.grid.Grid`, mediators and complete boundaries."""
        from neuroagents.tissue.grid import AXIS_NAMES

        m = len(mediators)
        pad = 3 - grid.ndim
        shape4 = (m,) + (1,) * pad + tuple(grid.shape)
        spacing = np.ones(3)
        kinds = np.zeros((3, 2), dtype=np.int64)
        values = np.zeros((m, 3, 2))
        names = [med.name for med in mediators]
        for a in range(grid.ndim):
            ia = pad + a
            spacing[ia] = grid.spacing_um[a]
            for s, side in enumerate(("min", "max")):
                b = boundaries[f"{AXIS_NAMES[a]}{side}"]
                kinds[ia, s] = KIND_CODES[b.kind]
                if b.kind == "dirichlet":
                    values[:, ia, s] = b.values_for(names, where=f"boundaries.{AXIS_NAMES[a]}{side}")
        return cls(
            shape4=shape4,
            diffusion=np.array([med.diffusion_um2_per_min for med in mediators], dtype=float),
            decay=np.array([med.decay_per_min for med in mediators], dtype=float),
            spacing=spacing,
            kinds=kinds,
            values=values,
        )

    def axis_active(self, ia: int) -> bool:
        """Whether internal axis ``ia`` (0..2 for axes 1..3) carries any diffusion."""
        if self.shape4[ia + 1] > 1:
            return True
        # a single-voxel axis still exchanges with Dirichlet baths
        return bool(np.any(self.kinds[ia] == DIRICHLET))


@dataclass(frozen=True)
class AxisCoeffs:
    """Tridiagonal coefficients of one LOD sweep along internal axis ``axis``.

    Forward sweep (``d`` is the line, modified in place; ``d[-1]`` reads 0)::

        d[i] = (d[i] + [i == 0] rhs_lo + [i == n-1] rhs_hi + r * d[i-1]) * inv_den[i]

    Back substitution::

        x[n-1] = d[n-1];  x[i] = d[i] - cp[i] * x[i+1]

    Periodic axes then apply the Sherman–Morrison correction::

        s = (x[0] + sm_w * x[n-1]) * sm_fac;  x[i] -= s * sm_z[i]

    Attributes
    ----------
    axis : int
        Internal axis of ``c4`` (1, 2 or 3).
    n : int
    r : ndarray of shape (M,)
    diag : ndarray of shape (M, n)
        Diagonal of ``A`` without cell terms (periodic: the true diagonal);
        ``τ k`` adds to it per voxel.
    inv_den, cp : ndarray of shape (M, n)
    rhs_lo, rhs_hi : ndarray of shape (M,)
    periodic : bool
    sm_z : ndarray of shape (M, n)
    sm_w, sm_fac : ndarray of shape (M,)
    """

    axis: int
    n: int
    r: np.ndarray
    diag: np.ndarray
    inv_den: np.ndarray
    cp: np.ndarray
    rhs_lo: np.ndarray
    rhs_hi: np.ndarray
    periodic: bool
    sm_z: np.ndarray
    sm_w: np.ndarray
    sm_fac: np.ndarray


def thomas_coefficients(diag: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thomas-algorithm factors for ``A = tridiag(-r, diag, -r)``.

    Parameters
    ----------
    diag : ndarray of shape (M, n)
    r : ndarray of shape (M,)

    Returns
    -------
    inv_den, cp : ndarray of shape (M, n)
    """
    m, n = diag.shape
    inv_den = np.empty((m, n))
    cp = np.empty((m, n))
    inv_den[:, 0] = 1.0 / diag[:, 0]
    cp[:, 0] = -r * inv_den[:, 0]
    for i in range(1, n):  # over one line's positions, once per plan (not per step)
        inv_den[:, i] = 1.0 / (diag[:, i] + r * cp[:, i - 1])
        cp[:, i] = -r * inv_den[:, i]
    return inv_den, cp


def _thomas_solve(inv_den, cp, r, d):
    """Solve with precomputed factors; ``d`` of shape (M, n). For plan building only."""
    d = d.copy()
    n = d.shape[1]
    d[:, 0] *= inv_den[:, 0]
    for i in range(1, n):
        d[:, i] = (d[:, i] + r * d[:, i - 1]) * inv_den[:, i]
    for i in range(n - 2, -1, -1):
        d[:, i] -= cp[:, i] * d[:, i + 1]
    return d


@dataclass(frozen=True)
class LODPlan:
    """Coefficients of one LOD step of length ``dt`` (see module docstring)."""

    dt: float
    decay_factor: np.ndarray  # (M,) exp(-λ dt); the reaction of a plan without axes
    source_weight: np.ndarray  # (M,) (1 - exp(-λ dt)) / λ, = dt where λ = 0; idem
    axes: tuple[AxisCoeffs, ...]
    tau: float = 0.0  # min: the share of dt of each sweep's reaction, dt / (active axes)
    sweep_decay_factor: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (M,) f = exp(-λ τ)
    sweep_source_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (M,) s = (1 - exp(-λ τ)) / λ

    @classmethod
    def build(cls, spec: FieldSpec, dt: float) -> LODPlan:
        _check_dt(dt)
        m = spec.shape4[0]
        n_active = sum(spec.axis_active(ia) for ia in range(3))
        tau = dt / max(1, n_active)
        axes = []
        for ia in range(3):
            if not spec.axis_active(ia):
                continue
            n = spec.shape4[ia + 1]
            r = spec.diffusion * dt / spec.spacing[ia] ** 2
            lo, hi = spec.kinds[ia]
            periodic = lo == PERIODIC and n > 1
            diag = np.repeat((1.0 + 2.0 * r)[:, None], n, axis=1)
            if not periodic:
                # a no-flux end has one neighbour; a Dirichlet end couples to its bath
                diag[:, 0] -= r * (lo == NO_FLUX or lo == PERIODIC)
                diag[:, -1] -= r * (hi == NO_FLUX or hi == PERIODIC)
            rhs_lo = r * spec.values[:, ia, 0] * (lo == DIRICHLET)
            rhs_hi = r * spec.values[:, ia, 1] * (hi == DIRICHLET)
            sm_z = np.zeros((m, n))
            sm_w = np.zeros(m)
            sm_fac = np.zeros(m)
            if periodic:
                # A = A' + u v^T with corners alpha = beta = -r (Numerical Recipes cyclic).
                gamma = -diag[:, 0]
                mod = diag.copy()
                mod[:, 0] -= gamma
                mod[:, -1] -= (r * r) / gamma
                inv_den, cp = thomas_coefficients(mod, r)
                u = np.zeros((m, n))
                u[:, 0] = gamma
                u[:, -1] = -r
                sm_z = _thomas_solve(inv_den, cp, r, u)
                sm_w = -r / gamma
                sm_fac = 1.0 / (1.0 + sm_z[:, 0] + sm_w * sm_z[:, -1])
            else:
                inv_den, cp = thomas_coefficients(diag, r)
            axes.append(AxisCoeffs(ia + 1, n, r, diag, inv_den, cp, rhs_lo, rhs_hi, bool(periodic), sm_z, sm_w, sm_fac))
        return cls(
            dt=float(dt),
            decay_factor=np.exp(-spec.decay * dt),
            axes=tuple(axes),
            source_weight=_source_weight(spec.decay, dt),
            tau=float(tau),
            sweep_decay_factor=np.exp(-spec.decay * tau),
            sweep_source_weight=_source_weight(spec.decay, tau),
        )


@dataclass(frozen=True)
class ExplicitPlan:
    """Coefficients of one explicit step of length ``dt`` (see module docstring).

    Attributes
    ----------
    n_sub : int
        Sub-steps taken; ``h = dt / n_sub``.
    rx : ndarray of shape (M, 3)
        ``D h / dx²`` per internal axis 1..3 (0 on inactive axes).
    kinds : ndarray of shape (3, 2), int
    values : ndarray of shape (M, 3, 2)
    decay_factor : ndarray of shape (M,)
        ``exp(-λ h)``.
    """

    dt: float
    n_sub: int
    h: float
    rx: np.ndarray
    kinds: np.ndarray
    values: np.ndarray
    decay_factor: np.ndarray
    source_weight: np.ndarray
    cfl: float = field(default=0.9)

    @classmethod
    def build(cls, spec: FieldSpec, dt: float, cfl: float = 0.9) -> ExplicitPlan:
        _check_dt(dt)
        if not (isinstance(cfl, (int, float)) and 0 < cfl <= 1):
            raise ConfigError("explicit_cfl", cfl, "a number in (0, 1]")
        inv_dx2 = np.array([1.0 / spec.spacing[ia] ** 2 if spec.axis_active(ia) else 0.0 for ia in range(3)])
        rate = float(np.max(spec.diffusion)) * 2.0 * inv_dx2.sum()  # 1/min
        n_sub = 1 if rate == 0 else max(1, math.ceil(dt * rate / cfl * (1 - 1e-12)))
        while dt / n_sub * rate > cfl:  # the rounding slack above must never exceed the limit
            n_sub += 1
        h = dt / n_sub
        return cls(
            dt=float(dt),
            n_sub=int(n_sub),
            h=h,
            rx=spec.diffusion[:, None] * h * inv_dx2[None, :],
            kinds=spec.kinds.copy(),
            values=spec.values.copy(),
            decay_factor=np.exp(-spec.decay * h),
            cfl=float(cfl),
            source_weight=_source_weight(spec.decay, h),
        )

    @staticmethod
    def max_stable_dt(spec: FieldSpec) -> float:
        """Largest sub-step (min) with every explicit weight >= 0."""
        inv_dx2 = sum(1.0 / spec.spacing[ia] ** 2 for ia in range(3) if spec.axis_active(ia))
        rate = float(np.max(spec.diffusion)) * 2.0 * inv_dx2
        return math.inf if rate == 0 else 1.0 / rate


@dataclass(frozen=True)
class Vessels:
    """Voxels held at fixed concentrations (vessels, clamps) inside the grid.

    Attributes
    ----------
    flat_index : ndarray of shape (K,), int64
        Indices into ``c4.reshape(-1)`` (mediator and voxel together).
    values : ndarray of shape (K,)
        Fixed concentrations, nM.
    """

    flat_index: np.ndarray
    values: np.ndarray

    @property
    def empty(self) -> bool:
        return self.flat_index.size == 0

    @classmethod
    def none(cls) -> Vessels:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0))


def _source_weight(decay, dt):
    """∫_0^dt e^{-λ s} ds = (1 - e^{-λ dt}) / λ per mediator (dt where λ = 0)."""
    decay = np.asarray(decay, dtype=float)
    safe = np.where(decay > 0, decay, 1.0)
    return np.where(decay > 0, -np.expm1(-decay * dt) / safe, dt)


def _check_dt(dt) -> None:
    import numbers

    if not isinstance(dt, numbers.Real) or isinstance(dt, (bool, np.bool_)) or not math.isfinite(dt) or dt <= 0:
        raise ConfigError("dt_min", dt, "a finite number of minutes > 0")
