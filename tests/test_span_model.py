"""The span stage: features and cues, saved weights, calibration, cross-fitted decoding."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from propscan.detect import DecodingConfig, Detector
from propscan.detect.span_model import (
    DENSE_NAMES,
    SpanFeatures,
    SpanModel,
    lexical_tokens,
    merge_span_models,
    repetition_count,
    span_features,
)
from propscan.report.tables import format_cross_validation
from propscan.techniques import TECHNIQUE_NAMES
from propscan.train import calibration, crossfit, install, oof, span_fit

TEXT = ('The so-called "revolution" was a FARCE. Stop the lies! '
        "They lie and lie. Stop the lies, they said.")


def _scores(n: int, inside: float = 0.8) -> np.ndarray:
    scores = np.full((n, 1 + len(TECHNIQUE_NAMES)), 0.05, np.float32)
    scores[:, 0] = inside
    return scores


def _span(fragment: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(fragment, start + 1)
    return start, start + len(fragment)


def test_features_see_quotes_repetition_capitals_and_punctuation() -> None:
    spans = [_span("revolution"), _span("FARCE"), _span("Stop the lies")]
    feats = span_features(TEXT, _scores(len(TEXT)), spans)
    col = {name: i for i, name in enumerate(DENSE_NAMES)}
    assert feats.dense.shape == (3, len(DENSE_NAMES))
    assert feats.dense[0, col["scare_quotes"]] == 1 and feats.dense[1, col["scare_quotes"]] == 0
    assert feats.dense[1, col["all_caps_word"]] == 1 and feats.dense[0, col["all_caps_word"]] == 0
    assert feats.dense[2, col["repeated"]] == 1 and feats.dense[0, col["repeated"]] == 0
    assert feats.dense[2, col["exclamation"]] == 1
    assert np.isclose(feats.dense[0, col["p_inside_mean"]], 0.8)
    assert "p:so-called" in feats.tokens[0] and "w:revolution" in feats.tokens[0]


def test_repetition_count_and_lexical_tokens() -> None:
    assert repetition_count(TEXT, *_span("Stop the lies")) == 1
    assert repetition_count(TEXT, *_span("FARCE")) == 0
    assert lexical_tokens(TEXT, *_span("FARCE")) == ["p:a", "p:was", "w:farce"]


def _toy_model(vocab: list[str]) -> SpanModel:
    width = len(DENSE_NAMES) + len(vocab)
    tech_w = np.zeros((len(TECHNIQUE_NAMES), width), np.float32)
    tech_w[TECHNIQUE_NAMES.index("Name_Calling,Labeling"), len(DENSE_NAMES)] = 3.0
    return SpanModel(vocab, np.zeros(len(DENSE_NAMES), np.float32),
                     np.ones(len(DENSE_NAMES), np.float32), np.zeros(width, np.float32), 2.0,
                     tech_w, np.zeros(len(TECHNIQUE_NAMES), np.float32),
                     np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.2, 0.4]))


def test_span_model_round_trips_and_explains_its_choice(tmp_path: Path) -> None:
    model = _toy_model(["w:farce", "w:lies"])
    model.save(tmp_path / "span_model.npz")
    loaded = SpanModel.load(tmp_path / "span_model.npz")
    feats = span_features(TEXT, _scores(len(TEXT)), [_span("FARCE")])
    x = loaded.matrix(feats)
    assert x.shape == (1, len(DENSE_NAMES) + 2) and x[0, len(DENSE_NAMES)] == 1.0
    assert loaded.p_technique(x).argmax() == TECHNIQUE_NAMES.index("Name_Calling,Labeling")
    assert np.isclose(loaded.p_real(x)[0], 1 / (1 + np.exp(-2.0)))
    assert loaded.strongest_word(x[0], TECHNIQUE_NAMES.index("Name_Calling,Labeling")) == (
        "word “farce”")
    assert np.allclose(loaded.calibrate(np.array([0.25, 0.75, 2.0])), [0.1, 0.3, 0.4])


def test_detector_with_a_span_model_labels_and_explains(tmp_path: Path) -> None:
    det = Detector(tmp_path, decoding=DecodingConfig(threshold=0.5, max_gap_chars=0,
                                                     keep_threshold=0.5, repetition_rule=True))
    det.span_model_ = _toy_model(["w:farce"])
    scores = _scores(len(TEXT), inside=0.0)
    for fragment in ("FARCE", "Stop the lies"):
        s, e = _span(fragment)
        scores[s:e, 0] = 0.9
    frags = det.decode(TEXT, scores)
    by_text = {f.text: (f.technique, f.confidence, f.reason) for f in frags}
    assert by_text["FARCE"][0] == "Name_Calling,Labeling"
    assert "word “farce”" in by_text["FARCE"][2]
    assert by_text["Stop the lies"][0] == "Repetition"
    assert "repeated" in by_text["Stop the lies"][2]
    assert all(0.0 <= c <= 0.4 for _, c, _ in by_text.values())  # calibration curve tops at 0.4
    assert det.classify(TEXT, [_span("FARCE")], scores=scores) == ["Name_Calling,Labeling"]


def test_expected_calibration_error_by_hand() -> None:
    pytest.importorskip("sklearn")
    # bin 0.1-0.2: confidence 0.15, half correct -> |0.5 - 0.15| * 2/4; bin 0.8-0.9: 0.15 * 2/4
    ece = calibration.expected_calibration_error([0.15, 0.15, 0.85, 0.85],
                                                 [True, False, True, True])
    assert ece["ece"] == pytest.approx(0.25)
    assert [b["n"] for b in ece["bins"]] == [2, 2]


@pytest.fixture(scope="module")
def twelve_encoded(ptc_articles: Path) -> tuple[dict, list, list[str], dict]:
    """Texts and gold of the PTC articles, the first 12 ids and their (scores, states) from
    the shipped tagger: the encoder pass, done once for the cross-fitting tests."""
    from propscan.evaluate.ptc import read_articles, read_tc_labels

    texts = read_articles(ptc_articles)
    ids = sorted(texts)[:12]
    gold = read_tc_labels(ptc_articles.parent / "train-task-flc-tc.labels")
    encoded = dict(zip(ids, Detector(threads=2).load().encode([texts[i] for i in ids]),
                       strict=True))
    return texts, gold, ids, encoded


def test_cross_fitted_decoding_on_real_scores(twelve_encoded) -> None:
    """Fit decoding on some articles' scores and apply it to others, as each CV fold does."""
    pytest.importorskip("sklearn")
    from propscan.evaluate import evaluate_scores

    texts, gold, ids, encoded = twelve_encoded
    corpus = span_fit.ScoredCorpus(texts, gold, {i: sc for i, (sc, _) in encoded.items()},
                              {i: st for i, (_, st) in encoded.items()})
    config, model, inner = span_fit.fit_decoding(corpus, ids[:8])
    setting = (config["threshold"], config["max_gap_chars"], config["switch_penalty"])
    assert setting in span_fit.CANDIDATE_SETTINGS
    assert config["keep_threshold"] in span_fit.KEEP_THRESHOLDS
    assert 0.0 <= inner["inner_si_f1"] <= 1.0
    assert np.all(np.diff(model.calib_y) >= 0)  # calibration is monotone
    fitted = span_fit.decoding_detector(config, model)
    res = evaluate_scores(fitted, {i: texts[i] for i in ids[8:]}, gold, scores=encoded)
    assert res["si"]["n_pred"] > 0 and 0.0 < res["si"]["f1"] <= 1.0
    assert 0.0 < res["tc"]["micro_f1"] <= 1.0


