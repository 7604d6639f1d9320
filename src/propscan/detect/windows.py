"""Tokenisation into overlapping windows, shared by training and inference.

Both sides must cut text the same way, or the model sees different contexts at inference than
it learnt from; so this module depends only on ``tokenizers`` and numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Window", "load_tokenizer", "tokenize", "token_range", "make_windows", "pad_batch",
           "average_over_windows", "WINDOW_TOKENS", "WINDOW_STRIDE", "INFERENCE_STRIDE"]

WINDOW_TOKENS = 256  # model input length including [CLS] and [SEP]
WINDOW_STRIDE = 192  # content tokens between window starts (overlap gives context at edges)
# Stride for inference only (training keeps WINDOW_STRIDE): 12.5% of tokens computed twice
# instead of 25%, about 1.05-1.1x faster with no SI/TC loss on the r1 held-out articles;
# 254 (no overlap) was 1.3x faster but lost 0.005-0.013 SI F1, edge tokens lack context.
INFERENCE_STRIDE = 224


@dataclass
class Window:
    input_ids: np.ndarray  # (T,) int64 with [CLS] ... [SEP]
    first_token: int  # index into the article's token list of the window's first content token
    n_content: int  # content tokens (excludes [CLS]/[SEP])


def load_tokenizer(path):
    """The ``tokenizers`` tokenizer with truncation and padding off (we window ourselves)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def tokenize(tokenizer, text: str) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and (start, end) char offsets of ``text``, without special tokens."""
    enc = tokenizer.encode(text, add_special_tokens=False)
    ids = np.asarray(enc.ids, dtype=np.int64)
    offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
    return ids, offsets


def token_range(offsets: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Tokens ``[first, last)`` whose characters overlap ``[start, end)``; empty
    (``last <= first``) when none do. ``offsets`` as :func:`tokenize` returns them."""
    first = int(np.searchsorted(offsets[:, 1], start, side="right"))
    last = int(np.searchsorted(offsets[:, 0], end, side="left"))
    return first, last


def make_windows(ids: np.ndarray, cls_id: int, sep_id: int, max_tokens: int = WINDOW_TOKENS,
                 stride: int = WINDOW_STRIDE) -> list[Window]:
    """Cut a token sequence into windows of at most ``max_tokens`` that cover every token."""
    content = max_tokens - 2
    windows: list[Window] = []
    start = 0
    n = len(ids)
    while True:
        chunk = ids[start:start + content]
        window_ids = np.concatenate([[cls_id], chunk, [sep_id]]).astype(np.int64)
        windows.append(Window(window_ids, start, len(chunk)))
        if start + content >= n:
            break
        start += stride
    return windows


def pad_batch(windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
    """Input ids and attention mask (both int64, ``(len(windows), longest)``) of a batch of
    windows, zero-padded on the right."""
    width = max(len(w.input_ids) for w in windows)
    input_ids = np.zeros((len(windows), width), np.int64)
    mask = np.zeros((len(windows), width), np.int64)
    for r, w in enumerate(windows):
        input_ids[r, :len(w.input_ids)] = w.input_ids
        mask[r, :len(w.input_ids)] = 1
    return input_ids, mask


def average_over_windows(token_ids: Sequence[np.ndarray],
                         run: Callable[[np.ndarray, np.ndarray], Sequence[np.ndarray]],
                         cls_id: int, sep_id: int, columns: Sequence[int], *,
                         stride: int = WINDOW_STRIDE, batch_size: int = 16,
                         map_batches: Callable[[Callable, Iterable], Iterator] = map
                         ) -> list[list[np.ndarray]]:
    """Run a token model over every sequence's windows; average its outputs per token.

    ``run(input_ids, attention_mask)`` gets a padded batch (:func:`pad_batch`) and returns one
    array ``(batch, width, columns[k])`` per output, position 0 being ``[CLS]``. Windows of all
    sequences are batched together, shortest first, so little is padded. Returns, for each
    sequence, one ``(n_tokens, columns[k])`` array per output, averaged where windows overlap.
    ``map_batches`` (``map``, or a thread pool's ``map``) calls ``run`` on the batches, in
    order. The ONNX detector and the torch teacher of self-training both encode through this.
    """
    jobs = [(i, w) for i, ids in enumerate(token_ids) if len(ids)
            for w in make_windows(ids, cls_id, sep_id, stride=stride)]
    jobs.sort(key=lambda j: len(j[1].input_ids))
    sums = [[np.zeros((len(ids), c), np.float32) for c in columns] for ids in token_ids]
    counts = [np.zeros(len(ids), np.float32) for ids in token_ids]
    batches = [jobs[b:b + batch_size] for b in range(0, len(jobs), batch_size)]
    results = map_batches(lambda batch: run(*pad_batch([w for _, w in batch])), batches)
    for batch, outputs in zip(batches, results, strict=True):
        for r, (i, w) in enumerate(batch):
            part = slice(w.first_token, w.first_token + w.n_content)
            for total, output in zip(sums[i], outputs, strict=False):
                total[part] += output[r, 1:1 + w.n_content]
            counts[i][part] += 1
    return [[total / np.maximum(n, 1)[:, None] for total in totals]
            for totals, n in zip(sums, counts, strict=True)]
