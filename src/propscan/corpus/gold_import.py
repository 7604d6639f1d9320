"""Gold from elsewhere into a corpus database: PTC TC label files with their articles, and
Label Studio exports (the formats :mod:`propscan.corpus.exchange` writes, and their origins).

Each imported article becomes a ``reviewed`` correction row with source ``'ptc-import'`` or
``'label-studio-import'`` followed by one ``add`` row per fragment, so its gold is exactly the
imported fragments (see :mod:`propscan.corpus.corrections`). An article the database lacks is
ingested first, through the batch machinery (:func:`propscan.batch.engines.process_records`
and the store's ``write``; detection on unless asked otherwise), as an ``ok`` row keeping its
text; its id is the PTC article id (``article123``, the file's name) or the task's
``propscan_id`` (else the hash of its text, as ``batch`` gives).

A file that cannot be read as its format says is refused whole, with one line, before anything
is written; an article or task that cannot be placed (no article file, a stored text that
differs, no annotation) is skipped and counted by reason.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscan.corpus.corrections import Correction, add_correction, ensure_corrections_table
from propscan.corpus.exchange import SEMEVAL2023_NAMES, SEMEVAL2023_TO_PTC, unescape_id
from propscan.errors import ConfigError, EncodingError, InputNotFound, InvalidRecord
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["GoldArticle", "ImportSummary", "read_ptc_gold", "read_label_studio_gold",
           "store_gold"]

_NO_PTC_CLASS = "technique with no PTC-14 class"


@dataclass
class GoldArticle:
    """One article's imported gold: its text and fragments ``(start, end, technique)``.
    ``article_id`` is None for a Label Studio task that names none (found by its text)."""

    article_id: str | None
    text: str
    fragments: list[tuple[int, int, str]]
    reviewer: str
    title: str | None = None
    origin: str = ""  # where it came from (a file, a task's place), for ingestion's source
    file_name: str | None = None  # a PTC file: ingested by its name, as `batch` would


@dataclass
class ImportSummary:
    """What an import did; ``skipped``: articles or tasks left out, by reason; ``dropped``:
    fragments left out of imported articles, by reason."""

    articles: int = 0
    fragments: int = 0
    ingested: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def line(self, unit: str) -> str:
        """One line: ``imported N articles, M fragments; K tasks skipped: ...``."""
        parts = [f"imported {self.articles} articles, {self.fragments} fragments "
                 f"({self.ingested} new articles ingested)"]
        if self.skipped:
            parts.append(f"{sum(self.skipped.values())} {unit} skipped: " + ", ".join(
                f"{reason} ({n})" for reason, n in self.skipped.most_common()))
        if self.dropped:
            parts.append(f"{sum(self.dropped.values())} fragments left out: " + ", ".join(
                f"{reason} ({n})" for reason, n in self.dropped.most_common()))
        return "; ".join(parts)


def _ptc_name(name: str) -> str | None:
    """The PTC-14 name of a PTC or SemEval-2023 name; None for a SemEval-2023 class without a
    PTC counterpart; InvalidRecord's message (raised by callers) for anything else."""
    if name in TECHNIQUE_NAMES:
        return name
    if name in SEMEVAL2023_TO_PTC:
        return SEMEVAL2023_TO_PTC[name]
    if name in SEMEVAL2023_NAMES:
        return None
    raise KeyError(name)


def _read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:  # offsets count every character
            return fh.read()
    except UnicodeDecodeError as err:
        raise EncodingError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise InputNotFound(f"cannot read {path}: {err.strerror or err}") from None


# ---- PTC ---------------------------------------------------------------------------------

