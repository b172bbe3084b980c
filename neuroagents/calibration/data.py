"""Published time courses as a calibration compares them: the model column, the time (min), the mean and the SD.

The files are those of ``validation/data/`` (its README has the format): ``time_h, readout, unit, mean, spread,
spread_kind, n, where, paper``, one row per time point. ``spread_kind`` is ``SD`` or ``SEM``; an SEM becomes an SD
as ``SEM * sqrt(n)``. A calibration compares one simulated animal with the population the mean describes, so its
distance weighs each point by the animals' SD (:func:`neuroagents.calibration.run.distance`).
"""

from __future__ import annotations

import math

from neuroagents.calibration.spec import CalibrationSpec
from neuroagents.errors import ConfigError

__all__ = ["COLUMNS", "observed"]

COLUMNS = ("time_h", "readout", "unit", "mean", "spread", "spread_kind", "n", "where", "paper")
"""The columns of a validation data file."""


def observed(spec: CalibrationSpec):
    """Every ``[[data]]`` file's rows: ``column, time_min, mean, sd, file`` (pandas), means in model units.

    Raises
    ------
    ConfigError
        Naming the calibration file and the data file, when a file is missing, lacks a column, has no rows of
        its ``readout``, or has a spread that is not a positive SD or SEM.
    """
    import pandas as pd

    parts = []
    for i, d in enumerate(spec.data):  # over data files (a few)
        key = f"data[{i}].file"
        if not d.file.is_file():
            raise ConfigError(key, str(d.file), "an existing CSV file (validation/data/README.md)", spec.where)
        try:
            t = pd.read_csv(d.file)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(key, str(d.file), f"a readable CSV file ({exc})", spec.where) from None
        missing = [c for c in COLUMNS if c not in t.columns]
        if missing:
            raise ConfigError(key, str(d.file), f"a CSV with the columns {', '.join(COLUMNS)} (lacks "
                              f"{', '.join(missing)})", spec.where)  # fmt: skip
        if d.readout is not None:
            known = sorted(t["readout"].astype(str).unique())
            t = t[t["readout"] == d.readout]
            if t.empty:
                raise ConfigError(f"data[{i}].readout", d.readout, f"a readout of {d.file.name}: one of "
                                  f"{', '.join(known)}", spec.where)  # fmt: skip
        kinds = set(t["spread_kind"].astype(str))
        if not kinds <= {"SD", "SEM"} or not (t["spread"] > 0).all() or not (t["n"] >= 1).all():
            raise ConfigError(key, str(d.file), "rows whose spread is a positive SD or SEM with n >= 1", spec.where)
        sd = t["spread"].where(t["spread_kind"] == "SD", t["spread"] * t["n"].map(math.sqrt))
        parts.append(pd.DataFrame({"column": d.column, "time_min": d.time_offset_min + 60.0 * t["time_h"],
                                   "mean": t["mean"] * d.scale, "sd": sd * d.scale, "file": d.file.name}))
    return pd.concat(parts, ignore_index=True)
