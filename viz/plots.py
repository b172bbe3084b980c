"""Small SVG line charts for the live plots: time series, intervention markers, a reference run.

Plain strings, built in well under a millisecond for a few hundred points, so
that drawing stays cheap next to a model step and needs no front-end library
(nothing to fetch for offline use). Each ``<polyline>`` carries its series'
name and last value as ``data-*`` attributes, and each marker its label, so
that a browser test reads what the plot shows rather than a counter.

Examples
--------
>>> svg = line_chart([Series("pain", [0, 1, 2], [1.0, 2.0, 1.5])], title="Pain", y_label="Hz",
...                  markers=[Marker(1.0, "drug")])
>>> 'data-series="pain"' in svg and 'data-label="drug"' in svg
True
>>> nice_ticks(0, 7.3)
[0.0, 2.0, 4.0, 6.0]
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["PALETTE", "Marker", "Series", "line_chart", "nice_ticks"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


@dataclass(frozen=True)
class Series:
    """One line: ``x`` and ``y`` of equal length; ``dash`` for a reference run; ``step`` draws a staircase."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    colour: str | None = None
    dash: bool = False
    step: bool = False


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x`` with a label (an intervention)."""

    x: float
    label: str
    colour: str = "#444"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + 1e-9 * step:
        out.append(float(round(v, 12)))
        v += step
    return out


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.2e}"


def line_chart(series: Sequence[Series], *, title: str, y_label: str, x_label: str = "time (days)",
               markers: Sequence[Marker] = (), width: int = 300, height: int = 210, y_min: float | None = None,
               chart_id: str = "") -> str:  # fmt: skip
    """An SVG line chart.

    Parameters
    ----------
    series : sequence of Series
        NaN values are left out.
    title, y_label, x_label : str
    markers : sequence of Marker
        Vertical lines with labels, e.g. when a drug was given.
    y_min : float, optional
        Lower end of the y axis (default: the data's minimum, or 0 when all data are >= 0).
    chart_id : str
        Put in ``data-chart`` (what the chart shows, for tests).

    The chart is drawn for about ``width`` pixels with 14-px text (15 for the title); it scales with its box.
    """
    left, right, top, bottom = 56, 10, 28, 38
    pw, ph = width - left - right, height - top - bottom
    xs = [np.asarray(s.x, float) for s in series]
    ys = [np.asarray(s.y, float) for s in series]
    finite_x = np.concatenate([x for x in xs if x.size] + [np.asarray([m.x for m in markers], float)]) \
        if (any(x.size for x in xs) or markers) else np.zeros(0)  # fmt: skip
    finite_y = np.concatenate([y[np.isfinite(y)] for y in ys if y.size]) if any(y.size for y in ys) else np.zeros(0)
    x0, x1 = (float(finite_x.min()), float(finite_x.max())) if finite_x.size else (0.0, 1.0)
    if x1 <= x0:
        x1 = x0 + 1.0
    if finite_y.size:
        y0 = float(finite_y.min()) if y_min is None else y_min
        if y_min is None and y0 >= 0:
            y0 = 0.0
        y1 = float(finite_y.max())
    else:
        y0, y1 = 0.0, 1.0
    if y1 <= y0:
        y1 = y0 + (abs(y0) * 0.1 or 1.0)
    y1 += 0.05 * (y1 - y0)

    def px(x):
        return left + (np.asarray(x, float) - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (np.asarray(y, float) - y0) / (y1 - y0) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="na-chart" data-chart="{html.escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" style="width:100%;height:auto;font-family:sans-serif;font-size:14px">',
        f'<text x="4" y="17" font-weight="bold" font-size="15">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>',
    ]
    for t in nice_ticks(y0, y1):  # over a handful of ticks
        yy = float(py(t))
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 4}" y="{yy + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')  # fmt: skip
    for t in nice_ticks(x0, x1, 6):
        xx = float(px(t))
        out.append(f'<text x="{xx:.1f}" y="{top + ph + 15}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<text x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle">{html.escape(x_label)}</text>')
    out.append(f'<text transform="translate(12 {top + ph / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f"{html.escape(y_label)}</text>")  # fmt: skip
    for m in markers:  # over interventions
        xx = float(px(m.x))
        out.append(
            f'<g class="na-marker" data-label="{html.escape(m.label)}" data-x="{m.x:.6g}">'
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{top + ph}" stroke="{m.colour}" stroke-dasharray="4 3"/>'
            f'<text x="{xx + 3:.1f}" y="{top + ph - 4}" fill="{m.colour}" font-size="12">{html.escape(m.label)}</text>'
            f"<title>{html.escape(m.label)} at {m.x:.3g}</title></g>"
        )
    legend_x = left + pw - 4
    for i, (s, x, y) in enumerate(zip(series, xs, ys, strict=True)):  # over a few series
        colour = s.colour or PALETTE[i % len(PALETTE)]
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if s.step and x.size > 1:
            x, y = np.repeat(x, 2)[1:], np.repeat(y, 2)[:-1]
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x).tolist(), py(y).tolist(), strict=True))
        last = f"{y[-1]:.6g}" if y.size else ""
        first = f"{y[0]:.6g}" if y.size else ""
        dash = ' stroke-dasharray="5 4" opacity="0.6"' if s.dash else ""
        out.append(
            f'<polyline class="na-series" data-series="{html.escape(s.name)}" data-n="{y.size}" data-first="{first}" '
            f'data-last="{last}" points="{pts}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}>'
            f"<title>{html.escape(s.name)}</title></polyline>"
        )
        ly = top + 14 + 15 * i
        out.append(f'<text x="{legend_x}" y="{ly}" text-anchor="end" fill="{colour}">{html.escape(s.name)}'
                   f"{' (reference)' if s.dash else ''}</text>")  # fmt: skip
    out.append("</svg>")
    return "".join(out)
