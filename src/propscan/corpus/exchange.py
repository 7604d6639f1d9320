"""Reviewed articles out as gold, in the formats annotation teams use (import: ``gold_import``).

* ``ptc``: ``OUT/articleNNN.txt`` files (the stored text, so offsets index the file as in the
  PTC corpus) and one TC labels file ``OUT/labels.txt`` of ``id<TAB>technique<TAB>start<TAB>end``
  rows (SemEval-2020 Task 11). ``OUT/ids.tsv`` maps each label id and file back to the
  propscan id (``label_id<TAB>file<TAB>propscan_id``, the id with ``\\t``, ``\\n``, ``\\r`` and
  ``\\\\`` escaped): ids like ``article123`` or ``123`` keep their number, others become a
  filesystem-safe name.
* ``semeval2023``: the same layout with SemEval-2023 Task 3 names: a finding's
  ``technique_2023`` when the model gave one, else the PTC name renamed 1:1; the two PTC
  classes that SemEval-2023 split keep their PTC name, and are counted.
* ``label-studio``: one JSON file, a list of tasks ``{"data": {"text", "title",
  "propscan_id"}, "predictions": [the model's findings], "annotations": [the gold]}``;
  unreviewed articles (predictions only) too with ``include_all``. Offsets are Python string
  indexes into ``data.text``.

Only reviewed articles are gold (see :mod:`propscan.corpus.corrections`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscan.corpus.corrections import gold_findings, reviewed_article_ids
from propscan.doc import Finding
from propscan.errors import ConfigError
from propscan.techniques import PTC_TO_SEMEVAL, SEMEVAL_TECHNIQUE_NAMES

__all__ = ["EXPORT_FORMATS", "SEMEVAL2023_NAMES", "PTC_TO_SEMEVAL2023", "SEMEVAL2023_TO_PTC",
           "ExportSummary", "export_gold", "file_label_id", "escape_id", "unescape_id"]

EXPORT_FORMATS = ("ptc", "semeval2023", "label-studio")
#: SemEval-2023 Task 3's 23 technique names
SEMEVAL2023_NAMES = SEMEVAL_TECHNIQUE_NAMES
#: the two PTC-14 classes SemEval-2023 split (an export keeps their PTC name and counts them)
_SPLIT_PTC = ("Whataboutism,Straw_Men,Red_Herring", "Bandwagon,Reductio_ad_hitlerum")
#: PTC-14 names with one SemEval-2023 counterpart to be exported under
PTC_TO_SEMEVAL2023 = {ptc: names[0] for ptc, names in PTC_TO_SEMEVAL.items()
                      if ptc not in _SPLIT_PTC}
#: SemEval-2023 names and the PTC-14 class each falls into (the split classes merge back)
SEMEVAL2023_TO_PTC = {name: ptc for ptc, names in PTC_TO_SEMEVAL.items() for name in names}
_PTC_ID = re.compile(r"(?:article)?(\d+)")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ExportSummary:
    """What an export wrote. ``merged_names``: fragments of a PTC class that SemEval-2023
    split, left under their PTC name; ``no_text``: reviewed articles stored without text."""

    articles: int = 0
    fragments: int = 0
    predictions_only: int = 0
    merged_names: int = 0
    no_text: int = 0
    paths: list[str] = field(default_factory=list)


def export_gold(con: Any, fmt: str, out: str | Path, *, include_all: bool = False
                ) -> ExportSummary:
    """Write the corpus's gold to ``out`` in format ``fmt`` (one of :data:`EXPORT_FORMATS`):
    a directory for ``ptc``/``semeval2023`` (new, or empty), a JSON file for Label Studio."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    out = Path(out)
    if fmt == "label-studio":
        return _export_label_studio(con, out, include_all)
    if include_all:
        raise ConfigError("--all is for --format label-studio (PTC files hold gold only)")
    return _export_tc_files(con, out, semeval2023=fmt == "semeval2023")


