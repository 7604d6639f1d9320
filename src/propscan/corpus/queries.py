"""The corpus explorer's queries: one filter, the article list, facets, chart data and exports.

Every query starts from the articles a :class:`CorpusFilter` selects (stored ``ok``), as the
``sel`` CTE; user input only ever reaches DuckDB as a ``?`` parameter, and the sort column comes
from a whitelist. Outlets are grouped and rates counted as :mod:`propscan.batch.corpus` does:
outlet spellings that differ in case or punctuation are one outlet (shown with the commonest
spelling), and a rate (findings per 1,000 words) is only given for analysed articles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from propscan.batch.corpus import ANALYSED, OUTLET_KEY, UNKNOWN_GROUP
from propscan.doc import Article, Finding, Metadata
from propscan.offsets import OffsetMap

__all__ = ["CorpusFilter", "ListQuery", "SORTS", "ORDERS", "STATS_BY", "list_articles",
           "count_articles", "facets", "stats", "cooccurrence", "neighbours", "article_row",
           "article_findings", "export_articles", "export_findings", "ARTICLE_FIELDS",
           "FINDING_FIELDS", "UNKNOWN_GROUP", "stored_article", "totals"]

#: sort name -> column of ``sel``; the only strings of a request that become SQL text
SORTS = {"rate": "rate", "date": "published", "findings": "n_spans", "words": "n_words"}
ORDERS = {"asc": "ASC", "desc": "DESC"}
STATS_BY = ("technique", "category", "outlet", "month")
#: the columns of the article list, its JSON and its CSV
ARTICLE_FIELDS = ("id", "title", "outlet", "published", "language", "words", "findings",
                  "rate", "analysed", "url")
FINDING_FIELDS = ("article_id", "title", "outlet", "published", "start", "end", "technique",
                  "confidence", "text", "reason", "voice", "speaker", "technique_2023",
                  "category_2023")
_MAX_TITLE_WORDS = 10
#: SQL: an outlet's group key, for a parameter (the same expression as the column's)
_PARAM_OUTLET_KEY = OUTLET_KEY.replace("outlet", "?")
#: SQL: the display name of each outlet group, over the whole store (so that a filter does
#: not change an outlet's name)
_OUTLET_NAMES = (
    "outlets AS (SELECT key, first(outlet ORDER BY n DESC, outlet) AS name FROM ("
    f"  SELECT {OUTLET_KEY} AS key, outlet, count(*) AS n FROM articles "
    "   WHERE status = 'ok' AND outlet IS NOT NULL GROUP BY ALL) GROUP BY key)")


@dataclass(frozen=True)
class CorpusFilter:
    """Which articles a view shows. Every field is optional; all given ones must hold."""

    outlet: str | None = None  # any spelling of the outlet; "(unknown)": articles without one
    techniques: tuple[str, ...] = ()  # the article has a finding of each
    category: str | None = None  # the article has a finding of this SemEval-2023 category
    language: str | None = None
    date_from: date | None = None  # published on or after
    date_to: date | None = None  # published on or before
    min_words: int | None = None
    max_words: int | None = None
    q: str | None = None  # every word of it is in the title (case-insensitive)

    def params(self) -> list[tuple[str, str]]:
        """The filter as URL query pairs (the names the web app reads)."""
        pairs = [("outlet", self.outlet)] + [("technique", t) for t in self.techniques] + [
            ("category", self.category), ("language", self.language),
            ("from", self.date_from.isoformat() if self.date_from else None),
            ("to", self.date_to.isoformat() if self.date_to else None),
            ("min_words", None if self.min_words is None else str(self.min_words)),
            ("max_words", None if self.max_words is None else str(self.max_words)),
            ("q", self.q)]
        return [(k, v) for k, v in pairs if v]

    def but(self, **changes: Any) -> CorpusFilter:
        """This filter with some fields changed (``techniques`` as a tuple)."""
        return replace(self, **changes)

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition on ``articles`` and its parameters."""
        sql: list[str] = ["status = 'ok'"]
        args: list[Any] = []
        if self.outlet == UNKNOWN_GROUP:
            sql.append("outlet IS NULL")
        elif self.outlet:
            sql.append(f"{OUTLET_KEY} = {_PARAM_OUTLET_KEY}")
            args.append(self.outlet)
        for technique in self.techniques:
            sql.append("id IN (SELECT article_id FROM spans WHERE technique = ?)")
            args.append(technique)
        if self.category:
            sql.append("id IN (SELECT article_id FROM spans WHERE category_2023 = ?)")
            args.append(self.category)
        if self.language == UNKNOWN_GROUP:
            sql.append("language IS NULL")
        elif self.language:
            sql.append("lower(language) = lower(?)")
            args.append(self.language)
        for clause, value in (("published >= ?", self.date_from), ("published <= ?", self.date_to),
                              ("n_words >= ?", self.min_words), ("n_words <= ?", self.max_words)):
            if value is not None:
                sql.append(clause)
                args.append(value)
        for word in (self.q or "").split()[:_MAX_TITLE_WORDS]:
            # contains(), not LIKE: a '%' or '_' typed by the user is only a character
            sql.append("contains(lower(coalesce(title, '')), lower(?))")
            args.append(word)
        return " AND ".join(sql), args

    def cte(self) -> tuple[str, list[Any]]:
        """``sel AS (...)``: the selected articles with ``is_analysed`` and ``rate``."""
        where, args = self.where()
        return (f"sel AS (SELECT id, title, outlet, published, language, n_words, n_spans, url, "
                f"{ANALYSED} AS is_analysed, CASE WHEN {ANALYSED} THEN "
                "round(1000.0 * n_spans / nullif(n_words, 0), 2) END AS rate "
                f"FROM articles WHERE {where})"), args


