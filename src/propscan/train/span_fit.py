"""Fitting the decoding on out-of-fold scores: candidate decoder settings, the span model (two
logistic regressions, see :mod:`propscan.detect.span_model`) and its calibration.

:func:`fit_decoding` makes every choice on an inner 2-fold split of the articles it is given,
so that each choice is scored on articles the span model did not fit. Needs scikit-learn and
scipy (train extra); no torch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect import Detector
from propscan.detect.decoding import DecodingConfig, candidate_spans
from propscan.detect.span_model import (
    DENSE_NAMES,
    SpanFeatures,
    SpanModel,
    TokenStates,
    span_features,
)
from propscan.errors import ConfigError
from propscan.evaluate import si_scores
from propscan.techniques import TECHNIQUE_NAMES
from propscan.train.calibration import fit_isotonic

__all__ = ["ScoredCorpus", "SpanRows", "fit_decoding", "decoding_detector",
           "CANDIDATE_SETTINGS", "KEEP_THRESHOLDS", "TECH_C", "REPETITION_RULES", "MIN_CHARS"]

log = logging.getLogger(__name__)

# candidate fragments: thresholded runs with gaps joined (switch penalty 0), or the Viterbi
# decoder (see propscan.detect.decoding.candidate_spans), whose threshold is the neutral p(inside)
CANDIDATE_THRESHOLDS = (0.2, 0.25, 0.3, 0.4)
MAX_GAPS = (3, 30)
VITERBI_THRESHOLDS = (0.15, 0.2, 0.25)
SWITCH_PENALTIES = (0.3, 0.6, 0.9)
#: every (threshold, max_gap_chars, switch_penalty) the inner split compares
CANDIDATE_SETTINGS: tuple[tuple[float, int, float], ...] = (
    *((t, g, 0.0) for t in CANDIDATE_THRESHOLDS for g in MAX_GAPS),
    *((t, 0, p) for t in VITERBI_THRESHOLDS for p in SWITCH_PENALTIES),
)
KEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 17))  # 0 .. 0.8
TECH_C = (0.1, 0.3, 1.0)
REPETITION_RULES: tuple[bool | str, ...] = (True, "phrase", False)
MIN_CHARS = 3
_N_TECH = len(TECHNIQUE_NAMES)


@dataclass
class SpanRows:
    """Span features with their targets, for a set of articles."""

    aids: list[str]
    spans: list[tuple[int, int]]
    feats: SpanFeatures
    soft_real: np.ndarray  # share of the span's characters inside gold fragments
    gold_techs: list[set[str]]  # techniques of gold fragments overlapping the span


def _concat(parts: list[SpanRows]) -> SpanRows:
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


def _vocab(token_lists: list[list[str]], min_count: int = 3, cap: int = 3000) -> list[str]:
    counts: dict[str, int] = {}
    for toks in token_lists:
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: -counts[t])
    return sorted(kept[:cap])


def _shell(vocab: list[str], dense: np.ndarray) -> SpanModel:
    """A SpanModel with feature scaling and vocabulary set and empty weights."""
    mean = dense.mean(axis=0).astype(np.float32)
    std = np.maximum(dense.std(axis=0), 1e-3).astype(np.float32)
    width = len(DENSE_NAMES) + len(vocab)
    return SpanModel(vocab, mean, std, np.zeros(width, np.float32), 0.0,
                     np.zeros((_N_TECH, width), np.float32), np.zeros(_N_TECH, np.float32),
                     np.array([0.0, 1.0]), np.array([0.0, 1.0]))


def _design(model: SpanModel, feats: SpanFeatures):
    """Like :meth:`SpanModel.matrix` but sparse (fitting sees tens of thousands of rows)."""
    from scipy import sparse

    dense = (feats.dense - model.dense_mean) / model.dense_std
    rows, cols = [], []
    for r, toks in enumerate(feats.tokens):
        for t in toks:
            j = model.index.get(t)
            if j is not None:
                rows.append(r)
                cols.append(j)
    lex = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                            shape=(len(feats.tokens), len(model.vocab)))
    return sparse.hstack([sparse.csr_matrix(dense.astype(np.float32)), lex], format="csr")


def _too_few(detail: str) -> ConfigError:
    return ConfigError(f"too little data to fit the span model ({detail}): cross-validation "
                       "needs more annotated articles per fold")


def _fit_tech(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        raise _too_few(f"{len(y)} gold fragments of one technique")
    clf = LogisticRegression(C=c, max_iter=300).fit(x, y)
    w = np.zeros((_N_TECH, x.shape[1]), np.float32)
    b = np.full(_N_TECH, -30.0, np.float32)  # techniques never seen in training: never chosen
    w[clf.classes_] = clf.coef_
    b[clf.classes_] = clf.intercept_
    return w, b


def _fit_real(x: np.ndarray, soft: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression on soft targets (each row twice: weight s as 1, 1 - s as 0)."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    xx = sparse.vstack([x, x], format="csr")
    yy = np.concatenate([np.ones(x.shape[0]), np.zeros(x.shape[0])])
    ww = np.concatenate([soft, 1.0 - soft])
    keep = ww > 0
    if len(np.unique(yy[keep])) < 2:
        raise _too_few(f"{x.shape[0]} candidates, all alike")
    clf = LogisticRegression(C=0.3, max_iter=300).fit(xx[keep], yy[keep], sample_weight=ww[keep])
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def _halves(ids: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The inner 2-fold split of ``ids``."""
    ids = sorted(ids)
    return tuple(ids[0::2]), tuple(ids[1::2])


