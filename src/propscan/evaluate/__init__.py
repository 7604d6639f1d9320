"""Evaluation against the PTC corpus with the official SI and TC measures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from propscan.evaluate.measures import f1, merge_overlaps, si_scores, tc_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels

if TYPE_CHECKING:
    import numpy.typing as npt

    from propscan.detect.detector import Detector
    from propscan.detect.span_model import TokenStates

__all__ = ["evaluate", "evaluate_scores", "si_scores", "tc_scores", "merge_overlaps", "f1"]


def evaluate_scores(detector: Detector, texts: dict[str, str],
                    gold_tc: list[tuple[str, str, int, int]],
                    scores: dict[str, tuple[npt.NDArray[Any], TokenStates | None]] | None = None
                    ) -> dict[str, Any]:
    """SI and TC of ``detector`` on ``texts`` (by article id) against technique-level gold.

    ``scores`` may hold precomputed :meth:`Detector.encode` outputs (scores, states) by
    article id, so several decoding settings can be compared for one forward pass.
    """
    ids = sorted(texts)
    if scores is None:
        scores = dict(zip(ids, detector.encode([texts[i] for i in ids]), strict=True))
    gold = [row for row in gold_tc if row[0] in texts]
    pred_si = [(aid, f.start, f.end) for aid in ids
               for f in detector.decode(texts[aid], *scores[aid])]
    gold_si = [(aid, s, e) for aid, _, s, e in gold]
    pred_tc: list[tuple[str, str, int, int]] = []
    for aid in ids:
        rows = [(s, e) for a, _, s, e in gold if a == aid]
        labels = detector.classify(texts[aid], rows, *scores[aid])
        pred_tc.extend((aid, t, s, e) for (s, e), t in zip(rows, labels, strict=True))
    return {"articles": len(ids), "si": si_scores(pred_si, gold_si),
            "tc": tc_scores(pred_tc, gold)}


def evaluate(data_dir: Path, detector: Detector, ids: list[str] | None = None) -> dict[str, Any]:
    """Evaluate on a PTC directory (``train-articles/`` + ``train-task-flc-tc.labels``)."""
    data_dir = Path(data_dir)
    texts = read_articles(data_dir / "train-articles")
    if ids is not None:
        texts = {i: texts[i] for i in ids if i in texts}
    gold = read_tc_labels(data_dir / "train-task-flc-tc.labels")
    return evaluate_scores(detector, texts, gold)
