"""The article figures section of the HTML report, and how a technique shows in it.

:func:`render_scores` writes the figures of :func:`propscan.detect.scoring.score_article` in
words (counts, rates, ranks among the reference corpora, per technique); any other shape of
scores gets a generic view. :func:`technique_view` gives a technique's CSS class, label and
definition, for names this version does not describe too; :func:`finding_view` the same for a
finding, by its SemEval-2023 technique (coloured by category) when it has one.
"""

from __future__ import annotations

from html import escape
from typing import Any

from propscan.detect.scoring import REFERENCE_LABELS
from propscan.doc import Finding
from propscan.report.wording import AUTHOR_VOICE, finding_name, ordinal, short_text_note
from propscan.techniques import (
    SEMEVAL_CATEGORIES,
    SEMEVAL_TECHNIQUE_NAMES,
    TECHNIQUES,
    get_semeval_technique,
)

__all__ = ["UNKNOWN_COLOUR", "css_class", "semeval_class", "category_class", "technique_view",
           "finding_view", "category_index", "render_scores", "scrolling"]

#: Colour and label for a technique name that is not one of the 14 (e.g. from an older model).
UNKNOWN_COLOUR = "#d0d0d0"


def css_class(index: int) -> str:
    """The CSS class of the technique at ``index`` in TECHNIQUES (its colour rule)."""
    return f"t{index}"


_TECHNIQUE_INDEX = {t.name: i for i, t in enumerate(TECHNIQUES)}


def technique_view(name: str) -> tuple[str, str, str]:
    """(css class, label, definition) for a technique name, tolerating unknown names."""
    index = _TECHNIQUE_INDEX.get(name)
    if index is None:
        return "tx", name, "A technique this version of propscan does not describe."
    t = TECHNIQUES[index]
    return css_class(index), t.label, t.definition


def semeval_class(index: int) -> str:
    """The CSS class of the SemEval-2023 technique at ``index`` in SEMEVAL_TECHNIQUE_NAMES: a
    class per technique (the legend hides one at a time), coloured by its category."""
    return f"s{index}"


def category_class(index: int) -> str:
    """The CSS class of the SemEval-2023 category at ``index`` in SEMEVAL_CATEGORIES."""
    return f"k{index}"


_SEMEVAL_INDEX = {name: i for i, name in enumerate(SEMEVAL_TECHNIQUE_NAMES)}
_CATEGORY_INDEX = {name: i for i, name in enumerate(SEMEVAL_CATEGORIES)}


def finding_view(finding: Finding) -> tuple[str, str, str]:
    """(css class, label, definition) of a finding: by its SemEval-2023 technique, named in
    both taxonomies and coloured by category, when it has one this version knows; else by its
    PTC-14 technique, as :func:`technique_view`."""
    index = _SEMEVAL_INDEX.get(finding.technique_2023 or "")
    if index is None:
        return technique_view(finding.technique)
    return (semeval_class(index), finding_name(finding),
            get_semeval_technique(SEMEVAL_TECHNIQUE_NAMES[index]).definition)


def category_index(category: str) -> int | None:
    """The index of a SemEval-2023 category in SEMEVAL_CATEGORIES; None for another name."""
    return _CATEGORY_INDEX.get(category)


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
    cls, label, _ = technique_view(name)
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
    return scrolling(f'<table class="findings"><thead><tr><th scope="col">Technique</th>'
                      f'{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


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
    parts.append(_author_summary(scores.get("author"), count))
    note = short_text_note(int(overall["words"]))
    if note:
        parts.append(f'<p class="score-caveat">{escape(note)}</p>')
    if refs:
        rows = "".join(
            f'<tr><th scope="row">{escape(REFERENCE_LABELS[ref])}</th>'
            f'<td>{_rank(p, "overall", "per_1000_words")}</td>'
            f'<td>{_rank(p, "overall", "coverage")}</td></tr>' for ref, p in refs.items())
        parts.append(scrolling('<table class="figures"><thead><tr>'
                                '<th scope="col">Compared with</th>'
                                '<th scope="col">fragments per 1,000 words</th>'
                                '<th scope="col">share of the body covered</th></tr></thead>'
                                f"<tbody>{rows}</tbody></table>"))
    if scores.get("techniques"):
        head = "".join(f'<th scope="col">{escape(label)}</th>' for label in (
            "fragments", "per 1,000 words", "body covered",
            *(f"percentile among {REFERENCE_LABELS[ref]}" for ref in refs)))
        technique_rows = []
        for name, figures in scores.get("techniques", {}).items():
            ranks = "".join(f"<td>{_rank(p, name, 'per_1000_words', unit='')}</td>"
                            for p in refs.values())
            technique_rows.append(
                f'<tr>{_technique_row_header(name)}'
                f'<td>{escape(str(figures.get("spans", "")))}</td>'
                f'<td>{escape(_format_value(figures.get("per_1000_words", "")))}</td>'
                f'<td>{escape(_percent(figures.get("coverage")))}</td>{ranks}</tr>')
        parts.append("<h3>By technique</h3>" + scrolling(
            f'<table class="figures"><thead><tr><th scope="col">Technique</th>{head}</tr>'
            f'</thead><tbody>{"".join(technique_rows)}</tbody></table>'))
    parts.append('<p class="score-note">Technique ranks are by fragments per 1,000 words. A '
                 "high score is a reason to read closely, not a verdict; a low one certifies "
                 "nothing.</p>")
    return "".join(parts)


def _author_summary(author: Any, count: int) -> str:
    """The figures over the author's own findings (``scores["author"]``: quotations and
    reported speech left out), beside those over all ``count`` findings; "" without them."""
    if not (isinstance(author, dict) and all(isinstance(author.get(k), int | float)
                                             for k in ("spans", "per_1000_words", "coverage"))):
        return ""
    own = round(author["spans"])
    if own == count:
        return ('<p class="score-summary author-voice">No fragment lies in a quotation or '
                f"reported speech: all are in {AUTHOR_VOICE}.</p>" if count else "")
    quoted = count - own
    return (f'<p class="score-summary author-voice">In <strong>{AUTHOR_VOICE}</strong> '
            f"({quoted} quoted fragment{'' if quoted == 1 else 's'} left out): "
            f"<strong>{own} fragment"
            f'{"" if own == 1 else "s"}</strong>, {author["per_1000_words"]:.1f} per 1,000 '
            f'words, {100 * author["coverage"]:.0f}% of the body covered.</p>')


def scrolling(table: str) -> str:
    """A table in a box that scrolls sideways on its own when wider than a phone screen."""
    return f'<div class="table-scroll">{table}</div>'


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else ""


def render_scores(scores: dict[str, Any]) -> str:
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