def decoding_detector(config: dict[str, Any], span_model: SpanModel | None) -> Detector:
    """A Detector that decodes given scores with the decoding settings ``config`` (as
    :func:`fit_decoding` returns them) and ``span_model``; it has no model files, so it can
    decode and classify but not encode."""
    det = Detector(Path("/nonexistent"), decoding=DecodingConfig.from_dict(config))
    det.span_model_ = span_model
    return det


def fit_decoding(corpus: ScoredCorpus, ids: list[str]
                 ) -> tuple[dict[str, Any], SpanModel, dict[str, float]]:
    """Choose thresholds, fit the span model and the calibration on ``ids`` only.

    Returns the decoding settings (``config.json`` keys, and ``technique_c``), the span model
    and the inner-split figures behind the choices. Choices use an inner 2-fold split of
    ``ids`` so that each is scored on articles the span model did not fit.
    """
    halves = _halves(ids)
    for half in halves:
        # each inner half fits a technique regression: it needs two techniques at least
        if len({row[1] for row in corpus.gold if row[0] in set(half)}) < 2:
            raise _too_few(f"{len(ids)} articles; each half of them needs gold fragments of "
                           "two techniques or more")
    gold_feats, gold_y = corpus.gold_matrix_parts(ids)
    vocab = _vocab(gold_feats.tokens)
    tc_accuracy, tech_c, rule, tech_halves = _choose_technique_model(corpus, halves, vocab)
    log.info("technique model: C=%s repetition_rule=%s (inner TC %.4f)", tech_c, rule,
             tc_accuracy)
    si_f1, choice = _choose_span_filter(corpus, ids, halves, vocab, rule, tech_halves)
    log.info("span filter: threshold=%s max_gap=%s switch_penalty=%s keep=%s (inner SI F1 "
             "%.4f)", choice["threshold"], choice["max_gap_chars"], choice["switch_penalty"],
             choice["keep_threshold"], si_f1)

    # final span model on all ids, calibration from the inner out-of-sample scores
    rows_all = _concat([corpus.candidates(choice["threshold"], choice["max_gap_chars"],
                                          choice["switch_penalty"], a) for a in ids])
    model = _shell(vocab, np.vstack([gold_feats.dense, rows_all.feats.dense]))
    model.tech_w, model.tech_b = _fit_tech(_design(model, gold_feats), gold_y, tech_c)
    model.real_w, model.real_b = _fit_real(_design(model, rows_all.feats), rows_all.soft_real)
    kept = [(raw, ok) for *_, p, raw, ok in choice["oos"] if p >= choice["keep_threshold"]]
    model.calib_x, model.calib_y = fit_isotonic([r for r, _ in kept], [o for _, o in kept])
    config = {"threshold": choice["threshold"], "max_gap_chars": choice["max_gap_chars"],
              "switch_penalty": choice["switch_penalty"], "min_chars": MIN_CHARS,
              "keep_threshold": choice["keep_threshold"],
              "repetition_rule": rule, "technique_c": tech_c}
    return config, model, {"inner_si_f1": si_f1, "inner_tc_accuracy": tc_accuracy}


_Halves = tuple[tuple[str, ...], tuple[str, ...]]


