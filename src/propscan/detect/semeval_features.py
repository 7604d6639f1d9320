"""Lexical features of the SemEval-2023 technique classifiers (numpy and the standard library).

Training (:mod:`propscan.train.semeval_fit`) and inference (:mod:`propscan.detect.semeval`)
share these functions, so a fitted vocabulary means the same thing in both. A fragment is
described by named sparse terms in blocks (its words, word pairs and character n-grams, the
words of its sentence around it, the words just before and after it) and a few dense cues
(length, position, how often its wording recurs in the text, punctuation, capitals). A line
(a SemEval-2023 "paragraph") by its words, word pairs and character n-grams, a few dense
cues, and how often its words lie inside fragments of each technique in the training spans
(:func:`rate_features`).

Only the text and the fragment's offsets are read: nothing comes from the tagger, so these
features can be cross-validated on the articles the shipped tagger was trained on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

__all__ = ["FRAGMENT_DENSE", "LINE_DENSE", "fragment_terms", "fragment_dense", "line_terms",
           "line_dense", "lines_of", "sentence_bounds", "vectorize", "term_blocks", "rate_keys",
           "rate_features"]

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?\"“”]")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*\s+")
_CHAR_SIZES = (3, 4, 5)

#: names of the dense cues, in column order (recorded in the model file)
FRAGMENT_DENSE = ("log_chars", "log_words", "one_word", "few_words", "position", "in_title",
                  "log_recurs", "recurs", "same_spans", "question", "exclaim", "quote",
                  "capitals", "all_caps_word", "sentence_share", "starts_sentence")
LINE_DENSE = ("log_chars", "log_words", "is_title", "position", "question", "exclaim",
              "quote", "capitals")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _char_grams(ws: Sequence[str]) -> list[str]:
    padded = " " + " ".join(ws) + " "
    return [padded[i:i + n] for n in _CHAR_SIZES for i in range(len(padded) - n + 1)]


def lines_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line of ``text`` (split at ``\\n``, newline excluded), in order:
    line k (counted from 1) is element k - 1."""
    bounds, pos = [], 0
    for line in text.split("\n"):
        bounds.append((pos, pos + len(line)))
        pos += len(line) + 1
    return bounds


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around ``text[start:end]``: from the last sentence end before ``start``
    to the first one after ``end``, never beyond the fragment's lines."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    left = line_start
    for stop in _SENTENCE_END.finditer(text, line_start, start):
        left = stop.end()
    after = _SENTENCE_END.search(text, end, line_end)
    right = after.start() + 1 if after else line_end
    return left, max(right, end)


def fragment_terms(text: str, start: int, end: int) -> list[str]:
    """Sparse terms of a fragment: ``w:`` words, ``b:`` word pairs, ``c:`` character n-grams
    of the fragment; ``s:`` words of its sentence outside it; ``l:``/``r:`` the word just
    before and after it."""
    ws = words(text[start:end])
    left, right = sentence_bounds(text, start, end)
    before, after = words(text[left:start]), words(text[end:right])
    terms = [f"w:{w}" for w in ws] + [f"b:{a} {b}" for a, b in zip(ws, ws[1:], strict=False)]
    terms += [f"c:{g}" for g in _char_grams(ws)]
    terms += [f"s:{w}" for w in before + after]
    terms.append(f"l:{before[-1] if before else '<s>'}")
    terms.append(f"r:{after[0] if after else '</s>'}")
    return terms


