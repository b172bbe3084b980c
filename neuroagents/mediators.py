"""The mediator catalogue: what diffuses, how fast, how long it lives.

Each entry carries its diffusion coefficient in tissue (µm²/min), its
first-order decay rate (1/min), its molecular mass (kDa, to convert pg/mL at
the edges) and a source for each number, or the word ``assumption``. Values
flagged M (a value another model chose) or U (unverified) in
``docs/references.md`` are parameters to calibrate, and their
``source`` says so.

Tissue hindrance: where only a free-solution coefficient is known,
D_tissue = D_free / λ² with tortuosity λ = 1.6 (Nicholson 2011; Stroh 2003
Biophys J).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from neuroagents.errors import ConfigError

__all__ = ["CATALOGUE", "TORTUOSITY", "Mediator", "get_mediator", "resolve_mediators"]

TORTUOSITY = 1.6
"""Tissue tortuosity λ (Nicholson 2011 Rep Prog Phys; Stroh 2003 Biophys J)."""

_LN2 = math.log(2.0)


@dataclass(frozen=True)
class Mediator:
    """One diffusing species.

    Parameters
    ----------
    name : str
        Short name used everywhere (``"TNF"``, ``"IL6"``).
    diffusion_um2_per_min : float
        Diffusion coefficient in tissue, µm²/min, >= 0.
    decay_per_min : float
        First-order decay (degradation, clearance, binding), 1/min, >= 0.
    molecular_mass_kda : float
        Molecular mass in kDa, > 0 (converts pg/mL <-> nM).
    units : str
        Concentration unit inside the code (always ``"nM"`` for now).
    sources : Mapping[str, str]
        For each number above, a citation or ``"assumption"``.
    description : str
        One line for people.
    """

    name: str
    diffusion_um2_per_min: float
    decay_per_min: float
    molecular_mass_kda: float
    units: str = "nM"
    sources: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        where = f"mediator {self.name!r}"
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ConfigError("name", self.name, "a name made of letters, digits and '_'", where)
        for key in ("diffusion_um2_per_min", "decay_per_min"):
            v = getattr(self, key)
            if not _is_finite_number(v) or v < 0:
                raise ConfigError(key, v, "a finite number >= 0", where)
        if not _is_finite_number(self.molecular_mass_kda) or self.molecular_mass_kda <= 0:
            raise ConfigError("molecular_mass_kda", self.molecular_mass_kda, "a finite number > 0", where)
        if self.units != "nM":
            raise ConfigError("units", self.units, "'nM' (convert pg/mL at the edges)", where)

    @property
    def half_life_min(self) -> float:
        """Half-life from decay alone, min (inf when decay is 0)."""
        return _LN2 / self.decay_per_min if self.decay_per_min > 0 else math.inf

    @property
    def diffusion_length_um(self) -> float:
        """L = sqrt(D / k), µm: how far the field reaches from a source."""
        return math.sqrt(self.diffusion_um2_per_min / self.decay_per_min) if self.decay_per_min > 0 else math.inf

    def with_overrides(self, **changes) -> Mediator:
        """A copy with some numbers replaced (sources say ``override``)."""
        allowed = {"diffusion_um2_per_min", "decay_per_min", "molecular_mass_kda", "description"}
        for key in changes:
            if key not in allowed:
                raise ConfigError(f"mediators.{self.name}.{key}", changes[key], "one of " + ", ".join(sorted(allowed)))
        sources = dict(self.sources)
        for key in changes:
            sources[key] = "override"
        return replace(self, sources=sources, **changes)


def _is_finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _hl(minutes: float) -> float:
    return _LN2 / minutes


# --- the catalogue ----------------------------------------------------------------------------
# Sources: docs/references.md (flags V, M, U as there).

_PROTEIN_TISSUE_D = 1650.0  # NGF in brain tissue (Stroh 2003, V): used for proteins with no value
_PROTEIN_HALF_LIFE_MIN = 138.0  # NGF rat plasma beta t1/2 2.3 h (Tria 1994, V)
_FAST_AMINE_D = 9400.0  # small solute ~ ATP free 22,000-28,000 / λ² (assumption)

CATALOGUE: dict[str, Mediator] = {
    m.name: m
    for m in [
        Mediator(
            "TNF",
            312.0,
            _hl(19.0),
            17.3,
            sources={
                "diffusion_um2_per_min": "GranSim model value 5.2e-8 cm^2/s (M: calibrate)",
                "decay_per_min": "mouse plasma t1/2 ~19 min (docs/references.md; Ferraiolo 1988) (U for tissue)",
                "molecular_mass_kda": "soluble TNF monomer 17.3 kDa (UniProt P01375 mature chain)",
            },
            description="tumour necrosis factor alpha; NF-kB via TNFR1/2; sensitizes nociceptors",
        ),
        Mediator(
            "IL1B",
            312.0,
            _hl(41.0),
            17.4,
            sources={
                "diffusion_um2_per_min": "assumption: TNF-like (docs/references.md)",
                "decay_per_min": "rat plasma beta t1/2 41 min (Reimers 1991, V)",
                "molecular_mass_kda": "mature IL-1beta 17.4 kDa (UniProt P01584)",
            },
            description="interleukin-1 beta; NF-kB via IL-1R1; not JAK-coupled",
        ),
        Mediator(
            "IL6",
            555.6,
            _hl(60.0),
            21.0,
            sources={
                "diffusion_um2_per_min": "PhysiCell generic pro-inflammatory cytokine (M)",
                "decay_per_min": "model t1/2 60 min (nlisim, M)",
                "molecular_mass_kda": "IL-6 ~21 kDa (UniProt P05231)",
            },
            description="interleukin-6; gp130 -> JAK1/JAK2/TYK2 -> STAT3",
        ),
        Mediator(
            "IL10",
            180.0,
            _hl(180.0),
            18.6,
            sources={
                "diffusion_um2_per_min": "model value 180 (M)",
                "decay_per_min": "human i.v. t1/2 2.3-3.7 h, 3 h taken (Huhn 1996 Blood, V)",
                "molecular_mass_kda": "IL-10 monomer 18.6 kDa (UniProt P22301)",
            },
            description="interleukin-10; anti-inflammatory; JAK1/TYK2 -> STAT3",
        ),
        Mediator(
            "IL17A",
            _PROTEIN_TISSUE_D,
            _hl(_PROTEIN_HALF_LIFE_MIN),
            15.5,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: NGF-like protein (docs/references.md)",
                "molecular_mass_kda": "IL-17A monomer 15.5 kDa (UniProt Q16552)",
            },
            description="interleukin-17A; Th17 cytokine; NF-kB/MAPK; raises TTX-r Na current",
        ),
        Mediator(
            "NGF",
            1650.0,
            _hl(138.0),
            13.5,
            sources={
                "diffusion_um2_per_min": "brain tissue 1650 (free 7560), Stroh 2003 (V)",
                "decay_per_min": "rat plasma beta t1/2 2.3 h (Tria 1994, V)",
                "molecular_mass_kda": "mature NGF monomer 13.5 kDa (UniProt P01138)",
            },
            description="nerve growth factor; TrkA; sensitizes TRPV1",
        ),
        Mediator(
            "PGE2",
            _FAST_AMINE_D,
            _hl(0.5),
            0.3525,
            sources={
                "diffusion_um2_per_min": "assumption: small solute, ATP-like free D / λ²",
                "decay_per_min": "assumption: cleared within seconds to ~1 min locally (U)",
                "molecular_mass_kda": "PGE2 352.5 g/mol",
            },
            description="prostaglandin E2; EP receptors -> PKA; made by COX-2",
        ),
        Mediator(
            "histamine",
            _FAST_AMINE_D,
            _hl(0.5),
            0.1112,
            sources={
                "diffusion_um2_per_min": "assumption: small solute, ATP-like free D / λ²",
                "decay_per_min": "assumption: PGE2-like fast clearance (docs/references.md)",
                "molecular_mass_kda": "histamine 111.15 g/mol",
            },
            description="histamine; mast-cell granule amine; H1 receptors on nociceptors",
        ),
        Mediator(
            "serotonin",
            _FAST_AMINE_D,
            _hl(0.5),
            0.1762,
            sources={
                "diffusion_um2_per_min": "assumption: small solute, ATP-like free D / λ²",
                "decay_per_min": "assumption: PGE2-like fast clearance (docs/references.md)",
                "molecular_mass_kda": "5-HT 176.2 g/mol",
            },
            description="5-hydroxytryptamine; mast-cell granule amine (rodent)",
        ),
        Mediator(
            "CCL2",
            1800.0,
            0.858 / 60.0,
            8.7,
            sources={
                "diffusion_um2_per_min": "in collagen, Leemasawatdigul 2012 (V)",
                "decay_per_min": "binds collagen at 0.858 /h, Leemasawatdigul 2012 (V)",
                "molecular_mass_kda": "mature CCL2 8.7 kDa (UniProt P13500)",
            },
            description="MCP-1; recruits CCR2+ monocytes; released by injured neurons",
        ),
        Mediator(
            "BDNF",
            _PROTEIN_TISSUE_D,
            _hl(_PROTEIN_HALF_LIFE_MIN),
            13.6,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: NGF-like protein (docs/references.md)",
                "molecular_mass_kda": "mature BDNF monomer 13.6 kDa (UniProt P23560)",
            },
            description="brain-derived neurotrophic factor; microglial; TrkB -> KCC2 down",
        ),
        Mediator(
            "ATP",
            9400.0,
            _hl(1.0),
            0.507,
            sources={
                "diffusion_um2_per_min": "free 22,000-28,000 (BBA 1996, V) / λ² = 2.56",
                "decay_per_min": "assumption: ectonucleotidases act in seconds to minutes (U)",
                "molecular_mass_kda": "ATP 507.2 g/mol",
            },
            description="extracellular ATP; P2X4/P2X7/P2Y12 on microglia",
        ),
        Mediator(
            "GMCSF",
            555.6,
            _hl(68.0),
            14.5,
            sources={
                "diffusion_um2_per_min": "assumption: PhysiCell generic cytokine (M)",
                "decay_per_min": "human i.v. beta t1/2 68 min (docs/references.md, V)",
                "molecular_mass_kda": "GM-CSF 14.5 kDa (UniProt P04141)",
            },
            description="granulocyte-macrophage colony-stimulating factor; JAK2 -> STAT5",
        ),
        Mediator(
            "IFNG",
            555.6,
            _hl(68.0),
            17.0,
            sources={
                "diffusion_um2_per_min": "assumption: PhysiCell generic cytokine (M)",
                "decay_per_min": "assumption: generic cytokine t1/2 (GM-CSF-like)",
                "molecular_mass_kda": "IFN-gamma monomer ~17 kDa (UniProt P01579)",
            },
            description="interferon gamma; Th1; JAK1/JAK2 -> STAT1; pro-inflammatory macrophages",
        ),
        Mediator(
            "IL4",
            555.6,
            _hl(68.0),
            15.0,
            sources={
                "diffusion_um2_per_min": "assumption: PhysiCell generic cytokine (M)",
                "decay_per_min": "assumption: generic cytokine t1/2",
                "molecular_mass_kda": "IL-4 ~15 kDa (UniProt P05112)",
            },
            description="interleukin-4; JAK1 + JAK3/TYK2 -> STAT6; anti-inflammatory macrophages",
        ),
        Mediator(
            "IL13",
            555.6,
            _hl(68.0),
            12.3,
            sources={
                "diffusion_um2_per_min": "assumption: PhysiCell generic cytokine (M)",
                "decay_per_min": "assumption: generic cytokine t1/2",
                "molecular_mass_kda": "IL-13 ~12.3 kDa (UniProt P35225)",
            },
            description="interleukin-13; JAK1/TYK2 -> STAT6; anti-inflammatory macrophages",
        ),
        Mediator(
            "IL23",
            _PROTEIN_TISSUE_D,
            _hl(_PROTEIN_HALF_LIFE_MIN),
            60.0,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: NGF-like protein (docs/references.md)",
                "molecular_mass_kda": "IL-23 p19/p40 heterodimer ~60 kDa",
            },
            description="interleukin-23; JAK2/TYK2 -> STAT3; drives Th17 cells",
        ),
        Mediator(
            "CSF1",
            _PROTEIN_TISSUE_D,
            _hl(_PROTEIN_HALF_LIFE_MIN),
            60.0,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: NGF-like protein (docs/references.md)",
                "molecular_mass_kda": "assumption: soluble CSF-1 glycoprotein dimer ~60 kDa",
            },
            description="colony-stimulating factor 1; from injured sensory neurons; CSF1R on microglia",
        ),
        Mediator(
            "CX3CL1",
            _PROTEIN_TISSUE_D,
            _hl(_PROTEIN_HALF_LIFE_MIN),
            85.0,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: NGF-like protein (docs/references.md)",
                "molecular_mass_kda": "assumption: shed fractalkine chemokine domain + mucin stalk ~85 kDa",
            },
            description="fractalkine; neuronal; CX3CR1 on microglia and monocytes",
        ),
        Mediator(
            "SP",
            7000.0,
            _hl(2.0),
            1.348,
            sources={
                "diffusion_um2_per_min": "assumption: ~1.3 kDa peptide, free ~18,000 / λ²",
                "decay_per_min": "assumption: neprilysin cleaves within minutes",
                "molecular_mass_kda": "substance P 1347.6 g/mol",
            },
            description="substance P; released by peptidergic nociceptor terminals; NK1R, MRGPRX2 on mast cells",
        ),
        Mediator(
            "opioid",
            5100.0,
            _hl(20.0),
            3.465,
            sources={
                "diffusion_um2_per_min": "assumption: 3.5 kDa peptide, free ~13,000 (substance P's ~18,000 scaled by "
                "mass^-1/3, Stokes-Einstein) / λ²",
                "decay_per_min": "assumption: aminopeptidase N and neutral endopeptidase in inflamed tissue degrade "
                "opioid peptides within minutes to tens of minutes (Schreiter 2012 FASEB J 26:5161, U for the time)",
                "molecular_mass_kda": "β-endorphin 3465 g/mol (31 amino acids)",
            },
            description="opioid peptides of immune cells (β-endorphin, Met-enkephalin) on the μ/δ receptors of "
            "nociceptor terminals (Stein & Machelska 2011 Pharmacol Rev 63:860)",
        ),
        Mediator(
            "bradykinin",
            7000.0,
            _hl(1.0),
            1.06,
            sources={
                "diffusion_um2_per_min": "assumption: ~1.1 kDa peptide, as substance P (free ~18,000 / λ²)",
                "decay_per_min": "assumption: kininases (ACE/kininase II, aminopeptidase P, neprilysin) cut it within "
                "seconds in plasma and within about a minute in tissue (U)",
                "molecular_mass_kda": "bradykinin 1060 g/mol (9 amino acids)",
            },
            description="bradykinin; cut from leaked plasma kininogen where venules leak and an injected agent "
            "activates prekallikrein (neuroagents/kinins.py); B2 receptors on nociceptors",
        ),
        Mediator(
            "CGRP",
            5000.0,
            _hl(7.0),
            3.79,
            sources={
                "diffusion_um2_per_min": "assumption: ~3.8 kDa peptide, free ~13,000 / λ²",
                "decay_per_min": "assumption: plasma t1/2 ~7 min (U)",
                "molecular_mass_kda": "alpha-CGRP 3789 g/mol",
            },
            description="calcitonin gene-related peptide; neurogenic inflammation",
        ),
        Mediator(
            "tryptase",
            300.0,
            _hl(600.0),
            135.0,
            sources={
                "diffusion_um2_per_min": "assumption: large tetramer, heparin-bound",
                "decay_per_min": "assumption: stable for hours in tissue",
                "molecular_mass_kda": "beta-tryptase tetramer ~135 kDa",
            },
            description="mast-cell tryptase; PAR2 on nociceptors",
        ),
        Mediator(
            "elastase",
            _PROTEIN_TISSUE_D,
            _hl(5.0),
            29.5,
            sources={
                "diffusion_um2_per_min": "assumption: NGF-like protein (docs/references.md)",
                "decay_per_min": "assumption: fast inactivation by alpha1-antitrypsin/serpinA3N",
                "molecular_mass_kda": "leukocyte elastase 29.5 kDa (UniProt P08246)",
            },
            description="leukocyte elastase from T cells in the DRG after nerve injury (Vicuna 2015 Nat Med)",
        ),
        Mediator(
            "miR21",
            154.0,
            _hl(60.0),
            3.5e5,
            sources={
                "diffusion_um2_per_min": "assumption: 100 nm vesicle, Stokes-Einstein 395 µm²/min in water / λ²",
                "decay_per_min": "assumption: uptake and clearance within about an hour",
                "molecular_mass_kda": "derived: 100-nm vesicle at 1.1 g/mL ≈ 3.5e8 g/mol (nM of vesicles)",
            },
            description="exosomes carrying miR-21 from injured DRG neurons (Simeoli 2017 Nat Commun)",
        ),
        Mediator(
            "PAMP",
            60.0,
            _hl(240.0),
            500.0,
            sources={
                "diffusion_um2_per_min": "assumption: a large polysaccharide/particulate agonist, 1 µm²/s",
                "decay_per_min": "assumption: lymphatic and phagocytic clearance, half-life 4 h (calibrated to "
                "carrageenan resolving within ~48 h)",
                "molecular_mass_kda": "nominal: λ-carrageenan is a 200-800 kDa polymer (U); the unit of dose",
            },
            description="injected pattern-recognition agonist (carrageenan, CFA mycobacteria): TLR4/TLR2 -> NF-κB",
        ),
    ]
}


def get_mediator(name: str) -> Mediator:
    """Look up a catalogue entry by name, with a helpful error."""
    try:
        return CATALOGUE[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, CATALOGUE, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ConfigError("mediator", name, "a catalogue name: " + ", ".join(sorted(CATALOGUE)) + hint) from None


def resolve_mediators(items: Iterable[str | Mediator]) -> tuple[Mediator, ...]:
    """Turn names and/or :class:`Mediator` objects into a tuple of mediators.

    Raises
    ------
    ConfigError
        On an unknown name, an empty list or a duplicate.
    """
    out = tuple(m if isinstance(m, Mediator) else get_mediator(m) for m in items)
    if not out:
        raise ConfigError("mediators", [], "a non-empty list of mediators")
    names = [m.name for m in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError("mediators", names, f"names without duplicates (repeated: {', '.join(dupes)})")
    return out