def _random_model(rng: np.random.Generator, vocab: list[str]) -> SpanModel:
    width = len(DENSE_NAMES) + len(vocab)
    return SpanModel(vocab, rng.normal(size=len(DENSE_NAMES)).astype(np.float32),
                     rng.uniform(0.5, 2.0, len(DENSE_NAMES)).astype(np.float32),
                     rng.normal(size=width).astype(np.float32), float(rng.normal()),
                     rng.normal(size=(len(TECHNIQUE_NAMES), width)).astype(np.float32),
                     rng.normal(size=len(TECHNIQUE_NAMES)).astype(np.float32),
                     np.array([0.0, 0.3, 1.0]), np.array([0.0, 0.5, 0.9]))


def test_merged_span_model_gives_each_parts_probabilities_exactly() -> None:
    """adapt keeps a base part beside a refitted one: one model, two vocabularies and
    scalings, and the probabilities of each part unchanged."""
    rng = np.random.default_rng(0)
    words = [f"w:{w}" for w in ("crooked", "traitor", "glorious", "never", "again", "shame")]
    tech, real = _random_model(rng, words[:4]), _random_model(rng, words[2:])
    feats = SpanFeatures(rng.normal(size=(5, len(DENSE_NAMES))).astype(np.float32),
                         [[], words[:1], words[1:3], words[3:], ["w:unseen"]])
    merged = merge_span_models(tech, real)
    assert merged.vocab == sorted(words)
    x = merged.matrix(feats)
    np.testing.assert_allclose(merged.p_real(x), real.p_real(real.matrix(feats)), rtol=1e-4)
    np.testing.assert_allclose(merged.p_technique(x), tech.p_technique(tech.matrix(feats)),
                               rtol=1e-4, atol=1e-6)
    assert merged.calibrate(np.array([0.3])) == pytest.approx(0.5)


