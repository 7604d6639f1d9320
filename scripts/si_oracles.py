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
from pathlib import Path

from propscan.evaluate import si_scores
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
    pred, gold_si = crossfit.cross_fitted_si_predictions(args.cv_dir, args.data, args.workers)
    gold_by: dict[str, list[tuple[int, int]]] = {}
    pred_by: dict[str, list[tuple[int, int]]] = {}
    for a, s, e in gold_si:
        gold_by.setdefault(a, []).append((s, e))
    for a, s, e in pred:
        pred_by.setdefault(a, []).append((s, e))
    hits = [(a, s, e) for a, s, e in pred if _overlaps(gold_by.get(a, []), s, e)]
    missed = [(a, s, e) for a, s, e in gold_si if not _overlaps(pred_by.get(a, []), s, e)]
    print(f"{len(pred)} predicted fragments, {len(gold_si)} gold fragments (each fold decoded "
          "with settings fitted on the others)")
    for label, rows in (("as predicted", pred), ("no false alarms", hits),
                        ("no misses", pred + missed), ("neither", hits + missed)):
        si = si_scores(rows, gold_si)
        print(f"  {label:16s} SI P {si['precision']:.4f} R {si['recall']:.4f} "
              f"F1 {si['f1']:.4f}  ({len(rows)} fragments)")
    print(f"  false alarms: {len(pred) - len(hits)} of {len(pred)} predictions; missed: "
          f"{len(missed)} of {len(gold_si)} gold fragments")


if __name__ == "__main__":
    main()
