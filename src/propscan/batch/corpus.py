"""Corpus views over a batch store: counts and rates per outlet, month, technique or SemEval-2023
category (:meth:`CorpusView.semeval_stats`: by category and technique), the top
articles and technique co-occurrence (:mod:`propscan.report.corpus` renders them as a page).

Rates are spans per 1,000 words of cleaned body text, over the articles that were *analysed*:
stored as ``ok`` with ``analysed`` true. Articles ingested only (``--no-detect``) or not in
English count as articles but add no words to a rate (they could add no spans). Databases
written before the ``analysed`` column have NULL there: such a row counts as analysed when it
has spans or non-empty scores (a run without detection stored ``{}``).

Outlets are grouped case- and punctuation-insensitively ("PolitiFact", "Politifact" and
"politifact." are one outlet), shown with the group's most common spelling.
"""

from __future__ import annotations

from typing import Any

from propscan.batch.store import DatabaseHandle, connect_readonly
from propscan.detect.scoring import SHORT_TEXT_WORDS
from propscan.errors import ConfigError

__all__ = ["STAT_GROUPS", "UNKNOWN_GROUP", "CorpusView"]

STAT_GROUPS = ("technique", "category", "outlet", "month")
#: the outlet or month of articles that have none
UNKNOWN_GROUP = "(unknown)"

#: SQL: the article was analysed (see the module docstring for rows of older databases)
ANALYSED = ("(status = 'ok' AND coalesce(analysed, n_spans > 0 OR "
            "coalesce(scores::VARCHAR NOT IN ('{}', 'null'), false)))")
