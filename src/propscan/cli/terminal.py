"""Rich terminal view of an analysed article: metadata, highlighted body, findings."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from propscan.detect.scoring import REFERENCE_LABELS, ordinal, short_text_note
from propscan.doc import Article
from propscan.techniques import get_technique

__all__ = ["render_article"]


def render_article(article: Article, console: Console) -> None:
    """Print one article: header, body with highlights, a table of findings, warnings."""
    meta = article.meta
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    for label, value in (
        ("Title", meta.title), ("Authors", ", ".join(meta.authors) or None),
        ("Published", meta.published.isoformat() if meta.published else None),
        ("Outlet", meta.outlet), ("Language", meta.language), ("Source", article.source),
    ):
        header.add_row(label, value or "[dim]unknown[/dim]")
    console.print(Panel(header, title="propscan", title_align="left"))
    console.print(Panel(_highlighted_body(article), title="Body", title_align="left"))
    console.print(_findings_table(article))
    if article.scores:
        console.print(_scores_line(article))
    for warning in article.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def _highlighted_body(article: Article) -> Text:
    body = Text(article.text[article.body_start:article.body_end])
    for span in sorted(article.spans, key=lambda s: s.end - s.start, reverse=True):
        start = max(span.start, article.body_start) - article.body_start
        end = min(span.end, article.body_end) - article.body_start
        if end > start:
            body.stylize(f"black on {get_technique(span.technique).colour}", start, end)
    return body


def _findings_table(article: Article) -> Group | Table:
    if not article.spans:
        return Group(Text("No propaganda techniques found.", style="green"))
    table = Table(title=f"{len(article.spans)} findings", show_lines=False, expand=True)
    table.add_column("Offsets", no_wrap=True)
    table.add_column("Technique", no_wrap=True)
    table.add_column("Conf.", justify="right")
    table.add_column("Fragment", ratio=2)
    table.add_column("Reason", ratio=2, style="dim")
    for span in sorted(article.spans, key=lambda s: (s.start, s.end)):
        technique = get_technique(span.technique)
        table.add_row(f"{span.start}-{span.end}",
                      Text(technique.label, style=f"black on {technique.colour}"),
                      f"{span.confidence:.2f}", _shorten(span.text), span.reason)
    return table


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
    text = Text(line + ". A high score is a reason to read closely, not a verdict.",
                style="bold")
    note = short_text_note(int(overall["words"])) if "words" in overall else None
    if note:
        text.append("\n" + note, style="yellow")
    return text


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