def read_ptc_gold(articles_dir: Path, labels_path: Path, reviewer: str = "PTC annotators",
                  summary: ImportSummary | None = None) -> list[GoldArticle]:
    """The gold of a PTC articles folder and its TC labels file. Every ``article*.txt`` of the
    folder is gold, as in the PTC corpus (one without label rows holds no propaganda), and so
    is every file the rows name (``article{id}.txt``, ``{id}.txt``, or via ``ids.tsv``)."""
    summary = summary if summary is not None else ImportSummary()
    articles_dir = Path(articles_dir)
    if not articles_dir.is_dir():
        raise InputNotFound(f"--articles {articles_dir}: no such folder")
    rows = _read_label_rows(Path(labels_path))
    index = _read_ids_tsv(articles_dir / "ids.tsv")
    files: dict[str, Path] = {}  # label id -> article file
    for lid in dict.fromkeys(row[0] for row in rows):
        candidates = [articles_dir / index[lid][0]] if lid in index else []
        if not any(mark in lid for mark in ("/", "\\", "..")):  # files in the folder only
            candidates += [articles_dir / f"article{lid}.txt", articles_dir / f"{lid}.txt"]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            summary.skipped["no article file for its label rows"] += 1
        else:
            files[lid] = found
    named = {p.name for p in files.values()}
    for path in sorted(articles_dir.glob("article*.txt")):
        if path.name not in named:
            files[f"unlabelled:{path.name}"] = path
    ids_by_file = {name: pid for name, pid in index.values()}
    gold = {lid: GoldArticle(article_id=ids_by_file.get(path.name, path.stem),
                             text=_read_text(path), fragments=[], reviewer=reviewer,
                             origin=str(path), file_name=path.name)
            for lid, path in files.items()}
    # A byte-order mark opens some PTC files and counts in their offsets (Python keeps it
    # as U+FEFF); ingestion drops it, so the stored text and the offsets start one later.
    bom = {lid: int(article.text.startswith("\ufeff")) for lid, article in gold.items()}
    for number, (lid, name, start, end) in enumerate(rows, 1):
        if lid not in gold:
            continue
        try:
            technique = _ptc_name(name)
        except KeyError:
            raise InvalidRecord(f"{labels_path}: row {number}: unknown technique "
                                f"{name[:60]!r}") from None
        article = gold[lid]
        if not 0 <= start < end <= len(article.text):
            raise InvalidRecord(f"{labels_path}: row {number}: [{start}, {end}) is not inside "
                                f"{article.origin} ({len(article.text)} characters)")
        start, end = max(0, start - bom[lid]), end - bom[lid]
        if technique is None:
            summary.dropped[_NO_PTC_CLASS] += 1
        elif start == end:
            summary.dropped["only the byte-order mark"] += 1
        elif (start, end, technique) not in article.fragments:
            article.fragments.append((start, end, technique))
    for lid, article in gold.items():
        article.text = article.text[bom[lid]:]
    return list(gold.values())


def _read_label_rows(path: Path) -> list[tuple[str, str, int, int]]:
    from propscan.evaluate.ptc import read_tc_labels

    try:
        return read_tc_labels(path)
    except UnicodeDecodeError as err:
        raise EncodingError(f"{path}: not UTF-8 text (byte {err.start})") from None


def _read_ids_tsv(path: Path) -> dict[str, tuple[str, str]]:
    """``ids.tsv`` as an export wrote it: label id -> (file name, propscan id); {} if absent."""
    if not path.is_file():
        return {}
    index = {}
    for number, line in enumerate(_read_text(path).splitlines()[1:], 2):
        fields = line.split("\t")
        if len(fields) != 3 or "/" in fields[1] or fields[1].startswith("."):
            raise InvalidRecord(f"{path}:{number}: expected label_id<TAB>file<TAB>propscan_id")
        index[fields[0]] = (fields[1], unescape_id(fields[2]))
    return index


# ---- Label Studio ------------------------------------------------------------------------