def fragment_dense(text: str, start: int, end: int, same_spans: int) -> np.ndarray:
    """Dense cues of a fragment (columns :data:`FRAGMENT_DENSE`); ``same_spans`` is how many
    other fragments of the same text have the same wording (a cue for Repetition)."""
    frag = text[start:end]
    n_words = len(words(frag))
    key = " ".join(frag.lower().split())
    recurs = text.lower().count(key) - 1 if len(key) >= 3 else 0
    letters = [c for c in frag if c.isalpha()]
    left, right = sentence_bounds(text, start, end)
    first_line_end = text.find("\n")
    return np.array([
        math.log1p(len(frag)) / 5, math.log1p(n_words) / 3, n_words == 1, n_words <= 3,
        start / max(len(text), 1), first_line_end < 0 or start < first_line_end,
        math.log1p(max(recurs, 0)), recurs > 0, min(same_spans, 3) / 3,
        "?" in frag, "!" in frag, any(q in frag for q in "\"“”"),
        sum(c.isupper() for c in letters) / max(len(letters), 1),
        any(len(w) > 1 and w.isupper() for w in frag.split()),
        len(frag) / max(right - left, 1), start <= left + 1,
    ], dtype=np.float32)


def line_terms(line: str, chars: bool = True) -> list[str]:
    """Sparse terms of a line: ``w:`` words, ``b:`` word pairs and (``chars``) ``c:``
    character n-grams."""
    ws = words(line)
    terms = [f"w:{w}" for w in ws] + [f"b:{a} {b}" for a, b in zip(ws, ws[1:], strict=False)]
    return terms + [f"c:{g}" for g in _char_grams(ws)] if chars else terms


def line_dense(line: str, number: int, n_lines: int) -> np.ndarray:
    """Dense cues of line ``number`` (from 1) of ``n_lines`` (columns :data:`LINE_DENSE`)."""
    letters = [c for c in line if c.isalpha()]
    return np.array([
        math.log1p(len(line)) / 6, math.log1p(len(words(line))) / 4, number == 1,
        number / max(n_lines, 1), "?" in line, "!" in line,
        sum(line.count(q) for q in "\"“”") / 4,
        sum(c.isupper() for c in letters) / max(len(letters), 1),
    ], dtype=np.float32)


def vectorize(terms: Sequence[str], vocab: dict[str, int], blocks: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of one row: each term block (the prefix before ``:``) known
    to ``vocab`` is binary and scaled to unit length, so long fragments do not outweigh short
    ones and no block drowns the others. ``blocks`` (:func:`term_blocks` of ``vocab``) makes
    it faster for rows of many terms."""
    if blocks is None:
        present = [t for t in set(terms) if t in vocab]
        cols = np.array([vocab[t] for t in present], dtype=np.int64)
        names = {name: k for k, name in enumerate({t.split(":", 1)[0] for t in present})}
        row_blocks = np.array([names[t.split(":", 1)[0]] for t in present], dtype=np.int64)
    else:
        cols = np.array([j for j in map(vocab.get, set(terms)) if j is not None], np.int64)
        row_blocks = blocks[cols]
    sizes = np.bincount(row_blocks) if len(cols) else np.zeros(0, np.int64)
    return cols, (1 / np.sqrt(sizes[row_blocks])).astype(np.float32)


def term_blocks(vocab: dict[str, int]) -> np.ndarray:
    """The block number (by prefix) of each column of ``vocab``, for :func:`vectorize`."""
    names: dict[str, int] = {}
    out = np.zeros(len(vocab), np.int64)
    for term, col in vocab.items():
        out[col] = names.setdefault(term.split(":", 1)[0], len(names))
    return out


def rate_keys(text: str) -> set[str]:
    """The words and word pairs of a text, as keys of the technique rate table."""
    ws = words(text)
    return {f"w:{w}" for w in ws} | {f"b:{a} {b}" for a, b in zip(ws, ws[1:], strict=False)}


def rate_features(keys: set[str], index: dict[str, int], rates: np.ndarray) -> np.ndarray:
    """For each technique, the highest rate of the line's words and pairs and the mean of its
    three highest (``rates[index[key], technique]``: the share of the training lines holding
    ``key`` where it lies inside a fragment of that technique). Span annotations say which
    words carry a technique; a line's bag of words alone does not."""
    rows = rates[[index[k] for k in keys if k in index]]
    if len(rows) == 0:
        return np.zeros(2 * rates.shape[1], np.float32)
    top = np.sort(rows, axis=0)[-3:]
    return np.concatenate([top[-1], top.sum(axis=0) / 3]).astype(np.float32)
