"""How far the int8 export of a trained tagger is from fp32, on its own held-out articles.

Usage: python scripts/int8_vs_fp32.py RUN_DIR [--articles 25]

RUN_DIR is one cross-validation fold of ``python -m propscan.train`` (``split.json``,
``joint/tagger.pt``, ``joint/epoch*/model.onnx``). It exports the checkpoint as fp32 and as int8
with ``reduce_range`` (7-bit weights, meant for CPUs without VNNI, where onnxruntime's
u8 x s8 kernels can saturate), then prints the tagger-only SI/TC of each on the fold's held-out
articles and the gap of p(inside) to fp32. Needs the train extra. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from propscan.detect import Detector
from propscan.evaluate import evaluate_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.train.onnx_export import export_fp32, optimize_and_quantize
from propscan.train.trainer import load_tagger

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a fold's run directory")
    parser.add_argument("--articles", type=int, default=25, help="held-out articles to score")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "ptc-train")
    args = parser.parse_args()
    int8_dir = sorted((args.run / "joint").glob("epoch*/DONE"))[-1].parent
    ids = json.loads((args.run / "split.json").read_text())["test"][:args.articles]
    texts = read_articles(args.data / "train-articles")
    texts = {i: texts[i] for i in ids}
    gold = read_tc_labels(args.data / "train-task-flc-tc.labels")
    model = load_tagger(args.run / "joint" / "tagger.pt")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        dirs = {"fp32": out / "fp32", "int8": int8_dir, "int8 reduce_range": out / "rr"}
        for d in (dirs["fp32"], dirs["int8 reduce_range"]):
            d.mkdir()
            shutil.copy(int8_dir / "tokenizer.json", d)
        # the unfused fp32 graph computes the same function as the fused one
        export_fp32(model, dirs["fp32"] / "model.onnx")
        optimize_and_quantize(dirs["fp32"] / "model.onnx",
                              dirs["int8 reduce_range"] / "model.onnx", reduce_range=True)
        encoded = {}
        for name, d in dirs.items():
            detector = Detector(d, threads=2).load()
            t0 = time.perf_counter()
            encoded[name] = detector.encode([texts[i] for i in ids])
            elapsed = time.perf_counter() - t0
            result = evaluate_scores(detector, texts, gold, dict(zip(ids, encoded[name],
                                                                     strict=True)))
            print(f"{name:18} {elapsed:5.1f} s  tagger-only SI F1 {result['si']['f1']:.4f}  "
                  f"TC {result['tc']['micro_f1']:.4f}")
    for name in ("int8", "int8 reduce_range"):
        gap = np.concatenate([np.abs(q[0][:, 0] - f[0][:, 0])
                              for q, f in zip(encoded[name], encoded["fp32"], strict=True)])
        print(f"{name}: |p(inside) - fp32| mean {gap.mean():.4f} "
              f"p99 {np.quantile(gap, 0.99):.4f} max {gap.max():.4f}")


if __name__ == "__main__":
    main()
