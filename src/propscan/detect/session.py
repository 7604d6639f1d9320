"""The onnxruntime session of the tagger: options, graph rewrites it must not get, core count."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = ["session_options", "open_session", "available_cores"]

# onnxruntime would fuse the tagger's Add + LayerNormalization back into SkipLayerNormalization,
# whose CPU kernel is several times slower (see propscan.train.onnx_export.unfuse_skip_layer_norm)
_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


def session_options() -> ort.SessionOptions:
    """onnxruntime session options of the detector: one thread inside each call.

    The detector runs in parallel across windows, not inside one: each window runs on one of
    ``threads`` worker threads (one call per window), which kept 2 cores busier than
    onnxruntime's intra-op threads did on small calls.
    """
    import onnxruntime as ort  # imported here so `import propscan.detect` stays light

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return options


def open_session(model_path: Path, options: ort.SessionOptions | None = None
                 ) -> ort.InferenceSession:
    """An onnxruntime CPU session for the tagger at ``model_path``, with
    :func:`session_options` (or ``options``) and the graph rewrites it must not get."""
    import onnxruntime as ort

    return ort.InferenceSession(str(model_path), options or session_options(),
                                providers=["CPUExecutionProvider"],
                                disabled_optimizers=_DISABLED_OPTIMIZERS)


def available_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
