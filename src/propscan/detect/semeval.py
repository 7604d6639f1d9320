"""SemEval-2023 technique names for findings: two linear models over lexical features.

* the fragment model: 23-way (the techniques seen in training) multinomial logistic regression
  over :func:`propscan.detect.semeval_features.fragment_terms` and ``fragment_dense``; it
  names each PTC-style finding (start, end in the analysed text) with a SemEval-2023
  technique, whatever its PTC-14 name;
* the paragraph model: one logistic regression per technique over each line's terms (words,
  word pairs, character n-grams) and how often the training fragments of each technique hold
  its words, then a probability threshold per technique and a cap on labels per line; it gives
  the techniques of every line (SemEval-2023 subtask 3).

Numpy only: the weights live in ``semeval23.npz`` beside the tagger (written by
:mod:`propscan.train.semeval_fit`); without that file :func:`load_semeval_model` returns None
and findings keep ``technique_2023`` unset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from propscan.detect.semeval_features import (
    fragment_dense,
    fragment_terms,
    line_dense,
    line_terms,
    rate_features,
    rate_keys,
    term_blocks,
    vectorize,
)
from propscan.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from propscan.doc import Finding

__all__ = ["MODEL_FILE", "SemevalModel", "load_semeval_model", "classify_2023", "same_wording",
           "decide_labels"]

MODEL_FILE = "semeval23.npz"


def same_wording(text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
    """For each span, how many other spans of the list have the same wording (case and
    spacing aside)."""
    keys = [" ".join(text[s:e].lower().split()) for s, e in spans]
    counts = Counter(keys)
    return [counts[k] - 1 for k in keys]


@dataclass
class SemevalModel:
    """The fitted weights; ``*_w`` has one row per vocabulary term, then one per dense cue."""

    classes: tuple[str, ...]
    frag_vocab: dict[str, int]
    frag_w: np.ndarray
    frag_b: np.ndarray
    line_classes: tuple[str, ...]
    line_vocab: dict[str, int]
    line_w: np.ndarray
    line_b: np.ndarray
    line_threshold: float
    rate_index: dict[str, int]
    rates: np.ndarray  # (keys, line_classes): see semeval_features.rate_features
    info: dict[str, Any] | None = None
    # per-technique thresholds (default: line_threshold for all) and most labels per line
    line_thresholds: np.ndarray | None = None
    line_max_labels: int = 0  # 0: no cap

    def __post_init__(self) -> None:
        if self.line_thresholds is None:
            self.line_thresholds = np.full(len(self.line_classes), self.line_threshold)
        # older files have no character n-grams for lines: skip computing them
        self._line_chars = any(t.startswith("c:") for t in self.line_vocab)
        self._line_blocks = term_blocks(self.line_vocab)
        self._frag_blocks = term_blocks(self.frag_vocab)

    # ---- fragments ---------------------------------------------------------------------------
    def fragment_probs(self, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """p(technique | fragment), one row per span, columns :attr:`classes`."""
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise ConfigError(f"span [{start}, {end}) is outside the text of length "
                                  f"{len(text)}")
        n_vocab = len(self.frag_vocab)
        logits = np.tile(self.frag_b, (len(spans), 1)).astype(np.float64)
        for i, ((start, end), same) in enumerate(zip(spans, same_wording(text, spans),
                                                     strict=True)):
            cols, vals = vectorize(fragment_terms(text, start, end), self.frag_vocab,
                                   self._frag_blocks)
            logits[i] += vals @ self.frag_w[cols]
            logits[i] += fragment_dense(text, start, end, same) @ self.frag_w[n_vocab:]
        return _softmax(logits)

    def classify(self, text: str, spans: Sequence[tuple[int, int]]) -> list[str]:
        """One SemEval-2023 technique per (start, end) span; a span listed k times gets its k
        best techniques (a fragment with two techniques is two rows, as in the label files)."""
        if not spans:
            return []
        probs = self.fragment_probs(text, spans)
        seen: Counter[tuple[int, int]] = Counter()
        out = []
        for span, row in zip(spans, probs, strict=True):
            ranking = np.argsort(-row, kind="stable")
            out.append(self.classes[ranking[min(seen[span], len(ranking) - 1)]])
            seen[span] += 1
        return out

    def label(self, text: str, findings: list[Finding]) -> None:
        """Set ``technique_2023`` and ``category_2023`` of each finding (offsets into
        ``text``)."""
        from propscan.techniques import get_semeval_technique

        # one name per fragment even where two findings share it (PTC names differ there)
        spans = list(dict.fromkeys((f.start, f.end) for f in findings))
        names = dict(zip(spans, self.classify(text, spans), strict=True))
        for finding in findings:
            finding.technique_2023 = names[(finding.start, finding.end)]
            finding.category_2023 = get_semeval_technique(finding.technique_2023).category

    # ---- paragraphs --------------------------------------------------------------------------
    def line_probs(self, text: str) -> np.ndarray:
        """p(technique in line), one row per line of ``text`` (split at ``\\n``), columns
        :attr:`line_classes`; rows of empty lines are 0."""
        lines = text.split("\n")
        n_vocab = len(self.line_vocab)
        probs = np.zeros((len(lines), len(self.line_classes)))
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            cols, vals = vectorize(line_terms(line, self._line_chars), self.line_vocab,
                                   self._line_blocks)
            dense = np.concatenate([line_dense(line, i + 1, len(lines)),
                                    rate_features(rate_keys(line), self.rate_index, self.rates)])
            z = self.line_b + vals @ self.line_w[cols] + dense @ self.line_w[n_vocab:]
            probs[i] = 1 / (1 + np.exp(-z))
        return probs

    def paragraph_labels(self, text: str) -> list[list[str]]:
        """The SemEval-2023 techniques of each line of ``text`` (line k is element k - 1),
        most probable first; empty lines get none."""
        probs = self.line_probs(text)
        hit = decide_labels(probs, np.asarray(self.line_thresholds), self.line_max_labels)
        return [[self.line_classes[j] for j in np.argsort(-row, kind="stable") if chosen[j]]
                for row, chosen in zip(probs, hit, strict=True)]

    # ---- file --------------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the weights as float16 (compressed npz, no pickles)."""
        def vocab_array(vocab: dict[str, int]) -> np.ndarray:
            return np.array(sorted(vocab, key=vocab.__getitem__), dtype=np.str_)

        np.savez_compressed(
            path, classes=np.array(self.classes, dtype=np.str_),
            frag_vocab=vocab_array(self.frag_vocab), frag_w=self.frag_w.astype(np.float16),
            frag_b=self.frag_b.astype(np.float32),
            line_classes=np.array(self.line_classes, dtype=np.str_),
            line_vocab=vocab_array(self.line_vocab), line_w=self.line_w.astype(np.float16),
            line_b=self.line_b.astype(np.float32),
            line_threshold=np.float32(self.line_threshold),
            line_thresholds=np.asarray(self.line_thresholds, np.float32),
            line_max_labels=np.int64(self.line_max_labels),
            rate_keys=vocab_array(self.rate_index), rates=self.rates.astype(np.float16))

    @classmethod
    def load(cls, path: Path) -> SemevalModel:
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(
                    classes=tuple(str(c) for c in z["classes"]),
                    frag_vocab={str(t): i for i, t in enumerate(z["frag_vocab"])},
                    frag_w=z["frag_w"].astype(np.float32), frag_b=z["frag_b"],
                    line_classes=tuple(str(c) for c in z["line_classes"]),
                    line_vocab={str(t): i for i, t in enumerate(z["line_vocab"])},
                    line_w=z["line_w"].astype(np.float32), line_b=z["line_b"],
                    line_threshold=float(z["line_threshold"]),
                    rate_index={str(t): i for i, t in enumerate(z["rate_keys"])},
                    rates=z["rates"].astype(np.float32),
                    line_thresholds=(z["line_thresholds"].astype(np.float64)
                                     if "line_thresholds" in z.files else None),
                    line_max_labels=(int(z["line_max_labels"])
                                     if "line_max_labels" in z.files else 0))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"unreadable SemEval-2023 model {path}: {exc}") from None


