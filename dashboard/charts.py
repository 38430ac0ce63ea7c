"""Charts as server-rendered SVG: no JavaScript library, nothing loaded from the internet, and
readable on a phone (the SVG scales to the screen width). Every label is escaped."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

PALETTE = (
    "#1f6f8b",
    "#e07a1f",
    "#3c9d4e",
    "#c0392b",
    "#7d5ba6",
    "#8c6d31",
    "#d35d9b",
    "#5f6b73",
    "#17a2b8",
    "#b8a21f",
)
FONT = 'font-family="system-ui, sans-serif"'


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:,.1f}".replace(",", "X").replace(".", ",").replace("X", ".")


def count_ticks(largest: float, most: int = 5) -> List[int]:
    """Axis ticks for counts: whole numbers from 0, a "nice" step (1, 2, 5, 10, 20, 25, 50, ...),
    at most ``most`` steps, the last at or above ``largest`` (never "0,5" or "2,5" tickets)."""
    if largest <= 0:
        return [0, 1]
    magnitude = 1
    while True:
        for base in (1, 2, 2.5, 5):
            step = base * magnitude
            if step != int(step):
                continue
            steps = math.ceil(largest / step)
            if steps <= most:
                return [int(step) * k for k in range(steps + 1)]
        magnitude *= 10


def _y_axis(
    parts: List[str], ticks: Sequence[int], left: int, right: int, width: int, top: int, plot_h: float
) -> None:
    for value in ticks:
        y = top + plot_h - plot_h * value / ticks[-1]
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3e6"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#556">{_fmt(value)}</text>'
        )


def legend(names: Sequence[str]) -> Markup:
    """The series' colours as an HTML list under a chart: it wraps to the width of the screen, so
    long agency names never run into each other on a desktop or a phone."""
    items = "".join(
        f'<li><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" rx="2" '
        f'fill="{PALETTE[j % len(PALETTE)]}"/></svg><span>{escape(name)}</span></li>'
        for j, name in enumerate(names)
    )
    return Markup(f'<ul class="legend">{items}</ul>')


def hbar(
    items: Sequence[Tuple[str, float]],
    *,
    title: str,
    width: int = 440,
    color: str = PALETTE[0],
    unit: str = "",
) -> Markup:
    """Horizontal bars, one per item (categories, states, OPD): long labels stay readable."""
    if not items:
        return Markup(f'<p class="muted">Belum ada data untuk {escape(title.lower())}.</p>')
    row, label_w, pad = 26, 190, 8
    height = row * len(items) + pad * 2
    top = max(v for _, v in items) or 1
    bar_space = width - label_w - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT} font-size="13">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = max(1.0, bar_space * value / top) if value else 0
        short = label if len(label) <= 23 else label[:22] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" fill="#233">{escape(short)}<title>{escape(label)}</title></text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" rx="3" fill="{color}"><title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + w + 5:.1f}" y="{y + 17}" fill="#233">{_fmt(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_columns(
    labels: Sequence[str],
    series: Dict[str, List[float]],
    *,
    title: str,
    width: int = 720,
    height: int = 260,
    max_series: int = 8,
) -> Markup:
    """Columns over time, stacked by series (e.g. category or OPD), with a legend."""
    if not labels or not series or not any(sum(v) for v in series.values()):
        return Markup(f'<p class="muted">Belum ada data untuk {escape(title.lower())}.</p>')
    names = list(series)
    if len(names) > max_series:
        keep = names[: max_series - 1]
        other = [sum(series[n][i] for n in names[max_series - 1 :]) for i in range(len(labels))]
        series = {**{n: series[n] for n in keep}, "Lainnya": other}
        names = list(series)
    left, right, top, bottom = 44, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    ticks = count_ticks(max(totals))
    ymax = ticks[-1]
    step = plot_w / len(labels)
    bar_w = max(2.0, step * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT} font-size="14">',
        f"<title>{escape(title)}</title>",
    ]
    _y_axis(parts, ticks, left, right, width, top, plot_h)
    label_every = max(1, int(len(labels) / 12 + 0.999))
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / ymax
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} · {escape(name)}: {_fmt(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#556">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts)) + legend(names)


def line(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    width: int = 720,
    height: int = 200,
    color: str = PALETTE[2],
) -> Markup:
    """One series over time (e.g. resolved tickets per period)."""
    if not labels or not any(values):
        return Markup(f'<p class="muted">Belum ada data untuk {escape(title.lower())}.</p>')
    left, right, top, bottom = 44, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = count_ticks(max(values))
    ymax = ticks[-1]
    step = plot_w / max(1, len(labels) - 1) if len(labels) > 1 else plot_w
    points = [
        (left + (i * step if len(labels) > 1 else plot_w / 2), top + plot_h - plot_h * v / ymax)
        for i, v in enumerate(values)
    ]
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" {FONT} font-size="14">',
        f"<title>{escape(title)}</title>",
    ]
    _y_axis(parts, ticks, left, right, width, top, plot_h)
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
    label_every = max(1, int(len(labels) / 12 + 0.999))
    for i, ((x, y), label, value) in enumerate(zip(points, labels, values)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>{escape(label)}: {_fmt(value)}</title></circle>'
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#556">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(share: Optional[float], *, title: str, width: int = 320) -> Markup:
    """A single percentage as a bar (overdue share)."""
    if share is None:
        return Markup('<p class="muted">Belum ada data.</p>')
    w = width * share
    color = "#c0392b" if share > 0.2 else ("#e07a1f" if share > 0.1 else "#3c9d4e")
    return Markup(
        f'<svg class="chart small" viewBox="0 0 {width} 22" role="img" aria-label="{escape(title)}" {FONT}>'
        f'<rect x="0" y="0" width="{width}" height="22" rx="4" fill="#e7ecee"/>'
        f'<rect x="0" y="0" width="{w:.1f}" height="22" rx="4" fill="{color}"><title>{escape(title)}: {share * 100:.1f}%</title></rect>'
        "</svg>"
    )
