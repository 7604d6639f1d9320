"""One fold's self-trained student from a finished teacher, against that teacher on the fold.

Usage: python scripts/student_fold.py --teachers CV_DIR --fold K --run DIR [--folds 5]
       [--layers N] [--attention-dropout 0.1] [--threads 2]
       [--data ../shared/data/ptc-train] [--unlabelled ../shared/data/unlabeled-news]

A cheap look at a student recipe (fewer layers, a second round of self-training) on a CPU,
before a full cross-validation: CV_DIR/foldK is a finished two-stage run (a fold's teacher
from ``python -m propscan.train --folds``, or a student in RUN/self-trained for a second
round). The script trains that fold's student in DIR (stage by stage, resuming finished
stages; about 50 minutes for a 2-layer student on 2 cores with attention dropout 0), scores
the fold's held-out articles with the teacher and with the student (a teacher trained without
export is exported to DIR/teacher_model first), and prints SI precision, recall and F1 of both
under the same fixed decodings (threshold / switch penalty). No decoding is fitted, so these
are not the cross-validated figures: compare the rows with each other, not with MODEL_CARD's
table. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from propscan.detect import Detector, candidate_spans
from propscan.evaluate import si_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.train.crossfit import exported_fold_model
from propscan.train.onnx_export import export_checkpoint
from propscan.train.trainer import finished_teacher, train_teacher_and_student

_SHARED = Path(__file__).resolve().parents[2] / "shared"
# (threshold, switch penalty): the shipped decoding's and its neighbours in crossfit's grid
_DECODINGS = [(0.2, 0.6), (0.2, 0.3), (0.15, 0.6), (0.25, 0.6), (0.25, 0.9)]


def _model_dir(run_dir: Path, export_to: Path) -> Path:
    """The run's exported model, exporting its checkpoint when training skipped the export."""
    try:
        return exported_fold_model(run_dir)
    except FileNotFoundError:
        if not (export_to / "model.onnx").is_file():
            export_checkpoint(finished_teacher(run_dir), export_to)
        return export_to


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=Path, required=True,
                        help="cross-validation directory whose foldK teaches")
    parser.add_argument("--fold", type=int, required=True, help="K, 0-based")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--run", type=Path, required=True, help="the student's run directory")
    parser.add_argument("--layers", type=int, default=None,
                        help="student encoder layers (default: all 6)")
    parser.add_argument("--attention-dropout", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=_SHARED / "data" / "ptc-train")
    parser.add_argument("--unlabelled", type=Path, default=_SHARED / "data" / "unlabeled-news")
    args = parser.parse_args()
    teacher_dir = args.teachers / f"fold{args.fold}"
    student = train_teacher_and_student(
        args.data, teacher_dir, args.run, args.unlabelled, student_layers=args.layers,
        train_teacher=False, fold=(args.fold, args.folds),
        attention_dropout=args.attention_dropout, threads=args.threads)

    texts, held_out, gold = held_out_articles(args.data, args.run)
    print(f"fold {args.fold} of {args.folds}: {len(held_out)} held-out articles, {len(gold)} "
          "gold fragments; SI P / R / F1 under fixed decodings (threshold/penalty)")
    for label, model in (("teacher", _model_dir(teacher_dir, args.run / "teacher_model")),
                         ("student", student)):
        detector = Detector(model, threads=args.threads).load()
        print(f"  {label}: " + si_under_decodings(detector, texts, held_out, gold)
              + f"  ({model})")


def held_out_articles(data: Path, run: Path
                      ) -> tuple[dict[str, str], list[str], list[tuple[str, int, int]]]:
    """Every PTC text, the ids ``run`` held out (its ``split.json``) and their gold
    fragments."""
    texts = read_articles(data / "train-articles")
    held_out = json.loads((run / "split.json").read_text())["test"]
    scored = set(held_out)
    gold = [(a, s, e) for a, _, s, e in read_tc_labels(data / "train-task-flc-tc.labels")
            if a in scored]
    return texts, held_out, gold


def si_under_decodings(detector: Detector, texts: dict[str, str], held_out: list[str],
                       gold: list[tuple[str, int, int]]) -> str:
    """SI P, R and F1 of ``detector``'s tagger on ``held_out`` under each of the fixed
    decodings, as one printable line."""
    scores = dict(zip(held_out, (sc for sc, _ in detector.encode(
        [texts[a] for a in held_out])), strict=True))
    cells = []
    for threshold, penalty in _DECODINGS:
        pred = [(a, s, e) for a in held_out
                for s, e in candidate_spans(texts[a], scores[a], threshold, 0, 3, penalty)]
        si = si_scores(pred, gold)
        cells.append(f"{threshold}/{penalty} {si['precision']:.3f} {si['recall']:.3f} "
                     f"{si['f1']:.4f}")
    return " | ".join(cells)


if __name__ == "__main__":
    main()