def test_a_base_span_model_competes_with_refits_in_fit_decoding(twelve_encoded) -> None:
    """With a base span model (adapt's case), its parts are kept where refits from a handful
    of articles score lower on the inner split; a kept technique regression is the base's,
    its biases at most shifted."""
    pytest.importorskip("sklearn")
    texts, gold, ids, encoded = twelve_encoded
    corpus = span_fit.ScoredCorpus(texts, gold, {i: sc for i, (sc, _) in encoded.items()},
                                   {i: st for i, (_, st) in encoded.items()})
    with Detector(threads=2).load() as shipped:
        base = shipped.span_model_
    assert base is not None
    config, model, _ = span_fit.fit_decoding(corpus, ids[:8], base)
    # a 14-way regression refitted on 4 articles a half names techniques worse than the
    # shipped one, fitted on 371
    assert config["technique_model"] in ("base", "shifted") and config["technique_c"] is None
    assert config["real_model"] in ("base", "refitted")
    feats, _ = corpus.gold_matrix_parts(ids[8:])
    shift = ((model.matrix(feats) @ model.tech_w.T + model.tech_b)
             - (base.matrix(feats) @ base.tech_w.T + base.tech_b))
    assert np.ptp(shift, axis=0).max() < 1e-3  # the same for every span: a bias shift
    assert (np.abs(shift).max() < 1e-3) == (config["technique_model"] == "base")
    # without a base, the config says nothing of kept parts (the shipped fit's config.json)
    config, _, _ = span_fit.fit_decoding(corpus, ids[:8])
    assert "technique_model" not in config and config["technique_c"] in span_fit.TECH_C


def test_a_technique_shift_moves_the_prior_towards_the_labels() -> None:
    pytest.importorskip("scipy")
    logits = np.zeros((40, len(TECHNIQUE_NAMES)))
    logits[:, 0] = 1.0  # the base prefers technique 0 everywhere
    labels = np.full(40, 5)
    shift = span_fit._fit_shift(logits, labels)
    assert (logits + shift).argmax(axis=1).tolist() == [5] * 40
    agreeing = span_fit._fit_shift(logits, logits.argmax(axis=1))
    assert (logits + agreeing).argmax(axis=1).tolist() == [0] * 40


def test_too_few_annotated_articles_is_a_clear_error_not_a_solver_traceback(
        twelve_encoded) -> None:
    """Two articles whose gold holds a single technique cannot fit the technique regression:
    the user gets a ConfigError (one line in the CLI), not scikit-learn's message."""
    pytest.importorskip("sklearn")
    from propscan.errors import ConfigError

    texts, gold, ids, encoded = twelve_encoded
    one_technique = [row for row in gold if row[0] in ids[:2]][:1]
    corpus = span_fit.ScoredCorpus(texts, one_technique, {i: sc for i, (sc, _) in encoded.items()},
                              {i: st for i, (_, st) in encoded.items()})
    with pytest.raises(ConfigError, match="too little data to fit the span model"):
        span_fit.fit_decoding(corpus, ids[:2])


