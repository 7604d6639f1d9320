"""The corpus report page: renders from a real batch store and reads on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from propscan.batch.engines import PipelineSettings
from propscan.batch.runner import run_batch
from propscan.batch.store import open_store
from propscan.report.corpus import render_report


def test_corpus_report_fits_a_phone_screen(tmp_path: Path) -> None:
    page = render_report(_store_without_detection(tmp_path), min_words=0)
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    # headers wrap between words only; a wide table scrolls in its own box, not the page
    assert re.search(r"th\{[^}]*overflow-wrap:normal;word-break:normal", page)
    assert ".table-scroll{max-width:100%;overflow-x:auto}" in page
    assert page.count("<div class='table-scroll'><table>") == page.count("<table>") > 0


def _store_without_detection(tmp_path: Path) -> Path:
    corpus = tmp_path / "in"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"a{i}.txt").write_text(f"Title {i}\n\nSome plain words of article {i}.\n",
                                          encoding="utf-8")
    db = tmp_path / "c.duckdb"
    with open_store(db=db) as store:
        assert run_batch([corpus], store, PipelineSettings(detect=False)).ok == 3
    return db


def test_corpus_by_semeval_category_and_technique(tmp_path: Path) -> None:
    import subprocess
    import sys

    import duckdb

    from propscan.batch.corpus import CorpusView

    db = _store_without_detection(tmp_path)
    assert "no SemEval-2023 labels in this corpus" in render_report(db, min_words=0)
    stats = subprocess.run([sys.executable, "-m", "propscan", "stats", str(db), "--by",
                            "category"], capture_output=True, text=True, timeout=120)
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.count("no SemEval-2023 labels in this corpus") == 1
    # spans as a run with the SemEval-2023 model stores them (two articles, one PTC-only)
    con = duckdb.connect(str(db))
    ids = [r[0] for r in con.execute("SELECT id FROM articles ORDER BY id").fetchall()]
    rows = [(ids[0], 0, 5, "Loaded_Language", "Loaded_Language", "Manipulative wording"),
            (ids[0], 6, 9, "Doubt", "Questioning_the_Reputation", "Attack on reputation"),
            (ids[1], 0, 5, "Name_Calling,Labeling", "Name_Calling-Labeling",
             "Attack on reputation"),
            (ids[2], 0, 5, "Slogans", None, None)]
    for aid, start, end, technique, t23, c23 in rows:
        con.execute('INSERT INTO spans (article_id, start, "end", technique, confidence, '
                    "technique_2023, category_2023) VALUES (?, ?, ?, ?, 0.9, ?, ?)",
                    [aid, start, end, technique, t23, c23])
    con.execute("UPDATE articles SET analysed = true, n_spans = (SELECT count(*) FROM spans "
                "WHERE article_id = articles.id)")
    con.close()
    with CorpusView(db) as view:
        by_category = {r["category"]: (r["spans"], r["articles"])
                       for r in view.stats("category")}
        by_technique = {(r["category"], r["technique"]): r["spans"]
                        for r in view.semeval_stats()}
    assert by_category == {"Attack on reputation": (2, 2), "Manipulative wording": (1, 1)}
    assert by_technique == {("Attack on reputation", "Questioning_the_Reputation"): 1,
                            ("Attack on reputation", "Name_Calling-Labeling"): 1,
                            ("Manipulative wording", "Loaded_Language"): 1}
    page = render_report(db, min_words=0)
    assert "no SemEval-2023 labels" not in page
    section = page[page.index("<h2>SemEval-2023 categories and techniques</h2>"):]
    assert section.index("Attack on reputation (2 spans)") < section.index(
        "Manipulative wording (1 span)")
    assert "Questioning the reputation (Questioning_the_Reputation)" in section
    stats = subprocess.run([sys.executable, "-m", "propscan", "stats", str(db), "--by",
                            "category"], capture_output=True, text=True, timeout=120)
    assert "Attack on reputation" in stats.stdout and "no SemEval-2023" not in stats.stdout
