"""Where SI F1 is lost: the cross-fitted predictions next to two oracles.

Usage: python scripts/si_oracles.py CV_DIR [--data ../shared/data/ptc-train] [--workers 2]

CV_DIR is what ``python -m propscan.train.crossfit`` reads (fold ``split.json`` files and the
out-of-fold caches). Each fold is decoded exactly as for the cross-validated figures (decoding
fitted on the other folds), then scored as predicted and with two oracles that use the gold:
"no false alarms" drops every predicted fragment that overlaps no gold fragment (a perfect
"annotated at all" filter), and "no misses" adds every gold fragment no prediction overlaps
(perfect recall of fragments, boundaries as predicted elsewhere). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from propscan.evaluate import si_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.train import crossfit

_SHARED = Path(__file__).resolve().parents[2] / "shared"


def _overlaps(rows: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cv_dir", type=Path)
    parser.add_argument("--data", type=Path, default=_SHARED / "data" / "ptc-train")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    texts = read_articles(args.data / "train-articles")
    gold = read_tc_labels(args.data / "train-task-flc-tc.labels")
    scores, states, fold_of = crossfit.oof_scores(args.cv_dir, texts)
    crossfit._FORKED = (crossfit._Corpus(texts, gold, scores, states), fold_of)
    folds = sorted(set(fold_of.values()))
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(crossfit._decode_forked_fold, folds))
    pred = [row for _, si_pred, *_ in results for row in si_pred]
    gold_si = [(a, s, e) for a, _, s, e in gold]
    gold_by: dict[str, list[tuple[int, int]]] = {}
    pred_by: dict[str, list[tuple[int, int]]] = {}
    for a, s, e in gold_si:
        gold_by.setdefault(a, []).append((s, e))
    for a, s, e in pred:
        pred_by.setdefault(a, []).append((s, e))
    hits = [(a, s, e) for a, s, e in pred if _overlaps(gold_by.get(a, []), s, e)]
    missed = [(a, s, e) for a, s, e in gold_si if not _overlaps(pred_by.get(a, []), s, e)]
    print(f"{len(pred)} predicted fragments over {len(fold_of)} articles ({len(folds)} folds, "
          f"each decoded with settings fitted on the others); {len(gold_si)} gold fragments")
    for label, rows in (("as predicted", pred), ("no false alarms", hits),
                        ("no misses", pred + missed), ("neither", hits + missed)):
        si = si_scores(rows, gold_si)
        print(f"  {label:16s} SI P {si['precision']:.4f} R {si['recall']:.4f} "
              f"F1 {si['f1']:.4f}  ({len(rows)} fragments)")
    print(f"  false alarms: {len(pred) - len(hits)} of {len(pred)} predictions; missed: "
          f"{len(missed)} of {len(gold_si)} gold fragments")


if __name__ == "__main__":
    main()
