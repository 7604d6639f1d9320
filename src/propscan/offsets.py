"""The offset map between the cleaned view of an article and its input text.

Cleaning removes debris (digit runs glued to words, zero-width characters, runs of whitespace)
and repairs mojibake, so the cleaned text is shorter than, and sometimes differs from, the input.
Every cleaned character remembers the half-open range of input characters it came from:

* a copied character maps to exactly one input character, ``[i, i + 1)``;
* a character produced by a repair (``"Ã©"`` -> ``"é"``) maps to the whole input range that was
  repaired, so a span that touches it widens to cover the original bytes;
* deleted input characters have no cleaned character at all.

A span ``[cs, ce)`` of the cleaned text therefore maps to ``[starts[cs], ends[ce - 1])`` of the
input: the smallest input range that contains everything the span was made from.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

__all__ = ["OffsetMap", "OffsetMapBuilder"]


@dataclass
class OffsetMap:
    """Per-character map from cleaned text to input text (see the module docstring)."""

    starts: array = field(default_factory=lambda: array("l"))
    ends: array = field(default_factory=lambda: array("l"))

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def identity(cls, length: int, offset: int = 0) -> OffsetMap:
        """The map of a text copied unchanged, starting at ``offset`` in the input."""
        starts = array("l", range(offset, offset + length))
        ends = array("l", range(offset + 1, offset + length + 1))
        return cls(starts, ends)

    def to_input(self, start: int, end: int) -> tuple[int, int]:
        """Map the cleaned span ``[start, end)`` to the input span it was made from."""
        n = len(self.starts)
        if not 0 <= start <= end <= n:
            raise ValueError(f"span [{start}, {end}) is outside the cleaned text of length {n}")
        if start == end:
            pos = self.starts[start] if start < n else (self.ends[-1] if n else 0)
            return pos, pos
        return self.starts[start], self.ends[end - 1]

    def to_clean(self, start: int, end: int) -> tuple[int, int]:
        """Map an input span to the cleaned characters that lie (even partly) inside it.

        Returns an empty span at the nearest cleaned position when nothing survives cleaning.
        """
        import bisect

        cs = bisect.bisect_right(self.ends, start)
        ce = bisect.bisect_left(self.starts, end)
        return (cs, max(cs, ce))


class OffsetMapBuilder:
    """Builds a cleaned text and its :class:`OffsetMap` piece by piece, left to right."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.starts = array("l")
        self.ends = array("l")

    def copy(self, text: str, input_start: int) -> None:
        """Append ``text``, which is the input's characters from ``input_start`` unchanged."""
        self._parts.append(text)
        self.starts.extend(range(input_start, input_start + len(text)))
        self.ends.extend(range(input_start + 1, input_start + len(text) + 1))

    def replace(self, text: str, input_start: int, input_end: int) -> None:
        """Append ``text``, which replaces the input range ``[input_start, input_end)``."""
        if not text:
            return
        self._parts.append(text)
        self.starts.extend([input_start] * len(text))
        self.ends.extend([input_end] * len(text))

    def build(self) -> tuple[str, OffsetMap]:
        return "".join(self._parts), OffsetMap(self.starts, self.ends)
