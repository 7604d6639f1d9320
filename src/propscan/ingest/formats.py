"""The one table of input formats: file suffixes, what each format holds, and who reads it.

``analyze``, the web app's upload and ``batch`` all ask this module what a file is, so a
suffix means the same thing everywhere. Three kinds of format:

* article formats (``text``, ``ptc``, ``html``): one file is one article;
* record formats (``json``, ``jsonl``): one file holds records with ``text`` or ``html`` and
  metadata (``analyze`` and the API read them; ``batch`` streams them);
* corpus formats (``csv``, ``parquet``, ``warc``): many records, read by ``batch`` only.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "SUFFIX_FORMATS",
    "ARTICLE_FORMATS",
    "RECORD_FORMATS",
    "CORPUS_FORMATS",
    "INPUT_FORMATS",
    "ANALYZE_SUFFIXES",
    "BATCH_SUFFIXES",
    "suffix_of",
    "format_of",
]

#: file suffix (lower case) -> input format
SUFFIX_FORMATS: dict[str, str] = {
    ".txt": "text", ".text": "text", ".md": "text",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".csv": "csv", ".parquet": "parquet",
    ".warc": "warc", ".warc.gz": "warc",
}
ARTICLE_FORMATS = ("text", "ptc", "html")
RECORD_FORMATS = ("json", "jsonl")
CORPUS_FORMATS = ("csv", "parquet", "warc")
#: values of ``--input-format`` (``analyze``) and of the API's format detection
INPUT_FORMATS = ("auto", *ARTICLE_FORMATS, *RECORD_FORMATS)
#: suffixes ``analyze`` and the web upload read
ANALYZE_SUFFIXES = tuple(s for s, f in SUFFIX_FORMATS.items()
                         if f in ARTICLE_FORMATS + RECORD_FORMATS)
#: suffixes ``batch`` reads in a directory
BATCH_SUFFIXES = tuple(SUFFIX_FORMATS)


def suffix_of(name: str | Path) -> str:
    """The suffix that decides the format: ``.warc.gz`` counts as one."""
    lowered = Path(name).name.lower()
    return ".warc.gz" if lowered.endswith(".warc.gz") else Path(lowered).suffix


def format_of(name: str | Path | None) -> str | None:
    """The format a file name announces, or None when its suffix is not in the table."""
    if not name:
        return None
    return SUFFIX_FORMATS.get(suffix_of(name))
