"""Training smoke test: a real fine-tuning step on two PTC articles, exported and reloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from propscan.detect import Detector

pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_one_epoch_on_two_articles_exports_a_loadable_int8_model(tmp_path: Path,
                                                                  ptc_articles: Path) -> None:
    from propscan.train.trainer import train

    run = tmp_path / "run"
    train(ptc_articles.parent, run, epochs=1, batch_size=8, threads=2, max_articles=2,
          fold=(0, 5))
    split = json.loads((run / "split.json").read_text())
    assert len(split["fit"]) == 2 and not set(split["fit"]) & set(split["test"])
    model_dir = run / "epoch1"
    assert (model_dir / "DONE").is_file()
    assert (model_dir / "model.onnx").stat().st_size < 40e6  # int8: the shipping budget
    detector = Detector(model_dir, threads=2).load()
    text = "The so-called experts keep lying to you."
    scores = detector.predict([text])[0]
    assert scores.shape == (len(text), 15)
    assert np.all((scores >= 0) & (scores <= 1))
    assert "epoch 1 mean loss" in (run / "train.log").read_text()
    assert (run / "tagger.pt").is_file()
