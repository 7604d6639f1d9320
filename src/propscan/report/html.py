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

from propscan.doc import Article, Finding
from propscan.report.figures import (
    UNKNOWN_COLOUR,
    category_class,
    category_index,
    css_class,
    finding_view,
    render_scores,
    scrolling,
    semeval_class,
    technique_view,
)
from propscan.report.wording import (
    CONFIDENCE_NOTE,
    QUOTED_NOTE,
    SCORES_NOTE,
    no_findings_note,
    reason_cue,
    voice_note,
)
from propscan.techniques import (
    SEMEVAL_CATEGORIES,
    SEMEVAL_TECHNIQUE_NAMES,
    TECHNIQUES,
    category_colour,
    get_semeval_technique,
)

__all__ = ["render_article", "render_report", "RenderedReport", "report_assets",
           "csp_hash", "segment_spans"]

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


@lru_cache(maxsize=1)
def report_assets() -> tuple[str, str]:
    """The report's CSS (with one colour rule per technique) and JS, read once from assets/."""
    folder = resources.files("propscan.report") / "assets"
    css = (folder / "report.css").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    rules = [f".{css_class(i)} {{ --c: {t.colour}; }}" for i, t in enumerate(TECHNIQUES)]
    rules.append(f".tx {{ --c: {UNKNOWN_COLOUR}; }}")
    # SemEval-2023 techniques: one class each (the legend hides them one by one), in the
    # colour of their category, so a page shows 6 colours people tell apart
    semeval = [semeval_class(i) for i in range(len(SEMEVAL_TECHNIQUE_NAMES))]
    rules += [f".{cls} {{ --c: {category_colour(get_semeval_technique(name).category)}; }}"
              for cls, name in zip(semeval, SEMEVAL_TECHNIQUE_NAMES, strict=True)]
    rules += [f".{category_class(i)} {{ --c: {category_colour(c)}; }}"
              for i, c in enumerate(SEMEVAL_CATEGORIES)]
    # Legend filter: hiding a technique removes its colour, keeps the text.
    hide = ", ".join(f".hide-{c} .{c}" for c in [css_class(i) for i in range(len(TECHNIQUES))]
                     + ["tx"] + semeval)
    rules.append(f"{hide} {{ border-bottom-color: transparent; background: transparent; }}")
    return css + "\n" + "\n".join(rules) + "\n", js


def segment_spans(spans: list[Finding], start: int, end: int) -> list[tuple[int, int, list[int]]]:
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


def _render_body(article: Article, spans: list[Finding]) -> str:
    start = max(0, min(article.body_start, len(article.text)))
    end = article.body_end if article.body_end > start else len(article.text)
    end = min(end, len(article.text))
    views = [finding_view(s) for s in spans]
    out: list[str] = []
    for a, b, covering in segment_spans(spans, start, end):
        text = escape(article.text[a:b], quote=False)
        if not covering:
            out.append(text)
            continue
        depth = len(covering)
        ids = " ".join(str(i) for i in covering)
        # The fill is the innermost author finding's colour: a quoted finding draws only its
        # dotted underline, so reported speech never reads as the author's own highlight.
        own = [i for i in covering if spans[i].voice != "quoted"]
        fill = own[-1] if own else None
        # The outermost element is the focusable fragment; inner ones only draw underlines.
        parts = []
        for level_from_top, i in enumerate(covering):
            level = min(depth - 1 - level_from_top, _MAX_LEVEL)
            cls = (f"{views[i][0]} l{level}" + (" in" if i == fill else "")
                   + (" quoted" if spans[i].voice == "quoted" else ""))
            if level_from_top == 0:
                parts.append(f'<mark class="frag {cls}" tabindex="0" data-spans="{ids}" '
                             'aria-describedby="tip">')
            else:
                parts.append(f'<span class="u {cls}">')
        out.append("".join(parts) + text + "</span>" * (depth - 1) + "</mark>")
    return "".join(out)


def _legend_button(cls: str, label: str, definition: str, count: int) -> str:
    return (f'<li><button type="button" class="{cls}" data-cls="{cls}" aria-pressed="true" '
            f'title="{escape(definition)}">{escape(label)} '
            f'<span class="count">{count}</span></button></li>')


