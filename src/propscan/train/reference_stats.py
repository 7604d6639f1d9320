"""Make the reference quantiles in src/propscan/detect/stats/ with the shipped model.

``python -m propscan.train.reference_stats [--shared ../shared] [--threads 2] [--oof CV_DIR]``
(``make train`` runs it after installing a model). Only quantiles (numbers) are written: no text
of the corpora enters the repository. The shipped model was trained on the PTC articles, so its
own scores on them would be optimistic; with ``--oof`` the PTC reference uses the
cross-validation folds' held-out scores (``CV_DIR/oof_scores.npz`` and ``oof_states.npz``, see
:mod:`propscan.train.oof`) with the shipped decoding instead.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect import Detector
from propscan.detect.scoring import REFERENCES, STATS_DIR, article_figures
from propscan.doc import Article
from propscan.errors import InputNotFound, PropscanError
from propscan.offsets import OffsetMap
from propscan.train.oof import load_states

__all__ = ["reference_quantiles", "make_reference_stats", "N_QUANTILES"]

N_QUANTILES = 101


def _articles(directory: Path) -> list[Article]:
    paths = sorted(directory.glob("*.txt"))
    if not paths:
        raise InputNotFound(f"no article .txt files in {directory}")
    out = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
        out.append(Article(text=text, clean_text=text, offset_map=OffsetMap.identity(len(text)),
                           id=path.stem))
    return out


def _decode_oof(detector: Detector, articles: list[Article], oof_dir: Path) -> None:
    """Findings of ``articles`` from the held-out scores cached in ``oof_dir``."""
    scores_path = oof_dir / "oof_scores.npz"
    if not scores_path.is_file():
        raise InputNotFound(f"no out-of-fold scores at {scores_path}")
    states = load_states(oof_dir / "oof_states.npz")
    with np.load(scores_path) as z:
        for a in articles:
            aid = str(a.id).removeprefix("article")
            found = detector.decode(a.clean_text, z[aid].astype(np.float32), states.get(aid))
            a.spans = [a.finding_from_clean(f) for f in found]


def reference_quantiles(articles: list[Article]) -> dict[str, dict[str, list[float]]]:
    """Per figure of :func:`propscan.detect.scoring.article_figures` (overall and per
    technique), the ``N_QUANTILES`` quantiles of its rate and coverage over ``articles``."""
    figures = [article_figures(a) for a in articles]
    return {
        key: {metric: np.quantile([f[key][metric] for f in figures],
                                  np.linspace(0, 1, N_QUANTILES)).round(4).tolist()
              for metric in ("per_1000_words", "coverage")}
        for key in figures[0]
    }


def make_reference_stats(shared: Path, threads: int = 2, oof_dir: Path | None = None
                         ) -> dict[str, dict[str, Any]]:
    """Write the reference files of ``STATS_DIR`` from the corpora under ``shared`` and
    return them by reference name."""
    sources = {"ptc_train": shared / "data" / "ptc-train" / "train-articles",
               "unlabeled_news": shared / "data" / "unlabeled-news"}
    detector = Detector(threads=threads).load()
    STATS_DIR.mkdir(exist_ok=True)
    written = {}
    for ref, directory in sources.items():
        articles = _articles(directory)
        if ref == "ptc_train" and oof_dir is not None:
            _decode_oof(detector, articles, oof_dir)
        else:
            detector.detect(articles)
        doc = {"reference": ref, "articles": len(articles), "model": detector.info["version"],
               "quantiles": reference_quantiles(articles)}
        (STATS_DIR / REFERENCES[ref]).write_text(json.dumps(doc) + "\n")
        written[ref] = doc
    return written


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train.reference_stats")
    parser.add_argument("--shared", type=Path, default=Path("../shared"),
                        help="the shared research data (default: ../shared)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--oof", type=Path, default=None,
                        help="cross-validation dir whose held-out scores stand for PTC")
    args = parser.parse_args()
    try:
        written = make_reference_stats(args.shared, args.threads, args.oof)
    except PropscanError as exc:  # one line, as the propscan CLI does
        parser.exit(exc.exit_code, f"error: {exc}\n")
    for ref, doc in written.items():
        overall = doc["quantiles"]["overall"]
        print(f"{ref}: {doc['articles']} articles; median spans/1000 words "
              f"{overall['per_1000_words'][50]}, median coverage {overall['coverage'][50]}")


if __name__ == "__main__":
    main()
