"""HTML pages: main text with trafilatura, metadata from the page, the date with htmldate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from propscan.errors import EmptyInput
from propscan.ingest.plaintext import parse_date

__all__ = ["ExtractedPage", "extract_html"]


@dataclass
class ExtractedPage:
    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    outlet: str | None = None
    url: str | None = None


def extract_html(html: str, *, url: str | None = None) -> ExtractedPage:
    """Extract the article's main text and metadata; EmptyInput when the page has no text."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None or not (doc.text or "").strip():
        raise EmptyInput("no article text could be extracted from the HTML page")
    published = parse_date(doc.date) if doc.date else None
    if published is None:
        published = _find_date(html)
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return ExtractedPage(text=doc.text, title=doc.title or None, authors=authors,
                         published=published, outlet=doc.sitename or doc.hostname or None,
                         url=doc.url or url)


def _find_date(html: str) -> date | None:
    from htmldate import find_date

    # Only dates the page states: no guess from the URL alone or from today's date.
    found = find_date(html, extensive_search=False, original_date=True)
    return parse_date(found) if found else None
