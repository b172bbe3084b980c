"""What a calibration writes: the posterior, the generations, a corner plot, a posterior-predictive check, and a
scenario file at the posterior medians.

* ``posterior.parquet`` — the last generation's particles: one column per calibrated key, ``weight`` (they sum
  to 1), ``distance``;
* ``generations.parquet`` — per generation: ``t``, ``epsilon``, ``particles``, ``samples`` (runs made),
  ``acceptance`` (particles / samples);
* ``corner.png`` — each key's weighted posterior histogram against its prior range, and each pair's particles;
* ``predictive.png`` — ``predictive_draws`` particles resampled by weight (seeded) run again with new seeds: their
  median and 5–95 % band of each data column over time, with the data's means and SDs;
* ``posterior.toml`` — a scenario file whose base is the calibrated scenario, with the fixed overrides and each key
  at its weighted posterior median (``neuroagents run runs/calibrations/<name>/posterior.toml``);
* ``summary.json`` — per key: the prior, the weighted median and the 90 % credible interval.
"""

from __future__ import annotations

import tomllib
import zlib
from pathlib import Path

import numpy as np

from neuroagents.batch.design import toml_literal
from neuroagents.recording import atomic_write, write_json

__all__ = ["posterior_toml", "weighted_quantile", "write_outputs"]


