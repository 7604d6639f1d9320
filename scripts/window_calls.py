"""A fold model's held-out SI with one window per inference call against 16 per call.

Usage: python scripts/window_calls.py RUN_DIR [--data ../shared/data/ptc-train] [--threads 2]

RUN_DIR is a finished fold run (``python -m propscan.train --fold K/N``). The int8 graph
quantises activations with one scale per call, so scores depend on how windows are grouped:
the detector now runs one window per call (an article's scores no longer depend on the other
articles analysed with it), where until 2026-11-26 it ran 16. This scores the fold's held-out
articles both ways and prints SI precision, recall and F1 of each under the fixed decodings of
``scripts/student_fold.py`` (tagger only, no decoding fitted: compare the two rows with each
other). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from student_fold import held_out_articles, si_under_decodings

import propscan.detect
from propscan.detect import Detector
from propscan.train.crossfit import exported_fold_model

_SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished fold run directory")
    parser.add_argument("--data", type=Path, default=_SHARED / "data" / "ptc-train")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = exported_fold_model(args.run)
    texts, held_out, gold = held_out_articles(args.data, args.run)
    print(f"{model}: {len(held_out)} held-out articles, {len(gold)} gold fragments; "
          "SI P / R / F1 under fixed decodings (threshold/penalty)")
    detector = Detector(model, threads=args.threads).load()
    shipped_batch = propscan.detect._BATCH
    try:
        for batch in (1, 16):
            propscan.detect._BATCH = batch
            print(f"  {batch:2d} per call: "
                  + si_under_decodings(detector, texts, held_out, gold))
    finally:
        propscan.detect._BATCH = shipped_batch


if __name__ == "__main__":
    main()