def decide_labels(probs: np.ndarray, thresholds: np.ndarray, cap: int) -> np.ndarray:
    """Which (line, technique) cells are labels: at or above the technique's threshold and
    among the line's ``cap`` most probable (0: no cap)."""
    hit = probs >= thresholds
    if cap:
        rank = np.argsort(np.argsort(-probs, axis=1, kind="stable"), axis=1, kind="stable")
        hit &= rank < cap
    return hit


def load_semeval_model(model_dir: Path | None) -> SemevalModel | None:
    """The SemEval-2023 model of a model directory (default: the shipped one), or None when it
    has no ``semeval23.npz``."""
    if model_dir is None:
        model_dir = Path(__file__).parent / "model"
    path = Path(model_dir) / MODEL_FILE
    return SemevalModel.load(path) if path.is_file() else None


def classify_2023(detector_or_model: Any, text: str, spans: Sequence[tuple[int, int]]
                  ) -> list[str]:
    """SemEval-2023 techniques of gold spans (``ptc techniques --taxonomy semeval2023``), from
    a :class:`SemevalModel` or a Detector whose model directory has one."""
    model = detector_or_model
    if not isinstance(model, SemevalModel):
        model = load_semeval_model(getattr(detector_or_model, "model_dir", None))
        if model is None:
            raise ModelError("this model has no SemEval-2023 classifier (semeval23.npz)")
    return model.classify(text, list(spans))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)
