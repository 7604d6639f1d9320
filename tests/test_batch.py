"""Batch core: readers, process_records, the DuckDB/Parquet stores, engines and corpus views.

Real components throughout: real ingestion, real DuckDB files, a real process pool and a real
dask LocalCluster. Until the detection model ships, the pipeline runs with ``detect=False``
(ingestion and metadata only); tests of the views store hand-built results with spans.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from propscan.batch.corpus import CorpusView
from propscan.batch.engines import (
    PipelineSettings,
    Result,
    chunked,
    process_records,
    run_dask,
    run_local,
)
from propscan.batch.readers import RawRecord, content_id, estimate_total, iter_records
from propscan.batch.runner import run_batch
from propscan.batch.store import DuckDBStore, ParquetStore, open_store
from propscan.doc import Finding
from propscan.errors import ConfigError, InputNotFound, PropscanError, UnsupportedFormat
from propscan.report.corpus import render_report

NO_DETECT = PipelineSettings(detect=False)
TOPICS = ["harbour", "election", "vaccine", "railway", "drought", "festival", "tariff",
          "satellite", "strike", "museum", "bridge", "referendum"]


def invented_article(n: int) -> str:
    topic = TOPICS[n % len(TOPICS)]
    return (f"Council debates the {topic} plan, number {n}\n\n"
            f"The city council met on Tuesday to discuss the {topic} plan for the {n}th time. "
            f"Supporters said the {topic} plan would bring jobs, while critics warned of costs. "
            "A vote is expected next month after a public consultation.\n")


def write_text_dir(root: Path, count: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (root / f"story{n:03d}.txt").write_text(invented_article(n), encoding="utf-8")
    return root


def write_jsonl(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(count):
            record = {"text": invented_article(n), "outlet": ["Daily Bugle", "The Planet"][n % 2],
                      "published": f"2024-0{1 + n % 3}-15", "title": f"Story {n}"}
            if n % 4 == 0:
                record["url"] = f"https://news.example/{n}"
            fh.write(json.dumps(record) + "\n")
    return path


def html_page(n: int) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in invented_article(n).splitlines()[2:])
    return (f"<!DOCTYPE html><html><head><title>Story {n}</title></head><body><article>"
            f"<h1>Council debates plan {n}</h1>{paragraphs}"
            f"<p>Residents queued for hours to speak about plan {n} at the town hall.</p>"
            "</article></body></html>").encode()


def write_warc(path: Path) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        pages = [("https://news.example/a", "200 OK", "text/html; charset=utf-8", html_page(1)),
                 ("https://news.example/b", "200 OK", "text/html", html_page(2)),
                 ("https://news.example/logo.png", "200 OK", "image/png", b"\x89PNG...."),
                 ("https://news.example/missing", "404 Not Found", "text/html", b"<p>gone</p>")]
        for url, status, ctype, body in pages:
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))
    return path


def stored(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- readers ------------------------------------------------------------------------------


def test_text_dir_records_get_content_ids_that_match_ingestion(tmp_path: Path) -> None:
    from propscan.ingest import article_id

    root = write_text_dir(tmp_path / "corpus", 3)
    (root / "notes.bin").write_bytes(b"ignored: unsupported suffix inside a directory")
    records = list(iter_records([root]))
    assert [Path(r.source).name for r in records] == ["story000.txt", "story001.txt",
                                                       "story002.txt"]
    assert records[0].id == article_id(invented_article(0))
    assert len({r.id for r in records}) == 3
    assert estimate_total([root]) == 3


def test_record_ids_prefer_explicit_id_then_url_then_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "abc", "url": "https://x.example/1", "text": "One two."}),
        json.dumps({"url": "https://x.example/2", "text": "Three four."}),
        json.dumps({"text": "Five six."}),
        "{not json",
        json.dumps(["a", "list"]),
    ]) + "\n", encoding="utf-8")
    records = list(iter_records([path]))
    assert [r.id for r in records[:3]] == ["abc", "https://x.example/2", content_id("Five six.")]
    assert [r.kind for r in records] == ["record", "record", "record", "error", "error"]
    assert "line" not in records[3].source and records[3].source.endswith(":4")
    assert "not valid JSON" in records[3].error


def test_csv_and_parquet_rows_become_records_with_metadata(tmp_path: Path) -> None:
    csv_path = tmp_path / "a.csv"
    csv_path.write_text('text,outlet,published\n"Line one, with comma.\nLine two.",Bugle,'
                        '2024-05-01\n', encoding="utf-8")
    pq_path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"html": [html_page(3).decode()], "outlet": ["Planet"],
                             "url": ["https://p.example/3"]}), pq_path)
    records = list(iter_records([csv_path, pq_path]))
    assert records[0].record == {"text": "Line one, with comma.\nLine two.", "outlet": "Bugle",
                                 "published": "2024-05-01"}
    assert records[1].id == "https://p.example/3" and "html" in records[1].record
    assert estimate_total([csv_path, pq_path]) == 2


def test_warc_reader_keeps_successful_html_responses_only(tmp_path: Path) -> None:
    warc = write_warc(tmp_path / "crawl.warc.gz")
    records = list(iter_records([warc]))
    assert [r.id for r in records] == ["https://news.example/a", "https://news.example/b"]
    results = process_records(records, NO_DETECT.build())
    assert [r.status for r in results] == ["ok", "ok"]
    assert results[0].url == "https://news.example/a"
    assert results[0].input_format == "html" and results[0].n_words > 20


def test_missing_and_unsupported_inputs_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound, match="no such file"):
        list(iter_records([tmp_path / "nope"]))
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(UnsupportedFormat, match="unsupported file type"):
        list(iter_records([tmp_path / "x.pdf"]))


# --- process_records ----------------------------------------------------------------------


def test_failing_records_become_error_results_and_the_chunk_goes_on(tmp_path: Path) -> None:
    root = write_text_dir(tmp_path / "c", 2)
    (root / "empty.txt").write_bytes(b"   \n")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (root / "huge.txt").write_bytes(b"word " * (1_100_000))  # over the 5 MB article cap
    records = list(iter_records([root]))
    records.append(RawRecord(id="r1", source="inline", kind="record", record={"title": "x"}))
    results = process_records(records, NO_DETECT.build())
    by_source = {Path(r.source).name: r for r in results}
    assert len(results) == len(records)
    assert [by_source[f"story00{n}.txt"].status for n in range(2)] == ["ok", "ok"]
    assert "empty" in by_source["empty.txt"].error
    assert "binary" in by_source["image.txt"].error
    assert "limit" in by_source["huge.txt"].error
    assert "'text' or 'html'" in by_source["inline"].error
    assert all(r.status == "error" for n, r in by_source.items() if not n.startswith("story"))


def test_results_carry_ingested_metadata(tmp_path: Path) -> None:
    records = list(iter_records([write_jsonl(tmp_path / "r.jsonl", 4)]))
    results = process_records(records, NO_DETECT.build())
    assert [r.outlet for r in results] == ["Daily Bugle", "The Planet"] * 2
    assert [r.published for r in results] == ["2024-01-15", "2024-02-15", "2024-03-15",
                                              "2024-01-15"]
    assert results[0].id == "https://news.example/0" and results[0].title == "Story 0"
    assert all(r.language == "en" and r.n_words > 30 for r in results)


def test_chunked_rejects_a_zero_size() -> None:
    assert [len(c) for c in chunked(iter(range(5)), 2)] == [2, 2, 1]  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="chunk_size"):
        list(chunked([], 0))


# --- stores and runs ----------------------------------------------------------------------


def test_run_batch_stores_each_record_once_and_a_rerun_skips_all(tmp_path: Path) -> None:
    corpus = write_text_dir(tmp_path / "c", 7)
    (corpus / "dup.txt").write_text(invented_article(0), encoding="utf-8")  # same content
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    db = tmp_path / "corpus.duckdb"
    seen: list[int] = []
    with DuckDBStore(db) as store:
        first = run_batch([corpus], store, NO_DETECT, chunk_size=3,
                          on_chunk=lambda s, chunk: seen.append(len(chunk)))
    assert (first.ok, first.failed, first.skipped, first.duplicates) == (7, 1, 1, 1)
    assert seen == [3, 3, 2]
    with DuckDBStore(db) as store:
        second = run_batch([corpus], store, NO_DETECT, chunk_size=3)
    assert (second.ok, second.failed, second.skipped, second.duplicates) == (0, 0, 9, 0)
    assert stored(db, "SELECT status, count(*) FROM articles GROUP BY 1 ORDER BY 1") == [
        ("error", 1), ("ok", 7)]
    runs = stored(db, "SELECT run_id, model_name, n_ok, n_failed, n_skipped, finished IS NOT NULL "
                      "FROM runs ORDER BY run_id")
    assert runs == [(1, "none", 7, 1, 1, True), (2, "none", 0, 0, 9, True)]


def test_duckdb_write_is_idempotent_and_keeps_spans_once(tmp_path: Path) -> None:
    result = Result(id="a1", source="s", status="ok", n_words=100, outlet="Bugle",
                    published="2024-03-02", scores={"propaganda": 0.7},
                    spans=[Finding(0, 4, "Loaded_Language", 0.9, "Evil"),
                           Finding(5, 9, "Doubt", 0.6, "Why?")])
    with DuckDBStore(tmp_path / "x.duckdb") as store:
        run_id = store.start_run(["in"])
        store.set_model(run_id, {"name": "tiny", "version": "1"})
        store.write([result], run_id)
        store.write([result], run_id)  # a chunk replayed after a crash
    db = tmp_path / "x.duckdb"
    assert stored(db, "SELECT id, n_spans, published::VARCHAR, scores->>'propaganda' "
                      "FROM articles") == [("a1", 2, "2024-03-02", "0.7")]
    assert stored(db, 'SELECT start, "end", technique FROM spans ORDER BY start') == [
        (0, 4, "Loaded_Language"), (5, 9, "Doubt")]
    assert stored(db, "SELECT model_name, model_version FROM runs") == [("tiny", "1")]


def test_parquet_store_resumes_and_serves_views(tmp_path: Path) -> None:
    corpus = write_text_dir(tmp_path / "c", 5)
    out = tmp_path / "pq"
    with ParquetStore(out) as store:
        assert run_batch([corpus], store, NO_DETECT, chunk_size=2).ok == 5
    (out / "spans" / "run0009-000001.parquet").write_bytes(b"orphan of a killed run")
    with ParquetStore(out) as store:
        assert not (out / "spans" / "run0009-000001.parquet").exists()
        assert run_batch([corpus], store, NO_DETECT, chunk_size=2).skipped == 5
    assert len(list((out / "articles").glob("*.parquet"))) == 3
    with CorpusView(out) as view:
        assert view.totals()["ok"] == 5


def write_records_with_ids(path: Path, broken: bool) -> Path:
    """Three records with explicit ids; with ``broken`` the second one has an empty text."""
    with path.open("w", encoding="utf-8") as fh:
        for n in range(3):
            text = "" if broken and n == 1 else invented_article(n)
            fh.write(json.dumps({"id": f"rec{n}", "text": text}) + "\n")
    return path


@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_retry_failed_replaces_error_rows_and_a_plain_rerun_keeps_them(
        tmp_path: Path, kind: str) -> None:
    records = tmp_path / "records.jsonl"
    target = tmp_path / ("c.duckdb" if kind == "duckdb" else "pq")

    def run(retry: bool = False) -> tuple[int, int, int]:
        with (DuckDBStore if kind == "duckdb" else ParquetStore)(target) as store:
            s = run_batch([records], store, NO_DETECT, chunk_size=2, retry_failed=retry)
        return s.ok, s.failed, s.skipped

    def rows() -> list[tuple]:
        with CorpusView(target) as view:
            return view.con_.execute("SELECT id, status FROM articles ORDER BY id").fetchall()

    write_records_with_ids(records, broken=True)
    assert run() == (2, 1, 0)
    write_records_with_ids(records, broken=False)  # the source fixed, same ids
    assert run() == (0, 0, 3)  # a plain re-run skips failed records too
    assert rows() == [("rec0", "ok"), ("rec1", "error"), ("rec2", "ok")]
    assert run(retry=True) == (1, 0, 2)
    assert rows() == [("rec0", "ok"), ("rec1", "ok"), ("rec2", "ok")]
    assert run(retry=True) == (0, 0, 3)


def test_a_parquet_retry_killed_before_dropping_the_old_error_row_is_repaired_on_open(
        tmp_path: Path) -> None:
    records, out = tmp_path / "records.jsonl", tmp_path / "pq"
    write_records_with_ids(records, broken=True)
    with ParquetStore(out) as store:
        run_batch([records], store, NO_DETECT, chunk_size=2)
    saved = {p.name: p.read_bytes() for p in (out / "articles").glob("*.parquet")}
    write_records_with_ids(records, broken=False)
    with ParquetStore(out) as store:
        assert run_batch([records], store, NO_DETECT, retry_failed=True).ok == 1
    # The state a kill leaves between committing the new part and rewriting the old one:
    # the old error row back in its part, and the marker still there.
    for name, data in saved.items():
        (out / "articles" / name).write_bytes(data)
    (out / "retry-in-progress").write_text("")
    with CorpusView(out) as view:
        assert view.totals()["failed"] == 1  # the duplicate a reader would see
    with ParquetStore(out):
        assert not (out / "retry-in-progress").exists()
    with CorpusView(out) as view:
        assert view.con_.execute("SELECT id, status FROM articles ORDER BY id").fetchall() == [
            ("rec0", "ok"), ("rec1", "ok"), ("rec2", "ok")]


def test_open_store_needs_exactly_one_target(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        open_store()
    with pytest.raises(ConfigError, match="exactly one"):
        open_store(db=tmp_path / "a.duckdb", parquet=tmp_path / "p")


# --- engines ------------------------------------------------------------------------------


def _normalised(results: list[list[Result]]) -> list[Result]:
    return sorted((r for chunk in results for r in chunk), key=lambda r: r.id)


def test_two_worker_processes_give_the_same_results_as_in_process(tmp_path: Path) -> None:
    records = list(iter_records([write_jsonl(tmp_path / "r.jsonl", 10)]))
    here = _normalised(list(run_local(chunked(records, 3), NO_DETECT, workers=1)))
    pooled = _normalised(list(run_local(chunked(records, 3), NO_DETECT, workers=2)))
    assert len(here) == 10
    assert pooled == here


def test_a_worker_killed_mid_run_stops_it_cleanly_and_a_rerun_stores_every_record_once(
        tmp_path: Path) -> None:
    """A worker that dies (the OOM killer, say) ends the run with the one-line error; the
    committed chunks stay and the same command resumes. The kill is a real SIGKILL."""
    corpus = write_text_dir(tmp_path / "c", 60)
    db = tmp_path / "corpus.duckdb"
    committed: list[int] = []

    def kill_a_worker_after_the_first_chunk(summary, chunk) -> None:
        committed.append(len(chunk))
        if len(committed) == 1:
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)
            time.sleep(0.5)  # let the pool notice before the next chunk is submitted

    with DuckDBStore(db) as store, pytest.raises(PropscanError, match="worker process died"):
        run_batch([corpus], store, NO_DETECT, workers=2, chunk_size=2,
                  on_chunk=kill_a_worker_after_the_first_chunk)
    stored_first = stored(db, "SELECT count(*) FROM articles")[0][0]
    assert stored_first == sum(committed) < 60
    assert stored(db, "SELECT finished IS NULL FROM runs") == [(True,)]  # marked unfinished
    with DuckDBStore(db) as store:
        second = run_batch([corpus], store, NO_DETECT, chunk_size=8)
    assert (second.ok, second.skipped) == (60 - stored_first, stored_first)
    assert stored(db, "SELECT count(*), count(DISTINCT id), min(status) FROM articles") == [
        (60, 60, "ok")]


def test_dask_local_cluster_gives_the_same_results_as_local(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    records = list(iter_records([write_jsonl(tmp_path / "r.jsonl", 8)]))
    local = _normalised(list(run_local(chunked(records, 3), NO_DETECT)))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_dask = _normalised(list(run_dask(chunked(records, 3), NO_DETECT, client,
                                            max_in_flight=2)))
    assert on_dask == local


def test_dask_run_batch_writes_the_same_rows_as_local(tmp_path: Path) -> None:
    from distributed import LocalCluster

    corpus = write_jsonl(tmp_path / "r.jsonl", 6)
    columns = "SELECT id, outlet, published, n_words, status FROM articles ORDER BY id"
    with DuckDBStore(tmp_path / "local.duckdb") as store:
        run_batch([corpus], store, NO_DETECT, chunk_size=4)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, \
            DuckDBStore(tmp_path / "dask.duckdb") as store:
        summary = run_batch([corpus], store, NO_DETECT, engine="dask",
                            scheduler=cluster.scheduler_address, chunk_size=4)
    assert summary.ok == 6
    assert stored(tmp_path / "dask.duckdb", columns) == stored(tmp_path / "local.duckdb", columns)


def test_bad_engine_settings_are_config_errors(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "x.duckdb") as store:
        with pytest.raises(ConfigError, match="engine"):
            run_batch([tmp_path], store, NO_DETECT, engine="spark")
        with pytest.raises(ConfigError, match="--scheduler"):
            run_batch([tmp_path], store, NO_DETECT, engine="dask")
    with pytest.raises(ConfigError, match="workers"):
        list(run_local([], NO_DETECT, workers=0))


# --- corpus views -------------------------------------------------------------------------


def _fill_views_db(db: Path) -> None:
    def result(n: int, outlet: str, month: str, spans: list[str]) -> Result:
        return Result(id=f"a{n}", source=f"s{n}", status="ok", title=f"Title {n}", outlet=outlet,
                      published=f"2024-{month}-10", n_words=200, analysed=True,
                      spans=[Finding(i * 10, i * 10 + 5, t, 0.8, "xxxxx")
                             for i, t in enumerate(spans)])

    with DuckDBStore(db) as store:
        run_id = store.start_run([])
        store.write([
            result(1, "Bugle", "01", ["Loaded_Language", "Loaded_Language", "Doubt"]),
            result(2, "Bugle", "02", ["Doubt"]),
            result(3, "Planet", "02", ["Loaded_Language", "Flag-Waving", "Doubt", "Slogans"]),
            result(4, "Planet", "03", []),
            Result(id="bad", source="broken.txt", status="error", error="broken.txt is empty"),
        ], run_id)


def test_stats_by_technique_outlet_and_month(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    _fill_views_db(db)
    with CorpusView(db) as view:
        assert view.totals() == {"ok": 4, "analysed": 4, "failed": 1, "words": 800,
                                 "spans": 8}
        techniques = {r["technique"]: (r["spans"], r["articles"], r["pct_articles"])
                      for r in view.stats("technique")}
        assert techniques["Doubt"] == (3, 3, 75.0)
        assert techniques["Loaded_Language"] == (3, 2, 50.0)
        outlets = view.stats("outlet")
        assert [(r["outlet"], r["articles"], r["spans"], r["per_1k_words"], r["top_technique"])
                for r in outlets] == [("Bugle", 2, 4, 10.0, "Doubt"),
                                      ("Planet", 2, 4, 10.0, "Doubt")]
        months = view.stats("month")
        assert [(r["month"], r["spans"]) for r in months] == [
            ("2024-01", 3), ("2024-02", 5), ("2024-03", 0)]
        top = view.top_articles(limit=2)
        assert [r["id"] for r in top] == ["a3", "a1"]
        pairs = {(r["a"], r["b"]): r["articles"] for r in view.cooccurrence()}
        assert pairs[("Doubt", "Loaded_Language")] == 2 and pairs[("Doubt", "Doubt")] == 3
        with pytest.raises(ConfigError, match="'by'"):
            view.stats("week")


def test_short_articles_are_left_out_of_the_top_articles(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    _fill_views_db(db)
    with DuckDBStore(db) as store:  # 2 spans in 40 words: 50 per 1,000, the densest
        store.write([Result(id="short", source="short.txt", status="ok", title="Short",
                            n_words=40, analysed=True, spans=[Finding(0, 5, "Doubt", 0.8, "xxxxx"),
                                               Finding(10, 15, "Doubt", 0.8, "xxxxx")])],
                    store.start_run([]))
    with CorpusView(db) as view:
        assert [r["id"] for r in view.top_articles(limit=2)] == ["a3", "a1"]
        assert [r["id"] for r in view.top_articles(limit=2, min_words=0)] == ["short", "a3"]
        with pytest.raises(ConfigError, match="min_words"):
            view.top_articles(min_words=-1)
    assert ">Short<" not in render_report(db)
    assert ">Short<" in render_report(db, min_words=40)


def test_report_is_self_contained_html_with_plots(tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    _fill_views_db(db)
    page = render_report(db)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 3  # mix by outlet, density over time, co-occurrence
    assert "Title 3" in page and "broken.txt is empty" in page
    # nothing is fetched: no scripts, stylesheets or images loaded from elsewhere
    assert not any(tag in page for tag in ("<script", "<link", "<img", "src=", "@import"))


def test_rates_leave_out_articles_not_analysed_and_outlets_group_by_spelling(
        tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    _fill_views_db(db)  # Bugle: 2 analysed articles, 400 words, 4 spans
    with DuckDBStore(db) as store:
        store.write([
            # ingested only (--no-detect, or not English): counted, but in no rate
            Result(id="n1", source="n1", status="ok", outlet="bugle", n_words=5000),
            Result(id="n2", source="n2", status="ok", outlet="The Planet!", n_words=5000),
            Result(id="p1", source="p1", status="ok", outlet="the planet", n_words=200,
                   analysed=True, spans=[Finding(0, 5, "Doubt", 0.8, "xxxxx")]),
            Result(id="p2", source="p2", status="ok", outlet="The Planet", n_words=200,
                   analysed=True),
        ], store.start_run([]))
    with CorpusView(db) as view:
        assert view.totals() == {"ok": 8, "analysed": 6, "failed": 1, "words": 1200,
                                 "spans": 9}
        outlets = {r["outlet"]: (r["articles"], r["analysed"], r["words"], r["spans"],
                                 r["per_1k_words"]) for r in view.stats("outlet")}
        assert outlets == {"Bugle": (3, 2, 400, 4, 10.0), "Planet": (2, 2, 400, 4, 10.0),
                           "The Planet": (3, 2, 400, 1, 2.5)}
        mix = {(r["outlet"], r["technique"]) for r in view.technique_by_outlet()}
        assert ("The Planet", "Doubt") in mix and ("the planet", "Doubt") not in mix
        doubt = next(r for r in view.stats("technique") if r["technique"] == "Doubt")
        assert doubt["pct_articles"] == round(100 * 4 / 6, 1)
        assert doubt["per_1k_words"] == round(1000 * 4 / 1200, 2)


def test_rows_of_databases_older_than_the_analysed_column_count_when_they_have_findings(
        tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    _fill_views_db(db)
    with duckdb.connect(str(db)) as con:  # as a database written before schema 1.1 reads
        con.execute("UPDATE articles SET analysed = NULL")
        con.execute("INSERT INTO articles (id, status, n_words, n_spans, scores) VALUES "
                    "('nodetect', 'ok', 9000, 0, '{}'), ('scored', 'ok', 100, 0, "
                    "'{\"overall\": {\"spans\": 0}}')")
    with CorpusView(db) as view:
        assert view.totals()["analysed"] == 4  # a1-a3 have spans; a4 and nodetect have none
        assert view.totals()["words"] == 700


def test_views_refuse_a_database_that_is_not_a_batch_store(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(InputNotFound, match="not a propscan batch database"):
        CorpusView(other).open()
    with pytest.raises(InputNotFound, match="no such database"):
        CorpusView(tmp_path / "missing.duckdb").open()


# --- with the real detector (once the trained model ships) --------------------------------

def _model_or_skip() -> PipelineSettings:
    from propscan.errors import ModelError

    settings = PipelineSettings(detect=True)
    try:
        settings.build()
    except ModelError as err:
        pytest.skip(f"detection model not available: {err}")
    return settings


def test_detected_spans_are_stored_with_exact_offsets_and_match_dask(
        tmp_path: Path, ptc_articles: Path) -> None:
    from distributed import LocalCluster

    from propscan.ingest import read_path

    settings = _model_or_skip()
    files = sorted(ptc_articles.glob("*.txt"))[:4]
    with DuckDBStore(tmp_path / "local.duckdb") as store:
        run_batch(files, store, settings, chunk_size=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, \
            DuckDBStore(tmp_path / "dask.duckdb") as store:
        run_batch(files, store, settings, engine="dask", scheduler=cluster.scheduler_address,
                  chunk_size=2)
    spans_sql = ('SELECT a.source, s.start, s."end", s.technique, s.text FROM spans s '
                 'JOIN articles a ON a.id = s.article_id ORDER BY ALL')
    local_spans = stored(tmp_path / "local.duckdb", spans_sql)
    assert local_spans, "the detector found nothing in four PTC articles"
    assert stored(tmp_path / "dask.duckdb", spans_sql) == local_spans
    texts = {str(f): read_path(f)[0].text for f in files}
    assert all(texts[src][start:end] == text for src, start, end, _, text in local_spans)
    assert stored(tmp_path / "local.duckdb", "SELECT model_name <> 'none' FROM runs") == [(True,)]


def test_stores_written_before_schema_1_1_are_migrated_and_read(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:  # the 1.0 tables: no analysed, reason, voice...
        con.execute("CREATE TABLE articles (id VARCHAR PRIMARY KEY, run_id INTEGER, "
                    "source VARCHAR, url VARCHAR, title VARCHAR, authors VARCHAR[], "
                    "published DATE, outlet VARCHAR, language VARCHAR, input_format VARCHAR, "
                    "n_words INTEGER, n_spans INTEGER, scores JSON, status VARCHAR NOT NULL, "
                    "error VARCHAR)")
        con.execute('CREATE TABLE spans (article_id VARCHAR NOT NULL, start INTEGER, '
                    '"end" INTEGER, technique VARCHAR, confidence DOUBLE, text VARCHAR)')
        con.execute("INSERT INTO articles (id, status, n_words, n_spans) "
                    "VALUES ('old', 'ok', 100, 1)")
        con.execute("INSERT INTO spans VALUES ('old', 0, 4, 'Doubt', 0.5, 'Why?')")
    finding = Finding(0, 4, "Doubt", 0.9, "Evil", "a reason", "quoted", "the mayor")
    with DuckDBStore(old) as store:
        store.write([Result(id="new", source="s", status="ok", n_words=100, analysed=True,
                            spans=[finding])], store.start_run([]))
    assert stored(old, "SELECT article_id, reason, voice, speaker FROM spans ORDER BY 1") == [
        ("new", "a reason", "quoted", "the mayor"), ("old", None, None, None)]
    parts = tmp_path / "pq"
    old_parts = {  # 1.0 Parquet parts, every one without the newer columns
        "articles": {"id": ["old"], "status": ["ok"], "n_words": [100], "n_spans": [1],
                     "scores": [None]},
        "spans": {"article_id": ["old"], "start": [0], "end": [4], "technique": ["Doubt"]}}
    for table, columns in old_parts.items():
        (parts / table).mkdir(parents=True)
        pq.write_table(pa.table(columns), parts / table / "run0001-000001.parquet")
    with CorpusView(parts) as view:
        assert view.totals()["analysed"] == 1  # NULL analysed with a span: analysed
        assert view.con_.execute("SELECT reason, voice FROM spans").fetchall() == [(None, None)]
