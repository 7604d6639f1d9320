"""The corpus explorer's routes: pages (``/corpus``, charts, compare, the article view), their
CSV and JSON twins, and the JSON API (``/api/v1/corpus/...``).

Every route reads the filter from the URL through :func:`list_query` (so the API documents it),
opens a cursor of ``app.state.corpus`` (a :class:`propscan.corpus.CorpusDatabase`) and hands
rows from :mod:`propscan.corpus.queries` to :mod:`propscan.report.explorer` for HTML. Routes
are plain functions: FastAPI runs them on worker threads, one DuckDB cursor each.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from propscan.corpus import queries as q
from propscan.corpus.corrections import corrections_for, has_corrections_table
from propscan.corpus.database import CorpusDatabase
from propscan.errors import InputNotFound, InvalidRecord
from propscan.report.explorer import article_nav, href, render_article_view, render_list
from propscan.report.explorer import render_missing_text as missing_text_page
from propscan.report.explorer_charts import (
    Bar,
    cooccurrence_chart,
    month_bounds,
    month_series,
    render_charts,
    render_compare,
    technique_colour,
    technique_label,
)
from propscan.report.explorer_compare import compare_form, side_name
from propscan.report.html import render_report
from propscan.web.pages import page

__all__ = ["router", "list_query"]

router = APIRouter()
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str | None:
    value = value.strip() if value else None
    return value or None


def _date(value: str | None, name: str) -> date | None:
    if not _text(value):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidRecord(f"The '{name}' parameter must be a date (YYYY-MM-DD). "
                            f"Got {str(value)[:40]!r} instead.") from None


def _count(value: str | None, name: str) -> int | None:
    if not _text(value):
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > 9:
        raise InvalidRecord(f"The '{name}' parameter must be a whole number of 0 or more. "
                            f"Got {text[:40]!r} instead.")
    return int(text)


def corpus_filter(
    outlet: Annotated[str | None, Query(description="any spelling of an outlet; "
                                        "'(unknown)': articles without one")] = None,
    technique: Annotated[list[str] | None, Query(
        description="articles with a finding of this technique (repeat: of each)")] = None,
    category: Annotated[str | None, Query(description="a SemEval-2023 category")] = None,
    language: Annotated[str | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from", description="published on or after "
                                       "(YYYY-MM-DD)")] = None,
    to: Annotated[str | None, Query(description="published on or before (YYYY-MM-DD)")] = None,
    min_words: Annotated[str | None, Query(description="at least this many words")] = None,
    max_words: Annotated[str | None, Query(description="at most this many words")] = None,
    q_: Annotated[str | None, Query(alias="q", description="words in the title")] = None,
) -> q.CorpusFilter:
    """The filter of a request; empty fields (as a form sends them) are no filter."""
    return q.CorpusFilter(
        outlet=_text(outlet), techniques=tuple(t for t in (technique or []) if _text(t)),
        category=_text(category), language=_text(language),
        date_from=_date(from_, "from"), date_to=_date(to, "to"),
        min_words=_count(min_words, "min_words"), max_words=_count(max_words, "max_words"),
        q=_text(q_))


def list_query(
    selection: Annotated[q.CorpusFilter, Depends(corpus_filter)],
    sort: Annotated[Literal["rate", "date", "findings", "words"], Query()] = "date",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> q.ListQuery:
    return q.ListQuery(selection, sort, order, limit, offset)


Listing = Annotated[q.ListQuery, Depends(list_query)]
Selection = Annotated[q.CorpusFilter, Depends(corpus_filter)]


def served_corpus(request: Request) -> CorpusDatabase:
    """The database this server explores (the explorer's and the review API's)."""
    db = getattr(request.app.state, "corpus", None)
    if db is None:
        raise InputNotFound("no corpus database is served here; start the server with "
                            "`propscan serve --db FILE`")
    return db


def _read_only(request: Request) -> bool:
    return bool(getattr(request.app.state, "read_only", True)) or served_corpus(request).read_only


def _json(value: Any, status: int = 200) -> JSONResponse:
    # dates and other non-JSON values as strings; the app's middleware adds the headers
    return JSONResponse(json.loads(json.dumps(value, default=str)), status_code=status)


# -- pages ---------------------------------------------------------------------------------

@router.get("/corpus", include_in_schema=False)
def corpus_page(request: Request, query: Listing) -> Response:
    with served_corpus(request).cursor() as cur:
        rows = q.list_articles(cur, query)
        total = q.count_articles(cur, query.filter)
        facets = q.facets(cur, query.filter)
    rendered = render_list(query, rows, total, facets)
    return page(rendered.html, rendered.csp)


@router.get("/corpus/articles/{article_id:path}", include_in_schema=False)
def article_page(request: Request, article_id: str, query: Listing) -> Response:
    pairs = query.params()
    with served_corpus(request).cursor() as cur:
        row = q.article_row(cur, article_id)
        if row is None:
            raise InputNotFound(f"no article {article_id[:200]!r} in this corpus")
        findings = q.article_findings(cur, article_id)
        place = q.neighbours(cur, query, article_id)
        corrections = _corrections(cur, article_id)
    nav = article_nav(article_id, place, pairs, query.offset)
    article = q.stored_article(row, findings)
    if article is None:
        rendered = missing_text_page(row, findings, nav, pairs)
        return page(rendered.html, rendered.csp)
    view = render_article_view(
        render_report(article), article_id=article_id, nav=nav, findings=article.spans,
        corrections=corrections, read_only=_read_only(request),
        body_start=article.body_start, body_end=article.body_end)
    return page(view.html, view.csp)


def _corrections(cur: Any, article_id: str) -> list[dict[str, Any]]:
    """What reviewers did to the article; none where the corrections table does not exist
    (a database never opened for review)."""
    if not has_corrections_table(cur):
        return []
    return [c.to_dict() for c in corrections_for(cur, article_id)]


def _technique_bars(rows: list[dict[str, Any]], key: str, link: Any) -> list[Bar]:
    return [Bar(technique_label(r[key]) if key == "technique" else str(r[key]),
                float(r["rate"] or 0),
                f'{r["rate"] or 0:.2f} · {r["articles"]:,} articles', link(r[key]),
                technique_colour(r[key]) if key == "technique" else "#1a4fd6") for r in rows]


@router.get("/corpus/charts", include_in_schema=False)
def charts_page(request: Request, selection: Selection, top: Annotated[int, Query(
        ge=1, le=200)] = 15) -> Response:
    def listed(changed: q.CorpusFilter) -> str:
        return href("/corpus", changed.params())

    def month_link(month: str) -> str:
        first, last = month_bounds(month)
        return listed(selection.but(date_from=max(first, selection.date_from or first),
                                    date_to=min(last, selection.date_to or last)))

    def with_technique(*names: str) -> str:
        return listed(selection.but(techniques=tuple(dict.fromkeys((*selection.techniques,
                                                                     *names)))))

    with served_corpus(request).cursor() as cur:
        total = q.count_articles(cur, selection)
        months = month_series(q.stats(cur, selection, "month"))
        outlets = q.stats(cur, selection, "outlet", top=top)
        techniques = q.stats(cur, selection, "technique")
        categories = q.stats(cur, selection, "category")
        pairs = q.cooccurrence(cur, selection)
    outlet_bars = [Bar(str(r["outlet"]), float(r["rate"] or 0),
                       f'{r["articles"]:,} articles · {r["rate"] or 0:.2f} per 1,000 words',
                       listed(selection.but(outlet=r["outlet"]))) for r in outlets]
    rendered = render_charts(
        selection.params(), total, months, outlet_bars,
        _technique_bars(techniques, "technique", with_technique),
        _technique_bars(categories, "category", lambda c: listed(selection.but(category=c))),
        cooccurrence_chart(pairs, with_technique), month_link)
    return page(rendered.html, rendered.csp)


@router.get("/corpus/compare", include_in_schema=False)
def compare_page(request: Request, selection: Selection,
                 a_outlet: str | None = None, b_outlet: str | None = None,
                 a_from: str | None = None, a_to: str | None = None,
                 b_from: str | None = None, b_to: str | None = None) -> Response:
    sides = []
    for tag, outlet, start, end in (("A", a_outlet, a_from, a_to), ("B", b_outlet, b_from, b_to)):
        low = tag.lower()
        changed = selection.but(outlet=_text(outlet) or selection.outlet,
                                date_from=_date(start, f"{low}_from") or selection.date_from,
                                date_to=_date(end, f"{low}_to") or selection.date_to)
        sides.append((tag, changed))
    out, bars = [], []
    with served_corpus(request).cursor() as cur:
        for tag, side in sides:
            out.append({**q.totals(cur, side), "name": side_name(tag, side),
                        "link": href("/corpus", side.params()), "techniques": {
                            r["technique"]: r for r in q.stats(cur, side, "technique")}})
    names = sorted({t for s in out for t in s["techniques"]},
                   key=lambda t: -max(s["techniques"].get(t, {}).get("rate") or 0 for s in out))
    for name in names:
        for (tag, side), s in zip(sides, out, strict=True):
            r = s["techniques"].get(name, {"rate": 0, "articles": 0})
            link = href("/corpus", side.but(techniques=(*side.techniques, name)).params())
            bars.append(Bar(f"{tag} · {technique_label(name)}", float(r["rate"] or 0),
                            f'{r["rate"] or 0:.2f} · {r["articles"]:,} articles', link,
                            technique_colour(name)))
    rendered = render_compare(selection.params(), compare_form(
        selection, a_outlet, b_outlet, a_from, a_to, b_from, b_to), out, bars)
    return page(rendered.html, rendered.csp)


# -- exports -------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _csv_lines(fields: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    for i, row in enumerate(rows):
        writer.writerow([_cell(row.get(f)) for f in fields])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_lines(key: str, rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield f'{{"ok": true, "{key}": ['
    for i, row in enumerate(rows):
        yield ("," if i else "") + json.dumps(row, default=str, ensure_ascii=False)
    yield "]}"


def _export(request: Request, query: q.ListQuery, what: str, kind: str) -> Response:
    db = served_corpus(request)

    def rows() -> Iterator[dict[str, Any]]:
        with db.cursor() as cur:
            found = (q.export_articles(cur, query) if what == "articles"
                     else q.export_findings(cur, query))
            yield from found

    fields = q.ARTICLE_FIELDS if what == "articles" else q.FINDING_FIELDS
    body = _csv_lines(fields, rows()) if kind == "csv" else _json_lines(what, rows())
    name = f"corpus-{what}.{kind}"
    media = "text/csv; charset=utf-8" if kind == "csv" else "application/json"
    return StreamingResponse(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/corpus.csv", summary="The selected articles as CSV")
def articles_csv(request: Request, query: Listing) -> Response:
    return _export(request, query, "articles", "csv")


@router.get("/corpus.json", summary="The selected articles as JSON")
def articles_json(request: Request, query: Listing) -> Response:
    return _export(request, query, "articles", "json")


@router.get("/corpus/findings.csv", summary="The findings of the selected articles as CSV")
def findings_csv(request: Request, query: Listing) -> Response:
    return _export(request, query, "findings", "csv")


@router.get("/corpus/findings.json", summary="The findings of the selected articles as JSON")
def findings_json(request: Request, query: Listing) -> Response:
    return _export(request, query, "findings", "json")


# -- JSON API ------------------------------------------------------------------------------

@router.get("/api/v1/corpus/articles", summary="List the corpus's articles")
def api_articles(request: Request, query: Listing) -> JSONResponse:
    """A page of articles (``id, title, outlet, published, language, words, findings, rate,
    analysed, url``); ``rate`` is findings per 1,000 words, null for articles not analysed."""
    with served_corpus(request).cursor() as cur:
        rows = q.list_articles(cur, query)
        total = q.count_articles(cur, query.filter)
    return _json({"ok": True, "total": total, "limit": query.limit, "offset": query.offset,
                  "articles": rows})


@router.get("/api/v1/corpus/stats", summary="Corpus figures by technique, category, outlet "
            "or month")
def api_stats(request: Request, selection: Selection,
              by: Annotated[Literal["technique", "category", "outlet", "month"], Query()],
              top: Annotated[int, Query(ge=0, le=10_000, description="outlets: the top N by "
                                        "articles (0: all)")] = 0) -> JSONResponse:
    with served_corpus(request).cursor() as cur:
        rows = q.stats(cur, selection, by, top=top if by == "outlet" else 0)
    return _json({"ok": True, "by": by, "rows": rows})


@router.get("/api/v1/corpus/articles/{article_id:path}", summary="One stored article")
def api_article(request: Request, article_id: str) -> JSONResponse:
    """The ``analyze`` JSON of the article, with its findings as stored."""
    with served_corpus(request).cursor() as cur:
        row = q.article_row(cur, article_id)
        if row is None:
            raise InputNotFound(f"no article {article_id[:200]!r} in this corpus")
        article = q.stored_article(row, q.article_findings(cur, article_id))
    if article is None:
        raise InputNotFound(f"article {article_id[:200]!r} was stored without its text "
                            "(before texts were kept, or it failed); run batch again")
    return _json(article.to_dict())
