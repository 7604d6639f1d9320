"""The evaluation gate (after trafilatura's): the shipped model's SI F1 and TC micro-F1 on a fixed
set of PTC articles must not fall below the floors in tests/data/eval_gate.json by more than the
noise margin stored there, and the articles and gold labels must be those the floors were
measured on (sha256).

These articles are among the shipped model's training articles, so the figures are optimistic:
the gate detects regressions in export, decoding or classification; it does not report quality
(cross-validated figures are in src/propscan/detect/model/metrics.json and MODEL_CARD.md).

Refreshing the file after a deliberate change (a lower floor needs --allow-lower):

    .venv/bin/python -m tests.test_eval_gate --update [--allow-lower]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from propscan.evaluate import evaluate_scores
from propscan.evaluate.ptc import read_articles, read_tc_labels

GATE_FILE = Path(__file__).resolve().parent / "data" / "eval_gate.json"
#: the gate's articles: the first N ids of the PTC training split, sorted as strings
ARTICLES = 40
FIGURES = ("si_f1", "tc_micro_f1")

GoldRow = tuple[str, str, int, int]


def gate_corpus(ptc_dir: Path) -> tuple[dict[str, str], list[GoldRow]]:
    """The gate's articles (text by id, exactly as on disk) and their technique-level gold."""
    texts = read_articles(ptc_dir / "train-articles")
    ids = sorted(texts)[:ARTICLES]
    chosen = set(ids)
    gold = sorted(row for row in read_tc_labels(ptc_dir / "train-task-flc-tc.labels")
                  if row[0] in chosen)
    return {aid: texts[aid] for aid in ids}, gold


def corpus_hashes(texts: dict[str, str], gold: list[GoldRow]) -> dict[str, str]:
    """sha256 of the texts (id, length and characters of each, in id order) and of the gold."""
    text_hash, gold_hash = hashlib.sha256(), hashlib.sha256()
    for aid in sorted(texts):
        text_hash.update(f"{aid}\t{len(texts[aid])}\n{texts[aid]}".encode())
    for row in sorted(gold):
        gold_hash.update(("\t".join(map(str, row)) + "\n").encode())
    return {"texts_sha256": text_hash.hexdigest(), "gold_sha256": gold_hash.hexdigest()}


def measure(ptc_dir: Path) -> dict[str, Any]:
    """The shipped model's figures on the gate's articles, and what they were measured on."""
    from propscan.detect import Detector

    texts, gold = gate_corpus(ptc_dir)
    detector = Detector(threads=2).load()
    result = evaluate_scores(detector, texts, gold)
    return {"model_version": detector.info["version"], "articles": result["articles"],
            **corpus_hashes(texts, gold),
            "figures": {"si_f1": result["si"]["f1"], "tc_micro_f1": result["tc"]["micro_f1"]}}


def read_gate() -> dict[str, Any]:
    return json.loads(GATE_FILE.read_text(encoding="utf-8"))


def test_gate_file_states_its_floors_margin_and_corpus() -> None:
    gate = read_gate()
    assert set(gate["floors"]) == set(FIGURES)
    assert all(0.0 < gate["floors"][name] < 1.0 for name in FIGURES)
    assert 0.0 < gate["margin"] <= 0.02  # a wider margin would hide real regressions
    assert gate["articles"] == ARTICLES
    assert len(gate["texts_sha256"]) == len(gate["gold_sha256"]) == 64


@pytest.mark.slow  # loads the model and scores 40 articles: about 6 s on 2 cores
def test_shipped_model_stays_above_the_stored_floors(ptc_dir: Path) -> None:
    """SI F1 and TC micro-F1 of the shipped model on 40 of its own training articles (optimistic
    figures: a regression gate, not a quality report) stay within the margin of the floors."""
    gate = read_gate()
    measured = measure(ptc_dir)
    for key in ("articles", "texts_sha256", "gold_sha256"):
        assert measured[key] == gate[key], (
            f"the gate's corpus changed ({key}): re-measure with "
            "`python -m tests.test_eval_gate --update` if that was intended")
    below = {name: (round(measured["figures"][name], 4), gate["floors"][name])
             for name in FIGURES
             if measured["figures"][name] < gate["floors"][name] - gate["margin"]}
    assert not below, (f"model {measured['model_version']} fell below the floors "
                       f"(measured, floor) by more than {gate['margin']}: {below}")


def update(ptc_dir: Path, allow_lower: bool) -> dict[str, Any]:
    """Re-measure and store the floors; refuses to lower one unless ``allow_lower``."""
    measured = measure(ptc_dir)
    old = read_gate() if GATE_FILE.is_file() else {"floors": {}}
    # rounded down, so that a floor is never above what was measured
    floors = {name: math.floor(measured["figures"][name] * 1e4) / 1e4 for name in FIGURES}
    lowered = {name: (old["floors"][name], floors[name]) for name in FIGURES
               if floors[name] < old["floors"].get(name, 0.0)}
    if lowered and not allow_lower:
        raise SystemExit(f"error: these floors would go down (old, new): {lowered}; "
                         "pass --allow-lower if that is intended")
    gate = {
        "about": "Evaluation gate of tests/test_eval_gate.py: SI F1 and TC micro-F1 of the "
                 "shipped model on the first 40 PTC training articles (ids sorted as strings). "
                 "These are training articles of the shipped model, so the figures are "
                 "optimistic: the gate catches regressions, it does not measure quality. "
                 "The margin absorbs differences between onnxruntime builds and CPUs (int8 "
                 "kernels); on one machine the figures are deterministic.",
        "articles": measured["articles"],
        "texts_sha256": measured["texts_sha256"],
        "gold_sha256": measured["gold_sha256"],
        "model_version": measured["model_version"],
        "margin": old.get("margin", 0.01),
        "floors": floors,
    }
    GATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    GATE_FILE.write_text(json.dumps(gate, indent=1) + "\n", encoding="utf-8")
    return gate


def main() -> None:
    from tests.conftest import PTC_DIR

    parser = argparse.ArgumentParser(description="Re-measure the evaluation gate's floors.")
    parser.add_argument("--update", action="store_true", required=True)
    parser.add_argument("--allow-lower", action="store_true")
    parser.add_argument("--data", type=Path, default=PTC_DIR, help="the PTC training split")
    args = parser.parse_args()
    gate = update(args.data, args.allow_lower)
    print(f"wrote {GATE_FILE}: floors {gate['floors']}, margin {gate['margin']}, "
          f"model {gate['model_version']}", file=sys.stderr)


if __name__ == "__main__":
    main()
