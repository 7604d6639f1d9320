"""HTML pages: main text with trafilatura, metadata from the page, the date with htmldate.

Two failures of the extractor are caught here:
* a page with nothing but a menu, which trafilatura's fallback returns as if it were the
  article (``<nav>Home | About</nav>``): refused as EmptyInput;
* a page nested deeper than libxml2 parses (about 255 elements), where the extractor finds
  nothing although the text is there: the page is flattened (container tags removed) and
  extracted again, and failing that its text is read with a plain tokenizer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any

from propscan.errors import EmptyInput
from propscan.ingest.plaintext import parse_date

__all__ = ["ExtractedPage", "extract_html", "clean_outlet", "strip_outlet"]

#: Nesting from which libxml2 (trafilatura's parser) drops the text of a page.
DEEP_NESTING = 200
# elements that hold navigation and page furniture, not the article
_FURNITURE_TAGS = ("nav", "header", "footer", "aside", "menu")
_FURNITURE_ROLES = ("navigation", "banner", "contentinfo", "menu", "menubar")
_SKIPPED_TAGS = frozenset({*_FURNITURE_TAGS, "head", "script", "style", "noscript", "template",
                           "form", "button", "select", "svg", "iframe"})
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "article", "section", "main", "blockquote", "pre", "tr", "table",
                         "dd", "dt", "figcaption", "hr"})
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                        "meta", "source", "track", "wbr"})
_CONTAINER_TAG = re.compile(r"</?(?:div|span|section|font|center)\b[^>]*>", re.IGNORECASE)
_COPYRIGHT = re.compile(r"©|\(c\)|\bcopyright\b|\ball rights reserved\b", re.IGNORECASE)
_COPYRIGHT_WORDS = re.compile(r"©|\(c\)|\bcopyright\b|\ball rights reserved\b"
                              r"|\b(?:19|20)\d{2}\b(?:\s*[-–]\s*(?:19|20)?\d{2,4})?",
                              re.IGNORECASE)
_CAMEL_PART = re.compile(r"[A-Z]+[a-z0-9]*|[a-z0-9]+")
# what is left between an author's name and an outlet named beside it
_JOINERS = re.compile(r"^(?:[\s,;:|/\\·•\-–—]+|(?:for|at|of|from|with|by)\b)+|"
                      r"(?:[\s,;:|/\\·•\-–—]+|\b(?:for|at|of|from|with|by))+$", re.IGNORECASE)


@dataclass
class ExtractedPage:
    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: date | None = None
    outlet: str | None = None
    url: str | None = None
    warnings: list[str] = field(default_factory=list)


def extract_html(html: str, *, url: str | None = None) -> ExtractedPage:
    """Extract the article's main text and metadata; EmptyInput when the page has no text."""
    doc = _bare_extraction(html, url)
    if doc is None:
        return _extract_deep_page(html, url)
    if _only_furniture(html, doc.text):
        raise EmptyInput("the HTML page holds only navigation or page furniture "
                         "(a menu, a header, a footer), no article text")
    published = parse_date(doc.date) if doc.date else None
    if published is None:
        published = _find_date(html)
    outlet = clean_outlet(doc.sitename, doc.hostname)
    authors = [strip_outlet(a.strip(), outlet, doc.hostname)
               for a in (doc.author or "").split(";") if a.strip()]
    if len(authors) > 1 and outlet:  # the outlet listed beside its writers is not one of them
        authors = [a for a in authors if not _names_outlet(a.split(), outlet)] or authors
    return ExtractedPage(text=doc.text, title=doc.title or None,
                         authors=list(dict.fromkeys(authors)), published=published,
                         outlet=outlet, url=doc.url or url)


def _bare_extraction(html: str, url: str | None) -> Any:
    """trafilatura's document, or None when it found no text."""
    import trafilatura

    doc: Any = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                           include_comments=False, include_tables=False)
    return doc if doc is not None and (doc.text or "").strip() else None


def _extract_deep_page(html: str, url: str | None) -> ExtractedPage:
    collector = _TextCollector.read(html)
    if collector.max_depth <= DEEP_NESTING:
        raise EmptyInput("no article text could be extracted from the HTML page")
    note = (f"the page nests elements {collector.max_depth:,} deep; its text was extracted "
            "without its layout")
    doc = _bare_extraction(_CONTAINER_TAG.sub("\n", html), url)
    if doc is not None:
        outlet = clean_outlet(doc.sitename, doc.hostname)
        return ExtractedPage(text=doc.text, title=doc.title or None, outlet=outlet,
                             url=doc.url or url, warnings=[note])
    text = collector.text()
    if not re.search(r"\w", text):
        raise EmptyInput("no article text could be extracted from the HTML page")
    return ExtractedPage(text=text, url=url, warnings=[note])


