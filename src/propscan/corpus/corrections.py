"""Reviewers' corrections of the model's findings, and the gold they make.

Corrections are rows of their own ``corrections`` table; they never change the ``spans`` table,
so the model's findings stay as the run stored them. A row is one of :data:`ACTIONS`:

* ``accept`` / ``reject`` a finding, or ``relabel`` it (``technique`` -> ``new_technique``);
  a finding is named by its ``start``, ``end`` and ``technique``;
* ``add`` a fragment the model missed (``start``, ``end``, ``technique``);
* ``reviewed``: the reviewer has gone through the whole article.

Gold semantics:

* Every reviewed article (one with a ``reviewed`` row) is gold for the whole article: what is
  not marked in it is not propaganda.
* Its gold is the model's findings of that article that are not rejected, with relabels
  applied, plus the added fragments. A finding neither accepted nor rejected in a reviewed
  article counts as accepted.
* Corrections apply in the order they were made: a later correction of the same finding wins
  over an earlier one (reject then accept: accepted).
* Imported gold (PTC labels, Label Studio annotations) is stored as a ``reviewed`` row whose
  ``source`` is ``'ptc-import'`` or ``'label-studio-import'``, followed by one ``add`` row per
  fragment. Such gold replaces the whole article's: the model's findings are not part of it,
  nor are corrections made before that import; the gold is the imported fragments, with the
  corrections made after the import applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from propscan.doc import Finding
from propscan.errors import InputNotFound, InvalidRecord
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["ACTIONS", "SOURCES", "IMPORT_SOURCES", "CORRECTIONS_DDL", "MAX_REVIEWER_CHARS",
           "Correction", "ensure_corrections_table", "has_corrections_table", "add_correction",
           "corrections_for", "reviewed_article_ids", "gold_findings"]

ACTIONS = ("accept", "reject", "relabel", "add", "reviewed")
SOURCES = ("web", "ptc-import", "label-studio-import")
#: sources whose 'reviewed' row makes the imported fragments the article's whole gold
IMPORT_SOURCES = ("ptc-import", "label-studio-import")
MAX_REVIEWER_CHARS = 100
CORRECTIONS_DDL = """
CREATE SEQUENCE IF NOT EXISTS corrections_id_seq START 1;
CREATE TABLE IF NOT EXISTS corrections (
    id BIGINT PRIMARY KEY DEFAULT nextval('corrections_id_seq'),
    article_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, created TIMESTAMP NOT NULL,
    model_version VARCHAR, action VARCHAR NOT NULL, start INTEGER, "end" INTEGER,
    technique VARCHAR, new_technique VARCHAR, source VARCHAR);
"""
_COLUMNS = ("id", "article_id", "reviewer", "created", "model_version", "action", "start",
            "end", "technique", "new_technique", "source")
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _COLUMNS) + " FROM corrections"


@dataclass
class Correction:
    """One row of the ``corrections`` table (see the module docstring)."""

    article_id: str
    reviewer: str
    action: str
    start: int | None = None
    end: int | None = None
    technique: str | None = None
    new_technique: str | None = None
    model_version: str | None = None
    source: str = "web"
    id: int | None = None
    created: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "article_id": self.article_id, "reviewer": self.reviewer,
                "created": self.created.isoformat() if self.created else None,
                "model_version": self.model_version, "action": self.action,
                "start": self.start, "end": self.end, "technique": self.technique,
                "new_technique": self.new_technique, "source": self.source}


def ensure_corrections_table(con: Any) -> None:
    """Create the ``corrections`` table (and its id sequence) if the database lacks it."""
    con.execute(CORRECTIONS_DDL)


def has_corrections_table(con: Any) -> bool:
    """Whether the database has a ``corrections`` table (a read-only one may not)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name = 'corrections'").fetchone()[0])


def add_correction(con: Any, correction: Correction) -> Correction:
    """Check ``correction``, stamp its time and the model version of its article's run, and
    insert it; returns the stored row. Writers hold the database's write lock around this
    call, so the check sees every earlier correction. Raises InputNotFound (no such ok
    article) or InvalidRecord (anything else wrong), each with one line."""
    c = correction
    _check_fields(c)
    row = con.execute(
        "SELECT a.text, r.model_version FROM articles a LEFT JOIN runs r USING (run_id) "
        "WHERE a.id = ? AND a.status = 'ok'", [c.article_id]).fetchone()
    if row is None:
        raise InputNotFound(f"no analysed article with id {c.article_id[:200]!r}")
    text, model_version = row
    if c.action != "reviewed":
        if text is None:
            raise InvalidRecord("this article was stored before texts were kept; run batch "
                                "again to review it")
        assert c.start is not None and c.end is not None  # checked by _check_fields
        if not 0 <= c.start < c.end <= len(text):
            raise InvalidRecord(f"fragment [{c.start}, {c.end}) is not inside the article's "
                                f"text of {len(text)} characters")
        if c.action != "add" and _find(_state(con, c.article_id), c) is None:
            raise InvalidRecord(f"no finding [{c.start}, {c.end}) {c.technique} in article "
                                f"{c.article_id[:200]!r} to {c.action}")
    stored = replace(c, created=datetime.now(UTC).replace(tzinfo=None),
                     model_version=model_version or None, id=None)
    values = [getattr(stored, name) for name in _COLUMNS[1:]]
    (stored.id,) = con.execute(
        "INSERT INTO corrections (" + ", ".join(f'"{n}"' for n in _COLUMNS[1:]) + ") VALUES ("
        + ", ".join("?" * len(values)) + ") RETURNING id", values).fetchone()
    return stored


