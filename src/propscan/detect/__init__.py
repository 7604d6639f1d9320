"""Propaganda span detection: a MiniLM token tagger run with onnxruntime (no torch).

The model gives, for every token, p(inside any propaganda fragment) and p(technique | inside)
for the 14 PTC techniques. :meth:`Detector.predict` turns those into per-character scores,
:meth:`Detector.decode` turns scores into fragments, and :meth:`Detector.classify` labels given
fragments (the PTC "TC" task).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect.windows import load_tokenizer, make_windows, tokenize
from propscan.doc import Article
from propscan.errors import ConfigError, ModelError
from propscan.techniques import TECHNIQUE_NAMES, get_technique

__all__ = ["Detector", "DEFAULT_MODEL_DIR", "Fragment"]

DEFAULT_MODEL_DIR = Path(__file__).parent / "model"
#: (start, end, technique, confidence, reason), offsets into the text given
Fragment = tuple[int, int, str, float, str]

_DEFAULT_CONFIG = {"threshold": 0.4, "max_gap_chars": 3, "min_chars": 3, "repetition_rule": True}
_BATCH = 16
_REPETITION = "Repetition"


class Detector:
    """Loads the shipped (or given) model and finds propaganda fragments in texts."""

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None,
                 threshold: float | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        self.threads = threads
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold_override = threshold
        self.config: dict[str, Any] = dict(_DEFAULT_CONFIG)
        self.metrics: dict[str, Any] = {}
        self.session_ = None
        self.tokenizer_ = None

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> Detector:
        """Load the ONNX model and tokenizer; raises ModelError when files are missing."""
        if self.session_ is not None:
            return self
        model_path = self.model_dir / "model.onnx"
        tokenizer_path = self.model_dir / "tokenizer.json"
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ModelError(f"model file missing: {path} (train one with "
                                 "`python -m propscan.train` or reinstall propscan)")
        import onnxruntime as ort  # imported here so `import propscan.detect` stays light

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        try:
            self.session_ = ort.InferenceSession(str(model_path), options,
                                                 providers=["CPUExecutionProvider"])
            self.tokenizer_ = load_tokenizer(tokenizer_path)
        except Exception as err:  # corrupt file: one clear line, not an ORT traceback
            raise ModelError(f"cannot load model from {self.model_dir}: {err}") from None
        config_path = self.model_dir / "config.json"
        if config_path.is_file():
            self.config.update(json.loads(config_path.read_text()))
        metrics_path = self.model_dir / "metrics.json"
        if metrics_path.is_file():
            self.metrics = json.loads(metrics_path.read_text())
        return self

    @property
    def threshold(self) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return float(self.config["threshold"])

    @property
    def info(self) -> dict[str, Any]:
        """Name, version and held-out metrics of the model, for provenance."""
        return {
            "name": self.config.get("name", "propscan-minilm-tagger"),
            "version": self.config.get("version", "0"),
            "threshold": self.threshold,
            "metrics": self.metrics,
        }

    def _require_loaded(self) -> None:
        if self.session_ is None:
            self.load()

    # ---- scoring -------------------------------------------------------------------------
    def predict(self, texts: list[str]) -> list[np.ndarray]:
        """Per-character scores for each text: an array (len(text), 15) of probabilities.

        Column 0 is p(inside a propaganda fragment); column 1 + i is p(TECHNIQUE_NAMES[i] |
        inside). Characters between tokens (whitespace) get the lower score of their neighbours.
        """
        self._require_loaded()
        tok = self.tokenizer_
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        per_text = [tokenize(tok, t) for t in texts]
        jobs = []  # (text index, window)
        for i, (ids, _) in enumerate(per_text):
            if len(ids):
                jobs.extend((i, w) for w in make_windows(ids, cls_id, sep_id))
        sums = [np.zeros((len(ids), 1 + len(TECHNIQUE_NAMES)), np.float32) for ids, _ in per_text]
        counts = [np.zeros(len(ids), np.float32) for ids, _ in per_text]
        jobs.sort(key=lambda j: len(j[1].input_ids))  # similar lengths -> little padding
        for b in range(0, len(jobs), _BATCH):
            batch = jobs[b:b + _BATCH]
            width = max(len(w.input_ids) for _, w in batch)
            input_ids = np.zeros((len(batch), width), np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for r, (_, w) in enumerate(batch):
                input_ids[r, :len(w.input_ids)] = w.input_ids
                mask[r, :len(w.input_ids)] = 1
            probs = self.session_.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            for r, (i, w) in enumerate(batch):
                sl = slice(w.first_token, w.first_token + w.n_content)
                sums[i][sl] += probs[r, 1:1 + w.n_content]
                counts[i][sl] += 1
        out = []
        for text, (_, offsets), s, c in zip(texts, per_text, sums, counts, strict=True):
            token_scores = s / np.maximum(c, 1)[:, None]
            out.append(_chars_from_tokens(len(text), offsets, token_scores))
        return out

    # ---- decoding ------------------------------------------------------------------------
    def decode(self, text: str, scores: np.ndarray) -> list[Fragment]:
        """Fragments where p(inside) passes the threshold, snapped to whole words."""
        if len(text) == 0:
            return []
        above = scores[:, 0] >= self.threshold
        runs = _runs(above)
        runs = _merge_gaps(text, runs, int(self.config["max_gap_chars"]))
        fragments: list[Fragment] = []
        for start, end in runs:
            start, end = _snap(text, start, end)
            if end - start < int(self.config["min_chars"]) or not any(
                    ch.isalnum() for ch in text[start:end]):
                continue
            technique, p_tech, cue = self._technique(text, scores, start, end)
            p_any = float(scores[start:end, 0].mean())
            confidence = p_any * p_tech
            fragments.append((start, end, technique, round(confidence, 4),
                              _reason(technique, cue, confidence)))
        return fragments

    def _technique(self, text: str, scores: np.ndarray, start: int,
                   end: int) -> tuple[str, float, str]:
        mean = scores[start:end, 1:].mean(axis=0)
        weights = self.config.get("technique_weights")
        # weights undo the pull of frequent techniques (chosen on the dev slice)
        best = int(np.argmax(mean * np.asarray(weights))) if weights else int(np.argmax(mean))
        technique, p = TECHNIQUE_NAMES[best], float(mean[best])
        rule = self.config.get("repetition_rule")
        # rule True: any repeated fragment; "phrase": only multi-word ones (single words
        # recur in any text, so they are weaker evidence of the Repetition technique)
        if rule and _repeated(text, start, end, min_words=2 if rule == "phrase" else 1):
            rep = TECHNIQUE_NAMES.index(_REPETITION)
            return _REPETITION, max(float(mean[rep]), 0.5), "repeated phrase"
        cue = "scare quotes" if _quoted(text, start, end) else f"model score {p:.2f}"
        return technique, p, cue

    # ---- task entry points ---------------------------------------------------------------
    def detect(self, articles: Sequence[Article]) -> None:
        """Set ``article.spans`` for each article, from its cleaned text, in input offsets."""
        texts = [a.clean_text for a in articles]
        for article, text, scores in zip(articles, texts, self.predict(texts), strict=True):
            article.spans = [article.span_from_clean(s, e, t, c, r)
                             for s, e, t, c, r in self.decode(text, scores)]

    def detect_text(self, text: str) -> list[Fragment]:
        """Fragments of a raw text (e.g. a PTC article file), in that text's own offsets."""
        return self.detect_texts([text])[0]

    def detect_texts(self, texts: list[str]) -> list[list[Fragment]]:
        """:meth:`detect_text` for many texts, batched."""
        return [self.decode(t, s) for t, s in zip(texts, self.predict(texts), strict=True)]

    def classify(self, text: str, spans: list[tuple[int, int]],
                 scores: np.ndarray | None = None) -> list[str]:
        """One technique per given (start, end) span of ``text`` (the PTC TC task)."""
        if scores is None:
            scores = self.predict([text])[0]
        out = []
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise ConfigError(f"span [{start}, {end}) is outside the text of length "
                                  f"{len(text)}")
            out.append(self._technique(text, scores, start, end)[0])
        return out


