"""The document model every stage shares: an :class:`Article` and its :class:`Span` findings.

Like spaCy's ``Doc``, an Article owns the text. ``Article.text`` is the input exactly as decoded
(for HTML: the text that extraction produced); every offset propscan reports indexes it, so for a
plain-text file the offsets are the file's own, as in the PTC corpus. ``clean_text`` is the body
with scraping debris removed, and ``offset_map`` maps each cleaned character back into ``text``.

Stages fill the model in order: ingest sets text, metadata, clean_text and the offset map; detect
adds spans; scoring adds the article-level figures; report and the shells only read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from propscan.offsets import OffsetMap

__all__ = ["SCHEMA_VERSION", "Span", "Metadata", "Article"]

#: Version of the JSON output shape; bumped on any incompatible change (documented in README).
SCHEMA_VERSION = "1.0"


@dataclass
class Span:
    """A fragment of ``Article.text`` that uses a propaganda technique.

    ``start``/``end`` are character offsets into ``Article.text``, end exclusive, so
    ``article.text[span.start:span.end] == span.text`` always holds.
    """

    start: int
    end: int
    technique: str
    confidence: float
    text: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confidence"] = round(float(self.confidence), 4)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        return cls(
            start=int(data["start"]), end=int(data["end"]), technique=str(data["technique"]),
            confidence=float(data.get("confidence", 1.0)), text=str(data.get("text", "")),
            reason=str(data.get("reason", "")),
        )


@dataclass
class Metadata:
    """What the article says about itself. Every field is optional."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    outlet: str | None = None
    language: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "authors": list(self.authors),
            "published": self.published.isoformat() if self.published else None,
            "outlet": self.outlet,
            "language": self.language,
            "url": self.url,
        }


@dataclass
class Article:
    """One article flowing through the pipeline (see the module docstring)."""

    text: str
    meta: Metadata = field(default_factory=Metadata)
    clean_text: str = ""
    offset_map: OffsetMap = field(default_factory=OffsetMap)
    body_start: int = 0
    body_end: int = 0
    spans: list[Span] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    id: str | None = None
    source: str | None = None  # where it came from: a path, "-" for stdin, a URL
    input_format: str | None = None  # "text", "ptc", "html", "json", ...

    def span_from_clean(self, start: int, end: int, technique: str, confidence: float,
                        reason: str = "") -> Span:
        """Make a :class:`Span` from offsets into ``clean_text``, mapped back into ``text``."""
        ts, te = self.offset_map.to_input(start, end)
        return Span(ts, te, technique, confidence, self.text[ts:te], reason)

    def span_from_text(self, start: int, end: int, technique: str, confidence: float,
                       reason: str = "") -> Span:
        """Make a :class:`Span` from offsets into ``text``."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the text of length "
                             f"{len(self.text)}")
        return Span(start, end, technique, confidence, self.text[start:end], reason)

    @property
    def body(self) -> str:
        """The body as it stands in the input (title, byline and bio excluded)."""
        return self.text[self.body_start:self.body_end]

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON shape documented in the README."""
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "source": self.source,
            "input_format": self.input_format,
            "article": {
                **self.meta.to_dict(),
                "text": self.text,
                "clean_text": self.clean_text,
                "body_start": self.body_start,
                "body_end": self.body_end,
            },
            "spans": [s.to_dict() for s in sorted(self.spans, key=_span_order)],
            "scores": self.scores,
            "warnings": list(self.warnings),
        }


def _span_order(span: Span) -> tuple[int, int, str]:
    return (span.start, -span.end, span.technique)
