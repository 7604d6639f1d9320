"""The document model every stage shares: an :class:`Article` and its :class:`Finding` objects.

Like spaCy's ``Doc``, an Article owns the text. ``Article.text`` is the input exactly as decoded
(for HTML: the text that extraction produced); every offset propscan reports indexes it, so for a
plain-text file the offsets are the file's own, as in the PTC corpus. ``clean_text`` is the body
with scraping debris removed, and ``offset_map`` maps each cleaned character back into ``text``.

Stages fill the model in order: ingest sets text, metadata, clean_text and the offset map; detect
adds spans; scoring adds the article-level figures; report and the shells only read it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from propscan.offsets import OffsetMap

__all__ = ["SCHEMA_VERSION", "Finding", "Quotation", "Metadata", "Article", "count_words"]

#: Version of the JSON output shape; bumped on any incompatible change (documented in README).
SCHEMA_VERSION = "1.1"
_WORD = re.compile(r"\w+")


@dataclass
class Finding:
    """A fragment of a text that uses a propaganda technique: the one shape of a finding.

    The same fields are the JSON finding, a row of the ``spans`` table (DuckDB and Parquet,
    with its ``article_id``) and what the API returns. ``start``/``end`` are character offsets,
    end exclusive, into the text the finding was made on; on an :class:`Article` that is
    ``Article.text``, so ``article.text[f.start:f.end] == f.text`` always holds. ``voice`` is
    ``"author"``, or ``"quoted"`` when the fragment lies in reported speech, whose source, as
    the text names it, is ``speaker`` (None when it names none).
    """

    start: int
    end: int
    technique: str
    confidence: float
    text: str = ""
    reason: str = ""
    voice: str = "author"
    speaker: str | None = None
    #: the SemEval-2023 name of the technique and its category (None without that model)
    technique_2023: str | None = None
    category_2023: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confidence"] = round(float(self.confidence), 4)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            start=int(data["start"]), end=int(data["end"]), technique=str(data["technique"]),
            confidence=float(data.get("confidence", 1.0)), text=str(data.get("text") or ""),
            reason=str(data.get("reason") or ""), voice=str(data.get("voice") or "author"),
            speaker=str(data["speaker"]) if data.get("speaker") else None,
            technique_2023=data.get("technique_2023") or None,
            category_2023=data.get("category_2023") or None,
        )

    def sort_key(self) -> tuple[int, int, str]:
        """Reading order: by start, the longer of two fragments at one start first."""
        return (self.start, -self.end, self.technique)


@dataclass(frozen=True)
class Quotation:
    """Words the article reports or marks: ``text[start:end]``.

    ``kind`` is ``"direct"`` (in quotation marks), ``"indirect"`` ("X says that ...") or
    ``"scare"`` (quotation marks that are the author's own irony, not reported speech);
    ``speaker`` is the source as the text names it ("the minister"), None when it names none.
    """

    start: int
    end: int
    speaker: str | None
    kind: str


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
    spans: list[Finding] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    id: str | None = None
    source: str | None = None  # where it came from: a path, "-" for stdin, a URL
    input_format: str | None = None  # "text", "ptc", "html", "json", ...
    analysed: bool = False  # set by the pipeline once detection ran on the article
    #: name and version of the model that made the findings (set by the pipeline)
    model: dict[str, str] = field(default_factory=dict)
    #: reported speech and scare quotes found at ingestion, in offsets into ``text``
    quotations: list[Quotation] = field(default_factory=list)

    def finding_from_clean(self, found: Finding) -> Finding:
        """The finding ``found``, made on ``clean_text``, in offsets into ``text``."""
        ts, te = self.offset_map.to_input(found.start, found.end)
        return replace(found, start=ts, end=te, text=self.text[ts:te])

    def finding_from_text(self, start: int, end: int, technique: str, confidence: float,
                          reason: str = "") -> Finding:
        """A :class:`Finding` from offsets into ``text``; ValueError outside the text."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the text of length "
                             f"{len(self.text)}")
        return Finding(start, end, technique, confidence, self.text[start:end], reason)

    @property
    def word_count(self) -> int:
        """Words (runs of letters, digits and underscores) in the cleaned body: the one word
        count behind every rate, in ``analyze``, the reports, ``batch`` and ``stats``."""
        if self.clean_text:
            return count_words(self.clean_text)
        # a hand-built article without layout: its whole text is the body
        return count_words(self.body if self.body_end > self.body_start else self.text)

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
            "analysed": self.analysed,
            "model": dict(self.model) or None,
            "article": {
                **self.meta.to_dict(),
                "text": self.text,
                "clean_text": self.clean_text,
                "body_start": self.body_start,
                "body_end": self.body_end,
                "quotations": [asdict(q) for q in self.quotations],
            },
            "spans": [f.to_dict() for f in sorted(self.spans, key=Finding.sort_key)],
            "scores": self.scores,
            "warnings": list(self.warnings),
        }


def count_words(text: str) -> int:
    """How many words ``text`` has, counted as :attr:`Article.word_count` counts them."""
    return len(_WORD.findall(text))
