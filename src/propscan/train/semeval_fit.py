"""Fitting and cross-validating the SemEval-2023 models (:mod:`propscan.detect.semeval`).

``python -m propscan.train.semeval_fit --data ../shared/data --folds 5`` prints 5-fold
cross-validated TC23 and paragraph micro-F1 (with the trivial baseline beside it),
per-technique and per-category F1 (mean ± std over folds); ``--install`` then fits on every
article and writes ``semeval23.npz`` and ``semeval23_metrics.json`` into the model directory.

The folds are those of the tagger's cross-validation (:func:`propscan.train.data.split_ids`
with the default fold seed), by article. Each fold's regularisation strengths, paragraph
thresholds and label cap are chosen on inner parts of its training articles only (nothing of
an inner held-out part reaches the inner training lines, word rates included). Only lexical
features (:mod:`propscan.detect.semeval_features`): the shipped tagger saw every one of these
articles, so its outputs would make these figures optimistic.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from propscan.detect.semeval import MODEL_FILE, SemevalModel, decide_labels, same_wording
from propscan.detect.semeval_features import (
    fragment_dense,
    fragment_terms,
    line_dense,
    line_terms,
    rate_features,
    rate_keys,
    vectorize,
)
from propscan.evaluate.semeval import (
    Triple,
    baseline_paragraphs,
    by_category,
    category_2023,
    cell_micro_f1,
    format_result,
    paragraph_gold,
    paragraph_scores,
    read_semeval,
    set_scores,
    summarize_folds,
    tc23_scores,
)
from propscan.train.config import TrainConfig
from propscan.train.data import split_ids

__all__ = ["Corpus", "FitOptions", "prepare", "fold_assignment", "fit", "cross_validate",
           "format_result", "main"]

log = logging.getLogger(__name__)

FRAGMENT_CS = (1.0, 2.0, 4.0)  # inverse regularisation strengths tried in each fold
LINE_CS = (0.5, 1.0, 2.0)
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.10, 0.61, 0.025), 3))
MAX_LABELS = (0, 2, 3, 4)  # most labels per line tried in each fold (0: no cap)
INNER_FOLDS = 3  # parts of a fold's training articles: every choice is made on these
RATE_PARTS = 5  # parts for cross-fitting the training lines' rate features
MIN_DF = 2  # terms in fewer training fragments (lines) are left out of the vocabulary
CHAR_MIN_DF = 5  # the same for lines' character n-grams (keeps fitting fast)
RATE_PRIOR = 3  # pseudo-lines added to each key's count: rare words get no extreme rates
OWN_THRESHOLD_LINES = 40  # techniques on fewer inner lines keep the common threshold


@dataclass(frozen=True)
class FitOptions:
    """What :func:`fit` tries; every choice among them is made on inner parts."""

    fragment_cs: tuple[float, ...] = FRAGMENT_CS
    line_cs: tuple[float, ...] = LINE_CS
    max_labels: tuple[int, ...] = MAX_LABELS
    line_chars: bool = True
    own_thresholds: bool = True


@dataclass
class Corpus:
    """Features of every gold row and every non-empty line, computed once."""

    texts: dict[str, str]
    rows: list[tuple[str, str, int, int]]  # (article, technique, start, end)
    frag_terms: list[list[str]]
    frag_dense: np.ndarray
    frag_keys: list[set[str]]
    lines: list[tuple[str, int]]  # (article, line number from 1)
    line_terms: list[list[str]]
    line_dense: np.ndarray
    line_keys: list[set[str]]
    gold_lines: set[Triple]

    def row_ids(self, articles: set[str]) -> np.ndarray:
        return np.array([i for i, r in enumerate(self.rows) if r[0] in articles], np.int64)

    def line_ids(self, articles: set[str]) -> np.ndarray:
        return np.array([i for i, ln in enumerate(self.lines) if ln[0] in articles], np.int64)


def prepare(texts: dict[str, str], rows: list[tuple[str, str, int, int]]) -> Corpus:
    rows = sorted(r for r in rows if r[0] in texts)
    by_article: dict[str, list[tuple[int, int]]] = {}
    for aid, _, s, e in rows:
        by_article.setdefault(aid, []).append((s, e))
    same = {aid: dict(zip(spans, same_wording(texts[aid], spans), strict=True))
            for aid, spans in by_article.items()}
    lines, l_terms, l_dense, l_keys = [], [], [], []
    for aid, text in sorted(texts.items()):
        all_lines = text.split("\n")
        for number, line in enumerate(all_lines, 1):
            if line.strip():
                lines.append((aid, number))
                l_terms.append(line_terms(line))
                l_dense.append(line_dense(line, number, len(all_lines)))
                l_keys.append(rate_keys(line))
    return Corpus(
        texts, rows, [fragment_terms(texts[a], s, e) for a, _, s, e in rows],
        np.array([fragment_dense(texts[a], s, e, same[a][(s, e)]) for a, _, s, e in rows],
                 np.float32).reshape(len(rows), -1),
        [rate_keys(texts[a][s:e]) for a, _, s, e in rows], lines, l_terms,
        np.array(l_dense, np.float32), l_keys, paragraph_gold(texts, rows))


def fold_assignment(ids: list[str], folds: int, seed: int | None = None) -> dict[str, int]:
    """Article -> fold, exactly as the tagger's cross-validation holds articles out."""
    seed = TrainConfig().fold_seed if seed is None else seed
    out = {}
    for k in range(folds):
        for aid in split_ids(list(ids), seed=seed, fold=(k, folds))[2]:
            out[aid] = k
    return out


