"""Ingest: turn files, bytes and records into :class:`~propscan.doc.Article` objects.

Every reader ends in :func:`from_text` (or :func:`from_html`, which extracts text and then does
the same), so ``analyze``, the web app and batch agree on every article:
decode -> find layout (title, byline, body, bio) -> clean the body with an offset map ->
identify the language -> metadata.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

from propscan.doc import Article, Metadata
from propscan.errors import (
    EmptyInput,
    InputNotFound,
    InputTooLarge,
    InvalidRecord,
    UnsupportedFormat,
)
from propscan.ingest.clean import clean_region
from propscan.ingest.decode import MAX_ARTICLE_BYTES, MAX_FILE_BYTES, check_text, decode_bytes
from propscan.ingest.html_extract import extract_html
from propscan.ingest.language import detect_language
from propscan.ingest.plaintext import (
    is_page_furniture,
    paragraphs_only,
    parse_date,
    parse_layout,
)
from propscan.ingest.records import RECORD_FIELDS, iter_json_records

__all__ = [
    "INPUT_FORMATS",
    "MAX_ARTICLE_BYTES",
    "MAX_FILE_BYTES",
    "detect_format",
    "from_bytes",
    "from_html",
    "from_record",
    "from_text",
    "read_path",
    "article_id",
]

#: Values accepted by ``--input-format``.
INPUT_FORMATS = ("auto", "text", "ptc", "html", "json", "jsonl")
_EXTENSIONS = {".txt": "text", ".text": "text", ".md": "text", ".html": "html", ".htm": "html",
               ".xhtml": "html", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_HTML_START = re.compile(r"^\s*(?:<!doctype html|<html|<head|<body|<article|<div|<p[\s>])", re.I)
_PTC_NAME = re.compile(r"^article\d+\.txt$")
_ENGLISH_ONLY = "language is {lang!r}, not English: the detection models are English-only, " \
                "so findings may be missing or wrong"


def article_id(text: str, url: str | None = None) -> str:
    """A stable id: the URL when known, else a hash of the content."""
    return url if url else "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def detect_format(name: str | None, text: str) -> str:
    """Guess the input format from the file name, then from the content."""
    if name:
        suffix = Path(name).suffix.lower()
        if _PTC_NAME.match(Path(name).name) and not paragraphs_only(text):
            return "ptc"
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    head = text[:2000]
    if _HTML_START.match(head):
        return "html"
    if head.lstrip().startswith(("{", "[")):
        return "json"
    return "text"


def from_text(text: str, *, meta: dict[str, Any] | None = None, input_format: str = "auto",
              source: str | None = None, warnings: list[str] | None = None) -> Article:
    """Build an article from plain text (crawler file, PTC file or headerless text)."""
    check_text(text, what=source or "text")
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_ARTICLE_BYTES:
        raise InputTooLarge(f"{source or 'text'} is over the {MAX_ARTICLE_BYTES:,}-byte limit")
    layout = parse_layout(text, hint=input_format)
    # PTC files are left as they are: their labels count offsets into the body as given
    skip = None if "ptc" in (layout.layout, input_format) else is_page_furniture
    clean_text, offset_map = clean_region(text, layout.body_start, layout.body_end,
                                          skip_line=skip)
    if skip is not None and not clean_text.strip():  # nothing but furniture: analyse that
        clean_text, offset_map = clean_region(text, layout.body_start, layout.body_end)
    if not clean_text.strip():
        raise EmptyInput(f"{source or 'text'} has a header but no body text")
    metadata = Metadata(title=layout.title, authors=layout.authors, published=layout.published,
                        outlet=layout.outlet)
    fmt = {"crawler": "text", "ptc": "ptc"}.get(layout.layout, "text")
    if input_format == "ptc":
        fmt = "ptc"
    return _finish(Article(
        text=text, meta=metadata, clean_text=clean_text, offset_map=offset_map,
        body_start=offset_map.starts[0], body_end=offset_map.ends[-1], source=source,
        input_format=fmt, warnings=list(warnings or []),
    ), meta)


def from_html(html: str, *, url: str | None = None, meta: dict[str, Any] | None = None,
              source: str | None = None, warnings: list[str] | None = None) -> Article:
    """Build an article from an HTML page; ``Article.text`` is the extracted text."""
    check_text(html, what=source or "HTML")
    page = extract_html(html, url=url)
    text = page.text
    body_start = 0
    if page.title and text.startswith(page.title):
        # trafilatura repeats the headline as the first line; it is the title, not body.
        body_start = len(page.title)
    clean_text, offset_map = clean_region(text, body_start, len(text))
    if not clean_text.strip():
        raise EmptyInput(f"{source or 'HTML page'} has no body text")
    metadata = Metadata(title=page.title, authors=page.authors, published=page.published,
                        outlet=page.outlet, url=page.url)
    return _finish(Article(
        text=text, meta=metadata, clean_text=clean_text, offset_map=offset_map,
        body_start=offset_map.starts[0], body_end=offset_map.ends[-1], source=source,
        input_format="html", warnings=list(warnings or []),
    ), meta)


def from_record(record: dict[str, Any], *, source: str | None = None) -> Article:
    """Build an article from a record with ``text`` or ``html`` plus optional metadata."""
    meta = {RECORD_FIELDS[k]: v for k, v in record.items() if k in RECORD_FIELDS and v}
    if isinstance(record.get("html"), str) and not isinstance(record.get("text"), str):
        return from_html(record["html"], url=meta.get("url"), meta=meta, source=source)
    if not isinstance(record.get("text"), str):
        raise InvalidRecord(f"{source or 'record'}: needs a 'text' or 'html' string field")
    return from_text(record["text"], meta=meta, source=source)


def from_bytes(data: bytes, *, name: str | None = None,
               input_format: str | None = None) -> list[Article]:
    """Decode and read one input (a file's content); record files give several articles."""
    what = name or "input"
    fmt = input_format if input_format not in (None, "auto") else None
    if fmt is not None and fmt not in INPUT_FORMATS:
        raise UnsupportedFormat(f"unknown input format {fmt!r}; use one of "
                                f"{', '.join(INPUT_FORMATS)}")
    is_records = fmt in ("json", "jsonl") or (fmt is None and name is not None and
                                             Path(name).suffix.lower() in (".json", ".jsonl",
                                                                           ".ndjson"))
    limit = MAX_FILE_BYTES if is_records else MAX_ARTICLE_BYTES
    text, warning = decode_bytes(data, what=what, max_bytes=limit)
    warnings = [warning] if warning else []
    fmt = fmt or detect_format(name, text)
    if fmt == "html":
        return [from_html(text, source=name, warnings=warnings)]
    if fmt in ("json", "jsonl"):
        articles = []
        for n, record in enumerate(iter_json_records(text, what=what), 1):
            articles.append(from_record(record, source=f"{what}#{n}" if name else None))
        if not articles:
            raise EmptyInput(f"{what} holds no records")
        return articles
    return [from_text(text, input_format=fmt, source=name, warnings=warnings)]


def read_path(path: str | Path, input_format: str | None = None) -> list[Article]:
    """Read a file (``"-"`` for standard input) into articles."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return from_bytes(data, name=None, input_format=input_format)
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"{p}: no such file")
    if p.is_dir():
        raise InputNotFound(f"{p}: is a directory; give a file (use `propscan batch` for "
                            "directories)")
    size = p.stat().st_size
    records = (input_format in ("json", "jsonl")
               or p.suffix.lower() in (".json", ".jsonl", ".ndjson"))
    limit = MAX_FILE_BYTES if records else MAX_ARTICLE_BYTES
    if size > limit:
        raise InputTooLarge(f"{p} is {size:,} bytes; the limit is {limit:,} bytes")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise InputNotFound(f"{p}: cannot read ({err.strerror})") from None
    return from_bytes(data, name=str(p), input_format=input_format)


def _finish(article: Article, meta: dict[str, Any] | None) -> Article:
    """Apply caller-given metadata (it wins over what was parsed), language, id."""
    if meta:
        _apply_meta(article.meta, meta)
    language = article.meta.language or detect_language(article.clean_text)
    article.meta.language = language
    if language and language != "en":
        article.warnings.append(_ENGLISH_ONLY.format(lang=language))
    article.id = str(meta["id"]) if meta and meta.get("id") else article_id(article.text,
                                                                           article.meta.url)
    return article


def _apply_meta(target: Metadata, meta: dict[str, Any]) -> None:
    for key, value in meta.items():
        if key == "authors":
            target.authors = [value] if isinstance(value, str) else [str(a) for a in value]
        elif key == "published":
            target.published = parse_date(str(value))
        elif key in ("title", "outlet", "url", "language"):
            setattr(target, key, str(value))