@dataclass(frozen=True)
class ListQuery:
    """A page of the article list: a filter, an order and a window."""

    filter: CorpusFilter = field(default_factory=CorpusFilter)
    sort: str = "date"
    order: str = "desc"
    limit: int = 50
    offset: int = 0

    def order_by(self, alias: str = "") -> str:
        """ORDER BY text from the whitelists (KeyError for anything else); id breaks ties."""
        prefix = f"{alias}." if alias else ""
        return (f"{prefix}{SORTS[self.sort]} {ORDERS[self.order]} NULLS LAST, {prefix}id ASC")

    def params(self) -> list[tuple[str, str]]:
        """Filter, sort and order as URL query pairs (the window is left to the caller)."""
        return [*self.filter.params(), ("sort", self.sort), ("order", self.order)]


def _rows(cur: Any, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    result = cur.execute(sql, args)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


_LIST_COLUMNS = ("id, title, outlet, published, language, n_words AS words, "
                 "n_spans AS findings, rate, is_analysed AS analysed, url")


def list_articles(cur: Any, query: ListQuery) -> list[dict[str, Any]]:
    """One page of the selected articles, in the query's order."""
    cte, args = query.filter.cte()
    return _rows(cur, f"WITH {cte} SELECT {_LIST_COLUMNS} FROM sel "
                 f"ORDER BY {query.order_by()} LIMIT ? OFFSET ?",
                 [*args, query.limit, query.offset])


def count_articles(cur: Any, selection: CorpusFilter) -> int:
    cte, args = selection.cte()
    return int(cur.execute(f"WITH {cte} SELECT count(*) FROM sel", args).fetchone()[0])


def facets(cur: Any, selection: CorpusFilter, size: int = 12) -> dict[str, list[dict[str, Any]]]:
    """How many selected articles each outlet, technique, category and language has (the
    ``size`` largest of each; a technique counts the articles with at least one finding)."""
    cte, args = selection.cte()
    found = {
        "outlet": _rows(cur, f"WITH {_OUTLET_NAMES}, {cte} SELECT coalesce(o.name, "
                        f"'{UNKNOWN_GROUP}') AS value, count(*) AS n FROM sel LEFT JOIN outlets o "
                        f"ON o.key = {OUTLET_KEY.replace('outlet', 'sel.outlet')} "
                        "GROUP BY 1 ORDER BY n DESC, value LIMIT ?", [*args, size]),
        "language": _rows(cur, f"WITH {cte} SELECT coalesce(language, '{UNKNOWN_GROUP}') "
                          "AS value, count(*) AS n FROM sel GROUP BY 1 ORDER BY n DESC, value "
                          "LIMIT ?", [*args, size]),
    }
    for name, column in (("technique", "technique"), ("category", "category_2023")):
        found[name] = _rows(
            cur, f"WITH {cte} SELECT {column} AS value, count(DISTINCT article_id) AS n "
            f"FROM spans WHERE {column} IS NOT NULL AND article_id IN (SELECT id FROM sel) "
            "GROUP BY 1 ORDER BY n DESC, value LIMIT ?", [*args, size])
    return found


def stats(cur: Any, selection: CorpusFilter, by: str, top: int = 0) -> list[dict[str, Any]]:
    """Per technique, category, outlet or month of the selection: articles, findings and
    findings per 1,000 words of the analysed articles. ``top`` keeps the outlets with the most
    articles; months come in order, with the months that have no article left out."""
    cte, args = selection.cte()
    if by in ("technique", "category"):
        column = "technique" if by == "technique" else "category_2023"
        return _rows(
            cur, f"WITH {cte}, w AS (SELECT coalesce(sum(n_words), 0) AS words FROM sel "
            f"WHERE is_analysed) SELECT s.{column} AS {by}, count(*) AS findings, "
            "count(DISTINCT s.article_id) AS articles, "
            "round(1000.0 * count(*) / nullif(any_value(w.words), 0), 2) AS rate "
            f"FROM spans s JOIN sel ON sel.id = s.article_id AND sel.is_analysed, w "
            f"WHERE s.{column} IS NOT NULL GROUP BY 1 ORDER BY findings DESC, 1", args)
    if by == "outlet":
        group = (f"coalesce(o.name, '{UNKNOWN_GROUP}')", f"WITH {_OUTLET_NAMES}, {cte}",
                 f"LEFT JOIN outlets o ON o.key = {OUTLET_KEY.replace('outlet', 'sel.outlet')}",
                 "articles DESC, 1")
    elif by == "month":
        group = ("strftime(published, '%Y-%m')", f"WITH {cte}", "WHERE published IS NOT NULL",
                 "1")
    else:
        raise ValueError(f"The 'by' parameter must be one of {', '.join(STATS_BY)}. "
                         f"Got {by!r} instead.")
    key, with_, join, order = group
    limit = " LIMIT ?" if top > 0 else ""
    return _rows(
        cur, f"{with_} SELECT {key} AS {by}, count(*) AS articles, "
        "count(*) FILTER (WHERE is_analysed) AS analysed, "
        "coalesce(sum(n_words) FILTER (WHERE is_analysed), 0) AS words, "
        "coalesce(sum(n_spans) FILTER (WHERE is_analysed), 0) AS findings, "
        "round(1000.0 * sum(n_spans) FILTER (WHERE is_analysed) / "
        "  nullif(sum(n_words) FILTER (WHERE is_analysed), 0), 2) AS rate "
        f"FROM sel {join} GROUP BY 1 ORDER BY {order}{limit}",
        [*args, top] if limit else args)


def cooccurrence(cur: Any, selection: CorpusFilter) -> list[dict[str, Any]]:
    """For each pair of techniques, how many selected articles have both (a = b: have it)."""
    cte, args = selection.cte()
    return _rows(
        cur, f"WITH {cte}, t AS (SELECT DISTINCT article_id, technique FROM spans "
        "  WHERE article_id IN (SELECT id FROM sel WHERE is_analysed)) "
        "SELECT x.technique AS a, y.technique AS b, count(*) AS articles "
        "FROM t x JOIN t y ON x.article_id = y.article_id GROUP BY 1, 2 ORDER BY 1, 2", args)


def neighbours(cur: Any, query: ListQuery, article_id: str) -> dict[str, Any] | None:
    """The article's place in the list (1-based ``position``, ``total``) and the ids before
    and after it; None when the filter does not select it."""
    cte, args = query.filter.cte()
    window = f"OVER (ORDER BY {query.order_by()})"
    rows = _rows(
        cur, f"WITH {cte}, ordered AS (SELECT id, row_number() {window} AS position, "
        f"lag(id) {window} AS previous, lead(id) {window} AS next FROM sel) "
        "SELECT position, previous, next, (SELECT count(*) FROM sel) AS total "
        "FROM ordered WHERE id = ?", [*args, article_id])
    return rows[0] if rows else None


def article_row(cur: Any, article_id: str) -> dict[str, Any] | None:
    """The stored article (any status) with its run's model, or None."""
    rows = _rows(cur, "SELECT a.*, r.model_name, r.model_version FROM articles a "
                 "LEFT JOIN runs r ON r.run_id = a.run_id WHERE a.id = ?", [article_id])
    return rows[0] if rows else None


def article_findings(cur: Any, article_id: str) -> list[dict[str, Any]]:
    """The article's stored findings, in reading order."""
    return _rows(cur, 'SELECT * EXCLUDE (article_id) FROM spans WHERE article_id = ? '
                 'ORDER BY start, "end" DESC, technique', [article_id])


def _stream(cur: Any, sql: str, args: list[Any], batch: int = 2000
            ) -> Iterator[dict[str, Any]]:
    result = cur.execute(sql, args)
    names = [d[0] for d in result.description]
    while chunk := result.fetchmany(batch):
        for row in chunk:
            yield dict(zip(names, row, strict=True))


def export_articles(cur: Any, query: ListQuery) -> Iterator[dict[str, Any]]:
    """Every selected article (no paging), in the list's order."""
    cte, args = query.filter.cte()
    return _stream(cur, f"WITH {cte} SELECT {_LIST_COLUMNS} FROM sel "
                   f"ORDER BY {query.order_by()}", args)


def export_findings(cur: Any, query: ListQuery) -> Iterator[dict[str, Any]]:
    """Every finding of the selected articles: articles in the list's order, then reading
    order."""
    cte, args = query.filter.cte()
    return _stream(
        cur, f"WITH {cte} SELECT s.article_id, sel.title, sel.outlet, sel.published, s.start, "
        "s.\"end\", s.technique, s.confidence, s.text, s.reason, s.voice, s.speaker, "
        "s.technique_2023, s.category_2023 FROM spans s JOIN sel ON sel.id = s.article_id "
        f"ORDER BY {query.order_by('sel')}, s.start, s.\"end\" DESC, s.technique", args)


def stored_article(row: dict[str, Any], findings: list[dict[str, Any]]) -> Article | None:
    """The article as ``analyze`` made it, from its stored row and findings (no re-analysis);
    None when the row has no text (stored before texts were kept, or a failed record)."""
    text = row.get("text")
    if text is None or row.get("status") != "ok":
        return None
    start, end = row.get("body_start") or 0, row.get("body_end") or len(text)
    if not 0 <= start <= end <= len(text):
        start, end = 0, len(text)
    published = row.get("published")
    meta = Metadata(title=row.get("title"), authors=list(row.get("authors") or []),
                    published=published if isinstance(published, date) else None,
                    outlet=row.get("outlet"), language=row.get("language"), url=row.get("url"))
    scores = row.get("scores")
    return Article(
        text=text, meta=meta, clean_text=text[start:end],
        offset_map=OffsetMap.identity(end - start, start), body_start=start, body_end=end,
        spans=[Finding.from_dict(f) for f in findings],
        scores=json.loads(scores) if isinstance(scores, str) else dict(scores or {}),
        id=row["id"], source=row.get("source"), input_format=row.get("input_format"),
        analysed=bool(row.get("analysed") if row.get("analysed") is not None else findings))


def totals(cur: Any, selection: CorpusFilter) -> dict[str, Any]:
    """Articles, analysed articles, their words and findings, and the rate of a selection."""
    cte, args = selection.cte()
    return _rows(
        cur, f"WITH {cte} SELECT count(*) AS articles, "
        "count(*) FILTER (WHERE is_analysed) AS analysed, "
        "coalesce(sum(n_words) FILTER (WHERE is_analysed), 0) AS words, "
        "coalesce(sum(n_spans) FILTER (WHERE is_analysed), 0) AS findings, "
        "round(1000.0 * sum(n_spans) FILTER (WHERE is_analysed) / "
        "  nullif(sum(n_words) FILTER (WHERE is_analysed), 0), 2) AS rate FROM sel", args)[0]
