"""The corpus report page: renders from a real batch store and reads on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from propscan.batch.engines import PipelineSettings
from propscan.batch.runner import run_batch
from propscan.batch.store import open_store
from propscan.report.corpus import render_report


def test_corpus_report_fits_a_phone_screen(tmp_path: Path) -> None:
    corpus = tmp_path / "in"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"a{i}.txt").write_text(f"Title {i}\n\nSome plain words of article {i}.\n",
                                          encoding="utf-8")
    db = tmp_path / "c.duckdb"
    with open_store(db=db) as store:
        assert run_batch([corpus], store, PipelineSettings(detect=False)).ok == 3
    page = render_report(db, min_words=0)
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    # headers wrap between words only; a wide table scrolls in its own box, not the page
    assert re.search(r"th\{[^}]*overflow-wrap:normal;word-break:normal", page)
    assert ".table-scroll{max-width:100%;overflow-x:auto}" in page
    assert page.count("<div class='table-scroll'><table>") == page.count("<table>") > 0
