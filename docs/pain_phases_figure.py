"""Draw docs/img/pain_phases.png from the model (``python docs/pain_phases_figure.py``, a few minutes).

Three runs of built-in scenarios, nothing drawn from stored numbers: 56 days of ``sni`` (transection: the injured
afferents never reinnervate) and of ``sni`` as ``nerve_crush`` (they regrow from day 7), and 28 days of ``cfa``.
Rows: behaviour; what starts pain (microglia, peripheral sensitization); what keeps it (astrocytes, KCC2 loss).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from neuroagents.validation import run

OUT = Path(__file__).parent / "img"
RUNS = {
    "SNI (transection), 56 d": ("sni", ("scenario.duration_days=56",)),
    "nerve crush (regrows), 56 d": ("nerve_crush", ()),
    "CFA in the paw, 28 d": ("cfa", ()),
}
ROWS = (
    ("behaviour", (("withdrawal_threshold_interp_g", "von Frey threshold (g)"),)),
    ("induction", (("n_microglia_reactive_dorsal_horn", "reactive microglia (DH)"),
                   ("mean_sensitization", "peripheral sensitization (0-1)"),
                   ("neuron_mean_firing_hz", "afferent firing (Hz)"))),
    ("maintenance", (("spinal_astrocytes", "reactive astrocytes A"), ("spinal_kcc2_loss", "KCC2 loss K"),
                     ("spinal_disinhibition", "disinhibition d"), ("mean_priming", "priming"))),
)  # fmt: skip


def figure() -> Path:
    runs = {label: run(sc, ov) for label, (sc, ov) in RUNS.items()}
    fig, axes = plt.subplots(len(ROWS), len(runs), figsize=(13, 8.5), sharex="col", squeeze=False)
    for j, (label, t) in enumerate(runs.items()):
        for i, (row, series) in enumerate(ROWS):
            ax = axes[i, j]
            for col, name in series:
                y = t[col]
                if col == "n_microglia_reactive_dorsal_horn":  # counts: as a fraction of their peak, 0-1
                    y = y / max(float(y.max()), 1.0)
                    name = "reactive microglia (DH, / peak)"
                ax.plot(t["day"], y, label=name)
            if row == "behaviour":
                ax.set_yscale("log")
                ax.set_title(label)
            ax.set_ylabel(row)
            ax.legend(fontsize=7, loc="best")
        axes[-1, j].set_xlabel("day")
    fig.suptitle("Induction, maintenance, resolution: the model's state variables (NumPy, seed 1)", fontsize=10)
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    path = OUT / "pain_phases.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(figure())
