"""Faults a batch must survive (issue 27): bad files become error rows and the run goes on,
a failed record never shadows its valid twins, a Parquet folder has one writer at a time, and
a run stopped by SIGTERM or Ctrl+C commits what it did, ends its workers and resumes.

Everything is real: real files (invented texts), real stores, real signals, real processes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from propscan.batch.corpus import CorpusView
from propscan.batch.engines import PipelineSettings
from propscan.batch.readers import estimate_total
from propscan.batch.runner import BatchInterrupted, run_batch
from propscan.batch.store import DuckDBStore, ParquetStore
from propscan.doc import Finding
from propscan.errors import ConfigError, ModelError

NO_DETECT = PipelineSettings(detect=False)
T = ("The harbour council met on Tuesday to discuss the new ferry timetable. Members agreed "
     "to publish the draft next week and to hear residents before the final vote.")


def story(n: int) -> str:
    return (f"Council debates plan number {n}\n\nThe city council met on Tuesday to discuss "
            f"plan {n} for the railway. Supporters said plan {n} would bring jobs, while "
            "critics warned of costs. A vote is expected next month.\n")


def stories(folder: Path, count: int, name: str = "s{:02d}.txt", repeat: int = 1) -> Path:
    """``folder`` made, holding ``count`` invented stories (each ``repeat`` times over)."""
    folder.mkdir()
    for n in range(count):
        (folder / name.format(n)).write_text(story(n) * repeat, encoding="utf-8")
    return folder


def rows(target: Path, sql: str) -> list[tuple]:
    with CorpusView(target) as view:
        return view.con_.execute(sql).fetchall()


def batch(paths: list[Path], target: Path, **kwargs: object) -> tuple[int, int, int, int]:
    store_cls = ParquetStore if target.suffix != ".duckdb" else DuckDBStore
    with store_cls(target) as store:
        s = run_batch(paths, store, kwargs.pop("settings", NO_DETECT), **kwargs)  # type: ignore[arg-type]
    return s.ok, s.failed, s.skipped, s.duplicates


# --- one bad file never stops the batch ---------------------------------------------------


def test_deep_json_lone_surrogates_and_odd_names_become_error_rows(tmp_path: Path) -> None:
    corpus = stories(tmp_path / "c", 3, "good{}.txt")
    (corpus / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (corpus / "deep.jsonl").write_text(json.dumps({"text": story(7)}) + "\n"
                                       + "[" * 200_000 + "]" * 200_000 + "\n")
    # a lone surrogate and no id: the id cannot hash the text, the record is refused
    (corpus / "surrogate.jsonl").write_text('{"text": "Plan \\ud800 approved."}\n')
    (corpus / "subdir.txt").mkdir()  # a directory with a file's name is walked, not read
    odd_name = os.fsencode(corpus) + b"/caf\xe9.txt"  # not UTF-8: a surrogate in str
    with open(odd_name, "wb") as fh:
        fh.write(story(9).encode())
    assert estimate_total([corpus]) == 8
    db = tmp_path / "c.duckdb"
    assert batch([corpus], db) == (5, 3, 0, 0)
    errors = dict(rows(db, "SELECT source, error FROM articles WHERE status = 'error'"))
    assert "nested deeper than" in errors[str(corpus / "deep.json")]
    assert "nested deeper than" in errors[f"{corpus / 'deep.jsonl'}:2"]
    assert "lone surrogate" in errors[f"{corpus / 'surrogate.jsonl'}:1"]
    sources = [r[0] for r in rows(db, "SELECT source FROM articles WHERE status = 'ok'")]
    assert f"{corpus}/caf\\udce9.txt" in sources  # stored, its name escaped
    assert batch([corpus], db) == (0, 0, 8, 0)  # a re-run stops at none of them


def test_a_file_that_vanishes_or_cannot_be_read_is_an_error_row(tmp_path: Path) -> None:
    corpus = stories(tmp_path / "c", 4, "s{}.txt")
    (corpus / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    locked = corpus / "s2.txt"
    if os.geteuid() != 0:  # root reads anything: there the vanishing file stands in
        locked.chmod(0)

    def remove_s3_after_the_first_chunk(summary: object, results: object) -> None:
        (corpus / "s3.txt").unlink(missing_ok=True)  # listed, not read yet

    db = tmp_path / "c.duckdb"
    ok, failed, _, _ = batch([corpus], db, chunk_size=1, on_chunk=remove_s3_after_the_first_chunk)
    errors = dict(rows(db, "SELECT source, error FROM articles WHERE status = 'error'"))
    assert f"{corpus / 's3.txt'}: cannot be read ({corpus / 's3.txt'}: no such file)" in (
        errors.values())
    assert "broken.parquet: cannot be read" in errors[str(corpus / "broken.parquet")]
    assert (ok, failed) == ((2, 3) if os.geteuid() != 0 else (3, 2))


def write_warc(path: Path, gzip: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for n in range(2):
            body = "".join(f"<p>{story(n)} Paragraph {k} of page {n}.</p>" for k in range(12))
            page = f"<html><body><article><h1>Page {n}</h1>{body}</article></body></html>"
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                       protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"https://news.example/{n}", "response", payload=io.BytesIO(page.encode()),
                http_headers=headers))
    return path.read_bytes()


@pytest.mark.parametrize("suffix", [".warc", ".warc.gz"])
def test_a_truncated_warc_record_is_an_error_row_not_part_of_a_page(tmp_path: Path,
                                                                    suffix: str) -> None:
    whole = write_warc(tmp_path / f"whole{suffix}", gzip=suffix == ".warc.gz")
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[:len(whole) - 400])  # inside the second record
    db = tmp_path / "c.duckdb"
    assert batch([cut], db)[:2] == (1, 1)
    assert rows(db, "SELECT status FROM articles WHERE id = 'https://news.example/0'") == [
        ("ok",)]
    (error,) = rows(db, "SELECT error FROM articles WHERE status = 'error'")[0]
    assert "cut short" in error  # the record's Content-Length, or the gzip stream's end
    assert batch([tmp_path / f"whole{suffix}"], tmp_path / "w.duckdb")[:2] == (2, 0)


# --- a failed record never shadows its twins ----------------------------------------------


@pytest.mark.parametrize("store", ["c.duckdb", "pq"])
def test_a_failed_record_does_not_shadow_its_valid_twins(tmp_path: Path, store: str) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.json").write_text(json.dumps({"text": T, "authors": 5}))  # refused by check
    (corpus / "b.txt").write_text(T, encoding="utf-8")
    (corpus / "c.json").write_text(json.dumps({"text": T}))
    # the same declared id: the first fails at ingestion, the second is held back, then run
    (corpus / "d.jsonl").write_text(json.dumps({"id": "memo", "html": "<p></p>"}) + "\n"
                                    + json.dumps({"id": "memo", "text": story(4)}) + "\n")
    target = tmp_path / store
    assert batch([corpus], target, chunk_size=1) == (2, 2, 1, 1)
    assert rows(target, "SELECT source, status FROM articles ORDER BY source") == [
        (str(corpus / "a.json"), "error"), (str(corpus / "b.txt"), "ok"),
        (f"{corpus / 'd.jsonl'}:2", "ok")]
    assert "'authors'" in rows(target, "SELECT error FROM articles WHERE status='error'")[0][0]
    assert batch([corpus], target) == (0, 0, 5, 0)


# --- one writer per Parquet folder ---------------------------------------------------------


def test_a_second_writer_of_a_parquet_folder_is_refused_with_one_line(tmp_path: Path) -> None:
    corpus = stories(tmp_path / "c", 3, "s{}.txt")
    out = tmp_path / "pq"
    command = [sys.executable, "-m", "propscan", "batch", str(corpus), "--parquet", str(out),
               "--no-detect"]
    with ParquetStore(out):
        with pytest.raises(ConfigError, match=f"being written by another propscan batch "
                                              f"\\(pid {os.getpid()}\\)"):
            ParquetStore(out).open()
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert second.stderr.strip() == (f"error: {out} is being written by another propscan "
                                     f"batch (pid {os.getpid()}); wait for it to end, or "
                                     "write elsewhere")
    after = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert after.returncode == 0, after.stderr
    assert rows(out, "SELECT count(*) FROM articles") == [(3,)]


# --- stopped by a signal ------------------------------------------------------------------


def test_sigterm_in_process_commits_what_is_done_and_a_rerun_resumes(tmp_path: Path) -> None:
    corpus = stories(tmp_path / "c", 12)
    db = tmp_path / "c.duckdb"

    def terminate_after_the_second_chunk(summary: object, results: object) -> None:
        if summary.processed == 4:  # type: ignore[attr-defined]
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler raises here, in the main thread

    with DuckDBStore(db) as store, pytest.raises(BatchInterrupted) as stopped:
        run_batch([corpus], store, NO_DETECT, chunk_size=2, stop_on_signals=True,
                  on_chunk=terminate_after_the_second_chunk)
    assert stopped.value.exit_code == 143 and stopped.value.summary.processed == 4
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (4,)
        assert con.execute("SELECT finished IS NULL FROM runs").fetchall() == [(True,)]
    assert batch([corpus], db) == (8, 0, 4, 0)


@pytest.mark.slow
def test_ctrl_c_with_worker_processes_leaves_no_process_behind(tmp_path: Path) -> None:
    corpus = stories(tmp_path / "c", 40)

    def interrupt_after_the_first_chunk(summary: object, results: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)

    db = tmp_path / "c.duckdb"
    with DuckDBStore(db) as store, pytest.raises(BatchInterrupted) as stopped:
        run_batch([corpus], store, NO_DETECT, workers=2, chunk_size=2, stop_on_signals=True,
                  on_chunk=interrupt_after_the_first_chunk)
    assert stopped.value.exit_code == 130
    assert [p for p in multiprocessing.active_children()
            if "ResourceTracker" not in type(p).__name__] == []
    assert batch([corpus], db)[:3] == (40 - stopped.value.summary.processed, 0,
                                       stopped.value.summary.processed)


def _children(pid: int) -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _model_or_skip() -> None:
    try:
        PipelineSettings(detect=True).build()
    except ModelError as err:
        pytest.skip(f"detection model not available: {err}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_batch_with_two_workers_stopped_by_a_signal_ends_them_and_resumes(
        tmp_path: Path, signum: int) -> None:
    _model_or_skip()
    corpus = stories(tmp_path / "c", 30, repeat=3)
    db = tmp_path / "c.duckdb"
    command = [sys.executable, "-m", "propscan", "batch", str(corpus), "--db", str(db),
               "--workers", "2", "--chunk-size", "2", "--threads", "1"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # plain progress lines: stderr is not a terminal
            if line.startswith("committed"):
                break
        children = _children(proc.pid)
        assert len(children) >= 2  # the workers (and the resource tracker)
        proc.send_signal(signum)
        rest = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum
    # chunks committed before the signal landed may still have their progress lines in the pipe
    lines = rest.strip().splitlines()
    while lines and lines[0].startswith("committed "):
        lines.pop(0)
    assert len(lines) == 1 and "Traceback" not in rest
    assert lines[0].startswith(f"interrupted ({signal.Signals(signum).name}): this run stored ")
    assert lines[0].endswith("records; run the same command again to resume")
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in children if _alive(pid)] == []
    stored = int(lines[0].split("stored ")[1].split()[0].replace(",", ""))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone() == (stored,)
    resumed = subprocess.run([*command[:-4], "--workers", "1"], capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{30 - stored:,} ok, 0 failed, {stored:,} already stored" in resumed.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM articles").fetchone() == (
            30, 30)


# --- one word count, one finding shape ----------------------------------------------------


def _analyze_json(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "propscan", "analyze", str(path), "--format",
                           "json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_batch_rows_match_analyze_json_words_and_findings(tmp_path: Path) -> None:
    _model_or_skip()
    article = Path(__file__).parents[1] / "src" / "propscan" / "examples" / "invented_article.txt"
    expected = _analyze_json(article)
    assert expected["spans"], "the detector found nothing in the invented example"
    batch([article], tmp_path / "c.duckdb", settings=PipelineSettings())
    batch([article], tmp_path / "pq", settings=PipelineSettings())
    finding_keys = list(expected["spans"][0])
    assert finding_keys == [f.name for f in dataclasses.fields(Finding)]  # the one shape
    for target in (tmp_path / "c.duckdb", tmp_path / "pq"):
        assert rows(target, "SELECT n_words, analysed FROM articles") == [
            (expected["scores"]["overall"]["words"], True)]
        with CorpusView(target) as view:
            cursor = view.con_.execute("SELECT * FROM spans ORDER BY start, -\"end\", technique")
            names = [d[0] for d in cursor.description]
            stored = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        assert sorted(names) == sorted(["article_id", *finding_keys])
        assert [{k: r[k] for k in finding_keys} for r in stored] == expected["spans"]
        assert {r["article_id"] for r in stored} == {expected["id"]}
    parquet_columns = pq.read_schema(next((tmp_path / "pq" / "spans").glob("*.parquet"))).names
    assert parquet_columns == ["article_id", *finding_keys]
