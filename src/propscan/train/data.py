"""PTC data preparation for training: token windows with per-token multi-label targets."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from propscan.detect.windows import make_windows, token_range, tokenize
from propscan.evaluate.ptc import read_articles, read_tc_labels
from propscan.techniques import TECHNIQUE_NAMES

N_LABELS = 1 + len(TECHNIQUE_NAMES)  # column 0: inside any fragment; 1..14: techniques


@dataclass
class Example:
    input_ids: np.ndarray  # (T,)
    labels: np.ndarray  # (T, N_LABELS) float32; [CLS]/[SEP] (<s>/</s>) rows are masked out
    mask: np.ndarray  # (T,) 1 for content tokens
    # gold fragments in the window: rows (first token, end token, technique index), window
    # positions ([CLS] is 0)
    spans: np.ndarray


def special_ids(tokenizer) -> tuple[int, int]:
    """The ids that open and close a window under ``tokenizer``: ``[CLS]``/``[SEP]`` for
    MiniLM, ``<s>``/``</s>`` for MPNet (whose vocabulary also has a ``[CLS]``, unused), read
    from its own template."""
    ids = tokenizer.encode("", add_special_tokens=True).ids
    if len(ids) != 2:
        raise ValueError(f"expected a tokenizer that wraps text in two special tokens, got {ids}")
    return ids[0], ids[1]


def split_ids(ids: list[str], seed: int = 13, test_share: float = 0.2,
              dev_share: float = 0.1, fold: tuple[int, int] | None = None,
              ) -> tuple[list[str], list[str], list[str]]:
    """Split article ids into fit / dev (threshold choice) / held-out test, by article.

    ``fold=(k, n)`` makes the k-th of n equal parts the test set (cross-validation) and fits on
    all the rest: decoding choices for a fold come from the other folds' held-out predictions
    (see :mod:`propscan.train.crossfit`), so no dev slice is needed.
    """
    ids = sorted(ids)
    random.Random(seed).shuffle(ids)
    if fold is not None:
        k, n = fold
        test = set(ids[k::n])
        return sorted(i for i in ids if i not in test), [], sorted(test)
    n_test = round(len(ids) * test_share)
    n_dev = round(len(ids) * dev_share)
    return sorted(ids[n_test + n_dev:]), sorted(ids[n_test:n_test + n_dev]), sorted(ids[:n_test])


def token_labels(offsets: np.ndarray, spans: list[tuple[str, int, int]]) -> np.ndarray:
    """Per-token targets: a token is inside a fragment when its characters overlap it."""
    labels = np.zeros((len(offsets), N_LABELS), dtype=np.float32)
    tech_index = {t: i + 1 for i, t in enumerate(TECHNIQUE_NAMES)}
    for technique, start, end in spans:
        inside = (offsets[:, 0] < end) & (offsets[:, 1] > start)
        labels[inside, 0] = 1.0
        labels[inside, tech_index[technique]] = 1.0
    return labels


def build_examples(tokenizer, texts: dict[str, str], labels: dict[str, list],
                   ids: list[str], soft: dict[str, np.ndarray] | None = None) -> list[Example]:
    """Windows of the given articles with targets from their gold fragments, or, for the
    articles in ``soft``, from a teacher's per-token probabilities (self-training: such
    windows carry no fragments for the span head)."""
    cls_id, sep_id = special_ids(tokenizer)
    examples = []
    for aid in ids:
        tok_ids, offsets = tokenize(tokenizer, texts[aid])
        if soft is not None and aid in soft:
            tl = np.asarray(soft[aid], np.float32)
            if tl.shape != (len(tok_ids), N_LABELS):
                raise ValueError(f"{aid}: teacher probabilities of shape {tl.shape} for "
                                 f"{len(tok_ids)} tokens")
            spans = np.zeros((0, 3), np.int64)
        else:
            tl = token_labels(offsets, labels.get(aid, []))
            spans = token_spans(offsets, labels.get(aid, []))
        for w in make_windows(tok_ids, cls_id, sep_id):
            lab = np.zeros((len(w.input_ids), N_LABELS), dtype=np.float32)
            lab[1:1 + w.n_content] = tl[w.first_token:w.first_token + w.n_content]
            mask = np.zeros(len(w.input_ids), dtype=np.float32)
            mask[1:1 + w.n_content] = 1.0
            # the part of each fragment inside the window, in window positions
            first = np.maximum(spans[:, 0], w.first_token) - w.first_token + 1
            end = np.minimum(spans[:, 1], w.first_token + w.n_content) - w.first_token + 1
            keep = end > first
            examples.append(Example(w.input_ids, lab, mask,
                                    np.stack([first[keep], end[keep], spans[keep, 2]], axis=1)))
    return examples


def token_spans(offsets: np.ndarray, spans: list[tuple[str, int, int]]) -> np.ndarray:
    """Rows (first token, end token, technique index) of the tokens each fragment overlaps."""
    rows = []
    for technique, start, end in spans:
        first, last = token_range(offsets, start, end)
        if last > first:
            rows.append((first, last, TECHNIQUE_NAMES.index(technique)))
    return np.asarray(rows, np.int64).reshape(-1, 3)


def load_ptc(data_dir: Path) -> tuple[dict[str, str], dict[str, list]]:
    texts = read_articles(data_dir / "train-articles")
    labels: dict[str, list] = {}
    for aid, technique, start, end in read_tc_labels(data_dir / "train-task-flc-tc.labels"):
        labels.setdefault(aid, []).append((technique, start, end))
    return texts, labels
