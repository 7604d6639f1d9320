"""Structure of plain-text articles: crawler header, title, body and closing author bio.

Three layouts are recognised, all returning offsets into the text as given:
* crawler files: a ``DD.MM.YYYY Author: Name`` line, the title, the body, and a closing bio that
  starts with the author's name and often names the outlet (``… for the online magazine
  “New Eastern Outlook”``);
* PTC article files: the title, an empty line, then the body, one sentence a line;
* plain text with no header: all of it is body.

Page furniture a crawler saved above the text (``Advertisement``, ``Updated``, a photo credit,
a bare date, "You can now listen to ... articles!") is neither title nor body: it is skipped
before the title is looked for (:func:`is_page_furniture`), and the cleaning leaves such lines
out between paragraphs too. PTC files are taken as they are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

__all__ = ["TextLayout", "parse_layout", "fold_accents", "parse_date", "is_page_furniture",
           "paragraphs_only"]

_HEADER = re.compile(
    r"^[ \t]*(?:(?P<date>\d{1,2}[./-]\d{1,2}[./-]\d{4}|\d{4}-\d{2}-\d{2})[ \t]*)?"
    # the keyword in any case, the name capitalised ("By the numbers: ..." is no byline)
    r"(?:(?i:Authors?[ \t]*:|By[ \t]*:?)[ \t]*(?P<author>[A-ZÀ-Þ][^\n]{0,100}?))?[ \t]*$",
)
# "... for the online magazine “New Eastern Outlook”": a quoted name after "for" in the bio.
_OUTLET_IN_BIO = re.compile(r"\b(?:for|at|with)\b[^“\"«\n]{0,60}[“\"«]([^”\"»\n]{2,80})[”\"»]",
                            re.IGNORECASE)
# Lines that web pages put around an article's text and crawlers keep: widgets, ad slots,
# bylines without a name, photo credits and captions, copyright lines. Each must match a whole
# line and leave prose alone ("Photos by the agency show ...", "the tax credit: ...",
# "Copyright law ...").
_FURNITURE = re.compile(
    r"""(?:advertisement|sponsored(?:\s+content)?|skip\s+to\s+(?:main\s+)?content
       |placeholder\s+while\s+article\s+actions\s+load
       |send\s+this\s+(?:page|article)\s+to\s+someone(?:\s+via\s+e-?mail)?
       |(?:new\s+)?you\s+can\s+now\s+listen\s+to\s+.{1,40}?\s+articles
       |this\s+advertisement\s+has\s+not\s+loaded\s+yet.*
       |your\s+browser\s+is\s+not\s+supported.*
       |(?:last\s+)?updated(?:\s+on)?|by|share(?:\s+this(?:\s+article)?)?
       |(?:file\s+)?(?:photo|image|picture|video)s?(?:\s+credit)?\s*(?::|\bcourtesy\b).*
       |(?:photo|image|picture)s?\s+by\s+(?:\S+\s+){0,3}\S+
       |(?:.{1,200}?[.)]\s+)?(?:photo\s+|image\s+)?credits?\s*:\s*[^.]{1,80}
       |.{1,200}?\((?:picture|photo|image)\s*:\s*[^)]{1,60}\)
       |(?:©|\(c\)\s|copyright\s+(?:©\s*)?\d{4}\b).*
       |.{1,60}?\s/\s(?:getty\s+images|ap(?:\s+photo)?|reuters|afp|istock|shutterstock)\b.*
       |(?:getty|istock|shutterstock)(?:\s+images)?
    )[\s.!:]*""", re.IGNORECASE | re.VERBOSE)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
# A dateline alone on its line: "January 6, 2020", "8th June 2016", "Mon, 6 Jan 2020",
# "31/12/2019 - 14h08", "2020-01-06 10:15", "January 2020"
_DATE_LINE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
    rf"(?:(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}})"
    rf"|(?:{_MONTH}\s+(?:\d{{1,2}}(?:st|nd|rd|th)?,?\s+)?\d{{4}})"
    r"|(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4})|(?:\d{4}-\d{2}-\d{2}))"
    r"(?:\s*(?:[-–,|@]|at)?\s*\d{1,2}(?:[:h.]\d{2})?(?::\d{2})?\s*(?:[ap]\.?m\.?)?"
    r"(?:\s*[A-Z]{2,4})?)?",
    re.IGNORECASE)
_MAX_LEADING_FURNITURE = 6  # lines looked at above the text
_MAX_TITLE_CHARS = 250
_MAX_SENTENCE_TITLE = 80


@dataclass
class TextLayout:
    """Where the parts of a plain-text article are, as offsets into the text."""

    body_start: int
    body_end: int
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    outlet: str | None = None
    layout: str = "plain"  # "crawler", "ptc" or "plain"


def fold_accents(name: str) -> str:
    """``"Jean Périer"`` -> ``"jean perier"``: compare names as a reader would."""
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def parse_date(value: str) -> date | None:
    """Parse a date, day first for dotted/slashed forms (18.12.2016), ISO otherwise."""
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", value)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        from dateutil import parser

        return parser.parse(value, dayfirst=True, fuzzy=False).date()
    except (ValueError, OverflowError):
        return None


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, line break excluded."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def parse_layout(text: str, *, hint: str | None = None) -> TextLayout:
    """Find header, title, body and bio in ``text``."""
    lines = [(s, e) for s, e in _lines(text) if text[s:e].strip()]
    if not lines:
        return TextLayout(0, len(text))
    first_s, first_e = lines[0]
    header = _HEADER.match(text[first_s:first_e])
    layout = TextLayout(0, len(text))
    rest = lines
    if header and (header["date"] or header["author"]):
        layout.layout = "crawler"
        if header["date"]:
            layout.published = parse_date(header["date"])
        if header["author"]:
            layout.authors = [a.strip(" -–—|") for a in re.split(r",| and ", header["author"])
                              if a.strip(" -–—|")]
        rest = lines[1:]
    ptc_file = hint == "ptc"  # taken as it is: its first line is the title
    for _ in range(0 if ptc_file else _MAX_LEADING_FURNITURE):
        # never the last line: something stays the body
        if len(rest) < 2 or not is_page_furniture(text[rest[0][0]:rest[0][1]]):
            break
        rest = rest[1:]
    if len(rest) >= 2 and _looks_like_title(text, rest[0], rest[1], ptc=ptc_file):
        layout.title = text[rest[0][0]:rest[0][1]].strip()
        if layout.layout == "plain":
            layout.layout = "ptc" if ptc_file or _is_one_sentence_a_line(text, rest[1:]) \
                else "plain"
        rest = rest[1:]
    if not rest:
        return TextLayout(len(text), len(text), layout.title, layout.authors, layout.published,
                          layout.outlet, layout.layout)
    layout.body_start, layout.body_end = rest[0][0], rest[-1][1]
    if layout.layout == "crawler" and len(rest) >= 2:
        _split_bio(text, rest, layout)
    return layout


def is_page_furniture(line: str) -> bool:
    """Whether a line is page furniture or a bare dateline, which a reader skips:
    ``Advertisement``, ``Updated``, ``Photo by ...``, ``© 2011 ...``, ``January 6, 2020``."""
    line = line.strip()
    return bool(line) and bool(_FURNITURE.fullmatch(line) or _DATE_LINE.fullmatch(line))


def _looks_like_title(text: str, line: tuple[int, int], following: tuple[int, int], *,
                      ptc: bool = False) -> bool:
    """A short first line followed by a blank line is a title (a long or comma-ended one is not)."""
    s, e = line
    candidate = text[s:e].strip()
    blank_after = text[e:following[0]].count("\n") >= 2
    if not blank_after or not 0 < len(candidate) <= _MAX_TITLE_CHARS \
            or (not ptc and is_page_furniture(candidate)):
        return False
    # A long line ending like a sentence is the first paragraph of a headerless text.
    return not candidate.endswith((",", ";", ":")) and not (
        candidate.endswith((".", "!", "?", "\"", "”")) and len(candidate) > _MAX_SENTENCE_TITLE)


def _line_breaks(text: str, lines: list[tuple[int, int]]) -> list[int]:
    """How many line breaks separate each pair of consecutive text lines (1: none blank)."""
    return [text[e:s].count("\n") for (_, e), (s, _) in zip(lines, lines[1:], strict=False)]


def _is_one_sentence_a_line(text: str, lines: list[tuple[int, int]]) -> bool:
    # PTC bodies have no blank lines between most sentences.
    single = _line_breaks(text, lines).count(1)
    return len(lines) > 2 and single >= len(lines) // 2


def paragraphs_only(text: str) -> bool:
    """Whether every line break in ``text`` opens a paragraph (follows a blank line). PTC
    files put one sentence on a line, so a multi-line text without a single plain break is
    not one (the unlabelled news of ../shared share its file names)."""
    breaks = _line_breaks(text, [(s, e) for s, e in _lines(text) if text[s:e].strip()])
    return bool(breaks) and min(breaks) >= 2


def _split_bio(text: str, lines: list[tuple[int, int]], layout: TextLayout) -> None:
    """A last paragraph that starts with the author's name is the bio, not the body."""
    s, e = lines[-1]
    last = text[s:e].strip()
    header_names = {fold_accents(a): a for a in layout.authors}
    bio_name = re.match(r"^([A-ZÀ-Þ][\w'’.-]+(?:\s+[A-ZÀ-Þ][\w'’.-]+){0,3})\s+(?:is|was|has|"
                        r"writes|works)\b", last)
    if not bio_name:
        return
    name = bio_name[1]
    folded = fold_accents(name)
    if header_names and folded not in header_names:
        return
    # One person: keep the accented spelling, as the bio usually has the proper form.
    layout.authors = [name if fold_accents(a) == folded else a
                      for a in layout.authors] or [name]
    outlet = _OUTLET_IN_BIO.search(last)
    if outlet:
        layout.outlet = outlet[1].strip()
    layout.body_end = lines[-2][1]
