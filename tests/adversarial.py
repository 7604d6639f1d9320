"""An adversarial corpus: inputs a hostile or careless user gives propscan, with the exit code
``propscan analyze`` documents for each (README, "Limits and exit codes").

Every case is a file: a name (its suffix picks the reader, as it does for a user), its bytes,
the exit code, and extra ``analyze`` options. The corpus is generated, never stored, and holds
no real article text: every text is invented. ``tests/test_adversarial_cli.py`` runs it through
the CLI; the same cases can be written into a folder for ``batch`` or posted to the API.
"""

from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import NamedTuple

__all__ = ["Case", "TEXT", "all_cases", "encoding_cases", "text_cases", "record_cases",
           "html_cases", "format_cases", "write_case"]

#: An invented English news paragraph (no real person, place or outlet).
TEXT = ("INVENTED EXAMPLE. The council of the imaginary town of Averly voted on Tuesday to "
        "rebuild the old harbour wall, after months of debate between fishermen and shop "
        "owners. Opponents called the plan a shameful waste of money, while supporters said "
        "the town could not wait any longer for repairs that were decades overdue.")
_PAGE = ("<!doctype html><html><head><title>Harbour wall vote</title></head><body>{}"
         "</body></html>")
_PARAGRAPHS = "".join(f"<p>{TEXT}</p>" for _ in range(3))

# exit codes (src/propscan/errors.py, README "Limits and exit codes")
OK, USAGE, NOT_FOUND, EMPTY, BINARY, ENCODING, TOO_LARGE, FORMAT, RECORD = 0, 2, 3, 4, 5, 6, 7, 8, 9


class Case(NamedTuple):
    """One input: file ``name`` holding ``data``; ``propscan analyze`` must exit
    ``exit_code`` (with ``args`` added to the command line)."""

    name: str
    data: bytes
    exit_code: int
    args: tuple[str, ...] = ()


