"""Fused + int8 ONNX export of the tagger, on a tiny randomly initialised BERT (no download)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
ort = pytest.importorskip("onnxruntime")

from propscan.detect import open_session  # noqa: E402
from propscan.train.model import Tagger  # noqa: E402
from propscan.train.onnx_export import (  # noqa: E402
    export_fp32,
    op_counts,
    optimize_and_quantize,
    unfuse_skip_layer_norm,
)

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
    assert ops["SkipLayerNormalization"] == 0  # fused, then spelled out again (faster on CPU)
    assert ops["LayerNormalization"] == 4
    assert ops["BiasGelu"] == 2
    assert ops["Softmax"] == 0  # attention no longer spelled out op by op
    assert not (tmp_path / "model.fused.onnx").exists()  # intermediate file cleaned up

    ids, mask = _padded_batch()
    session = open_session(out)  # as the detector opens it
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


def _skip_layer_norm_graph(with_bias: bool, extra_output: bool = False):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    weights = [numpy_helper.from_array(rng.normal(1, 0.2, 8).astype(np.float32), "gamma"),
               numpy_helper.from_array(rng.normal(0, 0.5, 8).astype(np.float32), "beta"),
               numpy_helper.from_array(rng.normal(0, 0.5, 8).astype(np.float32), "bias")]
    inputs = ["x", "skip", "gamma", "beta"] + (["bias"] if with_bias else [])
    outputs = ["y"] + (["", "", "sum"] if extra_output else [])
    node = helper.make_node("SkipLayerNormalization", inputs, outputs, name="sln",
                            domain="com.microsoft", epsilon=1e-5)
    def value(name: str):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 5, 8])

    graph = helper.make_graph([node], "g", [value("x"), value("skip")],
                              [value("y")] + ([value("sum")] if extra_output else []), weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("com.microsoft", 1)])


@pytest.mark.parametrize("with_bias", [True, False])
def test_unfused_skip_layer_norm_computes_the_same(tmp_path: Path, with_bias: bool) -> None:
    model = _skip_layer_norm_graph(with_bias)
    fused_path, plain_path = tmp_path / "fused.onnx", tmp_path / "plain.onnx"
    fused_path.write_bytes(model.SerializeToString())
    assert unfuse_skip_layer_norm(model) == 1
    plain_path.write_bytes(model.SerializeToString())
    assert op_counts(plain_path) == {"Add": 1 + with_bias, "LayerNormalization": 1}
    rng = np.random.default_rng(3)
    feed = {n: rng.normal(0, 2, (2, 5, 8)).astype(np.float32) for n in ("x", "skip")}
    fused = ort.InferenceSession(str(fused_path), providers=["CPUExecutionProvider"])
    expected = fused.run(None, feed)[0]
    got = open_session(plain_path).run(None, feed)[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_skip_layer_norm_with_more_outputs_is_left_alone() -> None:
    model = _skip_layer_norm_graph(True, extra_output=True)
    assert unfuse_skip_layer_norm(model) == 0
    assert [n.op_type for n in model.graph.node] == ["SkipLayerNormalization"]