def _choose_technique_model(corpus: ScoredCorpus, halves: _Halves, vocab: list[str]
                            ) -> tuple[float, float, bool | str, dict[tuple[str, ...], SpanModel]]:
    """C of the technique regression and the repetition rule, by inner-split TC accuracy on
    gold spans: (accuracy, C, rule, the technique model fitted on each half with that C)."""
    half_a, half_b = halves
    parts = {h: corpus.gold_matrix_parts(list(h)) for h in halves}
    best_tc: tuple[float, float, bool | str] = (-1.0, TECH_C[0], True)
    tech_fits: dict[tuple[float, tuple[str, ...]], SpanModel] = {}  # (C, training half)
    for c in TECH_C:
        p_gold: dict[tuple[str, ...], np.ndarray] = {}
        for train_h, test_h in ((half_a, half_b), (half_b, half_a)):
            shell = _shell(vocab, parts[train_h][0].dense)
            shell.tech_w, shell.tech_b = _fit_tech(_design(shell, parts[train_h][0]),
                                                   parts[train_h][1], c)
            tech_fits[(c, train_h)] = shell
            p_gold[test_h] = shell.p_technique(_design(shell, parts[test_h][0]))
        for rule in REPETITION_RULES:
            accuracy = _inner_tc_accuracy(corpus, halves, p_gold, rule)
            if accuracy > best_tc[0]:
                best_tc = (accuracy, c, rule)
    accuracy, tech_c, rule = best_tc
    return accuracy, tech_c, rule, {h: tech_fits[(tech_c, h)] for h in halves}


def _inner_tc_accuracy(corpus: ScoredCorpus, halves: _Halves,
                       p_gold: dict[tuple[str, ...], np.ndarray], rule: bool | str) -> float:
    """Share of gold spans whose technique (argmax of ``p_gold``, then the repetition
    ``rule``) is right."""
    det = decoding_detector({"repetition_rule": rule}, None)
    correct = total = 0
    for h in halves:
        pred = p_gold[h].argmax(axis=1)
        r = 0
        for aid in h:
            for tech, s, e in corpus.gold_by.get(aid, []):
                label = TECHNIQUE_NAMES[pred[r]]
                if det._repetition_applies(corpus.texts[aid], s, e):
                    label = "Repetition"
                correct += label == tech
                total += 1
                r += 1
    return correct / max(total, 1)


def _choose_span_filter(corpus: ScoredCorpus, ids: list[str], halves: _Halves,
                        vocab: list[str], rule: bool | str,
                        tech_halves: dict[tuple[str, ...], SpanModel]
                        ) -> tuple[float, dict[str, Any]]:
    """Candidate decoder settings and keep threshold by inner-split SI F1: (F1, the choice
    with its out-of-sample spans under ``"oos"``)."""
    gold_si = [(aid, s, e) for aid in ids for _, s, e in corpus.gold_by.get(aid, [])]
    best: tuple[float, dict[str, Any] | None] = (-1.0, None)
    for thr, gap, penalty in CANDIDATE_SETTINGS:
        oos = _out_of_sample_spans(corpus, halves, vocab, rule, tech_halves, thr, gap, penalty)
        for keep in KEEP_THRESHOLDS:
            pred = [(a, s, e) for a, s, e, p, _, _ in oos if p >= keep]
            si = si_scores(pred, gold_si)
            if si["f1"] > best[0]:
                best = (si["f1"], {"threshold": thr, "max_gap_chars": gap,
                                   "switch_penalty": penalty, "keep_threshold": keep,
                                   "si": si, "oos": oos})
    f1, choice = best
    assert choice is not None
    return f1, choice


def _out_of_sample_spans(corpus: ScoredCorpus, halves: _Halves, vocab: list[str],
                         rule: bool | str, tech_halves: dict[tuple[str, ...], SpanModel],
                         thr: float, gap: int, penalty: float
                         ) -> list[tuple[str, int, int, float, float, bool]]:
    """Each half's candidates scored by a span model fitted on the other half: rows (article,
    start, end, p_real, raw confidence, whether the technique is right)."""
    half_a, half_b = halves
    rows = {h: _concat([corpus.candidates(thr, gap, penalty, a) for a in h]) for h in halves}
    det = decoding_detector({"repetition_rule": rule}, None)
    oos = []
    for train_h, test_h in ((half_a, half_b), (half_b, half_a)):
        tr, te = rows[train_h], rows[test_h]
        if not len(tr.spans) or not len(te.spans):
            continue
        shell = _shell(vocab, tr.feats.dense)
        shell.real_w, shell.real_b = _fit_real(_design(shell, tr.feats), tr.soft_real)
        p_real = shell.p_real(_design(shell, te.feats))
        tech_model = tech_halves[train_h]
        p_tech = tech_model.p_technique(_design(tech_model, te.feats))
        for i, (aid, (s, e)) in enumerate(zip(te.aids, te.spans, strict=True)):
            j = int(p_tech[i].argmax())
            label = TECHNIQUE_NAMES[j]
            if det._repetition_applies(corpus.texts[aid], s, e):
                label = "Repetition"
            oos.append((aid, s, e, float(p_real[i]), float(p_real[i] * p_tech[i, j]),
                        label in te.gold_techs[i]))
    return oos
