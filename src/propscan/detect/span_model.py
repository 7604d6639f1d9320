"""Second stage of detection: rescore and label candidate fragments (numpy only).

The token tagger gives per-character scores; thresholding them yields candidate fragments.
:class:`SpanModel` looks at each candidate as a whole, the way the published PTC systems' span
classifiers do: the tagger's scores over the span and around it, the tagger's own span
classifier (a head trained on the mean hidden state of a fragment's tokens and of the tokens
around it, see :func:`span_head_log_probs`), structural cues the uncased encoder cannot see
(capitals, scare quotes, repetition within the article, punctuation) and the words of the span
and the two words before it. Two logistic regressions read those features:

* ``p_real``: is this candidate a propaganda fragment at all? (drops false alarms, SI precision)
* ``p_technique``: which of the 14 techniques is it? (the PTC TC task)

The confidence shown to users is ``p_real * max(p_technique)`` mapped through an isotonic
calibration fitted on held-out cross-validation folds, so "0.7" means that about 70% of such
fragments overlapped a human-annotated fragment of that technique in articles the model had not
seen. Weights are fitted by :mod:`propscan.train.crossfit` (scikit-learn) and stored in
``span_model.npz``; applying them needs numpy alone.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from propscan.detect.windows import token_range
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["SpanModel", "merge_span_models", "SpanFeatures", "TokenStates", "span_features",
           "span_head_log_probs", "DENSE_NAMES", "lexical_tokens", "repetition_count",
           "NormalisedText", "is_quoted", "normalise_words", "SPAN_CONTEXT_TOKENS"]

_N_TECH = len(TECHNIQUE_NAMES)
_WORD = re.compile(r"\w+(?:[-']\w+)*")
_NON_WORD = re.compile(r"[\W_]+")
_WORD_RUN = re.compile(r"[^\W_]+")  # what survives normalise_words
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»"}
_CONTEXT_CHARS = 40
#: tokens each side of a fragment that make its context for the span head (training and
#: inference must agree on it)
SPAN_CONTEXT_TOKENS = 32
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
    *(f"head:{t}" for t in TECHNIQUE_NAMES),
)
_HEAD = DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}")


@dataclass
class TokenStates:
    """Per-token span-head projections from the tagger, with the tokens' character offsets.

    The span head is linear in the mean hidden state of a fragment's tokens and of its context
    tokens, so the tagger outputs each token's share instead of its 384-wide hidden state:
    ``proj[:, :14]`` (fragment part, bias included) and ``proj[:, 14:]`` (context part).
    """

    offsets: np.ndarray  # (n_tokens, 2) start, end
    proj: np.ndarray  # (n_tokens, 28)


@dataclass
class SpanFeatures:
    dense: np.ndarray  # (n, len(DENSE_NAMES)) float32
    tokens: list[list[str]]  # lexical tokens per span ("w:word", "p:word")


def normalise_words(fragment: str) -> str:
    """Lowercased words joined by single spaces (how repetition is matched)."""
    return _NON_WORD.sub(" ", fragment.lower()).strip()


class NormalisedText:
    """A text's words, lowercased and joined once, so that many fragments of one article can be
    looked up for repetition without normalising the whole article again for each."""

    def __init__(self, text: str) -> None:
        self.text = text
        lowered = text.lower()
        # lowercasing first, as normalise_words does; where it changes the length (a few
        # non-ASCII letters) offsets would shift, so such texts take the direct path
        self.exact = len(lowered) == len(text)
        runs = list(_WORD_RUN.finditer(lowered)) if self.exact else []
        self.lowered = lowered
        self.starts = [m.start() for m in runs]
        self.ends = [m.end() for m in runs]
        self.joined = " ".join(m.group() for m in runs)
        self.pos, at = [], 0  # where each word starts in ``joined``
        for m in runs:
            self.pos.append(at)
            at += m.end() - m.start() + 1

    def before(self, offset: int) -> str:
        """``normalise_words(text[:offset])``."""
        if not self.exact:
            return normalise_words(self.text[:offset])
        n = bisect.bisect_right(self.ends, offset)  # words ending at or before offset
        head = self.joined[:self.pos[n - 1] + self.ends[n - 1] - self.starts[n - 1]] if n else ""
        if n < len(self.starts) and self.starts[n] < offset:  # a word cut by offset
            part = self.lowered[self.starts[n]:offset]
            head = f"{head} {part}" if head else part
        return head

    def after(self, offset: int) -> str:
        """``normalise_words(text[offset:])``."""
        if not self.exact:
            return normalise_words(self.text[offset:])
        n = bisect.bisect_left(self.starts, offset)  # first word starting at or after offset
        tail = self.joined[self.pos[n]:] if n < len(self.starts) else ""
        if n > 0 and self.ends[n - 1] > offset:  # a word cut by offset
            part = self.lowered[offset:self.ends[n - 1]]
            tail = f"{part} {tail}" if tail else part
        return tail


def repetition_count(text: str, start: int, end: int,
                     normalised: NormalisedText | None = None) -> int:
    """How often the fragment's words occur elsewhere in the text (0: not repeated).

    ``normalised`` (of the same ``text``) makes repeated calls on one article cheap.
    """
    needle = normalise_words(text[start:end])
    if len(needle) < 4:
        return 0
    if normalised is None:
        normalised = NormalisedText(text)
    # counted apart, so that no match runs across the fragment itself
    return sum((" " + part + " ").count(f" {needle} ")
               for part in (normalised.before(start), normalised.after(end)))


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


def span_head_log_probs(states: TokenStates, spans: list[tuple[int, int]]) -> np.ndarray:
    """log p(technique) of the tagger's span head for each (start, end) character span.

    A fragment's tokens are those its characters overlap; its context is up to
    :data:`SPAN_CONTEXT_TOKENS` tokens on each side, as in training.
    """
    out = np.zeros((len(spans), _N_TECH), np.float32)
    n = len(states.offsets)
    if n == 0:
        return out
    proj = states.proj.astype(np.float32)
    for i, (start, end) in enumerate(spans):
        first, last = token_range(states.offsets, start, end)
        # a fragment between tokens (whitespace only) still gets its nearest token
        first = min(first, n - 1)
        last = max(last, first + 1)
        logits = proj[first:last, :_N_TECH].mean(axis=0)
        ctx = np.concatenate([proj[max(0, first - SPAN_CONTEXT_TOKENS):first, _N_TECH:],
                              proj[last:last + SPAN_CONTEXT_TOKENS, _N_TECH:]])
        if len(ctx):
            logits = logits + ctx.mean(axis=0)
        logits = logits - logits.max()
        out[i] = logits - np.log(np.exp(logits).sum())
    return out


def span_features(text: str, scores: np.ndarray, spans: list[tuple[int, int]],
                  states: TokenStates | None = None) -> SpanFeatures:
    """Features of each (start, end) span of ``text`` given the tagger's per-char ``scores``
    and, for the span-head columns, its token ``states`` (zeros without them)."""
    rows = np.zeros((len(spans), len(DENSE_NAMES)), np.float32)
    tokens = []
    normalised = NormalisedText(text)
    n = max(len(text), 1)
    for i, (start, end) in enumerate(spans):
        inside = scores[start:end, 0]
        ctx = np.concatenate([scores[max(0, start - _CONTEXT_CHARS):start, 0],
                              scores[end:end + _CONTEXT_CHARS, 0]])
        fragment = text[start:end]
        words = _WORD.findall(fragment)
        repeats = repetition_count(text, start, end, normalised)
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
        rows[i, 15 + _N_TECH:_HEAD] = np.log(tech + 1e-3)
        tokens.append(lexical_tokens(text, start, end))
    if states is not None and spans:
        rows[:, _HEAD:] = span_head_log_probs(states, spans)
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


def _reexpressed(w: np.ndarray, b: np.ndarray, source: SpanModel, target: SpanModel
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``w`` (rows × width of ``source``) and biases ``b`` of a regression on
    ``source``'s features, rewritten for ``target``'s scaling and vocabulary: the same logits
    for every span (tokens missing from ``target``'s vocabulary must have no weight)."""
    d = len(DENSE_NAMES)
    dense = w[:, :d]
    # dense·(x - m)/s + b == dense·s'/s·(x - m')/s' + b + dense·(m' - m)/s
    new_b = b + (dense * ((target.dense_mean - source.dense_mean) / source.dense_std)).sum(1)
    new_w = np.zeros((w.shape[0], d + len(target.vocab)), np.float32)
    new_w[:, :d] = dense * (target.dense_std / source.dense_std)
    cols = [d + target.index[t] for t in source.vocab]
    new_w[:, cols] = w[:, d:]
    return new_w, new_b.astype(np.float32)


def merge_span_models(tech: SpanModel, real: SpanModel) -> SpanModel:
    """One span model with ``tech``'s technique regression and ``real``'s p(real) regression
    and calibration, giving exactly the probabilities each gives: the union of their
    vocabularies, ``real``'s feature scaling (``propscan adapt`` keeps a base model's part
    when refitting it does not help)."""
    vocab = sorted(set(tech.vocab) | set(real.vocab))
    width = len(DENSE_NAMES) + len(vocab)
    out = SpanModel(vocab, real.dense_mean.copy(), real.dense_std.copy(),
                    np.zeros(width, np.float32), 0.0, np.zeros((_N_TECH, width), np.float32),
                    np.zeros(_N_TECH, np.float32), real.calib_x.copy(), real.calib_y.copy())
    real_w, real_b = _reexpressed(real.real_w[None, :], np.array([real.real_b]), real, out)
    out.real_w, out.real_b = real_w[0], float(real_b[0])
    out.tech_w, out.tech_b = _reexpressed(tech.tech_w, tech.tech_b, tech, out)
    return out