def _vocab(term_lists: list[list[str]], char_min_df: int | None = MIN_DF) -> dict[str, int]:
    """Terms in at least MIN_DF rows; ``c:`` terms in at least ``char_min_df`` (None: left
    out)."""
    df: dict[str, int] = {}
    for terms in term_lists:
        for t in set(terms):
            df[t] = df.get(t, 0) + 1
    char_min = char_min_df if char_min_df is not None else len(term_lists) + 1
    kept = sorted(t for t, n in df.items() if n >= (char_min if t[:2] == "c:" else MIN_DF))
    return {t: i for i, t in enumerate(kept)}


def _matrix(term_lists: list[list[str]], dense: np.ndarray, vocab: dict[str, int]
            ) -> sparse.csr_matrix:
    indptr, indices, data = [0], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
    for terms in term_lists:
        cols, vals = vectorize(terms, vocab)
        indices.append(cols)
        data.append(vals)
        indptr.append(indptr[-1] + len(cols))
    lexical = sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                                shape=(len(term_lists), len(vocab)))
    return sparse.hstack([lexical, sparse.csr_matrix(dense)], format="csr")


def _rates(corpus: Corpus, articles: set[str], classes: tuple[str, ...]
           ) -> tuple[dict[str, int], np.ndarray]:
    """The rate table of :func:`rate_features` from the articles' spans and lines."""
    lines_with: dict[str, int] = {}
    for i in corpus.line_ids(articles):
        for key in corpus.line_keys[i]:
            lines_with[key] = lines_with.get(key, 0) + 1
    inside: dict[str, np.ndarray] = {}
    column = {c: j for j, c in enumerate(classes)}
    for i in corpus.row_ids(articles):
        for key in corpus.frag_keys[i]:
            if lines_with.get(key, 0) >= MIN_DF and corpus.rows[i][1] in column:
                inside.setdefault(key, np.zeros(len(classes)))[column[corpus.rows[i][1]]] += 1
    keys = sorted(inside)
    table = np.array([inside[k] / (lines_with[k] + RATE_PRIOR) for k in keys]).reshape(
        len(keys), len(classes))
    return {k: j for j, k in enumerate(keys)}, np.minimum(table, 1.0)


def _rate_dense(corpus: Corpus, idx: np.ndarray, index: dict[str, int], table: np.ndarray
                ) -> np.ndarray:
    return np.array([rate_features(corpus.line_keys[i], index, table) for i in idx],
                    np.float32).reshape(len(idx), -1)