def _compact(text: str) -> str:
    return "".join(text.split())


def _only_furniture(html: str, text: str) -> bool:
    """Whether every line of the extracted text comes from navigation or page furniture and
    none from the rest of the page. Only evidence counts: a line found nowhere (the extractor
    rewrote it) or a page lxml cannot read keeps the text."""
    import lxml.etree
    import lxml.html

    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.LxmlError, ValueError):
        return False
    roles = " or ".join(f'@role="{role}"' for role in _FURNITURE_ROLES)
    furniture = [*tree.iter(*_FURNITURE_TAGS), *tree.xpath(f"//*[{roles}]")]
    furniture_text = _compact(" ".join(el.text_content() for el in furniture))
    for el in [*furniture, *tree.iter("head", "script", "style", "noscript", "template")]:
        if el.getparent() is not None:  # not already dropped with an ancestor
            el.drop_tree()
    main_text = _compact(tree.text_content())
    lines = [line for line in map(_compact, text.splitlines()) if line]
    if not lines or any(line in main_text for line in lines):
        return False
    return all(line in furniture_text for line in lines)


class _TextCollector(HTMLParser):
    """The text of a page outside furniture, read by a tokenizer that keeps no tree, so no
    nesting is too deep for it; and the deepest nesting met."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = self.max_depth = self.skipping = 0

    @classmethod
    def read(cls, html: str) -> _TextCollector:
        collector = cls()
        collector.feed(html)
        collector.close()
        return collector

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID_TAGS:
            self.parts.append("\n" if tag in _BLOCK_TAGS else "")
            return
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID_TAGS:
            return
        self.depth = max(0, self.depth - 1)
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n\n".join(line for line in lines if line)


def clean_outlet(sitename: str | None, hostname: str | None) -> str | None:
    """The outlet's name: never a copyright line (``Copyright 2014``, ``© 2011 Example Media.
    All rights reserved``): the name in it when there is one, else the host name."""
    name = (sitename or "").strip()
    if name and _COPYRIGHT.search(name):
        name = " ".join(_COPYRIGHT_WORDS.sub(" ", name).split()).strip(" .,;:-–—|")
        if sum(ch.isalpha() for ch in name) < 2:
            name = ""
    return name or (hostname or "").strip() or None


def strip_outlet(author: str, outlet: str | None, hostname: str | None) -> str:
    """An author string without the outlet named at its start or end
    (``Pat Example Invented News`` -> ``Pat Example``); unchanged when nothing would be left."""
    words = author.split()
    # a host name's label must span two words: a surname alone may equal it (smith.com)
    for name, fewest in ((outlet, 1), (_host_label(hostname), 2)):
        if not name:
            continue
        for k in range(len(words) - 1, fewest - 1, -1):  # the longest match first
            for outlet_words, rest in ((words[-k:], words[:-k]), (words[:k], words[k:])):
                if _names_outlet(outlet_words, name):
                    stripped = _JOINERS.sub("", " ".join(rest)).strip()
                    if sum(ch.isalpha() for ch in stripped) >= 2:
                        return stripped
    return author


def _names_outlet(words: list[str], outlet: str) -> bool:
    """Whether ``words`` spell the outlet: the same letters (``Example News`` for
    ``example-news``), or its camel-case abbreviation (``Sputnik International`` for
    ``SputnikInt``: every part a prefix of its word, one of them whole)."""
    key = re.sub(r"\W", "", "".join(words)).lower()
    if key and key == re.sub(r"\W|_", "", outlet).lower():
        return True
    parts = _CAMEL_PART.findall(outlet)
    return (len(parts) == len(words) > 1
            and all(w.lower().startswith(p.lower()) for p, w in zip(parts, words, strict=True))
            and any(w.lower() == p.lower() for p, w in zip(parts, words, strict=True)))


def _host_label(hostname: str | None) -> str | None:
    """``www.example-news.com`` -> ``example-news``."""
    if not hostname:
        return None
    labels = hostname.lower().removeprefix("www.").split(".")
    return labels[0] if len(labels) > 1 else None


def _find_date(html: str) -> date | None:
    from htmldate import find_date

    # Only dates the page states: no guess from the URL alone or from today's date.
    found = find_date(html, extensive_search=False, original_date=True)
    return parse_date(found) if found else None
