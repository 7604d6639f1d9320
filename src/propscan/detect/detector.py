"""The Detector: loads the tagger and the span model, scores texts and decodes findings.

:meth:`Detector.encode` runs the MiniLM token tagger (onnxruntime) over a text's windows and
gives per-character scores and per-token span-head states; :meth:`Detector.decode` cuts
candidate fragments (:func:`propscan.detect.decoding.candidate_spans`) and hands them to the
span model (:mod:`propscan.detect.span_model`), which keeps the real ones, names their technique
and gives a calibrated confidence and a reason. :meth:`Detector.classify` labels given fragments
(the PTC "TC" task). No torch anywhere here.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from propscan.detect.decoding import DecodingConfig, _chars_from_tokens, candidate_spans
from propscan.detect.session import available_cores, open_session
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
from propscan.doc import Article, Finding
from propscan.errors import ConfigError, ModelError
from propscan.techniques import TECHNIQUE_NAMES, get_technique

__all__ = ["Detector", "DEFAULT_MODEL_DIR"]

DEFAULT_MODEL_DIR = Path(__file__).parent / "model"

# One window per inference call. The int8 graph quantises activations with one scale per call
# (DynamicQuantizeLinear is per tensor), so a batch's windows change each other's scores: the
# same article scored within a corpus or alone gave different fragments in 38 of 40 articles.
# Alone, a window's scores depend on its own tokens only; worker threads keep the cores busy.
_BATCH = 1
_CHUNK = 16  # articles per predict call: bounds the live per-character score arrays
_REPETITION = "Repetition"
# what a cut-short or damaged span_model.npz raises from numpy's zip reader
_NPZ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


class Detector:
    """Loads the shipped (or given) model and finds propaganda fragments in texts.

    The constructor only stores settings; :meth:`load` reads the model folder. ``decoding``,
    when given, is used as is; otherwise it is read from the model's ``config.json`` at load
    (until then the defaults of :class:`DecodingConfig` apply). ``threshold`` overrides the
    decoding threshold. Use it as a context manager (``with Detector().load() as det:``) or
    call :meth:`close` to stop its worker threads.
    """

    def __init__(self, model_dir: Path | None = None, *, threads: int | None = None,
                 threshold: float | None = None, decoding: DecodingConfig | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold_override = threshold
        self.decoding = decoding if decoding is not None else DecodingConfig()
        self.decoding_given = decoding is not None
        self.model_config_: dict[str, Any] = {}  # config.json as read: name, version, ...
        self.metrics: dict[str, Any] = {}
        self.session_: Any = None  # onnxruntime.InferenceSession once loaded
        self.tokenizer_: Any = None  # tokenizers.Tokenizer once loaded
        self.span_model_: SpanModel | None = None
        self.pool_: ThreadPoolExecutor | None = None

    # ---- loading -------------------------------------------------------------------------
    def load(self) -> Detector:
        """Load the ONNX model, tokenizer, settings, span model and figures from the model
        folder; raises ModelError when a file is missing, cut short or of the wrong shape."""
        if self.session_ is not None:
            return self
        model_path = self.model_dir / "model.onnx"
        tokenizer_path = self.model_dir / "tokenizer.json"
        for path in (model_path, tokenizer_path):
            if not path.is_file():
                raise ModelError(f"model file missing: {path} (train one with "
                                 "`python -m propscan.train` or reinstall propscan)")
        try:
            session = open_session(model_path)
            tokenizer = load_tokenizer(tokenizer_path)
        except Exception as err:  # corrupt file: one clear line, not an ORT traceback
            raise ModelError(f"cannot load model from {self.model_dir}: {err}") from None
        config = self._read_json("config.json")
        if not self.decoding_given:
            try:
                self.decoding = DecodingConfig.from_dict(config)
            except ConfigError as err:
                raise ModelError(f"cannot read {self.model_dir / 'config.json'}: {err}") from None
        span_model_path = self.model_dir / "span_model.npz"
        span_model = None
        if span_model_path.is_file():
            try:
                span_model = SpanModel.load(span_model_path)
            except _NPZ_ERRORS as err:
                raise ModelError(f"cannot load {span_model_path}: "
                                 f"{err or type(err).__name__}") from None
            self._check_span_model(span_model_path, span_model, session)
        self.metrics = self._read_json("metrics.json")
        self.model_config_ = config
        self.session_, self.tokenizer_ = session, tokenizer
        if span_model is not None:
            self.span_model_ = span_model
        workers = self.threads or available_cores()
        if workers > 1:
            self.pool_ = ThreadPoolExecutor(workers, thread_name_prefix="propscan-onnx")
        return self

    def _read_json(self, name: str) -> dict[str, Any]:
        """A JSON object file of the model folder; {} when absent, ModelError when unreadable."""
        path = self.model_dir / name
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelError(f"cannot read {path}: {err}") from None
        if not isinstance(data, dict):
            raise ModelError(f"cannot read {path}: expected a JSON object, got "
                             f"{type(data).__name__}")
        return data

    def close(self) -> None:
        """Stop the worker threads and drop the ONNX session (:meth:`load` opens them again)."""
        if self.pool_ is not None:
            self.pool_.shutdown(wait=True)
            self.pool_ = None
        self.session_ = None
        self.tokenizer_ = None

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _check_span_model(self, path: Path, model: SpanModel, session: Any) -> None:
        """A span model must match this code's features and the tagger's outputs."""
        width = len(model.dense_mean)
        if width != len(DENSE_NAMES):
            raise ModelError(f"{path} was fitted on {width} span features, this version of "
                             f"propscan computes {len(DENSE_NAMES)}: reinstall propscan or "
                             "refit the model (python -m propscan.train)")
        head = slice(DENSE_NAMES.index(f"head:{TECHNIQUE_NAMES[0]}"), len(DENSE_NAMES))
        uses_head = np.any(model.tech_w[:, head]) or np.any(model.real_w[head])
        if uses_head and len(session.get_outputs()) < 2:
            raise ModelError(f"{path} reads the span head, but {self.model_dir / 'model.onnx'} "
                             "does not output it (a tagger exported before span heads)")

    @property
    def threshold(self) -> float:
        if self.threshold_override is not None:
            return self.threshold_override
        return self.decoding.threshold

    @property
    def info(self) -> dict[str, Any]:
        """Name, version and cross-validated figures of the model, for provenance."""
        return {
            "name": str(self.model_config_.get("name", "propscan-minilm-tagger")),
            "version": str(self.model_config_.get("version", "0")),
            "threshold": self.threshold,
            "switch_penalty": self.decoding.switch_penalty,
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
        settings = self.decoding
        return candidate_spans(text, scores, self.threshold, settings.max_gap_chars,
                               settings.min_chars, settings.switch_penalty)

    def decode(self, text: str, scores: np.ndarray,
               states: TokenStates | None = None) -> list[Finding]:
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
        keep = p_real >= self.decoding.keep_threshold
        fragments: list[Finding] = []
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
            fragments.append(Finding(start, end, technique, round(confidence, 4), text[start:end],
                                     _reason(technique, ", ".join(cues), confidence)))
        return fragments

    def _repetition_applies(self, text: str, start: int, end: int,
                            repeated: bool | None = None) -> bool:
        """Whether the Repetition rule labels this fragment; ``repeated`` when already known."""
        rule = self.decoding.repetition_rule
        if not rule:
            return False
        # "phrase": only multi-word fragments (single words recur in any text, so they are
        # weaker evidence of the Repetition technique); True: any repeated fragment
        if rule == "phrase" and len(normalise_words(text[start:end]).split()) < 2:
            return False
        return repeated if repeated is not None else repetition_count(text, start, end) > 0

    def _fragment_from_tagger(self, text: str, scores: np.ndarray, start: int,
                              end: int) -> Finding:
        technique, p_tech, cue = self._technique(text, scores, start, end)
        confidence = float(scores[start:end, 0].mean()) * p_tech
        return Finding(start, end, technique, round(confidence, 4), text[start:end],
                       _reason(technique, cue, confidence))

    def _technique(self, text: str, scores: np.ndarray, start: int,
                   end: int) -> tuple[str, float, str]:
        mean = scores[start:end, 1:].mean(axis=0)
        weights = self.decoding.technique_weights
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
            article.spans = [article.finding_from_clean(f) for f in found]

    def detect_text(self, text: str) -> list[Finding]:
        """Fragments of a raw text (e.g. a PTC article file), in that text's own offsets."""
        return self.detect_texts([text])[0]

    def detect_texts(self, texts: list[str]) -> list[list[Finding]]:
        """:meth:`detect_text` for many texts, 16 at a time (windows run on the worker threads)."""
        out: list[list[Finding]] = []
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
        out: list[str] = []
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



def _reason(technique: str, cue: str, confidence: float) -> str:
    t = get_technique(technique)
    return f"{t.label}: {t.definition} Cue: {cue}; confidence {confidence:.2f}."
