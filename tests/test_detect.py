"""The shipped detector: valid spans on a real article, decoding rules, no torch at inference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from propscan.detect import (
    DEFAULT_MODEL_DIR,
    DecodingConfig,
    Detector,
    candidate_spans,
    open_session,
    session_options,
)
from propscan.detect.span_model import DENSE_NAMES, SpanModel
from propscan.doc import Article
from propscan.errors import ConfigError, ModelError
from propscan.offsets import OffsetMap
from propscan.techniques import TECHNIQUE_NAMES


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(threads=2).load()


@pytest.fixture(scope="module")
def example_text(shared_example: Path) -> str:
    with open(shared_example, encoding="utf-8", newline="") as fh:
        return fh.read()


def test_detect_text_gives_valid_spans_on_a_real_article(detector: Detector,
                                                         example_text: str) -> None:
    fragments = detector.detect_text(example_text)
    assert fragments, "a propagandistic article should yield at least one fragment"
    for found in fragments:
        start, end, technique = found.start, found.end, found.technique
        confidence, reason = found.confidence, found.reason
        assert 0 <= start < end <= len(example_text)
        fragment = example_text[start:end]
        assert found.text == fragment
        assert fragment == fragment.strip() and any(ch.isalnum() for ch in fragment)
        assert technique in TECHNIQUE_NAMES
        assert 0.0 < confidence <= 1.0
        assert reason and "Cue:" in reason


def test_detect_sets_article_spans_whose_text_matches(detector: Detector,
                                                      example_text: str) -> None:
    article = Article(text=example_text, clean_text=example_text,
                      offset_map=OffsetMap.identity(len(example_text)))
    detector.detect([article])
    assert article.spans
    for span in article.spans:
        assert article.text[span.start:span.end] == span.text


def test_an_article_gets_the_same_fragments_alone_and_in_a_corpus(detector: Detector,
                                                                   example_text: str) -> None:
    # int8 activations are quantised with one scale per inference call: windows batched
    # together would change each other's scores, and the web view would disagree with a batch
    # report on the same article
    other = (Path(__file__).resolve().parents[1] / "src" / "propscan" / "examples"
             / "invented_article.txt").read_text(encoding="utf-8")
    together = detector.detect_texts([other, example_text, other * 3])
    assert together[1] == detector.detect_text(example_text)
    assert together[0] == detector.detect_text(other)
    alone = detector.predict([example_text])[0]
    assert np.array_equal(detector.predict([other * 2, example_text])[1], alone)
    serial = Detector(threads=1).load()
    assert serial.detect_text(example_text) == together[1]  # worker threads change nothing


def test_detector_threads_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="threads"):
        Detector(threads=0)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_default_threads_follow_the_cores_this_process_may_use() -> None:
    # a container's CPU set is smaller than the host's count: the default must follow the set
    code = ("import os; from propscan.detect import available_cores; "
            "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "print(available_cores(), os.cpu_count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    usable, host = map(int, done.stdout.split())
    assert usable == 1 and host >= 1


def test_predict_scores_every_character(detector: Detector) -> None:
    text = "They are traitors and cowards.  Everyone knows it!"
    (scores,) = detector.predict([text])
    assert scores.shape == (len(text), 1 + len(TECHNIQUE_NAMES))
    assert np.all((scores >= 0) & (scores <= 1))
    assert detector.predict([""])[0].shape == (0, 15)


def test_classify_labels_every_span(detector: Detector, example_text: str) -> None:
    spans = [(0, 10), (100, 160)]
    labels = detector.classify(example_text, spans)
    assert len(labels) == 2 and all(label in TECHNIQUE_NAMES for label in labels)
    with pytest.raises(ConfigError):
        detector.classify(example_text, [(5, len(example_text) + 1)])


def test_decode_snaps_to_words_and_merges_small_gaps() -> None:
    det = Detector(threshold=0.5)
    text = "The evil regime lies again today."
    scores = np.zeros((len(text), 15), np.float32)
    scores[5:9, 0] = 0.9  # "vil " -> grows to "evil"
    scores[11:15, 0] = 0.9  # "gime": gap of 2 chars merges, grows to "regime"
    scores[:, 1 + TECHNIQUE_NAMES.index("Loaded_Language")] = 0.7
    (fragment,) = det.decode(text, scores)
    assert fragment.text == text[fragment.start:fragment.end] == "evil regime"
    assert fragment.technique == "Loaded_Language"
    assert 0 < fragment.confidence < 1


def test_decode_drops_fragments_below_threshold_and_tiny_ones() -> None:
    det = Detector(threshold=0.5)
    text = "a . b"
    scores = np.full((len(text), 15), 0.4, np.float32)
    assert det.decode(text, scores) == []
    scores[:, 0] = 0.9
    assert det.decode(".  ", scores[:3]) == []  # no word characters
    assert det.decode("ab", scores[:2]) == []  # shorter than min_chars


def _word_scores(text: str, p_by_word: dict[str, float]) -> np.ndarray:
    """Per-character scores giving each listed word its p(inside), 0.01 elsewhere."""
    scores = np.full((len(text), 15), 0.01, np.float32)
    for word, p in p_by_word.items():
        at = text.index(word)
        scores[at:at + len(word), 0] = p
    return scores


def test_viterbi_keeps_a_fragment_whole_across_a_weak_word() -> None:
    text = "they lie to us"
    scores = _word_scores(text, {"they": 0.9, "lie": 0.4, "to": 0.9})
    # threshold 0.5 makes a word's evidence logit(p): 2.197, -0.405, 2.197. One fragment:
    # 2.197 - 0.405 + 2.197 - 2 x penalty; two: 2 x 2.197 - 4 x penalty. With penalty 1 one
    # fragment wins (1.989 > 0.394); with 0.1 two do (3.994 > 3.789).
    assert candidate_spans(text, scores, 0.5, 0, 3, switch_penalty=1.0) == [(0, 11)]  # they lie to
    assert candidate_spans(text, scores, 0.5, 0, 1, switch_penalty=0.1) == [(0, 4), (9, 11)]
    # thresholding without gap joining splits it too
    assert candidate_spans(text, scores, 0.5, 0, 1) == [(0, 4), (9, 11)]


def test_viterbi_drops_a_lone_word_with_too_little_evidence() -> None:
    text = "a clearly fine sentence"
    scores = _word_scores(text, {"clearly": 0.6})  # evidence logit(0.6) = 0.405
    assert candidate_spans(text, scores, 0.5, 0, 3, switch_penalty=0.3) == []  # costs 0.6
    assert candidate_spans(text, scores, 0.5, 0, 3, switch_penalty=0.1) == [(2, 9)]
    assert candidate_spans(text, scores, 0.5, 0, 3) == [(2, 9)]


def test_viterbi_fragments_stay_on_one_line_and_drop_edge_punctuation() -> None:
    text = 'so-called "heroes",\nwho lie.'
    scores = np.full((len(text), 15), 0.95, np.float32)
    spans = candidate_spans(text, scores, 0.5, 0, 3, switch_penalty=0.5)
    assert [text[s:e] for s, e in spans] == ['so-called "heroes"', "who lie"]


def test_detector_decodes_with_the_configured_switch_penalty() -> None:
    det = Detector(threshold=0.5)
    text = "a clearly fine sentence"
    scores = _word_scores(text, {"clearly": 0.6})
    assert len(det.decode(text, scores)) == 1
    det = Detector(decoding=DecodingConfig(threshold=0.5, switch_penalty=0.3))
    assert det.decode(text, scores) == []


def test_repeated_phrase_is_classified_as_repetition() -> None:
    det = Detector(threshold=0.5)
    text = "Make it great again. They said it. Make it great again!"
    scores = np.zeros((len(text), 15), np.float32)
    scores[:, 1 + TECHNIQUE_NAMES.index("Slogans")] = 0.8
    second = text.rindex("Make")
    labels = det.classify(text, [(second, second + len("Make it great again")), (21, 25)],
                          scores=scores)
    assert labels == ["Repetition", "Slogans"]


def test_missing_model_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file missing"):
        Detector(tmp_path).load()


def test_span_model_from_another_version_is_a_model_error(tmp_path: Path) -> None:
    import shutil

    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(DEFAULT_MODEL_DIR / name, tmp_path / name)
    shipped = SpanModel.load(DEFAULT_MODEL_DIR / "span_model.npz")
    shipped.dense_mean, shipped.dense_std = shipped.dense_mean[:-1], shipped.dense_std[:-1]
    shipped.save(tmp_path / "span_model.npz")
    with pytest.raises(ModelError, match="span features"):
        Detector(tmp_path).load()


def test_shipped_tagger_outputs_span_head_states(detector: Detector) -> None:
    text = "The so-called experts keep lying to you."
    ((scores, states),) = detector.encode([text])
    assert states is not None and len(states.offsets) == len(states.proj) > 5
    assert states.proj.shape[1] == 2 * len(TECHNIQUE_NAMES)
    # the shipped span model leans on the head: its technique weights there are not zero
    head = slice(DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}"), len(DENSE_NAMES))
    assert np.abs(detector.span_model_.tech_w[:, head]).sum() > 0


def test_threshold_out_of_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Detector(threshold=1.5)


def test_shipped_model_is_small_and_described() -> None:
    total = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir() if p.is_file())
    assert total <= 40 * 1024 * 1024
    info = Detector().load().info
    assert info["name"] and 0 < info["threshold"] < 1 and info["switch_penalty"] >= 0
    assert {"si_f1", "tc_micro_f1", "ece"} <= set(info["metrics"]["mean_std"])


def test_detector_session_keeps_layer_norm_unfused(tmp_path: Path) -> None:
    # the shipped graph has plain LayerNormalization (faster on CPU than onnxruntime's fused
    # SkipLayerNormalization), and the detector's session must not fuse it back at load
    pytest.importorskip("onnx")  # the train extra; inference itself does not need it
    from propscan.train.onnx_export import op_counts

    assert op_counts(DEFAULT_MODEL_DIR / "model.onnx")["SkipLayerNormalization"] == 0
    options = session_options()
    options.optimized_model_filepath = str(tmp_path / "loaded.onnx")
    open_session(DEFAULT_MODEL_DIR / "model.onnx", options)
    loaded = op_counts(tmp_path / "loaded.onnx")
    assert loaded["SkipLayerNormalization"] == 0
    assert loaded["LayerNormalization"] == 12  # two per layer, six layers
    assert loaded["QAttention"] == 6  # the other fusions stay


def test_inference_does_not_import_torch() -> None:
    code = textwrap.dedent("""
        import sys
        import propscan
        from propscan.detect import Detector
        det = Detector(threads=1).load()
        det.detect_text("The corrupt elites want you to be afraid. Wake up, America!")
        assert "torch" not in sys.modules, "torch was imported"
        assert "transformers" not in sys.modules, "transformers was imported"
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_score_article_counts_spans_and_coverage() -> None:
    from propscan.detect.scoring import score_article
    from propscan.doc import Finding

    text = "one two three four five six seven eight nine ten"  # 10 words, 48 chars
    article = Article(text=text, clean_text=text, offset_map=OffsetMap.identity(len(text)))
    article.spans = [Finding(0, 7, "Doubt", 0.9, text[0:7]),
                     Finding(4, 13, "Slogans", 0.8, text[4:13])]  # overlap [4,7) counted once
    scores = score_article(article)
    assert scores["overall"]["spans"] == 2
    assert scores["overall"]["words"] == 10
    assert scores["overall"]["per_1000_words"] == pytest.approx(200.0)
    assert scores["overall"]["coverage"] == pytest.approx(round(13 / len(text), 4))
    assert set(scores["techniques"]) == {"Doubt", "Slogans"}
    assert scores["overall"]["short_text"] is True  # 10 words: one span moves the rate by 100
    for ref in scores["percentiles"].values():
        assert 0.0 <= ref["overall"]["coverage"] <= 100.0


