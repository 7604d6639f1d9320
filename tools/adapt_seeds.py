"""How much ``adapt --fine-tune``'s figures depend on the fine-tuning seed, and what averaging
the seeds' weights gives (docs/experiments.md sections 23 and 24).

On a ``tools/simulate_adapt.py`` work directory: for each seed, the fold taggers of ``propscan
adapt --fine-tune`` (same folds, texts and settings; kept in ``WORK/tuned`` and reused, as
``--fine-tune-cache`` keeps them) score their held-out folds, the decoding is fitted on those
out-of-fold outputs as ``adapt`` fits it, and the pooled held-out figures are printed. ``soup``:
each fold's taggers of all the seeds, dequantised, averaged weight by weight and exported to
int8 again (a uniform model soup)::

    python tools/adapt_seeds.py --work /tmp/adapt-topic --seeds 13,14,15
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from propscan.detect import Detector
from propscan.detect.span_model import TokenStates
from propscan.train import adapt as A
from propscan.train.adapt_folds import pooled_figures
from propscan.train.fine_tune import FineTuning, encode_with, tuned_folds, tuned_tagger
from propscan.train.scored_corpus import ScoredCorpus


def soup(folders: list[Path], out: Path) -> None:
    """The uniform average of the taggers in ``folders``, exported to ``out``."""
    from transformers.utils import logging as hf_logging

    from propscan.train.onnx_export import export_model
    from propscan.train.onnx_import import tagger_from_onnx

    hf_logging.disable_progress_bar()  # as propscan.train.fine_tune does
    taggers = [tagger_from_onnx(f / "model.onnx") for f in folders]
    states = [t.state_dict() for t in taggers]
    taggers[0].load_state_dict({name: sum(s[name].float() for s in states) / len(states)
                                for name in states[0]})
    export_model(taggers[0], out)


def figures(base: Detector, fold_of: dict[str, int], corpus: ScoredCorpus) -> dict[str, float]:
    """Pooled held-out figures of the decoding fitted per fold on the out-of-fold outputs of
    ``corpus``, as ``adapt`` reports them."""
    pooled = pooled_figures(corpus, base.span_model_, fold_of, workers=2)
    return {key: round(pooled[key], 4) for key in ("si_f1", "tc_micro_f1", "ece")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="simulate_adapt.py's --work")
    parser.add_argument("--seeds", default="13,14,15", help="comma-separated (default 13,14,15)")
    args = parser.parse_args()
    work = args.work.resolve()
    seeds = [int(s) for s in args.seeds.split(",")]
    reviewed = A.load_reviewed(work / "reviewed.duckdb")
    ids = sorted(reviewed.texts)
    fold_of = A.assign_folds(ids, A.DEFAULT_FOLDS)
    tunings = [FineTuning(seed=seed, cache=work / "tuned") for seed in seeds]
    with Detector(work / "base", threads=2).load() as base:
        for settings in tunings:
            corpus = tuned_folds(work / "base", reviewed.texts, reviewed.gold, fold_of, settings,
                                 print, threads=2)
            print(f"seed {settings.seed}:", figures(base, fold_of, corpus), flush=True)
        scores: dict[str, np.ndarray] = {}
        states: dict[str, TokenStates] = {}
        with tempfile.TemporaryDirectory(prefix="propscan-soup-") as tmp:
            for k in range(A.DEFAULT_FOLDS):
                train = [a for a in ids if fold_of[a] != k]
                with ExitStack() as stack:  # the seeds' fold k taggers, reused from the cache
                    soup([stack.enter_context(tuned_tagger(
                        work / "base", reviewed.texts, reviewed.gold, train, settings, print,
                        f"seed {settings.seed} fold {k + 1}")) for settings in tunings],
                        Path(tmp) / f"fold{k}")
                test = {a: reviewed.texts[a] for a in ids if fold_of[a] == k}
                more_scores, more_states = encode_with(work / "base", Path(tmp) / f"fold{k}",
                                                       test, 2)
                scores.update(more_scores)
                states.update(more_states)
        corpus = ScoredCorpus(reviewed.texts, reviewed.gold, scores, states)
        print(f"soup of seeds {args.seeds}:", figures(base, fold_of, corpus))


if __name__ == "__main__":
    main()
