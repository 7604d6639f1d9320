"""`propscan semeval paragraphs` writes SemEval-2023 subtask 3 rows; `ptc techniques
--taxonomy semeval2023` writes the 23 names in the TC layout and `--taxonomy ptc` is unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from propscan.cli.semeval import paragraph_rows
from propscan.doc import Finding
from propscan.techniques import SEMEVAL_TECHNIQUE_NAMES, TECHNIQUE_NAMES

# invented articles: a title, an empty line, paragraphs, a line of spaces, a trailing newline
ARTICLES = {
    "700000001": ("Traitors Sell Out the Nation Again\n\nThe corrupt elites have betrayed every "
                  "honest worker, and everyone knows it.\n   \nEither we act now or we lose "
                  "everything we love.\nThe council meets on Tuesday.\n"),
    "700000002": ("Budget passes\n\nThe budget passed by 40 votes to 12 after a short debate.\n"
                  "\n\nA disgraceful, shameful betrayal, critics said.\n"),
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "propscan", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def articles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("articles")
    for aid, text in ARTICLES.items():
        (out / f"article{aid}.txt").write_text(text, encoding="utf-8", newline="")
    return out


def _finding(text: str, fragment: str, technique: str, technique_2023: str | None = None
             ) -> Finding:
    start = text.index(fragment)
    return Finding(start, start + len(fragment), technique, 0.9, fragment,
                   technique_2023=technique_2023)


def test_paragraph_rows_number_every_line_and_leave_the_third_column_empty():
    text = "Title\n\nfirst line here\n  \nsecond, loaded line\nlast"
    findings = [
        _finding(text, "loaded", "Loaded_Language", "Loaded_Language"),
        _finding(text, "second", "Doubt", "Questioning_the_Reputation"),
        # across the line break: both lines; no SemEval-2023 name, so the PTC class's first
        _finding(text, "here\n  \nsecond", "Bandwagon,Reductio_ad_hitlerum"),
    ]
    assert paragraph_rows("42", text, findings) == [
        "42\t1\t",
        "42\t3\tGuilt_by_Association",
        # the task's order: Attack on reputation before Manipulative wording
        "42\t5\tGuilt_by_Association,Questioning_the_Reputation,Loaded_Language",
        "42\t6\t",
    ]
    # a finding that ends where a line starts does not touch it
    ends_at_line = Finding(0, text.index("first"), "Slogans", 0.5, technique_2023="Slogans")
    assert paragraph_rows("42", text, [ends_at_line])[1] == "42\t3\t"


def test_semeval_paragraphs_writes_well_formed_rows(articles_dir: Path, tmp_path: Path):
    out = tmp_path / "labels.txt"
    result = run_cli("semeval", "paragraphs", str(articles_dir), "-o", str(out),
                     "--threads", "2")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").split("\n")[:-1]]
    expected = [(aid, str(n)) for aid, text in sorted(ARTICLES.items())
                for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    assert [(r[0], r[1]) for r in rows] == expected
    assert ("700000001", "4") not in expected  # the line of spaces has no row
    found = set()
    for row in rows:
        assert len(row) == 3
        names = row[2].split(",") if row[2] else []
        assert len(names) == len(set(names)) and set(names) <= set(SEMEVAL_TECHNIQUE_NAMES)
        found.update(names)
    assert found, "expected some technique in two loaded invented articles"


def test_semeval_paragraphs_missing_dir_is_a_one_line_error(tmp_path: Path):
    result = run_cli("semeval", "paragraphs", str(tmp_path / "nope"))
    assert result.returncode != 0
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.txt"
    rows = []
    for aid, fragment in (("700000001", "corrupt elites"), ("700000002", "disgraceful"),
                          ("700000001", "Either we act now or we lose everything we love"),
                          ("700000001", "corrupt elites")):  # a fragment listed twice
        start = ARTICLES[aid].index(fragment)
        rows.append(f"{aid}\t?\t{start}\t{start + len(fragment)}\n")
    path.write_text("".join(rows))
    return path


def test_ptc_techniques_taxonomy_ptc_is_unchanged(articles_dir: Path, template: Path,
                                                  tmp_path: Path):
    from propscan.detect import Detector
    from propscan.evaluate.ptc import read_span_template

    default, explicit = tmp_path / "default.txt", tmp_path / "ptc.txt"
    assert run_cli("ptc", "techniques", str(articles_dir), "--spans", str(template),
                   "-o", str(default)).returncode == 0
    result = run_cli("ptc", "techniques", str(articles_dir), "--spans", str(template),
                     "--taxonomy", "ptc", "-o", str(explicit))
    assert result.returncode == 0, result.stderr
    assert explicit.read_bytes() == default.read_bytes()
    # the rows the command wrote before SemEval-2023: the tagger's classes, per article
    rows = read_span_template(template)
    with Detector(threads=2).load() as detector:
        labels = {}
        for aid in sorted({r[0] for r in rows}):
            idx = [i for i, r in enumerate(rows) if r[0] == aid]
            found = detector.classify(ARTICLES[aid], [rows[i][1:] for i in idx])
            labels.update(zip(idx, found, strict=True))
    assert explicit.read_text() == "".join(f"{aid}\t{labels[i]}\t{s}\t{e}\n"
                                           for i, (aid, s, e) in enumerate(rows))
    assert all(name in TECHNIQUE_NAMES for name in labels.values())


def test_ptc_techniques_taxonomy_semeval2023_keeps_the_row_layout(articles_dir: Path,
                                                                 template: Path,
                                                                 tmp_path: Path):
    out = tmp_path / "tc.txt"
    result = run_cli("ptc", "techniques", str(articles_dir), "--spans", str(template),
                     "--taxonomy", "semeval2023", "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    wanted = [line.split("\t") for line in template.read_text().splitlines()]
    assert [(r[0], r[2], r[3]) for r in rows] == [(w[0], w[2], w[3]) for w in wanted]
    assert all(r[1] in SEMEVAL_TECHNIQUE_NAMES for r in rows)


def test_evaluate_semeval2023_cross_validates_on_a_few_shared_articles(tmp_path: Path):
    """`propscan evaluate --taxonomy semeval2023 --folds 2` on 40 of the shared training
    articles: figures in [0, 1] for each measure, the baseline beside the paragraph figure."""
    import json

    from tests.conftest import SHARED

    source = SHARED / "data" / "semeval2023-en-train"
    if not source.is_dir():
        pytest.skip("../shared/data/semeval2023-en-train is not beside the checkout")
    data = tmp_path / "semeval"
    (data / "articles").mkdir(parents=True)
    chosen = sorted((source / "articles").glob("article*.txt"))[:40]
    for path in chosen:
        (data / "articles" / path.name).write_bytes(path.read_bytes())
    ids = {path.stem.removeprefix("article") for path in chosen}
    rows = (source / "train-labels-subtask-3-spans.txt").read_text().splitlines(keepends=True)
    (data / "train-labels-subtask-3-spans.txt").write_text(
        "".join(r for r in rows if r.split("\t")[0] in ids))
    result = run_cli("evaluate", "--data", str(data), "--taxonomy", "semeval2023",
                     "--folds", "2", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["mean_std"]
    for measure in ("tc23_micro_f1", "paragraph_micro_f1", "baseline_micro_f1"):
        assert 0.0 <= figures[measure]["mean"] <= 1.0
    assert figures["tc23_micro_f1"]["mean"] > 0.2  # frequent names are learnt even from 20
    failed = run_cli("evaluate", "--data", str(data), "--taxonomy", "semeval2023")
    assert failed.returncode == 2 and "--folds" in failed.stderr
