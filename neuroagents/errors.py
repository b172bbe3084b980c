"""Errors a person can act on.

Every error raised for a user's mistake names *where* (file or parameter
path), *what* (the bad value) and *what is allowed*, so that the command line
can print it as one line instead of a traceback.
"""

from __future__ import annotations

__all__ = ["BackendUnavailableError", "ConfigError", "NeuroagentsError", "NumericalError"]


class NeuroagentsError(Exception):
    """Base class of the errors neuroagents raises on purpose."""


class ConfigError(NeuroagentsError, ValueError):
    """A parameter has a value that is not allowed.

    Parameters
    ----------
    key : str
        Dotted path of the parameter, e.g. ``"mediators.TNF.decay_per_min"``.
    value : object
        The value that was given.
    allowed : str
        What would have been accepted, e.g. ``">= 0"`` or ``"one of 'a', 'b'"``.
    where : str, optional
        The file or object the parameter came from.
    """

    def __init__(self, key: str, value: object, allowed: str, where: str | None = None):
        self.key = key
        self.value = value
        self.allowed = allowed
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{key} = {value!r}: must be {allowed}")

    def __reduce__(self):
        """Pickled with its own arguments, so that it crosses to and from worker processes as itself.

        >>> import pickle
        >>> str(pickle.loads(pickle.dumps(ConfigError("seed", -1, ">= 0", "a.toml"))))
        'a.toml: seed = -1: must be >= 0'
        """
        return (type(self), (self.key, self.value, self.allowed, self.where))


class BackendUnavailableError(NeuroagentsError, RuntimeError):
    """The requested array backend cannot run on this machine."""


class NumericalError(NeuroagentsError, FloatingPointError):
    """A field became NaN, infinite or negative."""
