"""Compartmental pharmacokinetics: linear models solved exactly by superposition.

One drug in one animal is a linear system ``dx/dt = A x + u(t)`` over the
amounts (mg) in its compartments:

* ``gut`` and ``sc`` depots with first-order absorption ``ka`` (oral, s.c.;
  bioavailability ``F`` scales the dose that enters them);
* ``central`` (V1) with clearance CL, and, for two-compartment drugs, a
  ``peripheral`` compartment (V2) exchanging at Q;
* ``csf``: intrathecal doses enter here (volume V_csf) and leave with CSF bulk
  flow into ``central`` at ``k_csf = Q_csf / V_csf``. Systemic drug reaches
  the CSF at its unbound equilibrium ``C_csf = Kp,uu · fu · C_plasma``
  (instantaneous partition, no mass moved);
* ``ce_plasma`` and ``ce_csf``: effect compartments (mg/L) for drugs whose
  effect lags the plasma, ``dCe/dt = ke0 (C − Ce)``;
* only when a schedule uses them (:mod:`neuroagents.pharmacology.local`): an
  ``ip`` depot (drugs without s.c. data), and one ``site_<route>`` per local
  route (intraplantar, intra_articular, perineural, intraganglionic) that adds
  ``fu · A / V_site`` to its compartment kind's exposure and empties into
  ``central`` (with ``ce_site_<route>`` for ``ke0`` drugs).

Because the system is linear and time-invariant, the response to a schedule is
the sum of the responses to each dose (superposition). With the eigen-
decomposition ``A = V Λ V⁻¹`` a bolus of ``b`` at ``t_d`` contributes
``V diag(exp(λ (t − t_d))) V⁻¹ b`` for ``t ≥ t_d``, and a zero-order infusion
over ``T`` contributes ``V diag(exp(λ(s − τ)) expm1(λ τ)/λ) V⁻¹ b / T`` with
``s = t − t_d``, ``τ = min(s, T)``: exact at any time, vectorized over times
and doses, no time stepping. Where ``A`` is (nearly) defective — equal rate
constants, e.g. ``ka = k`` — the same superposition uses the matrix
exponential (``scipy.linalg.expm``, batched), also exact.

Species: parameters are catalogued for a 70 kg human and scaled
allometrically (Hu & Hayton 2001, exponent ~0.75 for clearance of small
molecules; Rowland 2024, 0.80 for IgG): ``CL, Q ∝ W^b``, ``V ∝ W``, and rate
constants of absorption and effect ``ka, ke0 ∝ W^-0.25`` (assumption:
physiological time). Measured rodent values in ``Drug.species_pk`` replace the
scaled ones. CSF volumes and flows per species: Int J Toxicol 2017 37:4 Table 4
(Artru 1999) (V).

Units: time in minutes inside the engine (rates given in 1/h are converted),
amounts mg, volumes L, concentrations mg/L, reported in nM via the molecular
mass (1 mg/L = 1e6 / MW nM).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from neuroagents.errors import ConfigError
from neuroagents.pharmacology.drugs import Drug
from neuroagents.pharmacology.local import LOCAL_ROUTES, ip_absorption, site_clearance_per_h

__all__ = [
    "DRG_CSF_FRACTION",
    "OUTPUTS",
    "SPECIES",
    "Dose",
    "LinearPK",
    "PKParameters",
    "Species",
    "bateman",
    "mg_per_l_to_nM",
    "resolve_species",
    "scale_pk",
]

MIN_PER_H = 60.0
HUMAN_KG = 70.0
DRG_CSF_FRACTION = 0.5
"""Share of the intrathecal CSF concentration that reaches the DRG (assumption: DRG sit in the root sleeves and
take up intrathecal oligonucleotides and drugs; Simeoli 2017 treated DRG macrophages intrathecally)."""
OUTPUTS = ("plasma_total", "plasma_free", "csf", "periphery", "drg", "dorsal_horn")
"""Concentrations the engine reports for every drug (mg/L inside, nM outside); ``*_effect`` too with ``ke0``."""


@dataclass(frozen=True)
class Species:
    """Body weight and CSF physiology of one species.

    Attributes
    ----------
    name : str
    body_weight_kg : float
    csf_volume_l : float
        Total neuraxial CSF volume, L.
    csf_flow_l_per_h : float
        CSF production (= bulk outflow), L/h.
    source : str
    """

    name: str
    body_weight_kg: float
    csf_volume_l: float
    csf_flow_l_per_h: float
    source: str


_CSF = "Int J Toxicol 2017 37:4 Table 4, from Artru 1999 (V)"
SPECIES: dict[str, Species] = {
    "mouse": Species("mouse", 0.025, 0.04e-3, 0.020e-3, f"25 g (assumption); CSF 0.04 mL, 0.020 mL/h, {_CSF}"),
    "rat": Species("rat", 0.25, 0.25e-3, 0.22e-3, f"250 g (assumption); CSF 0.25 mL, 0.13-0.32 mL/h, {_CSF}"),
    "human": Species("human", HUMAN_KG, 0.130, 0.0225, f"70 kg (assumption); CSF 100-160 mL, 21-24 mL/h, {_CSF}"),
}


def resolve_species(name: str, where: str = "species") -> Species:
    """The :class:`Species` called ``name``; a clear error otherwise."""
    if isinstance(name, str) and name in SPECIES:
        return SPECIES[name]
    raise ConfigError(where, name, f"one of {sorted(SPECIES)}")


def mg_per_l_to_nM(c_mg_per_l, mw_g_per_mol: float):
    """Convert mg/L to nM: ``c · 1e6 / MW`` (MW in g/mol)."""
    return c_mg_per_l * (1e6 / mw_g_per_mol)


def bateman(t_h, dose_mg: float, f: float, ka_per_h: float, k_per_h: float, v_l: float):
    """Plasma concentration (mg/L) after one oral dose, one compartment (the textbook reference).

    ``C(t) = F D ka / (V (ka − k)) (exp(−k t) − exp(−ka t))``; ``F D k t exp(−k t) / V`` when ``ka = k``.

    Parameters
    ----------
    t_h : float or ndarray
        Time after the dose, h (negative times give 0).
    dose_mg, f, ka_per_h, k_per_h, v_l : float
        Dose (mg), bioavailability, absorption and elimination rates (1/h), volume (L).
    """
    t = np.maximum(np.asarray(t_h, dtype=float), 0.0)
    if math.isclose(ka_per_h, k_per_h, rel_tol=1e-9):
        return f * dose_mg * k_per_h * t * np.exp(-k_per_h * t) / v_l
    return f * dose_mg * ka_per_h / (v_l * (ka_per_h - k_per_h)) * (np.exp(-k_per_h * t) - np.exp(-ka_per_h * t))


@dataclass(frozen=True)
class PKParameters:
    """One drug's parameters in one species (per hour and litres, as catalogued).

    Attributes mirror :class:`~neuroagents.pharmacology.drugs.Drug` after allometric scaling; CSF physiology
    comes from the :class:`Species`.
    """

    drug: str
    species: str
    body_weight_kg: float
    mw_g_per_mol: float
    cl_l_per_h: float
    v1_l: float
    q_l_per_h: float
    v2_l: float
    f_oral: float | None
    ka_oral_per_h: float | None
    f_sc: float | None
    ka_sc_per_h: float | None
    fraction_unbound: float
    csf_kp_uu: float
    tissue_partition: float
    ke0_per_h: float | None
    csf_volume_l: float
    csf_flow_l_per_h: float

    @property
    def two_compartment(self) -> bool:
        return self.q_l_per_h > 0 and self.v2_l > 0

    @property
    def terminal_half_life_h(self) -> float:
        """Terminal disposition half-life, h (slowest eigenvalue of central/peripheral exchange)."""
        k10 = self.cl_l_per_h / self.v1_l
        if not self.two_compartment:
            return math.log(2.0) / k10
        k12, k21 = self.q_l_per_h / self.v1_l, self.q_l_per_h / self.v2_l
        s = k10 + k12 + k21
        beta = 0.5 * (s - math.sqrt(s * s - 4 * k10 * k21))
        return math.log(2.0) / beta


def scale_pk(drug: Drug, species: str | Species = "human", body_weight_kg: float | None = None) -> PKParameters:
    """Scale a drug's human parameters to ``species`` (see the module docstring).

    Parameters
    ----------
    drug : Drug
    species : str or Species
        ``"mouse"``, ``"rat"`` or ``"human"``.
    body_weight_kg : float, optional
        Overrides the species' default body weight, kg.

    Returns
    -------
    PKParameters
    """
    sp = species if isinstance(species, Species) else resolve_species(species)
    w = sp.body_weight_kg if body_weight_kg is None else body_weight_kg
    if isinstance(w, bool) or not (isinstance(w, (int, float)) and math.isfinite(w) and w > 0):
        raise ConfigError("body_weight_kg", w, "a body weight > 0 (kg)")
    r = w / HUMAN_KG
    time_scale = r**-0.25

    def rate(v):
        return None if v is None else v * time_scale

    p = PKParameters(
        drug=drug.name, species=sp.name, body_weight_kg=float(w), mw_g_per_mol=drug.mw_g_per_mol,
        cl_l_per_h=drug.cl_l_per_h * r**drug.cl_exponent, v1_l=drug.v1_l * r,
        q_l_per_h=drug.q_l_per_h * r**drug.cl_exponent, v2_l=drug.v2_l * r,
        f_oral=drug.f_oral, ka_oral_per_h=rate(drug.ka_oral_per_h), f_sc=drug.f_sc, ka_sc_per_h=rate(drug.ka_sc_per_h),
        fraction_unbound=drug.fraction_unbound, csf_kp_uu=drug.csf_kp_uu, tissue_partition=drug.tissue_partition,
        ke0_per_h=rate(drug.ke0_per_h), csf_volume_l=sp.csf_volume_l, csf_flow_l_per_h=sp.csf_flow_l_per_h,
    )  # fmt: skip
    over = dict(drug.species_pk.get(sp.name, {}))  # validated field names (schema.SPECIES_PK_FIELDS)
    return replace(p, **over) if over else p


@dataclass(frozen=True)
class Dose:
    """One administration: when, where it enters, how much, how fast.

    Attributes
    ----------
    time_min : float
        Start of the dose, min.
    route : str
        ``"oral"``, ``"sc"``, ``"iv"``, ``"intrathecal"``, ``"ip"`` or a local route
        (:data:`~neuroagents.pharmacology.local.LOCAL_ROUTES`).
    amount_mg : float
        Amount given, mg (bioavailability is applied by the engine).
    duration_min : float
        0 for a bolus; > 0 for a zero-order infusion (i.v. or intrathecal).
    """

    time_min: float
    route: str
    amount_mg: float
    duration_min: float = 0.0


_ROUTE_STATE = {"oral": "gut", "sc": "sc", "iv": "central", "intrathecal": "csf"}
_COND_LIMIT = 1e8
_BOLUS_MIN = 1e-9
_CHUNK_ELEMENTS = 2_000_000


def _expm1_over_x(x):
    """``(e^x − 1)/x``, equal to 1 at ``x = 0`` and accurate near it."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(small, 1.0 + 0.5 * x, np.expm1(x) / np.where(small, 1.0, x))


