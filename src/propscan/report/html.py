"""The HTML report: one self-contained page per article, shared by the CLI and the web app.

The body is split into segments at every span boundary; each segment is wrapped in one nested
element per span that covers it (outermost = longest span), so overlapping and nested fragments
show as stacked underlines in their technique colours. All text is escaped; the only script and
style are constant inline blocks allowed by a Content-Security-Policy of their sha256 hashes, and
the data they read sits in inert ``application/json`` blocks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from propscan.detect.scoring import REFERENCE_LABELS, ordinal, short_text_note
from propscan.doc import Article, Span, _span_order
from propscan.techniques import TECHNIQUES

__all__ = ["render_article", "render_report", "RenderedReport", "report_assets",
           "csp_hash", "segment_spans"]

#: Colour and label for a technique name that is not one of the 14 (e.g. from an older model).
_UNKNOWN_COLOUR = "#d0d0d0"
_MAX_LEVEL = 5  # deepest stacked-underline class in report.css


@dataclass(frozen=True)
class RenderedReport:
    """A rendered page and the CSP source hashes its inline blocks need."""

    html: str
    script_hash: str  # "'sha256-...'"
    style_hash: str


def csp_hash(content: str) -> str:
    """The CSP source expression that allows exactly this inline block."""
    digest = hashlib.sha256(content.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def _css_class(index: int) -> str:
    return f"t{index}"


_TECHNIQUE_INDEX = {t.name: i for i, t in enumerate(TECHNIQUES)}


@lru_cache(maxsize=1)
def report_assets() -> tuple[str, str]:
    """The report's CSS (with one colour rule per technique) and JS, read once from assets/."""
    folder = resources.files("propscan.report") / "assets"
    css = (folder / "report.css").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    rules = [f".{_css_class(i)} {{ --c: {t.colour}; }}" for i, t in enumerate(TECHNIQUES)]
    rules.append(f".tx {{ --c: {_UNKNOWN_COLOUR}; }}")
    # Legend filter: hiding a technique removes its colour, keeps the text.
    hide = ", ".join(f".hide-{c} .{c}" for c in [_css_class(i) for i in range(len(TECHNIQUES))]
                     + ["tx"])
    rules.append(f"{hide} {{ border-bottom-color: transparent; background: transparent; }}")
    return css + "\n" + "\n".join(rules) + "\n", js


def _technique_view(name: str) -> tuple[str, str, str]:
    """(css class, label, definition) for a technique name, tolerating unknown names."""
    index = _TECHNIQUE_INDEX.get(name)
    if index is None:
        return "tx", name, "A technique this version of propscan does not describe."
    t = TECHNIQUES[index]
    return _css_class(index), t.label, t.definition


def segment_spans(spans: list[Span], start: int, end: int) -> list[tuple[int, int, list[int]]]:
    """Split ``[start, end)`` at every span boundary.

    Returns ``(seg_start, seg_end, covering)`` triples in order, where ``covering`` lists the
    indexes (into ``spans``) of the spans that cover the whole segment, longest first.
    Zero-length spans and the parts of spans outside ``[start, end)`` are ignored.
    """
    clipped = [(max(s.start, start), min(s.end, end)) for s in spans]
    bounds = {start, end}
    for cs, ce in clipped:
        if cs < ce:
            bounds.update((cs, ce))
    points = sorted(bounds)
    opening: dict[int, list[int]] = {}
    closing: dict[int, list[int]] = {}
    for i, (cs, ce) in enumerate(clipped):
        if cs < ce:
            opening.setdefault(cs, []).append(i)
            closing.setdefault(ce, []).append(i)
    active: set[int] = set()
    segments = []
    for a, b in zip(points, points[1:], strict=False):
        active.difference_update(closing.get(a, ()))
        active.update(opening.get(a, ()))
        covering = sorted(active, key=lambda i: (-(spans[i].end - spans[i].start),
                                                 spans[i].start, spans[i].technique, i))
        segments.append((a, b, covering))
    return segments


