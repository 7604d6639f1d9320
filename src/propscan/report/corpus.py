"""The corpus report: a self-contained HTML page (inline CSS and SVG plots, no scripts) over a
batch store, from the queries of :class:`propscan.batch.corpus.CorpusView`."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propscan.batch.corpus import UNKNOWN_GROUP, CorpusView
from propscan.detect.scoring import SHORT_TEXT_WORDS
from propscan.techniques import (
    SEMEVAL_CATEGORIES,
    TECHNIQUE_NAMES,
    category_colour,
    get_semeval_technique,
    get_technique,
)

__all__ = ["render_report"]


def _label(technique: str) -> str:
    try:
        return get_technique(technique).label
    except KeyError:
        return technique


def _colour(technique: str) -> str:
    try:
        return get_technique(technique).colour
    except KeyError:
        return "#cccccc"



def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.find("<svg"):]  # drop the XML prologue: the SVG is inlined in HTML


def _plot_mix_by_outlet(rows: list[dict[str, Any]]) -> str | None:
    import matplotlib.pyplot as plt

    if not rows:
        return None
    outlets = sorted({r["outlet"] for r in rows})
    techniques = [t for t in TECHNIQUE_NAMES if any(r["technique"] == t for r in rows)]
    techniques += sorted({r["technique"] for r in rows} - set(techniques))
    totals = {o: sum(r["spans"] for r in rows if r["outlet"] == o) for o in outlets}
    counts = {(r["outlet"], r["technique"]): r["spans"] for r in rows}
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(outlets) + 1.8))
    left = [0.0] * len(outlets)
    for technique in techniques:
        shares = [counts.get((o, technique), 0) / totals[o] for o in outlets]
        ax.barh(outlets, shares, left=left, color=_colour(technique), label=_label(technique),
                edgecolor="white", linewidth=0.5)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the outlet's spans")
    ax.invert_yaxis()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=7, frameon=False)
    return _svg(fig)


def _plot_density_over_time(rows: list[dict[str, Any]]) -> str | None:
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["month"] != UNKNOWN_GROUP and r["per_1k_words"] is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.2))
    months = [r["month"] for r in rows]
    ax.plot(months, [r["per_1k_words"] for r in rows], marker="o", color="#3a6ea5")
    ax.set_ylabel("spans per 1,000 words")
    ax.set_xlabel("month published")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.grid(alpha=0.3)
    return _svg(fig)


def _plot_cooccurrence(rows: list[dict[str, Any]]) -> str | None:
    import matplotlib.pyplot as plt

    if not rows:
        return None
    present = {r["a"] for r in rows}
    techniques = [t for t in TECHNIQUE_NAMES if t in present] + sorted(
        present - set(TECHNIQUE_NAMES))
    index = {t: i for i, t in enumerate(techniques)}
    grid = [[0] * len(techniques) for _ in techniques]
    for r in rows:
        grid[index[r["a"]]][index[r["b"]]] = r["articles"]
    size = 0.5 * len(techniques) + 2.5
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(grid, cmap="Blues")
    labels = [_label(t) for t in techniques]
    ax.set_xticks(range(len(techniques)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(techniques)), labels, fontsize=7)
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=6,
                    color="white" if value > 0.6 * max(map(max, grid)) else "black")
    fig.colorbar(image, ax=ax, shrink=0.7, label="articles with both")
    return _svg(fig)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "<p class='none'>No rows.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                         for c in columns) + "</tr>" for r in rows)
    # in a box of its own: a table wider than a phone scrolls there, not the page
    return (f"<div class='table-scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _figure(title: str, svg: str | None, note: str) -> str:
    content = svg if svg else "<p class='none'>Not enough data for this plot.</p>"
    return (f"<section><h2>{html.escape(title)}</h2><p class='note'>{html.escape(note)}</p>"
            f"{content}</section>")


def _semeval_section(rows: list[dict[str, Any]]) -> str:
    """Spans by SemEval-2023 category, then by technique within each category; one line when
    the corpus has no SemEval-2023 labels (stored without that model)."""
    head = "<section><h2>SemEval-2023 categories and techniques</h2>"
    if not rows:
        return head + "<p class='none'>no SemEval-2023 labels in this corpus</p></section>"
    order = {c: i for i, c in enumerate(SEMEVAL_CATEGORIES)}
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["category"]] = totals.get(r["category"], 0) + r["spans"]
    parts = [head]
    for category in sorted(totals, key=lambda c: (order.get(c, len(order)), c)):
        try:
            swatch = (f"<span class='swatch' style='background:{category_colour(category)}'>"
                      "</span>")
        except KeyError:
            swatch = ""
        members = [dict(r, technique=_semeval_label(r["technique"])) for r in rows
                   if r["category"] == category]
        parts.append(f"<h3>{swatch}{html.escape(category)} ({totals[category]:,} span"
                     f"{'' if totals[category] == 1 else 's'})</h3>")
        parts.append(_table(members, ["technique", "spans", "articles", "pct_articles",
                                      "per_1k_words"]))
    return "".join(parts) + "</section>"


def _semeval_label(name: str) -> str:
    try:
        return f"{get_semeval_technique(name).label} ({name})"
    except KeyError:
        return name


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.meta{color:#555}table{border-collapse:collapse;font-size:0.9em;margin:1em 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;overflow-wrap:normal;word-break:normal;hyphens:manual}
.table-scroll{max-width:100%;overflow-x:auto}
.note{color:#555;font-size:0.9em}.none{color:#999;font-style:italic}
svg{max-width:100%;height:auto}section{margin:2em 0}
.swatch{display:inline-block;width:.8em;height:.8em;border:1px solid #555;margin-right:.3em}
@media (max-width:600px){body{margin:1em auto;padding:0 .6em}table{font-size:0.8em}
th,td{padding:3px 4px}}
"""


