"""Average the out-of-fold caches of cross-validation runs that share folds (an ensemble probe).

Usage: python scripts/average_oof.py RUN_A RUN_B [...] OUT
then:  python -m propscan.train.crossfit OUT --data ../shared/data/ptc-train

Each RUN is a directory that ``python -m propscan.train.crossfit`` reads (``foldK/split.json``,
``oof_scores.npz``, ``oof_states.npz``). OUT gets the folds' ``split.json`` and caches holding the
per-character scores and span-head projections averaged over the runs: the figures of averaging
those taggers at inference (which would cost one encoder pass per tagger).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from propscan.detect.span_model import TokenStates
from propscan.train.crossfit import fold_dirs, load_states, save_oof


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__.split("\n\n")[1])
    *runs, out = map(Path, sys.argv[1:])
    folds = [fold_dirs(run) for run in runs]
    if len({len(f) for f in folds}) != 1 or not folds[0]:
        raise SystemExit("error: the runs do not have the same number of folds")
    out.mkdir(parents=True, exist_ok=True)
    for same in zip(*folds, strict=True):
        tests = [json.loads((fd / "split.json").read_text())["test"] for fd in same]
        if any(t != tests[0] for t in tests):
            raise SystemExit(f"error: {same[0].name} holds out different articles in the runs")
        (out / same[0].name).mkdir(exist_ok=True)
        shutil.copy(same[0] / "split.json", out / same[0].name / "split.json")
    scores = [np.load(run / "oof_scores.npz") for run in runs]
    states = [load_states(run / "oof_states.npz") for run in runs]
    mean_scores = {aid: np.mean([z[aid].astype(np.float32) for z in scores], axis=0)
                   for aid in scores[0].files}
    mean_states = {}
    for aid, first in states[0].items():
        if any(not np.array_equal(s[aid].offsets, first.offsets) for s in states):
            raise SystemExit(f"error: article {aid} is tokenised differently in the runs")
        mean_states[aid] = TokenStates(first.offsets, np.mean(
            [s[aid].proj.astype(np.float32) for s in states], axis=0))
    save_oof(out, mean_scores, mean_states)
    print(f"averaged {len(runs)} runs over {len(mean_scores)} articles -> {out}")


if __name__ == "__main__":
    main()
