"""Corpus views over a batch store: counts and rates per outlet, month or technique, the top
articles, technique co-occurrence, and a self-contained HTML report with inline SVG plots.

Rates are spans per 1,000 words of cleaned body text, over articles stored as ``ok``.
"""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propscan.batch.store import DatabaseHandle, connect_readonly
from propscan.detect.scoring import SHORT_TEXT_WORDS
from propscan.errors import ConfigError
from propscan.techniques import TECHNIQUE_NAMES, get_technique

__all__ = ["STAT_GROUPS", "CorpusView", "render_report"]

STAT_GROUPS = ("technique", "outlet", "month")
_UNKNOWN = "(unknown)"


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


class CorpusView(DatabaseHandle):
    """Read-only queries over a batch DuckDB file or Parquet directory."""

    def open(self) -> CorpusView:
        self.con_ = connect_readonly(self.path)
        return self

    def _rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con_.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def totals(self) -> dict[str, Any]:
        """Articles ok and failed, words and spans over the whole corpus."""
        return self._rows(
            "SELECT count(*) FILTER (WHERE status = 'ok') AS ok, "
            "count(*) FILTER (WHERE status <> 'ok') AS failed, "
            "coalesce(sum(n_words) FILTER (WHERE status = 'ok'), 0) AS words, "
            "coalesce(sum(n_spans) FILTER (WHERE status = 'ok'), 0) AS spans FROM articles")[0]

    def stats(self, by: str) -> list[dict[str, Any]]:
        """One row per technique, outlet or month, with counts and spans per 1,000 words."""
        if by not in STAT_GROUPS:
            raise ConfigError(f"The 'by' parameter must be one of {', '.join(STAT_GROUPS)}. "
                              f"Got {by!r} instead.")
        if by == "technique":
            return self._rows(
                "WITH ok AS (SELECT id, n_words FROM articles WHERE status = 'ok'), "
                "w AS (SELECT coalesce(sum(n_words), 0) AS words, count(*) AS n FROM ok) "
                "SELECT s.technique, count(*) AS spans, count(DISTINCT s.article_id) AS articles, "
                "round(100.0 * count(DISTINCT s.article_id) / any_value(w.n), 1) "
                "  AS pct_articles, "
                "round(1000.0 * count(*) / nullif(any_value(w.words), 0), 2) AS per_1k_words "
                "FROM spans s JOIN ok ON ok.id = s.article_id, w "
                "GROUP BY s.technique ORDER BY spans DESC, s.technique")
        key = ("coalesce(a.outlet, '(unknown)')" if by == "outlet"
               else "coalesce(strftime(a.published, '%Y-%m'), '(unknown)')")
        return self._rows(
            f"WITH per AS (SELECT {key} AS grp, a.id, a.n_words, a.n_spans "
            "  FROM articles a WHERE a.status = 'ok'), "
            "top AS (SELECT per.grp, s.technique, count(*) AS n, "
            "  row_number() OVER (PARTITION BY per.grp ORDER BY count(*) DESC, s.technique) AS rk "
            "  FROM spans s JOIN per ON per.id = s.article_id GROUP BY per.grp, s.technique) "
            f"SELECT per.grp AS {by}, count(*) AS articles, sum(per.n_words) AS words, "
            "sum(per.n_spans) AS spans, "
            "round(1000.0 * sum(per.n_spans) / nullif(sum(per.n_words), 0), 2) AS per_1k_words, "
            "any_value(top.technique) AS top_technique "
            "FROM per LEFT JOIN top ON top.grp = per.grp AND top.rk = 1 "
            f"GROUP BY per.grp ORDER BY {'per.grp' if by == 'month' else 'articles DESC, per.grp'}")

    def top_articles(self, limit: int = 10, min_words: int = SHORT_TEXT_WORDS
                     ) -> list[dict[str, Any]]:
        """The articles with the densest findings (spans per 1,000 words), then most spans.

        Articles under ``min_words`` words are left out: in a short text one fragment moves the
        rate too far for a ranking (see :data:`propscan.detect.scoring.SHORT_TEXT_WORDS`).
        """
        if min_words < 0:
            raise ConfigError(f"min_words must be 0 or more, got {min_words}")
        return self._rows(
            "SELECT id, source, title, outlet, published, n_words, n_spans, "
            "round(1000.0 * n_spans / nullif(n_words, 0), 2) AS per_1k_words "
            "FROM articles WHERE status = 'ok' AND n_spans > 0 AND n_words >= ? "
            "ORDER BY per_1k_words DESC, n_spans DESC, id LIMIT ?", [min_words, limit])

    def failures(self, limit: int = 10) -> list[dict[str, Any]]:
        """A sample of failed records and why they failed."""
        return self._rows("SELECT id, source, error FROM articles WHERE status <> 'ok' "
                          "ORDER BY source LIMIT ?", [limit])

    def technique_by_outlet(self, max_outlets: int = 12) -> list[dict[str, Any]]:
        """Span counts per (outlet, technique) for the outlets with the most articles."""
        return self._rows(
            "WITH o AS (SELECT coalesce(outlet, '(unknown)') AS outlet, count(*) AS n "
            "  FROM articles WHERE status = 'ok' GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?) "
            "SELECT o.outlet, s.technique, count(*) AS spans FROM spans s "
            "JOIN articles a ON a.id = s.article_id AND a.status = 'ok' "
            "JOIN o ON o.outlet = coalesce(a.outlet, '(unknown)') "
            "GROUP BY o.outlet, s.technique ORDER BY o.outlet, s.technique", [max_outlets])

    def cooccurrence(self) -> list[dict[str, Any]]:
        """For each pair of techniques, how many articles contain both (a = b: contain it)."""
        return self._rows(
            "WITH t AS (SELECT DISTINCT article_id, technique FROM spans) "
            "SELECT x.technique AS a, y.technique AS b, count(*) AS articles "
            "FROM t x JOIN t y ON x.article_id = y.article_id "
            "GROUP BY 1, 2 ORDER BY 1, 2")


# --- HTML report --------------------------------------------------------------------------


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

    rows = [r for r in rows if r["month"] != _UNKNOWN and r["per_1k_words"] is not None]
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
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(title: str, svg: str | None, note: str) -> str:
    content = svg if svg else "<p class='none'>Not enough data for this plot.</p>"
    return (f"<section><h2>{html.escape(title)}</h2><p class='note'>{html.escape(note)}</p>"
            f"{content}</section>")


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0}.meta{color:#555}table{border-collapse:collapse;font-size:0.9em;margin:1em 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.note{color:#555;font-size:0.9em}.none{color:#999;font-style:italic}
svg{max-width:100%;height:auto}section{margin:2em 0}
"""


def render_report(path: str | Path, *, top: int = 20, min_words: int = SHORT_TEXT_WORDS) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no network) on a corpus."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; the plots are written as SVG text
    with CorpusView(path) as view:
        totals = view.totals()
        by_technique = view.stats("technique")
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
        f"<title>propscan corpus report: {html.escape(Path(path).name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>propscan corpus report</h1>",
        f"<p class='meta'>{html.escape(str(path))}, generated {generated}. "
        f"{totals['ok']:,} articles analysed, {totals['failed']:,} failed; "
        f"{totals['words']:,} words, {totals['spans']:,} spans.</p>",
        "<section><h2>Techniques</h2>",
        _table(by_technique, ["technique", "spans", "articles", "pct_articles",
                              "per_1k_words"]), "</section>",
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
