"""The pieces of ``scripts/si_probes.py`` that decide what its figures mean."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")  # the probes need the train extra
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "si_probes.py"


@pytest.fixture(scope="module")
def probes():
    spec = importlib.util.spec_from_file_location("si_probes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_word_features_see_neighbours_on_the_same_line_only(probes) -> None:
    text = 'They "helped".\nOthers WAIT!'
    scores = np.full((len(text), 15), 0.1, np.float32)
    scores[text.index("Others"):, 0] = 0.9
    units, x = probes.word_features(text, scores)
    words = [text[s:e] for s, e in units]
    assert words == ["They", '"', "helped", '"', ".", "Others", "WAIT", "!"]
    assert x.shape[0] == len(words)
    logit = np.log(0.9 / 0.1)
    assert x[5, 0] == pytest.approx(logit, abs=1e-4)  # "Others": its own p(inside)
    next_word = 15 + probes._OFFSETS.index(1)
    assert x[4, next_word] == -6.0  # "." ends line one: "Others" is not its neighbour
    assert x[5, next_word] == pytest.approx(logit, abs=1e-4)


def test_rescored_words_fill_the_gaps_with_the_lower_neighbour(probes) -> None:
    text = "ab cd"
    scores = np.zeros((len(text), 15), np.float32)
    units, _ = probes.word_features(text, scores)
    out = probes._rescored(text, scores, units, np.array([0.8, 0.3]))
    assert out[:, 0].tolist() == pytest.approx([0.8, 0.8, 0.3, 0.3, 0.3])
    assert not np.shares_memory(out, scores)


def test_stretching_stops_at_the_line_and_the_clause(probes) -> None:
    text = "First line.\n  He said: they lie; we know it.\nNext."
    start = text.index("lie")
    assert text[slice(*probes._line(text, start, start + 3))] == "He said: they lie; we know it."
    assert text[slice(*probes._clause(text, start, start + 3))] == "they lie"
