"""Corpus readers: turn paths into a stream of light, picklable :class:`RawRecord` items.

Readers run in the client process and do no ingestion: they only split the input into records,
check each JSON/CSV/Parquet record (:func:`propscan.ingest.records.check_record`) and give each
a stable id (its ``id`` field, else its URL, else a sha256 of its content), so that records
already stored can be skipped before any work is shipped to a worker. Ingestion itself
(decoding, HTML extraction, cleaning) happens in :func:`propscan.batch.engines.ingest_raw`
through the same ``propscan.ingest`` functions the ``analyze`` command uses.

Inputs: directories (walked recursively) and files of the suffixes in
:data:`propscan.ingest.formats.BATCH_SUFFIXES` (``.warc``/``.warc.gz``: HTML responses only).

Nothing a file holds stops the batch: what cannot be read becomes an ``error`` record with its
message, and the records before it are kept.

* A file that cannot be read (gone since it was listed, no permission, over the size cap, not
  a regular file) is one error record, id ``unreadable:<path>``.
* A record that is not valid JSON, nests deeper than ``MAX_JSON_DEPTH``, holds a lone surrogate
  or a field of the wrong type is an error record whose id is a hash of its *raw bytes*, never
  of its text: a broken record cannot shadow a valid twin with the same text.
* A file that breaks midway (a corrupt Parquet page, a CSV that stops being UTF-8) ends in one
  error record, id ``unreadable:<path>``, after the records read before the fault.
* A WARC record cut short (its block holds fewer bytes than its ``Content-Length``, as at the
  end of a truncated crawl) is an error record, id its URL, that says so: part of a page would
  be stored as a whole article and skew every rate. A ``.warc.gz`` whose gzip stream ends early
  also ends in an error record, since warcio drops a record cut inside its headers silently.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from propscan.errors import InputNotFound, PropscanError, UnsupportedFormat
from propscan.ingest.decode import MAX_ARTICLE_BYTES, MAX_FILE_BYTES
from propscan.ingest.formats import BATCH_SUFFIXES, format_of, suffix_of
from propscan.ingest.records import check_record, loads

__all__ = ["RawRecord", "iter_records", "list_inputs", "estimate_total", "content_id"]


@dataclass
class RawRecord:
    """One record before ingestion.

    ``kind`` is ``"bytes"`` (a whole file: ``data`` and ``name``), ``"record"`` (a dict with
    ``text`` or ``html``, as :func:`propscan.ingest.from_record` takes), ``"warc"`` (HTML bytes
    and ``url``), or ``"error"`` (the reader could not even parse it; ``error`` says why).
    """

    id: str
    source: str
    kind: str
    data: bytes = b""
    record: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    error: str | None = None


def content_id(data: bytes | str) -> str:
    """A stable id from content: ``sha256:`` and the first 32 hex digits of its hash.

    Text is hashed as ``propscan.ingest.article_id`` does, so a record's id matches the one
    ``analyze`` gives it; a file is hashed as bytes (the same value for a UTF-8 text file).
    """
    if isinstance(data, str):
        from propscan.ingest import article_id

        return article_id(data)
    return "sha256:" + hashlib.sha256(data).hexdigest()[:32]


def printable(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates (from a file name that is not UTF-8, or a
    JSON ``\\ud800``) become ``\\udcff`` escapes, so the store can always write the row."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def list_inputs(paths: list[str | Path]) -> list[Path]:
    """Expand directories into their supported files (sorted); refuse missing or unknown paths."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if suffix_of(p) in BATCH_SUFFIXES and p.is_file()
                                and not p.name.startswith(".")))
        elif path.is_file():
            if format_of(path) is None:
                raise UnsupportedFormat(
                    f"{printable(str(path))}: unsupported file type; batch reads "
                    f"{', '.join(BATCH_SUFFIXES)} files and directories of them")
            files.append(path)
        elif path.exists():
            raise UnsupportedFormat(f"{printable(str(path))}: not a regular file or directory "
                                    "(a device, FIFO or socket)")
        else:
            raise InputNotFound(f"{printable(str(path))}: no such file or directory")
    return files


def iter_records(paths: list[str | Path]) -> Iterator[RawRecord]:
    """Every record of every input, in a stable order; faults become error records."""
    for path in list_inputs(paths):
        yield from _file_records(path)


def estimate_total(paths: list[str | Path]) -> int | None:
    """How many records the inputs hold, when cheap to tell (None when unknown: WARC).
    A file that cannot be counted counts as one record (the error record it will give)."""
    total = 0
    for path in list_inputs(paths):
        fmt = format_of(path)
        if fmt == "warc":
            return None
        try:
            total += _count(path, fmt)
        except Exception:  # noqa: BLE001 - reading it will give the error record
            total += 1
    return total


def _count(path: Path, fmt: str | None) -> int:
    if fmt == "json":
        data = loads(_read(path, MAX_FILE_BYTES), what=str(path))
        return len(data) if isinstance(data, list) else 1
    if fmt == "jsonl":
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    if fmt == "csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            return sum(1 for _ in csv.DictReader(fh))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return 1


def _file_records(path: Path) -> Iterator[RawRecord]:
    """The records of one file; a fault while reading it ends them with one error record."""
    fmt = format_of(path)
    reader = {"json": _json_records, "jsonl": _jsonl_records, "csv": _csv_records,
              "parquet": _parquet_records, "warc": _warc_records}.get(fmt or "", _whole_file)
    count = 0
    try:
        for record in reader(path):
            count += 1
            yield record
    except Exception as err:  # noqa: BLE001 - one bad file must not stop a corpus run
        detail = err.message if isinstance(err, PropscanError) else f"{type(err).__name__}: {err}"
        if isinstance(err, EOFError):  # gzip's word for a truncated stream
            detail = f"the file is cut short: {err}"
        where = printable(str(path))
        after = f" after {count:,} record{'s' if count > 1 else ''}" if count else ""
        yield RawRecord(id=f"unreadable:{where}", source=where, kind="error",
                        error=printable(f"{where}: cannot be read{after} ({detail})"))


