"""`propscan evaluate`: SI and TC scores of a model on PTC-formatted data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app, handle_errors
from propscan.errors import ConfigError
from propscan.report.tables import format_cross_validation, format_scores


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
    unlabelled: Annotated[Path | None, typer.Option(
        help="With --folds: self-training, as the shipped model was trained; each fold's "
             "model labels these articles (.txt files, e.g. ../shared/data/unlabeled-news) "
             "for a student trained on the same fold, and the students are scored.")] = None,
    threads: Annotated[int | None, typer.Option(
        help="Threads (default: every core this process may use for scoring; with --folds, "
             "2 per model trained).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")
                       ] = False,
    taxonomy: Annotated[str, typer.Option(
        help="ptc (PTC-14, the default) or semeval2023: --data is then a SemEval-2023 "
             "subtask 3 directory (e.g. ../shared/data/semeval2023-en-train) and --folds N "
             "cross-validates the SemEval-2023 classifiers (lexical, minutes on a CPU).")
                        ] = "ptc",
) -> None:
    """Print SI precision/recall/F1, TC micro-F1 and per-technique F1.

    With --taxonomy semeval2023: TC23 micro-F1 on gold spans, paragraph micro-F1 with the
    trivial baseline beside it, per-technique and per-category F1 (mean ± std over folds),
    and the span identification (SI) figures the tagger's own cross-validation recorded:
    SemEval-2023 names are given to the tagger's spans, which stay as they were.
    """
    if taxonomy not in ("ptc", "semeval2023"):
        raise ConfigError(f"--taxonomy must be ptc or semeval2023, got {taxonomy!r}")
    if taxonomy == "semeval2023":
        _evaluate_semeval(data, folds, model_dir, as_json)
        return
    from propscan.detect import Detector
    from propscan.evaluate import evaluate as run_evaluate

    if folds < 1:
        raise ConfigError(f"--folds must be at least 1, got {folds}")
    if unlabelled is not None and folds == 1:
        raise ConfigError("--unlabelled needs --folds N (it trains models)")
    if unlabelled is not None and not unlabelled.is_dir():
        raise ConfigError(f"--unlabelled: no such directory: {unlabelled}")
    if folds > 1:
        try:
            from propscan.train.config import TrainConfig
            from propscan.train.crossfit import show_progress
            from propscan.train.recipe import cross_validate
        except ImportError:
            raise ConfigError("--folds needs the training extra: pip install "
                              "'propscan[train]'") from None
        show_progress()
        result = cross_validate(data, runs_dir,
                                TrainConfig(threads=threads or 2, unlabelled=unlabelled),
                                folds=folds)
        if as_json:
            print(json.dumps(result, indent=1))
        else:
            print(format_cross_validation(result))
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
    scope = "all articles" if ids is None else "held-out articles"
    print(format_scores(result, scope))


def _evaluate_semeval(data: Path, folds: int, model_dir: Path | None, as_json: bool) -> None:
    from propscan.detect.detector import DEFAULT_MODEL_DIR

    if folds < 2:
        raise ConfigError("--taxonomy semeval2023 needs --folds N (N >= 2): the shipped "
                          "SemEval-2023 model was fitted on every training article")
    try:
        from propscan.train.semeval_fit import cross_validate, format_result
    except ImportError:
        raise ConfigError("--taxonomy semeval2023 needs the training extra: pip install "
                          "'propscan[train]'") from None
    result = cross_validate(data, folds)
    metrics_path = (model_dir or DEFAULT_MODEL_DIR) / "metrics.json"
    si = (json.loads(metrics_path.read_text()).get("mean_std", {}).get("si_f1")
          if metrics_path.is_file() else None)
    result["si_f1_tagger_cv"] = si
    if as_json:
        print(json.dumps(result, indent=1))
        return
    print(format_result(result))
    if si is not None:
        print(f"SI F1 (PTC tagger, its recorded cross-validation): {si['mean']:.3f} ± "
              f"{si['std']:.3f}")
