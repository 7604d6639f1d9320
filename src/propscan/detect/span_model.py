"""Second stage of detection: rescore and label candidate fragments (numpy only).

The token tagger gives per-character scores; thresholding them yields candidate fragments.
:class:`SpanModel` looks at each candidate as a whole, the way the published PTC systems' span
classifiers do: the tagger's scores over the span and around it, structural cues the uncased
encoder cannot see (capitals, scare quotes, repetition within the article, punctuation) and the
words of the span and the two words before it. Two logistic regressions read those features:

* ``p_real``: is this candidate a propaganda fragment at all? (drops false alarms, SI precision)
* ``p_technique``: which of the 14 techniques is it? (the PTC TC task)

The confidence shown to users is ``p_real * max(p_technique)`` mapped through an isotonic
calibration fitted on held-out cross-validation folds, so "0.7" means that about 70% of such
fragments overlapped a human-annotated fragment of that technique in articles the model had not
seen. Weights are fitted by :mod:`propscan.train.crossfit` (scikit-learn) and stored in
``span_model.npz``; applying them needs numpy alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["SpanModel", "SpanFeatures", "span_features", "DENSE_NAMES", "lexical_tokens",
           "repetition_count", "is_quoted", "normalise_words"]

_N_TECH = len(TECHNIQUE_NAMES)
_WORD = re.compile(r"\w+(?:[-']\w+)*")
_NON_WORD = re.compile(r"[\W_]+")
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»"}
_CONTEXT_CHARS = 40
# the model may lean on these, but as a reason shown to a reader they explain nothing
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "of", "to", "in",
    "on", "at", "by", "for", "with", "from", "as", "and", "or", "but", "that", "this", "these",
    "those", "it", "its", "he", "she", "they", "we", "you", "i", "his", "her", "their", "our",
    "your", "has", "have", "had", "do", "does", "did", "will", "would", "can", "could", "should",
    "may", "might",
})

#: names of the dense features, in column order (used for reasons and the model card)
DENSE_NAMES: tuple[str, ...] = (
    "p_inside_mean", "p_inside_max", "p_inside_min", "p_inside_context", "log_chars",
    "log_words", "position", "scare_quotes", "repeated", "log_repeats", "exclamation",
    "question", "capitalised_share", "all_caps_word", "sentence_start",
    *(f"tech_mean:{t}" for t in TECHNIQUE_NAMES),
    *(f"tech_log:{t}" for t in TECHNIQUE_NAMES),
)


@dataclass
class SpanFeatures:
    dense: np.ndarray  # (n, len(DENSE_NAMES)) float32
    tokens: list[list[str]]  # lexical tokens per span ("w:word", "p:word")


def normalise_words(fragment: str) -> str:
    """Lowercased words joined by single spaces (how repetition is matched)."""
    return _NON_WORD.sub(" ", fragment.lower()).strip()


def repetition_count(text: str, start: int, end: int) -> int:
    """How often the fragment's words occur elsewhere in the text (0: not repeated)."""
    needle = normalise_words(text[start:end])
    if len(needle) < 4:
        return 0
    rest = " " + normalise_words(text[:start]) + " | " + normalise_words(text[end:]) + " "
    return rest.count(f" {needle} ")


def is_quoted(text: str, start: int, end: int) -> bool:
    """Scare quotes: the fragment is short and wrapped in (or made of) quotation marks."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    inner = text[start:end]
    if inner[:1] in _QUOTES and inner[-1:] == _QUOTES[inner[:1]] and len(inner) < 40:
        return True
    return before in _QUOTES and after == _QUOTES[before] and end - start < 40


def lexical_tokens(text: str, start: int, end: int) -> list[str]:
    """The span's lowercased words ("w:") and the two words before it ("p:")."""
    words = {"w:" + w.lower() for w in _WORD.findall(text[start:end])}
    before = _WORD.findall(text[max(0, start - 60):start])[-2:]
    words.update("p:" + w.lower() for w in before)
    return sorted(words)