def read_label_studio_gold(path: Path, summary: ImportSummary | None = None
                           ) -> list[GoldArticle]:
    """The gold of a Label Studio JSON export: each task's latest annotation not cancelled.
    Regions are ``labels`` results whose ``value`` has ``start``, ``end`` and ``labels``;
    offsets are checked against ``value.text`` (and read as UTF-16 units, as the browser
    counts, when only that matches)."""
    summary = summary if summary is not None else ImportSummary()
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file")
    try:
        tasks = json.loads(_read_text(path))
    except json.JSONDecodeError as err:
        raise InvalidRecord(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise InvalidRecord(f"{path}: JSON nested too deeply") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InvalidRecord(f"{path}: expected a Label Studio export (a JSON list of tasks)")
    gold = []
    for number, task in enumerate(tasks, 1):
        try:
            gold.append(_task_gold(task, f"{path}#{number}", summary))
        except _Skip as skip:
            summary.skipped[str(skip)] += 1
    return gold


class _Skip(Exception):
    """A task left out, and why."""


def _task_gold(task: Any, origin: str, summary: ImportSummary) -> GoldArticle:
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) \
            or not data["text"].strip():
        raise _Skip("no data.text")
    text: str = data["text"]
    listed = task.get("annotations")
    annotations = [a for a in (listed if isinstance(listed, list) else [])
                   if isinstance(a, dict) and not a.get("was_cancelled")
                   and isinstance(a.get("result"), list)]
    if not annotations:
        raise _Skip("no annotation")
    # the latest annotation is the task's gold (Label Studio timestamps are ISO strings)
    latest = max(enumerate(annotations),
                 key=lambda pair: (str(pair[1].get("updated_at") or pair[1].get("created_at")
                                       or ""), pair[0]))[1]
    fragments: list[tuple[int, int, str]] = []
    dropped = 0
    for region in latest["result"]:
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("labels"), list):
            continue  # not a labelled span (choices, relations, ...)
        start, end = _offsets(value, text)
        for name in value["labels"]:
            try:
                technique = _ptc_name(str(name))
            except KeyError:
                raise _Skip(f"unknown technique {str(name)[:40]!r}") from None
            if technique is None:
                dropped += 1
            elif (start, end, technique) not in fragments:
                fragments.append((start, end, technique))
    if dropped:
        summary.dropped[_NO_PTC_CLASS] += dropped
    pid = data.get("propscan_id")
    who = latest.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return GoldArticle(article_id=str(pid) if isinstance(pid, str | int) and str(pid) else None,
                       text=text, fragments=fragments, origin=origin,
                       reviewer=f"label-studio:{who}"[:100] if who not in (None, "")
                       else "label-studio",
                       title=data["title"] if isinstance(data.get("title"), str) else None)


def _offsets(value: dict[str, Any], text: str) -> tuple[int, int]:
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, int) or not isinstance(end, int) \
            or isinstance(start, bool) or isinstance(end, bool):
        raise _Skip("a region without integer start/end")
    marked = value.get("text")
    ok = 0 <= start < end <= len(text) and (marked is None or text[start:end] == marked)
    if not ok and isinstance(marked, str):
        start, end = _utf16_to_index(text, start), _utf16_to_index(text, end)
        ok = 0 <= start < end <= len(text) and text[start:end] == marked
    if not ok:
        raise _Skip("region offsets do not match the text")
    return start, end


def _utf16_to_index(text: str, units: int) -> int:
    """The string index at ``units`` UTF-16 code units into ``text`` (-1 if inside a pair)."""
    seen = 0
    for index, char in enumerate(text):
        if seen == units:
            return index
        seen += 2 if ord(char) > 0xFFFF else 1
        if seen > units:
            return -1
    return len(text) if seen == units else -1


# ---- into the database -------------------------------------------------------------------

