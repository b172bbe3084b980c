"""One unit system for the whole code: µm, min, nM.

Concentrations inside the code are nM (nmol/L). Users may give pg/mL or
ng/mL at the edges; converting needs the molecular mass of the mediator.

Useful identities (checked in ``tests/test_units.py``):

* 1 µm³ = 1e-15 L, so 1 nM in 1 µm³ is 1e-24 mol = 0.6022 molecules.
* 1 pg/mL of a 17 kDa protein is 1/17000 nM = 58.8 fM
  (docs/references.md, "Conversions").
"""

from __future__ import annotations

AVOGADRO_PER_MOL = 6.02214076e23
"""Avogadro constant (exact, SI 2019)."""

LITRES_PER_UM3 = 1e-15
"""1 µm³ = 1e-15 L."""

MOLECULES_PER_NM_UM3 = AVOGADRO_PER_MOL * 1e-9 * LITRES_PER_UM3
"""Molecules in 1 µm³ at 1 nM (= 0.6022)."""

SECONDS_PER_MIN = 60.0
MIN_PER_HOUR = 60.0
MIN_PER_DAY = 1440.0


def pg_per_ml_to_nM(value_pg_per_ml, molecular_mass_kda):
    """Convert a mass concentration in pg/mL to nM.

    Parameters
    ----------
    value_pg_per_ml : float or ndarray
        Concentration in pg/mL.
    molecular_mass_kda : float
        Molecular mass in kDa (kg/mol).

    Returns
    -------
    float or ndarray
        Concentration in nM.
    """
    # 1 pg/mL = 1e-9 g/L; divided by g/mol gives mol/L; times 1e9 gives nM.
    return value_pg_per_ml / (molecular_mass_kda * 1e3)


def nM_to_pg_per_ml(value_nM, molecular_mass_kda):
    """Convert nM to pg/mL (inverse of :func:`pg_per_ml_to_nM`)."""
    return value_nM * molecular_mass_kda * 1e3


def ng_per_ml_to_nM(value_ng_per_ml, molecular_mass_kda):
    """Convert ng/mL to nM."""
    return pg_per_ml_to_nM(value_ng_per_ml * 1e3, molecular_mass_kda)


def molecules_to_nM(n_molecules, volume_um3):
    """Concentration (nM) of ``n_molecules`` spread over ``volume_um3`` µm³."""
    return n_molecules / (MOLECULES_PER_NM_UM3 * volume_um3)


def nM_to_molecules(value_nM, volume_um3):
    """Number of molecules at ``value_nM`` in ``volume_um3`` µm³."""
    return value_nM * MOLECULES_PER_NM_UM3 * volume_um3


def per_second_to_per_min(rate_per_s):
    """Convert a rate in 1/s to 1/min."""
    return rate_per_s * SECONDS_PER_MIN


def half_life_to_rate(half_life_min):
    """First-order rate constant (1/min) for a half-life in minutes."""
    import math

    return math.log(2.0) / half_life_min
