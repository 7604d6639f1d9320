"""Decoding: from per-character scores to candidate fragments, and the settings that steer it.

:class:`DecodingConfig` holds the decoding settings a model ships in its ``config.json``.
:func:`candidate_spans` cuts candidate fragments where p(inside) is high, by a threshold or by a
two-state Viterbi pass over the words, and snaps them to whole words (a word joined by an
apostrophe or a hyphen, ``so-called``, ``didn’t``, counts as one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from propscan.errors import ConfigError
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["DecodingConfig", "candidate_spans"]

# what the Viterbi decoder steps over: words and single punctuation marks
_DECODE_UNIT = re.compile(r"\w+|[^\w\s]")
_OPENING_QUOTES = "\"'“‘«"
_CLOSING_QUOTES = "\"'”’»"
# marks inside a word when letters sit on both sides: so-called, chicken’s, didn't
_WORD_JOINERS = "’'-"


@dataclass(frozen=True)
class DecodingConfig:
    """How :func:`candidate_spans` and the detector turn scores into findings.

    ``threshold``: p(inside) at which a character (or, with the Viterbi decoder, a word) counts
    as inside. ``max_gap_chars``: runs this close on one line are joined (threshold decoding
    only). ``min_chars``: shorter fragments are dropped. ``switch_penalty``: > 0 selects the
    Viterbi decoder, the log-odds cost of entering or leaving a fragment. ``keep_threshold``:
    the span model's p(real) a candidate needs to be kept. ``repetition_rule``: label repeated
    fragments Repetition (True), only repeated multi-word ones ("phrase"), or never (False).
    ``technique_weights``: per-technique factors on the tagger's technique scores, used when
    there is no span model.
    """

    threshold: float = 0.4
    max_gap_chars: int = 3
    min_chars: int = 3
    switch_penalty: float = 0.0
    keep_threshold: float = 0.0
    repetition_rule: bool | str = True  # False, True or "phrase"
    technique_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(_bad("threshold", "a number between 0 and 1", self.threshold))
        for name in ("max_gap_chars", "min_chars"):
            if getattr(self, name) < 0:
                raise ConfigError(_bad(name, "0 or more", getattr(self, name)))
        if self.switch_penalty < 0:
            raise ConfigError(_bad("switch_penalty", "0 or more", self.switch_penalty))
        if self.repetition_rule not in (False, True, "phrase"):
            raise ConfigError(_bad("repetition_rule", 'false, true or "phrase"',
                                   self.repetition_rule))
        if (self.technique_weights is not None
                and len(self.technique_weights) != len(TECHNIQUE_NAMES)):
            raise ConfigError(_bad("technique_weights",
                                   f"{len(TECHNIQUE_NAMES)} numbers", self.technique_weights))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecodingConfig:
        """The settings in ``data`` (a model's config.json), defaults for those it lacks; keys
        that are not decoding settings (name, version, base_model, ...) are ignored.
        Raises ConfigError for a value of the wrong type."""
        if not isinstance(data, Mapping):
            raise ConfigError("The settings given to DecodingConfig must be a JSON object. "
                              f"Got {data!r} instead.")
        values: dict[str, Any] = {}
        for name in ("threshold", "switch_penalty", "keep_threshold"):
            if name in data:
                values[name] = float(_number(name, data[name], (int, float)))
        for name in ("max_gap_chars", "min_chars"):
            if name in data:
                values[name] = _number(name, data[name], (int,))
        if "repetition_rule" in data:
            values["repetition_rule"] = data["repetition_rule"]
        weights = data.get("technique_weights")
        if weights is not None:
            if not isinstance(weights, list | tuple):
                raise ConfigError(_bad("technique_weights", "a list of numbers", weights))
            values["technique_weights"] = tuple(
                float(_number("technique_weights", w, (int, float))) for w in weights)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (``from_dict`` reads them back)."""
        out = asdict(self)
        if self.technique_weights is not None:
            out["technique_weights"] = list(self.technique_weights)
        return out


def _bad(name: str, expected: str, value: Any) -> str:
    return (f"The '{name}' parameter of DecodingConfig must be {expected}. "
            f"Got {value!r} instead.")


def _number(name: str, value: Any, types: tuple[type, ...]) -> Any:
    # bool is an int to Python, never a count or a probability here
    if isinstance(value, bool) or not isinstance(value, types):
        kind = "an integer" if types == (int,) else "a number"
        raise ConfigError(_bad(name, kind, value))
    return value


def _chars_from_tokens(n_chars: int, offsets: np.ndarray, token_scores: np.ndarray) -> np.ndarray:
    """Spread token scores over characters; uncovered characters take the min of neighbours."""
    n_cols = token_scores.shape[1]
    if n_chars == 0:
        return np.zeros((0, n_cols), np.float32)
    if len(offsets) == 0:
        return np.zeros((n_chars, n_cols), np.float32)
    owner = np.full(n_chars, -1, np.int64)  # token index covering each char
    for t, (s, e) in enumerate(offsets):
        owner[s:e] = t
    idx = np.arange(n_chars)
    covered = owner >= 0
    prev_pos = np.maximum.accumulate(np.where(covered, idx, -1))
    next_pos = np.minimum.accumulate(np.where(covered, idx, n_chars)[::-1])[::-1]
    prev_tok = np.where(prev_pos >= 0, owner[np.clip(prev_pos, 0, None)], -1)
    next_tok = np.where(next_pos < n_chars, owner[np.clip(next_pos, None, n_chars - 1)], -1)
    prev_tok = np.where(prev_tok < 0, next_tok, prev_tok)
    next_tok = np.where(next_tok < 0, prev_tok, next_tok)
    return np.minimum(token_scores[prev_tok], token_scores[next_tok]).astype(np.float32)


def candidate_spans(text: str, scores: np.ndarray, threshold: float, max_gap_chars: int,
                    min_chars: int = 3, switch_penalty: float = 0.0) -> list[tuple[int, int]]:
    """Candidate fragments of ``text`` from its per-character ``scores`` (column 0: p(inside)).

    ``switch_penalty`` 0: runs of characters with p(inside) >= ``threshold``, runs at most
    ``max_gap_chars`` apart on one line joined, snapped to whole words.
    ``switch_penalty`` > 0: the most likely inside/outside labelling of each line's words
    (:func:`_viterbi_runs`), where ``threshold`` is the p(inside) at which a word is neutral and
    entering or leaving a fragment costs ``switch_penalty`` (in log-odds); ``max_gap_chars`` is
    not used. Either way a fragment that ends inside a word joined by an apostrophe or a hyphen
    grows to the whole word (:func:`_join_words`), and fragments under ``min_chars`` characters
    or without a letter or digit are dropped.
    """
    if len(text) == 0:
        return []
    if switch_penalty > 0:
        runs = _viterbi_runs(text, scores[:, 0], threshold, switch_penalty)
    else:
        runs = [_snap(text, start, end) for start, end
                in _merge_gaps(text, _runs(scores[:, 0] >= threshold), max_gap_chars)]
    runs = _merge_overlaps([_join_words(text, start, end) for start, end in runs])
    return [(start, end) for start, end in runs
            if end - start >= min_chars and any(ch.isalnum() for ch in text[start:end])]


def _viterbi_runs(text: str, p_inside: np.ndarray, threshold: float,
                  penalty: float) -> list[tuple[int, int]]:
    """Fragments as the best two-state (outside/inside) path over each line's words.

    A word's evidence for "inside" is logit(its mean p(inside)) - logit(``threshold``); a path
    pays ``penalty`` each time it enters or leaves a fragment. So a lone word just above the
    threshold does not become a fragment, and a word just below it between two strong ones
    does not split theirs: the smoothing a CRF layer gives a token tagger, with one parameter
    fitted on held-out folds instead of learnt transitions. Punctuation at either end of a
    fragment is dropped, except quotation marks.
    """
    units = [(m.start(), m.end()) for m in _DECODE_UNIT.finditer(text)]
    if not units:
        return []
    bounds = np.asarray(units, np.int64)
    cum = np.concatenate([[0.0], np.cumsum(p_inside, dtype=np.float64)])
    p = (cum[bounds[:, 1]] - cum[bounds[:, 0]]) / (bounds[:, 1] - bounds[:, 0])
    p = p.clip(1e-6, 1 - 1e-6)
    evidence = (np.log(p / (1 - p)) - np.log(threshold / (1 - threshold))).tolist()
    line_starts = [0] + [i for i in range(1, len(units))
                         if "\n" in text[units[i - 1][1]:units[i][0]]] + [len(units)]
    runs = []
    for lo, hi in zip(line_starts, line_starts[1:], strict=False):
        for start, end in _runs(np.asarray(_best_path(evidence[lo:hi], penalty))):
            first, last = lo + start, lo + end - 1
            while first < last and _is_edge_mark(text[units[first][0]], _OPENING_QUOTES):
                first += 1
            while last > first and _is_edge_mark(text[units[last][0]], _CLOSING_QUOTES):
                last -= 1
            runs.append((units[first][0], units[last][1]))
    return runs


def _is_edge_mark(ch: str, quotes: str) -> bool:
    return not ch.isalnum() and ch != "_" and ch not in quotes


def _best_path(evidence: list[float], penalty: float) -> list[bool]:
    """Viterbi over two states; the path starts and ends outside (so entering and leaving a
    fragment each cost ``penalty``). Plain Python floats: a line has tens of words, where
    numpy's per-call overhead would dominate."""
    n = len(evidence)
    # for each step, the best previous state given outside / inside now
    back_out, back_in = [False] * n, [False] * n
    out_score, in_score = 0.0, evidence[0] - penalty
    for i in range(1, n):
        leave, enter = in_score - penalty, out_score - penalty
        back_out[i], back_in[i] = leave > out_score, in_score >= enter
        out_score, in_score = max(out_score, leave), max(in_score, enter) + evidence[i]
    inside = in_score - penalty > out_score
    path = [False] * n
    for i in range(n - 1, -1, -1):
        path[i] = inside
        inside = back_in[i] if inside else back_out[i]
    return path


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    diff = np.diff(padded)
    return list(zip(np.flatnonzero(diff == 1).tolist(), np.flatnonzero(diff == -1).tolist(),
                    strict=True))


def _merge_gaps(text: str, runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    """Join runs separated by a few characters on the same line (a dip on a short word)."""
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] <= max_gap and "\n" not in text[merged[-1][1]:start]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow to whole words, then trim surrounding whitespace."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _joins(text: str, at: int) -> bool:
    """Whether ``text[at]`` is an apostrophe or hyphen inside a word (letters on both sides)."""
    return (0 < at < len(text) - 1 and text[at] in _WORD_JOINERS
            and text[at - 1].isalpha() and text[at + 1].isalpha())


def _join_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow ``[start, end)`` so that it neither starts nor ends inside a word joined by an
    apostrophe or a hyphen: ``called`` of ``so-called`` becomes ``so-called``, ``the
    chicken’`` becomes ``the chicken’s``, ``If we didn`` becomes ``If we didn’t``."""
    if start >= end:
        return start, end
    while True:  # the joiner just before start, or start on a joiner
        at = start - 1 if _joins(text, start - 1) else start if _joins(text, start) else -1
        if at < 0:
            break
        start = at - 1
        while start > 0 and text[start - 1].isalnum():
            start -= 1
    while True:  # the joiner just after the end, or the last character a joiner
        at = end if _joins(text, end) else end - 1 if _joins(text, end - 1) else -1
        if at < 0:
            break
        end = at + 2
        while end < len(text) and text[end].isalnum():
            end += 1
    return start, end


def _merge_overlaps(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """One fragment for runs that overlap once grown to whole words (``so`` and ``called``)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(runs):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
