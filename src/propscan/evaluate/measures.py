"""The two official PTC measures (SemEval-2020 Task 11), as the corpus README defines them.

* SI: per article, overlapping fragments are merged on each side; then
  P = sum_{s in pred, t in gold} |s & t| / |s|  / #pred,
  R = sum_{s in pred, t in gold} |s & t| / |t|  / #gold (counts over the whole corpus).
* TC: micro-F1 over (article, start, end, technique) rows, matched as multisets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

__all__ = ["merge_overlaps", "si_scores", "tc_scores", "f1"]


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def merge_overlaps(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge fragments that share at least one character (touching ones stay apart)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def si_scores(pred: Iterable[tuple[str, int, int]],
              gold: Iterable[tuple[str, int, int]]) -> dict[str, float]:
    """SI precision, recall and F1 over (article_id, start, end) rows (see module docstring)."""
    by_article: dict[str, tuple[list, list]] = {}
    for aid, s, e in pred:
        by_article.setdefault(aid, ([], []))[0].append((s, e))
    for aid, s, e in gold:
        by_article.setdefault(aid, ([], []))[1].append((s, e))
    p_sum = r_sum = 0.0
    n_pred = n_gold = unmatched = 0
    for p_spans, g_spans in by_article.values():
        ps, gs = merge_overlaps(p_spans), merge_overlaps(g_spans)
        n_pred += len(ps)
        n_gold += len(gs)
        for s0, s1 in ps:
            hit = False
            for t0, t1 in gs:
                inter = min(s1, t1) - max(s0, t0)
                if inter > 0:
                    hit = True
                    p_sum += inter / (s1 - s0)
                    r_sum += inter / (t1 - t0)
            unmatched += not hit
    precision = p_sum / n_pred if n_pred else 0.0
    recall = r_sum / n_gold if n_gold else 0.0
    # not part of the official measure: how much of the precision loss is false alarms (no
    # overlap at all) rather than fragments too long
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall),
            "n_pred": n_pred, "n_gold": n_gold, "n_pred_no_overlap": unmatched}


def tc_scores(pred: Iterable[tuple[str, str, int, int]],
              gold: Iterable[tuple[str, str, int, int]]) -> dict:
    """TC micro P/R/F1 and per-technique F1 over (article_id, technique, start, end) rows."""
    p_rows, g_rows = Counter(pred), Counter(gold)
    hits = p_rows & g_rows
    tp, n_pred, n_gold = sum(hits.values()), sum(p_rows.values()), sum(g_rows.values())
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    per_technique = {}
    techniques = {row[1] for row in g_rows} | {row[1] for row in p_rows}
    for tech in sorted(techniques):
        t_tp = sum(c for row, c in hits.items() if row[1] == tech)
        t_pred = sum(c for row, c in p_rows.items() if row[1] == tech)
        t_gold = sum(c for row, c in g_rows.items() if row[1] == tech)
        tp_ = t_tp / t_pred if t_pred else 0.0
        tr_ = t_tp / t_gold if t_gold else 0.0
        per_technique[tech] = {"precision": tp_, "recall": tr_, "f1": f1(tp_, tr_),
                               "support": t_gold}
    return {"precision": precision, "recall": recall, "micro_f1": f1(precision, recall),
            "n_pred": n_pred, "n_gold": n_gold, "per_technique": per_technique}
