"""Fitting and scoring ``propscan adapt``'s decodings fold by fold.

:func:`fit_decodings` fits :func:`propscan.train.span_fit.fit_decoding` on several sets of
scored articles at once (forked processes: only numpy and scikit-learn run there, never the
tagger); :func:`held_out` decodes a fold's articles with a fitted decoding and :func:`rows_figures`
scores the rows (SI, TC, calibration error), pooled over folds by :func:`merge`.
:func:`pooled_figures` is the whole k-fold measure: what ``adapt`` reports as "adapted", and
what ``tools/adapt_seeds.py`` compares across fine-tuning seeds.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from propscan.detect import Detector
from propscan.detect.span_model import SpanModel
from propscan.evaluate import si_scores, tc_scores
from propscan.train.calibration import expected_calibration_error
from propscan.train.scored_corpus import ScoredCorpus

__all__ = ["Fit", "Rows", "fit_decodings", "held_out", "rows_figures", "merge", "pooled_figures"]

Progress = Callable[[str], None]
Gold = list[tuple[str, str, int, int]]  # (article id, technique, start, end)
Fit = tuple[dict[str, Any], SpanModel, dict[str, float]]  # config, span model, inner figures
Rows = dict[str, list[Any]]  # "si", "tc" predictions; "conf", "ok" of each finding

_FORKED: Any = None  # (ScoredCorpus, base SpanModel or None, reviewed ids): fork workers' view


def _fit_forked(ids: list[str]) -> Fit:
    from threadpoolctl import threadpool_limits

    from propscan.train.span_fit import fit_decoding

    # one BLAS thread, as in propscan.train.crossfit: the same figures on every machine
    corpus, base, reviewed = _FORKED
    with threadpool_limits(limits=1):
        return fit_decoding(corpus, ids, base, target=reviewed)


def fit_decodings(corpus: ScoredCorpus, base: SpanModel | None, reviewed: list[str],
                  id_sets: list[list[str]], names: list[str], workers: int,
                  progress: Progress) -> list[Fit]:
    """:func:`fit_decoding` on each id set (called ``names`` in progress lines), ``workers``
    at a time in forked processes; ``base``'s parts compete with refitted ones on the
    ``reviewed`` articles."""
    global _FORKED
    _FORKED = (corpus, base, reviewed)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            with ProcessPoolExecutor(min(workers, len(id_sets)),
                                     mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [pool.submit(_fit_forked, ids) for ids in id_sets]
                out = []
                for name, future in zip(names, futures, strict=True):
                    out.append(future.result())
                    progress(f"fitted {name}")
                return out
        out = []
        for name, ids in zip(names, id_sets, strict=True):
            progress(f"fitting {name}")
            out.append(_fit_forked(ids))
        return out
    finally:
        _FORKED = None


def held_out(det: Detector, corpus: ScoredCorpus, ids: list[str]) -> Rows:
    """SI, TC and calibration rows of ``det`` on ``ids`` of the scored ``corpus``."""
    si_pred, tc_pred, conf, ok = [], [], [], []
    for aid in ids:
        gold = corpus.gold_by.get(aid, [])
        text, scores, states = corpus.texts[aid], corpus.scores[aid], corpus.states.get(aid)
        for f in det.decode(text, scores, states):
            si_pred.append((aid, f.start, f.end))
            conf.append(f.confidence)
            ok.append(any(t == f.technique and gs < f.end and f.start < ge
                          for t, gs, ge in gold))
        rows = [(s, e) for _, s, e in gold]
        labels = det.classify(text, rows, scores=scores, states=states)
        tc_pred += [(aid, t, s, e) for (s, e), t in zip(rows, labels, strict=True)]
    return {"si": si_pred, "tc": tc_pred, "conf": conf, "ok": ok}


def rows_figures(rows: Rows, gold: Gold, per_technique: bool = False) -> dict[str, Any]:
    """SI and TC scores of ``rows`` against ``gold``, and the calibration error."""
    si = si_scores(rows["si"], [(a, s, e) for a, _, s, e in gold])
    tc = tc_scores(rows["tc"], gold)
    if not per_technique:
        tc = {k: v for k, v in tc.items() if k != "per_technique"}
    return {"si": si, "tc": tc, "si_f1": si["f1"], "tc_micro_f1": tc["micro_f1"],
            "ece": expected_calibration_error(rows["conf"], rows["ok"])["ece"]}


def merge(parts: list[Rows]) -> Rows:
    """The rows of several folds as one."""
    return {key: [row for p in parts for row in p[key]] for key in ("si", "tc", "conf", "ok")}


def pooled_figures(corpus: ScoredCorpus, base: SpanModel | None, fold_of: dict[str, int],
                   workers: int = 1, progress: Progress = lambda line: None
                   ) -> dict[str, Any]:
    """Pooled held-out figures over the articles of ``fold_of``: fold k decoded by the
    decoding fitted on the other folds' outputs in ``corpus`` (``base``'s parts competing)."""
    from propscan.train.span_fit import decoding_detector

    ids = sorted(fold_of)
    folds = max(fold_of.values()) + 1
    tests = [[a for a in ids if fold_of[a] == k] for k in range(folds)]
    fits = fit_decodings(corpus, base, ids, [[a for a in ids if fold_of[a] != k]
                                             for k in range(folds)],
                         [f"fold {k + 1}/{folds}" for k in range(folds)], workers, progress)
    parts = [held_out(decoding_detector(config, model), corpus, test)
             for (config, model, _), test in zip(fits, tests, strict=True)]
    chosen = set(ids)
    return rows_figures(merge(parts), [g for g in corpus.gold if g[0] in chosen])