def test_cross_fitted_figures_do_not_depend_on_the_number_of_workers(twelve_encoded) -> None:
    """Folds fitted in forked workers give exactly the figures of fitting them in turn."""
    pytest.importorskip("sklearn")

    texts, gold, ids, encoded = twelve_encoded
    corpus = span_fit.ScoredCorpus(texts, gold, {i: sc for i, (sc, _) in encoded.items()},
                              {i: st for i, (_, st) in encoded.items()})
    fold_of = {aid: n % 2 for n, aid in enumerate(ids)}
    serial = crossfit.cross_fitted_figures(corpus, fold_of, workers=1)
    parallel = crossfit.cross_fitted_figures(corpus, fold_of, workers=2)
    assert [f["fold"] for f in parallel["folds"]] == [0, 1]
    assert parallel == serial
    assert serial["pooled"]["si"]["n_pred"] > 0
    table = format_cross_validation(serial).splitlines()
    assert table[2].split()[:2] == ["0", str(sum(f == 0 for f in fold_of.values()))]
    assert f"F1 {serial['pooled']['si']['f1']:.4f}" in table[5]


def _two_folds_trained_elsewhere(cv_dir: Path, ids: list[str], encoded: dict) -> None:
    """Fold directories holding only split.json, beside out-of-fold caches of ``encoded``."""


    for k in (0, 1):
        (cv_dir / f"fold{k}").mkdir()
        (cv_dir / f"fold{k}" / "split.json").write_text(
            json.dumps({"test": ids[k::2], "fit": ids[1 - k::2]}))
    oof.save_oof(cv_dir, {i: sc for i, (sc, _) in encoded.items()},
                      {i: st for i, (_, st) in encoded.items()})


def test_crossfit_command_fits_folds_trained_elsewhere_from_their_caches(
        ptc_articles: Path, twelve_encoded, tmp_path: Path) -> None:
    """Fold directories holding only split.json, beside the out-of-fold caches (folds
    trained on another machine), are enough for the cross-fitted figures."""
    pytest.importorskip("propscan.train.crossfit")

    _, _, ids, encoded = twelve_encoded
    _two_folds_trained_elsewhere(tmp_path, ids, encoded)
    # the PTC directory holds the labels beside train-articles/
    proc = subprocess.run([sys.executable, "-m", "propscan.train.crossfit", str(tmp_path),
                           "--data", str(ptc_articles.parent), "--threads", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:4]] == ["0", "1"]
    figures = json.loads((tmp_path / "crossfit.json").read_text())
    assert f"F1 {figures['pooled']['si']['f1']:.4f}" in proc.stdout


