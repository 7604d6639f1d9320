"""SemEval-2023 Task 3 measures and data: technique classification on gold spans with the 23
names (TC23) and the paragraph measure of subtask 3.

* TC23: micro-F1 over (article, technique, start, end) rows, gold spans given (as PTC TC).
* Paragraphs: every line of a SemEval-2023 article file, numbered from 1, is a paragraph; its
  gold techniques are those of the gold spans sharing at least one character with it; the
  score is micro-F1 over the set of (article, line, technique) triples.
* Per category: the same measures after replacing each technique by its category.
* Trivial baseline: every non-empty line gets the k most frequent techniques of the training
  lines, k chosen on the training lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect.semeval_features import lines_of
from propscan.errors import InputNotFound
from propscan.evaluate.measures import f1, tc_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels

__all__ = ["Triple", "read_semeval", "paragraph_gold", "nonempty_lines", "set_scores",
           "tc23_scores", "paragraph_scores", "by_category", "frequent_techniques",
           "baseline_paragraphs", "summarize_folds", "format_result", "category_2023",
           "cell_micro_f1"]

Triple = tuple[str, int, str]  # (article id, line number from 1, technique)


def read_semeval(data_dir: Path) -> tuple[dict[str, str], list[tuple[str, str, int, int]]]:
    """Texts (``articles/``) and span rows (``train-labels-subtask-3-spans.txt``) of a
    SemEval-2023 subtask 3 directory (or of the ``semeval2023-en-train`` inside it)."""
    data_dir = Path(data_dir)
    if (data_dir / "semeval2023-en-train").is_dir():
        data_dir = data_dir / "semeval2023-en-train"
    labels = data_dir / "train-labels-subtask-3-spans.txt"
    if not labels.is_file():
        raise InputNotFound(f"not a SemEval-2023 directory (no {labels.name}): {data_dir}")
    return read_articles(data_dir / "articles"), read_tc_labels(labels)


def paragraph_gold(texts: dict[str, str], rows: Iterable[tuple[str, str, int, int]]
                   ) -> set[Triple]:
    """The (article, line, technique) triples of span rows: a line carries the techniques of
    the spans that share at least one character with it."""
    bounds = {aid: lines_of(text) for aid, text in texts.items()}
    triples = set()
    for aid, technique, start, end in rows:
        for number, (ls, le) in enumerate(bounds.get(aid, ()), 1):
            if max(start, ls) < min(end, le):
                triples.add((aid, number, technique))
    return triples


def nonempty_lines(texts: dict[str, str]) -> list[tuple[str, int]]:
    """(article, line number) of every line with a non-space character."""
    return [(aid, number) for aid, text in sorted(texts.items())
            for number, line in enumerate(text.split("\n"), 1) if line.strip()]


def category_2023(name: str) -> str:
    """The SemEval-2023 category of a technique."""
    from propscan.techniques import get_semeval_technique

    return get_semeval_technique(name).category


def cell_micro_f1(pred: np.ndarray, gold: np.ndarray) -> float:
    """Micro-F1 of two boolean (line, technique) matrices."""
    return 2 * float((pred & gold).sum()) / max(float(pred.sum() + gold.sum()), 1.0)


def set_scores(pred: set, gold: set) -> dict[str, float]:
    """Micro precision, recall and F1 of two sets of labelled items."""
    tp = len(pred & gold)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(gold) if gold else 0.0
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall),
            "n_pred": len(pred), "n_gold": len(gold)}


def paragraph_scores(pred: set[Triple], gold: set[Triple]) -> dict[str, Any]:
    """Micro-F1 over (article, line, technique) triples, and each technique's F1."""
    out: dict[str, Any] = dict(set_scores(pred, gold))
    out["per_technique"] = {
        tech: {**set_scores({t for t in pred if t[2] == tech}, {t for t in gold if t[2] == tech}),
               "support": sum(t[2] == tech for t in gold)}
        for tech in sorted({t[2] for t in pred | gold})}
    return out


def tc23_scores(pred: list[tuple[str, str, int, int]], gold: list[tuple[str, str, int, int]]
                ) -> dict:
    """TC micro-F1 and per-technique F1 over (article, technique, start, end) rows."""
    return tc_scores(pred, gold)


