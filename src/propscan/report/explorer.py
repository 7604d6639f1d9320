"""The corpus explorer's HTML: the article list with its filters and facets, the page shell
every explorer page shares, and the article view (the ``analyze`` report of
:mod:`propscan.report.html` with the list's navigation and the review panel added).

Everything from the database is escaped; the only style and script are the constant
``assets/explorer.css`` and ``assets/explorer.js``, allowed by their hashes, and the data the
script reads sits in an inert JSON block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

from propscan.corpus.queries import SORTS, ListQuery
from propscan.report.figures import technique_view
from propscan.report.html import RenderedReport, csp_hash
from propscan.techniques import TECHNIQUES

__all__ = ["ExplorerPage", "explorer_assets", "href", "article_href", "shell",
           "render_list", "render_article_view", "render_missing_text", "json_block"]

Pairs = Sequence[tuple[str, str]]
#: the report's own CSP, replaced by the explorer's (which also allows its script and fetch)
_REPORT_CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]*">\n?')


class ExplorerPage:
    """An explorer page and its Content-Security-Policy (hashes only)."""

    def __init__(self, html: str, csp: str) -> None:
        self.html = html
        self.csp = csp


@lru_cache(maxsize=1)
def explorer_assets() -> tuple[str, str]:
    """The explorer's CSS and JS, read once."""
    folder = resources.files("propscan.report") / "assets"
    return ((folder / "explorer.css").read_text(encoding="utf-8"),
            (folder / "explorer.js").read_text(encoding="utf-8"))


def href(path: str, pairs: Pairs) -> str:
    """``path?query`` of the pairs, escaped for an HTML attribute."""
    query = urlencode(list(pairs))
    return escape(f"{path}?{query}" if query else path)


def article_href(article_id: str, pairs: Pairs) -> str:
    return href(f"/corpus/articles/{quote(article_id, safe='')}", pairs)


def json_block(value: Any) -> str:
    """JSON safe inside a <script> element (the report's own escaping)."""
    import json

    text = json.dumps(value, ensure_ascii=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def shell(title: str, body: str, nav_pairs: Pairs = (), *,
          with_script: bool = False) -> ExplorerPage:
    """A whole explorer page around ``body``; ``with_script`` adds the explorer's script
    (and lets it fetch from this server)."""
    css, js = explorer_assets()
    script = f"<script>{js}</script>" if with_script else ""
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer">'
            f"<title>{escape(title)}</title><style>{css}</style></head>"
            f'<body class="explorer-page"><main class="explorer">{corpus_nav(nav_pairs)}'
            f"{body}</main>{script}</body></html>")
    allowed = f"script-src {csp_hash(js)}; connect-src 'self'; " if with_script else ""
    return ExplorerPage(html, f"default-src 'none'; style-src {csp_hash(css)}; {allowed}"
                              "img-src data:; base-uri 'none'; form-action 'self'")


#: filled by explorer.js from GET /api/v1/corpus/adapt; stays hidden where that answers no
#: job (a read-only server has no such route)
_ADAPT_PANEL = (
    '<section class="adapt" id="adapt" hidden aria-labelledby="h-adapt">'
    '<h2 id="h-adapt">Adapt the model to these reviews</h2>'
    '<p id="adapt-summary"></p>'
    '<p><button type="button" id="adapt-start" hidden></button></p>'
    '<p id="adapt-status" role="status"></p>'
    '<progress id="adapt-progress" hidden></progress>'
    '<div class="table-scroll"><table id="adapt-figures" hidden><caption>Held-out figures '
    '(each fold of the reviewed articles scored by a model fitted without it)</caption>'
    '<thead><tr><th scope="col">model</th><th scope="col" class="num">SI precision</th>'
    '<th scope="col" class="num">SI recall</th><th scope="col" class="num">SI F1</th>'
    '<th scope="col" class="num">TC micro-F1</th><th scope="col" class="num">ECE</th></tr>'
    "</thead><tbody></tbody></table></div>"
    '<p><button type="button" id="adapt-switch" hidden>Switch to the adapted model</button>'
    "</p></section>")


def corpus_nav(pairs: Pairs) -> str:
    return (f'<nav class="corpus"><a href="{href("/corpus", pairs)}">Articles</a>'
            f'<a href="{href("/corpus/charts", pairs)}">Charts</a>'
            f'<a href="{href("/corpus/compare", pairs)}">Compare</a>'
            '<a href="/">Analyze a text</a></nav>')


def _technique_label(name: str) -> str:
    return technique_view(name)[1]


