"""A trainable :class:`~propscan.train.model.Tagger` rebuilt from an exported ``model.onnx``.

A model directory ships its tagger as fused int8 ONNX only (:mod:`propscan.train.onnx_export`),
so fine-tuning it (``propscan adapt --fine-tune``) starts from that graph's weights, dequantised.
The export keeps torch names for what it leaves float or quantises by name (LayerNorms, the
embeddings, the heads' biases and the span head); the rest it renames:

* each layer's query, key and value weights are fused into ``Attention_i_qkv_weight``
  (input x 3 * hidden: query, then key, then value) with ``Attention_i_qkv_bias``;
* the other linear layers become ``MatMulInteger`` weights named ``onnx::MatMul_N``, in graph
  order three per layer (attention output, intermediate, output), then the token head.

On the shipped model the rebuilt tagger's per-token probabilities differ from the ONNX's by
0.011 on average (the int8 activations of the graph; ``tests/test_fine_tune.py`` checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from propscan.errors import ModelError

if TYPE_CHECKING:
    from propscan.train.model import Tagger

__all__ = ["tagger_from_onnx"]

_LAYER_LINEARS = ("attention.output.dense", "intermediate.dense", "output.dense")
_UNUSED = ("encoder.pooler.",)  # the encoder's pooler: in the torch model, not in the graph


def tagger_from_onnx(path: Path) -> Tagger:
    """The MiniLM Tagger whose exported graph (fused, int8 or float) is ``path``, dequantised,
    in training mode; ModelError when the graph is not such an export."""
    import onnx
    import torch
    from onnx import numpy_helper

    from propscan.train.model import new_tagger

    try:
        graph = onnx.load(str(path)).graph
    except Exception as err:  # a truncated or foreign file: one line
        raise ModelError(f"cannot read {path}: {err}") from None
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def weight(name: str) -> np.ndarray | None:
        if name in init:
            return init[name].astype(np.float32)
        if name + "_quantized" not in init:
            return None
        q = init[name + "_quantized"].astype(np.float32)
        return (q - init[name + "_zero_point"].astype(np.float32)) * init[name + "_scale"]

    tagger = new_tagger(attention_dropout=0.0)
    state = tagger.state_dict()
    layers = sum(1 for key in state if key.endswith(".attention.self.query.weight"))
    width = tagger.encoder.config.hidden_size
    found: dict[str, np.ndarray] = {}
    for key in state:
        if (w := weight(key)) is not None:
            found[key] = w
    matmuls = [name for node in graph.node if node.op_type in ("MatMulInteger", "MatMul")
               and len(node.input) > 1
               and (name := node.input[1].removesuffix("_quantized")).startswith("onnx::MatMul")
               and weight(name) is not None]
    if len(matmuls) != 3 * layers + 1:
        raise ModelError(f"{path} is not a propscan MiniLM tagger export: {len(matmuls)} "
                         f"weight matrices where {3 * layers + 1} were expected")
    for i in range(layers):
        prefix = f"encoder.encoder.layer.{i}."
        qkv, bias = weight(f"Attention_{i}_qkv_weight"), weight(f"Attention_{i}_qkv_bias")
        if qkv is None or bias is None:
            raise ModelError(f"{path} is not a propscan MiniLM tagger export: layer {i} has "
                             "no fused attention weights")
        for j, part in enumerate(("query", "key", "value")):
            found[f"{prefix}attention.self.{part}.weight"] = qkv[:, j * width:(j + 1) * width].T
            found[f"{prefix}attention.self.{part}.bias"] = bias[j * width:(j + 1) * width]
        for name, onnx_name in zip(_LAYER_LINEARS, matmuls[3 * i:3 * i + 3], strict=True):
            found[f"{prefix}{name}.weight"] = weight(onnx_name).T  # type: ignore[union-attr]
    found["head.weight"] = weight(matmuls[-1]).T  # type: ignore[union-attr]
    missing = [k for k in state if k not in found and not k.startswith(_UNUSED)]
    wrong = [k for k, w in found.items() if tuple(w.shape) != tuple(state[k].shape)]
    if missing or wrong:
        raise ModelError(f"{path} is not a propscan MiniLM tagger export: "
                         f"{len(missing)} weights missing, {len(wrong)} of another shape "
                         f"(first: {(missing + wrong)[0]})")
    tagger.load_state_dict({**state, **{k: torch.from_numpy(np.ascontiguousarray(w))
                                        for k, w in found.items()}})
    return tagger.train()
