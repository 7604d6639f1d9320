"""Cleaning scraped text while keeping an exact offset map back to the input.

What is removed or repaired, and why:
* a run of five or more digits fused to the first word of a line (``4323123123123The``):
  scraper debris, never prose;
* mojibake (``Ã©`` for ``é``), repaired with ftfy, line by line; curly quotes are kept, since
  quotes are a cue for the detector (scare quotes);
* zero-width characters and soft hyphens;
* whole lines the caller marks as page furniture (``skip_line``: ``Advertisement``, photo
  credits, copyright lines between paragraphs of a scraped page), which are not prose;
* runs of spaces, tabs and no-break spaces (one space), spaces at line ends, and runs of blank
  lines (one blank line). Single line breaks stay: PTC files put one sentence on a line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import ftfy

from propscan.offsets import OffsetMap, OffsetMapBuilder

__all__ = ["clean_region"]

_FUSED_DIGITS = re.compile(r"^\d{5,}(?=[A-Za-z\u00c0-\u024f\"'“‘])")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, fix_line_breaks=False,
                             fix_latin_ligatures=False, normalization=None, explain=False)


def clean_region(text: str, start: int = 0, end: int | None = None, *,
                 skip_line: Callable[[str], bool] | None = None) -> tuple[str, OffsetMap]:
    """Clean ``text[start:end]``; the map points into the whole ``text``. Lines for which
    ``skip_line`` is true are left out, as if they were blank."""
    end = len(text) if end is None else end
    chars: list[tuple[str, int, int]] = []  # (cleaned chars, input start, input end)
    pos = start
    for line in text[start:end].split("\n"):
        if skip_line is None or not skip_line(line):
            chars.extend(_clean_line(line, pos))
        chars.append(("\n", pos + len(line), pos + len(line) + 1))
        pos += len(line) + 1
    chars.pop()  # the split added one line break too many
    return _normalise_whitespace(chars)


def _clean_line(line: str, offset: int) -> list[tuple[str, int, int]]:
    stripped = line.lstrip()
    lead = len(line) - len(stripped)
    fused = _FUSED_DIGITS.match(stripped)
    if fused:
        lead += fused.end()
    body = line[lead:]
    fixed = ftfy.fix_text(body, _FTFY) if not body.isascii() else body
    base = offset + lead
    if fixed == body:
        return [(ch, base + i, base + i + 1) for i, ch in enumerate(body)]
    out: list[tuple[str, int, int]] = []
    matcher = difflib.SequenceMatcher(None, body, fixed, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend((fixed[j1 + k], base + i1 + k, base + i1 + k + 1) for k in range(i2 - i1))
        elif j2 > j1:  # a repair: each new character stands for the whole replaced range
            if i2 == i1:  # pure insertion: anchor it to the nearest input character
                i1, i2 = (i1, i1 + 1) if i1 < len(body) else (i1 - 1, i1)
            out.extend((ch, base + i1, base + i2) for ch in fixed[j1:j2])
    return out


def _normalise_whitespace(chars: list[tuple[str, int, int]]) -> tuple[str, OffsetMap]:
    builder = OffsetMapBuilder()
    pending_space: tuple[int, int] | None = None
    newlines: list[tuple[int, int]] = []
    started = False
    for ch, s, e in chars:
        if ch in _ZERO_WIDTH:
            continue
        if ch == "\n":
            pending_space = None  # drop trailing spaces
            if started:
                newlines.append((s, e))
            continue
        if ch.isspace():
            if started and not newlines and pending_space is None:
                pending_space = (s, e)
            continue
        if newlines:
            for ns, ne in newlines[:2]:  # at most one blank line between paragraphs
                builder.replace("\n", ns, ne)
            newlines = []
        elif pending_space is not None:
            builder.replace(" ", *pending_space)
        pending_space = None
        builder.replace(ch, s, e)
        started = True
    return builder.build()