def test_short_text_note_only_under_the_word_limit() -> None:
    from propscan.detect.scoring import SHORT_TEXT_WORDS, score_article
    from propscan.report.wording import short_text_note

    assert "100.0 per 1,000 words" in short_text_note(10)
    assert short_text_note(0).startswith("No words")
    assert short_text_note(SHORT_TEXT_WORDS - 1) is not None
    assert short_text_note(SHORT_TEXT_WORDS) is None
    text = " ".join(["word"] * SHORT_TEXT_WORDS)
    article = Article(text=text, clean_text=text, offset_map=OffsetMap.identity(len(text)))
    assert score_article(article)["overall"]["short_text"] is False


def test_phrase_repetition_rule_ignores_single_repeated_words() -> None:
    det = Detector(decoding=DecodingConfig(threshold=0.5, repetition_rule="phrase"))
    text = "Traitors everywhere. The traitors won. Stop the steal! We say: stop the steal."
    scores = np.zeros((len(text), 15), np.float32)
    scores[:, 1 + TECHNIQUE_NAMES.index("Name_Calling,Labeling")] = 0.8
    word = text.index("traitors")
    phrase = text.rindex("stop the steal")
    labels = det.classify(text, [(word, word + 8), (phrase, phrase + 14)], scores=scores)
    assert labels == ["Name_Calling,Labeling", "Repetition"]


