"""`propscan ptc spans|techniques` write well-formed SemEval files; `evaluate` prints scores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from propscan.errors import ConfigError, InvalidRecord
from propscan.techniques import TECHNIQUE_NAMES

SAMPLE = ["111111111", "111111112"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "propscan", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def articles_dir(tmp_path_factory: pytest.TempPathFactory, ptc_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("articles")
    for aid in SAMPLE:  # a copy in a temp dir, never in the repo
        shutil.copy(ptc_dir / "train-articles" / f"article{aid}.txt", out)
    return out


def _text(articles_dir: Path, aid: str) -> str:
    with open(articles_dir / f"article{aid}.txt", encoding="utf-8", newline="") as fh:
        return fh.read()


def test_ptc_spans_writes_id_start_end_rows(articles_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "si.txt"
    result = run_cli("ptc", "spans", str(articles_dir), "-o", str(out), "--threads", "2")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows, "expected some predicted fragments in two propaganda articles"
    for aid, start, end in rows:
        assert aid in SAMPLE
        text = _text(articles_dir, aid)
        assert 0 <= int(start) < int(end) <= len(text)
        assert text[int(start):int(end)].strip() == text[int(start):int(end)]


def test_ptc_techniques_fills_every_template_row_in_order(articles_dir: Path,
                                                         tmp_path: Path) -> None:
    template = tmp_path / "template.txt"
    template.write_text("111111112\t?\t40\t60\n111111111\t10\t30\n111111112\t?\t0\t5\n")
    out = tmp_path / "tc.txt"
    result = run_cli("ptc", "techniques", str(articles_dir), "--spans", str(template),
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert [(r[0], r[2], r[3]) for r in rows] == [("111111112", "40", "60"),
                                                  ("111111111", "10", "30"),
                                                  ("111111112", "0", "5")]
    assert all(r[1] in TECHNIQUE_NAMES for r in rows)


def test_ptc_techniques_unknown_article_is_a_one_line_error(articles_dir: Path,
                                                           tmp_path: Path) -> None:
    template = tmp_path / "template.txt"
    template.write_text("999\t?\t0\t5\n")
    result = run_cli("ptc", "techniques", str(articles_dir), "--spans", str(template))
    assert result.returncode == InvalidRecord.exit_code
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_ptc_spans_missing_dir_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("ptc", "spans", str(tmp_path / "nope"))
    assert result.returncode == 3
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_evaluate_prints_si_and_tc(tmp_path: Path, ptc_dir: Path) -> None:
    data = tmp_path / "ptc"
    (data / "train-articles").mkdir(parents=True)
    for aid in SAMPLE:
        shutil.copy(ptc_dir / "train-articles" / f"article{aid}.txt", data / "train-articles")
    gold = [line for line in (ptc_dir / "train-task-flc-tc.labels").read_text().splitlines()
            if line.split("\t")[0] in SAMPLE]
    (data / "train-task-flc-tc.labels").write_text("\n".join(gold) + "\n")
    result = run_cli("evaluate", "--data", str(data), "--all", "--threads", "2")
    assert result.returncode == 0, result.stderr
    assert "SI  precision" in result.stdout and "TC  micro-F1" in result.stdout
    assert f"({len(gold)} gold rows)" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--unlabelled", "."], "--unlabelled needs --folds N"),
    (["--folds", "5", "--unlabelled", "no-such-dir"], "--unlabelled: no such directory"),
])
def test_evaluate_self_training_options_are_checked_before_any_training(
        tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("evaluate", "--data", str(tmp_path), "--runs-dir", str(tmp_path / "cv"),
                     *args)
    assert result.returncode == ConfigError.exit_code
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "cv").exists()
