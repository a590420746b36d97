"""Inline SVG charts drawn by hand (the report must work offline: no chart library, no CDN).

Each function returns an <svg> element as a string; every text is HTML-escaped here.
Colours are CSS variables from report.css, so a chart and its legend always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def legend(segments: Sequence[tuple[str, str]]) -> str:
    """segments: (css colour name, label)."""
    items = "".join(f'<span style="--swatch: var(--{key})">{escape(label)}</span>' for key, label in segments)
    return f'<div class="legend">{items}</div>'


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    segments: Sequence[tuple[str, str]],
    width: int = 760,
    label_width: int = 220,
    as_share: bool = True,
) -> str:
    """One horizontal bar per row, split into segments (keys of the dict, in `segments` order).

    as_share: every bar spans the full width (shares of its total); else bars scale to the largest total.
    """
    bar_h, gap = 20, 8
    height = len(rows) * (bar_h + gap) + 4
    plot = width - label_width - 70
    largest = max((sum(values.values()) for _, values in rows), default=0) or 1
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, values) in enumerate(rows):
        y = i * (bar_h + gap) + 2
        total = sum(values.get(key, 0) for key, _ in segments)
        scale = plot / (total if as_share else largest) if total else 0
        parts.append(f'<text x="{label_width - 8}" y="{y + 14}" text-anchor="end">{escape(_clip(label, 34))}</text>')
        x = float(label_width)
        for key, name in segments:
            value = values.get(key, 0)
            if not value:
                continue
            w = value * scale
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" style="fill: var(--{key})">'
                f"<title>{escape(label)}: {escape(name)} {_fmt(value)}</title></rect>"
            )
            x += w
        tail = f"{_fmt(total)}" if not as_share else f"{_fmt(total)} total"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}" class="muted">{escape(tail)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    points: Sequence[tuple[str, float]],
    width: int = 760,
    height: int = 220,
    colour: str = "bar",
    colours: dict[str, str] | None = None,
) -> str:
    """Vertical bars with their value on top and the label below; colours maps a label to a colour name."""
    top, bottom, left = 20, 36, 10
    plot_h = height - top - bottom
    n = max(len(points), 1)
    slot = (width - left * 2) / n
    bar_w = min(60.0, slot * 0.7)
    largest = max((v for _, v in points), default=0) or 1
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    parts.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}"/>')
    for i, (label, value) in enumerate(points):
        h = plot_h * value / largest
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        fill = (colours or {}).get(label, colour)
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" style="fill: var(--{fill})">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
        )
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{_fmt(value)}</text>')
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="muted">'
            f"{escape(_clip(label, 12))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def share_bars(rows: Sequence[tuple[str, float, str]], width: int = 760, label_width: int = 330) -> str:
    """Horizontal bars of a share (0..1) with a note after each: (label, share, note)."""
    bar_h, gap = 18, 10
    height = len(rows) * (bar_h + gap) + 4
    plot = width - label_width - 230
    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, share, note) in enumerate(rows):
        y = i * (bar_h + gap) + 2
        w = max(plot * (share or 0), 1)
        parts.append(f'<text x="{label_width - 8}" y="{y + 13}" text-anchor="end">{escape(_clip(label, 48))}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{plot}" height="{bar_h}" style="fill: var(--bg)"/>')
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_h}" style="fill: var(--overdue)">'
            f"<title>{escape(label)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_width + plot + 8}" y="{y + 13}">{(share or 0) * 100:.0f}%'
            f'<tspan class="muted"> {escape(_clip(note, 30))}</tspan></text>'
        )
    parts.append("</svg>")
    return "".join(parts)
