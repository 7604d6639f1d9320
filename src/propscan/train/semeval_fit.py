"""Fitting and cross-validating the SemEval-2023 models (:mod:`propscan.detect.semeval`).

``python -m propscan.train.semeval_fit --data ../shared/data --folds 5`` prints 5-fold
cross-validated TC23 and paragraph micro-F1 (with the trivial baseline beside it),
per-technique and per-category F1 (mean ± std over folds); ``--install`` then fits on every
article and writes ``semeval23.npz`` and ``semeval23_metrics.json`` into the model directory.

The folds are those of the tagger's cross-validation (:func:`propscan.train.data.split_ids`
with the default fold seed), by article. Each fold's regularisation strengths and paragraph
threshold are chosen by an inner cross-validation on its training articles only. Only lexical
features are used (:mod:`propscan.detect.semeval_features`): the shipped tagger saw every one
of these articles, so its outputs would make these figures optimistic.
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

from propscan.detect.semeval import MODEL_FILE, SemevalModel, same_wording
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
    paragraph_gold,
    paragraph_scores,
    read_semeval,
    set_scores,
    tc23_scores,
)
from propscan.train.config import TrainConfig
from propscan.train.data import split_ids

__all__ = ["Corpus", "prepare", "fold_assignment", "fit", "cross_validate", "main"]

log = logging.getLogger(__name__)

# inverse regularisation strengths, fixed (choosing them inside each fold cost too much time
# on 2 cores; fold 0 was looked at once for C in 0.3..8, a small optimistic bias)
FRAGMENT_C = 2.0
LINE_C = 1.0
THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.10, 0.61, 0.025), 3))
INNER_FOLDS = 3  # parts of a fold's training articles: cross-fitted rates, threshold choice
MIN_DF = 2  # terms in fewer training fragments (lines) are left out of the vocabulary
RATE_PRIOR = 3  # pseudo-lines added to each key's count: rare words get no extreme rates


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


def _vocab(term_lists: list[list[str]]) -> dict[str, int]:
    df: dict[str, int] = {}
    for terms in term_lists:
        for t in set(terms):
            df[t] = df.get(t, 0) + 1
    return {t: i for i, t in enumerate(sorted(t for t, n in df.items() if n >= MIN_DF))}


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


def _line_matrix(corpus: Corpus, idx: np.ndarray, vocab: dict[str, int],
                 rate_dense: np.ndarray) -> sparse.csr_matrix:
    return _matrix([corpus.line_terms[i] for i in idx],
                   np.hstack([corpus.line_dense[idx], rate_dense]), vocab)


def _rate_dense(corpus: Corpus, idx: np.ndarray, index: dict[str, int], table: np.ndarray
                ) -> np.ndarray:
    return np.array([rate_features(corpus.line_keys[i], index, table) for i in idx],
                    np.float32).reshape(len(idx), -1)


def _fit_lines(corpus: Corpus, idx: np.ndarray, rate_dense: np.ndarray,
               classes: tuple[str, ...]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """One logistic regression per technique over the lines ``idx`` (rate features given,
    cross-fitted)."""
    from sklearn.linear_model import LogisticRegression

    vocab = _vocab([corpus.line_terms[i] for i in idx])
    x = _line_matrix(corpus, idx, vocab, rate_dense)
    w, b = np.zeros((x.shape[1], len(classes))), np.zeros(len(classes))
    for j, tech in enumerate(classes):
        y = np.array([(*corpus.lines[i], tech) in corpus.gold_lines for i in idx])
        if y.any():
            clf = LogisticRegression(C=LINE_C, max_iter=200).fit(x, y)
            w[:, j], b[j] = clf.coef_[0], clf.intercept_[0]
        else:
            b[j] = -20.0  # never seen in these lines: never predicted
    return vocab, w, b


def fit(corpus: Corpus, articles: set[str]) -> SemevalModel:
    """Both models fitted on the articles' rows and lines; the paragraph threshold is the
    best on their lines' inner cross-validated probabilities."""
    from sklearn.linear_model import LogisticRegression

    rows = corpus.row_ids(articles)
    f_vocab = _vocab([corpus.frag_terms[i] for i in rows])
    x = _matrix([corpus.frag_terms[i] for i in rows], corpus.frag_dense[rows], f_vocab)
    clf = LogisticRegression(C=FRAGMENT_C, max_iter=300).fit(x, [corpus.rows[i][1] for i in rows])
    l_classes = tuple(sorted({t[2] for t in corpus.gold_lines if t[0] in articles}))
    # rate features of the training lines come from the other inner parts (as a test line's
    # come from articles other than its own), and so do the probabilities that set the threshold
    part = {a: j % INNER_FOLDS for j, a in enumerate(sorted(articles))}
    idx = corpus.line_ids(articles)
    owner = np.array([part[corpus.lines[i][0]] for i in idx])
    rate_dense = np.zeros((len(idx), 2 * len(l_classes)), np.float32)
    for j in range(INNER_FOLDS):
        table = _rates(corpus, {a for a in articles if part[a] != j}, l_classes)
        rate_dense[owner == j] = _rate_dense(corpus, idx[owner == j], *table)
    probs = np.zeros((len(idx), len(l_classes)))
    for j in range(INNER_FOLDS):
        vocab, w, b = _fit_lines(corpus, idx[owner != j], rate_dense[owner != j], l_classes)
        z = _line_matrix(corpus, idx[owner == j], vocab, rate_dense[owner == j]) @ w + b
        probs[owner == j] = 1 / (1 + np.exp(-z))
    gold = {t for t in corpus.gold_lines if t[0] in articles}

    def triples(threshold: float) -> set[Triple]:
        hit = np.argwhere(probs >= threshold)
        return {(*corpus.lines[idx[r]], l_classes[c]) for r, c in hit}

    threshold = max(THRESHOLDS, key=lambda t: set_scores(triples(t), gold)["f1"])
    l_vocab, l_w, l_b = _fit_lines(corpus, idx, rate_dense, l_classes)
    rate_index, rates = _rates(corpus, articles, l_classes)
    f_w, f_b = clf.coef_.T, clf.intercept_
    if len(clf.classes_) == 2:  # sklearn keeps one column for two classes: softmax([0, z])
        f_w, f_b = np.hstack([np.zeros_like(f_w), f_w]), np.array([0.0, f_b[0]])
    return SemevalModel(tuple(str(c) for c in clf.classes_), f_vocab, f_w.copy(),
                        f_b.copy(), l_classes, l_vocab, l_w, l_b, threshold,
                        rate_index, rates)


