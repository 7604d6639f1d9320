"""The official PTC measures on hand-made files whose scores were worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscan.errors import InputNotFound, InvalidRecord
from propscan.evaluate import merge_overlaps, si_scores, tc_scores
from propscan.evaluate.ptc import (
    read_articles,
    read_si_labels,
    read_span_template,
    read_tc_labels,
)


def test_merge_overlaps_joins_shared_characters_but_not_touching_spans() -> None:
    assert merge_overlaps([(2, 6), (0, 4), (6, 8), (10, 12), (11, 11)]) == [(0, 6), (6, 8),
                                                                             (10, 12)]


def test_si_partial_overlap_gets_partial_credit() -> None:
    # pred [5,15) vs gold [0,10): |s & t| = 5 -> P = 5/10, R = 5/10
    res = si_scores([("a", 5, 15)], [("a", 0, 10)])
    assert res["precision"] == pytest.approx(0.5)
    assert res["recall"] == pytest.approx(0.5)
    assert res["f1"] == pytest.approx(0.5)


def test_si_merges_overlapping_predictions_before_scoring() -> None:
    # pred (0,4)+(2,6) merge to (0,6): P = (6/6)/1 = 1; R = (6/10 + 0)/2 = 0.3
    res = si_scores([("a", 0, 4), ("a", 2, 6)], [("a", 0, 10), ("a", 20, 30)])
    assert res["n_pred"] == 1 and res["n_gold"] == 2
    assert res["precision"] == pytest.approx(1.0)
    assert res["recall"] == pytest.approx(0.3)
    assert res["f1"] == pytest.approx(2 * 0.3 / 1.3)


def test_si_spans_only_meet_within_their_article() -> None:
    # same offsets, different articles: no credit at all
    res = si_scores([("a", 0, 10)], [("b", 0, 10)])
    assert res["precision"] == 0.0 and res["recall"] == 0.0 and res["f1"] == 0.0


def test_si_one_prediction_covering_two_gold_fragments() -> None:
    # pred [0,20) over gold [0,5) and [10,20): P = (5+10)/20 = 0.75; R = (1 + 1)/2 = 1
    res = si_scores([("a", 0, 20)], [("a", 0, 5), ("a", 10, 20)])
    assert res["precision"] == pytest.approx(0.75)
    assert res["recall"] == pytest.approx(1.0)


def test_si_without_predictions_scores_zero() -> None:
    res = si_scores([], [("a", 0, 5)])
    assert res == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n_pred": 0, "n_gold": 1,
                   "n_pred_no_overlap": 0}


def test_si_counts_predictions_that_overlap_no_gold_fragment() -> None:
    # [0,4) touches gold [0,10); [12,15) falls in the gap; [30,40) lies in another article's range
    res = si_scores([("a", 0, 4), ("a", 12, 15), ("b", 30, 40)],
                    [("a", 0, 10), ("a", 20, 30), ("b", 0, 5)])
    assert res["n_pred"] == 3 and res["n_pred_no_overlap"] == 2


def test_tc_micro_f1_and_per_technique() -> None:
    gold = [("a", "Doubt", 0, 5), ("a", "Slogans", 10, 20), ("a", "Repetition", 10, 20),
            ("b", "Doubt", 3, 9)]
    pred = [("a", "Doubt", 0, 5), ("a", "Slogans", 10, 20), ("a", "Slogans", 10, 20),
            ("b", "Doubt", 3, 9)]
    res = tc_scores(pred, gold)
    assert res["micro_f1"] == pytest.approx(0.75)  # 3 of 4 rows right
    per = res["per_technique"]
    assert per["Doubt"]["f1"] == pytest.approx(1.0)
    # Slogans: 1 hit, 2 predicted, 1 gold -> P 0.5, R 1
    assert per["Slogans"]["f1"] == pytest.approx(2 * 0.5 / 1.5)
    assert per["Repetition"]["f1"] == 0.0 and per["Repetition"]["support"] == 1


def test_label_readers_and_errors(tmp_path: Path) -> None:
    tc = tmp_path / "tc.labels"
    tc.write_text("1\tDoubt\t0\t5\n2\tSlogans\t3\t9\n")
    assert read_tc_labels(tc) == [("1", "Doubt", 0, 5), ("2", "Slogans", 3, 9)]
    si = tmp_path / "si.labels"
    si.write_text("1\t0\t5\n\n")
    assert read_si_labels(si) == [("1", 0, 5)]
    template = tmp_path / "template"
    template.write_text("1\t?\t0\t5\n2\t3\t9\n")
    assert read_span_template(template) == [("1", 0, 5), ("2", 3, 9)]
    bad = tmp_path / "bad"
    bad.write_text("1\tDoubt\tzero\t5\n")
    with pytest.raises(InvalidRecord, match="integer"):
        read_tc_labels(bad)
    with pytest.raises(InputNotFound):
        read_tc_labels(tmp_path / "missing")


def test_read_articles_keeps_exact_characters(tmp_path: Path) -> None:
    (tmp_path / "article42.txt").write_bytes("Title\r\n\r\nBody “x”.\n".encode())
    texts = read_articles(tmp_path)
    assert texts == {"42": "Title\r\n\r\nBody “x”.\n"}


def test_gold_against_itself_scores_one(ptc_dir: Path) -> None:
    gold = read_tc_labels(ptc_dir / "train-task-flc-tc.labels")
    si_gold = read_si_labels(ptc_dir / "train-task-si.labels")
    assert si_scores(si_gold, [(a, s, e) for a, _, s, e in gold])["f1"] == pytest.approx(1.0)
    assert tc_scores(gold, gold)["micro_f1"] == pytest.approx(1.0)