def _read(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most ``limit`` (one-line PropscanErrors otherwise)."""
    from propscan.ingest import read_input_bytes

    return read_input_bytes(path, limit)


def _whole_file(path: Path) -> Iterator[RawRecord]:
    data = _read(path, MAX_ARTICLE_BYTES)
    yield RawRecord(id=content_id(data), source=printable(str(path)), kind="bytes", data=data,
                    record={"name": path.name})


def _record_id(record: dict[str, Any]) -> str:
    """An explicit id, else the URL, else a hash of the content (as ``propscan.ingest`` does).
    The record has passed ``check_record``: its text, HTML and URL are valid Unicode."""
    for key in ("id", "url"):
        value = record.get(key)
        if value not in (None, ""):
            return printable(str(value))
    content = record.get("text")
    if not isinstance(content, str) or content == "":
        content = record.get("html")
    return content_id(content if isinstance(content, str) else "")


def _record(item: Any, raw: bytes, source: str) -> RawRecord:
    """A checked record, or an error record. A rejected record keeps the id or URL it
    declares; without one its id hashes its raw bytes, never its text, so that it cannot
    shadow a valid record with the same text."""
    try:
        record = check_record(item, source)
    except PropscanError as err:
        return RawRecord(id=_declared_id(item) or content_id(raw), source=source, kind="error",
                         error=err.message)
    clean = {str(k): v for k, v in record.items() if v is not None}
    return RawRecord(id=_record_id(clean), source=source, kind="record", record=clean)


def _declared_id(item: Any) -> str | None:
    """The usable ``id`` or ``url`` of a record that failed its check, if it has one."""
    if not isinstance(item, dict):
        return None
    for key in ("id", "url"):
        value = item.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return printable(str(value))[:2048]
    return None


def _dumped(item: Any) -> bytes:
    """A record's bytes for its error id (ASCII: a lone surrogate is escaped, not an error)."""
    return json.dumps(item, sort_keys=True, default=str).encode("ascii")


def _jsonl_records(path: Path) -> Iterator[RawRecord]:
    where = printable(str(path))
    with path.open("rb") as fh:
        for lineno, line in enumerate(iter(lambda: fh.readline(MAX_ARTICLE_BYTES + 1), b""), 1):
            source = f"{where}:{lineno}"
            if len(line) > MAX_ARTICLE_BYTES and not line.endswith(b"\n"):
                fh.readline()  # the rest of the line; a line this long is no article record
                yield RawRecord(id=content_id(line), source=source, kind="error",
                                error=f"{source}: over the {MAX_ARTICLE_BYTES:,}-byte limit")
                continue
            if not line.strip():
                continue
            try:
                item = loads(line, what=source)
            except PropscanError as err:
                yield RawRecord(id=content_id(line), source=source, kind="error",
                                error=err.message)
                continue
            yield _record(item, line, source)


def _json_records(path: Path) -> Iterator[RawRecord]:
    where = printable(str(path))
    data = _read(path, MAX_FILE_BYTES)
    try:
        document = loads(data, what=where)
    except PropscanError as err:
        yield RawRecord(id=content_id(data), source=where, kind="error", error=err.message)
        return
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        yield _record(item, _dumped(item),
                      f"{where}:{index}" if isinstance(document, list) else where)


def _csv_records(path: Path) -> Iterator[RawRecord]:
    csv.field_size_limit(sys.maxsize)  # article bodies are far longer than csv's 128 KiB default
    where = printable(str(path))
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        for rowno, row in enumerate(csv.DictReader(fh), 1):
            record = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
            yield _record(record, _dumped(record), f"{where}:{rowno}")


def _parquet_records(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    where = printable(str(path))
    rowno = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            rowno += 1
            # a date column is a date as JSON and CSV give it: ISO text
            record = {k: v.isoformat() if isinstance(v, date) else v
                      for k, v in row.items() if v is not None}
            yield _record(record, _dumped(record), f"{where}:{rowno}")


def _warc_records(path: Path) -> Iterator[RawRecord]:
    from warcio.archiveiterator import ArchiveIterator

    where = printable(str(path))
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response" or record.http_headers is None:
                continue
            ctype = (record.http_headers.get_header("Content-Type") or "").lower()
            status = record.http_headers.get_statuscode()
            if "html" not in ctype or status != "200":
                continue  # only successful HTML pages are articles
            url = record.rec_headers.get_header("WARC-Target-URI")
            data = record.content_stream().read()
            source = printable(f"{where}#{url}")
            record_id = printable(url) if url else content_id(data)
            missing = getattr(record.raw_stream, "limit", 0)  # bytes its Content-Length promised
            if missing:
                yield RawRecord(id=record_id, source=source, kind="error", url=url,
                                error=f"{source}: WARC record cut short ({missing:,} of its "
                                      f"{record.length:,} bytes are missing)")
                continue
            yield RawRecord(id=record_id, source=source, kind="warc", data=data, url=url)
    if suffix_of(path) == ".warc.gz":
        _check_gzip_complete(path)


def _check_gzip_complete(path: Path) -> None:
    """EOFError when the gzip stream ends early: warcio stops silently at a record cut inside
    its headers, so a truncated crawl would otherwise look complete."""
    with gzip.open(path, "rb") as fh:
        while fh.read(1 << 20):
            pass
