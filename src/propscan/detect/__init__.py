"""Propaganda span detection: a MiniLM token tagger (onnxruntime) plus a span stage (numpy).

Stage 1, the tagger, gives for every token p(inside any propaganda fragment) and
p(technique | inside) for the 14 PTC techniques, plus each token's share of its span head;
stage 2 cuts candidate fragments from those scores and lets the span model keep, label and
explain them. Modules: :mod:`~propscan.detect.session` (the onnxruntime session),
:mod:`~propscan.detect.detector` (:class:`Detector`), :mod:`~propscan.detect.decoding`
(:class:`DecodingConfig`, :func:`candidate_spans`), :mod:`~propscan.detect.span_model`,
:mod:`~propscan.detect.windows` and :mod:`~propscan.detect.scoring` (article figures).
No torch anywhere here.
"""

from propscan.detect.decoding import DecodingConfig, candidate_spans
from propscan.detect.detector import DEFAULT_MODEL_DIR, Detector
from propscan.detect.session import available_cores, open_session, session_options
from propscan.detect.span_model import TokenStates

__all__ = ["Detector", "DEFAULT_MODEL_DIR", "DecodingConfig", "TokenStates", "available_cores",
           "candidate_spans", "session_options", "open_session"]
