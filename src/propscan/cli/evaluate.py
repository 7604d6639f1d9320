"""`propscan evaluate`: SI and TC scores of a model on PTC-formatted data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app, handle_errors
from propscan.errors import ConfigError


@app.command()
@handle_errors
def evaluate(
    data: Annotated[Path, typer.Option(help="PTC directory (train-articles/ and "
                                            "train-task-flc-tc.labels).")],
    folds: Annotated[int, typer.Option(help="N>1: N-fold cross-validation by article, "
                                            "training a model per fold (needs the train "
                                            "extra; slow on CPU).")] = 1,
    all_articles: Annotated[bool, typer.Option("--all", help="Score every article, not just "
                                               "the model's held-out ones (optimistic).")] = False,
    model_dir: Annotated[Path | None, typer.Option(help="Model directory.")] = None,
    runs_dir: Annotated[Path, typer.Option(help="Where --folds writes its models and logs.")
                        ] = Path("propscan-cv"),
    threads: Annotated[int | None, typer.Option(help="Inference threads.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")
                       ] = False,
) -> None:
    """Print SI precision/recall/F1, TC micro-F1 and per-technique F1."""
    from propscan.detect import Detector
    from propscan.evaluate import evaluate as run_evaluate

    if folds < 1:
        raise ConfigError(f"--folds must be at least 1, got {folds}")
    if folds > 1:
        try:
            from propscan.train.trainer import cross_validate
        except ImportError:
            raise ConfigError("--folds needs the training extra: pip install "
                              "'propscan[train]'") from None
        result = cross_validate(data, runs_dir, folds=folds, threads=threads or 2)
        if as_json:
            print(json.dumps(result, indent=1))
        else:
            _print_cross_validation(result)
        return
    detector = Detector(model_dir, threads=threads).load()
    ids = None if all_articles else detector.metrics.get("test_ids")
    if ids is None and not all_articles:
        print("note: the model records no held-out articles (the shipped one was trained on "
              "every PTC training article), so these figures are optimistic; "
              "`--folds 5` gives cross-validated ones", file=sys.stderr)
    result = run_evaluate(data, detector, ids=ids)
    if as_json:
        print(json.dumps(result, indent=1))
        return
    si, tc = result["si"], result["tc"]
    scope = "all articles" if ids is None else "held-out articles"
    print(f"{result['articles']} {scope}")
    print(f"SI  precision {si['precision']:.4f}  recall {si['recall']:.4f}  F1 {si['f1']:.4f}  "
          f"({si['n_pred']} predicted, {si['n_gold']} gold fragments)")
    print(_no_overlap_line(si))
    print(f"TC  micro-F1 {tc['micro_f1']:.4f}  ({tc['n_gold']} gold rows)")
    _print_per_technique(tc)


def _no_overlap_line(si: dict) -> str:
    share = si["n_pred_no_overlap"] / max(si["n_pred"], 1)
    return (f"    {si['n_pred_no_overlap']} of {si['n_pred']} predicted fragments ({share:.1%}) "
            "overlap no gold fragment")


def _print_per_technique(tc: dict) -> None:
    for tech, row in sorted(tc["per_technique"].items(), key=lambda kv: -kv[1]["support"]):
        print(f"    {tech:<38} F1 {row['f1']:.3f}  (support {row['support']})")


def _print_cross_validation(result: dict) -> None:
    """Per-fold rows, mean and std over folds, then pooled figures and calibration."""
    print(result["evaluation"])
    print(f"{'fold':>4} {'articles':>8} {'SI P':>7} {'SI R':>7} {'SI F1':>7} {'TC F1':>7} "
          f"{'ECE':>7}")
    for f in result["folds"]:
        print(f"{f['fold']:>4} {f['articles']:>8} {f['si']['precision']:>7.4f} "
              f"{f['si']['recall']:>7.4f} {f['si']['f1']:>7.4f} {f['tc']['micro_f1']:>7.4f} "
              f"{f['ece']:>7.4f}")
    ms = result["mean_std"]
    print("mean ± std over folds: " + ", ".join(
        f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in ms.items()))
    pooled = result["pooled"]
    si, tc, cal = pooled["si"], pooled["tc"], pooled["calibration"]
    print(f"pooled over all articles: SI P {si['precision']:.4f} R {si['recall']:.4f} "
          f"F1 {si['f1']:.4f}; TC micro-F1 {tc['micro_f1']:.4f}")
    print(_no_overlap_line(si))
    _print_per_technique(tc)
    print(f"calibration of span confidences: ECE {cal['ece']:.4f} over {cal['n']} predicted "
          "fragments (correct = overlaps a gold fragment of the same technique)")
    for row in cal["bins"]:
        print(f"    confidence {row['bin']}: {row['n']:>5} fragments, mean confidence "
              f"{row['mean_confidence']:.3f}, share correct {row['share_correct']:.3f}")
