"""Train the tagger.

* one model: ``python -m propscan.train --data ../shared/data/ptc-train --run runs/r1
  [--fold K/N | --all-data]`` (two stages: the token tagger alone, then both heads in
  ``runs/r1/joint``; see ``recipe.train_two_stage``)
* the shipped model, reproduced: ``python -m propscan.train --data ../shared/data/ptc-train
  --run runs/train --folds 5 --unlabelled ../shared/data/unlabeled-news --install
  src/propscan/detect/model`` (per fold and once on every article, a teacher tagger labels the
  unlabelled articles for a student, see ``recipe.train_teacher_and_student``; decoding fitted
  on the students' held-out predictions, see ``crossfit``). Without ``--unlabelled``: one
  tagger per fold and one on every article, no self-training. ``--teacher-encoder mpnet``: the
  teachers are all-mpnet-base-v2 (see ``propscan.train.encoders``), the students MiniLM.
* an all-mpnet-base-v2 tagger (a teacher, not exported): ``--encoder mpnet``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from propscan.errors import ConfigError, PropscanError
from propscan.report.tables import format_cross_validation
from propscan.train.config import (
    ATTENTION_DROPOUT,
    BASE_LAYERS,
    JOINT_EPOCHS,
    STAGE1_EPOCHS,
    TrainConfig,
)
from propscan.train.encoders import ENCODERS


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m propscan.train")
    parser.add_argument("--data", type=Path, required=True, help="PTC training split directory")
    parser.add_argument("--run", type=Path, required=True, help="output dir (logs, checkpoints)")
    parser.add_argument("--epochs", type=_positive_int, default=STAGE1_EPOCHS,
                        help="epochs of the first stage")
    parser.add_argument("--joint-epochs", type=_positive_int, default=JOINT_EPOCHS,
                        help="epochs of the second (joint) stage")
    parser.add_argument("--threads", type=_positive_int, default=2, help="CPU threads per model")
    parser.add_argument("--device", default="cpu",
                        help="torch device to train on: cpu (default) or cuda")
    parser.add_argument("--jobs", type=_positive_int, default=1,
                        help="with --folds: models trained at once, one process each (useful "
                             "on a GPU or many cores; also the cross-fitting's workers)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the fold assignment (default: --seed)")
    parser.add_argument("--attention-dropout", type=float, default=ATTENTION_DROPOUT,
                        help="dropout on attention probabilities while fine-tuning (0 trains "
                             "about 1.9x faster on a CPU; see MODEL_CARD.md)")
    parser.add_argument("--all-data", action="store_true", help="fit on every article")
    parser.add_argument("--fold", default=None, metavar="K/N",
                        help="cross-validation: hold out the K-th of N parts (0-based)")
    parser.add_argument("--folds", type=int, default=None, metavar="N",
                        help="train all N folds (resuming finished ones) and print "
                             "cross-validated figures")
    parser.add_argument("--install", type=Path, default=None,
                        help="with --folds: also train on every article and install the "
                             "model here")
    parser.add_argument("--unlabelled", type=Path, default=None, metavar="DIR",
                        help="with --folds: self-training; each fold's model labels these "
                             "articles (.txt files) for a student trained on the same fold, and "
                             "the students are scored and installed (RUN/self-trained)")
    parser.add_argument("--student-layers", type=_positive_int, default=None, metavar="N",
                        help=f"with --unlabelled: students keep only the first N of the base "
                             f"encoder's {BASE_LAYERS} layers (faster inference; the teachers "
                             "keep all)")
    parser.add_argument("--teachers", type=Path, default=None, metavar="DIR",
                        help="with --unlabelled: take each fold's teacher from DIR/foldK (and "
                             "DIR/full) instead of training one: another run's teachers (for "
                             "students of another depth) or RUN/self-trained (a second round "
                             "of self-training); they must share this run's folds")
    parser.add_argument("--encoder", choices=list(ENCODERS), default="minilm",
                        help="base encoder of one model (no --folds): mpnet trains a teacher, "
                             "not exported (only minilm models are installed)")
    parser.add_argument("--teacher-encoder", choices=list(ENCODERS), default="minilm",
                        help="with --unlabelled: base encoder of the teachers trained here (the "
                             "students stay minilm)")
    parser.add_argument("--max-articles", type=_positive_int, default=None, metavar="N",
                        help="fit on the first N training (and unlabelled) articles only "
                             "(smoke runs)")
    parser.add_argument("--scores-only", action="store_true",
                        help="with --folds: train, write the out-of-fold score caches and stop; "
                             "cross-fit later, e.g. on another machine, with `python -m "
                             "propscan.train.crossfit` (tools/gpu/gpu_session.sh does this)")
    parser.add_argument("--all-data-model", action="store_true",
                        help="with --folds: also train the all-data model (RUN/full; with "
                             "--unlabelled RUN/self-trained/full) as --install does, without "
                             "installing it")
    args = parser.parse_args()
    if args.all_data_model and not args.folds:
        parser.error("--all-data-model needs --folds")
    if args.scores_only and not args.folds:
        parser.error("--scores-only needs --folds")
    if args.scores_only and args.install is not None:
        parser.error("--scores-only installs nothing: drop --install (the all-data model is "
                     "installed when cross-fitting, with --final and --install)")
    if args.unlabelled is not None and not args.folds:
        parser.error("--unlabelled needs --folds")
    if args.student_layers is not None and args.unlabelled is None:
        parser.error("--student-layers needs --unlabelled")
    if args.student_layers is not None and args.student_layers > BASE_LAYERS:
        parser.error(f"--student-layers: the base encoder has {BASE_LAYERS} layers, not "
                     f"{args.student_layers}")
    if args.encoder != "minilm" and args.folds:
        parser.error(f"--encoder {args.encoder} trains one model that is not exported; with "
                     "--folds use --teacher-encoder and --unlabelled")
    if args.teacher_encoder != "minilm" and args.unlabelled is None:
        parser.error("--teacher-encoder needs --unlabelled")
    if args.teachers is not None and args.unlabelled is None:
        parser.error("--teachers needs --unlabelled")
    if args.teachers is not None and not args.teachers.is_dir():
        parser.error(f"--teachers: no such directory: {args.teachers}")
    if args.unlabelled is not None and not args.unlabelled.is_dir():
        parser.error(f"--unlabelled: no such directory: {args.unlabelled}")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error(f"--device {args.device}: this torch build ({torch.__version__}) sees "
                         "no CUDA device")
    try:
        _run(args, train_config(args))
    except PropscanError as exc:  # bad data, named in one line (as the propscan CLI does)
        parser.exit(exc.exit_code, f"error: {exc}\n")


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the command line asks for (one model: its fold or all data)."""
    fold = None
    if args.fold:
        try:
            k, n = (int(x) for x in args.fold.split("/"))
        except ValueError:
            raise ConfigError(f"--fold must be K/N, e.g. 0/5. Got {args.fold!r} instead.") from None
        fold = (k, n)
    return TrainConfig(epochs=args.epochs, joint_epochs=args.joint_epochs,
                       attention_dropout=args.attention_dropout, threads=args.threads,
                       device=args.device, seed=args.seed, split_seed=args.split_seed,
                       fold=fold, all_data=args.all_data, unlabelled=args.unlabelled,
                       encoder=args.encoder, export=args.encoder == "minilm",
                       max_articles=args.max_articles)


def _run(args: argparse.Namespace, config: TrainConfig) -> None:
    # imported here: the options are checked before torch is loaded
    from propscan.train.crossfit import show_progress
    from propscan.train.recipe import cross_validate, train_two_stage

    show_progress()
    if args.folds:
        figures = cross_validate(args.data, args.run, config, folds=args.folds,
                                 install=args.install, jobs=args.jobs,
                                 student_layers=args.student_layers, teachers=args.teachers,
                                 teacher_encoder=args.teacher_encoder,
                                 scores_only=args.scores_only,
                                 all_data_model=args.all_data_model)
        if args.scores_only:
            print(f"out-of-fold scores written to {figures['scored_dir']}; cross-fit with "
                  f"python -m propscan.train.crossfit {figures['scored_dir']} --data {args.data}")
            return
        print(format_cross_validation(figures))
        return
    final = train_two_stage(args.data, args.run, config)
    print(f"finished model: {final}")


if __name__ == "__main__":
    main()
