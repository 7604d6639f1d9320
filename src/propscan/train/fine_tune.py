"""Fine-tuning a model's tagger on reviewed articles (``propscan adapt --fine-tune``).

The tagger is rebuilt from the model's ``model.onnx`` (:mod:`propscan.train.onnx_import`),
trained on the reviewed articles' gold as the joint stage of the recipe trains it (token head
and span head together; no attention dropout) and exported as int8 ONNX again. For the k-fold
figures, fold k is encoded by a tagger fine-tuned without it, so its figures are held out as
the decoding's are.

The reviewed articles alone are learned from: the PTC mix would double the time and the base
tagger has already learned it. Defaults (3 epochs at 8e-5) come from two settings tried on
one simulated topic (docs/experiments.md section 22), then measured on another (section 23).

Needs the ``train`` extra (torch, transformers, onnx).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect import Detector
from propscan.detect.span_model import TokenStates
from propscan.errors import ConfigError
from propscan.train.scored_corpus import ScoredCorpus

__all__ = ["FineTuning", "fine_tune", "tuned_tagger", "encode_with", "tuned_folds", "tune_final",
           "DEFAULT_EPOCHS", "DEFAULT_LR"]

DEFAULT_EPOCHS = 3
DEFAULT_LR = 8e-5

Progress = Callable[[str], None]
Gold = list[tuple[str, str, int, int]]  # (article id, technique, start, end)


@dataclass(frozen=True)
class FineTuning:
    """How the tagger is fine-tuned: ``epochs`` over the reviewed articles' windows at peak
    rate ``lr`` (AdamW, warm-up and linear decay, batches of 16), ``threads`` torch threads;
    ``cache``: where tuned taggers are kept to be reused (:func:`tuned_tagger`)."""

    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    threads: int = 2
    seed: int = 13
    cache: Path | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"--fine-tune-epochs must be at least 1, got {self.epochs}")
        if not self.lr > 0:
            raise ConfigError(f"the fine-tuning rate must be greater than 0, got {self.lr}")

    def recorded(self) -> dict[str, Any]:
        """What a model's config.json records of it."""
        return {"epochs": self.epochs, "lr": self.lr, "seed": self.seed}


def fine_tune(model_dir: Path, texts: dict[str, str], gold: Gold, ids: list[str],
              settings: FineTuning, out_dir: Path, progress: Progress = lambda line: None,
              what: str = "") -> Path:
    """Fine-tune the tagger of ``model_dir`` on articles ``ids`` of ``texts`` (gold in their
    offsets) and export it to ``out_dir`` (``model.onnx``, ``tokenizer.json``); returns the
    ONNX path. ``what`` names the run in progress lines."""
    import torch
    from transformers.utils import logging as hf_logging

    from propscan.detect.windows import load_tokenizer
    from propscan.train.config import TrainConfig
    from propscan.train.data import build_examples
    from propscan.train.onnx_export import export_model
    from propscan.train.onnx_import import tagger_from_onnx
    from propscan.train.trainer import fit_epochs

    hf_logging.disable_progress_bar()  # its "Loading weights" bar would break the progress lines
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    labels: dict[str, list[tuple[str, int, int]]] = {}
    for aid, technique, start, end in gold:
        labels.setdefault(aid, []).append((technique, start, end))
    tagger = tagger_from_onnx(Path(model_dir) / "model.onnx")
    examples = build_examples(load_tokenizer(Path(model_dir) / "tokenizer.json"), texts,
                              labels, ids)
    config = TrainConfig(epochs=settings.epochs, lr=settings.lr, attention_dropout=0.0,
                         all_data=True, threads=settings.threads, seed=settings.seed)
    started = time.monotonic()
    progress(f"fine-tuning {what}: {len(ids)} articles, {len(examples)} windows, "
             f"{settings.epochs} epochs")
    fit_epochs(tagger, examples, config,
               lambda line: progress(f"fine-tuning {what}: {line}"), checkpoint=None)
    path = export_model(tagger, out_dir)
    progress(f"fine-tuned {what} in {time.monotonic() - started:.0f} s")
    return path


