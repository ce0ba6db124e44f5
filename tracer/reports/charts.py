"""Server-side SVG charts for the référent's pages and COPIL slides.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by a
``<desc>`` that states the figures in words; the page puts the same figures in a
data table beside it (the chart is never the only way to read them). No script,
no external resource: the page's strict CSP holds, and the SVG saves as a file.
Colours are DSFR's (bleu France, rouge Marianne) on white, text in #161616.
"""

from __future__ import annotations

from html import escape

BLUE = "#000091"
RED = "#c9191e"  # rouge Marianne 425: 5.6:1 on white, readable as text
GREY = "#666666"
LIGHT = "#dddddd"
TEXT = "#161616"
ACCENT = "#6a6af4"  # second series (suggestions)
FONT = "font-family='Marianne, Arial, sans-serif' font-size='12'"


def number_fr(value, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:.2f}".replace(".", ",") if isinstance(value, float) else str(value)
    return text + unit


def _open(ident: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='tracer-chart' id='{escape(ident)}' role='img' "
        f"viewBox='0 0 {width} {height}' width='100%' "
        f"aria-labelledby='{escape(ident)}-titre {escape(ident)}-desc'>",
        f"<title id='{escape(ident)}-titre'>{escape(title)}</title>",
        f"<desc id='{escape(ident)}-desc'>{escape(desc)}</desc>",
        f"<rect width='{width}' height='{height}' fill='#ffffff'/>",
    ]


def rate_line(ident: str, series: list[tuple[str, float | None]], target: float = 80.0,
              title: str = "Taux de réponse dans les délais, par mois") -> str:
    """The monthly rate on time (%) against the target line; a month with no rate breaks the line."""
    width, height, left, right, top, bottom = 640, 300, 48, 20, 20, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(series), 1)
    step = plot_w / n

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100)

    described = "; ".join(f"{m} : {number_fr(v, ' %')}" for m, v in series) or "aucune donnée"
    out = _open(ident, width, height, title, f"Objectif {number_fr(target, ' %')}. {described}.")
    for tick in range(0, 101, 20):
        out.append(f"<line x1='{left}' x2='{width - right}' y1='{y(tick):.1f}' y2='{y(tick):.1f}' stroke='{LIGHT}'/>")
        out.append(f"<text x='{left - 6}' y='{y(tick) + 4:.1f}' text-anchor='end' {FONT} fill='{TEXT}'>{tick} %</text>")
    out.append(f"<line x1='{left}' x2='{width - right}' y1='{y(target):.1f}' y2='{y(target):.1f}' stroke='{RED}' "
               f"stroke-width='2' stroke-dasharray='6 4'/>")
    out.append(f"<text x='{width - right}' y='{y(target) - 6:.1f}' text-anchor='end' {FONT} fill='{RED}'>"
               f"Objectif {number_fr(target, ' %')}</text>")
    segment: list[str] = []
    segments = []
    for i, (_, v) in enumerate(series):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for points in segments:
        out.append(f"<polyline points='{' '.join(points)}' fill='none' stroke='{BLUE}' stroke-width='2.5'/>")
    for i, (month, v) in enumerate(series):
        if v is not None:
            colour = BLUE if v >= target else RED
            out.append(f"<circle cx='{x(i):.1f}' cy='{y(v):.1f}' r='4' fill='{colour}'/>")
            out.append(f"<text x='{x(i):.1f}' y='{y(v) - 9:.1f}' text-anchor='middle' {FONT} fill='{TEXT}'>{escape(number_fr(v))}</text>")
        out.append(f"<text x='{x(i):.1f}' y='{height - bottom + 18}' text-anchor='middle' {FONT} fill='{TEXT}'>{escape(_short(month))}</text>")
    out.append(f"<line x1='{left}' x2='{width - right}' y1='{top + plot_h}' y2='{top + plot_h}' stroke='{GREY}'/>")
    out.append("</svg>")
    return "".join(out)


def bars(ident: str, items: list[tuple[str, float | None]], title: str, unit: str = "") -> str:
    """Horizontal bars, one per item, the value written at the end of its bar."""
    return grouped_bars(ident, [(label, [value]) for label, value in items], [], title, unit)


def grouped_bars(ident: str, items: list[tuple[str, list]], series: list[str], title: str, unit: str = "") -> str:
    """Horizontal bars; several series per item (a legend names them) when ``series`` is given."""
    colours = [BLUE, ACCENT, GREY]
    per = max(len(series), 1)
    bar, gap, label_w, width = 14, 10, 200, 640
    legend_h = 24 if series else 0
    row_h = per * bar + gap
    height = legend_h + max(len(items), 1) * row_h + 16
    values = [v for _, vs in items for v in vs if v is not None]
    top_value = max(values) if values else 1
    scale = (width - label_w - 70) / (top_value or 1)
    words = []
    for label, vs in items:
        if series:
            words.append(f"{label} : " + ", ".join(f"{s} {number_fr(v, unit)}" for s, v in zip(series, vs)))
        else:
            words.append(f"{label} : {number_fr(vs[0], unit)}")
    out = _open(ident, width, height, title, ("; ".join(words) or "aucune donnée") + ".")
    for k, name in enumerate(series):
        out.append(f"<rect x='{label_w + 130 * k}' y='4' width='12' height='12' fill='{colours[k]}'/>")
        out.append(f"<text x='{label_w + 130 * k + 18}' y='14' {FONT} fill='{TEXT}'>{escape(name)}</text>")
    for i, (label, vs) in enumerate(items):
        y0 = legend_h + i * row_h + gap / 2
        out.append(f"<text x='{label_w - 8}' y='{y0 + per * bar / 2 + 4:.1f}' text-anchor='end' {FONT} fill='{TEXT}'>{escape(_clip(label))}</text>")
        for k, v in enumerate(vs):
            w = (v or 0) * scale
            out.append(f"<rect x='{label_w}' y='{y0 + k * bar:.1f}' width='{w:.1f}' height='{bar - 2}' fill='{colours[k]}'/>")
            out.append(f"<text x='{label_w + w + 6:.1f}' y='{y0 + k * bar + bar - 4:.1f}' {FONT} fill='{TEXT}'>{escape(number_fr(v, unit))}</text>")
    out.append(f"<line x1='{label_w}' x2='{label_w}' y1='{legend_h}' y2='{height - 8}' stroke='{GREY}'/>")
    out.append("</svg>")
    return "".join(out)


def _short(month_label: str) -> str:
    """« septembre 2026 » -> « sept. 26 » under a narrow column."""
    parts = month_label.split()
    if len(parts) == 2 and parts[1].isdigit():
        name = parts[0] if len(parts[0]) <= 4 else parts[0][:4].rstrip("é") + "."
        return f"{name} {parts[1][2:]}"
    return month_label


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
