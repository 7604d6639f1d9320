"""Plain-text tables of evaluation results, shared by `propscan evaluate` and
`python -m propscan.train.crossfit` so that both print figures in one format."""

from __future__ import annotations

from typing import Any

__all__ = ["format_scores", "format_cross_validation"]


def _no_overlap_line(si: dict[str, Any]) -> str:
    share = si["n_pred_no_overlap"] / max(si["n_pred"], 1)
    return (f"    {si['n_pred_no_overlap']} of {si['n_pred']} predicted fragments ({share:.1%}) "
            "overlap no gold fragment")


def _per_technique_lines(tc: dict[str, Any]) -> list[str]:
    rows = sorted(tc["per_technique"].items(), key=lambda kv: -kv[1]["support"])
    return [f"    {tech:<38} F1 {row['f1']:.3f}  (support {row['support']})"
            for tech, row in rows]


def format_scores(result: dict[str, Any], scope: str) -> str:
    """SI and TC of one model (:func:`propscan.evaluate.evaluate`) on ``scope`` articles."""
    si, tc = result["si"], result["tc"]
    return "\n".join([
        f"{result['articles']} {scope}",
        f"SI  precision {si['precision']:.4f}  recall {si['recall']:.4f}  F1 {si['f1']:.4f}  "
        f"({si['n_pred']} predicted, {si['n_gold']} gold fragments)",
        _no_overlap_line(si),
        f"TC  micro-F1 {tc['micro_f1']:.4f}  ({tc['n_gold']} gold rows)",
        *_per_technique_lines(tc),
    ])


def format_cross_validation(result: dict[str, Any]) -> str:
    """Per-fold rows, mean and std over folds, then pooled figures and calibration."""
    lines = [result["evaluation"],
             f"{'fold':>4} {'articles':>8} {'SI P':>7} {'SI R':>7} {'SI F1':>7} {'TC F1':>7} "
             f"{'ECE':>7}"]
    for f in result["folds"]:
        lines.append(f"{f['fold']:>4} {f['articles']:>8} {f['si']['precision']:>7.4f} "
                     f"{f['si']['recall']:>7.4f} {f['si']['f1']:>7.4f} "
                     f"{f['tc']['micro_f1']:>7.4f} {f['ece']:>7.4f}")
    lines.append("mean ± std over folds: " + ", ".join(
        f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in result["mean_std"].items()))
    pooled = result["pooled"]
    si, tc, cal = pooled["si"], pooled["tc"], pooled["calibration"]
    lines += [f"pooled over all articles: SI P {si['precision']:.4f} R {si['recall']:.4f} "
              f"F1 {si['f1']:.4f}; TC micro-F1 {tc['micro_f1']:.4f}",
              _no_overlap_line(si),
              *_per_technique_lines(tc),
              f"calibration of span confidences: ECE {cal['ece']:.4f} over {cal['n']} "
              "predicted fragments (correct = overlaps a gold fragment of the same technique)"]
    lines += [f"    confidence {row['bin']}: {row['n']:>5} fragments, mean confidence "
              f"{row['mean_confidence']:.3f}, share correct {row['share_correct']:.3f}"
              for row in cal["bins"]]
    return "\n".join(lines)
