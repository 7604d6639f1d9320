"""Pick decoding settings on the dev split, score the held-out split, install the model.

``python -m propscan.train.finalize RUN_DIR/epochN --data ../shared/data/ptc-train
--split RUN_DIR/split.json --install src/propscan/detect/model``. Uses only onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

from propscan.detect import Detector
from propscan.evaluate import evaluate_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels

THRESHOLDS = [round(0.1 + 0.025 * i, 3) for i in range(29)]  # 0.1 .. 0.8
MAX_GAPS = [3, 12, 30, 60, 120]


def finalize(model_dir: Path, data_dir: Path, split_path: Path, install: Path | None,
             threads: int = 2) -> dict:
    split = json.loads(split_path.read_text())
    texts = read_articles(data_dir / "train-articles")
    gold = read_tc_labels(data_dir / "train-task-flc-tc.labels")
    det = Detector(model_dir, threads=threads).load()
    dev = {i: texts[i] for i in split["dev"]}
    dev_scores = dict(zip(sorted(dev), det.predict([dev[i] for i in sorted(dev)]), strict=True))
    # SI picks the threshold; TC (threshold-free) picks the repetition rule
    si_best, gap_best = max(((t, g) for g in MAX_GAPS for t in THRESHOLDS),
                            key=lambda tg: _dev_si(det, dev, gold, dev_scores, *tg))
    weights_best = _technique_weights(det, dev, gold, dev_scores)
    rule_best = max((True, "phrase", False), key=lambda r: _dev_tc(det, dev, gold, dev_scores, r))
    det.config.update(threshold=si_best, max_gap_chars=gap_best, repetition_rule=rule_best)
    test = {i: texts[i] for i in split["test"]}
    res = evaluate_scores(det, test, gold)
    metrics = {
        "evaluation": "single held-out split: 20% of the PTC training articles by article "
                      "(not cross-validation); threshold picked on a separate 10% dev slice",
        "test_articles": len(test), "dev_articles": len(dev), "fit_articles": len(split["fit"]),
        "threshold": si_best, "max_gap_chars": gap_best, "repetition_rule": rule_best,
        "technique_weights": weights_best, "si": res["si"], "tc": res["tc"],
        "date": time.strftime("%Y-%m-%d"),
        "test_ids": split["test"],
    }
    print(json.dumps({k: v for k, v in metrics.items() if k != "test_ids"}, indent=1))
    if install is not None:
        install.mkdir(parents=True, exist_ok=True)
        for name in ("model.onnx", "tokenizer.json"):
            shutil.copy(model_dir / name, install / name)
        config = {"name": "propscan-minilm-tagger", "version": time.strftime("%Y.%m.%d"),
                  "base_model": "sentence-transformers/all-MiniLM-L6-v2 (int8 ONNX)",
                  "threshold": si_best, "max_gap_chars": det.config["max_gap_chars"],
                  "min_chars": det.config["min_chars"], "repetition_rule": rule_best,
                  "technique_weights": weights_best}
        (install / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        (install / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


def _dev_si(det, dev, gold, scores, thr, gap) -> float:
    det.config.update(threshold=thr, max_gap_chars=gap)
    si = evaluate_scores(det, dev, gold, scores=scores)["si"]
    print(f"dev threshold={thr} max_gap={gap}: SI P={si['precision']:.3f} R={si['recall']:.3f} "
          f"F1={si['f1']:.4f}", flush=True)
    return si["f1"]


def _technique_weights(det, dev, gold, scores) -> list[float] | None:
    """Weights prior**-alpha over the 14 techniques, alpha picked for dev TC micro-F1."""
    rows = [(aid, s, e) for aid, _, s, e in gold if aid in dev]
    means = np.array([scores[aid][s:e, 1:].mean(axis=0) for aid, s, e in rows])
    prior = np.maximum(means.mean(axis=0), 1e-4)
    best_alpha, best_f1, best_w = 0.0, -1.0, None
    for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
        w = (prior ** -alpha / (prior ** -alpha).max()).round(5).tolist() if alpha else None
        det.config.update(technique_weights=w)
        tc = evaluate_scores(det, dev, gold, scores=scores)["tc"]["micro_f1"]
        print(f"dev technique prior alpha={alpha}: TC micro-F1={tc:.4f}", flush=True)
        if tc > best_f1:
            best_alpha, best_f1, best_w = alpha, tc, w
    det.config.update(technique_weights=best_w)
    print(f"chosen alpha={best_alpha}")
    return best_w


def _dev_tc(det, dev, gold, scores, rule) -> float:
    det.config.update(repetition_rule=rule)
    tc = evaluate_scores(det, dev, gold, scores=scores)["tc"]["micro_f1"]
    print(f"dev repetition_rule={rule}: TC micro-F1={tc:.4f}", flush=True)
    return tc


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train.finalize")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--install", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    finalize(args.model_dir, args.data, args.split, args.install, args.threads)


if __name__ == "__main__":
    main()
