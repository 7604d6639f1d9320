"""The adversarial corpus (tests/adversarial.py) through `propscan analyze` in subprocesses:
the documented exit code, one line `error: ...` on stderr, never a traceback, never a hang.

The runs start together in a few worker threads (each case is its own process, as a user's
command is) and every case is then asserted on its own; most run with --no-detect, where the
model is irrelevant, and a few with detection.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.adversarial import TEXT, Case, all_cases, write_case

CASES = all_cases()
DETECTED = ("utf16le_no_bom.txt", "emoji.txt", "rtl.txt", "records.jsonl")
_RUN_TIMEOUT = 60  # seconds: a case that takes longer is a hang


def run_cli(*args: str, stdin: bytes | int | None = None, timeout: float = _RUN_TIMEOUT,
            ) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "propscan", *args]
    if isinstance(stdin, int):  # a file descriptor to read from
        return subprocess.run(command, stdin=stdin, capture_output=True, timeout=timeout)
    return subprocess.run(command, input=stdin, capture_output=True, timeout=timeout)


def assert_clean_exit(result: subprocess.CompletedProcess[bytes], code: int) -> None:
    """``code``, no traceback; an error is exactly one stderr line `error: ...` and no output."""
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert "Traceback" not in out + err, err
    assert result.returncode == code, err
    if code == 2:  # usage errors are typer's own box: the option is named, no traceback
        return
    if code != 0:
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert out == ""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory
            ) -> dict[tuple[str, bool], subprocess.CompletedProcess[bytes]]:
    folder = tmp_path_factory.mktemp("adversarial")

    def run(case: Case, detect: bool) -> subprocess.CompletedProcess[bytes]:
        path = write_case(case, folder)
        options = ["--format", "json", *case.args, *([] if detect else ["--no-detect"])]
        return run_cli("analyze", str(path), *options)

    jobs = [(c, False) for c in CASES] + [(c, True) for c in CASES if c.name in DETECTED]
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = pool.map(lambda job: run(*job), jobs)
        return {(case.name, detect): result for (case, detect), result in zip(jobs, done,
                                                                              strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_exits_with_its_documented_code(results, case: Case) -> None:
    result = results[(case.name, False)]
    assert_clean_exit(result, case.exit_code)
    if case.exit_code == 0:
        doc = json.loads(result.stdout)
        docs = doc if isinstance(doc, list) else [doc]
        for d in docs:  # what is printed is valid Unicode: no lone surrogate got through
            json.dumps(d, ensure_ascii=False).encode("utf-8")
            assert d["article"]["clean_text"].strip()


@pytest.mark.parametrize("name", DETECTED)
def test_cases_with_detection(results, name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    result = results[(name, True)]
    assert_clean_exit(result, case.exit_code)
    doc = json.loads(result.stdout)
    for d in doc if isinstance(doc, list) else [doc]:
        english = d["article"]["language"] in (None, "en")
        assert d["analysed"] is english
        if not english:
            assert any("not analysed for techniques" in w for w in d["warnings"])


def _article(results, name: str) -> dict:
    return json.loads(results[(name, False)].stdout)["article"]


def test_short_windows_1252_is_not_read_as_utf16(results) -> None:
    doc = json.loads(results[("cp1252_short.txt", False)].stdout)
    assert doc["article"]["text"] == "\u201cHi\u201d"
    assert any("cp1252" in w for w in doc["warnings"])


@pytest.mark.parametrize("name", ["utf16le_no_bom.txt", "utf16be_no_bom.txt", "utf16_bom.txt",
                                  "utf32_bom.txt"])
def test_utf16_and_utf32_are_decoded(results, name: str) -> None:
    assert TEXT in _article(results, name)["text"]


def test_deeply_nested_html_keeps_its_text(results) -> None:
    for name in ("divs_300.html", "divs_100000.html"):
        doc = json.loads(results[(name, False)].stdout)
        assert "rebuild the old harbour wall" in doc["article"]["clean_text"]
        assert any("deep" in w for w in doc["warnings"])


def test_own_json_output_is_read_back_with_its_metadata(results) -> None:
    doc = json.loads(results[("own_output.json", False)].stdout)
    assert doc["id"] == "own-1"
    assert doc["article"]["authors"] == ["Pat Example"]
    assert doc["article"]["outlet"] == "Invented Daily"
    assert doc["article"]["published"] == "2024-05-17"


def test_a_bad_record_after_good_ones_prints_nothing(results) -> None:
    result = results[("lone_surrogate_late.jsonl", False)]
    assert result.stdout == b"" and b"line 41" in result.stderr


# ---- what is not a regular file -----------------------------------------------------------
def test_dev_zero_is_refused_at_once() -> None:
    started = time.monotonic()
    assert_clean_exit(run_cli("analyze", "/dev/zero", "--no-detect", timeout=20), 8)
    assert time.monotonic() - started < 15


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


def test_fifo_without_a_writer_does_not_hang(fifo: Path) -> None:
    assert_clean_exit(run_cli("analyze", str(fifo), "--no-detect", timeout=20), 8)


def test_fifo_with_300_mb_waiting_is_refused_unread(fifo: Path) -> None:
    writer = subprocess.Popen(["sh", "-c", f"head -c 300000000 /dev/zero > '{fifo}'"])
    try:
        started = time.monotonic()
        assert_clean_exit(run_cli("analyze", str(fifo), "--no-detect", timeout=20), 8)
        assert time.monotonic() - started < 15
    finally:
        writer.kill()
        writer.wait()


def test_endless_standard_input_stops_at_the_cap(tmp_path: Path) -> None:
    with open("/dev/zero", "rb") as zeros:
        result = run_cli("analyze", "-", "--no-detect", stdin=zeros.fileno(), timeout=60)
    assert_clean_exit(result, 7)


# ---- options --------------------------------------------------------------------------------
@pytest.fixture
def article_file(tmp_path: Path) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["missing/out.json", "."])
def test_output_into_a_missing_folder_or_onto_a_folder(tmp_path: Path, article_file: Path,
                                                       where: str) -> None:
    target = tmp_path / where
    result = run_cli("analyze", str(article_file), "--no-detect", "-o", str(target))
    assert_clean_exit(result, 2)
    assert not (tmp_path / "missing").exists()


def test_output_is_written_whole_or_not_at_all(tmp_path: Path, article_file: Path) -> None:
    target = tmp_path / "out.json"
    ok = run_cli("analyze", str(article_file), "--no-detect", "-f", "json", "-o", str(target))
    assert ok.returncode == 0 and json.loads(target.read_text())["article"]["text"] == TEXT
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"text": "\\ud800"}')
    failed = run_cli("analyze", str(bad), "--no-detect", "-o", str(tmp_path / "never.json"))
    assert_clean_exit(failed, 9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["article.txt", "bad.json", "out.json"]


def test_output_to_dev_null(article_file: Path) -> None:
    result = run_cli("analyze", str(article_file), "--no-detect", "-o", os.devnull)
    assert result.returncode == 0, result.stderr.decode()


def test_threads_beyond_the_cores_are_lowered_with_a_note(article_file: Path) -> None:
    result = run_cli("analyze", str(article_file), "--threads", "99999", "-f", "json")
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert err.startswith("note: --threads 99999 lowered to ") and err.count("\n") == 1
    assert json.loads(result.stdout)["analysed"] is True


def test_zero_threads_is_a_usage_error(article_file: Path) -> None:
    assert_clean_exit(run_cli("analyze", str(article_file), "--threads", "0"), 2)


# ---- broken model folders (exit 10) ---------------------------------------------------------
def _model_copy(folder: Path) -> Path:
    """The shipped model as links, so that one file can be replaced by a broken one."""
    from propscan.detect import DEFAULT_MODEL_DIR

    folder.mkdir()
    for item in DEFAULT_MODEL_DIR.iterdir():
        (folder / item.name).symlink_to(item)
    return folder


@pytest.mark.parametrize("fault", ["config_cut", "span_model_truncated", "onnx_truncated",
                                   "tokenizer_cut", "onnx_missing", "empty_folder"])
def test_broken_model_folder_is_exit_10(tmp_path: Path, article_file: Path, fault: str) -> None:
    from propscan.detect import DEFAULT_MODEL_DIR

    model = _model_copy(tmp_path / "model")
    cuts = {"config_cut": ("config.json", 100), "span_model_truncated": ("span_model.npz", 5000),
            "onnx_truncated": ("model.onnx", 100_000), "tokenizer_cut": ("tokenizer.json", 500)}
    if fault in cuts:
        name, keep = cuts[fault]
        (model / name).unlink()
        (model / name).write_bytes((DEFAULT_MODEL_DIR / name).read_bytes()[:keep])
    elif fault == "onnx_missing":
        (model / "model.onnx").unlink()
    else:
        shutil.rmtree(model)
        model.mkdir()
    result = run_cli("analyze", str(article_file), "--model-dir", str(model))
    assert_clean_exit(result, 10)
