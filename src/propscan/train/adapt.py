"""Adapting the decoding to a user's reviewed articles (``propscan adapt``).

The tagger stays as shipped unless ``fine_tuning`` is given (:mod:`propscan.train.fine_tune`:
then each fold's tagger is fine-tuned on the other folds, and the decoding below is fitted on
their out-of-fold outputs); what is cheap to refit from its outputs is refitted on the
articles a user reviewed (their gold: :func:`propscan.corpus.corrections.gold_findings`): the
candidate decoder settings, the span model (p(real) and the technique classifier) and the
confidence calibration, by :func:`propscan.train.span_fit.fit_decoding`. The base model's
technique classifier (as it is, or with its biases shifted to the reviewed articles' mix of
techniques) and p(real) regression compete with the refitted ones on an inner split of the
reviewed articles, so a part that refitting does not improve is kept (the shipped classifier
learned from all 371 PTC articles; a refit from a few dozen may know less).

1. The base tagger encodes every reviewed article once (its cleaned text, as the detector sees
   it at analysis time), and, with ``ptc_dir``, a sample of PTC training articles.
2. k-fold over the reviewed articles: fold k's decoding is fitted on the other folds (plus the
   PTC sample), then fold k is scored by it and by the base model's decoding on the same tagger
   outputs (SI, TC, calibration error). Nothing of fold k is used to fit fold k's decoding.
3. The adapted decoding is fitted on every reviewed article (plus the PTC sample).

PTC mix: as many PTC articles as there are reviewed articles (all 371 at most), so the user's
articles weigh about half of the fit by article count, whatever the size of PTC. The shipped
tagger was trained on every PTC training article, so its outputs on them are in-sample: more
confident and more often right than on new text. They pull a refitted span stage towards
trusting the tagger, so they only enter the refits: every choice (and the calibration) is
scored on the reviewed articles alone, as are the k-fold figures.

``tools/simulate_adapt.py`` measures all this on PTC articles a fold's tagger did not see.

Needs scikit-learn and scipy (train extra); torch only to fine-tune.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from propscan.detect import Detector
from propscan.detect.span_model import SpanModel, TokenStates
from propscan.errors import ConfigError
from propscan.train.adapt_folds import Gold, Progress, fit_decodings, held_out, merge, rows_figures

if TYPE_CHECKING:
    from propscan.train.fine_tune import FineTuning

__all__ = ["DEFAULT_FOLDS", "DEFAULT_MIN_ARTICLES", "ReviewedArticles", "Adaptation",
           "load_reviewed", "read_reviewed", "assign_folds", "adapt"]

DEFAULT_FOLDS = 5
#: with 5 folds, 20 articles leave 4+ held out per fold and 16+ to fit on (8+ per inner half
#: of :func:`fit_decoding`, each of which needs gold fragments of two techniques); fewer give
#: figures too noisy to tell a better model from a worse one
DEFAULT_MIN_ARTICLES = 20
_PTC_PREFIX = "ptc:"  # PTC article ids in the mixed corpus, apart from the user's ids
_ENCODE_CHUNK = 16  # articles per encode call, one progress line each


@dataclass
class ReviewedArticles:
    """The reviewed articles as the detector sees them: cleaned texts and gold in their
    offsets; ``fingerprint`` hashes the ids and the gold (in input offsets)."""

    texts: dict[str, str]
    gold: Gold
    fingerprint: str
    left_out: list[str] = field(default_factory=list)  # reviewed, but no stored text


@dataclass
class Adaptation:
    """What :func:`adapt` fitted and measured."""

    config: dict[str, Any]  # decoding settings, as config.json stores them
    span_model: SpanModel
    figures: dict[str, Any]  # k-fold figures, written to metrics.json
    fingerprint: str
    ptc_articles: int
    tagger_onnx: bytes | None = None  # the fine-tuned tagger (--fine-tune), else the base's

    @property
    def worse(self) -> list[str]:
        """The held-out measures on which the adapted decoding scored below the base."""
        pooled = self.figures["pooled"]
        return [name for name, key in (("SI F1", "si_f1"), ("TC micro-F1", "tc_micro_f1"))
                if pooled["adapted"][key] < pooled["base"][key]]


def _detector_view(text: str, body_start: int | None, body_end: int | None,
                   input_format: str | None) -> tuple[str, Any]:
    """The cleaned body the detector read at analysis time, and its offset map into ``text``
    (as :func:`propscan.ingest.from_text` and ``from_html`` make them)."""
    from propscan.ingest.clean import clean_region
    from propscan.ingest.plaintext import is_page_furniture

    start = body_start or 0
    end = body_end if body_end else len(text)
    skip = None if input_format in ("ptc", "html") else is_page_furniture
    clean, offset_map = clean_region(text, start, end, skip_line=skip)
    if skip is not None and not clean.strip():
        clean, offset_map = clean_region(text, start, end)
    return clean, offset_map


def load_reviewed(db: Path) -> ReviewedArticles:
    """The reviewed articles of the batch database ``db`` with their gold."""
    from propscan.corpus.database import CorpusDatabase

    with CorpusDatabase(db, read_only=True) as corpus, corpus.cursor() as cur:
        return read_reviewed(cur)


def read_reviewed(cur: Any) -> ReviewedArticles:
    """The reviewed articles with their gold, read through ``cur`` (a cursor of an open
    database: the web app reads through its own connection, DuckDB allowing one writer)."""
    from propscan.corpus.corrections import gold_findings, reviewed_article_ids

    texts: dict[str, str] = {}
    gold: Gold = []
    left_out: list[str] = []
    digest = hashlib.sha256()
    for aid in reviewed_article_ids(cur):
        row = cur.execute("SELECT text, body_start, body_end, input_format FROM articles "
                          "WHERE id = ?", [aid]).fetchone()
        if row is None or not row[0]:
            left_out.append(aid)
            continue
        text, body_start, body_end, input_format = row
        clean, offset_map = _detector_view(text, body_start, body_end, input_format)
        findings = sorted(gold_findings(cur, aid), key=lambda f: (f.start, f.end, f.technique))
        digest.update(json.dumps([aid, [(f.start, f.end, f.technique) for f in findings]]
                                 ).encode())
        texts[aid] = clean
        for f in findings:
            start, end = offset_map.to_clean(f.start, f.end)
            if end > start:  # a fragment wholly inside removed furniture is not seen
                gold.append((aid, f.technique, start, end))
    return ReviewedArticles(texts, gold, digest.hexdigest(), left_out)


def assign_folds(ids: list[str], folds: int) -> dict[str, int]:
    """Each id's fold, the same on every run: ids ordered by a hash, then dealt round."""
    order = sorted(ids, key=lambda a: hashlib.sha256(a.encode()).hexdigest())
    return {aid: i % folds for i, aid in enumerate(order)}


