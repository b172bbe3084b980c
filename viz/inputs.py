"""Numbers typed on the page, parsed and checked here: a bad value is a one-line message, never a traceback.

Every numeric field of the dashboard is a text field whose text goes through :func:`parse_number` when it is
used (Give now, Run to day, the colour scale). Empty text, ``nan``, ``inf``, words, values out of range and
fractions where a whole number is needed all raise :class:`~neuroagents.errors.ConfigError` naming the field,
and the caller shows that line and changes nothing.

Examples
--------
>>> parse_number("dose (mg/kg)", " 2.5 ", low=0.0, high=1000.0, low_open=True)
2.5
>>> parse_number("doses", "3", low=1, high=1000, integer=True)
3
>>> parse_number("dose (mg/kg)", "nan", low=0.0, high=1000.0)
Traceback (most recent call last):
...
neuroagents.errors.ConfigError: dose (mg/kg) = 'nan': must be a finite number in [0, 1000]
>>> parse_number("doses", "2.5", low=1, high=1000, integer=True)
Traceback (most recent call last):
...
neuroagents.errors.ConfigError: doses = '2.5': must be a whole number in [1, 1000]
"""

from __future__ import annotations

import math

from neuroagents.errors import ConfigError

__all__ = ["NumberField", "parse_number"]


def _allowed(low: float, high: float, integer: bool, low_open: bool) -> str:
    kind = "a whole number" if integer else "a finite number"
    return f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}]"


def parse_number(key: str, text, *, low: float, high: float, integer: bool = False, low_open: bool = False):
    """``text`` as a number in ``[low, high]`` (``(low, high]`` with ``low_open``), else a one-line ConfigError.

    Parameters
    ----------
    key : str
        The field's label, named in the message.
    text : str or number
        What was typed.
    low, high : float
        The range allowed (a sanity range: beyond it a value is a typo, not a protocol).
    integer : bool
        Whole numbers only (``"3"`` and ``"3.0"`` are 3).
    low_open : bool
        Exclude ``low`` itself (e.g. a dose must be > 0).

    Returns
    -------
    float or int
    """
    allowed = _allowed(low, high, integer, low_open)
    if isinstance(text, bool):
        raise ConfigError(key, text, allowed)
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise ConfigError(key, str(text), allowed) from None
    bad_low = value <= low if low_open else value < low
    if not math.isfinite(value) or bad_low or value > high:
        raise ConfigError(key, str(text), allowed)
    if integer:
        if value != int(value):
            raise ConfigError(key, str(text), allowed)
        return int(value)
    return value


class NumberField:
    """A numeric field's key, range and kind, so the page can parse it and say what it takes.

    >>> NumberField("every (h)", 0.0, 720.0, low_open=True).parse("12")
    12.0
    >>> NumberField("every (h)", 0.0, 720.0, low_open=True).hint
    'a finite number in (0, 720]'
    """

    def __init__(self, key: str, low: float, high: float, *, integer: bool = False, low_open: bool = False):
        self.key, self.low, self.high, self.integer, self.low_open = key, low, high, integer, low_open

    @property
    def hint(self) -> str:
        """What the field takes, in words."""
        return _allowed(self.low, self.high, self.integer, self.low_open)

    def parse(self, text):
        """``text`` as this field's number (see :func:`parse_number`)."""
        return parse_number(self.key, text, low=self.low, high=self.high, integer=self.integer,
                            low_open=self.low_open)  # fmt: skip