def _legend(spans: list[Finding]) -> str:
    """One button per technique found (press to hide it), with its count. Findings with a
    SemEval-2023 technique are listed under their category, in its colour; the others (no
    SemEval-2023 model) by PTC-14 technique, as before."""
    ptc_counts: dict[str, int] = {}
    semeval_counts: dict[str, int] = {}
    for s in spans:
        if s.technique_2023 in _SEMEVAL_ORDER:
            semeval_counts[s.technique_2023] = semeval_counts.get(s.technique_2023, 0) + 1
        else:
            ptc_counts[s.technique] = ptc_counts.get(s.technique, 0) + 1
    order = {t.name: i for i, t in enumerate(TECHNIQUES)}
    items = []
    for name in sorted(ptc_counts, key=lambda n: (order.get(n, len(order)), n)):
        items.append(_legend_button(*technique_view(name), ptc_counts[name]))
    groups = []
    for category in SEMEVAL_CATEGORIES:
        names = [n for n in SEMEVAL_TECHNIQUE_NAMES
                 if n in semeval_counts and get_semeval_technique(n).category == category]
        if not names:
            continue
        buttons = "".join(
            _legend_button(semeval_class(_SEMEVAL_ORDER[n]), get_semeval_technique(n).label,
                           f"{n}: {get_semeval_technique(n).definition}", semeval_counts[n])
            for n in names)
        swatch = f'<span class="swatch {category_class(category_index(category) or 0)}"></span>'
        groups.append(f'<li class="legend-group"><span class="group-name">{swatch}'
                      f'{escape(category)}</span><ul class="legend-items" '
                      f'aria-label="{escape(category)}">{buttons}</ul></li>')
    return (f'<ul class="legend" aria-label="Techniques found (press to show or hide)">'
            f'{"".join(groups + items)}</ul>')


_SEMEVAL_ORDER = {name: i for i, name in enumerate(SEMEVAL_TECHNIQUE_NAMES)}


def _safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:/data: hrefs)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


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
    spans = sorted(article.spans, key=Finding.sort_key)  # same order as Article.to_dict()["spans"]
    views = [finding_view(s) for s in spans]
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

    legend = _legend(spans) if spans else f"<p>{escape(no_findings_note(article))}</p>"
    quoted = sum(s.voice == "quoted" for s in spans)
    if quoted:
        # a native checkbox: keyboard and screen readers work without script; report.js
        # mirrors its state as a class on <body>, as the technique buttons do
        legend += ('<p class="voice-filter"><label><input type="checkbox" id="show-quoted" '
                   f'checked> Show the <span class="count">{quoted}</span> quoted '
                   f'finding{"" if quoted == 1 else "s"}, drawn with a '
                   '<span class="quoted-key">dotted underline</span></label> '
                   f'<span class="score-note">{escape(QUOTED_NOTE)}</span></p>')

    rows = []
    for s, (cls, label, _definition) in zip(spans, views, strict=True):
        voice = voice_note(s.voice, s.speaker)
        row = '<tr class="quoted">' if voice else "<tr>"
        said = f'<span class="voice">{escape(voice)}</span>' if voice else ""
        rows.append(f'{row}<td><span class="swatch {cls}"></span>{escape(label)}</td>'
                    f"<td>{said}{escape(s.text)}</td><td>{s.confidence:.0%}</td>"
                    f"<td>{escape(s.reason)}</td></tr>")
    findings = (scrolling(
        '<table class="findings"><thead><tr><th scope="col">Technique</th>'
        f'<th scope="col">Fragment</th><th scope="col" title="{escape(CONFIDENCE_NOTE)}">'
        'Confidence</th><th scope="col">Reason</th>'
        f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
        + f'<p class="score-note">{escape(SCORES_NOTE)}</p>' if rows else "")

    warnings = ""
    if article.warnings:
        warnings = ('<ul class="warnings">'
                    + "".join(f"<li>{escape(w)}</li>" for w in article.warnings) + "</ul>")

    # the detector writes reasons with the PTC-14 label and definition in front
    tip_data = {"spans": [
        {"label": label, "definition": definition, "cls": cls,
         "confidence": f"{s.confidence:.0%}",
         "reason": reason_cue(s.reason, *technique_view(s.technique)[1:]),
         "voice": voice_note(s.voice, s.speaker) or ""}
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
    legend_note = (f'<p class="score-note">Point at or focus a fragment for its technique, '
                   f"confidence and cue. {escape(SCORES_NOTE)}</p>" if spans else "")
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
{legend}{legend_note}</section>
<section aria-labelledby="h-text"><h2 id="h-text">Text</h2>
<div class="body">{_render_body(article, spans)}</div></section>
<section aria-labelledby="h-scores"><h2 id="h-scores">Article figures</h2>
{render_scores(article.scores)}</section>
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
