"""Cross-fitted decoding: every decoding choice is fitted on articles the tagger never saw.

1. Out-of-fold (OOF) scores: fold k's tagger scores fold k's held-out articles, so every PTC
   article gets per-character scores from a model that never trained on it (cached in
   ``CV_DIR/oof_scores.npz``).
2. Cross-validated figures: for each fold k, the thresholds, the span model (two logistic
   regressions, see :mod:`propscan.detect.span_model`) and the confidence calibration are fitted
   on the OOF scores of the *other* folds, then fold k is scored (SI, TC, expected calibration
   error). Nothing about fold k is used to make any choice for fold k.
3. Shipping: the same fitting on all OOF scores gives the decoding settings installed beside the
   tagger trained on every article.

``python -m propscan.train.crossfit CV_DIR --data ../shared/data/ptc-train
[--final RUN/joint/epoch3 --install src/propscan/detect/model] [--json]`` prints the figures in
the table of ``propscan evaluate --folds``. It needs only the fold directories' ``split.json``
and the cached OOF scores, or the fold models to make them: figures of folds trained elsewhere
(a GPU machine) can be fitted here. Needs scikit-learn (train extra); no torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect import Detector, candidate_spans
from propscan.detect.span_model import (
    DENSE_NAMES,
    SpanFeatures,
    SpanModel,
    TokenStates,
    span_features,
)
from propscan.errors import ConfigError, InputNotFound, PropscanError
from propscan.evaluate import si_scores, tc_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.evaluate.tables import format_cross_validation
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["exported_fold_model", "oof_scores", "fit_decoding", "cross_fitted_figures",
           "cross_fitted_si_predictions", "expected_calibration_error", "install",
           "model_version", "installed_model_version"]

# candidate fragments: thresholded runs with gaps joined (switch penalty 0), or the Viterbi
# decoder (see propscan.detect.candidate_spans), whose threshold is the neutral p(inside)
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


def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# ---- 1. out-of-fold scores ---------------------------------------------------------------
def fold_dirs(cv_dir: Path) -> list[Path]:
    return sorted(p for p in Path(cv_dir).glob("fold*") if (p / "split.json").is_file())


def exported_fold_model(fold_dir: Path) -> Path:
    """The fold's finished model: the joint stage's when there is one (see
    :func:`propscan.train.trainer.train_two_stage`)."""
    def exported(pattern: str) -> list[Path]:
        return sorted(d.parent for d in fold_dir.glob(pattern)
                      if (d.parent / "model.onnx").is_file())

    done = exported("joint/epoch*/DONE") or exported("epoch*/DONE")
    if not done:
        raise FileNotFoundError(f"{fold_dir} has no finished model (epoch*/DONE, model.onnx)")
    return done[-1]


def oof_scores(cv_dir: Path, texts: dict[str, str], threads: int = 2
               ) -> tuple[dict[str, np.ndarray], dict[str, TokenStates], dict[str, int]]:
    """Per-character scores and token states (span-head projections) of every article, from
    the fold model that held it out."""
    cache = Path(cv_dir) / "oof_scores.npz"
    states_cache = Path(cv_dir) / "oof_states.npz"
    folds = fold_dirs(cv_dir)
    if not folds:
        raise InputNotFound(f"no cross-validation folds (fold*/split.json) in {cv_dir}")
    fold_of = {}
    for k, fd in enumerate(folds):
        for aid in json.loads((fd / "split.json").read_text())["test"]:
            fold_of[aid] = k
    if cache.is_file():
        with np.load(cache) as z:
            scores = {aid: z[aid].astype(np.float32) for aid in z.files}
        return scores, load_states(states_cache), fold_of
    scores, states = {}, {}
    for k, fd in enumerate(folds):
        ids = sorted(a for a, f in fold_of.items() if f == k)
        model = exported_fold_model(fd)
        _log(f"scoring {len(ids)} held-out articles with {model}")
        det = Detector(model, threads=threads).load()
        for aid, (sc, st) in zip(ids, det.encode([texts[i] for i in ids]), strict=True):
            # float16 halves the caches; round fresh values the same way so that a first run
            # and a cached rerun print the same figures
            scores[aid] = sc.astype(np.float16)
            if st is not None:
                states[aid] = TokenStates(st.offsets.astype(np.int32), st.proj.astype(np.float16))
    save_oof(cv_dir, scores, states)
    return ({aid: s.astype(np.float32) for aid, s in scores.items()},
            load_states(states_cache), fold_of)


def save_oof(cv_dir: Path, scores: dict[str, np.ndarray], states: dict[str, TokenStates]
             ) -> None:
    """Write the caches that :func:`oof_scores` reads (scores and projections as float16)."""
    np.savez_compressed(Path(cv_dir) / "oof_scores.npz",
                        **{a: s.astype(np.float16) for a, s in scores.items()})
    if states:
        np.savez_compressed(Path(cv_dir) / "oof_states.npz",
                            **{f"{a}:offsets": st.offsets.astype(np.int32)
                               for a, st in states.items()},
                            **{f"{a}:proj": st.proj.astype(np.float16)
                               for a, st in states.items()})


def load_states(path: Path) -> dict[str, TokenStates]:
    """Token states cached by :func:`oof_scores` (empty when the models had no span head)."""
    if not Path(path).is_file():
        return {}
    with np.load(path) as z:
        aids = {name.split(":")[0] for name in z.files}
        return {a: TokenStates(z[f"{a}:offsets"], z[f"{a}:proj"].astype(np.float32))
                for a in aids}


# ---- 2. fitting ----------------------------------------------------------------------------
@dataclass
class _Rows:
    """Span features with their targets, for a set of articles."""

    aids: list[str]
    spans: list[tuple[int, int]]
    feats: SpanFeatures
    soft_real: np.ndarray  # share of the span's characters inside gold fragments
    gold_techs: list[set[str]]  # techniques of gold fragments overlapping the span


def _concat(parts: list[_Rows]) -> _Rows:
    dense = [p.feats.dense for p in parts if len(p.spans)]
    return _Rows(
        [a for p in parts for a in p.aids], [s for p in parts for s in p.spans],
        SpanFeatures(np.vstack(dense) if dense else np.zeros((0, len(DENSE_NAMES)), np.float32),
                     [t for p in parts for t in p.feats.tokens]),
        np.concatenate([p.soft_real for p in parts]) if parts else np.zeros(0),
        [g for p in parts for g in p.gold_techs])


class _Corpus:
    """Texts, gold and OOF scores (and token states), with per-article feature caches."""

    def __init__(self, texts: dict[str, str], gold: list[tuple[str, str, int, int]],
                 scores: dict[str, np.ndarray],
                 states: dict[str, TokenStates] | None = None) -> None:
        self.texts, self.scores, self.states = texts, scores, states or {}
        self.gold = [g for g in gold if g[0] in scores]
        self.gold_by: dict[str, list[tuple[str, int, int]]] = {}
        for aid, tech, s, e in self.gold:
            self.gold_by.setdefault(aid, []).append((tech, s, e))
        self._cands: dict[tuple[float, int, float, str], _Rows] = {}
        self._gold_rows: dict[str, tuple[SpanFeatures, list[str]]] = {}

    def candidates(self, thr: float, gap: int, penalty: float, aid: str) -> _Rows:
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
            self._cands[key] = _Rows([aid] * len(spans), spans,
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


def _halves(ids: list[str]) -> tuple[list[str], list[str]]:
    ids = sorted(ids)
    return ids[0::2], ids[1::2]


def _detector(config: dict[str, Any], span_model: SpanModel | None) -> Detector:
    """A Detector used for decoding only (scores are given, so no ONNX session is needed)."""
    det = Detector(Path("/nonexistent"))
    det.config.update(config)
    det.span_model_ = span_model
    return det


def fit_decoding(corpus: _Corpus, ids: list[str]) -> tuple[dict[str, Any], SpanModel, dict]:
    """Choose thresholds, fit the span model and the calibration on ``ids`` only.

    Choices use an inner 2-fold split of ``ids`` so that each is scored on articles the span
    model did not fit.
    """
    half_a, half_b = _halves(ids)
    for half in (set(half_a), set(half_b)):
        # each inner half fits a technique regression: it needs two techniques at least
        if len({row[1] for row in corpus.gold if row[0] in half}) < 2:
            raise _too_few(f"{len(ids)} articles; each half of them needs gold fragments of "
                           "two techniques or more")
    gold_feats, gold_y = corpus.gold_matrix_parts(ids)
    vocab = _vocab(gold_feats.tokens)
    # technique model: C and the repetition rule by inner-split TC accuracy on gold spans
    parts = {h: corpus.gold_matrix_parts(h) for h in (tuple(half_a), tuple(half_b))}
    best_tc = (-1.0, TECH_C[0], True)
    tech_fits: dict[tuple[float, tuple], SpanModel] = {}  # (C, training half) -> fitted model
    for c in TECH_C:
        p_gold: dict[tuple, np.ndarray] = {}
        for train_h, test_h in ((tuple(half_a), tuple(half_b)), (tuple(half_b), tuple(half_a))):
            shell = _shell(vocab, parts[train_h][0].dense)
            w, b = _fit_tech(_design(shell, parts[train_h][0]), parts[train_h][1], c)
            shell.tech_w, shell.tech_b = w, b
            tech_fits[(c, train_h)] = shell
            p_gold[test_h] = shell.p_technique(_design(shell, parts[test_h][0]))
        for rule in REPETITION_RULES:
            det = _detector({"repetition_rule": rule}, None)
            correct = total = 0
            for h in (tuple(half_a), tuple(half_b)):
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
            acc = correct / max(total, 1)
            if acc > best_tc[0]:
                best_tc = (acc, c, rule)
    _, tech_c, rule = best_tc
    _log(f"technique model: C={tech_c} repetition_rule={rule} (inner TC {best_tc[0]:.4f})")

    shell_all = _shell(vocab, gold_feats.dense)
    tech_w, tech_b = _fit_tech(_design(shell_all, gold_feats), gold_y, tech_c)
    tech_halves = {h: tech_fits[(tech_c, h)] for h in (tuple(half_a), tuple(half_b))}

    # span filter: candidate decoder settings and keep threshold by inner-split SI F1
    gold_si = [(aid, s, e) for aid in ids for _, s, e in corpus.gold_by.get(aid, [])]
    best = (-1.0, None)
    for thr, gap, penalty in CANDIDATE_SETTINGS:
        rows = {h: _concat([corpus.candidates(thr, gap, penalty, a) for a in h])
                for h in (tuple(half_a), tuple(half_b))}
        oos = []  # (aid, start, end, p_real, raw confidence, correct)
        for train_h, test_h in ((tuple(half_a), tuple(half_b)),
                                (tuple(half_b), tuple(half_a))):
            tr, te = rows[train_h], rows[test_h]
            if not len(tr.spans) or not len(te.spans):
                continue
            shell = _shell(vocab, tr.feats.dense)
            shell.real_w, shell.real_b = _fit_real(_design(shell, tr.feats), tr.soft_real)
            x_te = _design(shell, te.feats)
            p_real = shell.p_real(x_te)
            tech_model = tech_halves[train_h]
            p_tech = tech_model.p_technique(_design(tech_model, te.feats))
            det = _detector({"repetition_rule": rule}, None)
            for i, (aid, (s, e)) in enumerate(zip(te.aids, te.spans, strict=True)):
                j = int(p_tech[i].argmax())
                label = TECHNIQUE_NAMES[j]
                if det._repetition_applies(corpus.texts[aid], s, e):
                    label = "Repetition"
                oos.append((aid, s, e, float(p_real[i]), float(p_real[i] * p_tech[i, j]),
                            label in te.gold_techs[i]))
        for keep in KEEP_THRESHOLDS:
            pred = [(a, s, e) for a, s, e, p, _, _ in oos if p >= keep]
            si = si_scores(pred, gold_si)
            if si["f1"] > best[0]:
                best = (si["f1"], {"threshold": thr, "max_gap_chars": gap,
                                   "switch_penalty": penalty, "keep_threshold": keep,
                                   "si": si, "oos": oos})
    choice = best[1]
    assert choice is not None
    _log(f"span filter: threshold={choice['threshold']} max_gap={choice['max_gap_chars']} "
         f"switch_penalty={choice['switch_penalty']} keep={choice['keep_threshold']} "
         f"(inner SI F1 {best[0]:.4f})")

    # final span model on all ids, calibration from the inner out-of-sample scores
    rows_all = _concat([corpus.candidates(choice["threshold"], choice["max_gap_chars"],
                                          choice["switch_penalty"], a) for a in ids])
    model = _shell(vocab, np.vstack([gold_feats.dense, rows_all.feats.dense]))
    model.tech_w, model.tech_b = _fit_tech(_design(model, gold_feats), gold_y, tech_c)
    model.real_w, model.real_b = _fit_real(_design(model, rows_all.feats), rows_all.soft_real)
    kept = [(raw, ok) for *_, p, raw, ok in choice["oos"] if p >= choice["keep_threshold"]]
    model.calib_x, model.calib_y = _isotonic([r for r, _ in kept], [o for _, o in kept])
    config = {"threshold": choice["threshold"], "max_gap_chars": choice["max_gap_chars"],
              "switch_penalty": choice["switch_penalty"], "min_chars": MIN_CHARS,
              "keep_threshold": choice["keep_threshold"],
              "repetition_rule": rule, "technique_c": tech_c}
    return config, model, {"inner_si_f1": best[0], "inner_tc_accuracy": best_tc[0]}


def _isotonic(raw: list[float], correct: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    if len(raw) < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(np.asarray(raw), np.asarray(correct, dtype=float))
    return (np.asarray(iso.X_thresholds_, np.float64), np.asarray(iso.y_thresholds_, np.float64))


def expected_calibration_error(confidence: list[float], correct: list[bool],
                               bins: int = 10) -> dict[str, Any]:
    """ECE over equal-width confidence bins, and the reliability table behind it."""
    conf = np.asarray(confidence, float)
    ok = np.asarray(correct, float)
    table, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = (conf >= lo) & ((conf < hi) if b < bins - 1 else (conf <= hi))
        if not sel.any():
            continue
        gap = abs(ok[sel].mean() - conf[sel].mean())
        ece += gap * sel.sum() / max(len(conf), 1)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(sel.sum()),
                      "mean_confidence": round(float(conf[sel].mean()), 4),
                      "share_correct": round(float(ok[sel].mean()), 4)})
    return {"ece": float(ece), "n": len(conf), "bins": table}


def _decode_fold(corpus: _Corpus, fold_of: dict[str, int], k: int) -> tuple[dict, list, list,
                                                                         list, list]:
    """Fit the decoding on every fold but ``k``, then decode fold ``k``: its figures and its
    predictions (SI rows, TC rows, confidences, whether each span's technique was right)."""
    test = sorted(a for a, f in fold_of.items() if f == k)
    train = sorted(a for a, f in fold_of.items() if f != k)
    _log(f"fold {k}: fitting decoding on {len(train)} articles, scoring {len(test)}")
    config, model, _ = fit_decoding(corpus, train)
    det = _detector(config, model)
    si_pred, tc_pred, conf, ok = [], [], [], []
    for aid in test:  # decode and classify each article once; every figure reads these
        gold = corpus.gold_by.get(aid, [])
        for s, e, tech, c, _ in det.decode(corpus.texts[aid], corpus.scores[aid],
                                           corpus.states.get(aid)):
            si_pred.append((aid, s, e))
            conf.append(c)
            ok.append(any(t == tech and gs < e and s < ge for t, gs, ge in gold))
        rows = [(s, e) for _, s, e in gold]
        labels = det.classify(corpus.texts[aid], rows, scores=corpus.scores[aid],
                              states=corpus.states.get(aid))
        tc_pred += [(aid, t, s, e) for (s, e), t in zip(rows, labels, strict=True)]
    fold_gold = [g for g in corpus.gold if fold_of[g[0]] == k]
    si = si_scores(si_pred, [(a, s, e) for a, _, s, e in fold_gold])
    tc = tc_scores(tc_pred, fold_gold)
    ece = expected_calibration_error(conf, ok)["ece"]
    _log(f"fold {k}: SI F1 {si['f1']:.4f}  TC micro-F1 {tc['micro_f1']:.4f}  ECE {ece:.4f}")
    return ({"fold": k, "articles": len(test), "config": config, "si": si, "tc": tc,
             "ece": ece}, si_pred, tc_pred, conf, ok)


_FORKED: tuple[_Corpus, dict[str, int]] | None = None  # what fork workers inherit


def _decode_forked_fold(k: int) -> tuple[dict, list, list, list, list]:
    from threadpoolctl import threadpool_limits

    assert _FORKED is not None
    with threadpool_limits(limits=1):  # as in :func:`run`: figures must not depend on workers
        return _decode_fold(*_FORKED, k)


def _decode_folds(corpus: _Corpus, fold_of: dict[str, int],
                  workers: int) -> list[tuple[dict, list, list, list, list]]:
    """:func:`_decode_fold` for every fold, in ``workers`` forked processes when > 1."""
    global _FORKED
    folds = sorted(set(fold_of.values()))
    workers = min(workers, len(folds))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        _FORKED = (corpus, fold_of)
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")
                                     ) as pool:
                return list(pool.map(_decode_forked_fold, folds))
        finally:
            _FORKED = None
    return [_decode_fold(corpus, fold_of, k) for k in folds]