def encoding_cases() -> list[Case]:
    """Bytes that are not text, text in other encodings, and broken Unicode."""
    utf16 = (TEXT * 2).encode("utf-16-le")
    return [
        Case("empty.txt", b"", EMPTY),
        Case("whitespace.txt", b" \n\t\r\n  \n", EMPTY),
        Case("bom_only.txt", codecs.BOM_UTF8, EMPTY),
        Case("utf16_bom_only.txt", codecs.BOM_UTF16_LE, EMPTY),
        Case("nul_bytes.txt", b"text\x00with\x00nuls" * 10, BINARY),
        Case("control_chars.txt", b"\x01\x02\x03\x04\x05words\x06\x07\x08" * 50, BINARY),
        Case("pdf_magic.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n", BINARY),
        Case("gzip.txt", gzip.compress(TEXT.encode()), BINARY),
        Case("png.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, BINARY),
        Case("zip.txt", b"PK\x03\x04" + bytes(range(256)), BINARY),
        Case("random_bytes.txt",
             bytes(b for i in range(3000) if (b := (i * 7919 + 13) % 256) >= 32), ENCODING),
        Case("utf16_bom_odd_bytes.txt", codecs.BOM_UTF16_LE + utf16 + b"x", ENCODING),
        Case("utf16_bom_lone_surrogate.txt",
             codecs.BOM_UTF16_LE + utf16[:40] + b"\x00\xd8" + utf16[40:], ENCODING),
        Case("utf8_bom_invalid.txt", codecs.BOM_UTF8 + TEXT.encode() + b"\xff\xfe", ENCODING),
        Case("cp1252_short.txt", b"\x93Hi\x94", OK),  # “Hi”: Windows-1252, never UTF-16
        Case("cp1252_long.txt", ("Le café était plein, et la soirée fut très animée. " * 8)
             .encode("cp1252"), OK),
        Case("utf16le_no_bom.txt", utf16, OK),
        Case("utf16be_no_bom.txt", (TEXT * 2).encode("utf-16-be"), OK),
        Case("utf16_bom.txt", TEXT.encode("utf-16"), OK),
        Case("utf32_bom.txt", TEXT.encode("utf-32"), OK),
        Case("cesu_surrogate.txt", TEXT.encode() + b" \xed\xa0\x80 " + TEXT.encode(), OK),
    ]


def text_cases() -> list[Case]:
    """Plain text that is odd in shape: sizes, line ends, scripts, symbols."""
    return [
        Case("too_large.txt", b"word " * (5 * 1024 * 1024 // 5 + 1), TOO_LARGE),
        Case("huge_line.txt", (TEXT + " ").encode() * 3000, OK),
        Case("long_word.txt", b"a" * 100_000, OK),
        Case("only_punctuation.txt", b"!!! ... ??? --- ;;; ,,, ((( ))) ***\n" * 20, OK),
        Case("zero_width_only.txt", "\u200b\u200c\u2060\u00ad".encode() * 10, EMPTY),
        Case("header_only.txt", b"18.12.2016 Author: Pat Example\n", EMPTY),
        Case("mixed_line_ends.txt",
             f"Harbour wall vote\r\n\r\n{TEXT}\r{TEXT}\n{TEXT}\r\n".encode(), OK),
        Case("rtl.txt", ("مجلس المدينة الخيالية صوّت يوم الثلاثاء على إعادة بناء جدار الميناء "
                         "القديم بعد أشهر من النقاش. ").encode() * 5, OK),
        Case("emoji.txt", f"🔥🔥 {TEXT} 😡👎🏽 🇺🇳 👨‍👩‍👧".encode(), OK),
        Case("nul_late.txt", (TEXT * 40).encode() + b"\x00" + TEXT.encode(), OK),
        Case("article123.txt", f"A title\n\n{TEXT}\nAnother sentence.\n".encode(), OK),
    ]


def record_cases() -> list[Case]:
    """JSON and JSON Lines: wrong shapes, wrong types, broken Unicode, deep nesting."""
    def js(value: object) -> bytes:
        return json.dumps(value).encode()

    good = [{"text": f"{TEXT} Record {n}.", "title": f"Record {n}"} for n in range(40)]
    own_output = {"schema_version": "1.1", "id": "own-1", "spans": [], "warnings": [],
                  "article": {"text": TEXT, "title": "Harbour wall vote",
                              "authors": ["Pat Example"], "published": "2024-05-17",
                              "outlet": "Invented Daily", "language": "en"}}
    return [
        Case("record.json", js({"text": TEXT, "title": "Harbour", "authors": ["Pat Example"]}),
             OK),
        Case("records.jsonl", b"\n".join(js(r) for r in good[:3]), OK),
        Case("own_output.json", js(own_output), OK),
        Case("array_empty.json", b"[]", EMPTY),
        Case("blank_lines.jsonl", b"\n\n  \n", EMPTY),
        Case("array_of_numbers.json", b"[1, 2, 3]", RECORD),
        Case("array_of_arrays.json", b"[[1], [2]]", RECORD),
        Case("no_text.json", js({"title": "no text"}), RECORD),
        Case("text_null.json", b'{"text": null}', RECORD),
        Case("text_number.json", b'{"text": 5}', RECORD),
        Case("text_nested_list.json", js({"text": [["nested"], ["lists"]]}), RECORD),
        Case("text_empty.json", b'{"text": ""}', RECORD),
        Case("authors_number.json", js({"text": TEXT, "authors": 5}), RECORD),
        Case("title_object.json", js({"text": TEXT, "title": {"a": 1}}), RECORD),
        Case("id_boolean.json", js({"text": TEXT, "id": True}), RECORD),
        Case("very_long_title.json", js({"text": TEXT, "title": "T" * 20_000}), RECORD),
        Case("huge_integer.json", b'{"text": "x", "id": 1' + b"0" * 5000 + b"}", RECORD),
        Case("truncated.json", js({"text": TEXT})[:40], RECORD),
        Case("lone_surrogate_text.json", b'{"text": "Hello \\ud800 world"}', RECORD),
        Case("lone_surrogate_title.json", b'{"text": "Hello world", "title": "\\udfff"}',
             RECORD),
        # the bad record comes after 40 good ones: records are checked before any output
        Case("lone_surrogate_late.jsonl", b"\n".join(
            [*(js(r) for r in good), b'{"text": "fine", "authors": ["\\ud83d"]}']), RECORD),
        Case("deep_top.json", b"[" * 200_000 + b"]" * 200_000, RECORD),
        Case("deep_nested.json", b'{"text": "x", "extra": ' + b"[" * 200_000 + b"]" * 200_000
             + b"}", RECORD),
        Case("invalid_utf8.jsonl", js({"text": TEXT}) + b"\n" + b'{"text": "caf\xe9"}',
             ENCODING),
        Case("text_control_chars.json", js({"text": "\x01\x02\x03\x04" * 100}), BINARY),
    ]


def html_cases() -> list[Case]:
    """HTML pages: no article, only furniture, nesting deeper than libxml2 reads."""
    def deep(n: int) -> bytes:
        return _PAGE.format("<div>" * n + _PARAGRAPHS + "</div>" * n).encode()

    return [
        Case("page.html", _PAGE.format(f"<nav>Home | About</nav><article>{_PARAGRAPHS}"
                                       "</article>").encode(), OK),
        Case("nav_only.html", b"<html><body><nav>Home | About</nav></body></html>", EMPTY),
        Case("empty_body.html", b"<html><head><title>Only a title</title></head><body> </body>"
             b"</html>", EMPTY),
        Case("script_only.html", b"<html><body><script>var a = 1;</script></body></html>",
             EMPTY),
        Case("divs_300.html", deep(300), OK),
        Case("divs_100000.html", deep(100_000), OK),
        Case("surrogate_entity.html", _PAGE.format(f"<p>&#xD800; {TEXT}</p>" * 3).encode(), OK),
        Case("html_record.json", json.dumps({"html": _PAGE.format("<nav>Home</nav>")}).encode(),
             EMPTY),
    ]


def format_cases() -> list[Case]:
    """Formats that do not match the content, or that ``analyze`` does not read."""
    return [
        Case("text_as_json.txt", TEXT.encode(), FORMAT, ("--input-format", "json")),
        Case("text_as_jsonl.txt", TEXT.encode(), FORMAT, ("--input-format", "jsonl")),
        Case("html_as_json.html", _PAGE.format(_PARAGRAPHS).encode(), FORMAT,
             ("--input-format", "json")),
        Case("text_as_html.txt", TEXT.encode(), FORMAT, ("--input-format", "html")),
        Case("named_json.json", TEXT.encode(), RECORD),  # a .json file that is not JSON
        Case("corpus.csv", b"text\n" + TEXT.encode() + b"\n", FORMAT),
        Case("corpus.parquet", b"PAR1" + bytes(64) + b"PAR1", FORMAT),
        Case("unknown_format.txt", TEXT.encode(), USAGE, ("--input-format", "pdf")),
        Case("json_as_text.json", json.dumps({"text": TEXT}).encode(), OK,
             ("--input-format", "text")),
    ]


def all_cases() -> list[Case]:
    cases = [*encoding_cases(), *text_cases(), *record_cases(), *html_cases(),
             *format_cases()]
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return cases


def write_case(case: Case, folder: Path) -> Path:
    """Write ``case`` into ``folder``; return its path."""
    path = folder / case.name
    path.write_bytes(case.data)
    return path