def _check_fields(c: Correction) -> None:
    """The checks that need no database: action, reviewer, source, offsets, technique names."""
    if c.action not in ACTIONS:
        raise InvalidRecord(f"action must be one of {', '.join(ACTIONS)}, got {c.action!r:.60}")
    if not isinstance(c.reviewer, str) or not c.reviewer.strip():
        raise InvalidRecord("a reviewer name is required")
    if len(c.reviewer) > MAX_REVIEWER_CHARS:
        raise InvalidRecord(f"the reviewer name is over {MAX_REVIEWER_CHARS} characters")
    if c.source not in SOURCES:
        raise InvalidRecord(f"source must be one of {', '.join(SOURCES)}, got {c.source!r:.60}")
    if c.action == "reviewed":
        return
    if not isinstance(c.start, int) or not isinstance(c.end, int) \
            or isinstance(c.start, bool) or isinstance(c.end, bool):
        raise InvalidRecord(f"{c.action} needs integer 'start' and 'end' offsets")
    _check_technique(c.technique, "technique")
    if c.action == "relabel":
        _check_technique(c.new_technique, "new_technique")
        if c.new_technique == c.technique:
            raise InvalidRecord("relabel needs a new_technique other than the technique")
    elif c.new_technique is not None:
        raise InvalidRecord(f"new_technique is for relabel only, not {c.action}")


def _check_technique(name: object, field: str) -> None:
    if name not in TECHNIQUE_NAMES:
        raise InvalidRecord(f"{field} must be one of the 14 technique names (as "
                            f"/api/v1/techniques lists them), got {str(name)[:60]!r}")


def corrections_for(con: Any, article_id: str) -> list[Correction]:
    """The article's corrections, oldest first."""
    if not has_corrections_table(con):
        return []
    rows = con.execute(_SELECT + " WHERE article_id = ? ORDER BY id", [article_id]).fetchall()
    return [Correction(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]


def reviewed_article_ids(con: Any) -> list[str]:
    """Ids of the articles with a ``reviewed`` row (the gold articles), sorted."""
    if not has_corrections_table(con):
        return []
    return [row[0] for row in con.execute(
        "SELECT DISTINCT article_id FROM corrections WHERE action = 'reviewed' "
        "ORDER BY article_id").fetchall()]


def gold_findings(con: Any, article_id: str) -> list[Finding]:
    """The article's gold fragments (see the module docstring), in reading order, with
    confidence 1. Only meaningful for a reviewed article."""
    row = con.execute("SELECT text FROM articles WHERE id = ?", [article_id]).fetchone()
    text = row[0] if row and row[0] is not None else None
    gold: dict[tuple[int, int, str], Finding] = {}
    for entry in _state(con, article_id):
        if entry.label is None:
            continue
        base = entry.finding
        found = replace(base, technique=entry.label, confidence=1.0,
                        technique_2023=base.technique_2023 if entry.label == base.technique
                        else None,
                        category_2023=base.category_2023 if entry.label == base.technique
                        else None,
                        text=text[base.start:base.end] if text is not None else base.text)
        gold.setdefault((found.start, found.end, found.technique), found)
    return sorted(gold.values(), key=Finding.sort_key)


@dataclass
class _Entry:
    """A candidate gold fragment: the finding it started as, and its label now (None:
    rejected)."""

    finding: Finding
    label: str | None


def _state(con: Any, article_id: str) -> list[_Entry]:
    """Every candidate fragment of the article after its corrections, in order."""
    corrections = corrections_for(con, article_id)
    imported = [i for i, c in enumerate(corrections)
                if c.action == "reviewed" and c.source in IMPORT_SOURCES]
    entries: list[_Entry] = []
    if imported:  # the latest import is the article's whole gold: start from it
        corrections = corrections[imported[-1]:]
    else:
        rows = con.execute(
            'SELECT start, "end", technique, confidence, text, reason, technique_2023, '
            'category_2023 FROM spans WHERE article_id = ? ORDER BY start, "end", technique',
            [article_id]).fetchall()
        entries = [_Entry(Finding(s, e, t, conf if conf is not None else 0.0, txt or "",
                                  reason or "", technique_2023=t23, category_2023=c23), t)
                   for s, e, t, conf, txt, reason, t23, c23 in rows]
    for c in corrections:
        if c.action == "add":
            target = _find(entries, c)
            if target is None:
                entries.append(_Entry(Finding(c.start or 0, c.end or 0, c.technique or "",
                                              1.0), c.technique))
            else:  # an added fragment that was there (or was rejected) is kept again
                target.label = c.technique
        elif c.action in ("accept", "reject", "relabel"):
            target = _find(entries, c)
            if target is not None:
                target.label = {"accept": c.technique, "reject": None,
                                "relabel": c.new_technique}[c.action]
    return entries


def _find(entries: list[_Entry], c: Correction) -> _Entry | None:
    """The entry a correction names: at its offsets, labelled ``technique`` now, else
    labelled so first (a reviewer may name a relabelled finding by either name)."""
    here = [e for e in entries if (e.finding.start, e.finding.end) == (c.start, c.end)]
    for entry in here:
        if entry.label == c.technique:
            return entry
    for entry in here:
        if entry.finding.technique == c.technique:
            return entry
    return None
