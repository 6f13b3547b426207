"""Server-side SVG charts: inline, accessible (role="img", <title>, <desc>, aria-labelledby), no
JavaScript, no external service. Every label is escaped; the numbers are also given as text so the
chart reads without images (the templates add a data table beside each chart).
"""

import itertools
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#1f5fbf", "#2e8540", "#b7791f", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d35400"]
_ids = itertools.count(1)


def _nice_max(value: int) -> int:
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def _open(chart_id: str, title: str, description: str, width: int, height: int, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" id="{chart_id}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" aria-label="{escape(title)}" '
        f'data-chart="{css_class}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]


def column_chart(*, title: str, series: list[tuple[str, int]], label_every: int = 5, height: int = 220,
                 css_class: str = "chart-columns") -> SafeString:
    """Vertical bars over a category axis (days): activations per day."""
    chart_id = f"chart-{next(_ids)}"
    width = 900
    left, right, top, bottom = 36, 10, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, v in series), default=0))
    total = sum(v for _, v in series)
    description = f"{total} in total. " + ", ".join(f"{label}: {value}" for label, value in series if value) \
        if total else "No data in this period."
    parts = _open(chart_id, title, description, width, height, css_class)
    steps = top_value if top_value <= 5 else (4 if top_value % 4 == 0 else 5)
    for i in range(steps + 1):
        value = round(top_value * i / steps)
        y = top + plot_h - plot_h * i / steps
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e8ef"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6776">'
                     f'{value:g}</text>')
    n = max(len(series), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.7, 1)
    for index, (label, value) in enumerate(series):
        x = left + slot * index + (slot - bar_w) / 2
        h = plot_h * value / top_value if top_value else 0
        y = top + plot_h - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{escape(label)}: {value}</title></rect>')
        if index % label_every == 0 or index == len(series) - 1:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11" fill="#5b6776">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#9aa5b1"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated label is escaped above


def bar_chart(*, title: str, series: list[tuple[str, int]], css_class: str = "chart-bars") -> SafeString:
    """Horizontal bars with their label and value: assignments by type, top roles by holders."""
    chart_id = f"chart-{next(_ids)}"
    width, row_h, label_w, value_w = 520, 30, 200, 50
    height = max(len(series), 1) * row_h + 12
    top_value = max((v for _, v in series), default=0) or 1
    description = ", ".join(f"{label}: {value}" for label, value in series) or "No data."
    parts = _open(chart_id, title, description, width, height, css_class)
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2 + 4}" text-anchor="middle" font-size="13" '
                     f'fill="#5b6776">No data</text>')
    plot_w = width - label_w - value_w
    for index, (label, value) in enumerate(series):
        y = 6 + index * row_h
        w = plot_w * value / top_value
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#1d2733">{escape(shown)}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
                     f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(label)}: {value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + row_h / 2 + 4:.1f}" font-size="12" '
                     f'fill="#1d2733">{value}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every interpolated label is escaped above