def store_gold(db_path: Path, gold: list[GoldArticle], source: str, *, detect: bool = True,
               model_dir: Path | None = None, summary: ImportSummary | None = None
               ) -> ImportSummary:
    """Ingest the articles the database lacks, then write each article's gold as corrections
    (one transaction). ``source``: ``'ptc-import'`` or ``'label-studio-import'``."""
    import duckdb

    from propscan.batch.store import DuckDBStore

    summary = summary if summary is not None else ImportSummary()
    try:
        store = DuckDBStore(db_path).open()
    except duckdb.Error as err:
        raise ConfigError(f"cannot open database {db_path}: "
                          f"{str(err).strip().splitlines()[0]}") from None
    try:
        con = store.con_
        ensure_corrections_table(con)
        placed = _place(con, gold, summary)
        new = [g for g, known in placed if not known]
        ingested = _ingest(store, new, detect, model_dir, summary) if new else set()
        ready = [g for g, known in placed if known or g.article_id in ingested]
        summary.ingested = len(ingested)
        _write_corrections(con, ready, source)
        summary.articles = len(ready)
        summary.fragments = sum(len(g.fragments) for g in ready)
    finally:
        store.close()
    return summary


def _place(con: Any, gold: list[GoldArticle], summary: ImportSummary
           ) -> list[tuple[GoldArticle, bool]]:
    """Each article with whether it is stored already (its id set); those that cannot be
    placed are counted as skipped."""
    from propscan.batch.readers import content_id

    placed: list[tuple[GoldArticle, bool]] = []
    seen: set[str] = set()
    for article in gold:
        row = None
        if article.article_id is not None:
            row = con.execute("SELECT text, status FROM articles WHERE id = ?",
                              [article.article_id]).fetchone()
        if row is None and article.article_id is None:
            match = con.execute("SELECT id FROM articles WHERE status = 'ok' AND text = ? "
                                "ORDER BY id LIMIT 1", [article.text]).fetchone()
            article.article_id = match[0] if match else content_id(article.text)
            row = (article.text, "ok") if match else None
        if article.article_id in seen:
            summary.skipped["the same article twice in the input"] += 1
            continue
        seen.add(article.article_id)  # type: ignore[arg-type]  # set just above
        if row is not None and row[1] == "ok" and row[0] is None:
            summary.skipped["stored before texts were kept"] += 1
        elif row is not None and row[1] == "ok" and row[0] != article.text:
            summary.skipped["the stored article's text differs"] += 1
        else:  # a stored failure is replaced, as `batch --retry-failed` does
            placed.append((article, row is not None and row[1] == "ok"))
    return placed


def _ingest(store: Any, new: list[GoldArticle], detect: bool, model_dir: Path | None,
            summary: ImportSummary) -> set[str]:
    """Ingest (and analyse) the new articles as one batch run; the ids stored."""
    from propscan.batch.engines import PipelineSettings, process_records
    from propscan.batch.readers import RawRecord

    raws = [RawRecord(id=g.article_id or "", source=g.origin, kind="bytes",
                      data=g.text.encode("utf-8"), record={"name": g.file_name})
            if g.file_name else
            RawRecord(id=g.article_id or "", source=g.origin, kind="record",
                      record={"text": g.text, **({"title": g.title} if g.title else {})})
            for g in new]
    texts = {g.article_id: g.text for g in new}
    pipeline = PipelineSettings(model_dir=str(model_dir) if model_dir else None,
                                detect=detect).build()
    try:
        results = process_records(raws, pipeline)
        model_info = pipeline.model_info
    finally:
        pipeline.close()
    ok = [r for r in results if r.status == "ok" and r.text == texts[r.id]]
    for result in results:
        if result.status != "ok":
            summary.skipped[f"not ingested: {result.error}"[:120]] += 1
        elif result.text != texts[result.id]:
            summary.skipped["ingestion changed the text"] += 1
    run_id = store.start_run(sorted({g.origin.split("#")[0] for g in new}))
    store.set_model(run_id, model_info)
    store.write(ok, run_id)
    store.finish_run(run_id, len(ok), len(results) - len(ok), 0)
    return {r.id for r in ok}


def _write_corrections(con: Any, gold: list[GoldArticle], source: str) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for article in gold:
            assert article.article_id is not None  # set by _place
            add_correction(con, Correction(article.article_id, article.reviewer, "reviewed",
                                           source=source))
            for start, end, technique in sorted(article.fragments):
                add_correction(con, Correction(article.article_id, article.reviewer, "add",
                                               start, end, technique, source=source))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
