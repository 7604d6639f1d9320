"""The corpus explorer's charts as inline SVG (no script, no chart library): rate per 1,000
words by month, bars per outlet or technique, technique co-occurrence, and two selections side
by side. Every bar, point and cell is a link to the list of the articles behind it, and shows
how many articles that is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

from propscan.report.explorer import ExplorerPage, shell
from propscan.report.figures import technique_view
from propscan.techniques import TECHNIQUE_NAMES, get_technique

__all__ = ["Bar", "month_series", "month_chart", "bar_chart", "cooccurrence_chart",
           "render_charts", "render_compare", "technique_colour",
           "technique_label", "month_bounds"]

_ACCENT = "#1a4fd6"
_MUTED = "#9aa7c7"


@dataclass(frozen=True)
class Bar:
    """One bar: its label, length, the text written beside it, its link and colour."""

    label: str
    value: float
    note: str
    link: str  # an escaped href
    colour: str = _ACCENT


def technique_colour(technique: str) -> str:
    try:
        return get_technique(technique).colour
    except KeyError:
        return "#cccccc"


def technique_label(technique: str) -> str:
    return technique_view(technique)[1]


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def month_series(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every month from the first to the last with articles; months without any get
    ``articles`` 0 and ``rate`` None (a gap in the line)."""
    if not rows:
        return []
    by_month = {r["month"]: r for r in rows}
    year, month = map(int, rows[0]["month"].split("-"))
    out = []
    while True:
        key = f"{year:04d}-{month:02d}"
        out.append(by_month.get(key, {"month": key, "articles": 0, "analysed": 0, "words": 0,
                                      "findings": 0, "rate": None}))
        if key >= rows[-1]["month"]:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``."""
    year, number = map(int, month.split("-"))
    nxt = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date(year, number, 1), date.fromordinal(nxt.toordinal() - 1)


def month_chart(series: list[dict[str, Any]], link: Callable[[str], str]) -> str:
    """Rate per 1,000 words (line, broken at months without a rate) over the number of
    articles per month (bars, labelled)."""
    if not series:
        return "<p>No dated articles in this selection.</p>"
    step = max(8.0, min(40.0, 760 / len(series)))
    left, top, line_h, bars_h = 44, 14, 150, 60
    width = int(left + step * len(series) + 10)
    rates = [r["rate"] for r in series if r["rate"] is not None]
    top_rate = max(rates, default=0) or 1.0
    top_count = max(r["articles"] for r in series) or 1
    base = top + line_h + 22
    parts: list[str] = []
    points: list[str] = []
    path: list[tuple[float, float] | None] = []
    for i, row in enumerate(series):
        x = left + step * i + step / 2
        if row["articles"]:
            h = bars_h * row["articles"] / top_count
            title = f'{row["month"]}: {row["articles"]:,} articles'
            label = (f'<text x="{x:.1f}" y="{base + bars_h - h - 2:.1f}" text-anchor="middle">'
                     f'{row["articles"]}</text>' if step >= 18 else "")
            parts.append(f'<a href="{link(row["month"])}" class="count-bar">'
                         f"<title>{escape(title)}</title>"
                         f'<rect x="{x - step * .4:.1f}" y="{base + bars_h - h:.1f}" '
                         f'width="{step * .8:.1f}" height="{max(h, 1):.1f}" fill="{_MUTED}"/>'
                         f"{label}</a>")
        if row["rate"] is None:
            path.append(None)
            continue
        y = top + line_h - line_h * row["rate"] / top_rate
        path.append((x, y))
        title = (f'{row["month"]}: {row["rate"]:.2f} findings per 1,000 words, '
                 f'{row["articles"]:,} articles ({row["analysed"]:,} analysed)')
        points.append(f'<a href="{link(row["month"])}" class="point"><title>{escape(title)}'
                      f'</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{_ACCENT}"/></a>')
    segments: list[str] = []
    current: list[tuple[float, float]] = []
    for p in [*path, None]:
        if p is None:
            if len(current) > 1:
                segments.append(" ".join(f"{x:.1f},{y:.1f}" for x, y in current))
            current = []
        else:
            current.append(p)
    lines = "".join(f'<polyline points="{s}" fill="none" stroke="{_ACCENT}" stroke-width="2"/>'
                    for s in segments)
    every = max(1, round(len(series) / 12))
    ticks = "".join(f'<text x="{left + step * i + step / 2:.1f}" y="{top + line_h + 14}" '
                    f'text-anchor="middle">{row["month"]}</text>'
                    for i, row in enumerate(series) if i % every == 0)
    axis = (f'<text x="2" y="{top + 4}">{top_rate:.1f}</text><text x="2" y="{top + line_h}">0'
            f'</text><line x1="{left}" y1="{top + line_h}" x2="{width}" y2="{top + line_h}" '
            'stroke="#999"/>'
            f'<text x="2" y="{base + 10}">articles</text>')
    height = base + bars_h + 4
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            'aria-label="Findings per 1,000 words by month, and articles per month">'
            f'{axis}{ticks}{"".join(parts)}{lines}{"".join(points)}</svg>')


def bar_chart(bars: list[Bar], label: str) -> str:
    """Horizontal bars, longest value = full width, each a link with its note beside it."""
    if not bars:
        return "<p>Nothing to show for this selection.</p>"
    row_h, left, span = 22, 210, 380
    top_value = max(b.value for b in bars) or 1.0
    rows = []
    for i, b in enumerate(bars):
        y = i * row_h
        w = span * b.value / top_value
        rows.append(f'<a href="{b.link}"><title>{escape(b.label)}: {escape(b.note)}</title>'
                    f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">'
                    f"{escape(_short(b.label))}</text>"
                    f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 6}" '
                    f'fill="{escape(b.colour)}" stroke="#555" stroke-width=".3"/>'
                    f'<text x="{left + w + 6:.1f}" y="{y + 15}">{escape(b.note)}</text></a>')
    height = row_h * len(bars) + 4
    width = left + span + 190
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(label)}">{"".join(rows)}</svg>')


def cooccurrence_chart(rows: list[dict[str, Any]], link: Callable[[str, str], str]) -> str:
    """A technique x technique grid: articles that have both (the diagonal: have it)."""
    names = sorted({r["a"] for r in rows}, key=lambda n: (
        TECHNIQUE_NAMES.index(n) if n in TECHNIQUE_NAMES else len(TECHNIQUE_NAMES), n))
    if not names:
        return "<p>No findings in this selection.</p>"
    counts = {(r["a"], r["b"]): r["articles"] for r in rows}
    top = max(counts.values())
    cell, left, head = 34, 200, 150
    parts = []
    for j, b in enumerate(names):
        x = left + j * cell + cell / 2
        parts.append(f'<text transform="translate({x:.0f},{head - 4}) rotate(-50)">'
                     f"{escape(_short(technique_label(b), 24))}</text>")
    for i, a in enumerate(names):
        y = head + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">'
                     f"{escape(_short(technique_label(a), 28))}</text>")
        for j, b in enumerate(names):
            n = counts.get((a, b), 0)
            if not n:
                continue
            shade = 0.12 + 0.88 * n / top
            title = (f"{technique_label(a)}: {n:,} articles" if a == b
                     else f"{technique_label(a)} and {technique_label(b)}: {n:,} articles")
            parts.append(f'<a href="{link(a, b)}"><title>{escape(title)}</title>'
                         f'<rect x="{left + j * cell}" y="{y}" width="{cell - 2}" '
                         f'height="{cell - 2}" fill="{_ACCENT}" fill-opacity="{shade:.2f}"/>'
                         f'<text x="{left + j * cell + cell / 2 - 1:.0f}" '
                         f'y="{y + cell / 2 + 4:.0f}" '
                         f'text-anchor="middle" fill="{"#fff" if shade > .55 else "#111"}">{n}'
                         "</text></a>")
    size = (left + cell * len(names) + 10, head + cell * len(names) + 4)
    return (f'<svg viewBox="0 0 {size[0]} {size[1]}" width="{size[0]}" height="{size[1]}" '
            'role="img" aria-label="Articles with both techniques">'
            f'{"".join(parts)}</svg>')


def _figure(title: str, svg: str, caption: str) -> str:
    return (f'<figure class="chart"><h2>{escape(title)}</h2>{svg}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def render_charts(pairs: list[tuple[str, str]], total: int, months: list[dict[str, Any]],
                  outlets: list[Bar], techniques: list[Bar], categories: list[Bar],
                  cooccurrence: str, month_link: Callable[[str], str]) -> ExplorerPage:
    """The charts page of a selection (``pairs``: its filter, for the navigation)."""
    body = (f'<h1>Charts</h1><p class="muted">{total:,} articles in this selection. Every bar, '
            "point and cell opens the articles behind it.</p>"
            + _figure("Findings per 1,000 words by month", month_chart(months, month_link),
                      "The line is the rate over the analysed articles of each month (a gap: no "
                      "analysed article that month); the bars below count the articles.")
            + _figure("Outlets with the most articles",
                      bar_chart(outlets, "findings per 1,000 words by outlet"),
                      "Bar length: findings per 1,000 words; beside it, the number of articles.")
            + _figure("Technique mix", bar_chart(techniques, "findings by technique"),
                      "Findings per 1,000 words of each technique; beside it, the articles "
                      "that have it.")
            + (_figure("SemEval-2023 categories", bar_chart(categories, "findings by category"),
                       "Findings per 1,000 words of each category.") if categories else "")
            + _figure("Techniques found together", cooccurrence,
                      "How many articles have both techniques (the diagonal: have it)."))
    return shell("propscan: corpus charts", body, pairs)


def render_compare(pairs: list[tuple[str, str]], form: str, sides: list[dict[str, Any]],
                   bars: list[Bar]) -> ExplorerPage:
    """Two selections side by side: their totals, and each technique's rate in both."""
    cards = "".join(
        f'<div><h2>{escape(s["name"])}</h2><p><a href="{s["link"]}" class="side-total">'
        f'{s["articles"]:,} articles</a>, {s["analysed"]:,} analysed; '
        f'{"" if s["rate"] is None else format(s["rate"], ".2f")} findings per 1,000 words</p>'
        "</div>" for s in sides)
    body = (f"<h1>Compare</h1>{form}<div class=\"compare-grid\">{cards}</div>"
            + _figure("Technique mix, side by side", bar_chart(bars, "technique rates compared"),
                      "For each technique, findings per 1,000 words in A (upper bar) and B "
                      "(lower bar); beside each, the articles that have it."))
    return shell("propscan: compare", body, pairs)
