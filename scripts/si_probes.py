"""SI probes on a cross-validation run's out-of-fold caches: ideas that were measured and not
kept (MODEL_CARD, "How far from the quality targets"). Each prints SI F1 per fold, decoded as
``python -m propscan.train.crossfit`` decodes them, against the plain decoding.

Usage:
  python scripts/si_probes.py stacker RUN/self-trained   # a second-level word tagger
  python scripts/si_probes.py stretch RUN/self-trained   # fragments stretched to line/clause

``stacker``: a gradient-boosted classifier re-scores every word (its 15 mean scores, the
p(inside) of up to 8 words either side on its line, its line's mean and maximum, and the cues
the uncased encoder misses: capitals, quotes, ``!``, ``?``) before the Viterbi decoder. It is
nested: for outer fold k, fold k's words are re-scored by a classifier fitted on the other four
folds, and each of those folds' words by one fitted on the remaining three, so the decoding of
fold k is fitted on re-scored words its classifier never trained on. Prints the word-level AUC
too. About 15 minutes on 2 cores.

``stretch``: the cross-fitted fragments, each one of a technique stretched to its whole line
(or clause: between the nearest ``.;:!?`` marks on its line), technique by technique. A rule
probe on the figures' own predictions: it can only say that a rule does not help. About 5
minutes on 2 cores.

Needs the train extra (scikit-learn). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import propscan.train.crossfit as crossfit
from propscan.detect import _DECODE_UNIT, _chars_from_tokens
from propscan.evaluate import si_scores

SHARED = Path(__file__).resolve().parents[2] / "shared"
_QUOTES = set("\"'“”‘’«»")
_OFFSETS = (-8, -5, -3, -2, -1, 1, 2, 3, 5, 8)
_STATE: dict = {}  # what forked workers inherit


# ---- stacker ---------------------------------------------------------------------------------
def word_features(text: str, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each word's (start, end) and its feature row."""
    # the Viterbi decoder's words and punctuation marks
    units = np.array([(m.start(), m.end()) for m in _DECODE_UNIT.finditer(text)],
                     np.int64).reshape(-1, 2)
    n = len(units)
    cum = np.vstack([np.zeros((1, scores.shape[1])), np.cumsum(scores, axis=0, dtype=np.float64)])
    mean = (cum[units[:, 1]] - cum[units[:, 0]]) / (units[:, 1] - units[:, 0])[:, None]
    p0 = mean[:, 0].clip(1e-4, 1 - 1e-4)
    logit = np.log(p0 / (1 - p0))
    line = np.zeros(n, np.int64)
    for i in range(1, n):
        line[i] = line[i - 1] + ("\n" in text[units[i - 1, 1]:units[i, 0]])
    starts = np.r_[0, np.flatnonzero(np.diff(line)) + 1] if n else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], n] if n else np.zeros(0, np.int64)
    lo, hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    line_max = np.zeros(n)
    for s, e in zip(starts, ends, strict=True):
        lo[s:e], hi[s:e], line_max[s:e] = s, e, p0[s:e].max()
    pos = np.arange(n)
    words = [text[s:e] for s, e in units]
    quote = np.array([w[0] in _QUOTES for w in words], float)
    cap = np.array([w[0].isupper() for w in words], float)
    excl = np.r_[0.0, np.cumsum([w == "!" for w in words])]
    ques = np.r_[0.0, np.cumsum([w == "?" for w in words])]
    quotes = np.r_[0.0, np.cumsum(quote)]
    c0 = np.r_[0.0, np.cumsum(p0)]
    cols = [logit, *mean[:, 1:].T]
    for o in _OFFSETS:
        j = pos + o
        cols.append(np.where((j >= lo) & (j < hi), logit[np.clip(j, 0, max(n - 1, 0))], -6.0))
    for w in (3, 10):
        a, b = np.maximum(pos - w, lo), np.minimum(pos + w + 1, hi)
        cols.append((c0[b] - c0[a]) / (b - a))
    cols += [(c0[hi] - c0[lo]) / (hi - lo), line_max, (pos - lo) / np.maximum(hi - lo, 1),
             np.array([w[0].isalpha() for w in words], float), cap,
             np.array([len(w) > 1 and w.isupper() for w in words], float),
             np.array([not w[0].isalnum() and w[0] != "_" for w in words], float), quote,
             np.array([w == "!" for w in words], float), np.array([w == "?" for w in words], float),
             excl[hi] - excl[lo], ques[hi] - ques[lo], quotes[hi] - quotes[lo],
             np.array([len(w) for w in words], float)]
    for o in (-1, 1):
        j = np.clip(pos + o, 0, max(n - 1, 0))
        inside = (pos + o >= lo) & (pos + o < hi)
        cols += [np.where(inside, cap[j], 0.0), np.where(inside, quote[j], 0.0)]
    return units, np.column_stack(cols).astype(np.float32) if n else np.zeros((0, len(cols)))


def _word_targets(text: str, units: np.ndarray, gold: list[tuple[str, int, int]]) -> np.ndarray:
    covered = np.zeros(len(text) + 1, np.int32)
    for _, s, e in gold:
        covered[s:e] = 1
    cum = np.r_[0, np.cumsum(covered)]
    return ((cum[units[:, 1]] - cum[units[:, 0]]) / (units[:, 1] - units[:, 0]) >= 0.5).astype(int)


