"""Adapting the served model to the served corpus's reviews, from the explorer.

* ``POST /api/v1/corpus/adapt`` starts ``propscan adapt`` (:func:`propscan.train.adapt.adapt`)
  on the reviewed articles in a background thread -> 202 and the job; 409 while one runs;
* ``GET /api/v1/corpus/adapt`` -> the job: ``idle``, ``running`` (stage, fold k of n),
  ``done`` (held-out figures of the served and the adapted model, the model's version and
  folder, and which parts it refitted or kept), ``refused`` (too few reviewed articles, or
  the adapted model scored lower on held-out articles: nothing is written, and the web never
  forces it) or ``failed``; with the number of reviewed articles, the floor and the model
  that serves now;
* ``POST /api/v1/corpus/adapt/switch`` loads the adapted model into the analysis lanes.

The served model is the base. The reviewed articles are read through the served database's
own connection (DuckDB lets one process write a file, and the server is it), under its write
lock so that a review being saved is read whole or not at all. Models go to a folder beside
the database, ``<db>.models/<version>/``. Unlike the CLI, no PTC articles are mixed in (the
server has no PTC folder to rely on), and the folds are fitted one after another in the
server's process: forking a process that runs the ONNX sessions' and DuckDB's threads can
leave the child waiting on a lock one of them held. Only a server that reviews offers this:
a read-only one has no such routes.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from propscan.corpus.corrections import reviewed_article_ids
from propscan.corpus.database import CorpusDatabase
from propscan.errors import AdaptConflict, ModelUnavailable, PropscanError, ReadOnlyCorpus
from propscan.pipeline import Pipeline
from propscan.web.limits import AnalysisLane

__all__ = ["router", "AdaptJobs", "AdaptConflict", "FOLDS", "FLOOR"]

log = logging.getLogger("propscan.web")
router = APIRouter(prefix="/api/v1/corpus/adapt", tags=["corpus adaptation"])

FOLDS = 5  # as `propscan adapt`'s default
#: the CLI's floor (propscan.train.adapt.DEFAULT_MIN_ARTICLES, kept here so that the page
#: can explain it without importing scikit-learn)
FLOOR = max(20, 2 * FOLDS)
_FOLD = re.compile(r"\bfold (\d+)/(\d+)")


def floor_note() -> str:
    held_out = FLOOR // FOLDS
    return (f"Adapting needs {FLOOR} reviewed articles or more: its figures come from "
            f"{FOLDS}-fold cross-validation over them, which leaves {held_out}+ articles held "
            f"out per fold and {FLOOR - held_out}+ to fit on; fewer give figures too noisy to "
            "tell a better model from a worse one.")


def _side(figures: dict[str, Any]) -> dict[str, float]:
    si = figures["si"]
    return {"si_precision": si["precision"], "si_recall": si["recall"], "si_f1": si["f1"],
            "tc_micro_f1": figures["tc_micro_f1"], "ece": figures["ece"]}


class AdaptJobs:
    """The adaptation of one served database: at most one runs at a time, in a thread; its
    state is a small JSON-able dict, replaced or updated under a lock."""

    def __init__(self, corpus: CorpusDatabase) -> None:
        self.corpus = corpus
        self.models_root = corpus.path.with_name(corpus.path.name + ".models")
        self._lock = threading.Lock()
        self._job: dict[str, Any] = {"state": "idle"}
        self.thread_: threading.Thread | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._job)

    def start(self, base_dir: Path, threads: int | None) -> dict[str, Any]:
        """Start adapting ``base_dir`` (the served model); AdaptConflict while one runs."""
        with self._lock:
            if self._job["state"] == "running":
                raise AdaptConflict("an adaptation is running already; wait for it to finish "
                                    "(GET /api/v1/corpus/adapt)")
            self._job = {"state": "running", "stage": "starting", "fold": None,
                         "folds": FOLDS, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
            self.thread_ = threading.Thread(target=self._run, args=(base_dir, threads),
                                            name="propscan-adapt", daemon=True)
            self.thread_.start()
            return copy.deepcopy(self._job)

    def _set(self, **job: Any) -> None:
        with self._lock:
            self._job = job

    def _progress(self, line: str) -> None:
        found = _FOLD.search(line)
        with self._lock:
            self._job.update(stage=line, fold=int(found.group(1)) if found else None)

    def _run(self, base_dir: Path, threads: int | None) -> None:
        try:
            self._set(**self._adapt(base_dir, threads))
        except PropscanError as err:
            self._set(state="failed", error=err.message)
        except ImportError:
            self._set(state="failed", error="adapting needs the training extra: pip install "
                                            "'propscan[train]'")
        except Exception as err:  # the server stays up and says what went wrong, in a line
            log.exception("adaptation failed")
            first = (str(err).strip().splitlines() or [""])[0]
            self._set(state="failed", error=f"{type(err).__name__}: {first}"[:300])

    def _adapt(self, base_dir: Path, threads: int | None) -> dict[str, Any]:
        """The whole job; returns its final state."""
        from propscan.detect import Detector
        from propscan.train.adapt import adapt, read_reviewed
        from propscan.train.adapt_model import adapted_version, kept_parts, write_adapted_model

        self._progress("reading the reviewed articles")
        with self.corpus.write_lock, self.corpus.cursor() as cur:
            reviewed = read_reviewed(cur)
        n = len(reviewed.texts)
        if n < FLOOR:
            missing = (f" ({len(reviewed.left_out)} more were stored without their text)"
                       if reviewed.left_out else "")
            return {"state": "refused", "written": False,
                    "reason": f"{n} reviewed articles with text{missing}; adapting needs "
                              f"{FLOOR} or more: review more articles and mark them reviewed"}
        self._progress(f"loading the served model from {base_dir}")
        with Detector(base_dir, threads=threads).load() as base:
            result = adapt(self.corpus.path, base, folds=FOLDS, min_articles=FLOOR,
                           workers=1, progress=self._progress, reviewed=reviewed)
            base_config = dict(base.model_config_)
        pooled = result.figures["pooled"]
        base_version = str(base_config.get("version", "0"))
        version = adapted_version(base_version, result.fingerprint)
        outcome = {"articles": pooled["articles"], "findings": pooled["findings"],
                   "base_version": base_version, "version": version,
                   "base": _side(pooled["base"]), "adapted": _side(pooled["adapted"]),
                   "parts": kept_parts(result.config)}
        if result.worse:
            return {"state": "refused", "written": False, **outcome,
                    "reason": f"the adapted model scores lower than model {base_version} on "
                              f"held-out articles ({' and '.join(result.worse)}); nothing "
                              "was written"}
        self._progress("writing the adapted model")
        out_dir = self.models_root / version
        try:
            self.models_root.mkdir(exist_ok=True)
        except OSError as err:
            raise PropscanError(f"cannot make {self.models_root}: {err.strerror or err}"
                                ) from None
        write_adapted_model(result, base_dir, base_config, out_dir)
        return {"state": "done", "written": True, "model_dir": str(out_dir), **outcome}


# -- routes ----------------------------------------------------------------------------------

def _jobs(request: Request) -> AdaptJobs:
    if getattr(request.app.state, "read_only", True):
        raise ReadOnlyCorpus("this server is read-only (--read-only): adapting is off")
    jobs = getattr(request.app.state, "adapt_jobs", None)
    if jobs is None:
        raise ModelUnavailable("adapting is not set up on this server")
    return jobs


def _lanes(request: Request) -> tuple[AnalysisLane, ...]:
    serving = getattr(request.app.state, "serving", None) or {}
    return tuple(serving.get("lanes") or ())


def _model_dir(pipeline: Pipeline) -> Path:
    from propscan.detect import DEFAULT_MODEL_DIR

    if pipeline.detector_ is not None:
        return pipeline.detector_.model_dir.resolve()
    return Path(pipeline.model_dir or DEFAULT_MODEL_DIR).resolve()


def _serving(lanes: tuple[AnalysisLane, ...]) -> dict[str, str] | None:
    info = lanes[-1].pipeline.model_info if lanes else {}
    return {"name": str(info["name"]), "version": str(info["version"])} if info else None


def _why_not(lanes: tuple[AnalysisLane, ...]) -> str | None:
    """Why no adaptation can start here, or None."""
    if not lanes or not lanes[-1].pipeline.detect:
        return "the detection model is not loaded in this server"
    if not (importlib.util.find_spec("sklearn") and importlib.util.find_spec("scipy")):
        return "adapting needs the training extra: pip install 'propscan[train]'"
    return None


@router.get("", summary="The adaptation of the model to this corpus's reviews")
def adapt_state(request: Request) -> JSONResponse:
    """The job (``state``: idle, running, done, refused, failed), the number of reviewed
    articles, the floor below which adapting is refused, and the model that serves now."""
    jobs = _jobs(request)
    with jobs.corpus.cursor() as cur:
        reviewed = len(reviewed_article_ids(cur))
    lanes = _lanes(request)
    return JSONResponse({"ok": True, **jobs.snapshot(), "reviewed": reviewed, "floor": FLOOR,
                  "floor_note": floor_note(), "unavailable": _why_not(lanes),
                  "serving": _serving(lanes)})


@router.post("", status_code=202, summary="Adapt the served model to this corpus's reviews")
def start_adapt(request: Request) -> JSONResponse:
    """Start adapting in the background (202); 409 while an adaptation runs."""
    jobs = _jobs(request)
    lanes = _lanes(request)
    reason = _why_not(lanes)
    if reason:
        raise ModelUnavailable(f"cannot adapt: {reason}")
    served = lanes[-1].pipeline
    return JSONResponse({"ok": True, **jobs.start(_model_dir(served), served.threads)},
                        status_code=202)


def _swap(lane: AnalysisLane, new: Pipeline) -> Any:
    """The lane's work (run in its turn, so no analysis holds the old pipeline): serve
    ``new`` and close the old one."""
    def work(current: Pipeline) -> None:
        lane.pipeline = new
        try:
            current.close()
        except Exception:  # the new model serves already; a leak is logged, not raised
            log.exception("closing the replaced model failed")
    return work


@router.post("/switch", summary="Serve the adapted model")
async def switch_model(request: Request) -> JSONResponse:
    """Load the adapted model of the finished job into both analysis lanes; answers the
    version that serves now. 409 when no adapted model was written."""
    jobs = _jobs(request)
    job = jobs.snapshot()
    if job["state"] != "done" or not job.get("model_dir"):
        raise AdaptConflict("there is no adapted model to switch to: adapt first "
                            "(POST /api/v1/corpus/adapt) and wait until it is done")
    lanes = _lanes(request)
    if not lanes:
        raise ModelUnavailable("the detection model is not loaded in this server")
    model_dir = Path(job["model_dir"]).resolve()
    for lane in lanes:
        old = lane.pipeline
        if _model_dir(old) == model_dir:  # switched already (a retried switch)
            continue
        new = Pipeline(model_dir=model_dir, threads=old.threads, detect=old.detect,
                       min_confidence=old.min_confidence)
        try:
            await run_in_threadpool(new.load)
            await lane.run(_swap(lane, new))
        except BaseException:
            await run_in_threadpool(new.close)
            raise
    log.info("now serving model %s from %s", job["version"], model_dir)
    return JSONResponse({"ok": True, "serving": _serving(lanes), "model_dir": str(model_dir)})
