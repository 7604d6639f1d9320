"""The shipped training recipe: two stages per tagger, teacher and student (self-training), one
model per cross-validation fold, then cross-fitted decoding.

Needs the ``train`` extra. Each function takes a :class:`~propscan.train.config.TrainConfig`
and derives the settings of the stages and models it trains from it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from propscan.errors import ConfigError
from propscan.evaluate.ptc import read_articles
from propscan.train import crossfit
from propscan.train.config import JOINT_LR, JOINT_SPAN_WEIGHT, TrainConfig
from propscan.train.oof import oof_scores
from propscan.train.teacher import finished_teacher, label_unlabelled, refuse_leaky_teacher
from propscan.train.trainer import train

__all__ = ["train_two_stage", "train_teacher_and_student", "cross_validate", "SELF_TRAINED"]

#: where :func:`cross_validate` puts the self-trained students (``OUT/SELF_TRAINED/foldK``)
SELF_TRAINED = "self-trained"


def train_two_stage(data_dir: Path, run_dir: Path, config: TrainConfig, *,
                    teacher: Path | None = None) -> Path:
    """Stage 1: the token tagger alone (``config.epochs``); stage 2 (``run_dir/joint``): token
    and span heads together for ``config.joint_epochs`` more at ``JOINT_LR``. Finished stages
    are skipped. Returns the finished model directory (stage 1 is never exported).

    Self-training: with ``config.unlabelled`` (a directory of article ``.txt`` files) and
    ``teacher`` (a trained ``tagger.pt``), the teacher first labels those articles
    (``run_dir/teacher_probs.npz``, kept for reruns) and both stages learn from them as well.

    Why two stages: the span head pools hidden states that are only useful once the tagger has
    learnt where fragments are; joining it later, at a lower rate, also keeps stage 1 as it
    was, so stage-1 checkpoints can be reused.
    """
    if teacher is not None:
        if config.unlabelled is None:
            raise ConfigError("a teacher needs unlabelled articles to label")
        refuse_leaky_teacher(teacher, data_dir, config)
        probs = run_dir / "teacher_probs.npz"
        if not probs.is_file():
            label_unlabelled(teacher, config.unlabelled, probs, config.device,
                             config.max_articles, student_encoder=config.encoder)
        config = replace(config, teacher_probs=probs)
    elif config.unlabelled is not None and config.teacher_probs is None:
        raise ConfigError("unlabelled articles need a teacher to label them")
    if not (run_dir / f"epoch{config.epochs}" / "DONE").is_file():
        # stage 1 is not exported: only stage 2 reads it, from tagger.pt
        train(data_dir, run_dir, replace(config, span_weight=0.0, export=False))
    final = run_dir / "joint" / f"epoch{config.joint_epochs}"
    if not (final / "DONE").is_file():
        train(data_dir, run_dir / "joint",
              replace(config, epochs=config.joint_epochs, lr=JOINT_LR,
                      init=run_dir / "tagger.pt", span_weight=JOINT_SPAN_WEIGHT))
    return final


def train_teacher_and_student(data_dir: Path, teacher_dir: Path, student_dir: Path,
                              config: TrainConfig, *, student_layers: int | None = None,
                              train_teacher: bool = True, teacher_encoder: str = "minilm"
                              ) -> Path:
    """Self-training in one go: a tagger trained on the gold articles (not exported) labels
    ``config.unlabelled``; a fresh student learns from the gold and those labels. Returns the
    student's finished model directory. ``student_layers`` gives the student only the base
    encoder's first layers (distillation into a faster model; the teacher keeps
    ``config.layers``). ``train_teacher=False`` takes the finished model in ``teacher_dir`` as
    it is (another run's teacher, or a student as the teacher of a second round).
    ``teacher_encoder`` is the base encoder of a teacher trained here ("mpnet": a stronger
    teacher); the student is built on ``config.encoder``."""
    if config.unlabelled is None:
        raise ConfigError("self-training needs unlabelled articles (TrainConfig.unlabelled)")
    if train_teacher:
        train_two_stage(data_dir, teacher_dir, replace(config, unlabelled=None, export=False,
                                                       encoder=teacher_encoder))
    return train_two_stage(data_dir, student_dir, replace(config, layers=student_layers),
                           teacher=finished_teacher(teacher_dir))


def cross_validate(data_dir: Path, out_dir: Path, config: TrainConfig, *, folds: int = 5,
                   install: Path | None = None, jobs: int = 1,
                   student_layers: int | None = None, teachers: Path | None = None,
                   teacher_encoder: str = "minilm", scores_only: bool = False,
                   all_data_model: bool = False) -> dict[str, Any]:
    """Train one two-stage model per fold (resuming finished ones), then score with
    cross-fitting (:func:`propscan.train.crossfit.run`). ``config.fold`` and
    ``config.all_data`` are set per model.

    With ``config.unlabelled``, each fold's model is a teacher that labels those articles for
    a student trained on the same fold (:func:`train_teacher_and_student`); the students, in
    ``out_dir/self-trained``, are what is scored and installed. A fold's teacher sees only
    that fold's training articles, so its held-out articles stay unseen. ``student_layers``
    makes the students smaller than their teachers (the first layers of the base encoder);
    ``teacher_encoder`` builds the teachers on another encoder ("mpnet").
    ``teachers`` takes each fold's teacher from ``teachers/foldK`` (and ``teachers/full``)
    instead of training one: another run's teachers for students of another depth, or a run's
    students (``RUN/self-trained``) for a second round of self-training. Each must be finished
    and fitted on its fold's training articles only (checked against its ``split.json``).

    With ``install``, also train on every article and install that model with decoding
    settings fitted on all the folds' held-out predictions. ``jobs`` trains that many models
    at once, each in its own process with ``config.threads`` threads (a GPU or a many-core
    machine; on two cores, two one-thread jobs stepped at 4.9 s each against 2.6 s for one
    two-thread job: no faster).

    ``scores_only`` stops after writing the out-of-fold score caches and returns
    ``{"scored_dir": ...}``: cross-fitting is CPU work, best done on a machine whose
    cores are known (see MODEL_CARD.md, "Training on a GPU"). ``all_data_model`` trains the
    all-data model (``full``) as ``install`` does, without installing it (with
    ``scores_only``: a model to bring back and install elsewhere).
    """
    if folds < 2:
        raise ConfigError(f"The 'folds' parameter of cross_validate must be at least 2. Got "
                          f"{folds!r} instead.")
    runs = [(f"fold{k}", replace(config, fold=(k, folds), all_data=False))
            for k in range(folds)]
    if install is not None or all_data_model:
        runs.append(("full", replace(config, fold=None, all_data=True)))
    self_training = config.unlabelled is not None
    scored_dir = out_dir / SELF_TRAINED if self_training else out_dir
    if teachers is not None:
        if not self_training:
            raise ConfigError("teachers need unlabelled articles to label")
        for name, run_config in runs:  # before any training: a bad teacher must not waste hours
            refuse_leaky_teacher(finished_teacher(teachers / name), data_dir, run_config)

    def job(name: str, run_config: TrainConfig) -> Callable[[], Path]:
        if not self_training:
            return partial(train_two_stage, data_dir, out_dir / name, run_config)
        teacher_dir = out_dir / name if teachers is None else teachers / name
        return partial(train_teacher_and_student, data_dir, teacher_dir, scored_dir / name,
                       run_config, student_layers=student_layers,
                       train_teacher=teachers is None, teacher_encoder=teacher_encoder)

    work = [job(name, run_config) for name, run_config in runs]
    if jobs > 1:
        # spawn, not fork: a forked child cannot initialise CUDA
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(fn) for fn in work]
            finished = [f.result() for f in futures]
    else:
        finished = [fn() for fn in work]
    final = finished[-1] if install is not None else None
    if scores_only:
        oof_scores(scored_dir, read_articles(Path(data_dir) / "train-articles"),
                   config.threads * jobs)
        return {"scored_dir": str(scored_dir)}
    return crossfit.run(scored_dir, data_dir, final, install, config.threads * jobs)
