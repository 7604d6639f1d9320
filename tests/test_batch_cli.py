"""`propscan batch`, `stats` and `report` from the command line, including a run killed with
SIGKILL mid-way and resumed, and a dask cluster reached by its scheduler address."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from propscan.cli import app

runner = CliRunner()


def write_records(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for n in range(count):
            fh.write(json.dumps({
                "text": f"Record {n}. The committee reviewed proposal {n} on Monday and "
                        f"promised a decision on item {n * 7} before the summer recess.",
                "outlet": f"Outlet {n % 3}", "published": f"2023-{1 + n % 12:02d}-01",
            }) + "\n")
    return path


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_batch_counts_repeated_records_apart_from_stored_ones(tmp_path: Path) -> None:
    corpus = tmp_path / "texts"
    corpus.mkdir()
    text = "An invented council met on Monday and agreed to meet again on Friday."
    for name in ("a.txt", "copy_of_a.txt"):
        (corpus / name).write_text(text, encoding="utf-8")
    db = tmp_path / "c.duckdb"
    first = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect"])
    assert first.exit_code == 0, first.output
    assert ("1 ok, 0 failed, 0 already stored, 1 repeated a record earlier in the input"
            in first.output)
    again = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect"])
    assert "0 ok, 0 failed, 2 already stored ->" in again.output


def test_batch_then_stats_then_report(tmp_path: Path) -> None:
    corpus = write_records(tmp_path / "r.jsonl", 9)
    db = tmp_path / "c.duckdb"
    result = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect",
                                 "--chunk-size", "4"])
    assert result.exit_code == 0, result.output
    assert "9 ok, 0 failed, 0 already stored" in result.output
    assert query(db, "SELECT count(*), count(DISTINCT outlet) FROM articles") == [(9, 3)]

    again = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect"])
    assert "0 ok, 0 failed, 9 already stored" in again.output

    stats = runner.invoke(app, ["stats", str(db), "--by", "outlet"])
    assert stats.exit_code == 0, stats.output
    assert "9 articles ok" in stats.output and "Outlet 2" in stats.output
    assert "No article of 150 words or more has findings yet." in stats.output

    page = tmp_path / "corpus.html"
    report = runner.invoke(app, ["report", str(db), "-o", str(page)])
    assert report.exit_code == 0, report.output
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_retry_failed_processes_a_fixed_record_again(tmp_path: Path) -> None:
    corpus, db = tmp_path / "r.jsonl", tmp_path / "c.duckdb"
    good = {"id": "memo-1", "text": "The committee met on Monday and approved the budget."}
    corpus.write_text(json.dumps(good) + "\n" + json.dumps({"id": "memo-2", "text": ""}) + "\n")
    first = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect"])
    assert "1 ok, 1 failed, 0 already stored" in first.output
    corpus.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "memo-2"}) + "\n")
    retry = runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect",
                                "--retry-failed"])
    assert retry.exit_code == 0, retry.output
    assert "1 ok, 0 failed, 1 already stored" in retry.output
    assert query(db, "SELECT id, status FROM articles ORDER BY id") == [
        ("memo-1", "ok"), ("memo-2", "ok")]


def test_batch_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["batch", str(tmp_path / "nope"), "--db",
                                  str(tmp_path / "c.duckdb")])
    assert missing.exit_code == 3
    assert missing.output.strip().splitlines() == [f"error: {tmp_path / 'nope'}: no such file "
                                                   "or directory"]
    both = runner.invoke(app, ["batch", str(tmp_path), "--db", "a.duckdb", "--parquet", "p"])
    assert both.exit_code == 2 and "exactly one of --db FILE or --parquet DIR" in both.output
    no_db = runner.invoke(app, ["stats", str(tmp_path / "missing.duckdb")])
    assert no_db.exit_code == 3 and "Traceback" not in no_db.output


def test_killed_run_resumes_to_every_record_exactly_once(tmp_path: Path) -> None:
    total = 1200
    corpus = write_records(tmp_path / "r.jsonl", total)
    db = tmp_path / "c.duckdb"
    command = [sys.executable, "-m", "propscan", "batch", str(corpus), "--db", str(db),
               "--no-detect", "--chunk-size", "5"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    try:
        for line in proc.stderr:  # plain progress lines: stderr is not a terminal
            if line.startswith("committed") and int(line.split()[1].split("/")[0]) >= 50:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    stored_after_kill = query(db, "SELECT count(*) FROM articles")[0][0]
    assert 50 <= stored_after_kill < total  # the kill landed mid-way

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{stored_after_kill:,} already stored" in resumed.stdout
    assert query(db, "SELECT count(*), count(DISTINCT id), count(*) FILTER (status = 'ok') "
                     "FROM articles") == [(total, total, total)]
    # the killed run stays on record, unfinished
    assert query(db, "SELECT run_id, finished IS NULL FROM runs ORDER BY run_id") == [
        (1, True), (2, False)]


@pytest.mark.slow
def test_batch_on_a_dask_cluster_of_worker_processes(tmp_path: Path) -> None:
    from distributed import LocalCluster

    corpus = write_records(tmp_path / "r.jsonl", 12)
    columns = "SELECT id, outlet, published, n_words, status FROM articles ORDER BY id"
    local = runner.invoke(app, ["batch", str(corpus), "--db", str(tmp_path / "l.duckdb"),
                                "--no-detect", "--workers", "2", "--chunk-size", "3"])
    assert local.exit_code == 0, local.output
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        result = runner.invoke(app, ["batch", str(corpus), "--db", str(tmp_path / "d.duckdb"),
                                     "--no-detect", "--engine", "dask", "--scheduler",
                                     cluster.scheduler_address, "--chunk-size", "3"])
    assert result.exit_code == 0, result.output
    assert query(tmp_path / "d.duckdb", columns) == query(tmp_path / "l.duckdb", columns)


def test_batch_over_shared_unlabelled_news(tmp_path: Path, unlabelled_news: Path) -> None:
    files = sorted(unlabelled_news.glob("*.txt"))[:12]
    db = tmp_path / "n.duckdb"
    result = runner.invoke(app, ["batch", *map(str, files), "--db", str(db), "--no-detect"])
    assert result.exit_code == 0, result.output
    rows = query(db, "SELECT count(*), min(n_words), count(*) FILTER (language = 'en') "
                     "FROM articles WHERE status = 'ok'")
    assert rows[0][0] == 12 and rows[0][1] > 0 and rows[0][2] >= 10


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_that_cannot_load_stops_the_batch_with_one_line(tmp_path: Path,
                                                                workers: str) -> None:
    corpus = write_records(tmp_path / "r.jsonl", 3)
    empty_model_dir = tmp_path / "no-model"
    empty_model_dir.mkdir()
    result = runner.invoke(app, ["batch", str(corpus), "--db", str(tmp_path / "c.duckdb"),
                                 "--workers", workers, "--model-dir", str(empty_model_dir)])
    assert result.exit_code == 10  # ModelError
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "model" in lines[0]
    assert query(tmp_path / "c.duckdb", "SELECT count(*) FROM articles") == [(0,)]


def test_stats_by_outlet_groups_spellings_of_one_outlet(tmp_path: Path) -> None:
    corpus = tmp_path / "r.jsonl"
    outlets = ["PolitiFact", "Politifact", "PolitiFact", "politifact."]
    corpus.write_text("".join(json.dumps({
        "text": f"Fact check {n}. The mayor said the bridge cost {n} million; records show "
                "the council approved a different figure in March.", "outlet": outlet}) + "\n"
        for n, outlet in enumerate(outlets)), encoding="utf-8")
    db = tmp_path / "c.duckdb"
    assert runner.invoke(app, ["batch", str(corpus), "--db", str(db), "--no-detect"]
                         ).exit_code == 0
    stats = runner.invoke(app, ["stats", str(db), "--by", "outlet"])
    assert stats.exit_code == 0, stats.output
    assert "4 articles ok (0 analysed for techniques)" in stats.output
    assert "PolitiFact" in stats.output
    assert "Politifact " not in stats.output and "politifact." not in stats.output