def span_features(text: str, scores: np.ndarray,
                  spans: list[tuple[int, int]]) -> SpanFeatures:
    """Features of each (start, end) span of ``text`` given the tagger's per-char ``scores``."""
    rows = np.zeros((len(spans), len(DENSE_NAMES)), np.float32)
    tokens = []
    n = max(len(text), 1)
    for i, (start, end) in enumerate(spans):
        inside = scores[start:end, 0]
        ctx = np.concatenate([scores[max(0, start - _CONTEXT_CHARS):start, 0],
                              scores[end:end + _CONTEXT_CHARS, 0]])
        fragment = text[start:end]
        words = _WORD.findall(fragment)
        repeats = repetition_count(text, start, end)
        tech = scores[start:end, 1:].mean(axis=0)
        head = text[max(0, start - 3):start].strip()
        rows[i, :15] = (
            inside.mean(), inside.max(), inside.min(), ctx.mean() if len(ctx) else 0.0,
            np.log1p(end - start), np.log1p(len(words)), start / n,
            is_quoted(text, start, end), repeats > 0, np.log1p(repeats),
            "!" in fragment or text[end:end + 1] == "!",
            "?" in fragment or text[end:end + 1] == "?",
            sum(w[:1].isupper() for w in words) / max(len(words), 1),
            any(len(w) > 2 and w.isupper() for w in words),
            start == 0 or head == "" or head[-1:] in ".!?\n",
        )
        rows[i, 15:15 + _N_TECH] = tech
        rows[i, 15 + _N_TECH:] = np.log(tech + 1e-3)
        tokens.append(lexical_tokens(text, start, end))
    return SpanFeatures(rows, tokens)


class SpanModel:
    """Fitted weights of the two logistic regressions and the calibration curve."""

    def __init__(self, vocab: list[str], dense_mean: np.ndarray, dense_std: np.ndarray,
                 real_w: np.ndarray, real_b: float, tech_w: np.ndarray, tech_b: np.ndarray,
                 calib_x: np.ndarray, calib_y: np.ndarray) -> None:
        self.vocab = list(vocab)
        self.index = {t: i for i, t in enumerate(self.vocab)}
        self.dense_mean, self.dense_std = dense_mean, dense_std
        self.real_w, self.real_b = real_w, float(real_b)
        self.tech_w, self.tech_b = tech_w, tech_b
        self.calib_x, self.calib_y = calib_x, calib_y

    # ---- persistence ---------------------------------------------------------------------
    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, vocab=np.asarray(self.vocab, dtype=str), dense_mean=self.dense_mean,
            dense_std=self.dense_std, real_w=self.real_w.astype(np.float32),
            real_b=np.float32(self.real_b), tech_w=self.tech_w.astype(np.float32),
            tech_b=self.tech_b.astype(np.float32), calib_x=self.calib_x, calib_y=self.calib_y)

    @classmethod
    def load(cls, path: Path) -> SpanModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["vocab"].tolist(), z["dense_mean"], z["dense_std"], z["real_w"],
                       float(z["real_b"]), z["tech_w"], z["tech_b"], z["calib_x"], z["calib_y"])

    # ---- features ------------------------------------------------------------------------
    def matrix(self, feats: SpanFeatures) -> np.ndarray:
        """Standardised dense features followed by binary lexical indicators."""
        dense = (feats.dense - self.dense_mean) / self.dense_std
        lex = np.zeros((len(feats.tokens), len(self.vocab)), np.float32)
        for r, toks in enumerate(feats.tokens):
            for t in toks:
                j = self.index.get(t)
                if j is not None:
                    lex[r, j] = 1.0
        return np.hstack([dense, lex]).astype(np.float32)

    # ---- prediction ----------------------------------------------------------------------
    def p_real(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.real_w + self.real_b)))

    def p_technique(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.tech_w.T + self.tech_b
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Map raw scores to calibrated probabilities (monotone, fitted on held-out folds)."""
        return np.interp(raw, self.calib_x, self.calib_y)

    def strongest_word(self, x_row: np.ndarray, technique: int) -> str | None:
        """The lexical cue that pushes hardest towards ``technique``, as reason text."""
        offset = len(DENSE_NAMES)
        present = [j for j in np.flatnonzero(x_row[offset:] > 0)
                   if self.vocab[j][2:] not in _FUNCTION_WORDS]
        if not present:
            return None
        contrib = self.tech_w[technique, offset + np.asarray(present)]
        best = int(np.argmax(contrib))
        if contrib[best] <= 0.5:  # only name a word that clearly pushed the decision
            return None
        token = self.vocab[present[best]]
        return f"word “{token[2:]}”" if token.startswith("w:") else f"follows “{token[2:]}”"
