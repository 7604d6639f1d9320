"""Rich terminal view of an analysed article: metadata, highlighted body, findings."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from propscan.detect.scoring import REFERENCE_LABELS
from propscan.doc import Article, Finding
from propscan.report.wording import (
    AUTHOR_VOICE,
    SCORES_NOTE,
    finding_name,
    no_findings_note,
    ordinal,
    reason_cue,
    semeval_name,
    short_text_note,
    voice_note,
)
from propscan.techniques import (
    SEMEVAL_CATEGORIES,
    SEMEVAL_TECHNIQUE_NAMES,
    category_colour,
    get_semeval_technique,
    get_technique,
)

__all__ = ["render_article", "highlighted_body", "findings_view"]

_UNKNOWN_COLOUR = "#d0d0d0"  # a technique this version does not describe
_FRAGMENT_LIMIT = 200  # characters of a fragment shown; the body shows it whole
_INDENT = 4


def render_article(article: Article, console: Console) -> None:
    """Print one article: header, body with highlights, one block per finding, warnings."""
    meta = article.meta
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold", no_wrap=True)
    header.add_column(overflow="fold")
    for label, value in (
        ("Title", meta.title), ("Authors", ", ".join(meta.authors) or None),
        ("Published", meta.published.isoformat() if meta.published else None),
        ("Outlet", meta.outlet), ("Language", meta.language), ("Source", article.source),
    ):
        header.add_row(label, Text(value) if value else Text("unknown", style="dim"))
    console.print(Panel(header, title="propscan", title_align="left"))
    console.print(Panel(highlighted_body(article), title="Body", title_align="left"))
    console.print(findings_view(article))
    if article.scores:
        console.print(_scores_line(article))
    for warning in article.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))


def _style(technique: str) -> str:
    try:
        colour = get_technique(technique).colour
    except KeyError:
        colour = _UNKNOWN_COLOUR
    return f"black on {colour}"


def _finding_style(finding: Finding) -> str:
    """A finding's highlight: its SemEval-2023 category's colour when it has one, else its
    PTC-14 technique's."""
    named = semeval_name(finding)
    if named:
        try:
            return f"black on {category_colour(named[1])}"
        except KeyError:
            return f"black on {_UNKNOWN_COLOUR}"
    return _style(finding.technique)


def _label(technique: str) -> str:
    try:
        return get_technique(technique).label
    except KeyError:
        return technique


def highlighted_body(article: Article) -> Text:
    """The cleaned body (digit runs and other debris removed, as detection read it), each
    finding highlighted in its technique's colour; the input body when there is no cleaned
    text (an article built by hand)."""
    if article.clean_text and len(article.offset_map) == len(article.clean_text):
        body = Text(article.clean_text)
        place = article.offset_map.to_clean
    else:
        body = Text(article.text[article.body_start:article.body_end or len(article.text)])

        def place(start: int, end: int) -> tuple[int, int]:
            return start - article.body_start, end - article.body_start
    # longest first, so a nested finding's colour shows on top of the one around it
    for finding in sorted(article.spans, key=lambda f: f.end - f.start, reverse=True):
        start, end = place(finding.start, finding.end)
        start, end = max(start, 0), min(end, len(body))
        if end > start:
            # reported speech is underlined as well, as the HTML report dots it
            quoted = " underline" if finding.voice == "quoted" else ""
            body.stylize(_finding_style(finding) + quoted, start, end)
    return body


