"""Runs drawn from a posterior: ``neuroagents run SCENARIO --posterior posterior.parquet --replicates N``.

A posterior is a calibration's ``posterior.parquet``: one column per calibrated scenario key and ``weight``
(:mod:`neuroagents.calibration.outputs`). Replicate ``k`` takes one particle, drawn by weight from its own stream
(``numpy.random.SeedSequence([seed, k, crc32("posterior")])``, with ``seed`` the replicates' first seed), so
replicate ``k`` is the same whatever the number of replicates. Its run has that particle's values and seed
``seed + k``, and equals that scenario run alone. The spread of the replicates' readouts is then the prediction's
credible band: parameter uncertainty and the model's own noise together.

Examples
--------
>>> import pandas as pd
>>> post = pd.DataFrame({"pain.gain_na_weight": [1.0, 2.0], "weight": [0.0, 1.0]})
>>> posterior_draws(post, 3, seed=5)
[{'pain.gain_na_weight': 2.0}, {'pain.gain_na_weight': 2.0}, {'pain.gain_na_weight': 2.0}]
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from neuroagents.errors import ConfigError

__all__ = ["load_posterior", "posterior_draws"]


def load_posterior(path, key: str = "--posterior", where: str | None = None):
    """A posterior file (pandas): its key columns and ``weight``, checked.

    Parameters
    ----------
    path : str or Path
    key, where : str
        What names the file in an error (the option, or a file's key and the file).

    Raises
    ------
    ConfigError
        Naming ``key`` and the file, when it is missing, unreadable, lacks ``weight`` or a key column, or has weights
        that are not finite, >= 0, with a positive sum.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigError(key, str(path), "an existing posterior file (posterior.parquet of a calibration)", where)
    try:
        post = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(key, str(path), f"a readable Parquet file ({exc})", where) from None
    keys = [c for c in post.columns if c not in ("weight", "distance")]
    w = post["weight"].to_numpy(float) if "weight" in post else None
    if w is None or not keys or len(post) == 0:
        raise ConfigError(key, str(path), "a table of particles: one column per scenario key and a weight "
                          "column, as neuroagents calibrate writes", where)  # fmt: skip
    if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
        raise ConfigError(key, str(path), "weights that are finite, >= 0 and not all 0", where)
    return post[[*keys, "weight"]]


def posterior_draws(post, n: int, seed: int) -> list[dict]:
    """``n`` particles' values (``{key: value}``), replicate ``k``'s drawn by weight from its own stream."""
    w = post["weight"].to_numpy(float)
    p = w / w.sum()
    keys = [c for c in post.columns if c != "weight"]
    values = post[keys].to_numpy(float)
    out = []
    for k in range(n):  # over replicates: one draw each
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), k, zlib.crc32(b"posterior")]))
        i = int(rng.choice(len(p), p=p))
        out.append({key: float(values[i, j]) for j, key in enumerate(keys)})
    return out
