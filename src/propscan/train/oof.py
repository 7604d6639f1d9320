"""Out-of-fold (OOF) scores: each article scored by the fold model that held it out.

A cross-validation directory holds ``fold0 .. foldN-1``, each with the ``split.json`` of its
run (``test``: the articles it held out) and its exported model. :func:`oof_scores` scores
every article with its fold's model and caches the scores and token states in
``oof_scores.npz`` and ``oof_states.npz``; with those caches the fold models are no longer
needed (folds trained elsewhere, e.g. on a GPU machine, can be cross-fitted here).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from propscan.detect import Detector
from propscan.detect.span_model import TokenStates
from propscan.errors import InputNotFound

__all__ = ["fold_dirs", "exported_fold_model", "oof_scores", "save_oof", "load_states"]

log = logging.getLogger(__name__)


def fold_dirs(cv_dir: Path) -> list[Path]:
    """The fold run directories of ``cv_dir`` (those with a ``split.json``), in order."""
    return sorted(p for p in Path(cv_dir).glob("fold*") if (p / "split.json").is_file())


def exported_fold_model(fold_dir: Path) -> Path:
    """The fold's finished model: the joint stage's when there is one (see
    :func:`propscan.train.recipe.train_two_stage`)."""
    def exported(pattern: str) -> list[Path]:
        return sorted(d.parent for d in fold_dir.glob(pattern)
                      if (d.parent / "model.onnx").is_file())

    done = exported("joint/epoch*/DONE") or exported("epoch*/DONE")
    if not done:
        raise FileNotFoundError(f"{fold_dir} has no finished model (epoch*/DONE, model.onnx)")
    return done[-1]


def oof_scores(cv_dir: Path, texts: dict[str, str], threads: int = 2
               ) -> tuple[dict[str, np.ndarray], dict[str, TokenStates], dict[str, int]]:
    """Per-character scores and token states (span-head projections) of every article, from
    the fold model that held it out, and each article's fold. Read from the caches when they
    exist, else computed and cached."""
    cache = Path(cv_dir) / "oof_scores.npz"
    states_cache = Path(cv_dir) / "oof_states.npz"
    folds = fold_dirs(cv_dir)
    if not folds:
        raise InputNotFound(f"no cross-validation folds (fold*/split.json) in {cv_dir}")
    fold_of = {}
    for k, fd in enumerate(folds):
        for aid in json.loads((fd / "split.json").read_text())["test"]:
            fold_of[aid] = k
    if cache.is_file():
        with np.load(cache) as z:
            scores = {aid: z[aid].astype(np.float32) for aid in z.files}
        return scores, load_states(states_cache), fold_of
    scores, states = {}, {}
    for k, fd in enumerate(folds):
        ids = sorted(a for a, f in fold_of.items() if f == k)
        model = exported_fold_model(fd)
        log.info("scoring %d held-out articles with %s", len(ids), model)
        det = Detector(model, threads=threads).load()
        for aid, (sc, st) in zip(ids, det.encode([texts[i] for i in ids]), strict=True):
            # float16 halves the caches; round fresh values the same way so that a first run
            # and a cached rerun print the same figures
            scores[aid] = sc.astype(np.float16)
            if st is not None:
                states[aid] = TokenStates(st.offsets.astype(np.int32), st.proj.astype(np.float16))
    save_oof(cv_dir, scores, states)
    return ({aid: s.astype(np.float32) for aid, s in scores.items()},
            load_states(states_cache), fold_of)


def save_oof(cv_dir: Path, scores: dict[str, np.ndarray], states: dict[str, TokenStates]
             ) -> None:
    """Write the caches that :func:`oof_scores` reads (scores and projections as float16)."""
    # the ignores: mypy matches a **dict of arrays against savez's bool allow_pickle too
    np.savez_compressed(Path(cv_dir) / "oof_scores.npz",
                        **{a: s.astype(np.float16)  # type: ignore[arg-type]
                           for a, s in scores.items()})
    if states:
        np.savez_compressed(Path(cv_dir) / "oof_states.npz",
                            **{f"{a}:offsets": st.offsets.astype(np.int32)  # type: ignore[arg-type]
                               for a, st in states.items()},
                            **{f"{a}:proj": st.proj.astype(np.float16)  # type: ignore[arg-type]
                               for a, st in states.items()})


def load_states(path: Path) -> dict[str, TokenStates]:
    """Token states cached by :func:`oof_scores` (empty when the models had no span head)."""
    if not Path(path).is_file():
        return {}
    with np.load(path) as z:
        aids = {name.split(":")[0] for name in z.files}
        return {a: TokenStates(z[f"{a}:offsets"], z[f"{a}:proj"].astype(np.float32))
                for a in aids}
