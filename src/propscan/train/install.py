"""Installing a trained model directory, and the version that names it.

An installed directory holds the tagger (``model.onnx``, ``tokenizer.json``), its decoding
settings with a name and version (``config.json``), the span model (``span_model.npz``) and the
figures behind them (``metrics.json``), which :class:`propscan.detect.Detector` loads.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from propscan.detect.span_model import SpanModel

__all__ = ["install", "model_version", "installed_model_version"]

# what install() writes around the decoding settings in config.json (the version hashes the
# settings alone)
_MODEL_NAME = {"name": "propscan-minilm-tagger",
               "base_model": "sentence-transformers/all-MiniLM-L6-v2 (int8 ONNX)"}


def model_version(model_dir: Path, config: dict[str, Any] | None = None,
                  span_model: SpanModel | None = None) -> str:
    """Today's date plus the first 8 hex digits of a SHA-256 over ``model.onnx`` and, when
    given, the decoding ``config`` and the span model's weights: two models (or one tagger
    with two decodings) installed on one day get different versions, which results stores
    record."""
    digest = hashlib.sha256((Path(model_dir) / "model.onnx").read_bytes())
    if config is not None:
        digest.update(json.dumps(config, sort_keys=True).encode())
    if span_model is not None:
        for part in (span_model.real_w, span_model.real_b, span_model.tech_w,
                     span_model.tech_b, span_model.calib_x, span_model.calib_y):
            digest.update(np.asarray(part, np.float64).tobytes())
    return f"{time.strftime('%Y.%m.%d')}+{digest.hexdigest()[:8]}"


def installed_model_version(install_dir: Path) -> str:
    """:func:`model_version` of an installed model directory, from its files: the version an
    install of this tagger with these settings would get today (e.g. after its graph was
    rewritten by :func:`propscan.train.onnx_export.unfuse_skip_layer_norm`)."""
    config = json.loads((Path(install_dir) / "config.json").read_text())
    settings = {k: v for k, v in config.items() if k not in {*_MODEL_NAME, "version"}}
    span_path = Path(install_dir) / "span_model.npz"
    span_model = SpanModel.load(span_path) if span_path.is_file() else None
    return model_version(install_dir, settings, span_model)


def install(final_model: Path, install_dir: Path, config: dict[str, Any], model: SpanModel,
            metrics: dict[str, Any]) -> None:
    """Copy the tagger in ``final_model`` to ``install_dir`` and write config.json (the
    decoding settings ``config`` with a name and version), span_model.npz and metrics.json."""
    install_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(final_model / name, install_dir / name)
    model.save(install_dir / "span_model.npz")
    # the version of the weights as saved (float32), as installed_model_version reads them
    version = model_version(install_dir, config, SpanModel.load(install_dir / "span_model.npz"))
    config = {"name": _MODEL_NAME["name"], "version": version,
              "base_model": _MODEL_NAME["base_model"], **config}
    (install_dir / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    (install_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