def _cross_rates(corpus: Corpus, idx: np.ndarray, articles: set[str], rate_part: dict[str, int],
                 classes: tuple[str, ...]) -> np.ndarray:
    """Rate features of training lines ``idx``, each from ``articles`` outside its own rate
    part (as a test line's come from articles other than its own)."""
    owner = np.array([rate_part[corpus.lines[i][0]] for i in idx], np.int64)
    out = np.zeros((len(idx), 2 * len(classes)), np.float32)
    for r in np.unique(owner):
        table = _rates(corpus, {a for a in articles if rate_part[a] != r}, classes)
        out[owner == r] = _rate_dense(corpus, idx[owner == r], *table)
    return out


def _fit_lines(corpus: Corpus, idx: np.ndarray, rate_dense: np.ndarray, classes: tuple[str, ...],
               cs: tuple[float, ...], chars: bool
               ) -> dict[float, tuple[dict[str, int], np.ndarray, np.ndarray]]:
    """One logistic regression per technique over the lines ``idx``, for each C in ``cs``
    (warm-started from the previous C)."""
    from sklearn.linear_model import LogisticRegression

    vocab = _vocab([corpus.line_terms[i] for i in idx], CHAR_MIN_DF if chars else None)
    x = _matrix([corpus.line_terms[i] for i in idx],
                np.hstack([corpus.line_dense[idx], rate_dense]), vocab)
    out = {c: (vocab, np.zeros((x.shape[1], len(classes))), np.zeros(len(classes))) for c in cs}
    for j, tech in enumerate(classes):
        y = np.array([(*corpus.lines[i], tech) in corpus.gold_lines for i in idx])
        clf = LogisticRegression(max_iter=200, warm_start=True)
        for c in sorted(cs):
            if y.any() and not y.all():
                clf.set_params(C=c).fit(x, y)
                out[c][1][:, j], out[c][2][j] = clf.coef_[0], clf.intercept_[0]
            else:
                out[c][2][j] = -20.0  # never seen in these lines: never predicted
    return out


def _choose_lines(probs: dict[float, np.ndarray], gold: np.ndarray, options: FitOptions
                  ) -> tuple[float, float, np.ndarray, int, dict[str, float]]:
    """The C, thresholds and cap with the best micro-F1 on inner held-out lines: first one
    common threshold with the cap, then (``own_thresholds``) each frequent technique's own."""
    scores = {(c, t, k): cell_micro_f1(decide_labels(p, np.full(p.shape[1], t), k), gold)
              for c, p in probs.items() for t in THRESHOLDS for k in options.max_labels}
    c, t, k = max(scores, key=lambda key: (scores[key], -key[0], -key[1], -key[2]))
    thresholds = np.full(gold.shape[1], t)
    if options.own_thresholds:
        for j in (int(i) for i in np.flatnonzero(gold.sum(axis=0) >= OWN_THRESHOLD_LINES)):
            def f1_with(value: float, column: int = j) -> float:
                trial = thresholds.copy()
                trial[column] = value
                return cell_micro_f1(decide_labels(probs[c], trial, k), gold)
            thresholds[j] = max(THRESHOLDS, key=lambda v: (f1_with(v), -abs(v - t)))
    inner = {str(cc): max(v for key, v in scores.items() if key[0] == cc) for cc in probs}
    inner["chosen, own thresholds"] = cell_micro_f1(decide_labels(probs[c], thresholds, k), gold)
    return c, t, thresholds, k, inner


def _choose_fragment_c(corpus: Corpus, articles: set[str], part: dict[str, int],
                       cs: tuple[float, ...]) -> tuple[float, dict[str, float]]:
    """The C with the best accuracy (TC23 micro-F1, one name per row) on inner parts."""
    from sklearn.linear_model import LogisticRegression

    right = dict.fromkeys(cs, 0)
    for j in range(INNER_FOLDS):
        rows = corpus.row_ids({a for a in articles if part[a] != j})
        held = corpus.row_ids({a for a in articles if part[a] == j})
        vocab = _vocab([corpus.frag_terms[i] for i in rows])
        x = _matrix([corpus.frag_terms[i] for i in rows], corpus.frag_dense[rows], vocab)
        x_held = _matrix([corpus.frag_terms[i] for i in held], corpus.frag_dense[held], vocab)
        y_held = np.array([corpus.rows[i][1] for i in held])
        clf = LogisticRegression(max_iter=300, warm_start=True)
        for c in sorted(cs):
            clf.set_params(C=c).fit(x, [corpus.rows[i][1] for i in rows])
            right[c] += int((clf.predict(x_held) == y_held).sum())
    accuracy = {str(c): right[c] / max(len(corpus.row_ids(articles)), 1) for c in cs}
    return max(cs, key=lambda c: (right[c], -c)), accuracy