def render_report(path: str | Path, *, top: int = 20, min_words: int = SHORT_TEXT_WORDS) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no network) on a corpus."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; the plots are written as SVG text
    with CorpusView(path) as view:
        totals = view.totals()
        by_technique = view.stats("technique")
        by_semeval = view.semeval_stats()
        by_outlet = view.stats("outlet")
        by_month = view.stats("month")
        mix = view.technique_by_outlet()
        pairs = view.cooccurrence()
        top_rows = view.top_articles(limit=top, min_words=min_words)
        failures = view.failures()
    for row in by_technique:
        row["technique"] = _label(row["technique"])
    for row in by_outlet + by_month:
        row["top_technique"] = _label(row["top_technique"]) if row["top_technique"] else None
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>propscan corpus report: {html.escape(Path(path).name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>propscan corpus report</h1>",
        f"<p class='meta'>{html.escape(str(path))}, generated {generated}. "
        f"{totals['ok']:,} articles read ({totals['analysed']:,} analysed for techniques), "
        f"{totals['failed']:,} failed; {totals['words']:,} words analysed, "
        f"{totals['spans']:,} spans.</p>",
        "<section><h2>Techniques</h2>",
        _table(by_technique, ["technique", "spans", "articles", "pct_articles",
                              "per_1k_words"]), "</section>",
        _semeval_section(by_semeval),
        _figure("Technique mix by outlet", _plot_mix_by_outlet(mix),
                "Share of each outlet's spans per technique (outlets with most articles)."),
        _table(by_outlet, ["outlet", "articles", "words", "spans", "per_1k_words",
                           "top_technique"]),
        _figure("Density over time", _plot_density_over_time(by_month),
                "Spans per 1,000 words, by month of publication (articles with a date)."),
        _figure("Technique co-occurrence", _plot_cooccurrence(pairs),
                "Number of articles that contain both techniques; the diagonal counts "
                "articles with that technique."),
        "<section><h2>Top articles</h2><p class='note'>Densest findings, spans per 1,000 "
        f"words (articles of {min_words:,} words or more).</p>",
        _table(top_rows, ["title", "outlet", "published", "n_words", "n_spans",
                          "per_1k_words", "id"]), "</section>",
    ]
    if failures:
        parts += ["<section><h2>Failed records (sample)</h2>",
                  _table(failures, ["source", "error"]), "</section>"]
    parts.append("</body></html>")
    return "\n".join(parts)