def _articles(con: Any, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """id -> (text, title) of the given ok articles."""
    rows = con.execute("SELECT id, text, title FROM articles WHERE status = 'ok' AND "
                       "id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall() if ids else []
    return {row[0]: (row[1], row[2]) for row in rows}


def _export_tc_files(con: Any, out: Path, *, semeval2023: bool) -> ExportSummary:
    _check_empty_dir(out)
    summary = ExportSummary()
    ids = reviewed_article_ids(con)
    stored = _articles(con, ids)
    labels: list[str] = []
    index: list[str] = []
    used: set[str] = set()
    for article_id in ids:
        text = stored.get(article_id, (None, None))[0]
        if text is None:
            summary.no_text += 1
            continue
        label_id = file_label_id(article_id, used)
        name = f"article{label_id}.txt"
        _write_atomic(out / name, text)  # the file's characters are the text's: offsets hold
        index.append(f"{label_id}\t{name}\t{escape_id(article_id)}\n")
        for found in gold_findings(con, article_id):
            technique = found.technique
            if semeval2023:
                technique = found.technique_2023 or PTC_TO_SEMEVAL2023.get(technique, technique)
                summary.merged_names += technique not in SEMEVAL2023_NAMES
            labels.append(f"{label_id}\t{technique}\t{found.start}\t{found.end}\n")
        summary.articles += 1
    _write_atomic(out / "labels.txt", "".join(labels))
    _write_atomic(out / "ids.tsv", "label_id\tfile\tpropscan_id\n" + "".join(index))
    summary.fragments = len(labels)
    summary.paths = [str(out / "labels.txt"), str(out / "ids.tsv")]
    return summary


def _export_label_studio(con: Any, out: Path, include_all: bool) -> ExportSummary:
    if out.is_dir():
        raise ConfigError(f"-o {out} is a directory; give a .json file name")
    if not out.parent.is_dir():
        raise ConfigError(f"-o {out}: folder {out.parent} does not exist")
    summary = ExportSummary()
    reviewed = set(reviewed_article_ids(con))
    ids = sorted(reviewed)
    if include_all:
        ids = [row[0] for row in con.execute(
            "SELECT id FROM articles WHERE status = 'ok' ORDER BY id").fetchall()]
    stored = _articles(con, ids)
    versions = dict(con.execute(
        "SELECT a.id, r.model_version FROM articles a JOIN runs r USING (run_id) "
        "WHERE a.id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall()) if ids else {}
    tasks = []
    for article_id in ids:
        text, title = stored.get(article_id, (None, None))
        if text is None:
            summary.no_text += article_id in reviewed
            continue
        task: dict[str, Any] = {
            "data": {"text": text, "title": title or "", "propscan_id": article_id},
            "predictions": [{"model_version": versions.get(article_id) or "",
                             "result": _regions(_model_findings(con, article_id), text, "p")}]}
        if article_id in reviewed:
            gold = gold_findings(con, article_id)
            task["annotations"] = [{"result": _regions(gold, text, "g")}]
            summary.articles += 1
            summary.fragments += len(gold)
        else:
            summary.predictions_only += 1
        tasks.append(task)
    _write_atomic(out, json.dumps(tasks, ensure_ascii=False, indent=1))
    summary.paths = [str(out)]
    return summary


def _model_findings(con: Any, article_id: str) -> list[Finding]:
    rows = con.execute('SELECT start, "end", technique, confidence FROM spans '
                       'WHERE article_id = ? ORDER BY start, "end", technique',
                       [article_id]).fetchall()
    return [Finding(s, e, t, c if c is not None else 0.0) for s, e, t, c in rows]


def _regions(findings: list[Finding], text: str, prefix: str) -> list[dict[str, Any]]:
    """Label Studio regions of a Labels control named ``label`` over a Text named ``text``."""
    return [{"id": f"{prefix}{i}", "from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": f.start, "end": f.end, "text": text[f.start:f.end],
                       "labels": [f.technique]}}
            for i, f in enumerate(findings, 1)]


def file_label_id(article_id: str, used: set[str]) -> str:
    """The id an article has in PTC files: its number for ``article123``/``123``, else its
    id made filesystem-safe (and unique among ``used``, which it joins)."""
    match = _PTC_ID.fullmatch(article_id)
    label_id = match.group(1) if match else _UNSAFE.sub("_", article_id).strip("._")[:80]
    if not match or label_id in used:
        label_id = f"{label_id}-{hashlib.sha256(article_id.encode()).hexdigest()[:10]}"
    used.add(label_id)
    return label_id


def escape_id(article_id: str) -> str:
    """An id as one TSV field: backslash, tab, newline and carriage return escaped."""
    return (article_id.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def unescape_id(field: str) -> str:
    """The inverse of :func:`escape_id`."""
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r"}.get(m[1], m[1]), field)


def _check_empty_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} is a file; give a directory for PTC files")
    if out.is_dir() and any(out.iterdir()):
        raise ConfigError(f"-o {out} is not empty; give a new or empty directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create {out}: {err.strerror or err}") from None


def _write_atomic(path: Path, content: str) -> None:
    """``path`` written whole or not at all (a temporary file beside it, renamed)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror or err}") from None
