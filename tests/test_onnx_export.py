"""Fused + int8 ONNX export of the tagger, on a tiny randomly initialised BERT (no download)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
ort = pytest.importorskip("onnxruntime")

from propscan.train.onnx_export import (  # noqa: E402
    export_fp32,
    op_counts,
    optimize_and_quantize,
)
from propscan.train.trainer import Tagger  # noqa: E402

HEADS, HIDDEN = 4, 64


def _tiny_tagger() -> Tagger:
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=200, hidden_size=HIDDEN, num_hidden_layers=2,
                                     num_attention_heads=HEADS, intermediate_size=128,
                                     max_position_embeddings=64)
    return Tagger(transformers.BertModel(config, add_pooling_layer=False)).eval()


def _padded_batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    ids = rng.integers(5, 200, size=(3, 20)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, 12:] = 0  # shorter rows exercise the attention mask in the fused op
    mask[2, 5:] = 0
    ids[mask == 0] = 0
    return ids, mask


def test_fused_int8_graph_has_fused_ops_and_matches_torch(tmp_path: Path) -> None:
    model = _tiny_tagger()
    fp32, out = tmp_path / "fp32.onnx", tmp_path / "model.onnx"
    export_fp32(model, fp32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a missed attention fusion would warn
        optimize_and_quantize(fp32, out, num_heads=HEADS, hidden_size=HIDDEN)
    ops = op_counts(out)
    assert ops["QAttention"] == 2
    assert ops["SkipLayerNormalization"] == 4
    assert ops["BiasGelu"] == 2
    assert ops["Softmax"] == 0  # attention no longer spelled out op by op
    assert not (tmp_path / "model.fused.onnx").exists()  # intermediate file cleaned up

    ids, mask = _padded_batch()
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(mask))[0].numpy()
    valid = mask.astype(bool)
    assert probs.shape == expected.shape
    error = np.abs(probs - expected)[valid]
    # int8 weights of a random 64-wide model: typical errors are a few thousandths, a few
    # outliers reach 0.09 depending on the onnxruntime release; a mishandled attention mask or
    # a broken fusion is off by tenths across the board
    assert error.mean() < 0.02
    assert error.max() < 0.15


def test_export_restores_attention_implementation(tmp_path: Path) -> None:
    model = _tiny_tagger()
    before = model.encoder.config._attn_implementation
    export_fp32(model, tmp_path / "fp32.onnx")
    assert model.encoder.config._attn_implementation == before


def test_sdpa_export_warns_that_attention_was_not_fused(tmp_path: Path) -> None:
    model = _tiny_tagger()
    model.encoder.set_attn_implementation("sdpa")
    fp32 = tmp_path / "fp32.onnx"
    ids = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(model, (ids, ids), str(fp32), input_names=["input_ids", "attention_mask"],
                      output_names=["probs"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "b", 1: "s"},
                                    "attention_mask": {0: "b", 1: "s"}})
    with pytest.warns(UserWarning, match="no Attention op fused"):
        optimize_and_quantize(fp32, tmp_path / "model.onnx", num_heads=HEADS, hidden_size=HIDDEN)
    assert (tmp_path / "model.onnx").is_file()  # still a usable, unfused int8 model