def _load(cv_dir: Path, data_dir: Path, threads: int) -> tuple[_Corpus, dict[str, int]]:
    """The PTC texts and gold with the out-of-fold scores of ``cv_dir``, and each article's
    fold."""
    texts = read_articles(Path(data_dir) / "train-articles")
    gold = read_tc_labels(Path(data_dir) / "train-task-flc-tc.labels")
    scores, states, fold_of = oof_scores(cv_dir, texts, threads)
    return _Corpus(texts, gold, scores, states), fold_of


def cross_fitted_si_predictions(cv_dir: Path, data_dir: Path, workers: int = 2
                                ) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """The SI rows predicted for every article, each fold decoded exactly as for
    :func:`cross_fitted_figures`, and the gold SI rows of the scored articles (for error
    analyses)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as in :func:`run`
        corpus, fold_of = _load(cv_dir, data_dir, workers)
        results = _decode_folds(corpus, fold_of, workers)
    return ([row for _, si_pred, *_ in results for row in si_pred],
            [(a, s, e) for a, _, s, e in corpus.gold])


def cross_fitted_figures(corpus: _Corpus, fold_of: dict[str, int],
                         workers: int = 1) -> dict[str, Any]:
    """SI, TC and ECE per fold, each fold decoded with choices fitted on the other folds.

    ``workers`` > 1 fits folds in that many forked processes: sooner, and the same figures to
    the third decimal (the shipped run's differed from one worker's in the fourth)."""
    results = _decode_folds(corpus, fold_of, workers)
    per_fold, all_conf, all_ok = [], [], []
    all_si_pred, all_tc_pred = [], []
    for figures, si_pred, tc_pred, conf, ok in results:
        per_fold.append(figures)
        all_si_pred += si_pred
        all_tc_pred += tc_pred
        all_conf += conf
        all_ok += ok
    gold_si = [(a, s, e) for a, _, s, e in corpus.gold]
    summary = {}
    for key, get in (("si_precision", lambda f: f["si"]["precision"]),
                     ("si_recall", lambda f: f["si"]["recall"]),
                     ("si_f1", lambda f: f["si"]["f1"]),
                     ("tc_micro_f1", lambda f: f["tc"]["micro_f1"]),
                     ("ece", lambda f: f["ece"])):
        values = [get(f) for f in per_fold]
        summary[key] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return {
        "evaluation": f"{len(per_fold)}-fold cross-validation by article on the PTC training "
                      "split; each fold's tagger never saw its articles, and each fold's "
                      "decoding settings, span model and calibration were fitted on the other "
                      "folds only",
        "folds": per_fold, "mean_std": summary,
        "pooled": {"si": si_scores(all_si_pred, gold_si),
                   "tc": tc_scores(all_tc_pred, corpus.gold),
                   "calibration": expected_calibration_error(all_conf, all_ok)},
    }


# ---- 3. shipping ---------------------------------------------------------------------------
def model_version(model_dir: Path, config: dict[str, Any] | None = None,
                  span_model: SpanModel | None = None) -> str:
    """Today's date plus the first 8 hex digits of a SHA-256 over ``model.onnx`` and, when
    given, the decoding ``config`` and the span model's weights: two models (or one tagger
    with two decodings) installed on one day get different versions, which results stores
    record."""
    digest = hashlib.sha256((Path(model_dir) / "model.onnx").read_bytes())
    if config is not None:
        digest.update(json.dumps(config, sort_keys=True).encode())
    if span_model is not None:
        for part in (span_model.real_w, span_model.real_b, span_model.tech_w,
                     span_model.tech_b, span_model.calib_x, span_model.calib_y):
            digest.update(np.asarray(part, np.float64).tobytes())
    return f"{time.strftime('%Y.%m.%d')}+{digest.hexdigest()[:8]}"


# what install() writes around the decoding settings in config.json (the version hashes the
# settings alone)
_MODEL_NAME = {"name": "propscan-minilm-tagger",
               "base_model": "sentence-transformers/all-MiniLM-L6-v2 (int8 ONNX)"}


def installed_model_version(install_dir: Path) -> str:
    """:func:`model_version` of an installed model directory, from its files: the version an
    install of this tagger with these settings would get today (e.g. after its graph was
    rewritten, ``scripts/relayer_model.py``)."""
    config = json.loads((Path(install_dir) / "config.json").read_text())
    settings = {k: v for k, v in config.items() if k not in {*_MODEL_NAME, "version"}}
    span_path = Path(install_dir) / "span_model.npz"
    span_model = SpanModel.load(span_path) if span_path.is_file() else None
    return model_version(install_dir, settings, span_model)


def install(final_model: Path, install_dir: Path, config: dict[str, Any], model: SpanModel,
            metrics: dict[str, Any]) -> None:
    """Copy the tagger and write config.json, span_model.npz and metrics.json."""
    install_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(final_model / name, install_dir / name)
    version = model_version(install_dir, config, model)
    config = {"name": _MODEL_NAME["name"], "version": version,
              "base_model": _MODEL_NAME["base_model"], **config}
    (install_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    model.save(install_dir / "span_model.npz")
    (install_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")


def run(cv_dir: Path, data_dir: Path, final_model: Path | None = None,
        install_dir: Path | None = None, threads: int = 2) -> dict[str, Any]:
    """Cross-fitted figures for ``cv_dir``; with ``final_model``, also fit and install."""
    from threadpoolctl import threadpool_limits

    # one BLAS thread: multi-threaded sums change the fits in the last bits, and near-ties
    # in threshold choices then move the printed figures in the third decimal
    with threadpool_limits(limits=1):
        return _run(cv_dir, data_dir, final_model, install_dir, threads)


def _run(cv_dir: Path, data_dir: Path, final_model: Path | None, install_dir: Path | None,
         threads: int) -> dict[str, Any]:
    corpus, fold_of = _load(cv_dir, data_dir, threads)
    figures = cross_fitted_figures(corpus, fold_of, workers=threads)
    figures["date"] = time.strftime("%Y-%m-%d")
    (Path(cv_dir) / "crossfit.json").write_text(json.dumps(figures, indent=1) + "\n")
    if final_model is not None and install_dir is not None:
        _log("fitting the shipped decoding on all out-of-fold scores")
        config, model, inner = fit_decoding(corpus, sorted(corpus.scores))
        metrics = {**figures, "shipped_config": config, "shipped_inner": inner,
                   "training_articles": len(corpus.texts)}
        install(final_model, install_dir, config, model, metrics)
        _log(f"installed {install_dir}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train.crossfit")
    parser.add_argument("cv_dir", type=Path, help="directory with fold0..foldN-1 runs")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--final", type=Path, default=None,
                        help="the all-data model directory (epochN) to ship")
    parser.add_argument("--install", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    try:
        figures = run(args.cv_dir, args.data, args.final, args.install, args.threads)
    except (PropscanError, FileNotFoundError) as exc:  # one line, as the propscan CLI does
        parser.exit(getattr(exc, "exit_code", 3), f"error: {exc}\n")
    print(json.dumps(figures, indent=1) if args.json else format_cross_validation(figures))


if __name__ == "__main__":
    main()
