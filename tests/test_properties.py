"""Property tests (hypothesis): decoding, JSON records and ingestion offsets on arbitrary input.

Whatever bytes or strings come in, ingestion either gives text and articles whose offsets are
exact, or raises a PropscanError: never another exception, never text that cannot be printed.
"""

from __future__ import annotations

import codecs
import json
import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from propscan.doc import Finding
from propscan.errors import BinaryInput, EmptyInput, InvalidRecord, PropscanError
from propscan.ingest import from_text
from propscan.ingest.decode import decode_bytes
from propscan.ingest.records import iter_json_records

# PROPSCAN_EXAMPLES=3000 for a deeper search than the edit loop's
SETTINGS = settings(max_examples=int(os.environ.get("PROPSCAN_EXAMPLES", "200")),
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text a user might save: any character but control characters other than line ends and tabs
# and lone surrogates (no file holds them).
_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"), whitelist_characters="\t\n\r")
texts = st.text(_TEXT_CHARS, max_size=400)
# Bytes near text: encoded text, some of it damaged, cut, or behind a BOM.
_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-16", "utf-32", "cp1252", "latin-1")


@st.composite
def near_text_bytes(draw: st.DrawFn) -> bytes:
    text = draw(texts)
    encoding = draw(st.sampled_from(_ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = draw(st.sampled_from([codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE,
                                     b""])) + data
    if data and draw(st.booleans()):  # damage: cut short, or a byte replaced
        position = draw(st.integers(0, len(data) - 1))
        data = data[:position] if draw(st.booleans()) else (
            data[:position] + bytes([draw(st.integers(0, 255))]) + data[position + 1:])
    return data


def _decodes_or_refuses(data: bytes) -> None:
    try:
        text, warning = decode_bytes(data)
    except PropscanError:
        return
    assert text.strip()
    text.encode("utf-8")  # printable: no lone surrogate
    assert warning is None or isinstance(warning, str)


@SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_decode_to_text_or_a_propscan_error(data: bytes) -> None:
    _decodes_or_refuses(data)


@SETTINGS
@given(near_text_bytes())
def test_damaged_text_bytes_decode_to_text_or_a_propscan_error(data: bytes) -> None:
    _decodes_or_refuses(data)


@SETTINGS
@given(texts)
def test_utf8_text_round_trips(text: str) -> None:
    assume(text.strip() and not text.startswith("\ufeff") and not text.startswith("%PDF-"))
    assert decode_bytes(text.encode("utf-8")) == (text, None)


# ---- JSON records ---------------------------------------------------------------------------
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
json_values = st.recursive(_SCALARS, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.sampled_from(["text", "html", "title", "authors",
                                                              "author", "id", "date", "x"])
                                             | st.text(max_size=5), children, max_size=5),
                           max_leaves=20)
_FIELDS = {"text": texts | _SCALARS, "title": _SCALARS, "authors": _SCALARS | st.lists(texts),
           "id": _SCALARS, "published": _SCALARS}
records = st.fixed_dictionaries({}, optional=_FIELDS)


@st.composite
def json_ish(draw: st.DrawFn) -> str:
    """JSON documents and JSON Lines, some cut short or with stray brackets and escapes."""
    kind = draw(st.sampled_from(["value", "records", "lines", "noise"]))
    if kind == "value":
        document = json.dumps(draw(json_values))
    elif kind == "records":
        document = json.dumps(draw(st.lists(records, max_size=4)))
    elif kind == "lines":
        document = "\n".join(json.dumps(r) for r in draw(st.lists(records, max_size=4)))
    else:
        document = draw(st.text(st.sampled_from('{}[]",:\\ntu0123 \nabe'), max_size=200))
    if document and draw(st.booleans()):
        position = draw(st.integers(0, len(document)))
        insert = draw(st.sampled_from(["", "[", "]", "{", '"', "\\ud800", "\\", "\n", "[" * 40]))
        document = document[:position] + insert + document[position:]
    return document


@SETTINGS
@given(json_ish())
def test_json_records_are_dicts_or_an_invalid_record(document: str) -> None:
    try:
        found = list(iter_json_records(document))
    except (InvalidRecord, EmptyInput, BinaryInput):  # BinaryInput: control characters
        return
    for record in found:
        assert isinstance(record, dict)
        assert isinstance(record.get("text"), str) or isinstance(record.get("html"), str)
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # printable as it is


@SETTINGS
@given(records)
def test_a_record_with_a_text_string_is_accepted_unless_its_fields_are_wrong(record) -> None:
    document = json.dumps(record)
    try:
        [found] = iter_json_records(document)
    except InvalidRecord:
        text = record.get("text")
        assert (not isinstance(text, str) or not text.strip()
                or isinstance(record.get("title"), bool)
                or isinstance(record.get("published"), bool)
                or not isinstance(record.get("authors"), str | list | None)
                or isinstance(record.get("id"), bool | float))
        return
    assert found == record


# ---- ingestion offsets ----------------------------------------------------------------------
@SETTINGS
@given(texts, st.data())
def test_every_clean_character_maps_back_into_the_text(text: str, data: st.DataObject) -> None:
    try:
        article = from_text(text)
    except PropscanError:
        return
    m, n = article.offset_map, len(article.text)
    assert article.text == text and len(m) == len(article.clean_text) > 0
    for i, ch in enumerate(article.clean_text):
        assert 0 <= m.starts[i] < m.ends[i] <= n
        assert i == 0 or m.starts[i] >= m.starts[i - 1]
        source = text[m.starts[i]:m.ends[i]]
        if ch.isspace():
            assert source.isspace() or len(source) > 1 or source in "\u200b\u00ad"
        elif source.isascii() and len(source) == 1:
            assert ch == source
    start = data.draw(st.integers(0, len(article.clean_text) - 1))
    end = data.draw(st.integers(start + 1, len(article.clean_text)))
    finding = article.finding_from_clean(Finding(start, end, "Loaded_Language", 0.5))
    assert article.text[finding.start:finding.end] == finding.text
    assert article.body_start <= finding.start < finding.end <= article.body_end
    # what the finding shows holds every non-space character of the cleaned span, in order
    shown = iter(finding.text)
    if all(c.isascii() for c in article.clean_text[start:end]):
        assert all(c in shown for c in article.clean_text[start:end] if not c.isspace())
