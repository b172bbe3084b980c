"""Output directories: one rule for every command that writes a run's files.

Examples
--------
>>> import pathlib, tempfile
>>> out = pathlib.Path(tempfile.mkdtemp()) / "new"
>>> check_out_dir(out) == out
True
"""

from __future__ import annotations

from pathlib import Path

from neuroagents.errors import ConfigError

__all__ = ["check_out_dir"]


def check_out_dir(out_dir, *, force: bool = False) -> Path:
    """Refuse to write into a directory that already holds files, unless ``force``.

    Parameters
    ----------
    out_dir : str or Path
    force : bool
        Write over existing outputs (other files in the directory are left alone).

    Returns
    -------
    Path

    Raises
    ------
    ConfigError
        When ``out_dir`` is a file, or a directory with entries and ``force`` is false.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError("out_dir", str(path), "a directory (this is a file)")
    if path.is_dir() and not force:
        n = sum(1 for _ in path.iterdir())
        if n:
            raise ConfigError(
                "out_dir", str(path), f"a new or empty directory (it holds {n} entries); pass --force to write over it"
            )
    return path