def _rescored(text: str, scores: np.ndarray, units: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``scores`` with column 0 replaced by each word's p, spread over characters as the
    detector spreads token scores (gaps take the lower neighbour)."""
    out = scores.copy()
    out[:, 0] = _chars_from_tokens(len(text), units, np.asarray(p, np.float32)[:, None])[:, 0]
    return out


def _stacker_fold(k: int) -> tuple[float, float, float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    corpus, fold_of, feats = _STATE["corpus"], _STATE["fold_of"], _STATE["feats"]
    folds = set(fold_of.values())

    def fit(train_folds: set[int]) -> HistGradientBoostingClassifier:
        ids = [a for a, f in fold_of.items() if f in train_folds]
        x = np.vstack([feats[a][1] for a in ids])
        y = np.concatenate([feats[a][2] for a in ids])
        return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=500, l2_regularization=1.0,
                                              random_state=0).fit(x, y)

    with threadpool_limits(limits=1):
        scores, auc = {}, (0.0, 0.0)
        for j in sorted(folds):
            model = fit(folds - {j} if j == k else folds - {j, k})
            for a in (a for a, f in fold_of.items() if f == j):
                units, x, y = feats[a]
                p = model.predict_proba(x)[:, 1] if len(units) else np.zeros(0)
                scores[a] = _rescored(corpus.texts[a], corpus.scores[a], units, p)
            if j == k:
                test = [a for a, f in fold_of.items() if f == k]
                y = np.concatenate([feats[a][2] for a in test])
                auc = (roc_auc_score(y, np.concatenate([feats[a][1][:, 0] for a in test])),
                       roc_auc_score(y, model.predict_proba(
                           np.vstack([feats[a][1] for a in test]))[:, 1]))
        rescored = crossfit._Corpus(corpus.texts, corpus.gold, scores, corpus.states)
        figures = crossfit._decode_fold(rescored, fold_of, k)[0]
    return figures["si"]["f1"], *auc


def stacker(run: Path, data: Path) -> None:
    corpus, fold_of = crossfit._load(run, data, 2)
    feats = {}
    for a in corpus.scores:
        units, x = word_features(corpus.texts[a], corpus.scores[a])
        feats[a] = (units, x, _word_targets(corpus.texts[a], units, corpus.gold_by.get(a, [])))
    _STATE.update(corpus=corpus, fold_of=fold_of, feats=feats)
    plain = [f["si"]["f1"] for f in crossfit.cross_fitted_figures(corpus, fold_of, 2)["folds"]]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        stacked = list(pool.map(_stacker_fold, sorted(set(fold_of.values()))))
    for k, (si, auc_plain, auc_stacked) in enumerate(stacked):
        print(f"fold {k}: word AUC {auc_plain:.4f} -> {auc_stacked:.4f}  "
              f"SI F1 {plain[k]:.4f} -> {si:.4f}")
    print(f"mean SI F1 {np.mean(plain):.4f} -> {np.mean([s for s, _, _ in stacked]):.4f}")


# ---- stretch ---------------------------------------------------------------------------------
def _line(text: str, start: int, end: int) -> tuple[int, int]:
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    lo, hi = _line(text, start, end)
    marks = [i for i in range(lo, start) if text[i] in ".;:!?"]
    a = marks[-1] + 1 if marks else lo
    while a < start and text[a].isspace():
        a += 1
    marks = [i for i in range(end, hi) if text[i] in ".;:!?"]
    return a, marks[0] if marks else hi


def _decoded_fold(k: int) -> dict[str, list]:
    from threadpoolctl import threadpool_limits

    corpus, fold_of = _STATE["corpus"], _STATE["fold_of"]
    with threadpool_limits(limits=1):
        config, model, _ = crossfit.fit_decoding(corpus, sorted(a for a, f in fold_of.items()
                                                                if f != k))
        det = crossfit._detector(config, model)
        return {a: det.decode(corpus.texts[a], corpus.scores[a], corpus.states.get(a))
                for a, f in fold_of.items() if f == k}


def stretch(run: Path, data: Path) -> None:
    corpus, fold_of = crossfit._load(run, data, 2)
    _STATE.update(corpus=corpus, fold_of=fold_of)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        fragments = {a: f for part in pool.map(_decoded_fold, sorted(set(fold_of.values())))
                     for a, f in part.items()}
    gold = [(a, s, e) for a, _, s, e in corpus.gold]

    def mean_si(rule, techniques: set[str]) -> float:
        rows = [(a, *(rule(corpus.texts[a], s, e) if t in techniques else (s, e)))
                for a, found in fragments.items() for s, e, t, _, _ in found]
        return float(np.mean([si_scores([r for r in rows if fold_of[r[0]] == k],
                                        [g for g in gold if fold_of[g[0]] == k])["f1"]
                              for k in sorted(set(fold_of.values()))]))

    print(f"as decoded: mean SI F1 {mean_si(_line, set()):.4f}")
    counts: dict[str, int] = {}
    for found in fragments.values():
        for _, _, t, _, _ in found:
            counts[t] = counts.get(t, 0) + 1
    for technique in sorted(counts, key=lambda t: -counts[t]):
        print(f"{technique:36s} {counts[technique]:5d} fragments  stretched to line "
              f"{mean_si(_line, {technique}):.4f}  to clause {mean_si(_clause, {technique}):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=("stacker", "stretch"))
    parser.add_argument("run", type=Path, help="a run's self-trained (or plain) CV directory")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "ptc-train")
    args = parser.parse_args()
    {"stacker": stacker, "stretch": stretch}[args.probe](args.run, args.data)


if __name__ == "__main__":
    main()
