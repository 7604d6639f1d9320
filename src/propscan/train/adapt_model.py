"""Writing an adapted model directory (``propscan adapt -o DIR``).

The directory is a full model: the base tagger's files copied unchanged, the refitted
``span_model.npz`` and ``config.json`` (decoding settings, a version of its own, the base it was
adapted from), ``metrics.json`` (the k-fold figures) and a generated ``MODEL_CARD.md``. It is
written beside its place and renamed into it, so an interrupted run leaves no half model.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from propscan.errors import ConfigError
from propscan.train.adapt import Adaptation

__all__ = ["adapted_version", "check_output_dir", "write_adapted_model", "model_card",
           "kept_parts", "format_adaptation"]

_REFITTED = {"config.json", "span_model.npz", "metrics.json", "MODEL_CARD.md"}


def adapted_version(base_version: str, fingerprint: str) -> str:
    """The base version plus a short hash of what the adaptation learned from."""
    return f"{base_version}+adapt.{fingerprint[:8]}"


def _is_adapted_model(path: Path) -> bool:
    try:
        return "adapted_from" in json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def check_output_dir(out_dir: Path) -> None:
    """Refuse, before any work, an output that is a file or a folder holding something other
    than an earlier adapted model (which is replaced)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"-o {out_dir} is a file; give a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_adapted_model(out_dir):
        raise ConfigError(f"-o {out_dir} holds files that are not an adapted model; give a "
                          "new or empty directory")
    if not out_dir.parent.is_dir():
        raise ConfigError(f"-o {out_dir}: folder {out_dir.parent} does not exist")


def write_adapted_model(adaptation: Adaptation, base_dir: Path, base_config: dict[str, Any],
                        out_dir: Path) -> str:
    """Write the adapted model to ``out_dir`` (replacing an earlier adapted model there);
    returns its version."""
    check_output_dir(out_dir)
    base_version = str(base_config.get("version", "0"))
    version = adapted_version(base_version, adaptation.fingerprint)
    config = {**base_config, **adaptation.config, "version": version,
              "adapted_from": base_version}
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part",
                                    dir=out_dir.parent))
    except OSError as err:
        raise ConfigError(f"cannot write -o {out_dir}: {err.strerror or err}") from None
    try:
        for path in sorted(Path(base_dir).iterdir()):
            if path.is_file() and path.name not in _REFITTED:
                shutil.copy(path, tmp / path.name)
        if adaptation.tagger_onnx is not None:
            (tmp / "model.onnx").write_bytes(adaptation.tagger_onnx)
        adaptation.span_model.save(tmp / "span_model.npz")
        (tmp / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(adaptation.figures, indent=1) + "\n",
                                          encoding="utf-8")
        (tmp / "MODEL_CARD.md").write_text(model_card(adaptation, version), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except OSError as err:
        raise ConfigError(f"cannot write -o {out_dir}: {err.strerror or err}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return version


def _row(name: str, side: dict[str, Any]) -> str:
    si, tc = side["si"], side["tc"]
    return (f"| {name} | {si['precision']:.3f} | {si['recall']:.3f} | {si['f1']:.3f} | "
            f"{tc['micro_f1']:.3f} | {side['ece']:.3f} |")


def kept_parts(config: dict[str, Any]) -> str:
    """What the adapted model refitted of the span stage and what it kept of the base's."""
    tech = {"base": "kept the base model's technique classifier",
            "shifted": "kept the base model's technique classifier with its priors moved to "
                       "the reviewed articles' mix of techniques"
            }.get(config.get("technique_model", ""), "refitted the technique classifier")
    real = ("kept the base model's p(real) regression" if config.get("real_model") == "base"
            else "refitted the p(real) regression")
    return (f"The adapted model {tech}, and {real} (each part was chosen on an inner split "
            "of the reviewed articles); its decoding settings and calibration are refitted.")


def format_adaptation(adaptation: Adaptation) -> str:
    """The held-out figures as a Markdown table, with what they rest on."""
    pooled = adaptation.figures["pooled"]
    folds = len(adaptation.figures["folds"])
    tuned = "fine_tuned_base_decoding" in pooled
    scored_by = ("a tagger fine-tuned and a decoding fitted without it" if tuned else
                 "a decoding fitted without it")
    return "\n".join([
        f"Held-out figures ({folds}-fold cross-validation over {pooled['articles']} reviewed "
        f"articles, {pooled['findings']} gold findings; each fold scored by {scored_by}):",
        "",
        "| model | SI precision | SI recall | SI F1 | TC micro-F1 | ECE |",
        "|---|---|---|---|---|---|",
        _row("base", pooled["base"]),
        *([_row("fine-tuned tagger, base decoding", pooled["fine_tuned_base_decoding"])]
          if tuned else []),
        _row("adapted", pooled["adapted"]),
        "",
        kept_parts(adaptation.config),
    ])


def _tagger_line(adaptation: Adaptation) -> str:
    tuned = adaptation.config.get("fine_tuned")
    if adaptation.tagger_onnx is None or not tuned:
        return "The tagger (model.onnx) is the base model's, unchanged."
    return (f"The tagger (model.onnx) is the base model's fine-tuned on the {tuned['articles']} "
            f"reviewed articles alone ({tuned['epochs']} epochs at peak rate {tuned['lr']}, "
            "token and span heads together), then quantised to int8 again. The span stage, "
            "decoding and calibration were fitted on the out-of-fold outputs of the fold "
            "taggers (each article scored by a tagger fine-tuned without it).")


def model_card(adaptation: Adaptation, version: str) -> str:
    """The generated model card of an adapted model: data, figures, limits."""
    figures = adaptation.figures
    pooled, trained = figures["pooled"], figures["training_articles"]
    ptc = (f" and {trained['ptc']} PTC training articles (as many as the reviewed ones, so "
           "each side weighs about half of the fit)" if trained["ptc"] else "")
    return "\n".join([
        f"# Model card: propscan-minilm-tagger {version}",
        "",
        f"Adapted by `propscan adapt` from model {figures['base_version']}; see the base "
        "model's card (MODEL_CARD.md of propscan) for the tagger, its training data and its "
        "figures on PTC.",
        "",
        "## Adapted on your material",
        "",
        "## Data",
        f"The span stage (which candidates are kept, their technique), the decoding settings "
        f"and the confidence calibration were fitted on {pooled['articles']} reviewed "
        f"articles ({pooled['findings']} gold findings: the model's findings that were not "
        f"rejected, relabelled where corrected, and the fragments reviewers added){ptc}. "
        "Each part of the span stage "
        "was refitted or kept from the base model, whichever scored better on an inner split "
        "of these articles (see below).",
        "",
        _tagger_line(adaptation),
        "",
        "## Figures",
        format_adaptation(adaptation),
        "",
        ("The adapted row reads each fold with a tagger fine-tuned on the other folds, the "
         "base row with the base tagger." if adaptation.tagger_onnx is not None else
         "Both rows use the same tagger outputs; only the decoding differs.")
        + " metrics.json holds the figures per fold and per technique.",
        "",
        "## Limits",
        "- The figures rest on the reviewed articles alone: a few dozen articles give figures "
        "that move by several points from one fold to the next (see the folds in "
        "metrics.json).",
        "- Gold is what reviewers marked: findings a reviewer neither rejected nor corrected "
        "count as right, so a hasty review makes the figures look better than they are.",
        "- The tagger's outputs on PTC training articles are in-sample (it was trained on "
        "them): mixing them in pulls the span stage towards trusting the tagger.",
        "- Nothing here was measured on articles outside the reviewed set; material unlike it "
        "may fare worse than the base model.",
        "",
    ])
