"""Fitting the decoding on out-of-fold scores: candidate decoder settings, the span model (two
logistic regressions, see :mod:`propscan.detect.span_model`) and its calibration.

:func:`fit_decoding` makes every choice on an inner 2-fold split of the articles it is given,
so that each choice is scored on articles the span model did not fit. Needs scikit-learn and
scipy (train extra); no torch.
"""

from __future__ import annotations

import logging
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect import Detector
from propscan.detect.decoding import DecodingConfig
from propscan.detect.span_model import DENSE_NAMES, SpanFeatures, SpanModel, merge_span_models
from propscan.errors import ConfigError
from propscan.evaluate import si_scores
from propscan.techniques import TECHNIQUE_NAMES
from propscan.train.calibration import fit_isotonic
from propscan.train.scored_corpus import MIN_CHARS, ScoredCorpus, SpanRows, concat_rows

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
_N_TECH = len(TECHNIQUE_NAMES)
# whether a span's words recur in its article: a feature already, read as the detector does
_REPEATED = DENSE_NAMES.index("repeated")


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


def fit_decoding(corpus: ScoredCorpus, ids: list[str], base: SpanModel | None = None,
                 target: list[str] | None = None
                 ) -> tuple[dict[str, Any], SpanModel, dict[str, float]]:
    """Choose thresholds, fit the span model and the calibration on ``ids`` only.

    Returns the decoding settings (``config.json`` keys, and ``technique_c``), the span model
    and the inner-split figures behind the choices. Choices use an inner 2-fold split of
    ``ids`` so that each is scored on articles the span model did not fit.

    ``propscan adapt`` passes ``base`` (the model's span model) and ``target`` (the reviewed
    articles among ``ids``, which also hold PTC articles). The choices are then scored on
    ``target``'s gold alone, which the calibration is fitted on too, and the base model's
    parts compete with the refitted ones: its technique regression as it is, or "shifted"
    (its biases refitted to the technique mix of ``target``), and its p(real) regression. The
    config says what won (``technique_model``: ``base``, ``shifted`` or ``refitted``;
    ``real_model``: ``base`` or ``refitted``).
    """
    scored = set(ids) if target is None else set(ids) & set(target)
    halves = _halves(ids)
    for half in halves:
        # each inner half fits a technique regression: it needs two techniques at least
        if len({row[1] for row in corpus.gold if row[0] in set(half)}) < 2:
            raise _too_few(f"{len(ids)} articles; each half of them needs gold fragments of "
                           "two techniques or more")
    gold_feats, gold_y = corpus.gold_matrix_parts(ids)
    vocab = _vocab(gold_feats.tokens)
    tc_accuracy, tech, rule, tech_halves = _choose_technique_model(corpus, halves, vocab,
                                                                   base, scored)
    log.info("technique model: %s repetition_rule=%s (inner TC %.4f)", tech, rule,
             tc_accuracy)
    si_f1, choice = _choose_span_filter(corpus, ids, halves, vocab, rule, tech_halves, base,
                                        scored)
    log.info("span filter: threshold=%s max_gap=%s switch_penalty=%s keep=%s (inner SI F1 "
             "%.4f)", choice["threshold"], choice["max_gap_chars"], choice["switch_penalty"],
             choice["keep_threshold"], si_f1)

    # final span model on all ids, calibration from the inner out-of-sample scores
    rows_all = concat_rows([corpus.candidates(choice["threshold"], choice["max_gap_chars"],
                                              choice["switch_penalty"], a) for a in ids])
    model = _shell(vocab, np.vstack([gold_feats.dense, rows_all.feats.dense]))
    tech_model = model
    if isinstance(tech, float):
        model.tech_w, model.tech_b = _fit_tech(_design(model, gold_feats), gold_y, tech)
    elif base is not None:
        tech_model = base if tech == "base" else _shifted(base, corpus, sorted(scored))
    if not choice["base_real"]:
        model.real_w, model.real_b = _fit_real(_design(model, rows_all.feats),
                                               rows_all.soft_real)
    if base is not None and (tech_model is not model or choice["base_real"]):
        model = merge_span_models(tech_model, base if choice["base_real"] else model)
    kept = [(raw, ok) for *_, p, raw, ok in choice["oos"] if p >= choice["keep_threshold"]]
    model.calib_x, model.calib_y = fit_isotonic([r for r, _ in kept], [o for _, o in kept])
    config = {"threshold": choice["threshold"], "max_gap_chars": choice["max_gap_chars"],
              "switch_penalty": choice["switch_penalty"], "min_chars": MIN_CHARS,
              "keep_threshold": choice["keep_threshold"], "repetition_rule": rule,
              "technique_c": tech if isinstance(tech, float) else None}
    if base is not None:
        config["technique_model"] = "refitted" if isinstance(tech, float) else tech
        config["real_model"] = "base" if choice["base_real"] else "refitted"
    return config, model, {"inner_si_f1": si_f1, "inner_tc_accuracy": tc_accuracy}