def by_category(category_of: Callable[[str], str], pred: Iterable[tuple], gold: Iterable[tuple],
                column: int) -> dict[str, dict[str, float]]:
    """F1 of each category: the rows (TC rows or paragraph triples) with the technique in
    ``column`` replaced by its category, as sets of (item, category) with multiplicity."""
    def recast(rows: Iterable[tuple]) -> Counter:
        return Counter(row[:column] + (category_of(row[column]),) + row[column + 1:]
                       for row in rows)

    p_rows, g_rows = recast(pred), recast(gold)
    hits = p_rows & g_rows
    out = {}
    for cat in sorted({r[column] for r in p_rows} | {r[column] for r in g_rows}):
        tp = sum(c for r, c in hits.items() if r[column] == cat)
        n_p = sum(c for r, c in p_rows.items() if r[column] == cat)
        n_g = sum(c for r, c in g_rows.items() if r[column] == cat)
        precision, recall = (tp / n_p if n_p else 0.0), (tp / n_g if n_g else 0.0)
        out[cat] = {"precision": precision, "recall": recall, "f1": f1(precision, recall),
                    "support": n_g}
    return out


def frequent_techniques(gold: set[Triple]) -> list[str]:
    """Techniques by how many lines carry them, most first (ties by name)."""
    counts = Counter(t[2] for t in gold)
    return sorted(counts, key=lambda tech: (-counts[tech], tech))


def baseline_paragraphs(train_texts: dict[str, str], train_gold: set[Triple],
                        test_texts: dict[str, str], max_k: int = 6) -> tuple[set[Triple], int]:
    """The trivial baseline: every non-empty test line gets the k most frequent techniques of
    the training lines, k (1..max_k) the best on the training lines. Returns the predicted
    triples and k."""
    ranked = frequent_techniques(train_gold)
    train_lines = nonempty_lines(train_texts)

    def guess(lines: list[tuple[str, int]], k: int) -> set[Triple]:
        return {(aid, n, tech) for aid, n in lines for tech in ranked[:k]}

    best_k = max(range(1, min(max_k, len(ranked)) + 1), default=0,
                 key=lambda k: (set_scores(guess(train_lines, k), train_gold)["f1"], -k))
    return guess(nonempty_lines(test_texts), best_k), best_k


def _mean_std(values: list[float]) -> dict[str, float]:
    return {"mean": float(np.mean(values)), "std": float(np.std(values))}


def summarize_folds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over folds of each fold's TC23, paragraph and baseline figures, per
    technique (with the support summed over folds) and per category."""
    summary: dict[str, Any] = {
        "tc23_micro_f1": _mean_std([r["tc23"]["micro_f1"] for r in results]),
        "paragraph_micro_f1": _mean_std([r["paragraph"]["f1"] for r in results]),
        "baseline_micro_f1": _mean_std([r["baseline"]["f1"] for r in results])}
    for key in ("tc23", "paragraph"):
        techs = sorted({t for r in results for t in r[key]["per_technique"]})
        summary[f"{key}_per_technique"] = {
            t: {**_mean_std([r[key]["per_technique"].get(t, {}).get("f1", 0.0)
                             for r in results]),
                "support": sum(r[key]["per_technique"].get(t, {}).get("support", 0)
                               for r in results)} for t in techs}
        cats = sorted({c for r in results for c in r[f"{key}_category"]})
        summary[f"{key}_per_category"] = {
            c: _mean_std([r[f"{key}_category"].get(c, {}).get("f1", 0.0) for r in results])
            for c in cats}
    return summary


def format_result(result: dict[str, Any]) -> str:
    """Cross-validated figures (``{"evaluation", "mean_std"}``) as a text table (mean ± std
    over folds)."""
    s = result["mean_std"]

    def ms(d: dict[str, float]) -> str:
        return f"{d['mean']:.3f} ± {d['std']:.3f}"

    out = [result["evaluation"],
           f"TC23 micro-F1 (gold spans)        {ms(s['tc23_micro_f1'])}",
           f"paragraph micro-F1                {ms(s['paragraph_micro_f1'])}   "
           f"(trivial baseline {ms(s['baseline_micro_f1'])})", ""]
    for key, title in (("tc23", "TC23"), ("paragraph", "paragraphs")):
        out.append(f"{title}: per-technique F1 (support over folds)")
        out += [f"  {t:<34} {ms(v)}  ({v['support']})"
                for t, v in sorted(s[f"{key}_per_technique"].items(),
                                   key=lambda kv: -kv[1]["support"])]
        out.append(f"{title}: per-category F1")
        out += [f"  {c:<34} {ms(v)}" for c, v in s[f"{key}_per_category"].items()]
        out.append("")
    return "\n".join(out)
