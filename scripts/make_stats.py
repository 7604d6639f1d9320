"""Make the reference quantiles in src/propscan/detect/stats/ with the shipped model.

Usage: python scripts/make_stats.py [--shared ../shared] [--threads 2]
Only quantiles (numbers) are written: no text of the corpora enters the repository.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from propscan.detect import Detector
from propscan.detect.scoring import REFERENCES, STATS_DIR, article_figures
from propscan.doc import Article
from propscan.offsets import OffsetMap

N_QUANTILES = 101


def _articles(directory: Path) -> list[Article]:
    out = []
    for path in sorted(directory.glob("*.txt")):
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
        out.append(Article(text=text, clean_text=text, offset_map=OffsetMap.identity(len(text)),
                           id=path.stem))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path(__file__).parents[2] / "shared")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sources = {"ptc_train": args.shared / "data" / "ptc-train" / "train-articles",
               "unlabeled_news": args.shared / "data" / "unlabeled-news"}
    detector = Detector(threads=args.threads).load()
    STATS_DIR.mkdir(exist_ok=True)
    for ref, directory in sources.items():
        articles = _articles(directory)
        detector.detect(articles)
        figures = [article_figures(a) for a in articles]
        quantiles = {
            key: {metric: np.quantile([f[key][metric] for f in figures],
                                      np.linspace(0, 1, N_QUANTILES)).round(4).tolist()
                  for metric in ("per_1000_words", "coverage")}
            for key in figures[0]
        }
        doc = {"reference": ref, "articles": len(articles), "model": detector.info["version"],
               "quantiles": quantiles}
        (STATS_DIR / REFERENCES[ref]).write_text(json.dumps(doc) + "\n")
        overall = quantiles["overall"]
        print(f"{ref}: {len(articles)} articles; median spans/1000 words "
              f"{overall['per_1000_words'][50]}, median coverage {overall['coverage'][50]}")


if __name__ == "__main__":
    main()