def _render_body(article: Article, spans: list[Span]) -> str:
    start = max(0, min(article.body_start, len(article.text)))
    end = article.body_end if article.body_end > start else len(article.text)
    end = min(end, len(article.text))
    views = [_technique_view(s.technique) for s in spans]
    out: list[str] = []
    for a, b, covering in segment_spans(spans, start, end):
        text = escape(article.text[a:b], quote=False)
        if not covering:
            out.append(text)
            continue
        depth = len(covering)
        ids = " ".join(str(i) for i in covering)
        # The outermost element is the focusable fragment; inner ones only draw underlines.
        parts = []
        for level_from_top, i in enumerate(covering):
            level = min(depth - 1 - level_from_top, _MAX_LEVEL)
            cls = f"{views[i][0]} l{level}" + (" in" if level_from_top == depth - 1 else "")
            if level_from_top == 0:
                parts.append(f'<mark class="frag {cls}" tabindex="0" data-spans="{ids}" '
                             'aria-describedby="tip">')
            else:
                parts.append(f'<span class="u {cls}">')
        out.append("".join(parts) + text + "</span>" * (depth - 1) + "</mark>")
    return "".join(out)


def _safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:/data: hrefs)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{_readable(k)}: {_format_value(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_format_value(v) for v in value) or "none"
    return str(value)


def _readable(key: Any) -> str:
    return str(key).replace("_", " ").replace("per 1000", "per 1,000")


def _figures(values: dict[str, Any]) -> str:
    rows = "".join(f"<dt>{escape(_readable(k))}</dt><dd>{escape(_format_value(v))}</dd>"
                   for k, v in values.items())
    return f'<dl class="scores">{rows}</dl>'


def _technique_row_header(name: str) -> str:
    """A table row's header cell: the technique's colour swatch and label."""
    cls, label, _ = _technique_view(name)
    return f'<th scope="row"><span class="swatch {cls}"></span>{escape(label)}</th>'


def _technique_table(per_technique: dict[str, Any]) -> str:
    """Per-technique figures (a dict of dicts with the same keys) as a table."""
    columns: list[str] = []
    for figures in per_technique.values():
        for key in figures:
            if key not in columns:
                columns.append(key)
    head = "".join(f'<th scope="col">{escape(_readable(c))}</th>' for c in columns)
    rows = []
    for name, figures in per_technique.items():
        cells = "".join(f"<td>{escape(_format_value(figures.get(c, '')))}</td>"
                        for c in columns)
        rows.append(f"<tr>{_technique_row_header(name)}{cells}</tr>")
    return (f'<table class="findings"><thead><tr><th scope="col">Technique</th>{head}</tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def _is_detector_scores(scores: dict[str, Any]) -> bool:
    """Scores in the shape :func:`propscan.detect.scoring.score_article` gives them."""
    overall = scores.get("overall")
    return (isinstance(overall, dict)
            and all(isinstance(overall.get(k), int | float)
                    for k in ("spans", "per_1000_words", "coverage", "words"))
            and isinstance(scores.get("techniques", {}), dict)
            and all(isinstance(v, dict) for v in scores.get("techniques", {}).values())
            and isinstance(scores.get("percentiles", {}), dict))


def _rank(percentiles: dict[str, Any], key: str, metric: str, unit: str = " percentile") -> str:
    figures = percentiles.get(key)
    value = figures.get(metric) if isinstance(figures, dict) else None
    return f"{ordinal(round(value))}{unit}" if isinstance(value, int | float) else "–"


def _render_detector_scores(scores: dict[str, Any]) -> str:
    """The article's figures in words, its rank among the reference corpora, and per
    technique, as a reader should see them (the JSON keeps the raw numbers)."""
    overall = scores["overall"]
    percentiles = scores.get("percentiles", {})
    refs = {ref: percentiles[ref] for ref in REFERENCE_LABELS
            if isinstance(percentiles.get(ref), dict)}
    count = round(overall["spans"])
    parts = [f'<p class="score-summary"><strong>{count} fragment{"" if count == 1 else "s"}'
             f'</strong> in {overall["words"]:.0f} words: '
             f'{overall["per_1000_words"]:.1f} per 1,000 words, '
             f'{100 * overall["coverage"]:.0f}% of the body covered.</p>']
    note = short_text_note(int(overall["words"]))
    if note:
        parts.append(f'<p class="score-caveat">{escape(note)}</p>')
    if refs:
        rows = "".join(
            f'<tr><th scope="row">{escape(REFERENCE_LABELS[ref])}</th>'
            f'<td>{_rank(p, "overall", "per_1000_words")}</td>'
            f'<td>{_rank(p, "overall", "coverage")}</td></tr>' for ref, p in refs.items())
        parts.append('<table class="figures"><thead><tr><th scope="col">Compared with</th>'
                     '<th scope="col">fragments per 1,000 words</th>'
                     f'<th scope="col">share of the body covered</th></tr></thead>'
                     f"<tbody>{rows}</tbody></table>")
    if scores.get("techniques"):
        head = "".join(f'<th scope="col">{escape(label)}</th>' for label in (
            "fragments", "per 1,000 words", "body covered",
            *(f"percentile among {REFERENCE_LABELS[ref]}" for ref in refs)))
        rows = []
        for name, figures in scores.get("techniques", {}).items():
            ranks = "".join(f"<td>{_rank(p, name, 'per_1000_words', unit='')}</td>"
                            for p in refs.values())
            rows.append(f'<tr>{_technique_row_header(name)}'
                        f'<td>{escape(str(figures.get("spans", "")))}</td>'
                        f'<td>{escape(_format_value(figures.get("per_1000_words", "")))}</td>'
                        f'<td>{escape(_percent(figures.get("coverage")))}</td>{ranks}</tr>')
        parts.append(f'<h3>By technique</h3><table class="figures"><thead><tr>'
                     f'<th scope="col">Technique</th>{head}</tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table>')
    parts.append('<p class="score-note">Technique ranks are by fragments per 1,000 words. A '
                 "high score is a reason to read closely, not a verdict; a low one certifies "
                 "nothing.</p>")
    return "".join(parts)


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else ""


def _render_scores(scores: dict[str, Any]) -> str:
    """Article-level figures: the detector's in words (:func:`_render_detector_scores`);
    any other shape generically, flat values as a list and per-technique figures as a table."""
    if not scores:
        return "<p>No article-level figures (detection was not run).</p>"
    if _is_detector_scores(scores):
        return _render_detector_scores(scores)
    flat = {k: v for k, v in scores.items() if not isinstance(v, dict)}
    parts = [_figures(flat)] if flat else []
    for key, value in scores.items():
        if not isinstance(value, dict) or not value:
            continue
        if all(isinstance(v, dict) for v in value.values()):
            parts.append(f"<h3>{escape(_readable(key))}</h3>{_technique_table(value)}")
        else:
            parts.append(f"<h3>{escape(_readable(key))}</h3>{_figures(value)}")
    return "".join(parts)


def _tip_reason(reason: str, label: str, definition: str) -> str:
    """The reason without a leading "Label: definition" that the tooltip already shows."""
    for prefix in (f"{label}: {definition}", f"{label}:"):
        if reason.startswith(prefix):
            return reason[len(prefix):].strip()
    return reason


def _json_block(value: Any) -> str:
    """JSON that is safe inside a <script> element (no '</script>', no '<!--')."""
    text = json.dumps(value, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _download_name(article: Article) -> str:
    base = article.id or (article.meta.title or "propscan")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-")[:60] or "propscan"
    return f"{slug}.json"


def render_report(article: Article, *, home_url: str | None = None) -> RenderedReport:
    """Render the report page and return it with the CSP hashes of its inline blocks.

    ``home_url`` adds a "New analysis" link (the web app uses it).
    """
    css, js = report_assets()
    spans = sorted(article.spans, key=_span_order)  # same order as Article.to_dict()["spans"]
    views = [_technique_view(s.technique) for s in spans]
    meta = article.meta

    title = meta.title or "Untitled article"
    byline = []
    if meta.authors:
        byline.append("By " + ", ".join(meta.authors))
    if meta.published:
        byline.append(meta.published.isoformat())
    if meta.outlet:
        byline.append(meta.outlet)
    header = [f"<h1>{escape(title)}</h1>"]
    if byline:
        header.append(f'<p class="byline">{escape(" · ".join(byline))}</p>')
    url = _safe_url(meta.url)
    if url:
        header.append(f'<p class="url"><a href="{escape(url)}" rel="noopener noreferrer '
                      f'nofollow">{escape(url)}</a></p>')
    elif meta.url:
        header.append(f'<p class="url">{escape(meta.url)}</p>')
    if meta.language:
        header.append(f"<p>Language: {escape(meta.language)}</p>")

    counts: dict[str, int] = {}
    for s in spans:
        counts[s.technique] = counts.get(s.technique, 0) + 1
    order = {t.name: i for i, t in enumerate(TECHNIQUES)}
    legend_items = []
    for name in sorted(counts, key=lambda n: (order.get(n, len(order)), n)):
        cls, label, definition = _technique_view(name)
        legend_items.append(
            f'<li><button type="button" class="{cls}" data-cls="{cls}" aria-pressed="true" '
            f'title="{escape(definition)}">{escape(label)} '
            f'<span class="count">{counts[name]}</span></button></li>')
    legend = (f'<ul class="legend" aria-label="Techniques found (press to show or hide)">'
              f'{"".join(legend_items)}</ul>' if legend_items
              else "<p>No propaganda techniques were found.</p>")

    rows = []
    for s, (cls, label, _definition) in zip(spans, views, strict=True):
        rows.append(f'<tr><td><span class="swatch {cls}"></span>{escape(label)}</td>'
                    f"<td>{escape(s.text)}</td><td>{s.confidence:.0%}</td>"
                    f"<td>{escape(s.reason)}</td></tr>")
    findings = (
        '<table class="findings"><thead><tr><th scope="col">Technique</th>'
        '<th scope="col">Fragment</th><th scope="col">Confidence</th><th scope="col">Reason</th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody></table>' if rows else "")

    warnings = ""
    if article.warnings:
        warnings = ('<ul class="warnings">'
                    + "".join(f"<li>{escape(w)}</li>" for w in article.warnings) + "</ul>")

    tip_data = {"spans": [
        {"label": label, "definition": definition, "cls": cls,
         "confidence": f"{s.confidence:.0%}",
         "reason": _tip_reason(s.reason, label, definition)}
        for s, (cls, label, definition) in zip(spans, views, strict=True)]}

    script_hash, style_hash = csp_hash(js), csp_hash(css)
    csp = (f"default-src 'none'; style-src {style_hash}; script-src {script_hash}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    nav = []
    if home_url:
        nav.append(f'<a href="{escape(home_url)}">New analysis</a>')
    nav.append(f'<button type="button" id="download-json" '
               f'data-filename="{escape(_download_name(article))}">Download JSON</button>')

    fragments = f"{len(spans)} fragment{'' if len(spans) == 1 else 's'}"
    page = f"""<!DOCTYPE html>
<html lang="{escape(meta.language or 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">
<meta name="referrer" content="no-referrer">
<title>propscan: {escape(title)}</title>
<style>{css}</style>
</head>
<body>
<main>
<nav class="top">{"".join(nav)}</nav>
<header class="meta">{"".join(header)}</header>
{warnings}
<section aria-labelledby="h-legend"><h2 id="h-legend">Techniques ({fragments})</h2>
{legend}</section>
<section aria-labelledby="h-text"><h2 id="h-text">Text</h2>
<div class="body">{_render_body(article, spans)}</div></section>
<section aria-labelledby="h-scores"><h2 id="h-scores">Article figures</h2>
{_render_scores(article.scores)}</section>
<section aria-labelledby="h-findings"><h2 id="h-findings">Findings</h2>
{findings or "<p>None.</p>"}</section>
</main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="propscan-data">{_json_block(tip_data)}</script>
<script type="application/json" id="propscan-json">{_json_block(article.to_dict())}</script>
<script>{js}</script>
</body>
</html>
"""
    return RenderedReport(page, script_hash, style_hash)


def render_article(article: Article) -> str:
    """The self-contained HTML report of one analysed article (inline CSS/JS, works offline)."""
    return render_report(article).html