def fit(corpus: Corpus, articles: set[str], options: FitOptions | None = None) -> SemevalModel:
    """Both models fitted on the articles' rows and lines. Their C, the paragraph thresholds
    and the label cap are chosen on 3 inner parts of ``articles`` (fit on two, score the
    third); ``model.info`` records the choices and their inner scores."""
    from sklearn.linear_model import LogisticRegression

    options = options or FitOptions()
    ordered = sorted(articles)
    part = {a: j % INNER_FOLDS for j, a in enumerate(ordered)}
    rate_part = {a: (j // INNER_FOLDS) % RATE_PARTS for j, a in enumerate(ordered)}
    fragment_c, fragment_inner = _choose_fragment_c(corpus, articles, part, options.fragment_cs)
    rows = corpus.row_ids(articles)
    f_vocab = _vocab([corpus.frag_terms[i] for i in rows])
    x = _matrix([corpus.frag_terms[i] for i in rows], corpus.frag_dense[rows], f_vocab)
    clf = LogisticRegression(C=fragment_c, max_iter=300).fit(
        x, [corpus.rows[i][1] for i in rows])

    l_classes = tuple(sorted({t[2] for t in corpus.gold_lines if t[0] in articles}))
    idx = corpus.line_ids(articles)
    gold = np.array([[(*corpus.lines[i], t) in corpus.gold_lines for t in l_classes]
                     for i in idx], bool).reshape(len(idx), len(l_classes))
    owner = np.array([part[corpus.lines[i][0]] for i in idx])
    probs = {c: np.zeros((len(idx), len(l_classes))) for c in options.line_cs}
    for j in range(INNER_FOLDS):
        # nothing of the held-out part reaches the inner training lines, rates included
        kept = {a for a in articles if part[a] != j}
        train, held = idx[owner != j], idx[owner == j]
        held_rates = _rate_dense(corpus, held, *_rates(corpus, kept, l_classes))
        train_rates = _cross_rates(corpus, train, kept, rate_part, l_classes)
        for c, (vocab, w, b) in _fit_lines(corpus, train, train_rates, l_classes,
                                           options.line_cs, options.line_chars).items():
            z = _matrix([corpus.line_terms[i] for i in held],
                        np.hstack([corpus.line_dense[held], held_rates]), vocab) @ w + b
            probs[c][owner == j] = 1 / (1 + np.exp(-z))
    line_c, common, thresholds, cap, line_inner = _choose_lines(probs, gold, options)
    l_vocab, l_w, l_b = _fit_lines(
        corpus, idx, _cross_rates(corpus, idx, articles, rate_part, l_classes), l_classes,
        (line_c,), options.line_chars)[line_c]
    rate_index, rates = _rates(corpus, articles, l_classes)
    f_w, f_b = clf.coef_.T, clf.intercept_
    if len(clf.classes_) == 2:  # sklearn keeps one column for two classes: softmax([0, z])
        f_w, f_b = np.hstack([np.zeros_like(f_w), f_w]), np.array([0.0, f_b[0]])
    info = {"fragment_c": fragment_c, "fragment_inner_accuracy": fragment_inner,
            "line_c": line_c, "line_inner_f1": line_inner, "line_threshold": common,
            "line_max_labels": cap,
            "line_thresholds": dict(zip(l_classes, map(float, thresholds), strict=True))}
    return SemevalModel(tuple(str(c) for c in clf.classes_), f_vocab, f_w.copy(),
                        f_b.copy(), l_classes, l_vocab, l_w, l_b, common,
                        rate_index, rates, info, thresholds, cap)


def evaluate_fold(corpus: Corpus, train: set[str], test: set[str],
                  options: FitOptions | None = None) -> dict[str, Any]:
    """Fit on ``train``, score ``test``: TC23, paragraphs, the baseline, per category, and the
    choices made on ``train``'s inner parts."""
    model = fit(corpus, train, options)
    pred_tc: list[tuple[str, str, int, int]] = []
    pred_lines: set[Triple] = set()
    for aid in sorted(test):
        text = corpus.texts[aid]
        spans = [(s, e) for a, _, s, e in corpus.rows if a == aid]
        pred_tc += [(aid, t, s, e) for (s, e), t in zip(spans, model.classify(text, spans),
                                                         strict=True)]
        pred_lines |= {(aid, n, t) for n, names in enumerate(model.paragraph_labels(text), 1)
                       for t in names}
    gold_tc = [r for r in corpus.rows if r[0] in test]
    gold_lines = {t for t in corpus.gold_lines if t[0] in test}
    base, k = baseline_paragraphs({a: corpus.texts[a] for a in train},
                                  {t for t in corpus.gold_lines if t[0] in train},
                                  {a: corpus.texts[a] for a in test})
    return {"articles": len(test), "choices": model.info, "baseline_k": k,
            "tc23": tc23_scores(pred_tc, gold_tc),
            "tc23_category": by_category(category_2023, pred_tc, gold_tc, 1),
            "paragraph": paragraph_scores(pred_lines, gold_lines),
            "paragraph_category": by_category(category_2023, pred_lines, gold_lines, 2),
            "baseline": set_scores(base, gold_lines)}


def cross_validate(data_dir: Path, folds: int = 5, options: FitOptions | None = None
                   ) -> dict[str, Any]:
    """``folds``-fold cross-validation by article on a SemEval-2023 subtask 3 directory (or a
    directory holding ``semeval2023-en-train``)."""
    texts, rows = read_semeval(data_dir)
    corpus = prepare(texts, rows)
    fold_of = fold_assignment(list(texts), folds)
    results = []
    for k in range(folds):
        t0 = time.time()
        test = {a for a, f in fold_of.items() if f == k}
        results.append(evaluate_fold(corpus, set(texts) - test, test, options or FitOptions()))
        log.info("fold %d: TC23 %.3f, paragraphs %.3f (baseline %.3f), %.0f s; chose %s", k,
                 results[-1]["tc23"]["micro_f1"], results[-1]["paragraph"]["f1"],
                 results[-1]["baseline"]["f1"], time.time() - t0,
                 {c: v for c, v in results[-1]["choices"].items() if not isinstance(v, dict)})
    return {"evaluation": f"{folds}-fold cross-validation by article (the tagger's folds) on "
                          "the SemEval-2023 re-annotation of the PTC training articles; lexical "
                          "features only, no output of the shipped tagger; regularisation, "
                          "thresholds and label cap chosen on 3 inner parts of each fold's "
                          "training articles",
            "folds": results, "mean_std": summarize_folds(results)}


def install(data_dir: Path, model_dir: Path, metrics: dict[str, Any] | None) -> Path:
    """Fit on every article and write ``semeval23.npz`` (and the figures) into ``model_dir``."""
    texts, rows = read_semeval(data_dir)
    model = fit(prepare(texts, rows), set(texts))
    model.save(model_dir / MODEL_FILE)
    if metrics is not None:
        (model_dir / "semeval23_metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return model_dir / MODEL_FILE


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train.semeval_fit",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="semeval2023-en-train, or the directory holding it")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--install", action="store_true",
                        help="then fit on every article and write the model")
    parser.add_argument("--model-dir", type=Path,
                        default=Path(__file__).resolve().parents[1] / "detect" / "model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = cross_validate(args.data, args.folds) if args.folds > 1 else None
    if result is not None:
        print(format_result(result))
    if args.install:
        print(f"wrote {install(args.data, args.model_dir, result)}")


if __name__ == "__main__":
    main()