def test_cross_fitted_si_predictions_are_those_behind_the_figures(
        ptc_articles: Path, twelve_encoded, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from propscan.evaluate import si_scores

    _, _, ids, encoded = twelve_encoded
    _two_folds_trained_elsewhere(tmp_path, ids, encoded)
    pred, gold = crossfit.cross_fitted_si_predictions(tmp_path, ptc_articles.parent, workers=1)
    figures = crossfit.run(tmp_path, ptc_articles.parent, threads=1)
    assert pred and {a for a, _, _ in pred} <= set(ids)
    assert si_scores(pred, gold) == figures["pooled"]["si"]


def test_crossfit_command_without_folds_is_a_one_line_error(ptc_articles: Path,
                                                            tmp_path: Path) -> None:
    pytest.importorskip("propscan.train.crossfit")
    proc = subprocess.run([sys.executable, "-m", "propscan.train.crossfit", str(tmp_path),
                           "--data", str(ptc_articles.parent)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert proc.stderr == f"error: no cross-validation folds (fold*/split.json) in {tmp_path}\n"


def test_model_versions_differ_for_different_models_or_decodings_on_one_day(
        tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    versions = []
    for name, content in (("a", b"one graph"), ("b", b"another graph")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.onnx").write_bytes(content)
        versions.append(install.model_version(tmp_path / name))
    assert versions[0] != versions[1]
    assert all(re.fullmatch(r"\d{4}\.\d{2}\.\d{2}\+[0-9a-f]{8}", v) for v in versions)
    assert versions[0] == install.model_version(tmp_path / "a")  # content, not time of call
    # the same tagger with another decoding is another model too
    decoding = {"threshold": 0.3, "switch_penalty": 0.0}
    with_decoding = install.model_version(tmp_path / "a", decoding)
    assert with_decoding != versions[0]
    assert install.model_version(tmp_path / "a", {**decoding, "switch_penalty": 0.3}) \
        != with_decoding


def test_a_fold_model_is_the_last_exported_stage(tmp_path: Path) -> None:
    """Stage 1 of a two-stage run is not exported: the fold's model is the joint stage's."""
    pytest.importorskip("sklearn")
    for stage in ("epoch3", "joint/epoch2"):
        (tmp_path / stage).mkdir(parents=True)
        (tmp_path / stage / "DONE").write_text("ok")
    with pytest.raises(FileNotFoundError, match="no finished model"):
        oof.exported_fold_model(tmp_path)  # finished, but nothing exported yet
    (tmp_path / "joint/epoch2/model.onnx").write_bytes(b"onnx")
    assert oof.exported_fold_model(tmp_path) == tmp_path / "joint/epoch2"


def test_reasons_never_cite_a_function_word() -> None:
    model = _toy_model(["p:was"])  # the toy weights push "p:was" hard towards Name calling
    x = model.matrix(span_features(TEXT, _scores(len(TEXT)), [_span("FARCE")]))
    assert x[0, len(DENSE_NAMES)] == 1.0
    assert model.strongest_word(x[0], TECHNIQUE_NAMES.index("Name_Calling,Labeling")) is None


def test_span_head_columns_pool_the_token_states() -> None:
    """Head features average the fragment tokens' share and the context tokens' share."""
    from propscan.detect.span_model import SPAN_CONTEXT_TOKENS, TokenStates

    text = "aa bb cc dd"
    offsets = np.array([[0, 2], [3, 5], [6, 8], [9, 11]])
    proj = np.zeros((4, 2 * len(TECHNIQUE_NAMES)), np.float32)
    proj[1, 0], proj[2, 0] = 2.0, 4.0  # fragment tokens "bb cc": technique 0 logit 3 on average
    proj[0, len(TECHNIQUE_NAMES) + 1] = 6.0  # context tokens "aa", "dd": technique 1 logit 3
    assert SPAN_CONTEXT_TOKENS >= 1
    feats = span_features(text, _scores(len(text)), [(3, 8)], TokenStates(offsets, proj))
    head = feats.dense[0, DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}"):]
    logits = np.zeros(len(TECHNIQUE_NAMES))
    logits[0], logits[1] = 3.0, 3.0
    np.testing.assert_allclose(head, logits - np.log(np.exp(logits).sum()), atol=1e-5)
    without = span_features(text, _scores(len(text)), [(3, 8)])
    assert not without.dense[0, DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}"):].any()


def _repetition_count_directly(text: str, start: int, end: int) -> int:
    """The definition, normalising the whole article for each fragment (slow)."""
    from propscan.detect.span_model import normalise_words

    needle = normalise_words(text[start:end])
    if len(needle) < 4:
        return 0
    rest = " " + normalise_words(text[:start]) + " | " + normalise_words(text[end:]) + " "
    return rest.count(f" {needle} ")


def test_repetition_count_on_a_normalised_article_matches_the_definition(
        ptc_articles: Path) -> None:
    import random

    from propscan.detect.span_model import NormalisedText

    rng = random.Random(7)
    texts = [p.read_text(encoding="utf-8") for p in sorted(ptc_articles.glob("*.txt"))[:15]]
    texts.append("İstanbul_said it: LIES, lies and lies! İstanbul said it.")  # lower() grows
    checked = repeated = 0
    for text in texts:
        normalised = NormalisedText(text)
        for _ in range(150):
            start = rng.randrange(len(text))
            end = min(len(text), start + rng.randrange(1, 40))
            got = repetition_count(text, start, end, normalised)
            assert got == _repetition_count_directly(text, start, end), (text[start:end],)
            checked += 1
            repeated += got > 0
    assert checked == 16 * 150 and repeated > 20  # the comparison saw real repetitions
