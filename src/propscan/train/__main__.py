"""``python -m propscan.train --data ../shared/data/ptc-train --run /work/runs/r1``."""

from __future__ import annotations

import argparse
from pathlib import Path

from propscan.train.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train")
    parser.add_argument("--data", type=Path, required=True, help="PTC training split directory")
    parser.add_argument("--run", type=Path, required=True, help="output dir (logs, checkpoints)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--all-data", action="store_true", help="fit on every article")
    args = parser.parse_args()
    train(args.data, args.run, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
          threads=args.threads, seed=args.seed, all_data=args.all_data)


if __name__ == "__main__":
    main()