def _chars_from_tokens(n_chars: int, offsets: np.ndarray, token_scores: np.ndarray) -> np.ndarray:
    """Spread token scores over characters; uncovered characters take the min of neighbours."""
    n_cols = token_scores.shape[1]
    if n_chars == 0:
        return np.zeros((0, n_cols), np.float32)
    if len(offsets) == 0:
        return np.zeros((n_chars, n_cols), np.float32)
    owner = np.full(n_chars, -1, np.int64)  # token index covering each char
    for t, (s, e) in enumerate(offsets):
        owner[s:e] = t
    idx = np.arange(n_chars)
    covered = owner >= 0
    prev_pos = np.maximum.accumulate(np.where(covered, idx, -1))
    next_pos = np.minimum.accumulate(np.where(covered, idx, n_chars)[::-1])[::-1]
    prev_tok = np.where(prev_pos >= 0, owner[np.clip(prev_pos, 0, None)], -1)
    next_tok = np.where(next_pos < n_chars, owner[np.clip(next_pos, None, n_chars - 1)], -1)
    prev_tok = np.where(prev_tok < 0, next_tok, prev_tok)
    next_tok = np.where(next_tok < 0, prev_tok, next_tok)
    return np.minimum(token_scores[prev_tok], token_scores[next_tok]).astype(np.float32)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    diff = np.diff(padded)
    return list(zip(np.flatnonzero(diff == 1).tolist(), np.flatnonzero(diff == -1).tolist(),
                    strict=True))


def _merge_gaps(text: str, runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    """Join runs separated by a few characters on the same line (a dip on a short word)."""
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] <= max_gap and "\n" not in text[merged[-1][1]:start]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow to whole words, then trim surrounding whitespace."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_NON_WORD = re.compile(r"[\W_]+")


def _normalise(fragment: str) -> str:
    return _NON_WORD.sub(" ", fragment.lower()).strip()


def _repeated(text: str, start: int, end: int, min_words: int = 1) -> bool:
    """Whether the fragment's words occur again elsewhere in the text (Repetition cue)."""
    needle = _normalise(text[start:end])
    if len(needle) < 4 or len(needle.split()) < min_words:
        return False
    rest = " " + _normalise(text[:start]) + " | " + _normalise(text[end:]) + " "
    return f" {needle} " in rest


_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’"}


def _quoted(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    inner = text[start:end]
    if inner[:1] in _QUOTES and inner[-1:] == _QUOTES[inner[:1]] and len(inner) < 40:
        return True
    return before in _QUOTES and after == _QUOTES[before] and end - start < 40


def _reason(technique: str, cue: str, confidence: float) -> str:
    t = get_technique(technique)
    return f"{t.label}: {t.definition} Cue: {cue}; confidence {confidence:.2f}."