def _filter_form(query: ListQuery) -> str:
    f = query.filter
    options = ['<option value="">any</option>'] + [
        f'<option value="{escape(t.name)}"{" selected" if f.techniques[:1] == (t.name,) else ""}>'
        f"{escape(t.label)}</option>" for t in TECHNIQUES]
    extra = "".join(f'<input type="hidden" name="technique" value="{escape(t)}">'
                    for t in f.techniques[1:])

    def field(name: str, label: str, value: object, kind: str = "text") -> str:
        shown = "" if value is None else str(value)
        return (f'<label>{label}<input type="{kind}" name="{name}" value="{escape(shown)}"'
                f'{" min=0" if kind == "number" else ""}></label>')

    sorts = "".join(f'<option value="{s}"{" selected" if s == query.sort else ""}>{s}</option>'
                    for s in SORTS)
    orders = "".join(f'<option value="{o}"{" selected" if o == query.order else ""}>'
                     f'{"descending" if o == "desc" else "ascending"}</option>'
                     for o in ("desc", "asc"))
    return (f'<form class="filters" method="get" action="/corpus" role="search">'
            f'{field("q", "Words in the title", f.q)}{field("outlet", "Outlet", f.outlet)}'
            f'<label>Technique<select name="technique">{"".join(options)}</select></label>{extra}'
            f'{field("category", "Category (2023)", f.category)}'
            f'{field("language", "Language", f.language)}'
            f'{field("from", "Published from", f.date_from, "date")}'
            f'{field("to", "to", f.date_to, "date")}'
            f'{field("min_words", "Words at least", f.min_words, "number")}'
            f'{field("max_words", "at most", f.max_words, "number")}'
            f'<label>Sort by<select name="sort">{sorts}</select></label>'
            f'<label>Order<select name="order">{orders}</select></label>'
            f'<input type="hidden" name="limit" value="{query.limit}">'
            '<button type="submit">Apply</button></form>')


def _facets(query: ListQuery, facets: dict[str, list[dict[str, Any]]]) -> str:
    f = query.filter
    out = []
    for name, title in (("outlet", "Outlets"), ("technique", "Techniques"),
                        ("category", "Categories (2023)"), ("language", "Languages")):
        rows = facets.get(name) or []
        if not rows:
            continue
        items = []
        for row in rows:
            value = str(row["value"])
            if name == "technique":
                chosen = value in f.techniques
                changed = f.but(techniques=tuple(t for t in f.techniques if t != value)
                                if chosen else (*f.techniques, value))
                label = _technique_label(value)
            else:
                chosen = (getattr(f, name) or "").lower() == value.lower()
                changed = f.but(**{name: None if chosen else value})
                label = value
            link = href("/corpus", ListQuery(changed, query.sort, query.order,
                                             query.limit).params())
            cls = ' class="selected"' if chosen else ""
            mark = " ✕" if chosen else ""
            items.append(f'<li{cls}><a href="{link}" data-facet="{name}">{escape(label)}{mark}'
                         f'</a><span class="n">{row["n"]:,}</span></li>')
        out.append(f"<h3>{title}</h3><ul>{''.join(items)}</ul>")
    return f'<aside class="facets" aria-label="Facets">{"".join(out)}</aside>'


def _chips(query: ListQuery) -> str:
    """One link per active filter that removes it."""
    f = query.filter
    chips = []
    for key, value in f.params():
        if key == "technique":
            rest = f.but(techniques=tuple(t for t in f.techniques if t != value))
        else:
            name = {"from": "date_from", "to": "date_to"}.get(key, key)
            rest = f.but(**{name: None})
        link = href("/corpus", ListQuery(rest, query.sort, query.order, query.limit).params())
        shown = _technique_label(value) if key == "technique" else value
        chips.append(f'<a href="{link}" title="remove this filter">{escape(key)}: '
                     f"{escape(shown)} ✕</a>")
    return f'<div class="chips">{"".join(chips)}</div>' if chips else ""


def _cell(value: Any) -> str:
    return "" if value is None else escape(str(value))