def _encode(detector: Detector, texts: dict[str, str], what: str, progress: Progress
            ) -> tuple[dict[str, np.ndarray], dict[str, TokenStates]]:
    scores: dict[str, np.ndarray] = {}
    states: dict[str, TokenStates] = {}
    ids = sorted(texts)
    for first in range(0, len(ids), _ENCODE_CHUNK):
        part = ids[first:first + _ENCODE_CHUNK]
        progress(f"encoding {what}: {first + len(part)}/{len(ids)}")
        for aid, (sc, st) in zip(part, detector.encode([texts[a] for a in part]), strict=True):
            scores[aid] = sc
            if st is not None:
                states[aid] = st
    return scores, states


def _ptc_sample(ptc_dir: Path, count: int) -> tuple[dict[str, str], Gold]:
    """``count`` PTC training articles (a fixed sample) with their gold, ids prefixed."""
    from propscan.evaluate.ptc import read_articles, read_tc_labels

    articles, labels = Path(ptc_dir) / "train-articles", Path(ptc_dir) / "train-task-flc-tc.labels"
    if not articles.is_dir() or not labels.is_file():
        raise ConfigError(f"--with-ptc {ptc_dir}: expected train-articles/ and "
                          "train-task-flc-tc.labels in it")
    texts = read_articles(articles)
    chosen = set(random.Random(0).sample(sorted(texts), min(count, len(texts))))
    return ({_PTC_PREFIX + a: texts[a] for a in chosen},
            [(_PTC_PREFIX + a, t, s, e) for a, t, s, e in read_tc_labels(labels) if a in chosen])


