"""The SemEval-2023 technique models and measures: hand-made gold, invented training data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propscan.detect.semeval import MODEL_FILE, SemevalModel, classify_2023, load_semeval_model
from propscan.doc import Finding
from propscan.evaluate.semeval import (
    baseline_paragraphs,
    by_category,
    paragraph_gold,
    paragraph_scores,
    read_semeval,
    tc23_scores,
)
from propscan.techniques import SEMEVAL_TECHNIQUE_NAMES, get_semeval_technique

#     lines: 1 "Title" [0, 5), 2 "" [6, 6), 3 "First line here." [7, 23), 4 "Second line." [24, 36)
HAND_TEXT = "Title\n\nFirst line here.\nSecond line.\n"
HAND_ROWS = [("1", "Loaded_Language", 7, 12), ("1", "Doubt", 20, 30), ("1", "Slogans", 0, 3)]


@pytest.fixture
def hand_dir(tmp_path: Path) -> Path:
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "article1.txt").write_text(HAND_TEXT, encoding="utf-8")
    (tmp_path / "train-labels-subtask-3-spans.txt").write_text(
        "".join(f"{a}\t{t}\t{s}\t{e}\n" for a, t, s, e in HAND_ROWS), encoding="utf-8")
    return tmp_path


def test_paragraph_measure_on_a_hand_made_gold_file(hand_dir: Path) -> None:
    texts, rows = read_semeval(hand_dir)
    gold = paragraph_gold(texts, rows)
    # the Doubt span [20, 30) crosses the newline at 23: lines 3 and 4 both carry it
    assert gold == {("1", 1, "Slogans"), ("1", 3, "Loaded_Language"), ("1", 3, "Doubt"),
                    ("1", 4, "Doubt")}
    pred = {("1", 3, "Loaded_Language"), ("1", 4, "Doubt"), ("1", 4, "Slogans")}
    scores = paragraph_scores(pred, gold)
    # by hand: 2 of 3 predicted are right, 2 of 4 gold found: P 2/3, R 1/2, F1 4/7
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(4 / 7)
    assert scores["per_technique"]["Doubt"]["f1"] == pytest.approx(2 / 3)


def test_baseline_gives_every_nonempty_line_the_frequent_techniques(hand_dir: Path) -> None:
    texts, rows = read_semeval(hand_dir)
    gold = paragraph_gold(texts, rows)
    pred, k = baseline_paragraphs(texts, gold, texts)
    # Doubt is on 2 lines, the others on 1; k=1 scores 2/3 * 1/2 -> F1 4/7 on these lines,
    # k=2 (Doubt, Loaded_Language) P 3/6 R 3/4 -> F1 3/5, k=3 P 4/9 R 1 -> 8/13: k=3 wins
    assert k == 3
    assert {line for _, line, _ in pred} == {1, 3, 4}


def test_tc23_and_category_scores() -> None:
    gold = [("1", "Doubt", 0, 5), ("1", "Slogans", 6, 9), ("1", "Loaded_Language", 10, 12)]
    pred = [("1", "Doubt", 0, 5), ("1", "Flag_Waving", 6, 9), ("1", "Exaggeration-Minimisation",
                                                                  10, 12)]
    assert tc23_scores(pred, gold)["micro_f1"] == pytest.approx(1 / 3)

    def category(name: str) -> str:
        return get_semeval_technique(name).category

    cats = by_category(category, pred, gold, 1)
    # Loaded_Language and Exaggeration-Minimisation share "Manipulative wording"; Slogans (Call)
    # named Flag_Waving (Justification) is wrong in both categories
    assert cats["Manipulative wording"]["f1"] == pytest.approx(1.0)
    assert cats["Attack on reputation"]["f1"] == pytest.approx(1.0)
    assert cats["Call"]["f1"] == 0.0 and cats["Justification"]["support"] == 0


# ---- a tiny fit on invented data --------------------------------------------------------------
_NAME = "those corrupt traitors"
_DOUBT = "can we really trust them"


def _invented(n: int) -> tuple[dict[str, str], list[tuple[str, str, int, int]]]:
    texts, rows = {}, []
    for i in range(n):
        body = [f"Report number {i}", "", f"The mayor met {_NAME} today in town {i}.",
                f"Experts ask: {_DOUBT} with the budget?", f"Weather was mild on day {i}."]
        text = "\n".join(body) + "\n"
        texts[str(i)] = text
        rows.append((str(i), "Name_Calling-Labeling", text.index(_NAME),
                     text.index(_NAME) + len(_NAME)))
        rows.append((str(i), "Doubt", text.index(_DOUBT), text.index(_DOUBT) + len(_DOUBT)))
    return texts, rows


@pytest.fixture(scope="module")
def tiny_model() -> SemevalModel:
    pytest.importorskip("sklearn")
    from propscan.train.semeval_fit import fit, prepare

    texts, rows = _invented(9)
    return fit(prepare(texts, rows), set(texts))


def test_tiny_fit_learns_fragments_and_lines(tiny_model: SemevalModel) -> None:
    text = f"A new story.\n\nCritics say {_DOUBT} now.\nShe named {_NAME} again.\n"
    spans = [(text.index(_DOUBT), text.index(_DOUBT) + len(_DOUBT)),
             (text.index(_NAME), text.index(_NAME) + len(_NAME))]
    assert classify_2023(tiny_model, text, spans) == ["Doubt", "Name_Calling-Labeling"]
    labels = tiny_model.paragraph_labels(text)
    assert len(labels) == len(text.split("\n"))
    assert labels[1] == [] and "Doubt" in labels[2] and "Name_Calling-Labeling" in labels[3]
    assert "Doubt" not in labels[3]


def test_label_sets_names_from_the_23(tiny_model: SemevalModel, tmp_path: Path) -> None:
    text = f"They called {_NAME} out.\n"
    start = text.index(_NAME)
    findings = [Finding(start, start + len(_NAME), "Name_Calling,Labeling", 0.9),
                Finding(start, start + len(_NAME), "Loaded_Language", 0.4)]
    tiny_model.label(text, findings)
    for f in findings:
        assert f.technique_2023 == "Name_Calling-Labeling"
        assert f.technique_2023 in SEMEVAL_TECHNIQUE_NAMES
        assert f.category_2023 == get_semeval_technique(f.technique_2023).category
    # the saved model (float16 weights) predicts the same
    tiny_model.save(tmp_path / MODEL_FILE)
    loaded = load_semeval_model(tmp_path)
    assert loaded is not None
    spans = [(f.start, f.end) for f in findings[:1]]
    np.testing.assert_allclose(loaded.fragment_probs(text, spans),
                               tiny_model.fragment_probs(text, spans), atol=1e-2)


def test_no_model_file_means_no_model(tmp_path: Path) -> None:
    assert load_semeval_model(tmp_path) is None


def test_choices_are_made_inside_each_fold_and_recorded(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from propscan.train.semeval_fit import (
        FRAGMENT_CS,
        LINE_CS,
        MAX_LABELS,
        THRESHOLDS,
        cross_validate,
    )

    texts, rows = _invented(12)
    (tmp_path / "articles").mkdir()
    for aid, text in texts.items():
        (tmp_path / "articles" / f"article{aid}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "train-labels-subtask-3-spans.txt").write_text(
        "".join(f"{a}\t{t}\t{s}\t{e}\n" for a, t, s, e in rows), encoding="utf-8")
    result = cross_validate(tmp_path, folds=3)
    assert len(result["folds"]) == 3
    for fold in result["folds"]:
        choices = fold["choices"]
        assert choices["fragment_c"] in FRAGMENT_CS and choices["line_c"] in LINE_CS
        assert set(choices["fragment_inner_accuracy"]) == {str(c) for c in FRAGMENT_CS}
        assert choices["line_max_labels"] in MAX_LABELS
        assert set(choices["line_thresholds"].values()) <= set(THRESHOLDS)


def test_a_one_value_grid_is_what_the_model_uses() -> None:
    pytest.importorskip("sklearn")
    from propscan.train.semeval_fit import FitOptions, fit, prepare

    texts, rows = _invented(9)
    options = FitOptions(fragment_cs=(0.7,), line_cs=(0.3,), max_labels=(1,))
    model = fit(prepare(texts, rows), set(texts), options)
    assert model.info is not None
    assert (model.info["fragment_c"], model.info["line_c"]) == (0.7, 0.3)
    assert model.line_max_labels == 1
    # the cap holds at inference: a line with both techniques' words keeps one label
    labels = model.paragraph_labels(f"They said {_NAME}: {_DOUBT}?\n")
    assert len(labels[0]) <= 1
