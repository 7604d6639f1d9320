"""Bytes to text: size cap, binary sniffing and encoding detection.

Limits (documented in the README): one article is at most ``MAX_ARTICLE_BYTES``; a record file
(JSON/JSONL) at most ``MAX_FILE_BYTES``. UTF-8 (with or without BOM), UTF-16 and UTF-32 with a
BOM are decoded directly; UTF-16 without a BOM only on strong evidence (zero bytes at alternating
positions over at least ``_UTF16_MIN_BYTES``). Anything else is decoded only when
charset-normalizer is confident, and the article carries a warning naming the encoding it
guessed; inputs under ``_SHORT_BYTES`` are too short for a guess and are read as Windows-1252 or
refused.
"""

from __future__ import annotations

import codecs

from propscan.errors import BinaryInput, EmptyInput, EncodingError, InputTooLarge

__all__ = ["MAX_ARTICLE_BYTES", "MAX_FILE_BYTES", "decode_bytes", "check_text"]

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 200 * 1024 * 1024

# File signatures of common binary formats that are not text. Only signatures no article
# starts with: "MZ", "RIFF" or "ID3" files hold zero bytes, which are refused anyway.
_MAGIC = (b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff",
          b"\x1f\x8b", b"\xfd7zXZ\x00", b"7z\xbc\xaf", b"\x7fELF", b"PAR1",
          b"SQLite format 3\x00", b"\x28\xb5\x2f\xfd")
# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v"}
_MAX_CHAOS = 0.2  # charset-normalizer's mess ratio above which a guess is refused
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_TIE = 0.05
# charset-normalizer guesses these from byte patterns that short Latin text has too
# (b"\x93Hi\x94" came out as UTF-16 CJK): UTF-16/32 are recognised here, on evidence, and
# EBCDIC code pages are not used for news.
_NEVER_GUESSED = ("utf_16", "utf_32", "cp037", "cp273", "cp424", "cp500", "cp875", "cp1026",
                  "cp1140")
_SHORT_BYTES = 64  # below this no statistical guess is trusted
_UTF16_MIN_BYTES = 64
_UTF16_ZERO_SHARE = 0.2  # share of code units with a zero high byte (spaces, Latin letters)
_UTF16_OTHER_ZERO_SHARE = 0.01  # zero low bytes: (almost) none in text


def decode_bytes(data: bytes, *, what: str = "input", max_bytes: int = MAX_ARTICLE_BYTES,
                 guess: bool = True) -> tuple[str, str | None]:
    """Decode ``data`` to text; return the text and a warning (or None).

    ``guess=False``: Unicode only, no legacy encoding is guessed (JSON is UTF-8 by definition).
    Raises InputTooLarge, EmptyInput, BinaryInput or EncodingError with a one-line message.
    """
    if len(data) > max_bytes:
        raise InputTooLarge(f"{what} is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if not data or data.isspace():  # no copy of a 200 MiB input, as strip() would make
        raise EmptyInput(f"{what} is empty")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return check_text(_decode_marked(data, codec, what), what=what), None
    if data.startswith(_MAGIC):
        raise BinaryInput(f"{what} looks like binary data, not text")
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        text, codec = utf16
        return check_text(text, what=what), f"{what} has no byte order mark; decoded as {codec}"
    if b"\x00" in data[:8192]:
        raise BinaryInput(f"{what} looks like binary data, not text")
    try:
        return check_text(data.decode("utf-8"), what=what), None
    except UnicodeDecodeError as err:
        if not guess:
            raise EncodingError(f"{what} is not UTF-8 (invalid byte at {err.start:,}); JSON "
                                "must be UTF-8") from None
    text, encoding = _guess(data, what)
    return check_text(text, what=what), f"{what} is not UTF-8; decoded as {encoding}"


def check_text(text: str, *, what: str = "input") -> str:
    """Refuse text that is empty or mostly control characters; return it unchanged."""
    if not text or text.isspace():
        raise EmptyInput(f"{what} contains only whitespace")
    sample = text[:20000]
    controls = sum(1 for ch in sample if ch < " " and ch not in _CONTROL_OK)
    if controls > max(2, len(sample) // 100):
        raise BinaryInput(f"{what} contains control characters; it looks like binary data")
    return text


def _decode_marked(data: bytes, codec: str, what: str) -> str:
    """Bytes that start with a BOM, decoded strictly: a cut-off code unit or a lone surrogate
    is an EncodingError, not a replacement character nobody asked for."""
    try:
        return data.decode(codec, errors="strict")
    except UnicodeDecodeError as err:
        name = codec.removesuffix("-sig").upper()
        raise EncodingError(f"{what} starts with a {name} byte order mark but is not valid "
                            f"{name} ({err.reason} at byte {err.start:,})") from None


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text saved without a BOM, recognised only on strong evidence: an even length of
    at least ``_UTF16_MIN_BYTES``, many zero bytes on one side of each code unit and almost
    none on the other, a strict decode, and printable text."""
    if len(data) < _UTF16_MIN_BYTES or len(data) % 2:
        return None
    sample = data[:16384]
    units = len(sample) // 2
    zeros_even, zeros_odd = sample[0::2].count(0), sample[1::2].count(0)
    for codec, high, low in (("utf-16-le", zeros_odd, zeros_even),
                             ("utf-16-be", zeros_even, zeros_odd)):
        if high >= _UTF16_ZERO_SHARE * units and low <= _UTF16_OTHER_ZERO_SHARE * units:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None
            head = text[:8192]
            printable = sum(1 for ch in head if ch.isprintable() or ch in _CONTROL_OK)
            return (text, codec.upper()) if printable >= 0.98 * len(head) else None
    return None


def _guess(data: bytes, what: str) -> tuple[str, str]:
    """Text and encoding name of non-UTF-8 bytes; EncodingError when no guess is confident."""
    refused = EncodingError(f"{what} is not UTF-8 and its encoding could not be detected "
                            "with confidence; convert it to UTF-8")
    try:
        cp1252: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        cp1252 = None
    if len(data) < _SHORT_BYTES:
        # too few bytes for statistics: Windows-1252, the commonest legacy encoding of news
        # text, when it decodes cleanly; nothing else is guessed
        if cp1252 is None or any(not (ch.isprintable() or ch in _CONTROL_OK) for ch in cp1252):
            raise refused
        return cp1252, "cp1252"
    from charset_normalizer import from_bytes

    matches = [m for m in from_bytes(data) if not m.encoding.startswith(_NEVER_GUESSED)]
    best = matches[0] if matches else None
    if best is None or best.chaos > _MAX_CHAOS:
        raise refused
    # Windows-1252 is by far the commonest legacy encoding of news text; charset-normalizer
    # sometimes ranks a rare code page a hair higher (or a Latin sibling that reads these
    # bytes the same), so prefer it on a near tie.
    if best.encoding not in _PREFERRED:
        for match in matches[1:]:
            if match.encoding in _PREFERRED and match.chaos <= best.chaos + _TIE:
                best = match
                break
    text = str(best)
    if cp1252 is not None and best.encoding not in _PREFERRED and text == cp1252:
        return text, "cp1252"
    return text, best.encoding