def _category(name: str) -> str:
    from propscan.techniques import get_semeval_technique

    return get_semeval_technique(name).category


def evaluate_fold(corpus: Corpus, train: set[str], test: set[str]) -> dict[str, Any]:
    """Fit on ``train``, score ``test``: TC23, paragraphs, the baseline, per category."""
    model = fit(corpus, train)
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
    return {"articles": len(test), "line_threshold": model.line_threshold, "baseline_k": k,
            "tc23": tc23_scores(pred_tc, gold_tc),
            "tc23_category": by_category(_category, pred_tc, gold_tc, 1),
            "paragraph": paragraph_scores(pred_lines, gold_lines),
            "paragraph_category": by_category(_category, pred_lines, gold_lines, 2),
            "baseline": set_scores(base, gold_lines)}


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def cross_validate(data_dir: Path, folds: int = 5) -> dict[str, Any]:
    """``folds``-fold cross-validation by article on a SemEval-2023 subtask 3 directory (or a
    directory holding ``semeval2023-en-train``)."""
    data_dir = Path(data_dir)
    if (data_dir / "semeval2023-en-train").is_dir():
        data_dir = data_dir / "semeval2023-en-train"
    texts, rows = read_semeval(data_dir)
    corpus = prepare(texts, rows)
    fold_of = fold_assignment(list(texts), folds)
    results = []
    for k in range(folds):
        t0 = time.time()
        test = {a for a, f in fold_of.items() if f == k}
        results.append(evaluate_fold(corpus, set(texts) - test, test))
        log.info("fold %d: TC23 %.3f, paragraphs %.3f (baseline %.3f), %.0f s", k,
                 results[-1]["tc23"]["micro_f1"], results[-1]["paragraph"]["f1"],
                 results[-1]["baseline"]["f1"], time.time() - t0)
    summary: dict[str, Any] = {
        "tc23_micro_f1": _mean_std([r["tc23"]["micro_f1"] for r in results]),
        "paragraph_micro_f1": _mean_std([r["paragraph"]["f1"] for r in results]),
        "baseline_micro_f1": _mean_std([r["baseline"]["f1"] for r in results])}
    for key, measure in (("tc23", "tc23"), ("paragraph", "paragraph")):
        techs = sorted({t for r in results for t in r[measure]["per_technique"]})
        summary[f"{key}_per_technique"] = {
            t: {**_mean_std([r[measure]["per_technique"].get(t, {}).get("f1", 0.0)
                             for r in results]),
                "support": sum(r[measure]["per_technique"].get(t, {}).get("support", 0)
                               for r in results)} for t in techs}
        cats = sorted({c for r in results for c in r[f"{key}_category"]})
        summary[f"{key}_per_category"] = {
            c: _mean_std([r[f"{key}_category"].get(c, {}).get("f1", 0.0) for r in results])
            for c in cats}
    return {"evaluation": f"{folds}-fold cross-validation by article (the tagger's folds) on "
                          "the SemEval-2023 re-annotation of the PTC training articles; lexical "
                          "features only, no output of the shipped tagger",
            "folds": results, "mean_std": summary}


def format_result(result: dict[str, Any]) -> str:
    """The cross-validated figures as a text table (mean ± std over folds)."""
    s = result["mean_std"]

    def ms(d: dict[str, float]) -> str:
        return f"{d['mean']:.3f} ± {d['std']:.3f}"

    out = [result["evaluation"],
           f"TC23 micro-F1 (gold spans)        {ms(s['tc23_micro_f1'])}",
           f"paragraph micro-F1                {ms(s['paragraph_micro_f1'])}   "
           f"(trivial baseline {ms(s['baseline_micro_f1'])})", ""]
    for key, title in (("tc23", "TC23"), ("paragraph", "paragraphs")):
        out.append(f"{title}: per-technique F1 (support over folds)")
        out += [f"  {t:<34} {ms(v)}  ({v['support']})"
                for t, v in sorted(s[f"{key}_per_technique"].items(),
                                   key=lambda kv: -kv[1]["support"])]
        out.append(f"{title}: per-category F1")
        out += [f"  {c:<34} {ms(v)}" for c, v in s[f"{key}_per_category"].items()]
        out.append("")
    return "\n".join(out)


def install(data_dir: Path, model_dir: Path, metrics: dict[str, Any] | None) -> Path:
    """Fit on every article and write ``semeval23.npz`` (and the figures) into ``model_dir``."""
    data_dir = Path(data_dir)
    if (data_dir / "semeval2023-en-train").is_dir():
        data_dir = data_dir / "semeval2023-en-train"
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