def _cache_key(model_dir: Path, texts: dict[str, str], gold: Gold, ids: list[str],
               settings: FineTuning) -> str:
    """What a fine-tuned tagger depends on: the base graph, the settings, the articles and
    their gold."""
    digest = hashlib.sha256()
    with open(Path(model_dir) / "model.onnx", "rb") as graph:
        digest.update(hashlib.file_digest(graph, "sha256").digest())
    chosen = set(ids)
    digest.update(json.dumps([settings.recorded(), ids,
                              [hashlib.sha256(texts[a].encode()).hexdigest() for a in ids],
                              sorted(g for g in gold if g[0] in chosen)]).encode())
    return digest.hexdigest()[:16]


@contextmanager
def tuned_tagger(model_dir: Path, texts: dict[str, str], gold: Gold, ids: list[str],
                 settings: FineTuning, progress: Progress, what: str) -> Iterator[Path]:
    """The folder of a tagger of ``model_dir`` fine-tuned on ``ids`` (:func:`fine_tune`): in
    ``settings.cache`` under a key of everything it depends on, reused when a finished one is there
    (so an interrupted ``adapt --fine-tune`` resumes), else in a temporary folder."""
    if settings.cache is None:
        with tempfile.TemporaryDirectory(prefix="propscan-tuned-") as tmp:
            fine_tune(model_dir, texts, gold, ids, settings, Path(tmp), progress, what)
            yield Path(tmp)
        return
    folder = settings.cache / _cache_key(model_dir, texts, gold, ids, settings)
    if (folder / "DONE").exists():
        progress(f"fine-tuning {what}: reusing the tagger in {folder}")
    else:
        fine_tune(model_dir, texts, gold, ids, settings, folder, progress, what)
        (folder / "DONE").write_text(json.dumps({"articles": len(ids), **settings.recorded()}))
    yield folder


def encode_with(model_dir: Path, tagger_dir: Path, texts: dict[str, str], threads: int | None
                ) -> tuple[dict[str, np.ndarray], dict[str, TokenStates]]:
    """Tagger outputs on ``texts`` of the tagger exported to ``tagger_dir`` (by
    :func:`fine_tune`), read as model ``model_dir`` reads its own: the rest of that model's
    files are copied beside it."""
    for path in Path(model_dir).iterdir():
        if path.is_file() and path.name not in ("model.onnx", "tokenizer.json"):
            shutil.copy(path, Path(tagger_dir) / path.name)
    ids = sorted(texts)
    with Detector(Path(tagger_dir), threads=threads).load() as det:
        outputs = det.encode([texts[a] for a in ids])
    scores = {aid: sc for aid, (sc, _) in zip(ids, outputs, strict=True)}
    states = {aid: st for aid, (_, st) in zip(ids, outputs, strict=True) if st is not None}
    return scores, states


def tuned_folds(model_dir: Path, texts: dict[str, str], gold: Gold, fold_of: dict[str, int],
                settings: FineTuning, progress: Progress, threads: int | None = None
                ) -> ScoredCorpus:
    """Out-of-fold tagger outputs: each article of ``fold_of`` scored by the tagger of
    ``model_dir`` fine-tuned on the other folds (as the shipped decoding was fitted on the
    out-of-fold outputs of its fold taggers, :mod:`propscan.train.crossfit`)."""
    folds = max(fold_of.values()) + 1
    scores: dict[str, np.ndarray] = {}
    states: dict[str, TokenStates] = {}
    for k in range(folds):
        train = sorted(a for a, f in fold_of.items() if f != k)
        test = {a: texts[a] for a, f in fold_of.items() if f == k}
        with tuned_tagger(model_dir, texts, gold, train, settings, progress,
                          f"fold {k + 1}/{folds}") as folder:
            more_scores, more_states = encode_with(model_dir, folder, test, threads)
        scores.update(more_scores)
        states.update(more_states)
    return ScoredCorpus({a: texts[a] for a in fold_of}, gold, scores, states)


def tune_final(model_dir: Path, texts: dict[str, str], gold: Gold, settings: FineTuning,
               progress: Progress) -> bytes:
    """The tagger of ``model_dir`` fine-tuned on every article of ``texts``, as ONNX bytes."""
    with tuned_tagger(model_dir, texts, gold, sorted(texts), settings, progress,
                      f"the adapted model on all {len(texts)} articles") as folder:
        return (folder / "model.onnx").read_bytes()
