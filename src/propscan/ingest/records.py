"""JSON and JSONL records: one article per object with ``text`` or ``html`` plus metadata.

Every record is checked here, before any article is made from it: a record that nests too
deeply, carries a lone surrogate (text no UTF-8 writer can print), an empty or oversized text,
or a metadata field of the wrong type is an InvalidRecord with one line that says where and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from propscan.errors import InputTooLarge, InvalidRecord
from propscan.ingest.decode import MAX_ARTICLE_BYTES, check_text

__all__ = ["iter_json_records", "check_record", "unwrap_result", "loads", "RECORD_FIELDS",
           "MAX_JSON_DEPTH", "MAX_FIELD_CHARS"]

#: Metadata fields a record may carry (aliases map to the same field).
RECORD_FIELDS = {
    "title": "title", "headline": "title",
    "authors": "authors", "author": "authors",
    "published": "published", "date": "published",
    "outlet": "outlet", "site": "outlet", "sitename": "outlet", "source": "outlet",
    "url": "url", "id": "id", "language": "language",
}
#: Deepest nesting of arrays and objects a record may have (an article record needs 3: a
#: list of records, a record, its list of authors; propscan's own output needs 4).
MAX_JSON_DEPTH = 32
#: Longest metadata value (a title, an author, a URL...) in characters: more is not metadata.
MAX_FIELD_CHARS = 10_000
_BODY_FIELDS = ("text", "html")
_META_FIELDS = ("title", "headline", "outlet", "site", "sitename", "source", "url", "language",
                "published", "date")
# A JSON string (escapes included), removed before brackets are counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def iter_json_records(text: str, *, what: str = "input") -> Iterator[dict[str, Any]]:
    """Yield the records of a JSON document (object or list of objects) or of JSON Lines.

    JSON Lines are checked line by line, all of them before the first record is yielded, and
    parsed again as they are yielded, so memory holds the text and one record, not every record.
    """
    if _is_json_lines(text):
        for _ in _json_lines(text, what):
            pass
        yield from _json_lines(text, what)
        return
    data = loads(text.strip(), what=what)
    items = data if isinstance(data, list) else [data]
    yield from [check_record(item, f"{what}, record {n}") for n, item in enumerate(items, 1)]


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) of the non-blank lines, split at "\n" only: a JSON string may hold
    U+2028 or U+0085, where ``str.splitlines`` would cut a record in two. One line at a
    time, so a 200 MiB file is not copied into a list."""
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        number += 1
        line = text[start:end]
        if line and not line.isspace():
            yield number, line
        start = end + 1


def _is_json_lines(text: str) -> bool:
    """JSON Lines: the first line is a JSON value of its own and another line follows it (a
    pretty-printed document's first line, ``{`` or ``[``, is not one)."""
    lines = _lines(text)
    first = next(lines, None)
    if first is None or next(lines, None) is None:
        return False
    try:
        loads(first[1])
    except InvalidRecord:
        return False
    return True


def _json_lines(text: str, what: str) -> Iterator[dict[str, Any]]:
    for n, line in _lines(text):
        yield check_record(loads(line, what=f"{what}, line {n}"), f"{what}, line {n}")


def loads(text: str | bytes, *, what: str = "input") -> Any:
    """``json.loads`` with a depth limit checked first (Python's parser recurses, so a
    200,000-deep array would raise RecursionError) and one-line errors."""
    if _depth_over(text, MAX_JSON_DEPTH):
        raise InvalidRecord(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidRecord(f"{what} is not valid JSON ({err.msg}: line {err.lineno}, "
                            f"column {err.colno})") from None
    except UnicodeDecodeError:
        raise InvalidRecord(f"{what} is not valid JSON (not UTF-8)") from None
    except RecursionError:
        raise InvalidRecord(f"{what}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise InvalidRecord(f"{what} is not valid JSON ({err})") from None


def _depth_over(text: str | bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``. Strings are cut out with
    one regular expression and only the brackets left are walked, so a 200 MiB file of
    records costs a fraction of a second, not a Python loop over every byte."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def unwrap_result(record: dict[str, Any]) -> dict[str, Any]:
    """propscan's own JSON output (``schema_version`` + ``article``) as a plain record: its
    text and metadata; other records are returned as they are."""
    article = record.get("article")
    if "schema_version" not in record or not isinstance(article, dict):
        return record
    flat = {k: v for k, v in article.items()
            if k in ("text", "title", "authors", "published", "outlet", "language", "url")
            and v not in (None, "", [])}
    if record.get("id"):
        flat["id"] = record["id"]
    return flat


def check_record(item: Any, where: str) -> dict[str, Any]:
    """``item`` when it is a usable record; InvalidRecord saying what is wrong otherwise."""
    if not isinstance(item, dict):
        raise InvalidRecord(f"{where}: expected a JSON object, got {_json_type(item)}")
    item = unwrap_result(item)
    if not isinstance(item.get("text"), str) and not isinstance(item.get("html"), str):
        raise InvalidRecord(f"{where}: needs a 'text' or 'html' string field")
    for key in _BODY_FIELDS:
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRecord(f"{where}: field {key!r} must be a string, not "
                                f"{_json_type(value)}")
        size = len(_check_encodable(value, f"{where}, field {key!r}"))
        if size > MAX_ARTICLE_BYTES:  # the cap and error of one article, as from_text has
            raise InputTooLarge(f"{where}: field {key!r} is {size:,} bytes; the limit for one "
                                f"article is {MAX_ARTICLE_BYTES:,} bytes")
    body_key = "text" if isinstance(item.get("text"), str) else "html"
    if not item[body_key].strip():
        raise InvalidRecord(f"{where}: field {body_key!r} is empty")
    # control characters: BinaryInput, as the same text in a file gets
    check_text(item[body_key], what=f"{where}, field {body_key!r}")
    for key in _META_FIELDS:
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidRecord(f"{where}: field {key!r} must be a string, not "
                                f"{_json_type(value)}")
        _check_string(str(value), f"{where}, field {key!r}")
    for key in ("authors", "author"):
        value = item.get(key)
        if value is None:
            continue
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
            raise InvalidRecord(f"{where}: field {key!r} must be a string or a list of "
                                f"strings, not {_json_type(value)}")
        for name in names:
            _check_string(name, f"{where}, field {key!r}")
    record_id = item.get("id")
    if record_id is not None:
        if isinstance(record_id, bool) or not isinstance(record_id, str | int):
            raise InvalidRecord(f"{where}: field 'id' must be a string or an integer, not "
                                f"{_json_type(record_id)}")
        _check_string(str(record_id), f"{where}, field 'id'")
    return item


def _check_string(value: str, where: str) -> None:
    if len(value) > MAX_FIELD_CHARS:
        raise InvalidRecord(f"{where} is {len(value):,} characters long; metadata fields "
                            f"hold at most {MAX_FIELD_CHARS:,}")
    _check_encodable(value, where)


def _check_encodable(value: str, where: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidRecord(f"{where} holds a lone surrogate (\\u{ord(value[err.start]):04x} "
                            f"at character {err.start:,}): not valid Unicode text") from None


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, as the user wrote it."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
