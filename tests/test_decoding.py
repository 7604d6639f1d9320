"""Decoding settings (DecodingConfig) and fragments that keep words joined by ’ ' and - whole."""

from __future__ import annotations

import numpy as np
import pytest

from propscan.detect import DecodingConfig, Detector, candidate_spans
from propscan.errors import ConfigError
from propscan.techniques import TECHNIQUE_NAMES


def _scores(text: str, inside: str) -> np.ndarray:
    """p(inside) 0.9 on the first occurrence of ``inside``, 0.01 elsewhere."""
    scores = np.full((len(text), 1 + len(TECHNIQUE_NAMES)), 0.01, np.float32)
    at = text.index(inside)
    scores[at:at + len(inside), 0] = 0.9
    return scores


def _fragments(text: str, inside: str, switch_penalty: float) -> list[str]:
    spans = candidate_spans(text, _scores(text, inside), 0.5, 0, 3, switch_penalty)
    return [text[s:e] for s, e in spans]


@pytest.mark.parametrize("switch_penalty", [0.0, 0.5])  # threshold runs, Viterbi
@pytest.mark.parametrize("text, inside, expected", [
    ("the so-called “White Helmets” came", "called “White Helmets”",
     "so-called “White Helmets”"),
    ("they ate the chicken’s wings", "the chicken’", "the chicken’s"),
    ("they ate the chicken’s wings", "the chicken", "the chicken’s"),
    ("If we didn’t act now", "If we didn", "If we didn’t"),
    ("If we didn't act now", "If we didn", "If we didn't"),
    ("a pro-war crowd", "war crowd", "pro-war crowd"),
])
def test_fragment_ends_snap_across_apostrophes_and_hyphens(
        text: str, inside: str, expected: str, switch_penalty: float) -> None:
    assert _fragments(text, inside, switch_penalty) == [expected]


@pytest.mark.parametrize("switch_penalty", [0.0, 0.5])
def test_quotes_and_dashes_between_words_do_not_join(switch_penalty: float) -> None:
    # a quote mark with a space on one side, or a dash between spaced words, is no joiner
    assert _fragments("the 'elite' rule us", "elite", switch_penalty) == ["elite"]
    assert _fragments("war - total war", "total war", switch_penalty) == ["total war"]
    assert _fragments("it is 2016-17 now", "17 now", switch_penalty) == ["17 now"]


def test_two_runs_that_grow_into_one_word_become_one_fragment() -> None:
    text = "the so-called experts"
    scores = np.full((len(text), 15), 0.01, np.float32)
    scores[4:6, 0] = scores[7:13, 0] = 0.9  # "so" and "called", the hyphen below threshold
    assert candidate_spans(text, scores, 0.5, 0, 1) == [(4, 13)]


def test_decoding_config_reads_a_model_config_and_ignores_other_keys() -> None:
    config = DecodingConfig.from_dict({
        "name": "propscan-minilm-tagger", "version": "1", "base_model": "x", "technique_c": 0.1,
        "threshold": 0.2, "max_gap_chars": 0, "switch_penalty": 0.6, "min_chars": 3,
        "keep_threshold": 0, "repetition_rule": "phrase"})
    assert config == DecodingConfig(threshold=0.2, max_gap_chars=0, switch_penalty=0.6,
                                    repetition_rule="phrase")
    assert isinstance(config.keep_threshold, float)
    assert DecodingConfig.from_dict({}) == DecodingConfig()
    weighted = DecodingConfig(technique_weights=tuple(range(1, 15)))
    assert DecodingConfig.from_dict(weighted.to_dict()) == weighted
    with pytest.raises(AttributeError):
        config.threshold = 0.5  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("data", [
    {"threshold": "high"}, {"threshold": True}, {"threshold": 1.5}, {"min_chars": 2.5},
    {"switch_penalty": -1}, {"repetition_rule": "always"}, {"technique_weights": [1.0]},
    {"technique_weights": "1,2"}, [],
])
def test_decoding_config_refuses_wrong_types_and_values(data: object) -> None:
    with pytest.raises(ConfigError, match="DecodingConfig"):
        DecodingConfig.from_dict(data)  # type: ignore[arg-type]


def test_detector_decodes_with_given_settings_without_loading(tmp_path) -> None:
    # what training does: a detector on a folder that does not exist, used on given scores
    det = Detector(tmp_path / "nonexistent", decoding=DecodingConfig(threshold=0.5))
    text = "the so-called experts lie"
    (found,) = det.decode(text, _scores(text, "called experts"))
    assert found.text == "so-called experts" and det.session_ is None
    assert det.decoding.threshold == 0.5 and det.info["threshold"] == 0.5
