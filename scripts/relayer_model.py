"""Give an installed model directory the faster graph without retraining.

Usage: python scripts/relayer_model.py [MODEL_DIR]   (default: the shipped model)

Models exported before 2026-11-27 have SkipLayerNormalization nodes, whose onnxruntime CPU
kernel is several times slower than the Add and LayerNormalization they fuse
(:func:`propscan.train.onnx_export.unfuse_skip_layer_norm`). This rewrites ``model.onnx`` in
place with those plain ops and gives ``config.json`` a new version (date + hash, as an install
does), since results stores record which model made them. The weights do not change; the int8
graph quantises activations per call, so scores move by rounding (see MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from propscan.detect import DEFAULT_MODEL_DIR
from propscan.train.crossfit import installed_model_version
from propscan.train.onnx_export import relayer_model_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, nargs="?", default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    model_path, config_path = args.model_dir / "model.onnx", args.model_dir / "config.json"
    if not model_path.is_file() or not config_path.is_file():
        raise SystemExit(f"error: {args.model_dir} has no model.onnx and config.json")
    replaced = relayer_model_file(model_path)
    if not replaced:
        print(f"{model_path}: no SkipLayerNormalization nodes, left as it was")
        return
    config = json.loads(config_path.read_text())
    old = config.get("version")
    config["version"] = installed_model_version(args.model_dir)
    config_path.write_text(json.dumps(config, indent=1) + "\n")
    print(f"{model_path}: {replaced} SkipLayerNormalization nodes replaced; "
          f"version {old} -> {config['version']}")


if __name__ == "__main__":
    main()
