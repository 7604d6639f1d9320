"""Make the reference quantiles in src/propscan/detect/stats/ with the shipped model.

Usage: python scripts/make_stats.py [--shared ../shared] [--threads 2] [--oof CV_DIR]
Only quantiles (numbers) are written: no text of the corpora enters the repository.
The shipped model was trained on the PTC articles, so its own scores on them would be
optimistic; with ``--oof`` the PTC reference uses the cross-validation folds' held-out scores
(``CV_DIR/oof_scores.npz`` and ``oof_states.npz``, see ``propscan.train.crossfit``) with the
shipped decoding instead.
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
from propscan.train.crossfit import load_states

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
    parser.add_argument("--oof", type=Path, default=None,
                        help="cross-validation dir whose held-out scores stand for PTC")
    args = parser.parse_args()
    sources = {"ptc_train": args.shared / "data" / "ptc-train" / "train-articles",
               "unlabeled_news": args.shared / "data" / "unlabeled-news"}
    detector = Detector(threads=args.threads).load()
    STATS_DIR.mkdir(exist_ok=True)
    for ref, directory in sources.items():
        articles = _articles(directory)
        if ref == "ptc_train" and args.oof is not None:
            states = load_states(args.oof / "oof_states.npz")
            with np.load(args.oof / "oof_scores.npz") as z:
                for a in articles:
                    aid = a.id.removeprefix("article")
                    found = detector.decode(a.clean_text, z[aid].astype(np.float32),
                                            states[aid])
                    a.spans = [a.span_from_clean(*f) for f in found]
        else:
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
