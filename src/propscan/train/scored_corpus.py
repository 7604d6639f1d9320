"""Tagger outputs on annotated articles, as the span-stage fitting reads them
(:mod:`propscan.train.span_fit`): each article's candidate fragments under a decoder setting
with their features and targets, and its gold fragments' features, computed once and kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from propscan.detect.decoding import candidate_spans
from propscan.detect.span_model import (
    DENSE_NAMES,
    SpanFeatures,
    TokenStates,
    span_features,
)
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["ScoredCorpus", "SpanRows", "concat_rows", "MIN_CHARS"]

MIN_CHARS = 3


@dataclass
class SpanRows:
    """Span features with their targets, for a set of articles."""

    aids: list[str]
    spans: list[tuple[int, int]]
    feats: SpanFeatures
    soft_real: np.ndarray  # share of the span's characters inside gold fragments
    gold_techs: list[set[str]]  # techniques of gold fragments overlapping the span


def concat_rows(parts: list[SpanRows]) -> SpanRows:
    dense = [p.feats.dense for p in parts if len(p.spans)]
    return SpanRows(
        [a for p in parts for a in p.aids], [s for p in parts for s in p.spans],
        SpanFeatures(np.vstack(dense) if dense else np.zeros((0, len(DENSE_NAMES)), np.float32),
                     [t for p in parts for t in p.feats.tokens]),
        np.concatenate([p.soft_real for p in parts]) if parts else np.zeros(0),
        [g for p in parts for g in p.gold_techs])


class ScoredCorpus:
    """Texts, gold and OOF scores (and token states), with per-article feature caches."""

    def __init__(self, texts: dict[str, str], gold: list[tuple[str, str, int, int]],
                 scores: dict[str, np.ndarray],
                 states: dict[str, TokenStates] | None = None) -> None:
        self.texts, self.scores, self.states = texts, scores, states or {}
        self.gold = [g for g in gold if g[0] in scores]
        self.gold_by: dict[str, list[tuple[str, int, int]]] = {}
        for aid, tech, s, e in self.gold:
            self.gold_by.setdefault(aid, []).append((tech, s, e))
        self._cands: dict[tuple[float, int, float, str], SpanRows] = {}
        self._gold_rows: dict[str, tuple[SpanFeatures, list[str]]] = {}

    def candidates(self, thr: float, gap: int, penalty: float, aid: str) -> SpanRows:
        key = (thr, gap, penalty, aid)
        if key not in self._cands:
            text, scores = self.texts[aid], self.scores[aid]
            spans = candidate_spans(text, scores, thr, gap, MIN_CHARS, penalty)
            gold = self.gold_by.get(aid, [])
            covered = np.zeros(len(text) + 1, np.int32)
            for _, s, e in gold:
                covered[s:e] = 1
            cum = np.concatenate([[0], np.cumsum(covered)])
            soft = np.array([(cum[e] - cum[s]) / (e - s) for s, e in spans], np.float32)
            techs = [{t for t, gs, ge in gold if gs < e and s < ge} for s, e in spans]
            self._cands[key] = SpanRows([aid] * len(spans), spans,
                                     span_features(text, scores, spans, self.states.get(aid)),
                                     soft, techs)
        return self._cands[key]

    def gold_rows(self, aid: str) -> tuple[SpanFeatures, list[str]]:
        if aid not in self._gold_rows:
            rows = self.gold_by.get(aid, [])
            self._gold_rows[aid] = (
                span_features(self.texts[aid], self.scores[aid], [(s, e) for _, s, e in rows],
                              self.states.get(aid)),
                [t for t, _, _ in rows])
        return self._gold_rows[aid]

    def gold_matrix_parts(self, ids: list[str]) -> tuple[SpanFeatures, np.ndarray]:
        feats, labels = [], []
        for aid in ids:
            f, lab = self.gold_rows(aid)
            if lab:
                feats.append(f)
                labels.extend(lab)
        dense = np.vstack([f.dense for f in feats])
        tokens = [t for f in feats for t in f.tokens]
        y = np.array([TECHNIQUE_NAMES.index(t) for t in labels])
        return SpanFeatures(dense, tokens), y