def render_list(query: ListQuery, rows: list[dict[str, Any]], total: int,
                facets: dict[str, list[dict[str, Any]]]) -> ExplorerPage:
    """The article list page: filters, facets, one page of rows, paging and exports."""
    pairs = query.params()
    window = [("limit", str(query.limit)), ("offset", str(query.offset))]
    body_rows = []
    for row in rows:
        link = article_href(row["id"], [*pairs, ("offset", str(query.offset))])
        rate = "" if row["rate"] is None else f"{row['rate']:.2f}"
        body_rows.append(
            f'<tr><td><a href="{link}" class="open">{escape(row["title"] or row["id"])}</a></td>'
            f'<td>{_cell(row["outlet"])}</td><td>{_cell(row["published"])}</td>'
            f'<td>{_cell(row["language"])}</td><td class="num">{row["words"] or 0:,}</td>'
            f'<td class="num">{row["findings"] or 0}</td><td class="num">{rate}</td></tr>')
    first, last = (query.offset + 1, query.offset + len(rows)) if rows else (0, 0)
    pager = [f'<span class="muted" id="count">{first:,}–{last:,} of '
             f'<strong data-total="{total}">{total:,}</strong> articles</span>']
    if query.offset > 0:
        back = max(0, query.offset - query.limit)
        pager.insert(0, f'<a rel="prev" href="{href("/corpus", [*pairs, ("limit", str(query.limit)), ("offset", str(back))])}">'  # noqa: E501
                     "← Previous</a>")
    if query.offset + len(rows) < total:
        nxt = query.offset + query.limit
        pager.append(f'<a rel="next" href="{href("/corpus", [*pairs, ("limit", str(query.limit)), ("offset", str(nxt))])}">'  # noqa: E501
                     "Next →</a>")
    exports = " · ".join(f'<a href="{href(path, pairs)}" download>{name}</a>' for path, name in (
        ("/corpus.csv", "articles CSV"), ("/corpus.json", "articles JSON"),
        ("/corpus/findings.csv", "findings CSV"), ("/corpus/findings.json", "findings JSON")))
    table = ('<div class="table-scroll"><table class="articles"><thead><tr>'
             '<th scope="col">Title</th><th scope="col">Outlet</th><th scope="col">Published</th>'
             '<th scope="col">Language</th><th scope="col" class="num">Words</th>'
             '<th scope="col" class="num">Findings</th>'
             '<th scope="col" class="num" title="findings per 1,000 words (analysed articles '
             'only)">Rate</th></tr></thead>'
             f'<tbody>{"".join(body_rows)}</tbody></table></div>' if rows
             else "<p>No article matches these filters.</p>")
    body = (f"<h1>Corpus</h1>{_filter_form(query)}{_chips(query)}"
            f'<div class="explorer-layout">{_facets(query, facets)}<div>'
            f'<div class="pager">{"".join(pager)}</div>{table}'
            f'<div class="pager">{"".join(pager[::-1][:1]) if total > len(rows) else ""}</div>'
            f'<p class="muted">Export this selection: {exports}. JSON API: '
            f'<a href="{href("/api/v1/corpus/articles", [*pairs, *window])}">'
            f"/api/v1/corpus/articles</a>.</p>{_ADAPT_PANEL}</div></div>")
    return shell("propscan: corpus", body, pairs, with_script=True)


def render_missing_text(row: dict[str, Any], findings: list[dict[str, Any]], nav: str,
                        pairs: Pairs) -> ExplorerPage:
    """An article stored without its text (older databases) or a failed record."""
    if row.get("status") != "ok":
        note = f"This record failed and was not analysed: {row.get('error') or 'no reason'}"
    else:
        note = ("This article was stored before texts were kept, so it cannot be shown "
                "highlighted; run `propscan batch` again on its input to store it.")
    items = "".join(f"<li>{escape(_technique_label(f['technique']))}: {escape(f['text'] or '')}"
                    f" ({f['confidence']:.0%})</li>" for f in findings)
    body = (f'{nav}<h1>{escape(row.get("title") or row["id"])}</h1>'
            f'<p class="notice" role="status">{escape(note)}</p>'
            f'<p class="muted">{escape(" · ".join(str(v) for v in (row.get("outlet"), row.get("published")) if v))}</p>'  # noqa: E501
            + (f"<h2>Findings</h2><ul>{items}</ul>" if items else ""))
    return shell(f"propscan: {row.get('title') or row['id']}", body, pairs)


def article_nav(article_id: str, place: dict[str, Any] | None, pairs: Pairs,
                offset: int) -> str:
    """Back to the list (at the page the article was on), previous and next in the list."""
    back = href("/corpus", [*pairs, ("offset", str(offset))] if offset else pairs)
    parts = [f'<a href="{back}" id="back-to-list">← Back to the list</a>']
    if place:
        if place["previous"]:
            parts.append(f'<a rel="prev" id="previous" href="'
                         f'{article_href(place["previous"], pairs)}">Previous</a>')
        parts.append(f'<span class="muted">{place["position"]:,} of {place["total"]:,}</span>')
        if place["next"]:
            parts.append(f'<a rel="next" id="next" href="'
                         f'{article_href(place["next"], pairs)}">Next</a>')
    else:
        parts.append('<span class="muted">not in the current selection</span>')
    return f'<nav class="article-nav" aria-label="Corpus">{"".join(parts)}</nav>'