def test_shipped_model_beats_floors_on_ptc_articles(detector: Detector, ptc_dir: Path) -> None:
    """A gate against a broken export or decoder, not a quality figure: the shipped model was
    trained on every PTC article (cross-validated figures are in metrics.json)."""
    from propscan.evaluate import evaluate
    from propscan.evaluate.ptc import read_articles

    ptc = ptc_dir
    ids = sorted(read_articles(ptc / "train-articles"))[:10]
    result = evaluate(ptc, detector, ids=ids)
    assert result["articles"] == 10
    assert result["si"]["f1"] > 0.3
    assert result["tc"]["micro_f1"] > 0.4


def test_percentile_is_mid_rank_so_ties_sit_in_the_middle() -> None:
    from propscan.detect.scoring import _percentile

    reference = [0.0] * 80 + [1.0, 2.0, 3.0, 4.0] * 5
    assert _percentile(reference, 0.0) == 40.0  # an absent technique is not "top of the corpus"
    assert _percentile(reference, 10.0) == 100.0
    assert _percentile(reference, -1.0) == 0.0


def test_window_outputs_are_averaged_per_token_where_windows_overlap() -> None:
    from propscan.detect.windows import average_over_windows

    def run(input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        # output 0: the token id itself (alignment); output 1: position in the window
        positions = np.broadcast_to(np.arange(input_ids.shape[1]), input_ids.shape)
        return [input_ids[..., None].astype(np.float32),
                np.repeat(positions[..., None], 2, axis=2).astype(np.float32)]

    long_ids, short_ids = np.arange(1000, 1600), np.arange(5000, 5010)
    (long_out, short_out, empty_out) = average_over_windows(
        [long_ids, short_ids, np.zeros(0, np.int64)], run, 101, 102, (1, 2), stride=192,
        batch_size=2)
    assert np.array_equal(long_out[0][:, 0], long_ids)  # every token lands at its own place
    assert np.array_equal(short_out[0][:, 0], short_ids)
    # windows of 254 content tokens start at 0, 192, 384: token 10 is in the first only
    # (position 11 after [CLS]), token 200 in the first two (positions 201 and 9)
    assert long_out[1][10].tolist() == [11.0, 11.0]
    assert long_out[1][200].tolist() == [105.0, 105.0]
    assert [a.shape for a in empty_out] == [(0, 1), (0, 2)]


@pytest.fixture()
def model_copy(tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "model"))