#: SQL: the key that groups spellings of one outlet
OUTLET_KEY = "lower(regexp_replace(outlet, '[^[:alnum:]]', '', 'g'))"
#: SQL: ok articles with their outlet group's key and display name (its commonest spelling)
_OUTLETS = (
    "outlets AS (SELECT key, first(outlet ORDER BY n DESC, outlet) AS name FROM ("
    f"  SELECT {OUTLET_KEY} AS key, outlet, count(*) AS n FROM articles "
    "   WHERE status = 'ok' AND outlet IS NOT NULL GROUP BY ALL) GROUP BY key), "
    f"grouped AS (SELECT a.*, {ANALYSED} AS is_analysed, "
    f"  coalesce(o.name, '{UNKNOWN_GROUP}') AS outlet_group FROM articles a "
    f"  LEFT JOIN outlets o ON o.key = {OUTLET_KEY.replace('outlet', 'a.outlet')} "
    "  WHERE a.status = 'ok')")


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
        """Articles ok, analysed and failed; words and spans of the analysed articles."""
        return self._rows(
            "SELECT count(*) FILTER (WHERE status = 'ok') AS ok, "
            f"count(*) FILTER (WHERE {ANALYSED}) AS analysed, "
            "count(*) FILTER (WHERE status <> 'ok') AS failed, "
            f"coalesce(sum(n_words) FILTER (WHERE {ANALYSED}), 0) AS words, "
            f"coalesce(sum(n_spans) FILTER (WHERE {ANALYSED}), 0) AS spans FROM articles")[0]

    def stats(self, by: str) -> list[dict[str, Any]]:
        """One row per technique, outlet or month, with counts and spans per 1,000 words."""
        if by not in STAT_GROUPS:
            raise ConfigError(f"The 'by' parameter must be one of {', '.join(STAT_GROUPS)}. "
                              f"Got {by!r} instead.")
        if by == "technique":
            return self._span_groups(["technique"])
        if by == "category":
            return self._span_groups(["category_2023"]) if self.has_semeval() else []
        key = ("outlet_group" if by == "outlet"
               else f"coalesce(strftime(published, '%Y-%m'), '{UNKNOWN_GROUP}')")
        # every ok article counts in `articles`; words, spans and rates are the analysed ones'
        return self._rows(
            f"WITH {_OUTLETS}, "
            f"per AS (SELECT {key} AS grp, id, is_analysed, "
            "  CASE WHEN is_analysed THEN n_words ELSE 0 END AS n_words, "
            "  CASE WHEN is_analysed THEN n_spans ELSE 0 END AS n_spans FROM grouped), "
            "top AS (SELECT per.grp, s.technique, count(*) AS n, "
            "  row_number() OVER (PARTITION BY per.grp ORDER BY count(*) DESC, s.technique) AS rk "
            "  FROM spans s JOIN per ON per.id = s.article_id AND per.is_analysed "
            "  GROUP BY per.grp, s.technique) "
            f"SELECT per.grp AS {by}, count(*) AS articles, "
            "count(*) FILTER (WHERE per.is_analysed) AS analysed, "
            "sum(per.n_words) AS words, sum(per.n_spans) AS spans, "
            "round(1000.0 * sum(per.n_spans) / nullif(sum(per.n_words), 0), 2) AS per_1k_words, "
            "any_value(top.technique) AS top_technique "
            "FROM per LEFT JOIN top ON top.grp = per.grp AND top.rk = 1 "
            f"GROUP BY per.grp ORDER BY {'per.grp' if by == 'month' else 'articles DESC, per.grp'}")

    def has_semeval(self) -> bool:
        """Whether any span carries a SemEval-2023 category (stores written with that model)."""
        columns = {row[0] for row in self.con_.execute("DESCRIBE spans").fetchall()}
        if "category_2023" not in columns:  # a database of an older schema
            return False
        return bool(self.con_.execute(
            "SELECT count(*) FROM spans WHERE category_2023 IS NOT NULL").fetchone()[0])

    def semeval_stats(self) -> list[dict[str, Any]]:
        """One row per SemEval-2023 (category, technique), as :meth:`stats` by technique;
        none when the corpus has no SemEval-2023 labels."""
        if not self.has_semeval():
            return []
        return self._span_groups(["category_2023", "technique_2023"])

    def _span_groups(self, columns: list[str]) -> list[dict[str, Any]]:
        """Spans, articles, share of articles and spans per 1,000 words per value of the
        ``spans`` columns given (fixed names, never user input), most spans first; spans
        without a value (NULL) are left out."""
        keys = ", ".join(f"s.{c}" for c in columns)
        present = " AND ".join(f"s.{c} IS NOT NULL" for c in columns)
        names = ", ".join(f"s.{c} AS {c.removesuffix('_2023')}" for c in columns)
        return self._rows(
            f"WITH ok AS (SELECT id, n_words FROM articles WHERE {ANALYSED}), "
            "w AS (SELECT coalesce(sum(n_words), 0) AS words, count(*) AS n FROM ok) "
            f"SELECT {names}, count(*) AS spans, count(DISTINCT s.article_id) AS articles, "
            "round(100.0 * count(DISTINCT s.article_id) / any_value(w.n), 1) "
            "  AS pct_articles, "
            "round(1000.0 * count(*) / nullif(any_value(w.words), 0), 2) AS per_1k_words "
            f"FROM spans s JOIN ok ON ok.id = s.article_id, w WHERE {present} "
            f"GROUP BY {keys} ORDER BY spans DESC, {keys}")

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
            f"FROM articles WHERE {ANALYSED} AND n_spans > 0 AND n_words >= ? "
            "ORDER BY per_1k_words DESC, n_spans DESC, id LIMIT ?", [min_words, limit])

    def failures(self, limit: int = 10) -> list[dict[str, Any]]:
        """A sample of failed records and why they failed."""
        return self._rows("SELECT id, source, error FROM articles WHERE status <> 'ok' "
                          "ORDER BY source LIMIT ?", [limit])

    def technique_by_outlet(self, max_outlets: int = 12) -> list[dict[str, Any]]:
        """Span counts per (outlet, technique) for the outlets with the most articles."""
        return self._rows(
            f"WITH {_OUTLETS}, "
            "o AS (SELECT outlet_group AS outlet, count(*) AS n FROM grouped "
            "  WHERE is_analysed GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?) "
            "SELECT o.outlet, s.technique, count(*) AS spans FROM spans s "
            "JOIN grouped g ON g.id = s.article_id AND g.is_analysed "
            "JOIN o ON o.outlet = g.outlet_group "
            "GROUP BY o.outlet, s.technique ORDER BY o.outlet, s.technique", [max_outlets])

    def cooccurrence(self) -> list[dict[str, Any]]:
        """For each pair of techniques, how many articles contain both (a = b: contain it)."""
        return self._rows(
            "WITH t AS (SELECT DISTINCT article_id, technique FROM spans "
            f"  WHERE article_id IN (SELECT id FROM articles WHERE {ANALYSED})) "
            "SELECT x.technique AS a, y.technique AS b, count(*) AS articles "
            "FROM t x JOIN t y ON x.article_id = y.article_id "
            "GROUP BY 1, 2 ORDER BY 1, 2")