class LinearPK:
    """The linear compartment system of one drug in one animal.

    Parameters
    ----------
    params : PKParameters
    routes : iterable of str
        Routes beyond oral, s.c., i.v. and intrathecal that doses will take (``ip``, local routes): their states
        are added only then, so a system without them is exactly the one it always was.

    Attributes
    ----------
    states : tuple of str
        Names of the state variables (amounts in mg; effect compartments in mg/L).
    A : ndarray of shape (n, n)
        System matrix, 1/min.
    C : ndarray of shape (len(outputs), n)
        Output matrix: concentrations in mg/L.
    outputs : tuple of str
        :data:`OUTPUTS` plus ``periphery_effect``, ``drg_effect``, ``dorsal_horn_effect`` when ``ke0`` is set.
    """

    def __init__(self, params: PKParameters, routes=()):
        p = self.params = params
        routes = set(routes)
        ip = ip_absorption(p) if "ip" in routes else None
        sites = [r for r in LOCAL_ROUTES if r in routes]
        states = []
        if p.f_oral is not None:
            states.append("gut")
        if p.f_sc is not None:
            states.append("sc")
        states.append("central")
        if p.two_compartment:
            states.append("peripheral")
        states.append("csf")
        if p.ke0_per_h is not None:
            states += ["ce_plasma", "ce_csf"]
        if ip is not None and ip[0] == "ip":
            states.append("ip")
        states += [f"site_{r}" for r in sites]
        if p.ke0_per_h is not None:
            states += [f"ce_site_{r}" for r in sites]
        self.states = tuple(states)
        self._ip = ip
        i = {s: k for k, s in enumerate(self.states)}
        n = len(self.states)
        h = 1.0 / MIN_PER_H  # 1/h -> 1/min
        A = np.zeros((n, n))
        c = i["central"]
        k10, v1 = p.cl_l_per_h / p.v1_l * h, p.v1_l
        A[c, c] -= k10
        for depot, ka in (("gut", p.ka_oral_per_h), ("sc", p.ka_sc_per_h)):
            if depot in i:
                A[i[depot], i[depot]] -= ka * h
                A[c, i[depot]] += ka * h
        if "peripheral" in i:
            q, pp = p.q_l_per_h * h, i["peripheral"]
            A[c, c] -= q / v1
            A[c, pp] += q / p.v2_l
            A[pp, c] += q / v1
            A[pp, pp] -= q / p.v2_l
        k_csf = p.csf_flow_l_per_h / p.csf_volume_l * h
        A[i["csf"], i["csf"]] -= k_csf
        A[c, i["csf"]] += k_csf
        fu, vcsf = p.fraction_unbound, p.csf_volume_l
        if "ce_plasma" in i:
            ke0 = p.ke0_per_h * h
            A[i["ce_plasma"], c] += ke0 * fu / v1
            A[i["ce_plasma"], i["ce_plasma"]] -= ke0
            A[i["ce_csf"], i["csf"]] += ke0 / vcsf
            A[i["ce_csf"], i["ce_csf"]] -= ke0
        if "ip" in i:
            A[i["ip"], i["ip"]] -= ip[2] * h
            A[c, i["ip"]] += ip[2] * h
        k_site = site_clearance_per_h(p) * h
        for r in sites:  # over local routes in use: the site empties into plasma
            A[i[f"site_{r}"], i[f"site_{r}"]] -= k_site
            A[c, i[f"site_{r}"]] += k_site
            if p.ke0_per_h is not None:
                ke0 = p.ke0_per_h * h
                A[i[f"ce_site_{r}"], i[f"site_{r}"]] += ke0 * fu / self._site_volume_l(r)
                A[i[f"ce_site_{r}"], i[f"ce_site_{r}"]] -= ke0
        self.A = A

        def row(**coef):
            r = np.zeros(n)
            for s, v in coef.items():
                r[i[s]] = v
            return r

        tp, kp, fd = p.tissue_partition, p.csf_kp_uu, DRG_CSF_FRACTION
        rows = {
            "plasma_total": row(central=1 / v1),
            "plasma_free": row(central=fu / v1),
            "csf": row(central=kp * fu / v1, csf=1 / vcsf),
            "periphery": row(central=tp * fu / v1),
            "drg": row(central=tp * fu / v1, csf=fd / vcsf),
            "dorsal_horn": row(central=kp * fu / v1, csf=1 / vcsf),
        }
        if "ce_plasma" in i:
            rows["periphery_effect"] = row(ce_plasma=tp)
            rows["drg_effect"] = row(ce_plasma=tp, ce_csf=fd)
            rows["dorsal_horn_effect"] = row(ce_plasma=kp, ce_csf=1.0)
        for r in sites:  # the site's free level adds to its kind's exposure (effect-site level for ke0 drugs)
            kind = LOCAL_ROUTES[r].kind
            rows[kind][i[f"site_{r}"]] += fu / self._site_volume_l(r)
            if "ce_plasma" in i:
                rows[f"{kind}_effect"][i[f"ce_site_{r}"]] += 1.0
        self.outputs = tuple(rows)
        self.C = np.stack([rows[o] for o in self.outputs])
        self._index = i
        self._eigen()

    def _eigen(self) -> None:
        lam, V = np.linalg.eig(self.A)
        ok = np.all(np.abs(lam.imag) <= 1e-12 * (1 + np.abs(lam.real))) and np.linalg.cond(V) < _COND_LIMIT
        self.diagonalizable = bool(ok)
        if ok:
            self._lam = lam.real
            self._V = V.real
            self._Vinv = np.linalg.inv(self._V)
            self._CV = self.C @ self._V

    def _site_volume_l(self, route: str) -> float:
        """``V_site`` of a local route in this species, L."""
        return LOCAL_ROUTES[route].volume_ml[self.params.species] * 1e-3

    def input_vector(self, route: str) -> np.ndarray:
        """Unit input (per mg given) into the state a route feeds, bioavailability applied."""
        p = self.params
        if route == "ip" and self._ip is not None:
            state, f = self._ip[0], self._ip[1]
        elif route in LOCAL_ROUTES and f"site_{route}" in self._index:
            state, f = f"site_{route}", 1.0
        elif route not in _ROUTE_STATE:
            raise ConfigError("route", route, f"one of {self.routes} (this system was built for these)")
        else:
            state, f = _ROUTE_STATE[route], {"oral": p.f_oral, "sc": p.f_sc}.get(route, 1.0)
        if state not in self._index:
            raise ConfigError("route", route, f"a route of {p.drug}: one of {self.routes}")
        b = np.zeros(len(self.states))
        b[self._index[state]] = f
        return b

    @property
    def routes(self) -> tuple[str, ...]:
        """Routes doses may take into this system: the catalogued ones, then ``ip`` and local ones it was built
        for."""
        base = tuple(r for r, s in _ROUTE_STATE.items() if s in self._index)
        return base + (("ip",) if self._ip is not None else ()) + tuple(
            r for r in LOCAL_ROUTES if f"site_{r}" in self._index)

    # --- the response to a schedule ------------------------------------------------------------------------
    def simulate(self, times_min, doses: Sequence[Dose]) -> dict[str, np.ndarray]:
        """Concentrations (mg/L) at ``times_min`` after ``doses``, by superposition.

        Parameters
        ----------
        times_min : float or array_like of shape (n_t,)
            Times, min.
        doses : sequence of Dose

        Returns
        -------
        dict[str, ndarray of shape (n_t,)]
            One array per name in :attr:`outputs`, mg/L (>= 0).
        """
        t = np.atleast_1d(np.asarray(times_min, dtype=float)).ravel()
        y = self.states_at(t, doses, project=True)
        return {o: np.maximum(y[k], 0.0) for k, o in enumerate(self.outputs)}

    def states_at(self, times_min, doses: Sequence[Dose], project: bool = False) -> np.ndarray:
        """State amounts (``project=False``, shape (n_states, n_t)) or outputs (shape (n_outputs, n_t))."""
        t = np.atleast_1d(np.asarray(times_min, dtype=float)).ravel()
        n_out = self.C.shape[0] if project else len(self.states)
        out = np.zeros((n_out, t.size))
        if not doses or t.size == 0:
            return out
        td = np.array([d.time_min for d in doses], dtype=float)
        dur = np.array([d.duration_min for d in doses], dtype=float)
        dur = np.where(dur < _BOLUS_MIN, 0.0, dur)  # a sub-nanominute infusion is a bolus (to ~1e-9 relative)
        B = np.stack([self.input_vector(d.route) * d.amount_mg for d in doses])  # (n_d, n)
        chunk = max(1, _CHUNK_ELEMENTS // max(1, td.size * len(self.states)))
        for a in range(0, t.size, chunk):  # over chunks of times, to bound memory
            s = t[a : a + chunk, None] - td[None, :]  # (n_t, n_d), time since each dose started
            if self.diagonalizable:
                out[:, a : a + chunk] = self._eigen_response(s, dur, B, project)
            else:
                out[:, a : a + chunk] = self._expm_response(s, dur, B, project)
        return out

    def _eigen_response(self, s, dur, B, project):
        lam = self._lam  # (m,)
        W = B @ self._Vinv.T  # (n_d, m): V⁻¹ b per dose
        started = s >= 0
        tau = np.clip(s, 0.0, dur[None, :])  # infusion time elapsed
        bolus = (dur == 0)[None, :]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            decay = np.exp(lam * np.where(started, s - tau, 0.0)[..., None])  # (n_t, n_d, m)
            share = np.where(bolus, 1.0, tau / np.where(bolus, 1.0, dur[None, :]))  # τ/T: fraction infused
            infused = share[..., None] * _expm1_over_x(lam * tau[..., None])  # e^{λτ}-1 over λT, stably
        G = np.where(started[..., None], decay * infused, 0.0)
        left = self._CV if project else self._V
        return left @ np.einsum("tdm,dm->mt", G, W)

    def _expm_response(self, s, dur, B, project):
        from scipy.linalg import expm

        n = len(self.states)
        A = self.A
        x = np.zeros((s.shape[0], n))
        for k in range(B.shape[0]):  # over doses: each an exact propagation of its own input
            sk = s[:, k]
            on = sk >= 0
            if not np.any(on):
                continue
            sk = sk[on]
            if dur[k] == 0:
                x[on] += expm(A[None] * sk[:, None, None]) @ B[k]
                continue
            tau = np.minimum(sk, dur[k])
            aug = np.zeros((n + 1, n + 1))  # [[A, b/T], [0, 0]]: top-right block of expm is ∫ e^{Au} b/T du
            aug[:n, :n] = A
            aug[:n, n] = B[k] / dur[k]
            filled = expm(aug[None] * tau[:, None, None])[:, :n, n]
            x[on] += np.einsum("tij,tj->ti", expm(A[None] * (sk - tau)[:, None, None]), filled)
        return (self.C @ x.T) if project else x.T