def _cut_short(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.mark.parametrize("name, damage", [
    ("config.json", lambda p: _cut_short(p)),
    ("config.json", lambda p: p.write_text('{"threshold": "high", "min_chars": 3}')),
    ("config.json", lambda p: p.write_text('["not", "an", "object"]')),
    ("span_model.npz", lambda p: _cut_short(p)),
    ("span_model.npz", lambda p: _cut_short(p, 0.98)),  # the zip directory at the end lost
    ("span_model.npz", lambda p: p.write_bytes(b"")),
    ("metrics.json", lambda p: _cut_short(p)),
])
def test_damaged_model_files_are_a_model_error(model_copy: Path, name: str, damage) -> None:
    damage(model_copy / name)
    with pytest.raises(ModelError, match=name.replace(".", r"\.")):
        Detector(model_copy, threads=1).load()


def test_detector_closes_its_threads_and_session() -> None:
    with Detector(threads=2).load() as det:
        assert det.pool_ is not None and det.session_ is not None
        assert det.detect_text("They are traitors and cowards, all of them.") is not None
    assert det.pool_ is None and det.session_ is None
    det.close()  # twice is fine
    assert det.load().session_ is not None  # and it loads again
    det.close()


def test_given_decoding_settings_win_over_config_json() -> None:
    given = DecodingConfig(threshold=0.3, switch_penalty=0.0)
    det = Detector(decoding=given).load()
    assert det.decoding is given and det.info["switch_penalty"] == 0.0
    shipped = Detector().load()
    assert shipped.decoding == DecodingConfig.from_dict(
        json.loads((DEFAULT_MODEL_DIR / "config.json").read_text()))
    assert shipped.info["name"] == "propscan-minilm-tagger"
    det.close()
    shipped.close()
