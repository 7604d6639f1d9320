"""`propscan adapt --fine-tune`: the tagger rebuilt from its ONNX graph, fine-tuned on the
reviewed articles per fold and for the adapted model. The articles are the invented ones of
test_adapt.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from propscan.detect import DEFAULT_MODEL_DIR, Detector
from propscan.errors import ModelError
from tests.test_adapt import LOADED, adapt, analysed_batch, invented_article, review

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")


def test_the_tagger_rebuilt_from_the_shipped_graph_gives_its_probabilities() -> None:
    from propscan.train.onnx_import import tagger_from_onnx

    tagger = tagger_from_onnx(DEFAULT_MODEL_DIR / "model.onnx").eval()
    text = invented_article(3) + " " + invented_article(4)
    with Detector(threads=1).load() as det:
        ids = np.array([det.tokenizer_.encode(text).ids[:256]], np.int64)
        mask = np.ones_like(ids)
        shipped, _ = det.session_.run(None, {"input_ids": ids, "attention_mask": mask})
    with torch.no_grad():
        rebuilt, _ = tagger(torch.from_numpy(ids), torch.from_numpy(mask))
    diff = np.abs(shipped - rebuilt.numpy())
    # int8 activations in the graph, float in torch: close, not equal
    assert diff.mean() < 0.03
    assert ((shipped[..., 0] > 0.5) == (rebuilt.numpy()[..., 0] > 0.5)).mean() > 0.9


def test_a_graph_that_is_not_a_tagger_export_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from propscan.train.onnx_import import tagger_from_onnx

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(tmp_path / "other.onnx"))
    with pytest.raises(ModelError, match="not a propscan MiniLM tagger export"):
        tagger_from_onnx(tmp_path / "other.onnx")
    (tmp_path / "cut.onnx").write_bytes((DEFAULT_MODEL_DIR / "model.onnx").read_bytes()[:5000])
    with pytest.raises(ModelError, match="cannot read"):
        tagger_from_onnx(tmp_path / "cut.onnx")


@pytest.mark.slow  # fine-tunes and exports three taggers: a few minutes on 2 cores
def test_fine_tuning_writes_a_tuned_tagger_scored_on_folds_it_did_not_learn(
        tmp_path: Path) -> None:
    db = analysed_batch(tmp_path)
    review(db)
    out, cache = tmp_path / "tuned", tmp_path / "cache"
    settings = ("--folds", "2", "--fine-tune", "--fine-tune-epochs", "4")
    result = adapt(db, out, *settings, "--fine-tune-cache", str(cache))
    assert result.exit_code == 0, result.output
    assert "fine-tuning fold 2/2" in result.output
    assert "fine-tuning the adapted model on all 24 articles" in result.output
    assert "| fine-tuned tagger, base decoding |" in result.output
    assert (out / "model.onnx").read_bytes() != (DEFAULT_MODEL_DIR / "model.onnx").read_bytes()
    config = json.loads((out / "config.json").read_text())
    assert config["fine_tuned"] == {"epochs": 4, "lr": 8e-05, "seed": 13, "articles": 24}
    metrics = json.loads((out / "metrics.json").read_text())
    pooled = metrics["pooled"]
    assert metrics["fine_tuning"]["epochs"] == 4
    assert pooled["adapted"]["si_f1"] >= pooled["base"]["si_f1"]
    assert "fine-tuned on the 24 reviewed articles" in (out / "MODEL_CARD.md").read_text()

    # run again with the cache: the three taggers are reused, and so are the figures
    again = adapt(db, tmp_path / "again", *settings, "--fine-tune-cache", str(cache))
    assert again.exit_code == 0, again.output
    assert again.output.count("reusing the tagger in") == 3
    assert f"{cache} holds 3 fine-tuned taggers" in again.output
    assert "epoch 1" not in again.output
    assert (tmp_path / "again" / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
    assert json.loads((tmp_path / "again" / "metrics.json").read_text())["pooled"] == pooled

    # the tuned tagger has learned the reviewers' gold: the phrases they mark stand out more
    # from the one they never count than with the base tagger
    unwanted = next(p for p, technique in LOADED if technique is None)
    marked = [p for p, technique in LOADED if technique]
    texts = [invented_article(n) for n in range(100, 140)]
    contrast = {}
    for name, model in (("base", DEFAULT_MODEL_DIR), ("tuned", out)):
        inside: dict[bool, list[float]] = {True: [], False: []}
        with Detector(model, threads=1).load() as det:
            for text, (scores, _) in zip(texts, det.encode(texts), strict=True):
                for phrase in [*marked, unwanted]:
                    if (start := text.find(phrase)) >= 0:
                        inside[phrase != unwanted].append(
                            float(scores[start:start + len(phrase), 0].mean()))
        contrast[name] = np.mean(inside[True]) - np.mean(inside[False])
    assert contrast["tuned"] > contrast["base"]
