"""`propscan analyze` end to end in a subprocess: real exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from propscan.errors import (
    EXIT_CODES,
    BinaryInput,
    EmptyInput,
    EncodingError,
    InputNotFound,
    InputTooLarge,
    InvalidRecord,
)
from propscan.ingest import MAX_ARTICLE_BYTES


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "propscan", *args], input=stdin,
                          capture_output=True, timeout=120)


def _assert_one_line_error(result: subprocess.CompletedProcess, code: int) -> None:
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert result.stdout == b""


@pytest.mark.parametrize(("name", "content", "error"), [
    ("missing.txt", None, InputNotFound),
    ("empty.txt", b"", EmptyInput),
    ("blank.txt", b"  \n\t\n   \n", EmptyInput),
    ("image.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, BinaryInput),
    ("nul.txt", b"text\x00with\x00nuls" * 10, BinaryInput),
    ("random.txt", bytes(b for i in range(3000) if (b := (i * 7919 + 13) % 256) >= 32),
     EncodingError),
    ("big.txt", b"word " * (MAX_ARTICLE_BYTES // 5 + 1), InputTooLarge),
    ("bad.jsonl", b'{"text": "fine"}\n{"title": "no text"}\n', InvalidRecord),
])
def test_bad_input_gives_one_line_error_and_exit_code(tmp_path: Path, name, content, error):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    _assert_one_line_error(run_cli("analyze", str(path), "--no-detect"), error.exit_code)


def test_directory_is_refused(tmp_path: Path):
    _assert_one_line_error(run_cli("analyze", str(tmp_path), "--no-detect"),
                           InputNotFound.exit_code)


def test_bad_option_value_is_a_usage_error():
    result = run_cli("analyze", "-", "--format", "pdf", stdin=b"text")
    assert result.returncode == 2 and b"Traceback" not in result.stderr


def test_version_names_the_installed_model():
    from propscan import __version__
    from propscan.detect import Detector

    result = run_cli("--version")
    info = Detector().load().info
    assert result.returncode == 0
    assert result.stdout.decode() == f"propscan {__version__} ({info['name']} {info['version']})\n"


def test_stdin_and_json_output(shared_example: Path):
    result = run_cli("analyze", "-", "--format", "json", "--no-detect",
                     stdin=shared_example.read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    from propscan.doc import SCHEMA_VERSION

    assert doc["schema_version"] == SCHEMA_VERSION
    article = doc["article"]
    assert article["title"] == "Aleppo Proves Western Media Sources Wrong"
    assert article["authors"] == ["Jean Périer"]
    assert article["published"] == "2016-12-18"
    assert article["outlet"] == "New Eastern Outlook"
    assert article["language"] == "en"
    assert article["text"] == shared_example.read_text(encoding="utf-8")
    assert article["text"][article["body_start"]:].startswith("The members of the so-called")
    assert "4323123123123" not in article["clean_text"]
    assert doc["spans"] == [] and doc["warnings"] == []


def test_latin1_input_is_decoded_with_a_warning(tmp_path: Path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(("Le café était plein, et la soirée fut très animée. " * 8).encode("cp1252"))
    result = run_cli("analyze", str(path), "--format", "json", "--no-detect")
    assert result.returncode == 0, result.stderr.decode()
    doc = json.loads(result.stdout)
    assert "café" in doc["article"]["text"]
    assert any("not UTF-8" in w for w in doc["warnings"])


def test_terminal_view_shows_metadata(shared_example: Path):
    result = run_cli("analyze", str(shared_example), "--no-detect")
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "Jean Périer" in out and "New Eastern Outlook" in out and "2016-12-18" in out


@pytest.mark.parametrize("n, expected", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                         (11, "11th"), (12, "12th"), (13, "13th"),
                                         (21, "21st"), (92, "92nd"), (100, "100th")])
def test_percentile_ranks_read_as_english_ordinals(n: int, expected: str) -> None:
    from propscan.report.wording import ordinal

    assert ordinal(n) == expected


def test_terminal_view_ranks_the_article_score_in_words(shared_example: Path):
    result = run_cli("analyze", str(shared_example))
    out = " ".join(result.stdout.decode().split())  # the console wraps long lines
    assert result.returncode == 0
    from propscan.report.wording import ordinal

    ranks = re.findall(r"(\d+)(st|nd|rd|th) percentile of (PTC|everyday)", out)
    assert len(ranks) == 2
    assert all(ordinal(int(n)) == n + suffix for n, suffix, _ in ranks)
    assert "these figures and ranks are rough" not in out  # hundreds of words


def test_terminal_view_warns_that_a_short_text_has_rough_figures(tmp_path: Path):
    short = tmp_path / "short.txt"
    short.write_text("The invented mayor called his critics traitors and liars again today.",
                     encoding="utf-8")
    result = run_cli("analyze", str(short))
    out = " ".join(result.stdout.decode().split())
    assert result.returncode == 0
    assert ("Only 11 words: one fragment more or less moves the rate by 90.9 per 1,000 words, "
            "so under 150 words these figures and ranks are rough.") in out


def test_every_exit_code_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for code in EXIT_CODES:
        assert f"| {code} |" in readme, f"exit code {code} is not in the README"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path):
    records = tmp_path / "many.jsonl"
    line = json.dumps({"text": "INVENTED. The imaginary council met again today. " * 20})
    records.write_text("\n".join([line] * 200), encoding="utf-8")  # far over a pipe's buffer
    process = subprocess.Popen([sys.executable, "-m", "propscan", "analyze", str(records),
                                "--no-detect", "-f", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(3) == b"[\n{"
    process.stdout.close()  # as `| head -c 10` does
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141 and err == "", err


def test_closed_standard_input_is_one_line():
    result = subprocess.run([sys.executable, "-m", "propscan", "analyze", "-", "--no-detect"],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    _assert_one_line_error(result, EmptyInput.exit_code)  # /dev/null: nothing to read


def test_json_names_the_model_and_reads_back_its_own_output(tmp_path: Path) -> None:
    """A result records which model made it (an adapted model has its own version), and
    `analyze` takes its own JSON as input: the text and metadata survive re-analysis."""
    from propscan.detect import DEFAULT_MODEL_DIR

    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    article = tmp_path / "a.txt"
    article.write_text("A Headline\n\nThe corrupt elites lie to you every single day. Wake up, "
                       "America! Our glorious nation will never surrender to the traitors.\n",
                       encoding="utf-8")
    first = run_cli("analyze", str(article), "--format", "json", "-o", str(tmp_path / "r.json"))
    assert first.returncode == 0, first.stderr.decode()
    stored = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert stored["model"] == {"name": config["name"], "version": config["version"]}
    again = run_cli("analyze", str(tmp_path / "r.json"), "--format", "json")
    assert again.returncode == 0, again.stderr.decode()
    redone = json.loads(again.stdout)
    assert redone["article"]["text"] == stored["article"]["text"]
    assert redone["article"]["title"] == stored["article"]["title"] == "A Headline"
    assert [s["start"] for s in redone["spans"]] == [s["start"] for s in stored["spans"]]
