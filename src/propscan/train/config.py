"""The settings of a training run, checked once when they are made.

Imports nothing heavy: ``python -m propscan.train`` builds a :class:`TrainConfig` from its
arguments before torch is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscan.errors import ConfigError
from propscan.train.encoders import ENCODERS

__all__ = ["TrainConfig", "ATTENTION_DROPOUT", "BASE_LAYERS", "STAGE1_EPOCHS", "JOINT_EPOCHS",
           "JOINT_LR", "JOINT_SPAN_WEIGHT"]

#: dropout on the attention probabilities while fine-tuning (the encoder's own setting). On a
#: CPU it is a large share of each step: a mask is drawn for every (window, head, query, key)
#: cell, and SDPA leaves its fused kernel; ``make bench-train`` measures it
ATTENTION_DROPOUT = 0.1
#: layers of the base encoder (all-MiniLM-L6-v2); ``ENCODERS`` has those of the others
BASE_LAYERS = ENCODERS["minilm"]
#: the first stage: the token tagger alone (6 + 3 epochs beat 3 + 2 on every fold, MODEL_CARD)
STAGE1_EPOCHS = 6
#: the second, joint stage: both heads, from the tagger-only checkpoint, at a lower rate
JOINT_EPOCHS = 3
JOINT_LR = 4e-5
JOINT_SPAN_WEIGHT = 0.3


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """How one tagger is trained. :func:`propscan.train.trainer.train` runs one stage with it;
    :func:`propscan.train.recipe.train_two_stage` derives its two stages from it (``epochs``
    and ``joint_epochs``; the joint stage's rate and span weight are ``JOINT_LR`` and
    ``JOINT_SPAN_WEIGHT``).

    * the recipe: ``epochs``, ``joint_epochs``, ``batch_size``, ``lr``, ``span_weight`` (the
      span head's share of the loss; 0: token tagger only), ``attention_dropout``, ``layers``
      (keep only the base encoder's first layers; None: all of them), ``encoder`` (the base
      encoder: "minilm", the shipped all-MiniLM-L6-v2, or "mpnet", all-mpnet-base-v2, a
      teacher only: it cannot be exported, so it needs ``export=False``);
    * where and how: ``threads`` (torch CPU threads), ``device`` ("cuda" trains on a GPU; the
      export always runs on the CPU), ``seed``;
    * which articles: ``split_seed`` draws the fold assignment (None: ``seed``), so models that
      differ only in ``seed`` share folds; ``fold=(k, n)`` holds out the k-th of n parts;
      ``all_data`` fits on every article; ``max_articles`` caps the fit set (and the unlabelled
      articles; smoke tests);
    * self-training: ``unlabelled`` (a directory of article ``.txt`` files) with
      ``teacher_probs`` (a teacher's soft targets for them, from
      :func:`propscan.train.teacher.label_unlabelled`) adds them to every epoch;
    * ``init`` starts from a saved state_dict instead of the base encoder; ``export=False``
      skips the ONNX export (a stage that only feeds the next one).
    """

    epochs: int = STAGE1_EPOCHS
    joint_epochs: int = JOINT_EPOCHS
    batch_size: int = 16
    lr: float = 8e-5
    span_weight: float = 1.0
    attention_dropout: float = ATTENTION_DROPOUT
    layers: int | None = None
    encoder: str = "minilm"
    threads: int = 2
    device: str = "cpu"
    seed: int = 13
    split_seed: int | None = None
    fold: tuple[int, int] | None = None
    all_data: bool = False
    max_articles: int | None = None
    unlabelled: Path | None = None
    teacher_probs: Path | None = None
    init: Path | None = None
    export: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "joint_epochs", "batch_size", "threads"):
            _at_least_1(name, getattr(self, name))
        if self.max_articles is not None:
            _at_least_1("max_articles", self.max_articles)
        if not self.lr > 0:
            raise ConfigError(_bad("lr", "greater than 0", self.lr))
        if not self.span_weight >= 0:
            raise ConfigError(_bad("span_weight", "0 or more", self.span_weight))
        if not 0 <= self.attention_dropout < 1:
            raise ConfigError(_bad("attention_dropout", "in [0, 1)", self.attention_dropout))
        if self.encoder not in ENCODERS:
            raise ConfigError(_bad("encoder", f"one of {', '.join(ENCODERS)}", self.encoder))
        if self.encoder != "minilm" and self.export:
            raise ConfigError(_bad("export", f"False with encoder {self.encoder!r} (only "
                                   "minilm taggers are exported)", self.export))
        if self.layers is not None and not (
                _is_int(self.layers) and 1 <= self.layers <= ENCODERS[self.encoder]):
            raise ConfigError(_bad("layers", f"None or an int in [1, {ENCODERS[self.encoder]}]",
                                   self.layers))
        if self.fold is not None:
            k, n = self.fold if isinstance(self.fold, tuple) and len(self.fold) == 2 else (-1, 0)
            if not (_is_int(k) and _is_int(n) and 0 <= k < n and n >= 2):
                raise ConfigError(_bad("fold", "None or (k, n) with 0 <= k < n and n >= 2",
                                       self.fold))
            if self.all_data:
                raise ConfigError(_bad("fold", "None when all_data is True", self.fold))
        if self.teacher_probs is not None and self.unlabelled is None:
            raise ConfigError(_bad("unlabelled", "a directory when teacher_probs is given",
                                   self.unlabelled))

    @property
    def depth(self) -> int:
        """How many encoder layers the tagger has."""
        return self.layers or ENCODERS[self.encoder]

    @property
    def fold_seed(self) -> int:
        """The seed that draws the fold assignment."""
        return self.seed if self.split_seed is None else self.split_seed

    def recorded(self) -> dict[str, Any]:
        """What a run directory's ``split.json`` records of the recipe."""
        return {"all_data": self.all_data, "unlabelled": str(self.unlabelled or ""),
                "attention_dropout": self.attention_dropout, "device": self.device,
                "seed": self.seed, "layers": self.depth, "encoder": self.encoder}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _at_least_1(name: str, value: Any) -> None:
    if not (_is_int(value) and value >= 1):
        raise ConfigError(_bad(name, "at least 1", value))


def _bad(name: str, expected: str, value: Any) -> str:
    return f"The '{name}' parameter of TrainConfig must be {expected}. Got {value!r} instead."
