"""Ingest: turn files, bytes and records into :class:`~propscan.doc.Article` objects.

Every reader ends in :func:`from_text` (or :func:`from_html`, which extracts text and then does
the same), so ``analyze``, the web app and batch agree on every article:
decode -> find layout (title, byline, body, bio) -> clean the body with an offset map ->
identify the language -> metadata.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from propscan.doc import Article, Metadata, Quotation
from propscan.errors import (
    EmptyInput,
    EncodingError,
    InputNotFound,
    InputTooLarge,
    UnsupportedFormat,
)
from propscan.ingest.clean import clean_region
from propscan.ingest.decode import MAX_ARTICLE_BYTES, MAX_FILE_BYTES, check_text, decode_bytes
from propscan.ingest.formats import CORPUS_FORMATS, INPUT_FORMATS, RECORD_FORMATS, format_of
from propscan.ingest.html_extract import extract_html
from propscan.ingest.language import detect_language
from propscan.ingest.plaintext import (
    is_page_furniture,
    paragraphs_only,
    parse_date,
    parse_layout,
)
from propscan.ingest.quotes import find_quotations
from propscan.ingest.records import RECORD_FIELDS, check_record, iter_json_records

__all__ = [
    "INPUT_FORMATS",
    "MAX_ARTICLE_BYTES",
    "MAX_FILE_BYTES",
    "detect_format",
    "from_bytes",
    "from_html",
    "from_record",
    "from_text",
    "iter_bytes",
    "iter_path",
    "read_path",
    "read_input_bytes",
    "article_id",
]

_HTML_START = re.compile(r"^\s*(?:<!doctype html|<html|<head|<body|<article|<div|<p[\s>])", re.I)
_PTC_NAME = re.compile(r"^article\d+\.txt$")
_JSON_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*[\[{]")


def article_id(text: str, url: str | None = None) -> str:
    """A stable id: the URL when known, else a hash of the content."""
    return url if url else "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def detect_format(name: str | None, text: str) -> str:
    """Guess the input format from the file name, then from the content."""
    if name:
        if _PTC_NAME.match(Path(name).name) and not paragraphs_only(text):
            return "ptc"
        announced = format_of(name)
        if announced is not None:
            return announced
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
    if len(_encode(text, source or "text")) > MAX_ARTICLE_BYTES:
        raise InputTooLarge(f"{source or 'text'} is over the {MAX_ARTICLE_BYTES:,}-byte limit")
    layout = parse_layout(text, hint=input_format)
    # PTC files are left as they are: their labels count offsets into the body as given
    skip = None if "ptc" in (layout.layout, input_format) else is_page_furniture
    clean_text, offset_map = clean_region(text, layout.body_start, layout.body_end,
                                          skip_line=skip)
    if skip is not None and not clean_text.strip():  # nothing but furniture: analyse that
        clean_text, offset_map = clean_region(text, layout.body_start, layout.body_end)
    if not clean_text.strip():
        header = " (only a header)" if layout.title or layout.layout == "crawler" else ""
        raise EmptyInput(f"{source or 'text'} has no body text{header}")
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
    if len(_encode(html, source or "HTML")) > MAX_ARTICLE_BYTES:
        raise InputTooLarge(f"{source or 'HTML'} is over the {MAX_ARTICLE_BYTES:,}-byte limit")
    try:
        page = extract_html(html, url=url)
    except EmptyInput as err:
        raise EmptyInput(f"{source or 'HTML page'}: {err.message}") from None
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
        input_format="html", warnings=[*(warnings or []), *page.warnings],
    ), meta)


def from_record(record: dict[str, Any], *, source: str | None = None) -> Article:
    """Build an article from a record with ``text`` or ``html`` plus optional metadata.

    propscan's own JSON output is a record too: its text and metadata are read back, so an
    article can be analysed again with a newer model without losing what it said about itself.
    """
    return _from_checked_record(check_record(record, source or "record"), source=source)


def _from_checked_record(record: dict[str, Any], *, source: str | None) -> Article:
    meta = {RECORD_FIELDS[k]: v for k, v in record.items() if k in RECORD_FIELDS and v}
    if isinstance(record.get("html"), str) and not isinstance(record.get("text"), str):
        return from_html(record["html"], url=meta.get("url"), meta=meta, source=source)
    return from_text(record["text"], meta=meta, source=source)


def from_bytes(data: bytes, *, name: str | None = None, input_format: str | None = None,
               url: str | None = None) -> list[Article]:
    """Decode and read one input (a file's content); record files give several articles.
    ``url``: where an HTML page came from (a crawl), for its metadata."""
    return list(iter_bytes(data, name=name, input_format=input_format, url=url))


def iter_bytes(data: bytes, *, name: str | None = None, input_format: str | None = None,
               url: str | None = None) -> Iterator[Article]:
    """:func:`from_bytes`, one article at a time. Every record is checked before the first
    article is made, so a malformed record stops the input before any result is given."""
    what = name or "input"
    fmt = _requested_format(input_format)
    announced = format_of(name)
    if fmt is None and announced in CORPUS_FORMATS:
        raise UnsupportedFormat(f"{what}: {announced.upper()} files hold a corpus; read them "
                                "with `propscan batch`")
    is_records = fmt in RECORD_FORMATS or (fmt is None and announced in RECORD_FORMATS)
    # a file of unknown kind (standard input) may be records: JSON gets the record-file cap
    maybe_records = is_records or (fmt is None and announced is None
                                   and _JSON_START.match(data[:4096]) is not None)
    limit = MAX_FILE_BYTES if maybe_records else MAX_ARTICLE_BYTES
    text, warning = decode_bytes(data, what=what, max_bytes=limit, guess=not is_records)
    del data  # a record file's bytes (up to 200 MiB) are not kept beside its text
    warnings = [warning] if warning else []
    if fmt is not None:
        _check_forced_format(fmt, text, what)
    fmt = fmt or detect_format(name, text)
    if is_records and fmt not in RECORD_FORMATS:
        raise UnsupportedFormat(f"{what} is named as a record file but holds no JSON records")
    if fmt == "html":
        yield from_html(text, url=url, source=name, warnings=warnings)
    elif fmt in RECORD_FORMATS:
        records = iter_json_records(text, what=what)  # checks every record before the first
        first = next(records, None)
        if first is None:
            raise EmptyInput(f"{what} holds no records")
        for n, record in enumerate(_chain(first, records), 1):
            yield _from_checked_record(record, source=f"{what}#{n}" if name else None)
    else:
        yield from_text(text, input_format=fmt, source=name, warnings=warnings)


def read_input_bytes(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file (``"-"``: standard input), at most ``limit``.

    Reads at most ``limit + 1`` bytes from anything, so ``/dev/zero`` or an endless pipe ends
    in InputTooLarge instead of filling memory; refuses devices, FIFOs and sockets before
    opening them (a FIFO with no writer would block forever).
    """
    if str(path) == "-":
        if sys.stdin is None:  # started with standard input closed
            raise InputNotFound("standard input is closed; give a file or pipe the text in")
        data = sys.stdin.buffer.read(limit + 1)
    else:
        p = Path(path)
        try:
            info = p.stat()
        except FileNotFoundError:
            raise InputNotFound(f"{p}: no such file") from None
        except OSError as err:
            raise InputNotFound(f"{p}: cannot read ({err.strerror})") from None
        except ValueError:  # a NUL byte in the path
            raise InputNotFound(f"{str(p)!r}: not a valid path") from None
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise InputNotFound(f"{p}: is a directory; give a file (use `propscan batch` for "
                                "directories)")
        if not stat.S_ISREG(mode):
            raise UnsupportedFormat(f"{p}: not a regular file (a device, FIFO or socket); "
                                    "give a file, or pipe it to standard input with -")
        if info.st_size > limit:  # refused before a byte is read
            raise InputTooLarge(f"{p} is {info.st_size:,} bytes; the limit is {limit:,} bytes")
        try:
            with p.open("rb") as fh:
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
                data = fh.read(limit + 1)
        except OSError as err:
            raise InputNotFound(f"{p}: cannot read ({err.strerror or err})") from None
    if len(data) > limit:
        raise InputTooLarge(f"{'standard input' if str(path) == '-' else path} is over the "
                            f"{limit:,}-byte limit")
    return data


def iter_path(path: str | Path, input_format: str | None = None) -> Iterator[Article]:
    """The articles of a file (``"-"`` for standard input), one at a time."""
    fmt = _requested_format(input_format)
    name = None if str(path) == "-" else str(path)
    records = fmt in RECORD_FORMATS or (fmt is None and format_of(name) in RECORD_FORMATS)
    data = read_input_bytes(path, MAX_FILE_BYTES if records or name is None
                            else MAX_ARTICLE_BYTES)
    return iter_bytes(data, name=name, input_format=input_format)


def read_path(path: str | Path, input_format: str | None = None) -> list[Article]:
    """Read a file (``"-"`` for standard input) into articles."""
    return list(iter_path(path, input_format))


def _check_forced_format(fmt: str, text: str, what: str) -> None:
    """``--input-format`` that the content plainly contradicts is refused (exit 8), instead of
    failing later as an empty or malformed record."""
    head = text[:2000].lstrip()
    if fmt in RECORD_FORMATS and not head.startswith(("{", "[")):
        raise UnsupportedFormat(f"{what} is not JSON, but --input-format {fmt} was given")
    if fmt == "html" and "<" not in text[:65536]:
        raise UnsupportedFormat(f"{what} has no HTML markup, but --input-format html was given")


def _encode(text: str, what: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate (from a JSON escape or an API caller) cannot be
    printed or stored, so it is an EncodingError here rather than a crash in a writer."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise EncodingError(f"{what} holds a lone surrogate (\\u{ord(text[err.start]):04x} at "
                            f"character {err.start:,}): not valid Unicode text") from None


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _requested_format(input_format: str | None) -> str | None:
    if input_format in (None, "auto"):
        return None
    if input_format not in INPUT_FORMATS:
        raise UnsupportedFormat(f"unknown input format {input_format!r}; use one of "
                                f"{', '.join(INPUT_FORMATS)}")
    return input_format


def _finish(article: Article, meta: dict[str, Any] | None) -> Article:
    """Apply caller-given metadata (it wins over what was parsed), language, id."""
    if meta:
        _apply_meta(article.meta, meta)
    # the pipeline analyses English articles only and says so for the others
    article.meta.language = article.meta.language or detect_language(article.clean_text)
    article.id = str(meta["id"]) if meta and meta.get("id") else article_id(article.text,
                                                                           article.meta.url)
    article.quotations = _quotations(article)
    return article


def _quotations(article: Article) -> list[Quotation]:
    """Reported speech and scare quotes of the cleaned body, in offsets into ``text``."""
    found = []
    for q in find_quotations(article.clean_text):
        start, end = article.offset_map.to_input(q.start, q.end)
        found.append(Quotation(start, end, q.speaker, q.kind))
    return found


def _apply_meta(target: Metadata, meta: dict[str, Any]) -> None:
    for key, value in meta.items():
        if key == "authors":
            target.authors = [value] if isinstance(value, str) else [str(a) for a in value]
        elif key == "published":
            target.published = parse_date(str(value)[:100])
        elif key in ("title", "outlet", "url", "language"):
            setattr(target, key, str(value))
