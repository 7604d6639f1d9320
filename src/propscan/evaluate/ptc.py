"""Reading and writing the PTC corpus formats (SemEval-2020 Task 11)."""

from __future__ import annotations

import re
from pathlib import Path

from propscan.errors import InputNotFound, InvalidRecord

__all__ = ["read_articles", "read_tc_labels", "read_si_labels", "read_span_template",
           "article_id_from_name"]

_ID_RE = re.compile(r"article(\d+)")


def article_id_from_name(name: str) -> str:
    """``article111111111.txt`` -> ``111111111``; other names keep their stem."""
    m = _ID_RE.match(name)
    return m.group(1) if m else Path(name).stem


def read_articles(articles_dir: Path) -> dict[str, str]:
    """All ``*.txt`` files of a PTC articles directory, by article id, exactly as on disk."""
    articles_dir = Path(articles_dir)
    if not articles_dir.is_dir():
        raise InputNotFound(f"articles directory not found: {articles_dir}")
    texts = {}
    for path in sorted(articles_dir.glob("*.txt")):
        # newline="" keeps \r\n as is: PTC offsets count every character of the file
        with open(path, encoding="utf-8", newline="") as fh:
            texts[article_id_from_name(path.name)] = fh.read()
    if not texts:
        raise InputNotFound(f"no .txt articles in {articles_dir}")
    return texts


def _rows(path: Path) -> list[list[str]]:
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"labels file not found: {path}")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(line.rstrip("\n").split("\t"))
    return rows


def _int(value: str, path: Path, lineno: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidRecord(f"{path}:{lineno}: expected an integer offset, got {value!r}") from None


def read_tc_labels(path: Path) -> list[tuple[str, str, int, int]]:
    """Rows ``id<TAB>technique<TAB>start<TAB>end``."""
    out = []
    for i, row in enumerate(_rows(path), 1):
        if len(row) != 4:
            raise InvalidRecord(f"{path}:{i}: expected 4 tab-separated fields, got {len(row)}")
        out.append((row[0], row[1], _int(row[2], path, i), _int(row[3], path, i)))
    return out


def read_si_labels(path: Path) -> list[tuple[str, int, int]]:
    """Rows ``id<TAB>start<TAB>end``."""
    out = []
    for i, row in enumerate(_rows(path), 1):
        if len(row) != 3:
            raise InvalidRecord(f"{path}:{i}: expected 3 tab-separated fields, got {len(row)}")
        out.append((row[0], _int(row[1], path, i), _int(row[2], path, i)))
    return out


def read_span_template(path: Path) -> list[tuple[str, int, int]]:
    """A TC template: rows ``id<TAB>?<TAB>start<TAB>end`` or ``id<TAB>start<TAB>end``."""
    out = []
    for i, row in enumerate(_rows(path), 1):
        if len(row) == 4:
            out.append((row[0], _int(row[2], path, i), _int(row[3], path, i)))
        elif len(row) == 3:
            out.append((row[0], _int(row[1], path, i), _int(row[2], path, i)))
        else:
            raise InvalidRecord(f"{path}:{i}: expected 3 or 4 tab-separated fields")
    return out
