"""JSON and JSONL records: one article per object with ``text`` or ``html`` plus metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from propscan.errors import InvalidRecord

__all__ = ["iter_json_records", "RECORD_FIELDS"]

#: Metadata fields a record may carry (aliases map to the same field).
RECORD_FIELDS = {
    "title": "title", "headline": "title",
    "authors": "authors", "author": "authors",
    "published": "published", "date": "published",
    "outlet": "outlet", "site": "outlet", "sitename": "outlet", "source": "outlet",
    "url": "url", "id": "id", "language": "language",
}


def iter_json_records(text: str, *, what: str = "input") -> Iterator[dict[str, Any]]:
    """Yield the records of a JSON document (object or list of objects) or of JSON Lines."""
    stripped = text.strip()
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        data = None
        lines = stripped.splitlines()
        if len(lines) < 2:
            raise InvalidRecord(f"{what} is not valid JSON") from None
    if data is not None:
        items = data if isinstance(data, list) else [data]
        for n, item in enumerate(items, 1):
            yield _check(item, f"{what}, record {n}")
        return
    for n, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise InvalidRecord(f"{what}, line {n}: not valid JSON ({err.msg})") from None
        yield _check(item, f"{what}, line {n}")


def _check(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRecord(f"{where}: expected a JSON object, got {type(item).__name__}")
    if not isinstance(item.get("text"), str) and not isinstance(item.get("html"), str):
        raise InvalidRecord(f"{where}: needs a 'text' or 'html' string field")
    return item
