"""Bytes to text: size cap, binary sniffing and encoding detection.

Limits (documented in the README): one article is at most ``MAX_ARTICLE_BYTES``; a record file
(JSON/JSONL) at most ``MAX_FILE_BYTES``. UTF-8 (with or without BOM) and UTF-16 with a BOM are
decoded directly; anything else is decoded only when charset-normalizer is confident, and the
article carries a warning naming the encoding it guessed.
"""

from __future__ import annotations

import codecs

from propscan.errors import BinaryInput, EmptyInput, EncodingError, InputTooLarge

__all__ = ["MAX_ARTICLE_BYTES", "MAX_FILE_BYTES", "decode_bytes", "check_text"]

MAX_ARTICLE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 200 * 1024 * 1024

# File signatures of common binary formats that are not text.
_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b",
          b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"\x7fELF", b"MZ", b"ID3", b"OggS", b"RIFF")
_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v"}
_MAX_CHAOS = 0.2  # charset-normalizer's mess ratio above which a guess is refused
_PREFERRED = ("cp1252", "latin_1", "iso8859_15")
_TIE = 0.05


def decode_bytes(data: bytes, *, what: str = "input",
                 max_bytes: int = MAX_ARTICLE_BYTES) -> tuple[str, str | None]:
    """Decode ``data`` to text; return the text and a warning (or None).

    Raises InputTooLarge, EmptyInput, BinaryInput or EncodingError with a one-line message.
    """
    if len(data) > max_bytes:
        raise InputTooLarge(f"{what} is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    if not data.strip():
        raise EmptyInput(f"{what} is empty")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return check_text(data.decode(codec, errors="strict"), what=what), None
    if data.startswith(_MAGIC) or b"\x00" in data[:8192]:
        raise BinaryInput(f"{what} looks like binary data, not text")
    try:
        return check_text(data.decode("utf-8"), what=what), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    best = matches[0] if matches else None
    # Windows-1252 is by far the commonest legacy encoding of news text; charset-normalizer
    # sometimes ranks a rare code page a hair higher on short texts, so prefer it on a near tie.
    for match in matches[1:]:
        if match.encoding in _PREFERRED and best is not None and \
                match.chaos <= best.chaos + _TIE and best.encoding not in _PREFERRED:
            best = match
            break
    if best is None or best.chaos > _MAX_CHAOS:
        raise EncodingError(f"{what} is not UTF-8 and its encoding could not be detected "
                            "with confidence; convert it to UTF-8")
    text = check_text(str(best), what=what)
    return text, f"{what} is not UTF-8; decoded as {best.encoding}"


def check_text(text: str, *, what: str = "input") -> str:
    """Refuse text that is empty or mostly control characters; return it unchanged."""
    if not text.strip():
        raise EmptyInput(f"{what} contains only whitespace")
    sample = text[:20000]
    controls = sum(1 for ch in sample if ch < " " and ch not in _CONTROL_OK)
    if controls > max(2, len(sample) // 100):
        raise BinaryInput(f"{what} contains control characters; it looks like binary data")
    return text