def adapt(db: Path, base: Detector, *, ptc_dir: Path | None = None,
          folds: int = DEFAULT_FOLDS, min_articles: int = DEFAULT_MIN_ARTICLES,
          workers: int = 1, progress: Progress = lambda line: None,
          reviewed: ReviewedArticles | None = None, fine_tuning: FineTuning | None = None,
          tune_when_worse: bool = True) -> Adaptation:
    """Fit the decoding of ``base`` (a loaded Detector) to the reviewed articles of ``db`` and
    measure it by ``folds``-fold cross-validation over them against the base decoding;
    ``workers`` > 1 fits that many folds at once in forked processes. ``reviewed``: the
    articles already read from ``db`` (:func:`read_reviewed`), else they are read here.
    ``fine_tuning``: also fine-tune the tagger (each fold's on the other folds, then the
    adapted model's on every reviewed article, unless the folds score lower than the base and
    ``tune_when_worse`` is false)."""
    from propscan.train.span_fit import ScoredCorpus, decoding_detector

    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    if fine_tuning is not None and ptc_dir is not None:
        raise ConfigError("--fine-tune learns from the reviewed articles alone: leave out "
                          "--with-ptc")
    if reviewed is None:
        reviewed = load_reviewed(db)
    n = len(reviewed.texts)
    floor = max(min_articles, 2 * folds)
    if n < floor:
        note = (f" ({len(reviewed.left_out)} more were stored before texts were kept: run "
                "batch again)" if reviewed.left_out else "")
        raise ConfigError(f"{n} reviewed articles in {db}{note}; adapt needs {floor} or more "
                          f"to fit and check a model with {folds} folds: review more articles "
                          "in the explorer (propscan serve --db) and mark them reviewed")
    if reviewed.left_out:
        progress(f"note: {len(reviewed.left_out)} reviewed articles have no stored text "
                 "(stored before texts were kept) and are left out")
    texts, gold = dict(reviewed.texts), list(reviewed.gold)
    version = str(base.info["version"])
    scores, states = _encode(base, texts, f"{n} reviewed articles with model {version}",
                             progress)
    ptc_ids: list[str] = []
    if ptc_dir is not None:
        ptc_texts, ptc_gold = _ptc_sample(ptc_dir, n)
        ptc_ids = sorted(ptc_texts)
        more_scores, more_states = _encode(base, ptc_texts, f"{len(ptc_ids)} PTC articles",
                                           progress)
        texts.update(ptc_texts)
        gold += ptc_gold
        scores.update(more_scores)
        states.update(more_states)
    corpus = ScoredCorpus(texts, gold, scores, states)
    fold_of = assign_folds(sorted(reviewed.texts), folds)
    train_sets = [sorted(a for a, f in fold_of.items() if f != k) + ptc_ids
                  for k in range(folds)]
    final_ids = sorted(reviewed.texts) + ptc_ids
    names = [f"fold {k + 1}/{folds}" for k in range(folds)]
    names.append(f"the adapted model on all {n} reviewed articles"
                 + (f" and {len(ptc_ids)} PTC articles" if ptc_ids else ""))
    fit_corpus = corpus
    if fine_tuning is not None:
        from propscan.train.fine_tune import tune_final, tuned_folds

        fit_corpus = tuned_folds(base.model_dir, reviewed.texts, reviewed.gold, fold_of,
                                 fine_tuning, progress, threads=base.threads)
    if workers > 1:
        progress(f"fitting {len(names)} models, {workers} at a time")
    fits = fit_decodings(fit_corpus, base.span_model_, sorted(reviewed.texts),
                         [*train_sets, final_ids], names, workers, progress)
    per_fold: list[dict[str, Any]] = []
    base_parts, adapted_parts, tuned_base_parts = [], [], []
    for k, (config, model, _) in enumerate(fits[:folds]):
        test = sorted(a for a, f in fold_of.items() if f == k)
        fold_gold = [g for g in reviewed.gold if fold_of[g[0]] == k]
        base_rows = held_out(base, corpus, test)
        adapted_rows = held_out(decoding_detector(config, model), fit_corpus, test)
        base_parts.append(base_rows)
        adapted_parts.append(adapted_rows)
        if fine_tuning is not None:  # how much of the gain is the tagger's alone
            tuned_base_parts.append(held_out(base, fit_corpus, test))
        per_fold.append({"fold": k, "articles": len(test), "findings": len(fold_gold),
                         "config": config,
                         "base": rows_figures(base_rows, fold_gold),
                         "adapted": rows_figures(adapted_rows, fold_gold)})
    config, model, inner = fits[folds]
    figures: dict[str, Any] = {
        "evaluation": f"{folds}-fold cross-validation over {n} reviewed articles: each fold's "
                      "decoding settings, span model and calibration were fitted on the other "
                      "folds" + (" and PTC training articles" if ptc_ids else "")
                      + (" (on the outputs of taggers fine-tuned without each article), then "
                         "it scored the fold's outputs from the tagger fine-tuned on the other "
                         "folds, and the base model scored them from its own tagger"
                         if fine_tuning is not None else
                         ", then it and the base model's decoding scored the fold with the "
                         "same tagger outputs"),
        "base_version": version, "folds": per_fold,
        "pooled": {"articles": n, "findings": len(reviewed.gold),
                   "base": rows_figures(merge(base_parts), reviewed.gold, per_technique=True),
                   "adapted": rows_figures(merge(adapted_parts), reviewed.gold,
                                           per_technique=True)},
        "mean_std": {key: {"mean": float(np.mean([f["adapted"][key] for f in per_fold])),
                           "std": float(np.std([f["adapted"][key] for f in per_fold]))}
                     for key in ("si_f1", "tc_micro_f1", "ece")},
        "training_articles": {"reviewed": n, "ptc": len(ptc_ids),
                              "ptc_dir": str(ptc_dir) if ptc_dir else None},
        "adapted_config": config, "adapted_inner": inner,
    }
    learned: list[Any] = [reviewed.fingerprint, ptc_ids]
    result = Adaptation(config, model, figures, "", len(ptc_ids))
    if fine_tuning is not None:
        figures["pooled"]["fine_tuned_base_decoding"] = rows_figures(merge(tuned_base_parts),
                                                                     reviewed.gold)
        figures["fine_tuning"] = fine_tuning.recorded()
        learned.append(fine_tuning.recorded())
        if tune_when_worse or not result.worse:
            result.tagger_onnx = tune_final(base.model_dir, reviewed.texts, reviewed.gold,
                                            fine_tuning, progress)
            result.config = {**config, "fine_tuned": {**fine_tuning.recorded(),
                                                      "articles": n}}
        else:
            progress("the folds score lower than the base model: the final tagger is not "
                     "fine-tuned")
    result.fingerprint = hashlib.sha256(json.dumps(learned).encode()).hexdigest()
    return result

