"""Whose voice: quotations, reported speech and scare quotes in an article's text.

A deterministic pass, pure Python and ``re``, linear in the length of the text:

1. pair quotation marks: curly and straight, « », „ “, ‚ ‘, ‹ › and nested quotes, with one
   stack; a straight mark opens or closes by what flanks it, an apostrophe inside a word is no
   mark. A quotation still open at the end of a paragraph goes on when the next paragraph opens
   with a quotation mark (news style for quotes over several paragraphs), else it ends there;
2. attribute each outer quotation: a verb of saying after it (``," the minister said``,
   ``," said X``, ``, according to X``) or before it in its sentence (``X said: "``,
   ``X warned that "``, ``X called the strike "``); a quotation that opens a sentence without
   any inherits the speaker of the previous quotation in its paragraph (or the last one of the
   paragraph before);
3. a short quotation (at most four words) that nobody is said to say, inside a sentence, or one
   right after "so-called", "notorious", "self-proclaimed", is a scare quote: the author's irony;
4. indirect speech without marks: "X said (that) ...", "..., X said.", "according to X, ...",
   counted only when the source is explicit (not "some say", not "it is claimed that").

Offsets: a direct or scare quotation runs from its opening mark to just after its closing mark
(marks included; a quotation over several paragraphs covers them all); an indirect one covers
the reported clause. For a quote inside a quote the speaker is the outer one's: the source the
article reports. See :mod:`propscan.ingest.attribution` for verbs and speakers.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from propscan.doc import Quotation
from propscan.ingest.attribution import (
    MASK,
    attribution_after,
    attribution_before,
    find_indirect,
    participle_clause,
    sentence_spans,
    word_count,
)

__all__ = ["KINDS", "Quotation", "find_quotations", "voice_at"]

#: The kinds of :class:`Quotation`; "scare" ones are the author's own words.
KINDS = ("direct", "indirect", "scare")

_MARKS = re.compile(r"[\"“”„«»'‘’‚‹›]|\n")
_DOUBLE = frozenset('"“”„«»')
_PARAGRAPH_OPENING = frozenset('"“„«')
_OPENS_AFTER = frozenset("([{—–-/") | _DOUBLE | frozenset("‘‚‹'")
_CLOSES_BEFORE = frozenset(".,;:!?)]}—–-…") | _DOUBLE | frozenset("’'›")
_CLOSERS = {'"': '"“„”', "”": '"“„”', "“": '"“„”', "»": "«", "«": "»",
            "'": "'‘", "’": "'‘‚", "‘": "‚", "›": "‹"}
_SHORT_LABEL = 4
_LEAD_CHARS = 400
_BLANK_LINE = re.compile(r"[ \t]*(?=\n|$)")
_SPACES = re.compile(r"\s*")
_INDENT = re.compile(r"[ \t]*")
_SCARE_MARKER = re.compile(r"\b(?:so-called|so called|self-styled|self-proclaimed|notorious|"
                           r"supposed|would-be|infamous)[ \t]*$", re.I)


@dataclass(frozen=True)
class _Paired:
    start: int
    end: int
    depth: int


def find_quotations(text: str) -> list[Quotation]:
    """Every quotation in ``text`` (direct, indirect and scare), sorted by start."""
    paired = _pair_marks(text)
    outer = [q for q in paired if q.depth == 0]
    masked = _mask(text, outer)
    after = [None if _embedded(text, q) else attribution_after(masked, q.end) for q in outer]
    stops = list(masked)
    for q, found in zip(outer, after, strict=True):
        if found is None and re.search(r"[.!?][\"'”’»]*$", text[q.start:q.end].rstrip()):
            stops[q.end - 1] = "."  # a quoted sentence ends the author's sentence too
    masked = "".join(stops)
    sentences = sentence_spans(masked)
    sentence_starts = [s for s, _ in sentences]
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    reported = [find_indirect(masked, s, e) for s, e in sentences]
    quotations = [Quotation(r.start, r.end, r.speaker, "indirect") for r in reported if r]
    last: tuple[int, str] | None = None  # (line of the last attribution, its speaker)
    said_in: dict[int, str] = {}  # sentence index -> a speaker of a quotation there
    done = 0  # sentences before this one have had their reported speech noted in ``last``
    for q, found in zip(outer, after, strict=True):
        index = max(bisect.bisect_right(sentence_starts, q.start) - 1, 0)
        for r in reported[done:index]:
            if r:
                last = (bisect.bisect_right(line_starts, r.end - 1), r.speaker)
        done = max(done, index)
        # the lead is bounded so that a text with no full stop stays linear
        lead = masked[max(sentence_starts[index], q.start - _LEAD_CHARS):q.start] \
            if sentences else ""
        kind, speaker = _classify(text, q, found, lead, said_in.get(index), last, line_starts)
        quotations.append(Quotation(q.start, q.end, speaker, kind))
        if speaker:
            said_in[index] = speaker
            last = (bisect.bisect_right(line_starts, q.end - 1), speaker)
    quotations += _inner(text, paired, quotations)
    for index, (s, e) in enumerate(sentences):
        clause = participle_clause(masked, s, e) if index in said_in else None
        end = _content_end(masked, e, s)
        if not reported[index] and clause is not None and end > clause:
            quotations.append(Quotation(clause, end, said_in[index], "indirect"))
    return sorted(quotations, key=lambda q: (q.start, -q.end))


def voice_at(quotations: list[Quotation], start: int, end: int) -> tuple[str, str | None]:
    """("quoted", speaker) when at least half of [start, end) lies inside direct or indirect
    quotations, else ("author", None). Scare quotes count as the author's. The speaker is that
    of the quotation overlapping the fragment most (the outer one on a tie)."""
    if end <= start:
        end = start + 1
    reported = [q for q in quotations if q.kind != "scare" and q.start < end and q.end > start]
    covered, reach = 0, start
    for q in sorted(reported, key=lambda q: q.start):
        lo, hi = max(q.start, reach), min(q.end, end)
        if hi > lo:
            covered += hi - lo
            reach = hi
    if not reported or 2 * covered < end - start:
        return "author", None
    best = max(reported, key=lambda q: (min(q.end, end) - max(q.start, start), q.end - q.start))
    return "quoted", best.speaker


def _classify(text: str, q: _Paired, after: str | None, lead: str, in_sentence: str | None,
              last: tuple[int, str] | None, line_starts: list[int]) -> tuple[str, str | None]:
    """(kind, speaker) of an outer quotation."""
    if after is not None:
        return "direct", after or None
    short = word_count(text[q.start:q.end]) <= _SHORT_LABEL
    if short and _SCARE_MARKER.search(lead):
        return "scare", None
    said, speaker = attribution_before(lead)
    if said:
        return "direct", speaker or in_sentence
    if short and lead.strip(" \t" + MASK):
        return "scare", None
    if lead.strip() or last is None:
        return "direct", None
    line = bisect.bisect_right(line_starts, q.start) - 1
    previous = line - 1
    while previous > 0 and _BLANK_LINE.match(text, line_starts[previous]):
        previous -= 1  # skip blank lines back to the previous paragraph
    starts_line = _match_end(_INDENT, text, line_starts[line]) == q.start
    if last[0] - 1 == line or (starts_line and last[0] - 1 == previous):
        return "direct", last[1]
    return "direct", None


def _embedded(text: str, q: _Paired) -> bool:
    """Whether the quotation sits inside a sentence with no punctuation on either side of its
    closing mark: then the words after it go on the sentence ("the so-called "experts" told
    the committee"), they do not attribute it."""
    before = text[max(0, q.start - 3):q.start].rstrip(" \t")
    inside = text[q.start:q.end - 1].rstrip(" \t")
    after = text[q.end:q.end + 2].lstrip(" \t")
    return bool(before) and (before[-1].isalnum() or before[-1] in ",;") \
        and inside[-1:] not in tuple(",.!?;:—–-") and after[:1] not in tuple(",.!?;:—–-")


def _inner(text: str, paired: list[_Paired], outer: list[Quotation]) -> list[Quotation]:
    """Quotations inside quotations: the outer speaker's, scare when a short label."""
    found: list[Quotation] = []
    outer = [q for q in outer if q.kind != "indirect"]
    starts = [q.start for q in outer]
    for q in paired:
        if q.depth == 0:
            continue
        host = outer[bisect.bisect_right(starts, q.start) - 1]
        said, _ = attribution_before(text[max(host.start + 1, q.start - _LEAD_CHARS):q.start])
        short = word_count(text[q.start:q.end]) <= _SHORT_LABEL
        kind = "scare" if short and not said else "direct"
        found.append(Quotation(q.start, q.end, host.speaker, kind))
    return found


def _mask(text: str, outer: list[_Paired]) -> str:
    pieces: list[str] = []
    pos = 0
    for q in outer:
        pieces.append(text[pos:q.start])
        pieces.append(re.sub(r"[^\n]", MASK, text[q.start:q.end]))
        pos = q.end
    pieces.append(text[pos:])
    return "".join(pieces)


def _pair_marks(text: str) -> list[_Paired]:
    """Pair quotation marks with one stack of (position, mark); see the module docstring."""
    out: list[_Paired] = []
    stack: list[tuple[int, str]] = []
    skip = -1  # the opening mark that continues a quotation into a new paragraph
    for m in _MARKS.finditer(text):
        pos, mark = m.start(), m.group()
        if mark == "\n":
            stack = [(p, c) for p, c in stack if c in _DOUBLE]  # no single quote spans lines
            if stack:
                skip = _end_paragraph(text, pos, stack, out)
            continue
        if pos == skip:
            continue
        role = _role(text, pos, mark, stack)
        if role == "open":
            stack.append((pos, mark))
        elif role == "close":
            _close(pos, mark, stack, out)
    doubles = [p for p, c in stack if c in _DOUBLE]  # single quotes left open are no quotes
    end = len(text.rstrip())
    out.extend(_Paired(p, max(end, p + 1), depth) for depth, p in enumerate(doubles))
    # depth by containment: a quote whose opener never closed contains nothing
    nested: list[_Paired] = []
    reach = -1
    for q in sorted(out, key=lambda q: (q.start, -q.end)):
        nested.append(_Paired(q.start, q.end, 1 if q.start < reach else 0))
        reach = max(reach, q.end) if q.start >= reach else reach
    return nested


def _role(text: str, pos: int, mark: str, stack: list[tuple[int, str]]) -> str | None:
    """"open", "close" or None (an apostrophe, a stray mark) for the mark at ``pos``."""
    left = text[pos - 1] if pos else " "
    right = text[pos + 1] if pos + 1 < len(text) else " "
    can_open = (left.isspace() or left in _OPENS_AFTER) and not right.isspace()
    can_close = not left.isspace() and (right.isspace() or right in _CLOSES_BEFORE)
    open_marks = "".join(c for _, c in stack)
    top = open_marks[-1:] or " "
    if mark in "'’" and left.isalnum() and right.isalnum():
        return None  # an apostrophe: don't, c'est
    if mark in "'’‘›":
        pending = open_marks.rstrip("".join(_DOUBLE))  # singles cannot close through doubles
        if mark == "‘" and top == "‚":
            return "close"
        if can_close and pending and pending[-1] in _CLOSERS[mark] and pending == open_marks:
            return "close"
        return "open" if can_open and mark in "'‘" else None
    if mark in "‚‹„":
        return "open"
    if mark == "«":
        return "close" if top == "»" else "open"
    if mark == "»":
        return "close" if "«" in open_marks else "open" if can_open else None
    doubles_open = any(c in '"“„”' for c in open_marks)
    if mark == "“":
        return "close" if top == "„" or (can_close and not can_open and doubles_open) else "open"
    if mark == "”":
        return "open" if can_open and not can_close and not doubles_open else "close"
    if can_open != can_close:  # a straight mark flanked on one side only
        return "open" if can_open else "close" if doubles_open else None
    return "close" if doubles_open else "open"


def _close(pos: int, mark: str, stack: list[tuple[int, str]], out: list[_Paired]) -> None:
    """Close the innermost quotation ``mark`` can close, and any left open inside it."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i][1] in _CLOSERS[mark]:
            out.append(_Paired(stack[i][0], pos + 1, i))
            del stack[i:]
            return


def _end_paragraph(text: str, pos: int, stack: list[tuple[int, str]],
                   out: list[_Paired]) -> int:
    """At a line break with quotations open: carry the outer one on when the next paragraph
    opens with a quotation mark (returning that mark's position), else close them all here."""
    end = _content_end(text, pos, 0, " \t")
    nxt = _match_end(_SPACES, text, pos)
    carry = nxt < len(text) and text[nxt] in _PARAGRAPH_OPENING
    closed = stack[1:] if carry else stack[:]
    out.extend(_Paired(p, max(end, p + 1), depth + (1 if carry else 0))
               for depth, (p, _) in enumerate(closed))
    del stack[1 if carry else 0:]
    return nxt if carry else -1


def _content_end(text: str, end: int, lo: int, trailing: str = " \t\n.!?") -> int:
    """``end`` moved back over ``trailing`` characters, not below ``lo``."""
    while end > lo and text[end - 1] in trailing:
        end -= 1
    return end


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (one that may match nothing) stops matching from ``pos``."""
    m = pattern.match(text, pos)
    return m.end() if m else pos
