"""Corpus readers: turn paths into a stream of light, picklable :class:`RawRecord` items.

Readers run in the client process and do no ingestion: they only split the input into records
and give each a stable id (its ``id`` field, else its URL, else a sha256 of its content),
so that records already stored can be skipped before any work is shipped to a worker. Ingestion
itself (decoding, HTML extraction, cleaning) happens in :func:`propscan.batch.engines.ingest_raw`
through the same ``propscan.ingest`` functions the ``analyze`` command uses.

Supported inputs: directories (walked recursively), ``.txt``/``.html``/``.htm`` files,
``.jsonl``/``.ndjson``/``.json``, ``.csv``, ``.parquet`` and ``.warc``/``.warc.gz`` (HTML
responses only).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscan.errors import InputNotFound, UnsupportedFormat

__all__ = ["RawRecord", "iter_records", "list_inputs", "estimate_total", "content_id",
           "SUPPORTED_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".html", ".htm")
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
WARC_SUFFIXES = (".warc", ".warc.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + RECORD_SUFFIXES + WARC_SUFFIXES


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


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".warc.gz" if name.endswith(".warc.gz") else path.suffix.lower()


def list_inputs(paths: list[str | Path]) -> list[Path]:
    """Expand directories into their supported files (sorted); refuse missing or unknown paths."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and _suffix(p) in SUPPORTED_SUFFIXES
                                and not p.name.startswith(".")))
        elif path.is_file():
            if _suffix(path) not in SUPPORTED_SUFFIXES:
                raise UnsupportedFormat(
                    f"{path}: unsupported file type; batch reads "
                    f"{', '.join(SUPPORTED_SUFFIXES)} files and directories of them")
            files.append(path)
        else:
            raise InputNotFound(f"{path}: no such file or directory")
    return files


def iter_records(paths: list[str | Path]) -> Iterator[RawRecord]:
    """Every record of every input, in a stable order."""
    for path in list_inputs(paths):
        suffix = _suffix(path)
        if suffix in TEXT_SUFFIXES:
            yield _file_record(path)
        elif suffix in (".jsonl", ".ndjson"):
            yield from _jsonl_records(path)
        elif suffix == ".json":
            yield from _json_records(path)
        elif suffix == ".csv":
            yield from _csv_records(path)
        elif suffix == ".parquet":
            yield from _parquet_records(path)
        else:
            yield from _warc_records(path)


def estimate_total(paths: list[str | Path]) -> int | None:
    """How many records the inputs hold, when cheap to tell (None when unknown: WARC)."""
    total = 0
    for path in list_inputs(paths):
        suffix = _suffix(path)
        if suffix in TEXT_SUFFIXES:
            total += 1
        elif suffix == ".json":
            total += _json_count(path)
        elif suffix in (".jsonl", ".ndjson"):
            with path.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        elif suffix == ".csv":
            total += _csv_count(path)
        elif suffix == ".parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
        else:
            return None
    return total


def _file_record(path: Path) -> RawRecord:
    data = path.read_bytes()
    return RawRecord(id=content_id(data), source=str(path), kind="bytes", data=data,
                     record={"name": path.name})


def _record_id(record: dict[str, Any]) -> str:
    """An explicit id, else the URL, else a hash of the content (as ``propscan.ingest`` does)."""
    for key in ("id", "url"):
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    content = record.get("text")
    if content in (None, ""):
        content = record.get("html")
    if content in (None, ""):
        content = json.dumps(record, sort_keys=True, default=str)
    return content_id(str(content))


def _dict_record(record: Any, source: str) -> RawRecord:
    if not isinstance(record, dict):
        return RawRecord(id=content_id(json.dumps(record, default=str)), source=source,
                         kind="error", error=f"{source}: a record must be a JSON object")
    clean = {str(k): v for k, v in record.items() if v is not None}
    return RawRecord(id=_record_id(clean), source=source, kind="record", record=clean)


def _jsonl_records(path: Path) -> Iterator[RawRecord]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            source = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                yield RawRecord(id=content_id(line), source=source, kind="error",
                                error=f"{source}: not valid JSON ({err})")
                continue
            yield _dict_record(record, source)


def _json_records(path: Path) -> Iterator[RawRecord]:
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        yield RawRecord(id=content_id(path.read_bytes()), source=str(path), kind="error",
                        error=f"{path}: not valid JSON ({err})")
        return
    items = data if isinstance(data, list) else [data]
    for index, record in enumerate(items):
        yield _dict_record(record, f"{path}:{index}" if isinstance(data, list) else str(path))


def _json_count(path: Path) -> int:
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 1
    return len(data) if isinstance(data, list) else 1


def _csv_records(path: Path) -> Iterator[RawRecord]:
    csv.field_size_limit(sys.maxsize)  # article bodies are far longer than csv's 128 KiB default
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        for rowno, row in enumerate(csv.DictReader(fh), 1):
            record = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
            yield _dict_record(record, f"{path}:{rowno}")


def _csv_count(path: Path) -> int:
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _parquet_records(path: Path) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    rowno = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            rowno += 1
            yield _dict_record(row, f"{path}:{rowno}")


def _warc_records(path: Path) -> Iterator[RawRecord]:
    from warcio.archiveiterator import ArchiveIterator

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
            yield RawRecord(id=url or content_id(data), source=f"{path}#{url}", kind="warc",
                            data=data, url=url)