def weighted_quantile(x, w, q) -> np.ndarray:
    """Quantiles ``q`` of values ``x`` with weights ``w`` (the weighted empirical distribution, interpolated).

    Examples
    --------
    >>> weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.5]).tolist()
    [2.0]
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.asarray(q, dtype=float), cdf, x)


def _nest(pairs: list[tuple[str, object]]) -> tuple[dict, list[str]]:
    """Dotted keys into nested tables; keys with an array index are returned apart (they need --set)."""
    from neuroagents.scenario import parse_key

    root: dict = {}
    apart = []
    for key, value in pairs:  # over overrides: a few
        path = parse_key(key)
        if any(isinstance(p, int) for p in path):
            apart.append(f"{key}={toml_literal(value)}")
            continue
        node = root
        for part in path[:-1]:  # over tables
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return root, apart


def _write_tables(node: dict, prefix: str, lines: list[str]) -> None:
    scalars = {k: v for k, v in node.items() if not isinstance(v, dict)}
    if scalars and prefix:
        lines.append(f"\n[{prefix}]")
    for k, v in scalars.items():  # over this table's values
        lines.append(f"{k} = {toml_literal(v)}")
    for k, v in node.items():  # over sub-tables
        if isinstance(v, dict):
            _write_tables(v, f"{prefix}.{k}" if prefix else k, lines)


def posterior_toml(spec, medians: dict) -> str:
    """A scenario file: the calibrated scenario as its base, the fixed overrides, each key at its median."""
    pairs = []
    for s in spec.set:  # over fixed overrides: KEY=VALUE with a TOML value
        key, _, text = s.partition("=")
        pairs.append((key.strip(), tomllib.loads(f"v = {text.strip()}")["v"]))
    pairs += list(medians.items())
    nested, apart = _nest(pairs)
    scenario = nested.setdefault("scenario", {})
    scenario["name"] = f"{spec.name}_posterior"
    scenario["description"] = f"{spec.scenario} at the posterior medians of calibration {spec.name}"
    base = spec.scenario if "/" not in spec.scenario and not spec.scenario.endswith(".toml") else spec.scenario_path
    lines = [f"# Written by neuroagents calibrate ({spec.name}): {spec.scenario} with its fixed overrides and each "
             "calibrated key at its weighted posterior median.", f"base = {toml_literal(base)}"]  # fmt: skip
    if apart:
        lines.append("# keys with an array index, to give with --set: " + " ".join(apart))
    _write_tables(nested, "", lines)
    return "\n".join(lines) + "\n"


def _draw_corner(post, spec, path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = spec.keys
    k = len(keys)
    fig = Figure(figsize=(2.4 * k + 0.6, 2.4 * k + 0.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(k, k, squeeze=False)
    w = post["weight"].to_numpy()
    for i, ki in enumerate(keys):  # over rows
        for j, kj in enumerate(keys):  # over columns
            ax = axes[i, j]
            pi, pj = spec.priors[i], spec.priors[j]
            log_i, log_j = pi.distribution == "loguniform", pj.distribution == "loguniform"
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                bins = np.geomspace(pi.min, pi.max, 25) if log_i else np.linspace(pi.min, pi.max, 25)
                ax.hist(post[ki], bins=bins, weights=w, color="C0")
                ax.set_xscale("log" if log_i else "linear")
                ax.set_yticks([])
            else:
                ax.scatter(post[kj], post[ki], s=6, alpha=0.5, c=w, cmap="viridis")
                ax.set_xlim(pj.min, pj.max)
                ax.set_ylim(pi.min, pi.max)
                ax.set_xscale("log" if log_j else "linear")
                ax.set_yscale("log" if log_i else "linear")
            if i == k - 1:
                ax.set_xlabel(f"{kj} ({pj.unit})", fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(f"{ki} ({pi.unit})", fontsize=7)
    fig.suptitle(f"calibration {spec.name}: posterior ({len(post)} particles, axes = prior ranges)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")


def _draw_predictive(tables, obs, spec, path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = list(dict.fromkeys(obs["column"]))
    fig = Figure(figsize=(6.5, 2.6 * len(columns)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(columns), 1, squeeze=False)[:, 0]
    for ax, c in zip(axes, columns, strict=True):  # over data columns
        if tables:
            t = tables[0]["time_min"].to_numpy(float) / 60.0
            ys = np.vstack([tb[c].to_numpy(float) for tb in tables])
            lo, mid, hi = np.nanquantile(ys, [0.05, 0.5, 0.95], axis=0)
            ax.fill_between(t, lo, hi, alpha=0.3, label=f"posterior predictive 5-95 % ({len(tables)} runs)")
            ax.plot(t, mid, label="median")
        d = obs[obs["column"] == c]
        ax.errorbar(d["time_min"] / 60.0, d["mean"], yerr=d["sd"], fmt="o", color="k", capsize=3,
                    label="data: mean ± SD")  # fmt: skip
        ax.set_ylabel(c)
        ax.set_xlabel("h")
        ax.legend(fontsize=7)
    axes[0].set_title(f"calibration {spec.name}: posterior predictive against the data", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")


def write_outputs(out: Path, spec, history, model, obs, names: dict) -> tuple[object, dict]:
    """Write everything listed in the module docstring; the posterior (pandas) and ``{what: path}``."""
    import pandas as pd

    df, w = history.get_distribution(m=0, t=history.max_t)
    post = pd.DataFrame({key: df[name].to_numpy(float) for name, key in names.items()})
    post["weight"] = np.asarray(w, dtype=float)
    dist = history.get_weighted_distances(t=history.max_t)
    post["distance"] = dist["distance"].to_numpy(float) if len(dist) == len(post) else np.nan
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    gens = pd.DataFrame({"t": pops["t"].to_numpy(int), "epsilon": pops["epsilon"].to_numpy(float),
                         "particles": pops["particles"].to_numpy(int), "samples": pops["samples"].to_numpy(int)})
    gens["acceptance"] = gens["particles"] / gens["samples"]
    summary, medians = {}, {}
    for p in spec.priors:  # over calibrated keys
        q05, q50, q95 = weighted_quantile(post[p.key], post["weight"], [0.05, 0.5, 0.95])
        medians[p.key] = float(q50)
        summary[p.key] = {"prior": [p.distribution, p.min, p.max], "unit": p.unit, "source": p.source,
                          "median": float(q50), "ci90": [float(q05), float(q95)]}  # fmt: skip
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, zlib.crc32(b"predictive")]))
    picks = rng.choice(len(post), size=spec.predictive_draws, p=post["weight"] / post["weight"].sum()) if \
        spec.predictive_draws else []  # fmt: skip
    tables = []
    for i in picks:  # over predictive draws: a run each
        values = {p.key: float(post.loc[i, p.key]) for p in spec.priors}
        table = model.run(values, int(rng.integers(0, 2**31 - 1)))
        if table is not None:
            tables.append(table)
    files = {"posterior": out / "posterior.parquet", "generations": out / "generations.parquet",
             "corner": out / "corner.png", "predictive": out / "predictive.png", "scenario": out / "posterior.toml",
             "summary": out / "summary.json"}  # fmt: skip
    for what, table in (("posterior", post), ("generations", gens)):  # over the two tables
        with atomic_write(files[what]) as tmp:
            table.to_parquet(tmp, index=False)
    with atomic_write(files["corner"]) as tmp:
        _draw_corner(post, spec, tmp)
    with atomic_write(files["predictive"]) as tmp:
        _draw_predictive(tables, obs, spec, tmp)
    with atomic_write(files["scenario"]) as tmp:
        tmp.write_text(posterior_toml(spec, medians), encoding="utf-8")
    write_json(files["summary"], {"generations": int(history.max_t + 1), "simulations":
                                  int(history.total_nr_simulations), "keys": summary})  # fmt: skip
    return post, files
