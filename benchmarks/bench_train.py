"""Training speed: seconds per fine-tuning step of the tagger, by attention-dropout setting and
base encoder.

Usage: python benchmarks/bench_train.py [--steps 6] [--threads 2] [--span-weight 0.0]
       [--attention-dropout 0.1 0.0] [--encoder minilm mpnet]

Each step is the real one of ``propscan.train`` (batch of 16 windows of 256 tokens from the PTC
training articles, AdamW, gradient clipping). The settings are timed interleaved, step by step,
on the same batches, so a busy machine slows all of them alike; one warm-up step each is not
timed. Prints the median seconds per step and each setting's ratio to the first. Needs the train
extra. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import torch

from propscan.detect.windows import load_tokenizer
from propscan.train.data import build_examples, load_ptc
from propscan.train.encoders import ENCODERS, base_encoder_path
from propscan.train.model import new_tagger
from propscan.train.trainer import train_step

SHARED = Path(__file__).resolve().parents[2] / "shared"
BATCH = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed steps per setting")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--span-weight", type=float, default=0.0,
                        help="0: stage 1 (token tagger only); 0.3: stage 2 (with span head)")
    parser.add_argument("--attention-dropout", type=float, nargs="+", default=[0.1, 0.0])
    parser.add_argument("--encoder", nargs="+", choices=list(ENCODERS), default=["minilm"],
                        help="base encoders to time (mpnet: the all-mpnet-base-v2 teacher)")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "ptc-train")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    texts, labels = load_ptc(args.data)
    batches = {}
    for encoder in args.encoder:  # the same windows, in each encoder's own token ids
        tokenizer = load_tokenizer(base_encoder_path(encoder) / "tokenizer.json")
        examples = build_examples(tokenizer, texts, labels, sorted(texts)[:60])
        random.Random(13).shuffle(examples)
        batches[encoder] = [examples[i * BATCH:(i + 1) * BATCH] for i in range(args.steps + 1)]

    runs = []
    for encoder in args.encoder:
        for dropout in args.attention_dropout:
            torch.manual_seed(13)
            model = new_tagger(dropout, encoder=encoder).train()
            runs.append((f"{encoder}, attention dropout {dropout}", encoder, model,
                         torch.optim.AdamW(model.parameters(), lr=8e-5), []))
    for i in range(args.steps + 1):
        for _, encoder, model, opt, times in runs:
            t0 = time.perf_counter()
            train_step(model, opt, batches[encoder][i], args.span_weight)
            if i:  # the first step of each is a warm-up
                times.append(time.perf_counter() - t0)
    first = statistics.median(runs[0][4])
    tokens = sum(len(e.input_ids) for b in batches[args.encoder[0]][1:] for e in b) / args.steps
    print(f"{args.steps} steps of {BATCH} windows (~{tokens:.0f} tokens), {args.threads} threads, "
          f"span weight {args.span_weight}")
    for name, _, _, _, times in runs:
        median = statistics.median(times)
        print(f"{name}: {median:.2f} s/step (min {min(times):.2f}), "
              f"{median / first:.2f}x the first")


if __name__ == "__main__":
    main()
