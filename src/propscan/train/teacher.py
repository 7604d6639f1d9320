"""A trained tagger as a teacher: its soft labels of unlabelled articles (self-training), and the
checks that a tagger may teach a fold's student.

A teacher may tokenize differently from its student (an MPNet teacher, a MiniLM student): its
per-token probabilities are carried over to the student's tokens through character offsets
(:func:`to_student_tokens`), so the stored labels are always per *student* token.

Needs the ``train`` extra (torch, transformers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from propscan.detect.windows import (
    WINDOW_STRIDE,
    average_over_windows,
    load_tokenizer,
    token_range,
    tokenize,
)
from propscan.errors import ConfigError
from propscan.evaluate.ptc import read_articles
from propscan.train.config import TrainConfig
from propscan.train.data import N_LABELS, special_ids, split_ids
from propscan.train.encoders import base_encoder_path
from propscan.train.model import Tagger, checkpoint_encoder, load_tagger

__all__ = ["teacher_token_probs", "to_student_tokens", "teacher_probs_for_student",
           "label_unlabelled", "finished_teacher", "refuse_leaky_teacher"]


def teacher_token_probs(model: Tagger, tokenizer, texts: dict[str, str], device: str = "cpu",
                        batch_size: int = 32) -> dict[str, np.ndarray]:
    """Each article's per-token probabilities ``(n_tokens, N_LABELS)`` under a trained tagger,
    averaged where windows overlap: the soft targets of self-training. Windows are cut as in
    training (stride :data:`WINDOW_STRIDE`)."""
    aids = list(texts)
    model.eval()

    def run(ids: np.ndarray, att: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            logits = model.logits(torch.from_numpy(ids).to(device),
                                  torch.from_numpy(att).to(device))
        return [torch.sigmoid(logits).cpu().numpy()]

    averaged = average_over_windows(
        [tokenize(tokenizer, texts[aid])[0] for aid in aids], run, *special_ids(tokenizer),
        (N_LABELS,), stride=WINDOW_STRIDE, batch_size=batch_size)
    return {aid: outputs[0] for aid, outputs in zip(aids, averaged, strict=True)}


def to_student_tokens(probs: np.ndarray, teacher_offsets: np.ndarray,
                      student_offsets: np.ndarray) -> np.ndarray:
    """A teacher's per-token probabilities ``probs`` (rows: its tokens, ``teacher_offsets``)
    as the student's tokens see them: each student token gets the mean of the teacher tokens
    its characters overlap, weighted by the characters shared; one that overlaps none (a
    character only one tokenizer keeps) gets the next teacher token's. The same tokenization
    gives ``probs`` back unchanged."""
    if np.array_equal(teacher_offsets, student_offsets):
        return probs
    out = np.zeros((len(student_offsets), probs.shape[1]), np.float32)
    if not len(teacher_offsets):
        return out
    for i, (start, end) in enumerate(student_offsets.tolist()):
        first, last = token_range(teacher_offsets, start, end)
        if last <= first:
            out[i] = probs[min(first, len(probs) - 1)]
            continue
        shared = (np.minimum(teacher_offsets[first:last, 1], end)
                  - np.maximum(teacher_offsets[first:last, 0], start))
        out[i] = np.average(probs[first:last], axis=0, weights=np.maximum(shared, 1))
    return out


def teacher_probs_for_student(model: Tagger, teacher_tokenizer, student_tokenizer,
                              texts: dict[str, str], device: str = "cpu"
                              ) -> dict[str, np.ndarray]:
    """Each article's soft targets under ``model`` (which reads ``teacher_tokenizer``'s
    tokens), one row per token of ``student_tokenizer``."""
    probs = teacher_token_probs(model, teacher_tokenizer, texts, device)
    return {aid: to_student_tokens(p, tokenize(teacher_tokenizer, texts[aid])[1],
                                   tokenize(student_tokenizer, texts[aid])[1])
            for aid, p in probs.items()}


def label_unlabelled(teacher: Path, unlabelled: Path, out: Path, device: str = "cpu",
                     max_articles: int | None = None, student_encoder: str = "minilm") -> Path:
    """Soft targets of the articles in ``unlabelled`` under the tagger saved at ``teacher``
    (a ``tagger.pt``, on any encoder), per token of a ``student_encoder`` student, written to
    ``out`` (npz, float16, one array per article id)."""
    texts = read_articles(unlabelled)
    if max_articles is not None:
        texts = dict(sorted(texts.items())[:max_articles])
    model = load_tagger(teacher)
    teacher_encoder = checkpoint_encoder(model.state_dict())
    probs = teacher_probs_for_student(
        model.to(device), load_tokenizer(base_encoder_path(teacher_encoder) / "tokenizer.json"),
        load_tokenizer(base_encoder_path(student_encoder) / "tokenizer.json"), texts, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written aside, then renamed: reruns reuse this file, so it must never be half-written
    partial = out.with_name(out.stem + ".partial.npz")
    # the ignore: mypy matches a **dict of arrays against savez's bool allow_pickle too
    np.savez_compressed(partial, **{aid: p.astype(np.float16)  # type: ignore[arg-type]
                                    for aid, p in probs.items()})
    partial.replace(out)
    return out


def finished_teacher(teacher_dir: Path) -> Path:
    """The ``tagger.pt`` of a finished two-stage run (a teacher to reuse), or a ConfigError
    naming what is missing."""
    tagger = teacher_dir / "joint" / "tagger.pt"
    if not tagger.is_file() or not list(teacher_dir.glob("joint/epoch*/DONE")):
        raise ConfigError(f"{teacher_dir} holds no finished model to teach with "
                          "(joint/tagger.pt and joint/epoch*/DONE)")
    return tagger


def refuse_leaky_teacher(teacher: Path, data_dir: Path, config: TrainConfig) -> None:
    """Refuse a teacher fitted on articles its fold's student (trained with ``config``) is
    scored on: its labels of the unlabelled articles would carry what it learnt from them into
    the held-out figures. Only a teacher whose ``split.json`` (written beside ``tagger.pt`` by
    :func:`propscan.train.trainer.train`) is known can be checked."""
    split_file = teacher.parent / "split.json"
    if config.fold is None or config.all_data or not split_file.is_file():
        return
    ids = list(read_articles(Path(data_dir) / "train-articles"))
    _, _, held_out = split_ids(ids, seed=config.fold_seed, fold=config.fold)
    seen = set(json.loads(split_file.read_text())["fit"]) & set(held_out)
    if seen:
        raise ConfigError(f"the teacher {teacher} was fitted on {len(seen)} of the "
                          f"{len(held_out)} articles fold {config.fold[0]} holds out: teachers "
                          "and students must share folds (same --folds and --split-seed)")