def findings_view(article: Article) -> RenderableType:
    """One block per finding (offsets, technique, confidence; the fragment; the cue), each
    technique's definition once, and what confidence and model score mean; it wraps to any
    console width."""
    if not article.spans:
        return Text(no_findings_note(article), style="green" if article.analysed else "yellow")
    findings = sorted(article.spans, key=Finding.sort_key)
    count = len(findings)
    parts: list[RenderableType] = [
        Text(f"{count} finding{'' if count == 1 else 's'}", style="bold")]
    # a blank line above each block: blocks of wrapped lines read apart
    parts.extend(Padding(_finding_block(f), (1, 0, 0, 0)) for f in findings)
    parts.append(Padding(Text("Techniques found", style="bold"), (1, 0, 0, 0)))
    parts.extend(_semeval_legend(findings))
    for name in dict.fromkeys(f.technique for f in findings if not semeval_name(f)):
        try:
            definition = get_technique(name).definition
        except KeyError:
            definition = "A technique this version of propscan does not describe."
        parts.append(Text.assemble((_label(name), _style(name)), " ", definition))
    parts.append(Text(SCORES_NOTE, style="dim italic"))
    return Group(*parts)


def _semeval_legend(findings: list[Finding]) -> list[RenderableType]:
    """The SemEval-2023 techniques found, under their category in its colour, each with its
    definition once; nothing when no finding has a SemEval-2023 technique."""
    found = {f.technique_2023 for f in findings if f.technique_2023}
    lines: list[RenderableType] = []
    for category in SEMEVAL_CATEGORIES:
        names = [n for n in SEMEVAL_TECHNIQUE_NAMES
                 if n in found and get_semeval_technique(n).category == category]
        if not names:
            continue
        lines.append(Text(category, style=f"bold black on {category_colour(category)}"))
        for name in names:
            t = get_semeval_technique(name)
            lines.append(Padding(Text.assemble((f"{t.label} ({name})", "bold"), " ",
                                               t.definition), (0, 0, 0, 2)))
    for name in sorted(found - set(SEMEVAL_TECHNIQUE_NAMES)):
        lines.append(Text(f"{name}: a technique this version of propscan does not describe."))
    return lines


def _finding_block(finding: Finding) -> RenderableType:
    head = Text.assemble((f"{finding.start}-{finding.end}", "bold"), "  ",
                         (finding_name(finding), _finding_style(finding)),
                         f"  confidence {finding.confidence:.2f}")
    voice = voice_note(finding.voice, finding.speaker)
    if voice:
        head.append(f"  {voice}", style="italic")
    fragment = " ".join(finding.text.split())
    if len(fragment) > _FRAGMENT_LIMIT:
        fragment = fragment[:_FRAGMENT_LIMIT - 1] + "…"
    lines: list[RenderableType] = [head, Padding(Text(f"“{fragment}”"), (0, 0, 0, _INDENT))]
    cue = reason_cue(finding.reason, _label(finding.technique), _definition(finding.technique))
    if cue:
        lines.append(Padding(Text(cue, style="dim"), (0, 0, 0, _INDENT)))
    return Group(*lines)


def _definition(technique: str) -> str:
    try:
        return get_technique(technique).definition
    except KeyError:
        return ""


def _scores_line(article: Article) -> Text:
    overall = article.scores.get("overall", {})
    count = overall.get("spans", 0)
    line = (f"Article score: {count} span{'' if count == 1 else 's'}, "
            f"{overall.get('per_1000_words', 0):.1f} per 1,000 words, "
            f"{100 * overall.get('coverage', 0):.0f}% of the body covered")
    refs = article.scores.get("percentiles", {})
    ranks = [f"{ordinal(round(refs[ref]['overall']['per_1000_words']))} percentile of {label}"
             for ref, label in REFERENCE_LABELS.items() if "overall" in refs.get(ref, {})]
    if ranks:
        line += " (" + "; ".join(ranks) + ")"
    author = article.scores.get("author")
    if isinstance(author, dict) and "per_1000_words" in author:
        own = author.get("spans", 0)
        line += (f"; in {AUTHOR_VOICE}, quotations left out: {own} span{'' if own == 1 else 's'}"
                 f", {author['per_1000_words']:.1f} per 1,000 words, "
                 f"{100 * author.get('coverage', 0):.0f}% covered")
    text = Text(line + ". A high score is a reason to read closely, not a verdict.",
                style="bold")
    note = short_text_note(int(overall["words"])) if "words" in overall else None
    if note:
        text.append("\n" + note, style="yellow")
    return text
