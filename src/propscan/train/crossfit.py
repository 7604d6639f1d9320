"""Cross-fitted figures: every decoding choice is fitted on articles the tagger never saw.

1. Out-of-fold scores (:mod:`propscan.train.oof`): fold k's tagger scores fold k's held-out
   articles, so every PTC article gets per-character scores from a model that never trained on
   it.
2. Cross-validated figures (this module): for each fold k, the thresholds, the span model and
   the confidence calibration are fitted on the OOF scores of the *other* folds
   (:mod:`propscan.train.span_fit`), then fold k is scored (SI, TC, expected calibration
   error). Nothing about fold k is used to make any choice for fold k.
3. Shipping: the same fitting on all OOF scores gives the decoding settings installed beside the
   tagger trained on every article (:mod:`propscan.train.install`).

``python -m propscan.train.crossfit CV_DIR --data ../shared/data/ptc-train
[--final RUN/joint/epoch3 --install src/propscan/detect/model] [--json]`` prints the figures in
the table of ``propscan evaluate --folds``. It needs only the fold directories' ``split.json``
and the cached OOF scores, or the fold models to make them: figures of folds trained elsewhere
(a GPU machine) can be fitted here. Needs scikit-learn (train extra); no torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from propscan.errors import PropscanError
from propscan.evaluate import si_scores, tc_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.report.tables import format_cross_validation
from propscan.train.calibration import expected_calibration_error
from propscan.train.install import install
from propscan.train.oof import oof_scores
from propscan.train.span_fit import ScoredCorpus, decoding_detector, fit_decoding

__all__ = ["cross_fitted_figures", "cross_fitted_si_predictions", "load_scored_corpus", "run",
           "show_progress", "main"]

log = logging.getLogger(__name__)

#: what a fold's decoding gives: its figures, SI rows, TC rows, span confidences and whether
#: each span's technique was right
FoldResult = tuple[dict[str, Any], list, list, list, list]


def _decode_fold(corpus: ScoredCorpus, fold_of: dict[str, int], k: int) -> FoldResult:
    """Fit the decoding on every fold but ``k``, then decode fold ``k``: its figures and its
    predictions (SI rows, TC rows, confidences, whether each span's technique was right)."""
    test = sorted(a for a, f in fold_of.items() if f == k)
    train = sorted(a for a, f in fold_of.items() if f != k)
    log.info("fold %d: fitting decoding on %d articles, scoring %d", k, len(train), len(test))
    config, model, _ = fit_decoding(corpus, train)
    det = decoding_detector(config, model)
    si_pred, tc_pred, conf, ok = [], [], [], []
    for aid in test:  # decode and classify each article once; every figure reads these
        gold = corpus.gold_by.get(aid, [])
        for f in det.decode(corpus.texts[aid], corpus.scores[aid], corpus.states.get(aid)):
            si_pred.append((aid, f.start, f.end))
            conf.append(f.confidence)
            ok.append(any(t == f.technique and gs < f.end and f.start < ge for t, gs, ge in gold))
        rows = [(s, e) for _, s, e in gold]
        labels = det.classify(corpus.texts[aid], rows, scores=corpus.scores[aid],
                              states=corpus.states.get(aid))
        tc_pred += [(aid, t, s, e) for (s, e), t in zip(rows, labels, strict=True)]
    fold_gold = [g for g in corpus.gold if fold_of[g[0]] == k]
    si = si_scores(si_pred, [(a, s, e) for a, _, s, e in fold_gold])
    tc = tc_scores(tc_pred, fold_gold)
    ece = expected_calibration_error(conf, ok)["ece"]
    log.info("fold %d: SI F1 %.4f  TC micro-F1 %.4f  ECE %.4f", k, si["f1"], tc["micro_f1"], ece)
    return ({"fold": k, "articles": len(test), "config": config, "si": si, "tc": tc,
             "ece": ece}, si_pred, tc_pred, conf, ok)


_FORKED: tuple[ScoredCorpus, dict[str, int]] | None = None  # what fork workers inherit


def _decode_forked_fold(k: int) -> FoldResult:
    from threadpoolctl import threadpool_limits

    assert _FORKED is not None
    with threadpool_limits(limits=1):  # as in :func:`run`: figures must not depend on workers
        return _decode_fold(*_FORKED, k)


def _decode_folds(corpus: ScoredCorpus, fold_of: dict[str, int],
                  workers: int) -> list[FoldResult]:
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


def load_scored_corpus(cv_dir: Path, data_dir: Path, threads: int
                       ) -> tuple[ScoredCorpus, dict[str, int]]:
    """The PTC texts and gold with the out-of-fold scores of ``cv_dir``, and each article's
    fold."""
    texts = read_articles(Path(data_dir) / "train-articles")
    gold = read_tc_labels(Path(data_dir) / "train-task-flc-tc.labels")
    scores, states, fold_of = oof_scores(cv_dir, texts, threads)
    return ScoredCorpus(texts, gold, scores, states), fold_of


def cross_fitted_si_predictions(cv_dir: Path, data_dir: Path, workers: int = 2
                                ) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """The SI rows predicted for every article, each fold decoded exactly as for
    :func:`cross_fitted_figures`, and the gold SI rows of the scored articles (for error
    analyses)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as in :func:`run`
        corpus, fold_of = load_scored_corpus(cv_dir, data_dir, workers)
        results = _decode_folds(corpus, fold_of, workers)
    return ([row for _, si_pred, *_ in results for row in si_pred],
            [(a, s, e) for a, _, s, e in corpus.gold])


def cross_fitted_figures(corpus: ScoredCorpus, fold_of: dict[str, int],
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
    corpus, fold_of = load_scored_corpus(cv_dir, data_dir, threads)
    figures = cross_fitted_figures(corpus, fold_of, workers=threads)
    figures["date"] = time.strftime("%Y-%m-%d")
    (Path(cv_dir) / "crossfit.json").write_text(json.dumps(figures, indent=1) + "\n")
    if final_model is not None and install_dir is not None:
        log.info("fitting the shipped decoding on all out-of-fold scores")
        config, model, inner = fit_decoding(corpus, sorted(corpus.scores))
        metrics = {**figures, "shipped_config": config, "shipped_inner": inner,
                   "training_articles": len(corpus.texts)}
        install(final_model, install_dir, config, model, metrics)
        log.info("installed %s", install_dir)
    return figures


def show_progress() -> None:
    """Print the progress lines of propscan.train's modules to stderr, with the time."""
    logger = logging.getLogger("propscan.train")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


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
    show_progress()
    try:
        figures = run(args.cv_dir, args.data, args.final, args.install, args.threads)
    except (PropscanError, FileNotFoundError) as exc:  # one line, as the propscan CLI does
        parser.exit(getattr(exc, "exit_code", 3), f"error: {exc}\n")
    print(json.dumps(figures, indent=1) if args.json else format_cross_validation(figures))


if __name__ == "__main__":
    main()
