"""Detector speed: articles/s over the PTC training articles, ms per 1,000 words, peak RSS.

Usage: python scripts/bench.py [--threads 2] [--limit N] [--large]
``--large`` also times a randomly initialised RoBERTa-large-shaped encoder exported to ONNX
(needs the train extra: torch, transformers) to show what a bigger model would cost.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import resource
import tempfile
import time
from pathlib import Path

from propscan.detect import Detector

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _texts(limit: int | None) -> list[str]:
    paths = sorted((SHARED / "data" / "ptc-train" / "train-articles").glob("*.txt"))[:limit]
    return [p.read_text(encoding="utf-8") for p in paths]


def _time(detector: Detector, texts: list[str], label: str) -> None:
    detector.load()
    detector.detect_texts(texts[:2])  # warm-up
    words = sum(len(re.findall(r"\w+", t)) for t in texts)
    t0 = time.perf_counter()
    detector.detect_texts(texts)
    elapsed = time.perf_counter() - t0
    print(f"{label}: {len(texts)} articles, {words} words in {elapsed:.1f} s -> "
          f"{len(texts) / elapsed:.2f} articles/s, {1000 * elapsed / words * 1000:.1f} ms "
          f"per 1,000 words")


def _large_model_dir(tmp: Path) -> Path:
    """A RoBERTa-large-shaped encoder with random weights + our head, as int8 ONNX."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import RobertaConfig, RobertaModel

    from propscan.train.trainer import Tagger, base_model_path

    config = RobertaConfig(vocab_size=30522, hidden_size=1024, num_hidden_layers=24,
                           num_attention_heads=16, intermediate_size=4096,
                           max_position_embeddings=514)
    model = Tagger(RobertaModel(config, add_pooling_layer=False)).eval()
    ids = torch.ones((1, 16), dtype=torch.long)
    fp32 = tmp / "fp32.onnx"
    torch.onnx.export(model, (ids, ids), str(fp32), input_names=["input_ids", "attention_mask"],
                      output_names=["probs"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "b", 1: "s"},
                                    "attention_mask": {0: "b", 1: "s"}})
    quantize_dynamic(str(fp32), str(tmp / "model.onnx"), weight_type=QuantType.QInt8)
    (tmp / "tokenizer.json").write_bytes((base_model_path() / "tokenizer.json").read_bytes())
    return tmp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N articles only")
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()
    texts = _texts(args.limit)
    _time(Detector(threads=args.threads), texts, f"MiniLM-L6 int8, {args.threads} threads")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss_mb:.0f} MB")
    if args.large:
        with tempfile.TemporaryDirectory() as tmp:
            large = Detector(_large_model_dir(Path(tmp)), threads=args.threads)
            _time(large, texts[: args.limit or 20],
                  f"RoBERTa-large-shaped (random) int8, {args.threads} threads")


if __name__ == "__main__":
    main()