_Halves = tuple[tuple[str, ...], tuple[str, ...]]
#: a technique regression: refitted with this C, or the base model's ("base", "shifted")
TechOption = float | str


def _fit_shift(logits: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Bias shifts that make softmax(``logits`` + shift) fit labels ``y`` (L2-penalised): the
    base classifier's view of each span kept, its prior over techniques moved to the data's."""
    from scipy.optimize import minimize

    rows = np.arange(len(y))

    def loss(shift: np.ndarray) -> tuple[float, np.ndarray]:
        z = logits + shift
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = p.copy()
        grad[rows, y] -= 1.0
        return (float(-np.log(p[rows, y] + 1e-12).sum() + l2 * shift @ shift),
                grad.sum(axis=0) + 2 * l2 * shift)

    return minimize(loss, np.zeros(logits.shape[1]), jac=True, method="L-BFGS-B").x


def _shifted(base: SpanModel, corpus: ScoredCorpus, ids: list[str]) -> SpanModel:
    """``base`` with its technique biases shifted to the gold of ``ids`` (unchanged without
    any)."""
    if not any(corpus.gold_by.get(a) for a in ids):
        return base
    feats, y = corpus.gold_matrix_parts(ids)
    shift = _fit_shift(np.asarray(_design(base, feats) @ base.tech_w.T) + base.tech_b, y)
    return SpanModel(base.vocab, base.dense_mean, base.dense_std, base.real_w, base.real_b,
                     base.tech_w, (base.tech_b + shift).astype(np.float32), base.calib_x,
                     base.calib_y)


def _choose_technique_model(corpus: ScoredCorpus, halves: _Halves, vocab: list[str],
                            base: SpanModel | None = None, scored: set[str] | None = None
                            ) -> tuple[float, TechOption, bool | str,
                                       dict[tuple[str, ...], SpanModel]]:
    """The technique regression (a C to refit with, or with ``base`` its regression as it is
    or shifted) and the repetition rule, by inner-split TC accuracy on the gold spans of
    ``scored`` articles (default: all): (accuracy, option, rule, the technique model of each
    half's fit)."""
    half_a, half_b = halves
    parts = {h: corpus.gold_matrix_parts(list(h)) for h in halves}
    best_tc: tuple[float, TechOption, bool | str] = (-1.0, TECH_C[0], True)
    tech_fits: dict[tuple[TechOption, tuple[str, ...]], SpanModel] = {}  # (option, fit half)
    options: tuple[TechOption, ...] = TECH_C if base is None else (*TECH_C, "base", "shifted")
    for option in options:
        p_gold: dict[tuple[str, ...], np.ndarray] = {}
        for train_h, test_h in ((half_a, half_b), (half_b, half_a)):
            if isinstance(option, float):
                shell = _shell(vocab, parts[train_h][0].dense)
                shell.tech_w, shell.tech_b = _fit_tech(_design(shell, parts[train_h][0]),
                                                       parts[train_h][1], option)
            else:
                assert base is not None
                shell = base if option == "base" else _shifted(
                    base, corpus, [a for a in train_h if scored is None or a in scored])
            tech_fits[(option, train_h)] = shell
            p_gold[test_h] = shell.p_technique(_design(shell, parts[test_h][0]))
        for rule in REPETITION_RULES:
            accuracy = _inner_tc_accuracy(corpus, halves, p_gold, rule, scored)
            if accuracy > best_tc[0]:
                best_tc = (accuracy, option, rule)
    accuracy, tech, rule = best_tc
    return accuracy, tech, rule, {h: tech_fits[(tech, h)] for h in halves}


def _inner_tc_accuracy(corpus: ScoredCorpus, halves: _Halves,
                       p_gold: dict[tuple[str, ...], np.ndarray], rule: bool | str,
                       scored: set[str] | None = None) -> float:
    """Share of gold spans (of ``scored`` articles, default all) whose technique (argmax of
    ``p_gold``, then the repetition ``rule``) is right."""
    det = decoding_detector({"repetition_rule": rule}, None)
    correct = total = 0
    for h in halves:
        pred = p_gold[h].argmax(axis=1)
        r = 0
        for aid in h:
            feats, _ = corpus.gold_rows(aid)
            for j, (tech, s, e) in enumerate(corpus.gold_by.get(aid, [])):
                r += 1
                if scored is not None and aid not in scored:
                    continue
                label = TECHNIQUE_NAMES[pred[r - 1]]
                if det._repetition_applies(corpus.texts[aid], s, e,
                                           bool(feats.dense[j, _REPEATED])):
                    label = "Repetition"
                correct += label == tech
                total += 1
    return correct / max(total, 1)


def _choose_span_filter(corpus: ScoredCorpus, ids: list[str], halves: _Halves,
                        vocab: list[str], rule: bool | str,
                        tech_halves: dict[tuple[str, ...], SpanModel],
                        base: SpanModel | None = None, scored: set[str] | None = None
                        ) -> tuple[float, dict[str, Any]]:
    """Candidate decoder settings, keep threshold and, with ``base``, whether its p(real)
    regression beats a refitted one, by inner-split SI F1 on the ``scored`` articles
    (default: all): (F1, the choice with its out-of-sample spans there under ``"oos"``)."""
    if scored is not None:
        ids = [a for a in ids if a in scored]
    gold_si = [(aid, s, e) for aid in ids for _, s, e in corpus.gold_by.get(aid, [])]
    best: tuple[float, dict[str, Any] | None] = (-1.0, None)
    reals = (None,) if base is None else (None, base)  # None: refitted on the other half
    for (thr, gap, penalty), real in product(CANDIDATE_SETTINGS, reals):
        oos = _out_of_sample_spans(corpus, halves, vocab, rule, tech_halves, thr, gap, penalty,
                                   real)
        if scored is not None:
            oos = [row for row in oos if row[0] in scored]
        for keep in KEEP_THRESHOLDS:
            pred = [(a, s, e) for a, s, e, p, _, _ in oos if p >= keep]
            si = si_scores(pred, gold_si)
            if si["f1"] > best[0]:
                best = (si["f1"], {"threshold": thr, "max_gap_chars": gap,
                                   "switch_penalty": penalty, "keep_threshold": keep,
                                   "base_real": real is not None, "si": si, "oos": oos})
    f1, choice = best
    assert choice is not None
    return f1, choice


def _out_of_sample_spans(corpus: ScoredCorpus, halves: _Halves, vocab: list[str],
                         rule: bool | str, tech_halves: dict[tuple[str, ...], SpanModel],
                         thr: float, gap: int, penalty: float, real: SpanModel | None = None
                         ) -> list[tuple[str, int, int, float, float, bool]]:
    """Each half's candidates scored by a span model fitted on the other half (or by
    ``real``'s p(real)): rows (article, start, end, p_real, raw confidence, whether the
    technique is right)."""
    half_a, half_b = halves
    rows = {h: concat_rows([corpus.candidates(thr, gap, penalty, a) for a in h]) for h in halves}
    det = decoding_detector({"repetition_rule": rule}, None)
    oos = []
    for train_h, test_h in ((half_a, half_b), (half_b, half_a)):
        tr, te = rows[train_h], rows[test_h]
        if not len(tr.spans) or not len(te.spans):
            continue
        if real is None:
            shell = _shell(vocab, tr.feats.dense)
            shell.real_w, shell.real_b = _fit_real(_design(shell, tr.feats), tr.soft_real)
        p_real = (real or shell).p_real(_design(real or shell, te.feats))
        tech_model = tech_halves[train_h]
        p_tech = tech_model.p_technique(_design(tech_model, te.feats))
        for i, (aid, (s, e)) in enumerate(zip(te.aids, te.spans, strict=True)):
            j = int(p_tech[i].argmax())
            label = TECHNIQUE_NAMES[j]
            if det._repetition_applies(corpus.texts[aid], s, e,
                                       bool(te.feats.dense[i, _REPEATED])):
                label = "Repetition"
            oos.append((aid, s, e, float(p_real[i]), float(p_real[i] * p_tech[i, j]),
                        label in te.gold_techs[i]))
    return oos