def _review_panel(article_id: str, findings: list[Any], corrections: list[dict[str, Any]],
                  read_only: bool) -> str:
    done = "".join(
        f'<li>{escape(str(c.get("created") or ""))[:19]} · {escape(c.get("reviewer") or "")}: '
        f'{escape(c.get("action") or "")} {escape(_technique_label(c["technique"]) if c.get("technique") else "")}'  # noqa: E501
        f'{" → " + escape(_technique_label(c["new_technique"])) if c.get("new_technique") else ""}'
        f'{" [" + str(c["start"]) + ", " + str(c["end"]) + ")" if c.get("start") is not None else ""}'  # noqa: E501
        "</li>" for c in corrections)
    history = (f'<h3>Reviewed so far</h3><ul class="corrections" id="corrections">{done}</ul>'
               if done or not read_only else "")
    if read_only:
        return (f'<section class="review" aria-labelledby="h-review"><h2 id="h-review">Review'
                f"</h2><p class=\"muted\">This server is read-only.</p>{history}</section>"
                if done else "")
    options = "".join(f'<option value="{escape(t.name)}">{escape(t.label)}</option>'
                      for t in TECHNIQUES)
    rows = []
    for f in findings:
        rows.append(
            f'<tr data-start="{f.start}" data-end="{f.end}" data-technique="{escape(f.technique)}">'
            f"<td>{escape(_technique_label(f.technique))}</td><td>{escape(f.text)}</td>"
            '<td><button type="button" data-action="accept">Accept</button>'
            '<button type="button" class="reject" data-action="reject">Reject</button>'
            f'<select aria-label="new technique">{options}</select>'
            '<button type="button" class="secondary" data-action="relabel">Relabel</button>'
            "</td></tr>")
    table = ("<table><thead><tr><th>Technique</th><th>Fragment</th><th>Review</th></tr></thead>"
             f'<tbody>{"".join(rows)}</tbody></table>' if rows else "<p>No findings.</p>")
    return (f'<section class="review" id="review" aria-labelledby="h-review">'
            f'<h2 id="h-review">Review</h2>'
            '<p><label>Your name <input id="reviewer" type="text" maxlength="100" '
            'autocomplete="name"></label></p>'
            f"{table}"
            '<p>Missed a fragment? Select it in the text above, pick its technique and add it: '
            f'<select id="add-technique" aria-label="technique of the missed fragment">{options}'
            '</select> <button type="button" id="add-fragment">Add the selected text</button></p>'
            '<p><button type="button" id="mark-reviewed">Mark the article reviewed</button> '
            '<span class="muted">(what is not marked in a reviewed article counts as no '
            "propaganda)</span></p>"
            f'<p id="review-status" role="status"></p>{history}</section>')


def render_article_view(report: RenderedReport, *, article_id: str, nav: str,
                        findings: list[Any], corrections: list[dict[str, Any]],
                        read_only: bool, body_start: int, body_end: int) -> ExplorerPage:
    """The ``analyze`` report page with the list's navigation and the review panel."""
    css, js = explorer_assets()
    html, found = _REPORT_CSP_META.subn("", report.html, count=1)
    for marker in ("</head>", "<main>", "</main>", "</body>"):
        if marker not in html or not found:
            raise RuntimeError(f"the report page changed: no {marker!r} or CSP meta to hook")
    data = {"id": article_id, "read_only": read_only, "body_start": body_start,
            "body_end": body_end,
            "corrections_url": f"/api/v1/corpus/articles/{quote(article_id, safe='')}"
                               "/corrections"}
    html = html.replace("</head>", f"<style>{css}</style></head>", 1)
    html = html.replace("<main>", f"<main>{nav}", 1)
    html = html.replace("</main>", _review_panel(article_id, findings, corrections, read_only)
                        + "</main>", 1)
    head, tail = html.rsplit("</body>", 1)
    html = (f'{head}<script type="application/json" id="explorer-data">{json_block(data)}'
            f"</script><script>{js}</script></body>{tail}")
    csp = (f"default-src 'none'; style-src {report.style_hash} {csp_hash(css)}; "
           f"script-src {report.script_hash} {csp_hash(js)}; connect-src 'self'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    return ExplorerPage(html, csp)
