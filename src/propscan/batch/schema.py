"""The batch store's schema, written once: DuckDB DDL, the Arrow schemas of Parquet parts, and
the rows of a chunk of results.

The same columns in both stores::

    articles(id VARCHAR PRIMARY KEY,   -- URL, else the record's id, else "sha256:<32 hex>"
             run_id INTEGER, source VARCHAR, url VARCHAR, title VARCHAR, authors VARCHAR[],
             published DATE, outlet VARCHAR, language VARCHAR, input_format VARCHAR,
             n_words INTEGER, n_spans INTEGER, scores JSON,
             status VARCHAR,            -- 'ok' or 'error'
             error VARCHAR,             -- why the record failed (NULL when ok)
             analysed BOOLEAN,          -- detection ran (false: --no-detect or not English)
             text VARCHAR,              -- the input text every offset indexes (Article.text)
             body_start INTEGER, body_end INTEGER)   -- the body's place in text
    spans(article_id VARCHAR, start INTEGER, "end" INTEGER, technique VARCHAR,
          confidence DOUBLE, text VARCHAR, reason VARCHAR, voice VARCHAR, speaker VARCHAR,
          technique_2023 VARCHAR, category_2023 VARCHAR)
          -- a row is the JSON finding (propscan.doc.Finding) with its article's id;
          -- offsets into the article's input text
    runs(run_id INTEGER PRIMARY KEY, model_name VARCHAR, model_version VARCHAR,
         started TIMESTAMP, finished TIMESTAMP,   -- finished is NULL for an interrupted run
         n_ok INTEGER, n_failed INTEGER, n_skipped INTEGER, inputs VARCHAR)

Columns added after schema 1.0 (:data:`NEWER_COLUMNS`) are added to older databases when they
are opened for writing, and read as NULL from older Parquet parts.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pyarrow as pa

from propscan.batch.engines import Result
from propscan.batch.readers import printable

__all__ = ["ARTICLE_SCHEMA", "SPAN_SCHEMA", "DDL", "NEWER_COLUMNS", "results_to_arrow"]

ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()), ("run_id", pa.int32()), ("source", pa.string()), ("url", pa.string()),
    ("title", pa.string()), ("authors", pa.list_(pa.string())), ("published", pa.date32()),
    ("outlet", pa.string()), ("language", pa.string()), ("input_format", pa.string()),
    ("n_words", pa.int32()), ("n_spans", pa.int32()), ("scores", pa.string()),
    ("status", pa.string()), ("error", pa.string()), ("analysed", pa.bool_()),
    ("text", pa.string()), ("body_start", pa.int32()), ("body_end", pa.int32()),
])
SPAN_SCHEMA = pa.schema([
    ("article_id", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
    ("technique", pa.string()), ("confidence", pa.float64()), ("text", pa.string()),
    ("reason", pa.string()), ("voice", pa.string()), ("speaker", pa.string()),
    ("technique_2023", pa.string()), ("category_2023", pa.string()),
])
#: columns added since schema 1.0, with their DuckDB types
NEWER_COLUMNS = {
    "articles": {"analysed": "BOOLEAN", "text": "VARCHAR", "body_start": "INTEGER",
                 "body_end": "INTEGER"},
    "spans": {"reason": "VARCHAR", "voice": "VARCHAR", "speaker": "VARCHAR",
              "technique_2023": "VARCHAR", "category_2023": "VARCHAR"},
}
DDL = """
CREATE TABLE IF NOT EXISTS articles (
    id VARCHAR PRIMARY KEY, run_id INTEGER, source VARCHAR, url VARCHAR, title VARCHAR,
    authors VARCHAR[], published DATE, outlet VARCHAR, language VARCHAR, input_format VARCHAR,
    n_words INTEGER, n_spans INTEGER, scores JSON, status VARCHAR NOT NULL, error VARCHAR);
CREATE TABLE IF NOT EXISTS spans (
    article_id VARCHAR NOT NULL, start INTEGER, "end" INTEGER, technique VARCHAR,
    confidence DOUBLE, text VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, model_name VARCHAR, model_version VARCHAR,
    started TIMESTAMP, finished TIMESTAMP, n_ok INTEGER, n_failed INTEGER, n_skipped INTEGER,
    inputs VARCHAR);
""" + "".join(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS \"{name}\" {kind};\n"
              for table, columns in NEWER_COLUMNS.items() for name, kind in columns.items())


def results_to_arrow(results: list[Result], run_id: int) -> tuple[pa.Table, pa.Table]:
    """The articles and spans rows of a chunk of results, as Arrow tables."""
    articles = pa.Table.from_pylist([_printable_row({
        "id": r.id, "run_id": run_id, "source": r.source, "url": r.url, "title": r.title,
        "authors": r.authors, "published": date.fromisoformat(r.published) if r.published else None,
        "outlet": r.outlet, "language": r.language, "input_format": r.input_format,
        "n_words": r.n_words, "n_spans": len(r.spans),
        "scores": json.dumps(r.scores, default=str) if r.status == "ok" else None,
        "status": r.status, "error": r.error, "analysed": r.analysed,
        "text": r.text, "body_start": r.body_start, "body_end": r.body_end,
    }) for r in results], schema=ARTICLE_SCHEMA)
    spans = pa.Table.from_pylist([_printable_row({"article_id": r.id, **f.to_dict()})
                                  for r in results for f in r.spans], schema=SPAN_SCHEMA)
    return articles, spans


def _printable_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row with every string valid UTF-8: a lone surrogate (in a file name, an error
    message) would otherwise fail the whole chunk's write, and so the run."""
    return {key: printable(value) if isinstance(value, str)
            else [printable(v) for v in value] if key == "authors" else value
            for key, value in row.items()}
