"""Propaganda span detection: a MiniLM token tagger (onnxruntime) plus a span stage (numpy).

Stage 1, the tagger, gives for every token p(inside any propaganda fragment) and
p(technique | inside) for the 14 PTC techniques, plus each token's share of its span head
(a technique classifier over pooled fragment and context states); :meth:`Detector.encode` turns
those into per-character scores and per-token states. Stage 2, :meth:`Detector.decode`, cuts
candidate fragments where p(inside) is high (by a threshold, or by a two-state Viterbi pass over
the words that smooths single-word spikes and dips, see :func:`candidate_spans`) and hands them
to the span model
(:mod:`propscan.detect.span_model`), which keeps the real ones, names their technique and gives
a calibrated confidence and a reason. :meth:`Detector.classify` labels given fragments (the PTC
"TC" task). No torch anywhere here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from propscan.detect.span_model import (
    DENSE_NAMES,
    SpanModel,
    TokenStates,
    is_quoted,
    normalise_words,
    repetition_count,
    span_features,
)
from propscan.detect.windows import (
    INFERENCE_STRIDE,
    average_over_windows,
    load_tokenizer,
    tokenize,
)
from propscan.doc import Article
from propscan.errors import ConfigError, ModelError
from propscan.techniques import TECHNIQUE_NAMES, get_technique

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = ["Detector", "DEFAULT_MODEL_DIR", "Fragment", "TokenStates", "available_cores",
           "candidate_spans", "session_options", "open_session"]

DEFAULT_MODEL_DIR = Path(__file__).parent / "model"
#: (start, end, technique, confidence, reason), offsets into the text given
Fragment = tuple[int, int, str, float, str]

_DEFAULT_CONFIG = {"threshold": 0.4, "max_gap_chars": 3, "min_chars": 3, "repetition_rule": True}
# One window per inference call. The int8 graph quantises activations with one scale per call
# (DynamicQuantizeLinear is per tensor), so a batch's windows change each other's scores: the
# same article scored within a corpus or alone gave different fragments in 38 of 40 articles.
# Alone, a window's scores depend on its own tokens only; worker threads keep the cores busy.
_BATCH = 1
_CHUNK = 16  # articles per predict call: bounds the live per-character score arrays
_REPETITION = "Repetition"
# what the Viterbi decoder steps over: words and single punctuation marks
_DECODE_UNIT = re.compile(r"\w+|[^\w\s]")
_OPENING_QUOTES = "\"'“‘«"
_CLOSING_QUOTES = "\"'”’»"


# onnxruntime would fuse the tagger's Add + LayerNormalization back into SkipLayerNormalization,
# whose CPU kernel is several times slower (see propscan.train.onnx_export.unfuse_skip_layer_norm)
_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


def session_options() -> ort.SessionOptions:
    """onnxruntime session options of the detector: one thread inside each call.

    The detector runs in parallel across windows, not inside one: each window runs on one of
    ``threads`` worker threads (one call per window, see _BATCH), which kept 2 cores busier
    than onnxruntime's intra-op threads did on small calls.
    """
    import onnxruntime as ort  # imported here so `import propscan.detect` stays light

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def open_session(model_path: Path, options: ort.SessionOptions | None = None
                 ) -> ort.InferenceSession:
    """An onnxruntime CPU session for the tagger at ``model_path``, with
    :func:`session_options` (or ``options``) and the graph rewrites it must not get."""
    import onnxruntime as ort

    return ort.InferenceSession(str(model_path), options or session_options(),
                                providers=["CPUExecutionProvider"],
                                disabled_optimizers=_DISABLED_OPTIMIZERS)


class Detector:
    """Loads the shipped (or given) model and finds propaganda fragments in texts."""

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None,
                 threshold: float | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold_override = threshold
        self.config: dict[str, Any] = dict(_DEFAULT_CONFIG)
        self.metrics: dict[str, Any] = {}
        self.session_ = None
        self.tokenizer_ = None
        self.span_model_: SpanModel | None = None
        self.pool_: ThreadPoolExecutor | None = None

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> Detector:
        """Load the ONNX model and tokenizer; raises ModelError when files are missing."""
        if self.session_ is not None:
            return self
        model_path = self.model_dir / "model.onnx"
        tokenizer_path = self.model_dir / "tokenizer.json"
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ModelError(f"model file missing: {path} (train one with "
                                 "`python -m propscan.train` or reinstall propscan)")
        workers = self.threads or available_cores()
        if workers > 1:
            self.pool_ = ThreadPoolExecutor(workers, thread_name_prefix="propscan-onnx")
        try:
            self.session_ = open_session(model_path)
            self.tokenizer_ = load_tokenizer(tokenizer_path)
        except Exception as err:  # corrupt file: one clear line, not an ORT traceback
            raise ModelError(f"cannot load model from {self.model_dir}: {err}") from None
        config_path = self.model_dir / "config.json"
        if config_path.is_file():
            self.config.update(json.loads(config_path.read_text()))
        span_model_path = self.model_dir / "span_model.npz"
        if span_model_path.is_file():
            try:
                self.span_model_ = SpanModel.load(span_model_path)
            except (OSError, ValueError, KeyError) as err:
                raise ModelError(f"cannot load {span_model_path}: {err}") from None
            self._check_span_model(span_model_path)
        metrics_path = self.model_dir / "metrics.json"
        if metrics_path.is_file():
            self.metrics = json.loads(metrics_path.read_text())
        return self

    def _check_span_model(self, path: Path) -> None:
        """A span model must match this code's features and the tagger's outputs."""
        assert self.span_model_ is not None and self.session_ is not None
        width = len(self.span_model_.dense_mean)
        if width != len(DENSE_NAMES):
            raise ModelError(f"{path} was fitted on {width} span features, this version of "
                             f"propscan computes {len(DENSE_NAMES)}: reinstall propscan or "
                             "refit the model (python -m propscan.train)")
        head = slice(DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}"), len(DENSE_NAMES))
        model = self.span_model_
        uses_head = np.any(model.tech_w[:, head]) or np.any(model.real_w[head])
        if uses_head and len(self.session_.get_outputs()) < 2:
            raise ModelError(f"{path} reads the span head, but {self.model_dir / 'model.onnx'} "
                             "does not output it (a tagger exported before span heads)")

    @property
    def threshold(self) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return float(self.config["threshold"])

    @property
    def info(self) -> dict[str, Any]:
        """Name, version and cross-validated figures of the model, for provenance."""
        return {
            "name": self.config.get("name", "propscan-minilm-tagger"),
            "version": self.config.get("version", "0"),
            "threshold": self.threshold,
            "switch_penalty": float(self.config.get("switch_penalty", 0.0)),
            # the summary only: metrics.json also holds per-fold tables, too big to repeat
            "metrics": {k: self.metrics[k] for k in ("evaluation", "mean_std")
                        if k in self.metrics},
        }

    def _require_loaded(self) -> None:
        if self.session_ is None:
            self.load()

    # ---- scoring -------------------------------------------------------------------------
    def predict(self, texts: list[str]) -> list[np.ndarray]:
        """Per-character scores for each text: an array (len(text), 15) of probabilities.

        Column 0 is p(inside a propaganda fragment); column 1 + i is p(TECHNIQUE_NAMES[i] |
        inside). Characters between tokens (whitespace) get the lower score of their neighbours.
        """
        return [scores for scores, _ in self.encode(texts)]

    def encode(self, texts: list[str]) -> list[tuple[np.ndarray, TokenStates | None]]:
        """:meth:`predict`'s scores with the tagger's span-head projections per token (None when
        the model does not output them), which the span model pools over each fragment."""
        self._require_loaded()
        tok = self.tokenizer_
        per_text = [tokenize(tok, t) for t in texts]
        # per-token span-head shares, when the tagger exports a span head (2 x 14 columns)
        with_states = len(self.session_.get_outputs()) > 1
        columns = (1 + len(TECHNIQUE_NAMES), *((2 * len(TECHNIQUE_NAMES),) if with_states else ()))

        def run(input_ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
            return self.session_.run(None, {"input_ids": input_ids, "attention_mask": mask})

        averaged = average_over_windows([ids for ids, _ in per_text], run,
                                        tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]"),
                                        columns, stride=INFERENCE_STRIDE, batch_size=_BATCH,
                                        map_batches=self.pool_.map if self.pool_ else map)
        out: list[tuple[np.ndarray, TokenStates | None]] = []
        for text, (_, offsets), outputs in zip(texts, per_text, averaged, strict=True):
            token_states = TokenStates(offsets, outputs[1]) if with_states else None
            out.append((_chars_from_tokens(len(text), offsets, outputs[0]), token_states))
        return out

    # ---- decoding ------------------------------------------------------------------------
    def candidates(self, text: str, scores: np.ndarray) -> list[tuple[int, int]]:
        """Candidate fragments, as whole words (see :func:`candidate_spans`)."""
        return candidate_spans(text, scores, self.threshold, int(self.config["max_gap_chars"]),
                               int(self.config["min_chars"]),
                               float(self.config.get("switch_penalty", 0.0)))

    def decode(self, text: str, scores: np.ndarray,
               states: TokenStates | None = None) -> list[Fragment]:
        """Fragments of ``text`` from its per-character scores and states (see :meth:`encode`).

        With a span model (the shipped one has it), each candidate is rescored as a whole and
        kept when p(real) passes ``keep_threshold``; its technique and calibrated confidence come
        from the span model. Without one, the tagger's mean scores decide.
        """
        spans = self.candidates(text, scores)
        if not spans:
            return []
        if self.span_model_ is None:
            return [self._fragment_from_tagger(text, scores, s, e) for s, e in spans]
        feats = span_features(text, scores, spans, states)
        x = self.span_model_.matrix(feats)
        p_real = self.span_model_.p_real(x)
        p_tech = self.span_model_.p_technique(x)
        keep = p_real >= float(self.config.get("keep_threshold", 0.0))
        fragments: list[Fragment] = []
        for i in np.flatnonzero(keep):
            start, end = spans[i]
            best = int(np.argmax(p_tech[i]))
            cues = []
            repeated = bool(feats.dense[i, DENSE_NAMES.index("repeated")])
            if self._repetition_applies(text, start, end, repeated):
                best = TECHNIQUE_NAMES.index(_REPETITION)
            if repeated and TECHNIQUE_NAMES[best] == _REPETITION:
                cues.append("phrase repeated in the article")
            elif feats.dense[i, DENSE_NAMES.index("scare_quotes")]:
                cues.append("scare quotes")
            word = self.span_model_.strongest_word(x[i], best)
            if word:
                cues.append(word)
            confidence = float(self.span_model_.calibrate(
                np.asarray([p_real[i] * p_tech[i, best]]))[0])
            technique = TECHNIQUE_NAMES[best]
            cues.append(f"model score {p_real[i]:.2f}")
            fragments.append((start, end, technique, round(confidence, 4),
                              _reason(technique, ", ".join(cues), confidence)))
        return fragments

    def _repetition_applies(self, text: str, start: int, end: int,
                            repeated: bool | None = None) -> bool:
        """Whether the Repetition rule labels this fragment; ``repeated`` when already known."""
        rule = self.config.get("repetition_rule")
        if not rule:
            return False
        # "phrase": only multi-word fragments (single words recur in any text, so they are
        # weaker evidence of the Repetition technique); True: any repeated fragment
        if rule == "phrase" and len(normalise_words(text[start:end]).split()) < 2:
            return False
        return repeated if repeated is not None else repetition_count(text, start, end) > 0

    def _fragment_from_tagger(self, text: str, scores: np.ndarray, start: int,
                              end: int) -> Fragment:
        technique, p_tech, cue = self._technique(text, scores, start, end)
        confidence = float(scores[start:end, 0].mean()) * p_tech
        return (start, end, technique, round(confidence, 4), _reason(technique, cue, confidence))

    def _technique(self, text: str, scores: np.ndarray, start: int,
                   end: int) -> tuple[str, float, str]:
        mean = scores[start:end, 1:].mean(axis=0)
        weights = self.config.get("technique_weights")
        # weights undo the pull of frequent techniques (chosen on held-out data)
        best = int(np.argmax(mean * np.asarray(weights))) if weights else int(np.argmax(mean))
        technique, p = TECHNIQUE_NAMES[best], float(mean[best])
        if self._repetition_applies(text, start, end):
            rep = TECHNIQUE_NAMES.index(_REPETITION)
            return _REPETITION, max(float(mean[rep]), 0.5), "repeated phrase"
        cue = "scare quotes" if is_quoted(text, start, end) else f"model score {p:.2f}"
        return technique, p, cue

    # ---- task entry points ---------------------------------------------------------------
    def detect(self, articles: Sequence[Article]) -> None:
        """Set ``article.spans`` for each article, from its cleaned text, in input offsets."""
        fragments = self.detect_texts([a.clean_text for a in articles])
        for article, found in zip(articles, fragments, strict=True):
            article.spans = [article.span_from_clean(s, e, t, c, r) for s, e, t, c, r in found]

    def detect_text(self, text: str) -> list[Fragment]:
        """Fragments of a raw text (e.g. a PTC article file), in that text's own offsets."""
        return self.detect_texts([text])[0]

    def detect_texts(self, texts: list[str]) -> list[list[Fragment]]:
        """:meth:`detect_text` for many texts, 16 at a time (windows run on the worker threads)."""
        out: list[list[Fragment]] = []
        for first in range(0, len(texts), _CHUNK):
            part = texts[first:first + _CHUNK]
            out.extend(self.decode(t, s, st)
                       for t, (s, st) in zip(part, self.encode(part), strict=True))
        return out

    def classify(self, text: str, spans: list[tuple[int, int]],
                 scores: np.ndarray | None = None,
                 states: TokenStates | None = None) -> list[str]:
        """One technique per given (start, end) span of ``text`` (the PTC TC task)."""
        if scores is None:
            scores, states = self.encode([text])[0]
        out = []
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise ConfigError(f"span [{start}, {end}) is outside the text of length "
                                  f"{len(text)}")
        if self.span_model_ is None or not spans:
            out.extend(self._technique(text, scores, s, e)[0] for s, e in spans)
            return out
        feats = span_features(text, scores, list(spans), states)
        p_tech = self.span_model_.p_technique(self.span_model_.matrix(feats))
        repeated = feats.dense[:, DENSE_NAMES.index("repeated")] > 0
        seen: dict[tuple[int, int], int] = {}
        for (start, end), row, rep in zip(spans, p_tech, repeated, strict=True):
            ranking = [TECHNIQUE_NAMES[j] for j in np.argsort(-row)]
            if self._repetition_applies(text, start, end, bool(rep)):
                ranking.remove(_REPETITION)
                ranking.insert(0, _REPETITION)
            # a span listed twice carries two techniques: the k-th copy gets the k-th best
            k = seen.get((start, end), 0)
            seen[(start, end)] = k + 1
            out.append(ranking[min(k, len(ranking) - 1)])
        return out


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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
    not used. Either way fragments under ``min_chars`` characters or without a letter or digit
    are dropped.
    """
    if len(text) == 0:
        return []
    if switch_penalty > 0:
        runs = _viterbi_runs(text, scores[:, 0], threshold, switch_penalty)
    else:
        runs = [_snap(text, start, end) for start, end
                in _merge_gaps(text, _runs(scores[:, 0] >= threshold), max_gap_chars)]
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


def _reason(technique: str, cue: str, confidence: float) -> str:
    t = get_technique(technique)
    return f"{t.label}: {t.definition} Cue: {cue}; confidence {confidence:.2f}."
